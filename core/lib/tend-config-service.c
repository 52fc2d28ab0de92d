/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [service:NAME] groups of the configuration reader: one parser per key. */
#include "config.h"

#include <string.h>

#include "tend-config-reader.h"
#include "tend-env-file.h"
#include "tend-error.h"
#include "tend-parse.h"

/* ---------------------------------------------------------------------- */
/* [service:NAME] */

typedef enum {
  SERVICE_KEY_STRING,   /* char *, not empty */
  SERVICE_KEY_PATH,     /* char *, resolved */
  SERVICE_KEY_BOOL,     /* gboolean */
  SERVICE_KEY_UINT,     /* guint within [min, max] */
  SERVICE_KEY_DURATION, /* guint64 ms within [min, max] */
  SERVICE_KEY_SIZE,     /* guint64 bytes within [min, max] */
  SERVICE_KEY_CUSTOM,
} ServiceKeyKind;

typedef gboolean (*ServiceKeyParser) (Reader *r, TendServiceConfig *svc, const char *value, GError **error);

typedef struct {
  const char *name;
  ServiceKeyKind kind;
  gsize offset;
  guint64 min;
  guint64 max;
  ServiceKeyParser parse;
} ServiceKey;

static gboolean
parse_exec (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  if (value[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty command");
    return FALSE;
  }
  svc->exec = g_strdup (value);
  return TRUE;
}

static gboolean
parse_env (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  g_auto(GStrv) env = NULL;

  if (!tend_parse_env_list (value, &env, error))
    return FALSE;
  svc->env = env[0] != NULL ? g_steal_pointer (&env) : NULL;
  return TRUE;
}

static gboolean
parse_env_file (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  if (value[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty path");
    return FALSE;
  }
  /* read once the whole group is known (user= says whose rights read it): tend_config_read_service_group() */
  svc->env_file = tend_config_resolve_path (r, value);
  return TRUE;
}

static gboolean
parse_user (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  if (!tend_config_check_user (value, error))
    return FALSE;
  svc->user = g_strdup (value);
  return TRUE;
}

static gboolean
parse_group (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  if (!tend_config_check_group (value, error))
    return FALSE;
  svc->group = g_strdup (value);
  return TRUE;
}

static gboolean
parse_increment_var (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  g_autofree char *quoted = NULL;

  if (!tend_config_env_name_is_valid (value)) {
    quoted = tend_quote_for_message (value, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a variable name: %s (use letters, digits and _, not starting with a digit)",
                 quoted);
    return FALSE;
  }
  svc->increment_var = g_strdup (value);
  return TRUE;
}

static gboolean
parse_autorestart (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  g_autofree char *quoted = NULL;

  if (!tend_autorestart_from_string (value, &svc->autorestart)) {
    quoted = tend_quote_for_message (value, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a valid choice: %s (use true, on-failure or false)", quoted);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_kill_signal (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  return tend_parse_signal (value, &svc->kill_signal, error);
}

static gboolean
parse_depends_on (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  g_autofree char *quoted = NULL;
  g_auto(GStrv) names = tend_parse_name_list (value);

  for (guint i = 0; names[i] != NULL; i++) {
    if (!tend_service_name_is_valid (names[i])) {
      quoted = tend_quote_for_message (names[i], -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a service name: %s", quoted);
      return FALSE;
    }
  }
  svc->depends_on = names[0] != NULL ? g_steal_pointer (&names) : NULL;
  return TRUE;
}

/* GLib's message about a command line quotes the whole line: echo it shortened and escaped too */
static char *
shell_error_text (const GError *error, const char *command)
{
  g_autoptr(GString) text = g_string_new (error->message);
  g_autofree char *shortened = tend_shorten_for_message (command, -1);

  if (command[0] != '\0' && strcmp (shortened, command) != 0)
    g_string_replace (text, command, shortened, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/*
 * Checks a health or ready check. *out_needs_port is set for "tcp://HOST",
 * which SPEC lets fall back to the service's port.
 */
static gboolean
validate_check (const char *value, gboolean *out_needs_port, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *quoted_value = NULL;

  *out_needs_port = FALSE;
  if (g_str_has_prefix (value, "exec:")) {
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) local = NULL;
    const char *command = value + strlen ("exec:");

    while (g_ascii_isspace (*command))
      command++;
    if (*command == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                           "exec: needs a command (e.g. exec:curl -sf http://127.0.0.1:8080/)");
      return FALSE;
    }
    if (!g_shell_parse_argv (command, NULL, &argv, &local)) {
      g_autofree char *reason = shell_error_text (local, command);

      quoted = tend_quote_for_message (command, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "cannot split the command %s: %s", quoted, reason);
      return FALSE;
    }
    return TRUE;
  }
  if (g_str_has_prefix (value, "http://")) {
    g_autoptr(GUri) uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
    const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

    if (host == NULL || host[0] == '\0' || g_uri_get_port (uri) == 0) {
      quoted_value = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a URL: %s (use http://HOST:PORT/PATH)", quoted_value);
      return FALSE;
    }
    return TRUE;
  }
  if (g_str_has_prefix (value, "tcp://")) {
    const char *address = value + strlen ("tcp://");
    guint16 port = 0;

    if (address[0] == '\0' || strchr (address, '/') != NULL) {
      quoted_value = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a TCP address: %s (use tcp://HOST:PORT)", quoted_value);
      return FALSE;
    }
    if (strchr (address, ':') == NULL) {
      *out_needs_port = TRUE;
      return TRUE;
    }
    if (!tend_parse_listen_address (address, NULL, &port, NULL) || port == 0) {
      quoted_value = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a TCP address: %s (use tcp://HOST:PORT, port 1 to 65535)", quoted_value);
      return FALSE;
    }
    return TRUE;
  }
  quoted_value = tend_quote_for_message (value, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
               "not a check: %s (use http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND)", quoted_value);
  return FALSE;
}

static gboolean
parse_health_check (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  gboolean needs_port;

  if (!validate_check (value, &needs_port, error))
    return FALSE;
  svc->health_check = g_strdup (value);
  return TRUE;
}

static gboolean
parse_ready_check (Reader *r, TendServiceConfig *svc, const char *value, GError **error)
{
  gboolean needs_port;

  if (!validate_check (value, &needs_port, error))
    return FALSE;
  svc->ready_check = g_strdup (value);
  return TRUE;
}

#define OFFSET(field) G_STRUCT_OFFSET (TendServiceConfig, field)
/*
 * The maxima (docs/configuration.md lists them): counts that stay far from
 * what a guint holds, durations that a timer of guint milliseconds holds with
 * room to spare, sizes no machine's memory reaches.
 */
#define MAX_COUNT 1000000
#define MAX_MS TEND_DURATION_MAX_MS
#define MAX_SIZE TEND_SIZE_MAX

static const ServiceKey service_keys[] = {
  { "exec", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_exec },
  { "shell", SERVICE_KEY_BOOL, OFFSET (shell), 0, 0, NULL },
  { "cwd", SERVICE_KEY_PATH, OFFSET (cwd), 0, 0, NULL },
  { "env", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_env },
  { "env-file", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_env_file },
  { "user", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_user },
  { "group", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_group },
  { "instances", SERVICE_KEY_UINT, OFFSET (instances), 1, 1024, NULL },
  { "increment-var", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_increment_var },
  { "autorestart", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_autorestart },
  { "max-restarts", SERVICE_KEY_UINT, OFFSET (max_restarts), 0, MAX_COUNT, NULL },
  { "min-uptime", SERVICE_KEY_DURATION, OFFSET (min_uptime_ms), 0, MAX_MS, NULL },
  { "restart-delay", SERVICE_KEY_DURATION, OFFSET (restart_delay_ms), 0, MAX_MS, NULL },
  { "exp-backoff-restart-delay", SERVICE_KEY_DURATION, OFFSET (exp_backoff_restart_delay_ms), 0, MAX_MS, NULL },
  { "max-backoff", SERVICE_KEY_DURATION, OFFSET (max_backoff_ms), 0, MAX_MS, NULL },
  { "max-memory-restart", SERVICE_KEY_SIZE, OFFSET (max_memory_restart), 0, MAX_SIZE, NULL },
  { "kill-signal", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_kill_signal },
  { "kill-timeout", SERVICE_KEY_DURATION, OFFSET (kill_timeout_ms), 0, MAX_MS, NULL },
  { "out-file", SERVICE_KEY_PATH, OFFSET (out_file), 0, 0, NULL },
  { "error-file", SERVICE_KEY_PATH, OFFSET (error_file), 0, 0, NULL },
  { "merge-logs", SERVICE_KEY_BOOL, OFFSET (merge_logs), 0, 0, NULL },
  { "log-date-format", SERVICE_KEY_STRING, OFFSET (log_date_format), 0, 0, NULL },
  { "port", SERVICE_KEY_UINT, OFFSET (port), 1, 65535, NULL },
  { "layer", SERVICE_KEY_STRING, OFFSET (layer), 0, 0, NULL },
  { "critical", SERVICE_KEY_BOOL, OFFSET (critical), 0, 0, NULL },
  { "depends-on", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_depends_on },
  { "health-check", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_health_check },
  { "health-interval", SERVICE_KEY_DURATION, OFFSET (health_interval_ms), 1, MAX_MS, NULL },
  { "health-timeout", SERVICE_KEY_DURATION, OFFSET (health_timeout_ms), 1, MAX_MS, NULL },
  { "health-retries", SERVICE_KEY_UINT, OFFSET (health_retries), 1, MAX_COUNT, NULL },
  { "ready-check", SERVICE_KEY_CUSTOM, 0, 0, 0, parse_ready_check },
  { "notify", SERVICE_KEY_BOOL, OFFSET (notify), 0, 0, NULL },
  { "start", SERVICE_KEY_BOOL, OFFSET (start), 0, 0, NULL },
};

#undef OFFSET
#undef MAX_COUNT
#undef MAX_MS
#undef MAX_SIZE

static const ServiceKey *
find_service_key (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    if (strcmp (service_keys[i].name, name) == 0)
      return &service_keys[i];
  }
  return NULL;
}

static char *
service_keys_text (void)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    if (i > 0)
      g_string_append (s, ", ");
    g_string_append (s, service_keys[i].name);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
apply_service_key (Reader *r, TendServiceConfig *svc, const ServiceKey *sk, const char *value, GError **error)
{
  gpointer field = G_STRUCT_MEMBER_P (svc, sk->offset);

  switch (sk->kind) {
  case SERVICE_KEY_STRING:
    if (value[0] == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty value");
      return FALSE;
    }
    *(char **) field = g_strdup (value);
    return TRUE;
  case SERVICE_KEY_PATH:
    if (value[0] == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty path");
      return FALSE;
    }
    *(char **) field = tend_config_resolve_path (r, value);
    return TRUE;
  case SERVICE_KEY_BOOL:
    return tend_parse_bool (value, (gboolean *) field, error);
  case SERVICE_KEY_UINT: {
    guint64 v;
    if (!tend_parse_uint (value, sk->min, sk->max, &v, error))
      return FALSE;
    *(guint *) field = (guint) v;
    return TRUE;
  }
  case SERVICE_KEY_DURATION:
    return tend_parse_duration_in_range (value, sk->min, sk->max, (guint64 *) field, error);
  case SERVICE_KEY_SIZE:
    return tend_parse_size_in_range (value, sk->min, sk->max, (guint64 *) field, error);
  case SERVICE_KEY_CUSTOM:
    return sk->parse (r, svc, value, error);
  default:
    g_assert_not_reached ();
  }
  return FALSE;
}

/*
 * The value @name gets from env, else from the env-file's items @file_env;
 * NULL when only the daemon's environment can tell. @out_from_file: it came
 * from the file, whose content no message may quote.
 */
static char *
configured_env_value (const TendServiceConfig *svc, char **file_env, const char *name, gboolean *out_from_file)
{
  const char *value = svc->env != NULL ? g_environ_getenv (svc->env, name) : NULL;

  *out_from_file = FALSE;
  if (value != NULL)
    return g_strdup (value);
  if (file_env != NULL) {
    /* in a .env file a later line wins, as it does when the service starts */
    for (guint i = g_strv_length (file_env); i > 0; i--) {
      const char *item = file_env[i - 1];
      gsize len = strlen (name);
      if (strncmp (item, name, len) == 0 && item[len] == '=') {
        *out_from_file = TRUE;
        return g_strdup (item + len + 1);
      }
    }
  }
  return NULL;
}

/*
 * increment-var: instance i gets the base value plus i. When the file sets the
 * base, the whole series is checked now rather than at each start: a number,
 * at most 4294967295, and for a port (PORT, or a name ending in _PORT) at most
 * 65535.
 */
static gboolean
check_increment_var (const TendServiceConfig *svc, char **file_env, GError **error)
{
  g_autofree char *quoted = NULL;
  gboolean from_file;
  g_autofree char *base_text = configured_env_value (svc, file_env, svc->increment_var, &from_file);
  const char *name = svc->increment_var;
  gboolean is_port = strcmp (name, "PORT") == 0 || g_str_has_suffix (name, "_PORT");
  guint64 limit = is_port ? 65535 : G_MAXUINT32;
  guint64 base, last;

  if (base_text == NULL)
    return TRUE;
  /* the env-file's values are its owner's: named, never shown */
  if (!tend_parse_uint (base_text, 0, G_MAXUINT32, &base, NULL) && from_file) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s in the env-file is not a number from 0 to 4294967295", name);
    return FALSE;
  }
  if (!tend_parse_uint (base_text, 0, G_MAXUINT32, &base, NULL)) {
    quoted = tend_quote_for_message (base_text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s is %s, not a number from 0 to 4294967295", name, quoted);
    return FALSE;
  }
  last = base + MAX (svc->instances, 1) - 1;
  if (last > limit && from_file) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s in the env-file with %u instances goes past %" G_GUINT64_FORMAT "%s", name,
                 MAX (svc->instances, 1), limit, is_port ? " (the largest port)" : "");
    return FALSE;
  }
  if (last > limit) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s=%" G_GUINT64_FORMAT " with %u instances gives up to %" G_GUINT64_FORMAT ", past %" G_GUINT64_FORMAT
                 "%s",
                 name, base, MAX (svc->instances, 1), last, limit, is_port ? " (the largest port)" : "");
    return FALSE;
  }
  return TRUE;
}

/* a dump's added-by=UID: who added the service over D-Bus, whose rights read its env-file */
static gboolean
read_added_by (Reader *r, const GroupLines *g, const KeyLine *kl, TendServiceConfig *svc, GError **error)
{
  g_autofree char *value = tend_config_fetch_value (r, g, kl, error);
  g_autoptr(GError) local = NULL;
  guint64 uid;

  if (value == NULL)
    return FALSE;
  /* (uid_t) -1 means "nobody in particular", so it is not a uid one may save */
  if (!tend_parse_uint (value, 0, G_MAXUINT32 - 1, &uid, &local)) {
    tend_config_set_value_error (error, r, g, kl, value, local);
    return FALSE;
  }
  svc->added_by_uid = (uid_t) uid;
  return TRUE;
}

TendServiceConfig *
tend_config_read_service_group (Reader *r, const GroupLines *g, const char *name, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autoptr(TendServiceConfig) svc = tend_service_config_new (name);
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) file_env = NULL;
  const KeyLine *exec_line;
  const char *check_keys[] = { "health-check", "ready-check" };

  svc->source_file = g_strdup (r->path);
  svc->source_line = g->line;

  for (guint i = 0; i < g->keys->len; i++) {
    const KeyLine *kl = g_ptr_array_index (g->keys, i);
    const ServiceKey *sk = find_service_key (kl->key);
    g_autofree char *value = NULL;

    if (sk == NULL && strcmp (kl->key, "added-by") == 0 && (r->flags & TEND_CONFIG_FLAGS_DUMP)) {
      if (!read_added_by (r, g, kl, svc, error))
        return NULL;
      continue;
    }
    if (sk == NULL) {
      g_autofree char *known = service_keys_text ();
      tend_config_set_key_error (error, r, g, kl, "unknown key (known keys: %s)", known);
      return NULL;
    }
    if (sk->parse == parse_env)
      value = tend_config_fetch_list_value (r, g, kl, error);
    else
      value = tend_config_fetch_value (r, g, kl, error);
    if (value == NULL)
      return NULL;
    if (!apply_service_key (r, svc, sk, value, &local)) {
      tend_config_set_value_error (error, r, g, kl, value, local);
      return NULL;
    }
  }

  exec_line = tend_config_find_key_line (g, "exec");
  if (exec_line == NULL) {
    tend_config_set_group_error (error, r, g, "missing required key exec (the command to run)");
    return NULL;
  }
  if (svc->shell) {
    const char *argv[] = { "/bin/sh", "-c", svc->exec, NULL };
    svc->argv = g_strdupv ((char **) argv);
  } else if (!g_shell_parse_argv (svc->exec, NULL, &svc->argv, &local)) {
    g_autofree char *reason = shell_error_text (local, svc->exec);

    tend_config_set_key_error (error, r, g, exec_line, "cannot split the command line: %s", reason);
    return NULL;
  }

  /* checked now so a typo fails the read, with the rights it will be read with at each start */
  if (svc->env_file != NULL && !tend_env_file_read (svc, &file_env, &local)) {
    tend_config_set_key_error (error, r, g, tend_config_find_key_line (g, "env-file"), "%s", local->message);
    return NULL;
  }
  if (svc->increment_var != NULL && !check_increment_var (svc, file_env, &local)) {
    tend_config_set_key_error (error, r, g, tend_config_find_key_line (g, "increment-var"), "%s", local->message);
    return NULL;
  }

  /* "tcp://HOST" takes the service's port, so it needs one */
  for (guint i = 0; i < G_N_ELEMENTS (check_keys); i++) {
    const KeyLine *kl = tend_config_find_key_line (g, check_keys[i]);
    const char *value = i == 0 ? svc->health_check : svc->ready_check;
    gboolean needs_port = FALSE;

    if (kl == NULL || value == NULL)
      continue;
    validate_check (value, &needs_port, NULL);
    if (needs_port && svc->port == 0) {
      quoted = tend_quote_for_message (value, -1);
      tend_config_set_key_error (error, r, g, kl, "no port in %s and no port= key (use tcp://HOST:PORT)", quoted);
      return NULL;
    }
  }
  return g_steal_pointer (&svc);
}

