/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-enums.h"

static const char *const state_names[] = {
  [TEND_SERVICE_STATE_STOPPED] = "stopped",
  [TEND_SERVICE_STATE_LAUNCHING] = "launching",
  [TEND_SERVICE_STATE_ONLINE] = "online",
  [TEND_SERVICE_STATE_STOPPING] = "stopping",
  [TEND_SERVICE_STATE_WAITING_RESTART] = "waiting-restart",
  [TEND_SERVICE_STATE_ERRORED] = "errored",
};

static const char *const autorestart_names[] = {
  [TEND_AUTORESTART_ALWAYS] = "true",
  [TEND_AUTORESTART_ON_FAILURE] = "on-failure",
  [TEND_AUTORESTART_NEVER] = "false",
};

static const char *const dbus_mode_names[] = {
  [TEND_DBUS_MODE_AUTO] = "auto",
  [TEND_DBUS_MODE_SYSTEM] = "system",
  [TEND_DBUS_MODE_SESSION] = "session",
  [TEND_DBUS_MODE_NONE] = "none",
};

static gboolean
lookup (const char *const *names, guint n, const char *str, int *out)
{
  for (guint i = 0; str != NULL && i < n; i++) {
    if (g_strcmp0 (names[i], str) == 0) {
      *out = (int) i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
tend_service_state_to_string (TendServiceState state)
{
  if ((guint) state >= G_N_ELEMENTS (state_names))
    return "unknown";
  return state_names[state];
}

const char *
tend_autorestart_to_string (TendAutorestart value)
{
  if ((guint) value >= G_N_ELEMENTS (autorestart_names))
    return "unknown";
  return autorestart_names[value];
}

gboolean
tend_autorestart_from_string (const char *str, TendAutorestart *out)
{
  int v;
  if (!lookup (autorestart_names, G_N_ELEMENTS (autorestart_names), str, &v))
    return FALSE;
  *out = (TendAutorestart) v;
  return TRUE;
}

const char *
tend_dbus_mode_to_string (TendDbusMode value)
{
  if ((guint) value >= G_N_ELEMENTS (dbus_mode_names))
    return "unknown";
  return dbus_mode_names[value];
}

gboolean
tend_dbus_mode_from_string (const char *str, TendDbusMode *out)
{
  int v;
  if (!lookup (dbus_mode_names, G_N_ELEMENTS (dbus_mode_names), str, &v))
    return FALSE;
  *out = (TendDbusMode) v;
  return TRUE;
}
