/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-context.h"
#include "tend-error.h"
#include "tend-service-manager.h"
#include "tend-config-private.h"
#include "tend-context-private.h"
#include "tend-service-private.h"

struct _TendServiceManager {
  GObject parent_instance;

  TendContext *context; /* owns us */
  GPtrArray *services;  /* TendService, the model's items, in order of addition */
  GHashTable *by_name;  /* name → TendService, without those being removed */
  GHashTable *removing; /* TendService (a reference) stopping before it is dropped */
  GPtrArray *stop_tasks; /* GTask waiting for every service to be idle */
  GHashTable *asked_to_stop; /* TendService, while stopping everything */
  gboolean ordered_stop;      /* stopping everything, dependents first (stop all, shutdown) */
  guint next_id;
  guint check_source;
  gulong state_handler;

  /*
   * With 100,000 services nothing may walk every service on every state
   * change: a check looks at the services that changed and, through an index
   * by name, at those that depend on them or that they depend on.
   */
  GHashTable *changed;    /* TendService (a reference) whose state changed since the last check */
  GHashTable *busy;       /* TendService that were not idle at their last change */
  GHashTable *recheck;    /* TendService, while stopping everything: a dependent of it went idle */
  GHashTable *dependents; /* name → GPtrArray of the TendService whose depends-on names it */
  GHashTable *named;      /* name → GPtrArray of the TendService of that name (one being removed too) */
  gboolean full_wave;     /* stopping everything begins: look at every service once */
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

/* ---------------------------------------------------------------------- */
/* The index by name */

static void
multimap_add (GHashTable *map, const char *name, TendService *service)
{
  GPtrArray *list = g_hash_table_lookup (map, name);

  if (list == NULL) {
    list = g_ptr_array_new ();
    g_hash_table_insert (map, g_strdup (name), list);
  }
  g_ptr_array_add (list, service);
}

static void
multimap_remove (GHashTable *map, const char *name, TendService *service)
{
  GPtrArray *list = g_hash_table_lookup (map, name);

  if (list != NULL && g_ptr_array_remove_fast (list, service) && list->len == 0)
    g_hash_table_remove (map, name);
}

/* kept up to date service by service: a rebuild on every change would be quadratic again */
static void
index_add (TendServiceManager *self, TendService *service, TendServiceConfig *config)
{
  multimap_add (self->named, config->name, service);
  for (guint i = 0; config->depends_on != NULL && config->depends_on[i] != NULL; i++)
    multimap_add (self->dependents, config->depends_on[i], service);
}

static void
index_remove (TendServiceManager *self, TendService *service, TendServiceConfig *config)
{
  multimap_remove (self->named, config->name, service);
  for (guint i = 0; config->depends_on != NULL && config->depends_on[i] != NULL; i++)
    multimap_remove (self->dependents, config->depends_on[i], service);
}

/* ---------------------------------------------------------------------- */
/* Checks, from an idle */

static gboolean
all_idle (TendServiceManager *self)
{
  if (g_hash_table_size (self->busy) > 0)
    return FALSE;
  /* the busy set follows state changes; one full look before declaring everything idle */
  for (guint i = 0; i < self->services->len; i++) {
    TendService *service = g_ptr_array_index (self->services, i);
    if (!tend_service_is_idle (service))
      g_hash_table_add (self->busy, service);
  }
  return g_hash_table_size (self->busy) == 0;
}

/* Removes the services of @dropping from the model in one pass, not with a memmove each. */
static void
drop_services (TendServiceManager *self, GHashTable *dropping)
{
  g_autoptr(GPtrArray) dropped = g_ptr_array_new_with_free_func (g_object_unref);
  guint old_len = self->services->len;
  guint first = old_len;
  guint kept = 0;

  if (g_hash_table_size (dropping) == 0)
    return;
  for (guint i = 0; i < old_len; i++) {
    TendService *service = g_ptr_array_index (self->services, i);

    if (g_hash_table_contains (dropping, service)) {
      first = MIN (first, i);
      g_ptr_array_add (dropped, service); /* takes over the model's reference */
      continue;
    }
    self->services->pdata[kept++] = service;
  }
  self->services->len = kept;
  for (guint i = 0; i < dropped->len; i++) {
    TendService *service = g_ptr_array_index (dropped, i);

    g_hash_table_remove (self->busy, service);
    g_hash_table_remove (self->recheck, service);
    g_hash_table_remove (self->asked_to_stop, service);
    g_hash_table_remove (self->changed, service);
    g_hash_table_remove (self->removing, service);
    index_remove (self, service, tend_service_get_config (service));
  }
  if (dropped->len == 0)
    return;
  g_list_model_items_changed (G_LIST_MODEL (self), first, old_len - first, kept - first);
  for (guint i = 0; i < dropped->len; i++)
    tend_context_emit_service_removed (self->context, g_ptr_array_index (dropped, i));
}

/* Stopping everything: a service goes once nothing still running depends on it. */
static void
try_stop (TendServiceManager *self, TendService *service)
{
  GPtrArray *dependents = g_hash_table_lookup (self->dependents, tend_service_get_name (service));

  if (g_hash_table_contains (self->asked_to_stop, service))
    return;
  for (guint i = 0; dependents != NULL && i < dependents->len; i++) {
    TendService *other = g_ptr_array_index (dependents, i);
    if (other != service && !tend_service_is_idle (other))
      return;
  }
  g_hash_table_add (self->asked_to_stop, service);
  tend_service_stop (service);
}

static void
stop_next_wave (TendServiceManager *self)
{
  g_autoptr(GHashTable) recheck = g_steal_pointer (&self->recheck);
  GHashTableIter iter;
  gpointer service;

  self->recheck = g_hash_table_new (NULL, NULL);
  if (self->full_wave) {
    self->full_wave = FALSE;
    for (guint i = 0; i < self->services->len; i++)
      try_stop (self, g_ptr_array_index (self->services, i));
    return;
  }
  g_hash_table_iter_init (&iter, recheck);
  while (g_hash_table_iter_next (&iter, &service, NULL))
    try_stop (self, service);
}

static void
retry_service (TendService *service)
{
  GPtrArray *instances = tend_service_get_instances (service);

  for (guint j = 0; j < instances->len; j++)
    tend_instance_retry_start (g_ptr_array_index (instances, j));
}

/* What @service's change means: it may unblock services waiting for it, or, going idle, its own dependencies. */
static void
note_change (TendServiceManager *self, TendService *service, GHashTable *dropping)
{
  gboolean idle = tend_service_is_idle (service);

  if (idle)
    g_hash_table_remove (self->busy, service);
  else
    g_hash_table_add (self->busy, service);
  if (idle && g_hash_table_contains (self->removing, service))
    g_hash_table_add (dropping, service);

  if (self->ordered_stop) {
    char **deps = tend_service_get_config (service)->depends_on;

    for (guint i = 0; idle && deps != NULL && deps[i] != NULL; i++) {
      GPtrArray *named = g_hash_table_lookup (self->named, deps[i]);
      for (guint j = 0; named != NULL && j < named->len; j++)
        g_hash_table_add (self->recheck, g_ptr_array_index (named, j));
    }
  } else {
    GPtrArray *dependents = g_hash_table_lookup (self->dependents, tend_service_get_name (service));

    /* itself too: its own depends-on may have changed */
    retry_service (service);
    for (guint i = 0; dependents != NULL && i < dependents->len; i++)
      retry_service (g_ptr_array_index (dependents, i));
  }
}

/* Runs from an idle: a state change is reported from inside the instance that changed. */
static void
check_pending_cb (gpointer user_data)
{
  TendServiceManager *self = user_data;
  g_autoptr(GHashTable) changed = g_steal_pointer (&self->changed);
  g_autoptr(GHashTable) dropping = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer service;

  self->check_source = 0;
  self->changed = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  g_hash_table_iter_init (&iter, changed);
  while (g_hash_table_iter_next (&iter, &service, NULL))
    note_change (self, service, dropping);

  if (self->ordered_stop) {
    stop_next_wave (self);
    if (self->stop_tasks->len == 0 && g_hash_table_size (self->asked_to_stop) == self->services->len) {
      /* every service got its stop: `stop all` is done asking */
      self->ordered_stop = FALSE;
      g_hash_table_remove_all (self->asked_to_stop);
      g_hash_table_remove_all (self->recheck);
    }
  }

  drop_services (self, dropping);
  if (self->stop_tasks->len > 0 && all_idle (self)) {
    g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->stop_tasks);
    self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
    g_hash_table_remove_all (self->asked_to_stop);
    for (guint i = 0; i < tasks->len; i++)
      g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
  }
}

static void
schedule_check (TendServiceManager *self)
{
  if (self->check_source == 0)
    self->check_source = tend_clock_add_idle (tend_context_get_clock (self->context), check_pending_cb, self);
}

static void
mark_changed (TendServiceManager *self, TendService *service)
{
  if (!g_hash_table_contains (self->changed, service))
    g_hash_table_add (self->changed, g_object_ref (service));
  schedule_check (self);
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
  mark_changed (TEND_SERVICE_MANAGER (user_data), service);
}

static void
tend_service_manager_dispose (GObject *object)
{
  TendServiceManager *self = TEND_SERVICE_MANAGER (object);

  tend_clock_clear (tend_context_get_clock (self->context), &self->check_source);
  if (self->state_handler != 0 && self->context != NULL)
    g_signal_handler_disconnect (self->context, self->state_handler);
  self->state_handler = 0;
  g_hash_table_remove_all (self->changed);
  G_OBJECT_CLASS (tend_service_manager_parent_class)->dispose (object);
}

static void
tend_service_manager_finalize (GObject *object)
{
  TendServiceManager *self = TEND_SERVICE_MANAGER (object);

  g_hash_table_unref (self->dependents);
  g_hash_table_unref (self->named);
  g_hash_table_unref (self->recheck);
  g_hash_table_unref (self->busy);
  g_hash_table_unref (self->changed);
  g_hash_table_unref (self->removing);
  g_ptr_array_unref (self->services);
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
  self->removing = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  /* the keys are copies: a reload replaces a service's config, and with it the name's memory */
  self->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->asked_to_stop = g_hash_table_new (NULL, NULL);
  self->changed = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->busy = g_hash_table_new (NULL, NULL);
  self->recheck = g_hash_table_new (NULL, NULL);
  self->dependents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->named = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
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

guint
tend_service_manager_get_next_id (TendServiceManager *self)
{
  return self->next_id;
}

void
tend_service_manager_set_next_id (TendServiceManager *self, guint next_id)
{
  self->next_id = MAX (self->next_id, next_id);
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
  index_add (self, service, config);
  /* what waits for this name may start now; while stopping everything, it is stopped too */
  if (self->ordered_stop)
    g_hash_table_add (self->recheck, service);
  mark_changed (self, service);
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
  g_hash_table_add (self->removing, g_object_ref (service));
  tend_service_stop (service);
  /* an idle service sends no state change: look at it anyway */
  mark_changed (self, service);
  return TRUE;
}

static TendServiceConfig *
lookup_config (const char *name, gpointer data)
{
  TendService *service = tend_service_manager_lookup (data, name);
  return service != NULL ? tend_service_get_config (service) : NULL;
}

GStrv
tend_service_manager_select (TendServiceManager *self, TendConfig *config, const char *const *only, GError **error)
{
  g_auto(GStrv) names = tend_config_select_services (config, only, lookup_config, self, error);

  for (guint i = 0; names != NULL && names[i] != NULL; i++) {
    TendService *service = tend_service_manager_lookup (self, names[i]);
    TendServiceConfig *service_config = tend_config_lookup_service (config, names[i]);

    /* the same refusal as the daemon's own configuration gets, but as an error: someone is waiting for the answer */
    if (service != NULL && tend_service_get_owner (service) != NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG,
                   "%s:%u: [service:%s]: the %s plugin runs a service of that name (choose another name)",
                   tend_config_get_path (config), service_config->source_line, names[i],
                   tend_service_get_owner (service));
      return NULL;
    }
  }
  return g_steal_pointer (&names);
}

void
tend_service_manager_update_service (TendServiceManager *self, TendService *service, TendServiceConfig *config)
{
  index_remove (self, service, tend_service_get_config (service));
  tend_service_update_config (service, config);
  index_add (self, service, tend_service_get_config (service));
  /* a changed depends-on may release an instance waiting for a service that is gone from it */
  mark_changed (self, service);
}

void
tend_service_manager_apply_config (TendServiceManager *self, TendConfig *config, gboolean start_new)
{
  tend_service_manager_apply_config_filtered (self, config, start_new, NULL, NULL);
}

void
tend_service_manager_apply_config_filtered (TendServiceManager *self,
                                            TendConfig *config,
                                            gboolean start_new,
                                            TendApplyFilter filter,
                                            gpointer data)
{
  GPtrArray *configs = tend_config_get_services (config);
  g_autoptr(GPtrArray) vanished = g_ptr_array_new ();

  for (guint i = 0; i < self->services->len; i++) {
    TendService *service = g_ptr_array_index (self->services, i);
    const char *name = tend_service_get_name (service);

    if (!tend_service_get_ad_hoc (service) && tend_service_get_owner (service) == NULL &&
        g_hash_table_lookup (self->by_name, name) == service &&
        (tend_config_lookup_service (config, name) == NULL ||
         (filter != NULL && filter (name, data) == TEND_APPLY_SKIP)))
      g_ptr_array_add (vanished, (gpointer) name);
  }
  for (guint i = 0; i < vanished->len; i++) {
    g_message ("%s: removed from the configuration, stopping", (const char *) g_ptr_array_index (vanished, i));
    tend_service_manager_remove (self, g_ptr_array_index (vanished, i), NULL);
  }

  for (guint i = 0; i < configs->len; i++) {
    TendServiceConfig *service_config = g_ptr_array_index (configs, i);
    TendService *service = tend_service_manager_lookup (self, service_config->name);
    TendApplyChoice choice = filter != NULL ? filter (service_config->name, data) : TEND_APPLY_DEFAULT;

    if (choice == TEND_APPLY_SKIP)
      continue;
    if (service != NULL && tend_service_get_owner (service) != NULL) {
      g_warning ("%s: [service:%s] is ignored: the %s plugin runs a service of that name", service_config->name,
                 service_config->name, tend_service_get_owner (service));
      continue;
    }
    if (service != NULL) {
      /* a configured service takes over an ad hoc one of the same name */
      tend_service_set_ad_hoc (service, FALSE);
      tend_service_manager_update_service (self, service, service_config);
      continue;
    }
    service = tend_service_manager_add (self, service_config, NULL);
    if (start_new && (choice == TEND_APPLY_START || (choice == TEND_APPLY_DEFAULT && service_config->start)))
      tend_service_start (service);
  }
}


static void
begin_ordered_stop (TendServiceManager *self)
{
  self->ordered_stop = TRUE;
  /* one whole wave: independent services all get their signal now, so their kill-timeouts run in parallel */
  self->full_wave = TRUE;
  stop_next_wave (self);
  schedule_check (self);
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
  begin_ordered_stop (self);
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
    begin_ordered_stop (self);
    return TRUE;
  }
  if (self->ordered_stop && self->stop_tasks->len == 0 && !g_str_equal (action, "stop")) {
    /* a start or restart overrides a `stop all` still under way */
    self->ordered_stop = FALSE;
    g_hash_table_remove_all (self->asked_to_stop);
    g_hash_table_remove_all (self->recheck);
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
