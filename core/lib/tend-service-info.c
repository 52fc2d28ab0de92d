/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sys/wait.h>

#include "tend-context.h"
#include "tend-parse.h"
#include "tend-service-info.h"
#include "tend-service-schema.h"

char *
tend_service_info_describe_exit (int wait_status)
{
  if (WIFEXITED (wait_status))
    return g_strdup_printf ("exited with code %d", WEXITSTATUS (wait_status));
  if (WIFSIGNALED (wait_status))
    return g_strdup_printf ("killed by signal %s%s", tend_signal_to_string (WTERMSIG (wait_status)),
                            WCOREDUMP (wait_status) ? " (core dumped)" : "");
  return g_strdup_printf ("ended with wait status %d", wait_status);
}

static void
add_common (GVariantDict *dict, TendServiceConfig *config)
{
  g_variant_dict_insert (dict, "name", "s", config->name);
  g_variant_dict_insert (dict, "instances", "u", MAX (config->instances, 1));
  g_variant_dict_insert (dict, "layer", "s", config->layer != NULL ? config->layer : "");
  g_variant_dict_insert (dict, "port", "u", config->port);
  g_variant_dict_insert (dict, "critical", "b", config->critical);
}

/* A row is built for every instance on every ListServices: a plain builder, not a GVariantDict's hash table. */
#define ADD(builder, key, format, value) g_variant_builder_add (builder, "{sv}", key, g_variant_new (format, value))

GVariant *
tend_service_info_instance (TendInstance *instance)
{
  TendService *service = tend_instance_get_service (instance);
  TendServiceConfig *config = tend_service_get_config (service);
  const char *message = tend_instance_get_status_message (instance);
  const char *restart_reason = tend_instance_get_last_restart_reason (instance);
  const char *notify_status = tend_instance_get_notify_status (instance);
  const char *owner = tend_service_get_owner (service);
  const TendUsage *usage = tend_instance_get_usage (instance);
  g_autofree char *out_log = tend_instance_get_log_path (instance, 1);
  g_autofree char *err_log = tend_instance_get_log_path (instance, 2);
  g_autofree char *last_exit = NULL;
  int wait_status = 0;
  int last_exit_code = -1;
  GVariantBuilder b;

  if (tend_instance_get_last_exit (instance, &wait_status)) {
    last_exit = tend_service_info_describe_exit (wait_status);
    if (WIFEXITED (wait_status))
      last_exit_code = WEXITSTATUS (wait_status);
  }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  ADD (&b, "name", "s", config->name);
  ADD (&b, "instances", "u", MAX (config->instances, 1));
  ADD (&b, "layer", "s", config->layer != NULL ? config->layer : "");
  ADD (&b, "port", "u", config->port);
  ADD (&b, "critical", "b", config->critical);
  ADD (&b, "index", "u", tend_instance_get_index (instance));
  ADD (&b, "id", "u", tend_instance_get_id (instance));
  ADD (&b, "pid", "i", (gint32) tend_instance_get_pid (instance));
  ADD (&b, "state", "s", tend_service_state_to_string (tend_instance_get_state (instance)));
  ADD (&b, "start-time", "x", tend_instance_get_start_time (instance));
  ADD (&b, "restarts", "u", tend_instance_get_restarts (instance));
  ADD (&b, "cpu-percent", "d", tend_instance_get_cpu_percent (instance));
  ADD (&b, "memory-rss", "t", tend_instance_get_memory_rss (instance));
  /* FALSE: the figures (cpu-percent, memory-rss, processes, open-fds, cpu-seconds) read 0 but are unknown */
  ADD (&b, "figures-known", "b", tend_instance_get_figures_known (instance));
  ADD (&b, "status-message", "s", message != NULL ? message : "");
  ADD (&b, "wants-running", "b", tend_instance_get_wants_running (instance));
  ADD (&b, "ad-hoc", "b", tend_service_get_ad_hoc (service));
  ADD (&b, "owner", "s", owner != NULL ? owner : "");
  ADD (&b, "processes", "u", usage->processes);
  ADD (&b, "open-fds", "u", usage->open_fds);
  ADD (&b, "cpu-seconds", "d", usage->cpu_seconds);
  ADD (&b, "last-restart-reason", "s", restart_reason != NULL ? restart_reason : "");
  ADD (&b, "notify-status", "s", notify_status != NULL ? notify_status : "");
  ADD (&b, "out-log", "s", out_log);
  ADD (&b, "error-log", "s", err_log);
  /* what `tend start` needs to tell a run that failed within min-uptime from one that held */
  ADD (&b, "exits", "u", tend_instance_get_exits (instance));
  ADD (&b, "last-exit", "s", last_exit != NULL ? last_exit : "");
  ADD (&b, "last-exit-code", "i", last_exit_code);
  ADD (&b, "min-uptime-ms", "t", config->min_uptime_ms);
  ADD (&b, "ready-rule", "b", tend_instance_has_ready_rule (instance));
  return g_variant_builder_end (&b);
}

GVariant *
tend_service_info_config (TendServiceConfig *config)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *group = g_strdup_printf ("service:%s", config->name);
  g_auto(GStrv) keys = NULL;
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a{ss}"));
  const TendServiceKey *schema;
  guint n_schema;

  /* the keys the file set, plus the effective values a reader most wants to see (the schema's DESCRIBE rows) */
  tend_service_config_to_key_file (config, kf);
  schema = tend_service_schema_get_keys (&n_schema);
  for (guint i = 0; i < n_schema; i++) {
    if ((schema[i].flags & TEND_SERVICE_KEY_DESCRIBE) && !g_key_file_has_key (kf, group, schema[i].name, NULL)) {
      g_autofree char *v = tend_service_schema_format_default (&schema[i]);
      g_key_file_set_value (kf, group, schema[i].name, v != NULL ? v : "");
    }
  }
  keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
    g_autofree char *value = g_key_file_get_value (kf, group, keys[i], NULL);
    g_variant_builder_add (builder, "{ss}", keys[i], value != NULL ? value : "");
  }
  return g_variant_builder_end (builder);
}

/* Bytes of output dropped, and why output is being dropped now ("" when it is not), over the service's files. */
static guint64
log_figures (TendService *service, char **out_problem)
{
  TendContext *context = tend_service_get_context (service);
  GPtrArray *instances = tend_service_get_instances (service);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  guint64 total = 0;

  for (guint i = 0; i < instances->len; i++) {
    for (int stream = 1; stream <= 2; stream++) {
      g_autofree char *path = tend_instance_get_log_path (g_ptr_array_index (instances, i), stream);
      TendLogFile *file = tend_context_lookup_log_file (context, path);
      /* merged logs share a file: count it once */
      if (file != NULL && g_hash_table_add (seen, file)) {
        total += tend_log_file_get_dropped (file);
        if (tend_log_file_get_problem (file) != NULL)
          g_ptr_array_add (problems, (gpointer) tend_log_file_get_problem (file));
      }
    }
  }
  g_ptr_array_add (problems, NULL);
  *out_problem = g_strjoinv ("; ", (char **) problems->pdata);
  return total;
}

/* What explains the service's state: the message of its first instance in that state that has one
 * (instance 0 may be online while others wait for a limit to pass), else instance 0's. */
static const char *
service_message (TendService *service)
{
  GPtrArray *instances = tend_service_get_instances (service);
  TendServiceState state = tend_service_get_state (service);

  for (guint i = 0; i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    const char *message = tend_instance_get_status_message (instance);
    if (tend_instance_get_state (instance) == state && message != NULL && message[0] != '\0')
      return message;
  }
  return tend_instance_get_status_message (g_ptr_array_index (instances, 0));
}

GVariant *
tend_service_info_describe (TendService *service)
{
  TendServiceConfig *config = tend_service_get_config (service);
  GPtrArray *instances = tend_service_get_instances (service);
  TendInstance *first = g_ptr_array_index (instances, 0);
  g_autoptr(GVariantBuilder) rows = g_variant_builder_new (G_VARIANT_TYPE ("aa{sv}"));
  g_autofree char *out_log = tend_instance_get_log_path (first, 1);
  g_autofree char *err_log = tend_instance_get_log_path (first, 2);
  g_autofree char *last_exit = NULL;
  g_autofree char *log_problem = NULL;
  guint64 log_dropped = log_figures (service, &log_problem);
  const char *message = service_message (service);
  const char *notify_status = tend_instance_get_notify_status (first);
  guint processes = 0, open_fds = 0;
  double cpu_seconds = 0;
  GVariantDict dict;
  int wait_status;

  for (guint i = 0; i < instances->len; i++) {
    const TendUsage *usage = tend_instance_get_usage (g_ptr_array_index (instances, i));
    g_variant_builder_add_value (rows, tend_service_info_instance (g_ptr_array_index (instances, i)));
    processes += usage->processes;
    open_fds += usage->open_fds;
    cpu_seconds += usage->cpu_seconds;
  }
  if (tend_instance_get_last_exit (first, &wait_status))
    last_exit = tend_service_info_describe_exit (wait_status);

  g_variant_dict_init (&dict, NULL);
  add_common (&dict, config);
  g_variant_dict_insert (&dict, "id", "u", tend_instance_get_id (first));
  g_variant_dict_insert (&dict, "pid", "i", (gint32) tend_service_get_pid (service));
  g_variant_dict_insert (&dict, "state", "s", tend_service_state_to_string (tend_service_get_state (service)));
  g_variant_dict_insert (&dict, "start-time", "x", tend_service_get_start_time (service));
  g_variant_dict_insert (&dict, "restarts", "u", tend_service_get_restarts (service));
  g_variant_dict_insert (&dict, "cpu-percent", "d", tend_service_get_cpu_percent (service));
  g_variant_dict_insert (&dict, "memory-rss", "t", tend_service_get_memory_rss (service));
  g_variant_dict_insert (&dict, "figures-known", "b", tend_service_get_figures_known (service));
  g_variant_dict_insert (&dict, "status-message", "s", message != NULL ? message : "");
  g_variant_dict_insert (&dict, "wants-running", "b", tend_service_get_wants_running (service));
  g_variant_dict_insert (&dict, "ad-hoc", "b", tend_service_get_ad_hoc (service));
  g_variant_dict_insert (&dict, "out-log", "s", out_log);
  g_variant_dict_insert (&dict, "error-log", "s", err_log);
  g_variant_dict_insert (&dict, "last-exit", "s", last_exit != NULL ? last_exit : "");
  g_variant_dict_insert (&dict, "last-restart-reason", "s",
                         tend_instance_get_last_restart_reason (first) != NULL
                           ? tend_instance_get_last_restart_reason (first)
                           : "");
  g_variant_dict_insert (&dict, "log-dropped-bytes", "t", log_dropped);
  g_variant_dict_insert (&dict, "log-error", "s", log_problem);
  /* the whole service: every instance's tree */
  g_variant_dict_insert (&dict, "processes", "u", processes);
  g_variant_dict_insert (&dict, "open-fds", "u", open_fds);
  g_variant_dict_insert (&dict, "cpu-seconds", "d", cpu_seconds);
  g_variant_dict_insert (&dict, "notify-status", "s", notify_status != NULL ? notify_status : "");
  g_variant_dict_insert (&dict, "next-restart-delay-ms", "t", tend_instance_get_next_restart_delay (first));
  g_variant_dict_insert_value (&dict, "config", tend_service_info_config (config));
  g_variant_dict_insert_value (&dict, "instance-list", g_variant_builder_end (rows));
  return g_variant_dict_end (&dict);
}
