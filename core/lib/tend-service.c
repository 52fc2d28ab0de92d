/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-context.h"
#include "tend-service-manager.h"
#include "tend-service.h"
#include "tend-service-private.h"

struct _TendService {
  GObject parent_instance;

  TendContext *context; /* owns the manager that owns us */
  TendServiceConfig *config;
  GPtrArray *instances; /* TendInstance, by index */
  GPtrArray *retiring;  /* instances dropped by a reload, kept until their process is gone */
  gboolean ad_hoc;
  char *owner;
  gboolean claimed; /* the owner set it (not tend update's restore) */

  /* the aggregate figures, cached so that notify fires only on a real change */
  TendServiceState state;
  int pid;
  guint restarts;
  gint64 start_time;
  double cpu_percent;
  guint64 memory_rss;
  gboolean figures_known;
  gboolean wants_running;
};

enum {
  PROP_0,
  PROP_NAME,
  PROP_STATE,
  PROP_PID,
  PROP_RESTARTS,
  PROP_START_TIME,
  PROP_CPU_PERCENT,
  PROP_MEMORY_RSS,
  PROP_FIGURES_KNOWN,
  PROP_WANTS_RUNNING,
  N_PROPS,
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (TendService, tend_service, G_TYPE_OBJECT)

static void
tend_service_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TendService *self = TEND_SERVICE (object);

  switch (prop_id) {
  case PROP_NAME:
    g_value_set_string (value, self->config->name);
    break;
  case PROP_STATE:
    g_value_set_enum (value, self->state);
    break;
  case PROP_PID:
    g_value_set_int (value, self->pid);
    break;
  case PROP_RESTARTS:
    g_value_set_uint (value, self->restarts);
    break;
  case PROP_START_TIME:
    g_value_set_int64 (value, self->start_time);
    break;
  case PROP_CPU_PERCENT:
    g_value_set_double (value, self->cpu_percent);
    break;
  case PROP_MEMORY_RSS:
    g_value_set_uint64 (value, self->memory_rss);
    break;
  case PROP_FIGURES_KNOWN:
    g_value_set_boolean (value, self->figures_known);
    break;
  case PROP_WANTS_RUNNING:
    g_value_set_boolean (value, self->wants_running);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
tend_service_finalize (GObject *object)
{
  TendService *self = TEND_SERVICE (object);

  g_ptr_array_unref (self->instances);
  g_ptr_array_unref (self->retiring);
  g_clear_pointer (&self->config, tend_service_config_unref);
  g_free (self->owner);
  G_OBJECT_CLASS (tend_service_parent_class)->finalize (object);
}

static void
tend_service_class_init (TendServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = tend_service_get_property;
  object_class->finalize = tend_service_finalize;

  props[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, TEND_TYPE_SERVICE_STATE, TEND_SERVICE_STATE_STOPPED, flags);
  props[PROP_PID] = g_param_spec_int ("pid", NULL, NULL, 0, G_MAXINT, 0, flags);
  props[PROP_RESTARTS] = g_param_spec_uint ("restarts", NULL, NULL, 0, G_MAXUINT, 0, flags);
  props[PROP_START_TIME] = g_param_spec_int64 ("start-time", NULL, NULL, 0, G_MAXINT64, 0, flags);
  props[PROP_CPU_PERCENT] = g_param_spec_double ("cpu-percent", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  props[PROP_MEMORY_RSS] = g_param_spec_uint64 ("memory-rss", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  /* cpu-percent and memory-rss were measured (of at least one instance); else they mean unknown */
  props[PROP_FIGURES_KNOWN] = g_param_spec_boolean ("figures-known", NULL, NULL, FALSE, flags);
  /* any instance should run: what tendd's state file records */
  props[PROP_WANTS_RUNNING] = g_param_spec_boolean ("wants-running", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
tend_service_init (TendService *self)
{
  self->instances = g_ptr_array_new_with_free_func (g_object_unref);
  self->retiring = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
add_instances_up_to (TendService *self, guint count)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);

  while (self->instances->len < count) {
    guint id = tend_service_manager_allocate_id (manager);
    g_ptr_array_add (self->instances, tend_instance_new (self, self->instances->len, id));
  }
}

TendService *
tend_service_new (TendContext *context, TendServiceConfig *config)
{
  TendService *self = g_object_new (TEND_TYPE_SERVICE, NULL);

  self->context = context;
  self->config = tend_service_config_ref (config);
  add_instances_up_to (self, MAX (config->instances, 1));
  return self;
}

TendContext *
tend_service_get_context (TendService *self)
{
  return self->context;
}

const char *
tend_service_get_name (TendService *self)
{
  return self->config->name;
}

TendServiceConfig *
tend_service_get_config (TendService *self)
{
  return self->config;
}

GPtrArray *
tend_service_get_instances (TendService *self)
{
  return self->instances;
}

TendServiceState
tend_service_get_state (TendService *self)
{
  return self->state;
}

int
tend_service_get_pid (TendService *self)
{
  return self->pid;
}

guint
tend_service_get_restarts (TendService *self)
{
  return self->restarts;
}

gint64
tend_service_get_start_time (TendService *self)
{
  return self->start_time;
}

double
tend_service_get_cpu_percent (TendService *self)
{
  return self->cpu_percent;
}

guint64
tend_service_get_memory_rss (TendService *self)
{
  return self->memory_rss;
}

gboolean
tend_service_get_figures_known (TendService *self)
{
  return self->figures_known;
}

gboolean
tend_service_get_ad_hoc (TendService *self)
{
  return self->ad_hoc;
}

void
tend_service_set_ad_hoc (TendService *self, gboolean ad_hoc)
{
  self->ad_hoc = ad_hoc;
}

gboolean
tend_service_has_retiring (TendService *self)
{
  return self->retiring->len > 0;
}

void
tend_service_set_owner (TendService *self, const char *plugin_name)
{
  g_free (self->owner);
  self->owner = g_strdup (plugin_name);
  self->claimed = TRUE;
}

void
tend_service_restore_owner (TendService *self, const char *plugin_name)
{
  g_free (self->owner);
  self->owner = g_strdup (plugin_name);
  self->claimed = FALSE;
}

gboolean
tend_service_get_claimed (TendService *self)
{
  return self->claimed;
}

const char *
tend_service_get_owner (TendService *self)
{
  return self->owner;
}

gboolean
tend_service_get_wants_running (TendService *self)
{
  for (guint i = 0; i < self->instances->len; i++) {
    if (tend_instance_get_wants_running (g_ptr_array_index (self->instances, i)))
      return TRUE;
  }
  return FALSE;
}

gboolean
tend_service_is_idle (TendService *self)
{
  for (guint i = 0; i < self->instances->len; i++) {
    if (!tend_instance_is_idle (g_ptr_array_index (self->instances, i)))
      return FALSE;
  }
  return self->retiring->len == 0;
}

void
tend_service_start (TendService *self)
{
  for (guint i = 0; i < self->instances->len; i++)
    tend_instance_start (g_ptr_array_index (self->instances, i));
}

void
tend_service_stop (TendService *self)
{
  for (guint i = 0; i < self->instances->len; i++)
    tend_instance_stop (g_ptr_array_index (self->instances, i));
}

void
tend_service_restart (TendService *self, const char *reason)
{
  for (guint i = 0; i < self->instances->len; i++)
    tend_instance_restart (g_ptr_array_index (self->instances, i), reason);
}

void
tend_service_update_config (TendService *self, TendServiceConfig *config)
{
  gboolean was_running = tend_service_get_wants_running (self);
  guint count = MAX (config->instances, 1);
  guint at;

  if (tend_service_config_equal (self->config, config))
    return;
  tend_service_config_unref (self->config);
  self->config = tend_service_config_ref (config);

  while (self->instances->len > count) {
    TendInstance *extra = g_ptr_array_steal_index (self->instances, self->instances->len - 1);
    g_ptr_array_add (self->retiring, extra);
    tend_instance_stop (extra);
    /*
     * One that was idle already sends no state change, so nothing would drop
     * it from retiring, and the service would never be idle again (tend kill
     * waited for ever after a reload lowered instances of a stopped service).
     */
    if (tend_instance_is_idle (extra) && g_ptr_array_find (self->retiring, extra, &at))
      g_idle_add_once (g_object_unref, g_ptr_array_steal_index (self->retiring, at));
  }
  for (guint i = 0; i < self->instances->len; i++)
    tend_instance_set_config (g_ptr_array_index (self->instances, i), config);
  add_instances_up_to (self, count);
  g_message ("%s: configuration changed%s", config->name, was_running ? ", restarting" : "");
  if (was_running)
    tend_service_restart (self, "configuration changed");
  tend_service_instance_changed (self, NULL, NULL);
}

static int
state_urgency (TendServiceState state)
{
  switch (state) {
  case TEND_SERVICE_STATE_ERRORED:
    return 5;
  case TEND_SERVICE_STATE_WAITING_RESTART:
    return 4;
  case TEND_SERVICE_STATE_LAUNCHING:
    return 3;
  case TEND_SERVICE_STATE_STOPPING:
    return 2;
  case TEND_SERVICE_STATE_ONLINE:
    return 1;
  case TEND_SERVICE_STATE_STOPPED:
  default:
    return 0;
  }
}

void
tend_service_instance_changed (TendService *self, TendInstance *instance, GParamSpec *pspec)
{
  TendServiceState state = TEND_SERVICE_STATE_STOPPED;
  gboolean wants_running = tend_service_get_wants_running (self);
  guint restarts = 0;
  double cpu = 0;
  guint64 rss = 0;
  gboolean known = FALSE;
  TendInstance *first = g_ptr_array_index (self->instances, 0);
  int pid = tend_instance_get_pid (first);
  gint64 start_time = tend_instance_get_start_time (first);

  /* a retired instance that has finished its stop is dropped here */
  guint retired_at;

  /* A retired instance that finished its stop is dropped, later: we are inside its own call. */
  if (instance != NULL && tend_instance_is_idle (instance) && g_ptr_array_find (self->retiring, instance, &retired_at))
    g_idle_add_once (g_object_unref, g_ptr_array_steal_index (self->retiring, retired_at));

  for (guint i = 0; i < self->instances->len; i++) {
    TendInstance *inst = g_ptr_array_index (self->instances, i);
    TendServiceState s = tend_instance_get_state (inst);

    if (i == 0 || state_urgency (s) > state_urgency (state))
      state = s;
    restarts += tend_instance_get_restarts (inst);
    cpu += tend_instance_get_cpu_percent (inst);
    rss += tend_instance_get_memory_rss (inst);
    known = known || tend_instance_get_figures_known (inst);
  }

  g_object_freeze_notify (G_OBJECT (self));
  if (self->state != state) {
    self->state = state;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  }
  if (self->pid != pid) {
    self->pid = pid;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PID]);
  }
  if (self->restarts != restarts) {
    self->restarts = restarts;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RESTARTS]);
  }
  if (self->start_time != start_time) {
    self->start_time = start_time;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_START_TIME]);
  }
  if (self->cpu_percent != cpu) {
    self->cpu_percent = cpu;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CPU_PERCENT]);
  }
  if (self->memory_rss != rss) {
    self->memory_rss = rss;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MEMORY_RSS]);
  }
  if (self->figures_known != known) {
    self->figures_known = known;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FIGURES_KNOWN]);
  }
  if (self->wants_running != wants_running) {
    self->wants_running = wants_running;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WANTS_RUNNING]);
  }
  g_object_thaw_notify (G_OBJECT (self));
}
