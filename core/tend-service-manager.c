/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-context.h"
#include "tend-error.h"
#include "tend-service-manager.h"

struct _TendServiceManager {
  GObject parent_instance;

  TendContext *context; /* owns us */
  GPtrArray *services;  /* TendService, the model's items, in order of addition */
  GHashTable *by_name;  /* name → TendService, without those being removed */
  GPtrArray *removing;  /* TendService stopping before they are dropped */
  GPtrArray *stop_tasks; /* GTask waiting for every service to be idle */
  GHashTable *asked_to_stop; /* TendService, while stopping everything */
  gboolean ordered_stop;      /* stopping everything, dependents first (stop all, shutdown) */
  guint next_id;
  guint check_source;
  gulong state_handler;
};

static void tend_service_manager_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendServiceManager, tend_service_manager, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, tend_service_manager_list_model_init))

static GType
list_get_item_type (GListModel *model)
{
  return TEND_TYPE_SERVICE;
}

static guint
list_get_n_items (GListModel *model)
{
  return TEND_SERVICE_MANAGER (model)->services->len;
}

static gpointer
list_get_item (GListModel *model, guint position)
{
  TendServiceManager *self = TEND_SERVICE_MANAGER (model);

  if (position >= self->services->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->services, position));
}

static void
tend_service_manager_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = list_get_item_type;
  iface->get_n_items = list_get_n_items;
  iface->get_item = list_get_item;
}

static gboolean
all_idle (TendServiceManager *self)
{
  for (guint i = 0; i < self->services->len; i++) {
    if (!tend_service_is_idle (g_ptr_array_index (self->services, i)))
      return FALSE;
  }
  return TRUE;
}

static void
drop_service (TendServiceManager *self, TendService *service)
{
  guint position;
  /* the array's reference goes with the row; this one keeps @service alive for the listeners */
  g_autoptr(TendService) keep G_GNUC_UNUSED = g_object_ref (service);

  if (!g_ptr_array_find (self->services, service, &position))
    return;
  g_ptr_array_remove_index (self->services, position);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
  tend_context_emit_service_removed (self->context, service);
}

static gboolean
depends_on (TendService *service, const char *name)
{
  char **deps = tend_service_get_config (service)->depends_on;
  return deps != NULL && g_strv_contains ((const char *const *) deps, name);
}

/* Stopping everything: a service goes once nothing still running depends on it. */
static void
stop_next_wave (TendServiceManager *self)
{
  for (guint i = 0; i < self->services->len; i++) {
    TendService *service = g_ptr_array_index (self->services, i);
    gboolean needed = FALSE;

    if (g_hash_table_contains (self->asked_to_stop, service))
      continue;
    for (guint j = 0; j < self->services->len && !needed; j++) {
      TendService *other = g_ptr_array_index (self->services, j);
      needed = other != service && !tend_service_is_idle (other) && depends_on (other, tend_service_get_name (service));
    }
    if (!needed) {
      g_hash_table_add (self->asked_to_stop, service);
      tend_service_stop (service);
    }
  }
}

static void
retry_waiting (TendServiceManager *self)
{
  for (guint i = 0; i < self->services->len; i++) {
    GPtrArray *instances = tend_service_get_instances (g_ptr_array_index (self->services, i));
    for (guint j = 0; j < instances->len; j++)
      tend_instance_retry_start (g_ptr_array_index (instances, j));
  }
}

/* Runs from an idle: a state change is reported from inside the instance that changed. */
static void
check_pending_cb (gpointer user_data)
{
  TendServiceManager *self = user_data;

  self->check_source = 0;
  if (self->ordered_stop) {
    stop_next_wave (self);
    if (self->stop_tasks->len == 0 && g_hash_table_size (self->asked_to_stop) == self->services->len) {
      /* every service got its stop: `stop all` is done asking */
      self->ordered_stop = FALSE;
      g_hash_table_remove_all (self->asked_to_stop);
    }
  } else {
    retry_waiting (self);
  }
  for (guint i = 0; i < self->removing->len;) {
    TendService *service = g_ptr_array_index (self->removing, i);
    if (tend_service_is_idle (service)) {
      drop_service (self, service);
      g_ptr_array_remove_index (self->removing, i);
    } else {
      i++;
    }
  }
  if (self->stop_tasks->len > 0 && all_idle (self)) {
    g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->stop_tasks);
    self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
    g_hash_table_remove_all (self->asked_to_stop);
    for (guint i = 0; i < tasks->len; i++)
      g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
  }
}

static gboolean
any_waiting (TendServiceManager *self)
{
  for (guint i = 0; i < self->services->len; i++) {
    GPtrArray *instances = tend_service_get_instances (g_ptr_array_index (self->services, i));
    for (guint j = 0; j < instances->len; j++) {
      if (tend_instance_is_waiting_for_dependencies (g_ptr_array_index (instances, j)))
        return TRUE;
    }
  }
  return FALSE;
}

static void
schedule_check (TendServiceManager *self)
{
  if (self->check_source == 0 &&
      (self->removing->len > 0 || self->stop_tasks->len > 0 || self->ordered_stop || any_waiting (self)))
    self->check_source = g_idle_add_once (check_pending_cb, self);
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
  schedule_check (TEND_SERVICE_MANAGER (user_data));
}

static void
tend_service_manager_dispose (GObject *object)
{
  TendServiceManager *self = TEND_SERVICE_MANAGER (object);

  g_clear_handle_id (&self->check_source, g_source_remove);
  if (self->state_handler != 0 && self->context != NULL)
    g_signal_handler_disconnect (self->context, self->state_handler);
  self->state_handler = 0;
  G_OBJECT_CLASS (tend_service_manager_parent_class)->dispose (object);
}

static void
tend_service_manager_finalize (GObject *object)
{
  TendServiceManager *self = TEND_SERVICE_MANAGER (object);

  g_ptr_array_unref (self->services);
  g_ptr_array_unref (self->removing);
  g_ptr_array_unref (self->stop_tasks);
  g_hash_table_unref (self->by_name);
  g_hash_table_unref (self->asked_to_stop);
  G_OBJECT_CLASS (tend_service_manager_parent_class)->finalize (object);
}

static void
tend_service_manager_class_init (TendServiceManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tend_service_manager_dispose;
  object_class->finalize = tend_service_manager_finalize;
}

static void
tend_service_manager_init (TendServiceManager *self)
{
  self->services = g_ptr_array_new_with_free_func (g_object_unref);
  self->removing = g_ptr_array_new_with_free_func (g_object_unref);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  /* the keys are copies: a reload replaces a service's config, and with it the name's memory */
  self->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->asked_to_stop = g_hash_table_new (NULL, NULL);
}

TendServiceManager *
tend_service_manager_new (TendContext *context)
{
  TendServiceManager *self = g_object_new (TEND_TYPE_SERVICE_MANAGER, NULL);

  self->context = context;
  self->state_handler = g_signal_connect (context, "service-state-changed", G_CALLBACK (state_changed_cb), self);
  return self;
}

TendService *
tend_service_manager_lookup (TendServiceManager *self, const char *name)
{
  return g_hash_table_lookup (self->by_name, name);
}

guint
tend_service_manager_allocate_id (TendServiceManager *self)
{
  return self->next_id++;
}

TendService *
tend_service_manager_add (TendServiceManager *self, TendServiceConfig *config, GError **error)
{
  TendService *service;

  if (g_hash_table_contains (self->by_name, config->name)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "a service named %s already exists", config->name);
    return NULL;
  }
  service = tend_service_new (self->context, config);
  g_ptr_array_add (self->services, service);
  g_hash_table_insert (self->by_name, g_strdup (tend_service_get_name (service)), service);
  g_list_model_items_changed (G_LIST_MODEL (self), self->services->len - 1, 0, 1);
  tend_context_emit_service_added (self->context, service);
  return service;
}

gboolean
tend_service_manager_remove (TendServiceManager *self, const char *name, GError **error)
{
  TendService *service = g_hash_table_lookup (self->by_name, name);

  if (service == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_NOT_FOUND, "no service named %s", name);
    return FALSE;
  }
  g_hash_table_remove (self->by_name, name);
  g_ptr_array_add (self->removing, g_object_ref (service));
  tend_service_stop (service);
  schedule_check (self);
  return TRUE;
}

void
tend_service_manager_apply_config (TendServiceManager *self, TendConfig *config, gboolean start_new)
{
  GPtrArray *configs = tend_config_get_services (config);
  g_autoptr(GPtrArray) vanished = g_ptr_array_new ();

  for (guint i = 0; i < self->services->len; i++) {
    TendService *service = g_ptr_array_index (self->services, i);
    const char *name = tend_service_get_name (service);

    if (!tend_service_get_ad_hoc (service) && tend_service_get_owner (service) == NULL &&
        g_hash_table_lookup (self->by_name, name) == service &&
        tend_config_lookup_service (config, name) == NULL)
      g_ptr_array_add (vanished, (gpointer) name);
  }
  for (guint i = 0; i < vanished->len; i++) {
    g_message ("%s: removed from the configuration, stopping", (const char *) g_ptr_array_index (vanished, i));
    tend_service_manager_remove (self, g_ptr_array_index (vanished, i), NULL);
  }

  for (guint i = 0; i < configs->len; i++) {
    TendServiceConfig *service_config = g_ptr_array_index (configs, i);
    TendService *service = tend_service_manager_lookup (self, service_config->name);

    if (service != NULL && tend_service_get_owner (service) != NULL) {
      g_warning ("%s: [service:%s] is ignored: the %s plugin runs a service of that name", service_config->name,
                 service_config->name, tend_service_get_owner (service));
      continue;
    }
    if (service != NULL) {
      /* a configured service takes over an ad hoc one of the same name */
      tend_service_set_ad_hoc (service, FALSE);
      tend_service_update_config (service, service_config);
      continue;
    }
    service = tend_service_manager_add (self, service_config, NULL);
    if (start_new && service_config->start)
      tend_service_start (service);
  }
}


void
tend_service_manager_stop_all_async (TendServiceManager *self,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tend_service_manager_stop_all_async);
  g_ptr_array_add (self->stop_tasks, task);
  self->ordered_stop = TRUE;
  /* independent services all get their signal now, so their kill-timeouts run in parallel */
  stop_next_wave (self);
  schedule_check (self);
}

gboolean
tend_service_manager_stop_all_finish (TendServiceManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
act_on (TendServiceManager *self, TendService *service, const char *action, const char *reason, GError **error)
{
  if (g_str_equal (action, "start"))
    tend_service_start (service);
  else if (g_str_equal (action, "stop"))
    tend_service_stop (service);
  else if (g_str_equal (action, "restart"))
    tend_service_restart (service, reason != NULL ? reason : "restart requested");
  else if (g_str_equal (action, "delete"))
    return tend_service_manager_remove (self, tend_service_get_name (service), error);
  else {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "unknown action %s", action);
    return FALSE;
  }
  return TRUE;
}

gboolean
tend_service_manager_act (TendServiceManager *self, const char *name, const char *action, const char *reason, GError **error)
{
  TendService *service;

  if (g_strcmp0 (name, "all") == 0 && g_str_equal (action, "stop")) {
    /* dependents first, as at shutdown */
    self->ordered_stop = TRUE;
    stop_next_wave (self);
    schedule_check (self);
    return TRUE;
  }
  if (self->ordered_stop && self->stop_tasks->len == 0 && !g_str_equal (action, "stop")) {
    /* a start or restart overrides a `stop all` still under way */
    self->ordered_stop = FALSE;
    g_hash_table_remove_all (self->asked_to_stop);
  }
  if (g_strcmp0 (name, "all") == 0) {
    g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
    /* the services being removed are not in by_name: they are no longer addressable */
    for (guint i = 0; i < self->services->len; i++) {
      TendService *s = g_ptr_array_index (self->services, i);
      if (g_hash_table_lookup (self->by_name, tend_service_get_name (s)) == s)
        g_ptr_array_add (all, g_object_ref (s));
    }
    for (guint i = 0; i < all->len; i++) {
      if (!act_on (self, g_ptr_array_index (all, i), action, reason, error))
        return FALSE;
    }
    return TRUE;
  }
  service = tend_service_manager_lookup (self, name);
  if (service == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_NOT_FOUND, "no service named %s", name);
    return FALSE;
  }
  return act_on (self, service, action, reason, error);
}

char *
tend_service_manager_describe_unmet_dependencies (TendServiceManager *self, TendService *service)
{
  char **deps = tend_service_get_config (service)->depends_on;
  g_autoptr(GString) waiting = NULL;

  for (guint i = 0; deps != NULL && deps[i] != NULL; i++) {
    TendService *dep = tend_service_manager_lookup (self, deps[i]);
    TendServiceState state = dep != NULL ? tend_service_get_state (dep) : TEND_SERVICE_STATE_STOPPED;

    if (dep != NULL && state == TEND_SERVICE_STATE_ONLINE)
      continue;
    if (waiting == NULL)
      waiting = g_string_new ("waiting for ");
    else
      g_string_append (waiting, ", ");
    g_string_append_printf (waiting, "%s (%s)", deps[i], dep != NULL ? tend_service_state_to_string (state) : "not defined");
  }
  return waiting != NULL ? g_string_free (g_steal_pointer (&waiting), FALSE) : NULL;
}
