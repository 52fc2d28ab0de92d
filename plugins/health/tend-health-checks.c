/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-env-file.h"
#include "tend-health-checks.h"
#include "tend-health-keys.h"
#include "tend-health-probe.h"
#include "tend-parse.h"
#include "tend-port-owner.h"
#include "tend-proc.h"
#include "tend-service-manager.h"

#define READY_RETRY_MS 250

typedef struct {
  TendHealthChecks *owner;
  TendService *service;
  TendServiceConfig *probes_config; /* the config the probes were made from */
  gboolean dead;
  TendHealthProbe *liveness;
  char *liveness_spec;
  guint failures;
  guint liveness_timer;
  gboolean liveness_running;
  TendHealthProbe *readiness;
  char *readiness_spec;
  guint readiness_timer;
  gboolean readiness_running;
  GCancellable *cancellable;
} ServiceChecks;

struct _TendHealthChecks {
  TendContext *context;
  GHashTable *services; /* TendService → ServiceChecks */
  gulong added_id, removed_id, state_id;
  guint runs;
};

static void update (ServiceChecks *sc);

static ServiceChecks *
sc_ref (ServiceChecks *sc)
{
  return g_rc_box_acquire (sc);
}

static void
sc_clear (ServiceChecks *sc)
{
  g_clear_pointer (&sc->liveness, tend_health_probe_free);
  g_clear_pointer (&sc->readiness, tend_health_probe_free);
  g_free (sc->liveness_spec);
  g_free (sc->readiness_spec);
  g_clear_pointer (&sc->probes_config, tend_service_config_unref);
  g_clear_object (&sc->cancellable);
  g_clear_object (&sc->service);
}

static void
sc_unref (ServiceChecks *sc)
{
  g_rc_box_release_full (sc, (GDestroyNotify) sc_clear);
}

/* Called when the service goes away; a try in flight finds it dead and stops there. */
static void
sc_kill (ServiceChecks *sc)
{
  sc->dead = TRUE;
  g_clear_handle_id (&sc->liveness_timer, g_source_remove);
  g_clear_handle_id (&sc->readiness_timer, g_source_remove);
  g_cancellable_cancel (sc->cancellable);
  sc_unref (sc);
}

/* Whether the service's processes hold every socket of @inodes: its main processes first (where a
 * server usually listens: one look at their descriptors), then its whole trees, as stop finds them
 * (the run's cgroup, or the session, the run's tag and descendants). */
static gboolean
service_holds (GArray *inodes, guint64 *out_missing, gpointer user_data)
{
  ServiceChecks *sc = user_data;
  GPtrArray *instances = tend_service_get_instances (sc->service);
  g_autoptr(GArray) pids = g_array_new (FALSE, FALSE, sizeof (pid_t));

  for (guint i = 0; i < instances->len; i++) {
    pid_t pid = tend_instance_get_pid (g_ptr_array_index (instances, i));
    if (pid > 0)
      g_array_append_val (pids, pid);
  }
  if (pids->len == 0)
    return FALSE;
  if (tend_port_owner_pids_hold ((const pid_t *) pids->data, pids->len, inodes, out_missing))
    return TRUE;
  g_array_set_size (pids, 0);
  for (guint i = 0; i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    const char *cgroup = tend_instance_get_cgroup (instance);
    g_autoptr(GArray) tree = NULL;

    if (tend_instance_get_pid (instance) <= 0)
      continue;
    tree = cgroup != NULL ? tend_proc_list_cgroup (cgroup)
                          : tend_proc_list_tree (tend_instance_get_pid (instance), tend_instance_get_tag (instance));
    g_array_append_vals (pids, tree->data, tree->len);
  }
  return tend_port_owner_pids_hold ((const pid_t *) pids->data, pids->len, inodes, out_missing);
}

static TendHealthProbe *
make_probe (ServiceChecks *sc, TendServiceConfig *config, const char *spec)
{
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe;

  /* the service's environment, as tend_instance_build_environment() makes it: never the
   * NOTIFY_SOCKET of tendd's own supervisor, the env-file, then env */
  env = g_environ_unsetenv (env, "NOTIFY_SOCKET");
  if (config->env_file != NULL) {
    g_auto(GStrv) file_env = NULL;
    g_autoptr(GError) file_error = NULL;

    /* with the same rights as when the service starts: never root's for a user's link */
    if (tend_env_file_read (config, &file_env, &file_error)) {
      for (guint i = 0; file_env[i] != NULL; i++) {
        g_auto(GStrv) kv = g_strsplit (file_env[i], "=", 2);
        env = g_environ_setenv (env, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
      }
    } else {
      g_warning ("%s: check %s runs without the env-file: %s", config->name, spec, file_error->message);
    }
  }
  for (guint i = 0; config->env != NULL && config->env[i] != NULL; i++) {
    g_auto(GStrv) kv = g_strsplit (config->env[i], "=", 2);
    env = g_environ_setenv (env, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
  }
  probe = tend_health_probe_new (sc->owner->context, spec, config->port, config->cwd, (const char *const *) env, &error);
  if (probe == NULL)
    g_warning ("%s: cannot use check %s: %s", config->name, spec, error->message);
  else
    tend_health_probe_set_holds_func (probe, service_holds, sc);
  return probe;
}

/* The config may change on reload: keep a probe only while the config it was made from (its
 * spec, and the port, cwd and environment it captured) is the same. */
static void
sync_probes (ServiceChecks *sc)
{
  TendServiceConfig *config = tend_service_get_config (sc->service);

  if (sc->probes_config != config) {
    g_clear_pointer (&sc->probes_config, tend_service_config_unref);
    sc->probes_config = tend_service_config_ref (config);
    /* made again below */
    g_clear_pointer (&sc->liveness_spec, g_free);
    g_clear_pointer (&sc->readiness_spec, g_free);
    g_clear_pointer (&sc->liveness, tend_health_probe_free);
    g_clear_pointer (&sc->readiness, tend_health_probe_free);
  }
  if (g_strcmp0 (sc->liveness_spec, tend_health_service_get_check (config)) != 0) {
    g_clear_pointer (&sc->liveness, tend_health_probe_free);
    g_free (sc->liveness_spec);
    sc->liveness_spec = g_strdup (tend_health_service_get_check (config));
    sc->failures = 0;
    if (tend_health_service_get_check (config) != NULL)
      sc->liveness = make_probe (sc, config, tend_health_service_get_check (config));
  }
  if (g_strcmp0 (sc->readiness_spec, config->ready_check) != 0) {
    g_clear_pointer (&sc->readiness, tend_health_probe_free);
    g_free (sc->readiness_spec);
    sc->readiness_spec = g_strdup (config->ready_check);
    if (config->ready_check != NULL)
      sc->readiness = make_probe (sc, config, config->ready_check);
  }
}

static void liveness_tick (gpointer user_data);

static void
liveness_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ServiceChecks *sc = user_data;
  TendServiceConfig *config;
  g_autoptr(GError) error = NULL;
  gboolean healthy;

  if (sc->dead || sc->liveness == NULL) {
    sc_unref (sc);
    return;
  }
  config = tend_service_get_config (sc->service);
  healthy = tend_health_probe_run_finish (sc->liveness, result, &error);
  sc->liveness_running = FALSE;
  sc->owner->runs++;
  if (!healthy && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    /* the check was replaced (reload) or the service went away: not a failure of the service */
  } else if (healthy) {
    sc->failures = 0;
  } else if (tend_service_get_state (sc->service) == TEND_SERVICE_STATE_ONLINE) {
    sc->failures++;
    g_debug ("%s: health check failed (%u of %u): %s", config->name, sc->failures, tend_health_service_get_retries (config),
             error->message);
    if (sc->failures >= tend_health_service_get_retries (config)) {
      g_autofree char *reason = g_strdup_printf ("health check failed: %s", error->message);
      sc->failures = 0;
      g_message ("%s: %s, %u times in a row; restarting", config->name, reason, tend_health_service_get_retries (config));
      tend_service_restart (sc->service, reason);
    }
  }
  update (sc);
  sc_unref (sc);
}

static void
liveness_tick (gpointer user_data)
{
  ServiceChecks *sc = user_data;
  TendServiceConfig *config = tend_service_get_config (sc->service);

  sc->liveness_timer = 0;
  if (sc->liveness == NULL || sc->liveness_running)
    return;
  sc->liveness_running = TRUE;
  tend_health_probe_run_async (sc->liveness, (guint) MIN (tend_health_service_get_timeout_ms (config), G_MAXUINT), sc->cancellable,
                               liveness_done_cb, sc_ref (sc));
}

static void readiness_tick (gpointer user_data);

static void
readiness_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ServiceChecks *sc = user_data;
  g_autoptr(GError) error = NULL;

  if (sc->dead || sc->readiness == NULL) {
    sc_unref (sc);
    return;
  }
  sc->readiness_running = FALSE;
  sc->owner->runs++;
  if (tend_health_probe_run_finish (sc->readiness, result, &error)) {
    GPtrArray *instances = tend_service_get_instances (sc->service);
    for (guint i = 0; i < instances->len; i++)
      tend_instance_set_ready (g_ptr_array_index (instances, i));
  } else {
    GPtrArray *instances = tend_service_get_instances (sc->service);
    g_debug ("%s: not ready yet: %s", tend_service_get_name (sc->service), error->message);
    /* shown by describe while it waits; a cancelled try says nothing of the service */
    for (guint i = 0; i < instances->len && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED); i++)
      tend_instance_set_not_ready_reason (g_ptr_array_index (instances, i), error->message);
  }
  update (sc);
  sc_unref (sc);
}

static void
readiness_tick (gpointer user_data)
{
  ServiceChecks *sc = user_data;
  TendServiceConfig *config = tend_service_get_config (sc->service);

  sc->readiness_timer = 0;
  if (sc->readiness == NULL || sc->readiness_running)
    return;
  sc->readiness_running = TRUE;
  tend_health_probe_run_async (sc->readiness, (guint) MIN (tend_health_service_get_timeout_ms (config), G_MAXUINT), sc->cancellable,
                               readiness_done_cb, sc_ref (sc));
}

static gboolean
has_launching_process (TendService *service)
{
  GPtrArray *instances = tend_service_get_instances (service);

  for (guint i = 0; i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    if (tend_instance_get_state (instance) == TEND_SERVICE_STATE_LAUNCHING && tend_instance_get_pid (instance) != 0)
      return TRUE;
  }
  return FALSE;
}

/* Arms or disarms the timers for the service's state now. */
static void
update (ServiceChecks *sc)
{
  TendServiceConfig *config;
  gboolean online;

  if (sc->dead)
    return;
  sync_probes (sc);
  config = tend_service_get_config (sc->service);
  online = tend_service_get_state (sc->service) == TEND_SERVICE_STATE_ONLINE;

  if (sc->liveness != NULL && online) {
    if (sc->liveness_timer == 0 && !sc->liveness_running)
      sc->liveness_timer = g_timeout_add_once ((guint) MIN (tend_health_service_get_interval_ms (config), G_MAXUINT), liveness_tick, sc);
  } else {
    g_clear_handle_id (&sc->liveness_timer, g_source_remove);
    sc->failures = 0;
  }
  if (sc->readiness != NULL && has_launching_process (sc->service)) {
    if (sc->readiness_timer == 0 && !sc->readiness_running)
      sc->readiness_timer = g_timeout_add_once (READY_RETRY_MS, readiness_tick, sc);
  } else {
    g_clear_handle_id (&sc->readiness_timer, g_source_remove);
  }
}

static void
service_added_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendHealthChecks *self = user_data;
  ServiceChecks *sc = g_rc_box_new0 (ServiceChecks);

  sc->owner = self;
  sc->service = g_object_ref (service);
  sc->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->services, service, sc);
  update (sc);
}

static void
service_removed_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendHealthChecks *self = user_data;

  g_hash_table_remove (self->services, service);
}

static void
state_changed_cb (TendContext *context,
                  TendService *service,
                  TendInstance *instance,
                  TendServiceState old_state,
                  TendServiceState new_state,
                  const char *reason,
                  gpointer user_data)
{
  TendHealthChecks *self = user_data;
  ServiceChecks *sc = g_hash_table_lookup (self->services, service);

  if (sc != NULL)
    update (sc);
}

TendHealthChecks *
tend_health_checks_new (TendContext *context)
{
  TendHealthChecks *self = g_new0 (TendHealthChecks, 1);
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (context));
  guint n = g_list_model_get_n_items (model);

  self->context = g_object_ref (context);
  self->services = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) sc_kill);
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (model, i);
    service_added_cb (context, service, self);
  }
  self->added_id = g_signal_connect (context, "service-added", G_CALLBACK (service_added_cb), self);
  self->removed_id = g_signal_connect (context, "service-removed", G_CALLBACK (service_removed_cb), self);
  self->state_id = g_signal_connect (context, "service-state-changed", G_CALLBACK (state_changed_cb), self);
  return self;
}

void
tend_health_checks_free (TendHealthChecks *self)
{
  g_clear_signal_handler (&self->added_id, self->context);
  g_clear_signal_handler (&self->removed_id, self->context);
  g_clear_signal_handler (&self->state_id, self->context);
  g_hash_table_unref (self->services);
  g_object_unref (self->context);
  g_free (self);
}

guint
tend_health_checks_get_runs (TendHealthChecks *self)
{
  return self->runs;
}
