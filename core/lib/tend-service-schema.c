/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one table of `[service:NAME]` keys. The reader (tend-config-service.c),
 * equality, the dump writer and describe (tend-service-config.c,
 * tend-service-info.c) all walk it, tendd prints it for the client's ad hoc
 * options and completion, and a test checks docs/configuration.md against
 * it: adding a key is one row here and its field in TendServiceConfig.
 * A key that only a plugin reads belongs in that plugin's service_keys
 * instead (max-memory-restart, health-check and its timing are the health plugin's); readiness
 * (ready-check, notify) stays here, since the core's state machine reads it.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <signal.h>
#include <string.h>

#include "tend-enums.h"
#include "tend-parse.h"
#include "tend-service-schema.h"

#define OFFSET(field) G_STRUCT_OFFSET (TendServiceConfig, field)
/*
 * The maxima (docs/configuration.md lists them): counts that stay far from
 * what a guint holds, durations that a timer of guint milliseconds holds with
 * room to spare, sizes no machine's memory reaches.
 */
#define MAX_COUNT 1000000
#define MAX_MS TEND_DURATION_MAX_MS
#define MAX_SIZE TEND_SIZE_MAX
#define DESCRIBE TEND_SERVICE_KEY_DESCRIBE
#define NONE TEND_SERVICE_KEY_NONE

/* SPEC's defaults are the def column */
static const TendServiceKey service_keys[] = {
  { "exec", TEND_SERVICE_KEY_COMMAND, OFFSET (exec), 0, 0, 0, DESCRIBE, N_ ("the command line (required)") },
  { "shell", TEND_SERVICE_KEY_BOOL, OFFSET (shell), FALSE, 0, 0, NONE, N_ ("run exec with /bin/sh -c") },
  { "cwd", TEND_SERVICE_KEY_PATH, OFFSET (cwd), 0, 0, 0, NONE, N_ ("the working directory") },
  { "env", TEND_SERVICE_KEY_ENV, OFFSET (env), 0, 0, 0, NONE, N_ ("KEY=VALUE;... added to the environment") },
  { "env-file", TEND_SERVICE_KEY_PATH, OFFSET (env_file), 0, 0, 0, NONE, N_ ("a file of KEY=VALUE lines") },
  { "user", TEND_SERVICE_KEY_USER, OFFSET (user), 0, 0, 0, NONE, N_ ("run as this user") },
  { "group", TEND_SERVICE_KEY_GROUP, OFFSET (group), 0, 0, 0, NONE, N_ ("run as this group") },
  { "instances", TEND_SERVICE_KEY_UINT, OFFSET (instances), 1, 1, 1024, NONE, N_ ("how many copies run") },
  { "increment-var", TEND_SERVICE_KEY_VAR_NAME, OFFSET (increment_var), 0, 0, 0, NONE,
    N_ ("a variable that instance i gets plus i") },
  { "autorestart", TEND_SERVICE_KEY_RESTART, OFFSET (autorestart), TEND_AUTORESTART_ALWAYS, 0, 0, DESCRIBE,
    N_ ("true, on-failure or false") },
  { "max-restarts", TEND_SERVICE_KEY_UINT, OFFSET (max_restarts), 16, 0, MAX_COUNT, DESCRIBE,
    N_ ("unstable restarts in a row before errored") },
  { "min-uptime", TEND_SERVICE_KEY_DURATION, OFFSET (min_uptime_ms), 1000, 0, MAX_MS, DESCRIBE,
    N_ ("a shorter run is unstable") },
  { "restart-delay", TEND_SERVICE_KEY_DURATION, OFFSET (restart_delay_ms), 0, 0, MAX_MS, NONE,
    N_ ("wait before each restart") },
  { "exp-backoff-restart-delay", TEND_SERVICE_KEY_DURATION, OFFSET (exp_backoff_restart_delay_ms), 0, 0, MAX_MS, NONE,
    N_ ("first delay of an exponential backoff (0: off)") },
  { "max-backoff", TEND_SERVICE_KEY_DURATION, OFFSET (max_backoff_ms), 15000, 0, MAX_MS, NONE,
    N_ ("the cap of the exponential delay") },
  { "kill-signal", TEND_SERVICE_KEY_SIGNAL, OFFSET (kill_signal), SIGTERM, 0, 0, DESCRIBE,
    N_ ("the signal that stops the service") },
  { "kill-timeout", TEND_SERVICE_KEY_DURATION, OFFSET (kill_timeout_ms), 1600, 0, MAX_MS, DESCRIBE,
    N_ ("how long before SIGKILL follows") },
  { "out-file", TEND_SERVICE_KEY_PATH, OFFSET (out_file), 0, 0, 0, NONE, N_ ("where stdout goes") },
  { "error-file", TEND_SERVICE_KEY_PATH, OFFSET (error_file), 0, 0, 0, NONE, N_ ("where stderr goes") },
  { "merge-logs", TEND_SERVICE_KEY_BOOL, OFFSET (merge_logs), FALSE, 0, 0, NONE,
    N_ ("all instances write to the same files") },
  { "log-date-format", TEND_SERVICE_KEY_DATE_FORMAT, OFFSET (log_date_format), 0, 0, 0, NONE,
    N_ ("a strftime format put before each line") },
  { "port", TEND_SERVICE_KEY_UINT, OFFSET (port), 0, 1, 65535, NONE,
    N_ ("the service's port, for checks and tunnels") },
  { "layer", TEND_SERVICE_KEY_STRING, OFFSET (layer), 0, 0, 0, NONE, N_ ("a label to group services") },
  { "critical", TEND_SERVICE_KEY_BOOL, OFFSET (critical), FALSE, 0, 0, NONE,
    N_ ("tell about it more loudly when it fails") },
  { "depends-on", TEND_SERVICE_KEY_NAMES, OFFSET (depends_on), 0, 0, 0, NONE,
    N_ ("services that must be online first") },
  { "ready-check", TEND_SERVICE_KEY_CHECK, OFFSET (ready_check), 0, 0, 0, NONE,
    N_ ("the check that says the service is ready") },
  { "notify", TEND_SERVICE_KEY_BOOL, OFFSET (notify), FALSE, 0, 0, NONE, N_ ("the service says READY=1 itself") },
  { "start", TEND_SERVICE_KEY_BOOL, OFFSET (start), TRUE, 0, 0, NONE, N_ ("start it with the rest") },
  { "match", TEND_SERVICE_KEY_MATCH, OFFSET (match), 0, 0, 0, NONE,
    N_ ("how tend migrate finds its unsupervised processes: cmdline:REGEX or pidfile:PATH") },
};

#undef OFFSET
#undef MAX_COUNT
#undef MAX_MS
#undef MAX_SIZE
#undef DESCRIBE
#undef NONE

const TendServiceKey *
tend_service_schema_get_keys (guint *n_keys)
{
  *n_keys = G_N_ELEMENTS (service_keys);
  return service_keys;
}

const TendServiceKey *
tend_service_schema_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    if (strcmp (service_keys[i].name, name) == 0)
      return &service_keys[i];
  }
  return NULL;
}

const char *
tend_service_schema_type_name (TendServiceKeyType type)
{
  switch (type) {
  case TEND_SERVICE_KEY_BOOL:
    return "bool";
  case TEND_SERVICE_KEY_UINT:
    return "uint";
  case TEND_SERVICE_KEY_DURATION:
    return "duration";
  case TEND_SERVICE_KEY_SIZE:
    return "size";
  case TEND_SERVICE_KEY_SIGNAL:
    return "signal";
  case TEND_SERVICE_KEY_RESTART:
    return "autorestart";
  case TEND_SERVICE_KEY_ENV:
    return "env";
  case TEND_SERVICE_KEY_NAMES:
    return "names";
  case TEND_SERVICE_KEY_PATH:
    return "path";
  case TEND_SERVICE_KEY_USER:
    return "user";
  case TEND_SERVICE_KEY_GROUP:
    return "group";
  case TEND_SERVICE_KEY_STRING:
  case TEND_SERVICE_KEY_COMMAND:
  case TEND_SERVICE_KEY_VAR_NAME:
  case TEND_SERVICE_KEY_CHECK:
  default:
    return "text";
  }
}

static gboolean
type_is_strv (TendServiceKeyType type)
{
  return type == TEND_SERVICE_KEY_ENV || type == TEND_SERVICE_KEY_NAMES;
}

static gboolean
type_is_text (TendServiceKeyType type)
{
  switch (type) {
  case TEND_SERVICE_KEY_STRING:
  case TEND_SERVICE_KEY_COMMAND:
  case TEND_SERVICE_KEY_PATH:
  case TEND_SERVICE_KEY_USER:
  case TEND_SERVICE_KEY_GROUP:
  case TEND_SERVICE_KEY_VAR_NAME:
  case TEND_SERVICE_KEY_CHECK:
  case TEND_SERVICE_KEY_DATE_FORMAT:
  case TEND_SERVICE_KEY_MATCH:
    return TRUE;
  default:
    return FALSE;
  }
}

/* bool, uint, signal and restart are int-sized; durations and sizes guint64 */
static guint64
get_number (const TendServiceKey *key, const TendServiceConfig *config)
{
  gconstpointer field = G_STRUCT_MEMBER_P (config, key->offset);

  switch (key->type) {
  case TEND_SERVICE_KEY_DURATION:
  case TEND_SERVICE_KEY_SIZE:
    return *(const guint64 *) field;
  case TEND_SERVICE_KEY_UINT:
    return *(const guint *) field;
  case TEND_SERVICE_KEY_BOOL:
  case TEND_SERVICE_KEY_SIGNAL:
  case TEND_SERVICE_KEY_RESTART:
    return (guint64) * (const int *) field;
  default:
    g_assert_not_reached ();
  }
  return 0;
}

static void
set_number (const TendServiceKey *key, TendServiceConfig *config, guint64 value)
{
  gpointer field = G_STRUCT_MEMBER_P (config, key->offset);

  switch (key->type) {
  case TEND_SERVICE_KEY_DURATION:
  case TEND_SERVICE_KEY_SIZE:
    *(guint64 *) field = value;
    break;
  case TEND_SERVICE_KEY_UINT:
    *(guint *) field = (guint) value;
    break;
  case TEND_SERVICE_KEY_BOOL:
  case TEND_SERVICE_KEY_SIGNAL:
  case TEND_SERVICE_KEY_RESTART:
    *(int *) field = (int) value;
    break;
  default:
    g_assert_not_reached ();
  }
}

void
tend_service_schema_set_defaults (TendServiceConfig *config)
{
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    if (!type_is_text (service_keys[i].type) && !type_is_strv (service_keys[i].type))
      set_number (&service_keys[i], config, service_keys[i].def);
  }
}

void
tend_service_schema_clear (TendServiceConfig *config)
{
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    gpointer field = G_STRUCT_MEMBER_P (config, service_keys[i].offset);

    if (type_is_text (service_keys[i].type))
      g_clear_pointer ((char **) field, g_free);
    else if (type_is_strv (service_keys[i].type))
      g_clear_pointer ((char ***) field, g_strfreev);
  }
}

/* NULL and an empty vector both mean "none" */
static gboolean
strv_equal0 (char **a, char **b)
{
  gboolean a_empty = a == NULL || a[0] == NULL;
  gboolean b_empty = b == NULL || b[0] == NULL;

  if (a_empty || b_empty)
    return a_empty == b_empty;
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

gboolean
tend_service_schema_field_equal (const TendServiceKey *key, const TendServiceConfig *a, const TendServiceConfig *b)
{
  gconstpointer fa = G_STRUCT_MEMBER_P (a, key->offset);
  gconstpointer fb = G_STRUCT_MEMBER_P (b, key->offset);

  if (type_is_text (key->type))
    return g_strcmp0 (*(char *const *) fa, *(char *const *) fb) == 0;
  if (type_is_strv (key->type))
    return strv_equal0 (*(char **const *) fa, *(char **const *) fb);
  return get_number (key, a) == get_number (key, b);
}

gboolean
tend_service_schema_field_is_default (const TendServiceKey *key, const TendServiceConfig *config)
{
  gconstpointer field = G_STRUCT_MEMBER_P (config, key->offset);

  if (type_is_text (key->type))
    return *(char *const *) field == NULL;
  if (type_is_strv (key->type))
    return *(char **const *) field == NULL || (*(char **const *) field)[0] == NULL;
  return get_number (key, config) == key->def;
}

/*
 * g_key_file_set_string() escapes leading blanks but writes trailing ones as
 * they are, and the reader trims values; escape them too so they survive.
 */
static void
set_string (GKeyFile *kf, const char *group, const char *key, const char *value)
{
  g_autofree char *raw = NULL;
  gsize len, keep;
  g_autoptr(GString) fixed = NULL;

  g_key_file_set_string (kf, group, key, value);
  if (!g_str_has_suffix (value, " ") && !g_str_has_suffix (value, "\t"))
    return;
  raw = g_key_file_get_value (kf, group, key, NULL);
  len = keep = strlen (raw);
  while (keep > 0 && (raw[keep - 1] == ' ' || raw[keep - 1] == '\t'))
    keep--;
  fixed = g_string_new_len (raw, (gssize) keep);
  for (gsize i = keep; i < len; i++)
    g_string_append (fixed, raw[i] == ' ' ? "\\s" : "\\t");
  g_key_file_set_value (kf, group, key, fixed->str);
}

/* a number-like value as the reader reads it back */
static char *
format_number (const TendServiceKey *key, guint64 value)
{
  switch (key->type) {
  case TEND_SERVICE_KEY_DURATION:
    return tend_format_duration (value);
  case TEND_SERVICE_KEY_SIZE:
    return tend_format_size (value);
  case TEND_SERVICE_KEY_UINT:
    return g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  case TEND_SERVICE_KEY_BOOL:
    return g_strdup (value ? "true" : "false");
  case TEND_SERVICE_KEY_SIGNAL:
    return g_strdup (tend_signal_to_string ((int) value));
  case TEND_SERVICE_KEY_RESTART:
    return g_strdup (tend_autorestart_to_string ((TendAutorestart) value));
  default:
    g_assert_not_reached ();
  }
  return NULL;
}

void
tend_service_schema_write_field (const TendServiceKey *key,
                                 const TendServiceConfig *config,
                                 GKeyFile *kf,
                                 const char *group)
{
  gconstpointer field = G_STRUCT_MEMBER_P (config, key->offset);

  if (type_is_text (key->type)) {
    const char *value = *(char *const *) field;
    if (value != NULL)
      set_string (kf, group, key->name, value);
  } else if (type_is_strv (key->type)) {
    char **strv = *(char **const *) field;
    if (strv != NULL && strv[0] != NULL)
      g_key_file_set_string_list (kf, group, key->name, (const char *const *) strv, g_strv_length (strv));
  } else {
    g_autofree char *text = format_number (key, get_number (key, config));
    g_key_file_set_value (kf, group, key->name, text);
  }
}

char *
tend_service_schema_format_default (const TendServiceKey *key)
{
  if (type_is_text (key->type) || type_is_strv (key->type))
    return NULL;
  return format_number (key, key->def);
}
