/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * TendServiceState:
 *
 * The states of SPEC.md; their names (tend_service_state_to_string()) are a
 * contract shared by the CLI, the HTTP API and D-Bus and are never translated.
 */
typedef enum {
  TEND_SERVICE_STATE_STOPPED,
  TEND_SERVICE_STATE_LAUNCHING,
  TEND_SERVICE_STATE_ONLINE,
  TEND_SERVICE_STATE_STOPPING,
  TEND_SERVICE_STATE_WAITING_RESTART,
  TEND_SERVICE_STATE_ERRORED,
} TendServiceState;

typedef enum {
  TEND_AUTORESTART_ALWAYS,
  TEND_AUTORESTART_ON_FAILURE,
  TEND_AUTORESTART_NEVER,
} TendAutorestart;

typedef enum {
  TEND_DBUS_MODE_AUTO,
  TEND_DBUS_MODE_SYSTEM,
  TEND_DBUS_MODE_SESSION,
  TEND_DBUS_MODE_NONE,
} TendDbusMode;

TEND_API GType tend_service_state_get_type (void);
#define TEND_TYPE_SERVICE_STATE (tend_service_state_get_type ())

/** tend_service_state_to_string: the contract name, e.g. "waiting-restart" */
TEND_API const char *tend_service_state_to_string (TendServiceState state);

TEND_API const char *tend_autorestart_to_string (TendAutorestart value);
TEND_API gboolean tend_autorestart_from_string (const char *str, TendAutorestart *out);

TEND_API const char *tend_dbus_mode_to_string (TendDbusMode value);
TEND_API gboolean tend_dbus_mode_from_string (const char *str, TendDbusMode *out);

G_END_DECLS
