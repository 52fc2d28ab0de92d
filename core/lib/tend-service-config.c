/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "tend-parse.h"
#include "tend-service-config.h"

/* SPEC defaults; the reader and tend_service_config_to_key_file() share them */
#define DEFAULT_INSTANCES 1
#define DEFAULT_MAX_RESTARTS 16
#define DEFAULT_MIN_UPTIME_MS 1000
#define DEFAULT_MAX_BACKOFF_MS 15000
#define DEFAULT_KILL_TIMEOUT_MS 1600
#define DEFAULT_HEALTH_INTERVAL_MS 10000
#define DEFAULT_HEALTH_TIMEOUT_MS 2000
#define DEFAULT_HEALTH_RETRIES 3

G_DEFINE_BOXED_TYPE (TendServiceConfig, tend_service_config, tend_service_config_ref, tend_service_config_unref)

TendServiceConfig *
tend_service_config_new (const char *name)
{
  TendServiceConfig *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_atomic_rc_box_new0 (TendServiceConfig);
  self->name = g_strdup (name);
  self->instances = DEFAULT_INSTANCES;
  self->autorestart = TEND_AUTORESTART_ALWAYS;
  self->max_restarts = DEFAULT_MAX_RESTARTS;
  self->min_uptime_ms = DEFAULT_MIN_UPTIME_MS;
  self->max_backoff_ms = DEFAULT_MAX_BACKOFF_MS;
  self->kill_signal = SIGTERM;
  self->kill_timeout_ms = DEFAULT_KILL_TIMEOUT_MS;
  self->health_interval_ms = DEFAULT_HEALTH_INTERVAL_MS;
  self->health_timeout_ms = DEFAULT_HEALTH_TIMEOUT_MS;
  self->health_retries = DEFAULT_HEALTH_RETRIES;
  self->start = TRUE;
  self->added_by_uid = (uid_t) -1;
  return self;
}

TendServiceConfig *
tend_service_config_ref (TendServiceConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
service_config_clear (gpointer data)
{
  TendServiceConfig *self = data;

  g_free (self->name);
  g_free (self->exec);
  g_strfreev (self->argv);
  g_free (self->cwd);
  g_strfreev (self->env);
  g_free (self->env_file);
  g_free (self->user);
  g_free (self->group);
  g_free (self->increment_var);
  g_free (self->out_file);
  g_free (self->error_file);
  g_free (self->log_date_format);
  g_free (self->layer);
  g_strfreev (self->depends_on);
  g_free (self->health_check);
  g_free (self->ready_check);
  g_free (self->source_file);
}

void
tend_service_config_unref (TendServiceConfig *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, service_config_clear);
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
tend_service_config_equal (const TendServiceConfig *a, const TendServiceConfig *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a == b)
    return TRUE;
  return g_strcmp0 (a->name, b->name) == 0 &&
         g_strcmp0 (a->exec, b->exec) == 0 &&
         strv_equal0 (a->argv, b->argv) &&
         a->shell == b->shell &&
         g_strcmp0 (a->cwd, b->cwd) == 0 &&
         strv_equal0 (a->env, b->env) &&
         g_strcmp0 (a->env_file, b->env_file) == 0 &&
         g_strcmp0 (a->user, b->user) == 0 &&
         g_strcmp0 (a->group, b->group) == 0 &&
         a->instances == b->instances &&
         g_strcmp0 (a->increment_var, b->increment_var) == 0 &&
         a->autorestart == b->autorestart &&
         a->max_restarts == b->max_restarts &&
         a->min_uptime_ms == b->min_uptime_ms &&
         a->restart_delay_ms == b->restart_delay_ms &&
         a->exp_backoff_restart_delay_ms == b->exp_backoff_restart_delay_ms &&
         a->max_backoff_ms == b->max_backoff_ms &&
         a->max_memory_restart == b->max_memory_restart &&
         a->kill_signal == b->kill_signal &&
         a->kill_timeout_ms == b->kill_timeout_ms &&
         g_strcmp0 (a->out_file, b->out_file) == 0 &&
         g_strcmp0 (a->error_file, b->error_file) == 0 &&
         a->merge_logs == b->merge_logs &&
         g_strcmp0 (a->log_date_format, b->log_date_format) == 0 &&
         a->port == b->port &&
         g_strcmp0 (a->layer, b->layer) == 0 &&
         a->critical == b->critical &&
         strv_equal0 (a->depends_on, b->depends_on) &&
         g_strcmp0 (a->health_check, b->health_check) == 0 &&
         a->health_interval_ms == b->health_interval_ms &&
         a->health_timeout_ms == b->health_timeout_ms &&
         a->health_retries == b->health_retries &&
         g_strcmp0 (a->ready_check, b->ready_check) == 0 &&
         a->notify == b->notify &&
         a->start == b->start;
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

static void
set_duration (GKeyFile *kf, const char *group, const char *key, guint64 ms)
{
  g_autofree char *text = tend_format_duration (ms);
  g_key_file_set_value (kf, group, key, text);
}

static void
set_strv (GKeyFile *kf, const char *group, const char *key, char **strv)
{
  g_key_file_set_string_list (kf, group, key, (const char *const *) strv, g_strv_length (strv));
}

void
tend_service_config_to_key_file (const TendServiceConfig *self, GKeyFile *kf)
{
  g_autofree char *group = NULL;
  g_autofree char *exec = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (kf != NULL);

  group = g_strconcat ("service:", self->name, NULL);

  /* an ad hoc service may only have argv; quote it back into a command line */
  if (self->exec != NULL) {
    exec = g_strdup (self->exec);
  } else if (self->argv != NULL) {
    g_autoptr(GString) line = g_string_new (NULL);
    for (guint i = 0; self->argv[i] != NULL; i++) {
      g_autofree char *quoted = g_shell_quote (self->argv[i]);
      if (i > 0)
        g_string_append_c (line, ' ');
      g_string_append (line, quoted);
    }
    exec = g_string_free (g_steal_pointer (&line), FALSE);
  }
  if (exec != NULL)
    set_string (kf, group, "exec", exec);
  if (self->shell)
    g_key_file_set_boolean (kf, group, "shell", TRUE);
  if (self->cwd != NULL)
    set_string (kf, group, "cwd", self->cwd);
  if (self->env != NULL && self->env[0] != NULL)
    set_strv (kf, group, "env", self->env);
  if (self->env_file != NULL)
    set_string (kf, group, "env-file", self->env_file);
  if (self->user != NULL)
    set_string (kf, group, "user", self->user);
  if (self->added_by_uid != (uid_t) -1)
    g_key_file_set_uint64 (kf, group, "added-by", self->added_by_uid);
  if (self->group != NULL)
    set_string (kf, group, "group", self->group);
  if (self->instances != DEFAULT_INSTANCES)
    g_key_file_set_uint64 (kf, group, "instances", self->instances);
  if (self->increment_var != NULL)
    set_string (kf, group, "increment-var", self->increment_var);
  if (self->autorestart != TEND_AUTORESTART_ALWAYS)
    g_key_file_set_value (kf, group, "autorestart", tend_autorestart_to_string (self->autorestart));
  if (self->max_restarts != DEFAULT_MAX_RESTARTS)
    g_key_file_set_uint64 (kf, group, "max-restarts", self->max_restarts);
  if (self->min_uptime_ms != DEFAULT_MIN_UPTIME_MS)
    set_duration (kf, group, "min-uptime", self->min_uptime_ms);
  if (self->restart_delay_ms != 0)
    set_duration (kf, group, "restart-delay", self->restart_delay_ms);
  if (self->exp_backoff_restart_delay_ms != 0)
    set_duration (kf, group, "exp-backoff-restart-delay", self->exp_backoff_restart_delay_ms);
  if (self->max_backoff_ms != DEFAULT_MAX_BACKOFF_MS)
    set_duration (kf, group, "max-backoff", self->max_backoff_ms);
  if (self->max_memory_restart != 0) {
    g_autofree char *size = tend_format_size (self->max_memory_restart);
    g_key_file_set_value (kf, group, "max-memory-restart", size);
  }
  if (self->kill_signal != SIGTERM)
    g_key_file_set_value (kf, group, "kill-signal", tend_signal_to_string (self->kill_signal));
  if (self->kill_timeout_ms != DEFAULT_KILL_TIMEOUT_MS)
    set_duration (kf, group, "kill-timeout", self->kill_timeout_ms);
  if (self->out_file != NULL)
    set_string (kf, group, "out-file", self->out_file);
  if (self->error_file != NULL)
    set_string (kf, group, "error-file", self->error_file);
  if (self->merge_logs)
    g_key_file_set_boolean (kf, group, "merge-logs", TRUE);
  if (self->log_date_format != NULL)
    set_string (kf, group, "log-date-format", self->log_date_format);
  if (self->port != 0)
    g_key_file_set_uint64 (kf, group, "port", self->port);
  if (self->layer != NULL)
    set_string (kf, group, "layer", self->layer);
  if (self->critical)
    g_key_file_set_boolean (kf, group, "critical", TRUE);
  if (self->depends_on != NULL && self->depends_on[0] != NULL)
    set_strv (kf, group, "depends-on", self->depends_on);
  if (self->health_check != NULL)
    set_string (kf, group, "health-check", self->health_check);
  if (self->health_interval_ms != DEFAULT_HEALTH_INTERVAL_MS)
    set_duration (kf, group, "health-interval", self->health_interval_ms);
  if (self->health_timeout_ms != DEFAULT_HEALTH_TIMEOUT_MS)
    set_duration (kf, group, "health-timeout", self->health_timeout_ms);
  if (self->health_retries != DEFAULT_HEALTH_RETRIES)
    g_key_file_set_uint64 (kf, group, "health-retries", self->health_retries);
  if (self->ready_check != NULL)
    set_string (kf, group, "ready-check", self->ready_check);
  if (self->notify)
    g_key_file_set_boolean (kf, group, "notify", TRUE);
  if (!self->start)
    g_key_file_set_boolean (kf, group, "start", FALSE);
}
