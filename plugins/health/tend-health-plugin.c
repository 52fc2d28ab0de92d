/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tend-context.h"
#include "tend-health-checks.h"
#include "tend-health-history.h"
#include "tend-health-keys.h"
#include "tend-health-notify.h"
#include "tend-health-sampler.h"
#include "tend-parse.h"
#include "tend-plugin.h"
#include "tend-service-manager.h"

/* The history covers the last hour, whatever the sample interval. */
#define HISTORY_SECONDS 3600

#define TEND_TYPE_HEALTH_PLUGIN (tend_health_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendHealthPlugin, tend_health_plugin, TEND, HEALTH_PLUGIN, GObject)

struct _TendHealthPlugin {
  GObject parent_instance;

  TendContext *context;
  guint64 interval_ms;
  guint timer;
  TendHealthSampler *sampler;
  TendHealthChecks *checks;
  TendHealthNotify *notify;
  GHashTable *history; /* TendService → TendHealthHistory */
  guint64 passes;
  gint64 last_pass_us;
  guint memory_restarts;
};

static void tend_health_plugin_plugin_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendHealthPlugin, tend_health_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_health_plugin_plugin_init))

static char *
format_mib (guint64 bytes)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT "M", (bytes + 512 * 1024) / (1024 * 1024));
}

static void
enforce_memory_limit (TendHealthPlugin *self, TendService *service)
{
  TendServiceConfig *config = tend_service_get_config (service);
  TendServiceState state = tend_service_get_state (service);
  guint64 rss = tend_service_get_memory_rss (service);
  g_autofree char *limit = NULL;
  g_autofree char *used = NULL;
  g_autofree char *reason = NULL;
  guint64 max_memory = tend_health_service_get_max_memory (config);

  if (max_memory == 0 || rss <= max_memory)
    return;
  if (state != TEND_SERVICE_STATE_ONLINE && state != TEND_SERVICE_STATE_LAUNCHING)
    return;
  limit = tend_format_size (max_memory);
  used = format_mib (rss);
  reason = g_strdup_printf ("memory limit %s exceeded: %s", limit, used);
  g_message ("%s: %s; restarting", config->name, reason);
  self->memory_restarts++;
  tend_service_restart (service, reason);
}

static TendHealthHistory *
history_for (TendHealthPlugin *self, TendService *service)
{
  TendHealthHistory *history = g_hash_table_lookup (self->history, service);

  if (history == NULL) {
    history = tend_health_history_new ((guint) (HISTORY_SECONDS * 1000 / MAX (self->interval_ms, 1)));
    g_hash_table_insert (self->history, service, history);
  }
  return history;
}

/* One sample of the service for its ring: its instances' figures summed, as the pass just measured them. */
static void
record_history (TendHealthPlugin *self, TendService *service, gint64 now_us)
{
  GPtrArray *instances = tend_service_get_instances (service);
  guint processes = 0;
  TendHealthSample sample;

  for (guint i = 0; i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    if (tend_instance_get_figures_known (instance))
      processes += tend_instance_get_usage (instance)->processes;
  }
  sample = tend_health_history_sample (now_us, tend_service_get_figures_known (service),
                                       tend_service_get_cpu_percent (service), tend_service_get_memory_rss (service),
                                       processes, tend_service_get_restarts (service));
  tend_health_history_push (history_for (self, service), &sample);
}

static GVariant *
history_provider (TendService *service, gint64 since_us, guint64 *out_interval_ms, gpointer user_data)
{
  TendHealthPlugin *self = user_data;
  TendHealthHistory *history = g_hash_table_lookup (self->history, service);

  *out_interval_ms = self->interval_ms;
  return history != NULL ? tend_health_history_to_variant (history, since_us) : NULL;
}

/* One pass over /proc for every service at once, then the limits. */
static gboolean
sample_cb (gpointer user_data)
{
  TendHealthPlugin *self = user_data;
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (self->context));
  g_autoptr(GPtrArray) running = g_ptr_array_new ();
  g_autoptr(GPtrArray) services = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 started = g_get_monotonic_time ();
  gint64 now_us;
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++) {
    TendService *service = g_list_model_get_item (model, i);
    GPtrArray *instances = tend_service_get_instances (service);

    g_ptr_array_add (services, service);
    for (guint j = 0; j < instances->len; j++) {
      TendInstance *instance = g_ptr_array_index (instances, j);
      const TendUsage *usage = tend_instance_get_usage (instance);

      if (tend_instance_get_pid (instance) != 0) {
        g_ptr_array_add (running, instance);
      } else if (tend_instance_get_figures_known (instance) || usage->cpu_percent != 0 || usage->memory_rss != 0) {
        /* its run ended: nothing of it is measured any more */
        tend_instance_clear_usage (instance);
      }
    }
  }
  if (running->len > 0)
    tend_health_sampler_sample (self->sampler, running);
  now_us = g_get_real_time ();
  for (guint i = 0; i < services->len; i++)
    record_history (self, g_ptr_array_index (services, i), now_us);
  for (guint i = 0; i < services->len; i++)
    enforce_memory_limit (self, g_ptr_array_index (services, i));
  self->passes++;
  self->last_pass_us = g_get_monotonic_time () - started;
  return G_SOURCE_CONTINUE;
}

static void
service_removed_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendHealthPlugin *self = user_data;

  g_hash_table_remove (self->history, service);
}

static void
start_timer (TendHealthPlugin *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  /* whole seconds let the kernel batch our wake-ups with others': cheaper when idle */
  if (self->interval_ms % 1000 == 0)
    self->timer = g_timeout_add_seconds ((guint) (self->interval_ms / 1000), sample_cb, self);
  else
    self->timer = g_timeout_add ((guint) self->interval_ms, sample_cb, self);
}

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendHealthPlugin *self = TEND_HEALTH_PLUGIN (plugin);

  self->context = g_object_ref (context);
  self->interval_ms = MAX (tend_plugin_config_get_duration (config, "sample-interval"), 100);
  return TRUE;
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendHealthPlugin *self = TEND_HEALTH_PLUGIN (plugin);
  g_autofree char *notify_path = g_build_filename (tend_context_get_home (self->context), "notify.sock", NULL);

  self->notify = tend_health_notify_new (self->context, notify_path, error);
  if (self->notify == NULL)
    return FALSE;
  tend_context_set_notify_socket (self->context, notify_path, tend_health_notify_get_open_address (self->notify));
  tend_context_set_readiness_provider (self->context, TRUE);
  self->sampler = tend_health_sampler_new ();
  self->checks = tend_health_checks_new (self->context);
  g_signal_connect (self->context, "service-removed", G_CALLBACK (service_removed_cb), self);
  tend_context_set_history_provider (self->context, history_provider, self);
  start_timer (self);
  return TRUE;
}

static gboolean
plugin_reload (TendPlugin *plugin, TendPluginConfig *config, GError **error)
{
  TendHealthPlugin *self = TEND_HEALTH_PLUGIN (plugin);

  guint64 interval_ms = MAX (tend_plugin_config_get_duration (config, "sample-interval"), 100);

  /* a ring's capacity and its samples' spacing follow the interval: begin anew */
  if (interval_ms != self->interval_ms)
    g_hash_table_remove_all (self->history);
  self->interval_ms = interval_ms;
  start_timer (self);
  return TRUE;
}

/* Nobody measures once we stop: figures left behind would read as current. */
static void
clear_figures (TendHealthPlugin *self)
{
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (self->context));
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (model, i);
    GPtrArray *instances = tend_service_get_instances (service);
    for (guint j = 0; j < instances->len; j++)
      tend_instance_clear_usage (g_ptr_array_index (instances, j));
  }
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TendHealthPlugin *self = TEND_HEALTH_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_clear_handle_id (&self->timer, g_source_remove);
  g_signal_handlers_disconnect_by_data (self->context, self);
  g_clear_pointer (&self->checks, tend_health_checks_free);
  g_clear_pointer (&self->sampler, tend_health_sampler_free);
  g_clear_pointer (&self->notify, tend_health_notify_free);
  tend_context_set_readiness_provider (self->context, FALSE);
  tend_context_set_notify_socket (self->context, NULL, NULL);
  tend_context_set_history_provider (self->context, NULL, NULL);
  g_hash_table_remove_all (self->history);
  clear_figures (self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
plugin_add_status (TendPlugin *plugin, GVariantDict *status)
{
  TendHealthPlugin *self = TEND_HEALTH_PLUGIN (plugin);

  g_variant_dict_insert (status, "sample-interval-ms", "t", self->interval_ms);
  g_variant_dict_insert (status, "passes", "t", self->passes);
  g_variant_dict_insert (status, "last-pass-us", "x", self->last_pass_us);
  g_variant_dict_insert (status, "memory-restarts", "u", self->memory_restarts);
  g_variant_dict_insert (status, "checks-run", "u", self->checks != NULL ? tend_health_checks_get_runs (self->checks) : 0);
  g_variant_dict_insert (status, "stat-files-open", "u",
                         self->sampler != NULL ? tend_health_sampler_get_open_files (self->sampler) : 0);
  if (self->notify != NULL) {
    g_variant_dict_insert (status, "notify-socket", "s", tend_health_notify_get_path (self->notify));
    if (tend_health_notify_get_open_address (self->notify) != NULL)
      g_variant_dict_insert (status, "notify-socket-open", "s", tend_health_notify_get_open_address (self->notify));
  }
}

static void
tend_health_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->reload = plugin_reload;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
  iface->add_status = plugin_add_status;
}

static void
tend_health_plugin_finalize (GObject *object)
{
  TendHealthPlugin *self = TEND_HEALTH_PLUGIN (object);

  g_clear_handle_id (&self->timer, g_source_remove);
  g_clear_pointer (&self->checks, tend_health_checks_free);
  g_clear_pointer (&self->sampler, tend_health_sampler_free);
  g_clear_pointer (&self->notify, tend_health_notify_free);
  g_hash_table_unref (self->history);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_health_plugin_parent_class)->finalize (object);
}

static void
tend_health_plugin_class_init (TendHealthPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_health_plugin_finalize;
}

static void
tend_health_plugin_init (TendHealthPlugin *self)
{
  self->history = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) tend_health_history_free);
}

static const TendConfigKey health_keys[] = {
  { "sample-interval", TEND_CONFIG_KEY_DURATION, "2s", "100ms..1h", N_("How often CPU and memory of every service are sampled") },
  { NULL },
};

TEND_DEFINE_PLUGIN ("health",
                    tend_health_plugin,
                    N_("Samples CPU and memory, enforces memory limits, runs health and ready checks"),
                    health_keys,
                    /* SPEC: every view needs the figures; `[plugin:health] enabled=false` turns it off */
                    .enabled_by_default = TRUE,
                    .service_keys = tend_health_service_keys)
