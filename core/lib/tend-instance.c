/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-env-file.h"
#include "tend-error.h"
#include "tend-instance.h"
#include "tend-log-capture.h"
#include "tend-parse.h"
#include "tend-service-info.h"
#include "tend-service-manager.h"
#include "tend-service.h"
#include "tend-context-private.h"
#include "tend-service-private.h"

/* PM2's rule: a run that lasted 30 s resets the exponential backoff. */
#define BACKOFF_RESET_MS 30000
/* A run shorter than this is a "quick exit"; several in a row engage the spin guard. */
#define QUICK_EXIT_MS 100
#define QUICK_EXITS_BEFORE_GUARD 3
#define SPIN_GUARD_DELAY_MS 100
/* A start refused for lack of a resource is tried again after this long at first, x1.5 each time. */
#define RESOURCE_RETRY_MS 1000

struct _TendInstance {
  GObject parent_instance;

  TendService *service; /* owns us */
  TendClock *clock;     /* the context's at creation: timeouts are removed where they were added */
  TendServiceConfig *config;
  guint index;
  guint id;

  TendServiceState state;
  gboolean wants_running;
  gboolean pending_start; /* start again once the current stop completes */
  pid_t pid;
  char *tag;
  char *cgroup; /* of the current run, when the backend made one */
  guint64 spawn_seq;
  gint64 spawn_monotonic;
  gint64 start_time;
  guint restarts;
  guint unstable;
  guint quick_exits;
  guint64 backoff_ms;
  guint64 resource_backoff_ms; /* starts refused for lack of a resource, in a row */
  guint64 next_delay_ms;
  gboolean has_exited;
  int last_wait_status;
  guint exits; /* ended on their own, not stopped by us */
  char *status_message;
  char *pending_reason;
  guint restart_source;
  gint64 restart_due_us; /* on the clock, while restart_source is armed: what tend update carries over */
  guint backoff_reset_source;
  gint64 backoff_reset_due_us;

  TendUsage usage;
  gboolean usage_known; /* measured during the current run by a plugin still sampling */
  char *last_restart_reason;
  char *notify_status;
  gboolean waiting_deps;
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_PID,
  PROP_RESTARTS,
  PROP_START_TIME,
  PROP_STATUS_MESSAGE,
  PROP_CPU_PERCENT,
  PROP_MEMORY_RSS,
  PROP_FIGURES_KNOWN,
  N_PROPS,
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (TendInstance, tend_instance, G_TYPE_OBJECT)

static void spawn_now (TendInstance *self);

static TendContext *
get_context (TendInstance *self)
{
  return tend_service_get_context (self->service);
}

/* Its own reference: a retired instance may outlive its service's context. */
static TendClock *
get_clock (TendInstance *self)
{
  return self->clock;
}

static void
tend_instance_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TendInstance *self = TEND_INSTANCE (object);

  switch (prop_id) {
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
  case PROP_STATUS_MESSAGE:
    g_value_set_string (value, self->status_message);
    break;
  case PROP_CPU_PERCENT:
    g_value_set_double (value, self->usage.cpu_percent);
    break;
  case PROP_MEMORY_RSS:
    g_value_set_uint64 (value, self->usage.memory_rss);
    break;
  case PROP_FIGURES_KNOWN:
    g_value_set_boolean (value, self->usage_known);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
tend_instance_dispose (GObject *object)
{
  TendInstance *self = TEND_INSTANCE (object);

  tend_clock_clear (get_clock (self), &self->restart_source);
  tend_clock_clear (get_clock (self), &self->backoff_reset_source);
  G_OBJECT_CLASS (tend_instance_parent_class)->dispose (object);
}

static void
tend_instance_finalize (GObject *object)
{
  TendInstance *self = TEND_INSTANCE (object);

  g_clear_pointer (&self->config, tend_service_config_unref);
  g_clear_object (&self->clock);
  g_free (self->tag);
  g_free (self->cgroup);
  g_free (self->status_message);
  g_free (self->pending_reason);
  g_free (self->last_restart_reason);
  g_free (self->notify_status);
  G_OBJECT_CLASS (tend_instance_parent_class)->finalize (object);
}

static void
tend_instance_class_init (TendInstanceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = tend_instance_get_property;
  object_class->dispose = tend_instance_dispose;
  object_class->finalize = tend_instance_finalize;

  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, TEND_TYPE_SERVICE_STATE, TEND_SERVICE_STATE_STOPPED,
                                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_PID] = g_param_spec_int ("pid", NULL, NULL, 0, G_MAXINT, 0,
                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_RESTARTS] = g_param_spec_uint ("restarts", NULL, NULL, 0, G_MAXUINT, 0,
                                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_START_TIME] = g_param_spec_int64 ("start-time", NULL, NULL, 0, G_MAXINT64, 0,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_STATUS_MESSAGE] = g_param_spec_string ("status-message", NULL, NULL, NULL,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_CPU_PERCENT] = g_param_spec_double ("cpu-percent", NULL, NULL, 0, G_MAXDOUBLE, 0,
                                                 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_MEMORY_RSS] = g_param_spec_uint64 ("memory-rss", NULL, NULL, 0, G_MAXUINT64, 0,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_FIGURES_KNOWN] = g_param_spec_boolean (
    "figures-known", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
tend_instance_init (TendInstance *self)
{
  self->state = TEND_SERVICE_STATE_STOPPED;
}

TendInstance *
tend_instance_new (TendService *service, guint index, guint id)
{
  TendInstance *self = g_object_new (TEND_TYPE_INSTANCE, NULL);

  self->service = service;
  self->clock = g_object_ref (tend_context_get_clock (tend_service_get_context (service)));
  self->index = index;
  self->id = id;
  self->config = tend_service_config_ref (tend_service_get_config (service));
  return self;
}

static void
notify_prop (TendInstance *self, guint prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
  tend_service_instance_changed (self->service, self, props[prop]);
}

static void
set_usage_known (TendInstance *self, gboolean known)
{
  if (self->usage_known == known)
    return;
  self->usage_known = known;
  notify_prop (self, PROP_FIGURES_KNOWN);
}

static void
set_status_message (TendInstance *self, const char *message)
{
  if (g_strcmp0 (self->status_message, message) == 0)
    return;
  g_free (self->status_message);
  self->status_message = g_strdup (message);
  notify_prop (self, PROP_STATUS_MESSAGE);
}

static void
set_state (TendInstance *self, TendServiceState state, const char *reason)
{
  TendServiceState old = self->state;

  if (old == state)
    return;
  self->state = state;
  g_debug ("%s[%u]: %s -> %s%s%s", tend_instance_get_name (self), self->index, tend_service_state_to_string (old),
           tend_service_state_to_string (state), reason ? ": " : "", reason ? reason : "");
  notify_prop (self, PROP_STATE);
  tend_context_emit_state_changed (get_context (self), self, old, state, reason);
}

/* The service aggregates it into its wants-running property: tendd keeps its state file by it. */
static void
set_wants_running (TendInstance *self, gboolean wants_running)
{
  if (self->wants_running == wants_running)
    return;
  self->wants_running = wants_running;
  tend_service_instance_changed (self->service, self, NULL);
}

static void
set_pid (TendInstance *self, pid_t pid)
{
  if (self->pid == pid)
    return;
  self->pid = pid;
  notify_prop (self, PROP_PID);
}

static void
count_restart (TendInstance *self, const char *reason)
{
  g_free (self->last_restart_reason);
  self->last_restart_reason = g_strdup (reason);
  self->restarts++;
  notify_prop (self, PROP_RESTARTS);
}

TendService *
tend_instance_get_service (TendInstance *self)
{
  return self->service;
}

TendServiceConfig *
tend_instance_get_config (TendInstance *self)
{
  return self->config;
}

void
tend_instance_set_config (TendInstance *self, TendServiceConfig *config)
{
  if (self->config == config)
    return;
  tend_service_config_unref (self->config);
  self->config = tend_service_config_ref (config);
}

const char *
tend_instance_get_name (TendInstance *self)
{
  return self->config->name;
}

guint
tend_instance_get_index (TendInstance *self)
{
  return self->index;
}

guint
tend_instance_get_id (TendInstance *self)
{
  return self->id;
}

TendServiceState
tend_instance_get_state (TendInstance *self)
{
  return self->state;
}

pid_t
tend_instance_get_pid (TendInstance *self)
{
  return self->pid;
}

guint
tend_instance_get_restarts (TendInstance *self)
{
  return self->restarts;
}

gint64
tend_instance_get_start_time (TendInstance *self)
{
  return self->start_time;
}

const char *
tend_instance_get_status_message (TendInstance *self)
{
  return self->status_message;
}

gboolean
tend_instance_get_last_exit (TendInstance *self, int *out_wait_status)
{
  if (out_wait_status != NULL)
    *out_wait_status = self->last_wait_status;
  return self->has_exited;
}

guint
tend_instance_get_exits (TendInstance *self)
{
  return self->exits;
}

guint64
tend_instance_get_next_restart_delay (TendInstance *self)
{
  return self->state == TEND_SERVICE_STATE_WAITING_RESTART ? self->next_delay_ms : 0;
}

gboolean
tend_instance_get_wants_running (TendInstance *self)
{
  return self->wants_running;
}

gboolean
tend_instance_is_idle (TendInstance *self)
{
  return self->pid == 0 && (self->state == TEND_SERVICE_STATE_STOPPED || self->state == TEND_SERVICE_STATE_ERRORED);
}

double
tend_instance_get_cpu_percent (TendInstance *self)
{
  return self->usage.cpu_percent;
}

guint64
tend_instance_get_memory_rss (TendInstance *self)
{
  return self->usage.memory_rss;
}

void
tend_instance_set_usage_full (TendInstance *self, const TendUsage *usage)
{
  gboolean cpu_changed = self->usage.cpu_percent != usage->cpu_percent;
  gboolean rss_changed = self->usage.memory_rss != usage->memory_rss;

  self->usage = *usage;
  if (cpu_changed)
    notify_prop (self, PROP_CPU_PERCENT);
  if (rss_changed)
    notify_prop (self, PROP_MEMORY_RSS);
  set_usage_known (self, TRUE);
}

void
tend_instance_clear_usage (TendInstance *self)
{
  gboolean cpu_changed = self->usage.cpu_percent != 0;
  gboolean rss_changed = self->usage.memory_rss != 0;

  self->usage = (TendUsage) { 0 };
  if (cpu_changed)
    notify_prop (self, PROP_CPU_PERCENT);
  if (rss_changed)
    notify_prop (self, PROP_MEMORY_RSS);
  set_usage_known (self, FALSE);
}

gboolean
tend_instance_get_figures_known (TendInstance *self)
{
  return self->usage_known;
}

const TendUsage *
tend_instance_get_usage (TendInstance *self)
{
  return &self->usage;
}

const char *
tend_instance_get_last_restart_reason (TendInstance *self)
{
  return self->last_restart_reason;
}

void
tend_instance_set_notify_status (TendInstance *self, const char *status)
{
  g_free (self->notify_status);
  self->notify_status = g_strdup (status);
}

const char *
tend_instance_get_notify_status (TendInstance *self)
{
  return self->notify_status;
}

gboolean
tend_instance_is_waiting_for_dependencies (TendInstance *self)
{
  return self->waiting_deps && self->pid == 0 && self->state == TEND_SERVICE_STATE_LAUNCHING;
}

const char *
tend_instance_get_tag (TendInstance *self)
{
  return self->tag;
}

void
tend_instance_set_cgroup (TendInstance *self, const char *dir)
{
  g_free (self->cgroup);
  self->cgroup = g_strdup (dir);
}

const char *
tend_instance_get_cgroup (TendInstance *self)
{
  return self->cgroup;
}

static char *
instance_path (const char *path, guint index)
{
  if (g_str_has_suffix (path, ".log"))
    return g_strdup_printf ("%.*s-%u.log", (int) (strlen (path) - 4), path, index);
  return g_strdup_printf ("%s-%u", path, index);
}

char *
tend_instance_get_log_path (TendInstance *self, int stream)
{
  const char *configured = stream == 1 ? self->config->out_file : self->config->error_file;
  g_autofree char *path = NULL;

  if (configured != NULL)
    path = g_strdup (configured);
  else
    path = g_strdup_printf ("%s/%s-%s.log", tend_context_get_logs_dir (get_context (self)), self->config->name,
                            stream == 1 ? "out" : "error");
  if (self->config->instances > 1 && !self->config->merge_logs)
    return instance_path (path, self->index);
  return g_steal_pointer (&path);
}

GStrv
tend_instance_build_environment (TendInstance *self, GError **error)
{
  TendServiceConfig *config = self->config;
  g_auto(GStrv) env = g_get_environ ();
  g_autofree char *index = g_strdup_printf ("%u", self->index);

  /* the daemon's own supervisor must not be told about our children's readiness; ours may */
  env = g_environ_unsetenv (env, "NOTIFY_SOCKET");
  if (config->notify) {
    /* a service run as another user cannot enter the home, where the usual socket is */
    const char *address = config->user != NULL ? tend_context_get_open_notify_socket (get_context (self)) : NULL;
    if (address == NULL)
      address = tend_context_get_notify_socket (get_context (self));
    if (address != NULL)
      env = g_environ_setenv (env, "NOTIFY_SOCKET", address, TRUE);
  }
  if (config->env_file != NULL) {
    g_auto(GStrv) file_env = NULL;
    /* with the rights of whose file it is, never root's for a user's link; lines never quoted */
    if (!tend_env_file_read (config, &file_env, error)) {
      g_prefix_error (error, "env-file: ");
      return NULL;
    }
    for (guint i = 0; file_env[i] != NULL; i++) {
      g_auto(GStrv) kv = g_strsplit (file_env[i], "=", 2);
      env = g_environ_setenv (env, kv[0], kv[1] ? kv[1] : "", TRUE);
    }
  }
  for (guint i = 0; config->env != NULL && config->env[i] != NULL; i++) {
    g_auto(GStrv) kv = g_strsplit (config->env[i], "=", 2);
    env = g_environ_setenv (env, kv[0], kv[1] ? kv[1] : "", TRUE);
  }
  env = g_environ_setenv (env, "TEND_INSTANCE", index, TRUE);
  env = g_environ_setenv (env, "NODE_APP_INSTANCE", index, TRUE);
  if (config->increment_var != NULL) {
    const char *base = g_environ_getenv (env, config->increment_var);
    guint64 value = 0;
    g_autofree char *text = NULL;

    if (base == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "increment-var %s is not set in the environment",
                   config->increment_var);
      return NULL;
    }
    if (!g_ascii_string_to_unsigned (base, 10, 0, G_MAXUINT32, &value, NULL)) {
      /* the value may be an env-file's secret and this message everyone's (status-message): named, not shown */
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "increment-var %s is not a number from 0 to 4294967295",
                   config->increment_var);
      return NULL;
    }
    text = g_strdup_printf ("%" G_GUINT64_FORMAT, value + self->index);
    env = g_environ_setenv (env, config->increment_var, text, TRUE);
  }
  env = g_environ_setenv (env, "TEND_SUPERVISOR_TAG", self->tag, TRUE);
  return g_steal_pointer (&env);
}

void
tend_instance_attach_output (TendInstance *self, int stdout_fd, int stderr_fd)
{
  if (stdout_fd >= 0) {
    g_autofree char *path = tend_instance_get_log_path (self, 1);
    tend_log_capture_start (self, 1, stdout_fd, path);
  }
  if (stderr_fd >= 0) {
    g_autofree char *path = tend_instance_get_log_path (self, 2);
    tend_log_capture_start (self, 2, stderr_fd, path);
  }
}

static gboolean
has_ready_rule (TendInstance *self)
{
  return (self->config->ready_check != NULL || self->config->notify) &&
         tend_context_get_readiness_provider (get_context (self));
}

gboolean
tend_instance_has_ready_rule (TendInstance *self)
{
  return has_ready_rule (self);
}

static void
backoff_reset_cb (gpointer user_data)
{
  TendInstance *self = user_data;

  self->backoff_reset_source = 0;
  self->backoff_ms = 0;
  self->unstable = 0;
}

static void
arm_backoff_reset (TendInstance *self, guint64 ms)
{
  self->backoff_reset_due_us = tend_clock_now_us (get_clock (self)) + (gint64) ms * 1000;
  self->backoff_reset_source =
    tend_clock_add_timeout (get_clock (self), (guint) MIN (ms, G_MAXUINT), backoff_reset_cb, self);
}

void
tend_instance_process_started (TendInstance *self, pid_t pid)
{
  self->start_time = g_get_real_time ();
  self->spawn_monotonic = tend_clock_now_us (get_clock (self));
  set_pid (self, pid);
  notify_prop (self, PROP_START_TIME);
  tend_clock_clear (get_clock (self), &self->backoff_reset_source);
  if (self->config->exp_backoff_restart_delay_ms > 0)
    arm_backoff_reset (self, BACKOFF_RESET_MS);
  set_status_message (self, NULL);
  g_clear_pointer (&self->notify_status, g_free);
  self->resource_backoff_ms = 0;
  /* a new run: nothing of it is measured yet */
  self->usage = (TendUsage) { 0 };
  set_usage_known (self, FALSE);
  set_state (self, has_ready_rule (self) ? TEND_SERVICE_STATE_LAUNCHING : TEND_SERVICE_STATE_ONLINE,
             self->pending_reason);
  g_clear_pointer (&self->pending_reason, g_free);
}

void
tend_instance_set_ready (TendInstance *self)
{
  if (self->state == TEND_SERVICE_STATE_LAUNCHING && self->pid != 0) {
    /* launching with a process, the message could only be why it was not ready yet */
    set_status_message (self, NULL);
    set_state (self, TEND_SERVICE_STATE_ONLINE, "ready");
  }
}

void
tend_instance_set_not_ready_reason (TendInstance *self, const char *reason)
{
  g_autofree char *message = NULL;

  if (self->state != TEND_SERVICE_STATE_LAUNCHING || self->pid == 0)
    return;
  if (reason != NULL)
    message = g_strdup_printf ("not ready: %s", reason);
  set_status_message (self, message);
}

static void
restart_timeout_cb (gpointer user_data)
{
  TendInstance *self = user_data;

  self->restart_source = 0;
  spawn_now (self);
}

static void
arm_restart (TendInstance *self, guint64 ms)
{
  self->restart_due_us = tend_clock_now_us (get_clock (self)) + (gint64) ms * 1000;
  self->restart_source =
    tend_clock_add_timeout (get_clock (self), (guint) MIN (ms, G_MAXUINT), restart_timeout_cb, self);
}

/* The system, not the program, is short of something (file descriptors, processes, memory): no
 * errored state and no unstable run counted, but the policy's delay, at least RESOURCE_RETRY_MS and
 * growing up to max-backoff while it lasts. Logged at the first refusal in a row. */
static void
retry_later (TendInstance *self, const char *reason)
{
  TendServiceConfig *config = self->config;
  g_autofree char *message = NULL;
  g_autofree char *delay_text = NULL;
  gboolean first = self->resource_backoff_ms == 0;

  if (first)
    self->resource_backoff_ms = RESOURCE_RETRY_MS;
  else
    self->resource_backoff_ms = MIN (self->resource_backoff_ms * 3 / 2, MAX (config->max_backoff_ms, RESOURCE_RETRY_MS));
  self->next_delay_ms = MAX (config->restart_delay_ms, self->resource_backoff_ms);
  delay_text = tend_format_duration (self->next_delay_ms);
  message = g_strdup_printf ("cannot start, a limit was reached (trying again in %s): %s", delay_text, reason);
  if (first)
    g_warning ("%s[%u]: %s", tend_instance_get_name (self), self->index, message);
  else
    g_debug ("%s[%u]: %s", tend_instance_get_name (self), self->index, message);
  set_pid (self, 0);
  set_status_message (self, message);
  set_state (self, TEND_SERVICE_STATE_WAITING_RESTART, message);
  arm_restart (self, self->next_delay_ms);
}

static void
spawn_now (TendInstance *self)
{
  TendContext *context = get_context (self);
  TendProcessBackend *backend = tend_context_get_process_backend (context);
  g_autoptr(GError) error = NULL;

  tend_clock_clear (get_clock (self), &self->restart_source);
  if (tend_context_get_shutting_down (context))
    return;
  {
    /* depends-on: hold the start, in launching, until every dependency is online */
    g_autofree char *waiting = tend_service_manager_describe_unmet_dependencies (tend_context_get_manager (context),
                                                                                 self->service);
    if (waiting != NULL) {
      self->waiting_deps = TRUE;
      set_status_message (self, waiting);
      set_state (self, TEND_SERVICE_STATE_LAUNCHING, waiting);
      return;
    }
    self->waiting_deps = FALSE;
  }
  if (backend == NULL) {
    set_status_message (self, "no process backend: no plugin that provides one is loaded (see tend plugins)");
    set_state (self, TEND_SERVICE_STATE_ERRORED, self->status_message);
    return;
  }
  self->spawn_seq++;
  g_free (self->tag);
  self->tag = g_strdup_printf ("%s/%d/%u/%" G_GUINT64_FORMAT, tend_context_get_home_tag (context), (int) getpid (),
                               self->id, self->spawn_seq);
  if (!tend_process_backend_spawn (backend, self, &error)) {
    g_autofree char *message = NULL;
    if (g_error_matches (error, TEND_ERROR, TEND_ERROR_RESOURCE)) {
      retry_later (self, error->message);
      return;
    }
    message = g_strdup_printf ("cannot start: %s", error->message);
    g_warning ("%s: %s", tend_instance_get_name (self), message);
    set_pid (self, 0);
    set_status_message (self, message);
    set_state (self, TEND_SERVICE_STATE_ERRORED, message);
  }
}



void
tend_instance_start (TendInstance *self)
{
  set_wants_running (self, TRUE);
  switch (self->state) {
  case TEND_SERVICE_STATE_ONLINE:
  case TEND_SERVICE_STATE_LAUNCHING:
    return;
  case TEND_SERVICE_STATE_STOPPING:
    self->pending_start = TRUE;
    return;
  case TEND_SERVICE_STATE_WAITING_RESTART:
  case TEND_SERVICE_STATE_STOPPED:
  case TEND_SERVICE_STATE_ERRORED:
  default:
    /* an operator's start is a fresh start: the crash history no longer applies */
    self->unstable = 0;
    self->quick_exits = 0;
    self->backoff_ms = 0;
    spawn_now (self);
  }
}

void
tend_instance_stop (TendInstance *self)
{
  TendProcessBackend *backend = tend_context_get_process_backend (get_context (self));

  set_wants_running (self, FALSE);
  self->pending_start = FALSE;
  tend_clock_clear (get_clock (self), &self->restart_source);
  if (self->pid == 0 && self->state == TEND_SERVICE_STATE_LAUNCHING) {
    /* only waiting for its dependencies: nothing to kill */
    self->waiting_deps = FALSE;
    set_state (self, TEND_SERVICE_STATE_STOPPED, "stop requested");
    return;
  }
  switch (self->state) {
  case TEND_SERVICE_STATE_ONLINE:
  case TEND_SERVICE_STATE_LAUNCHING:
    set_state (self, TEND_SERVICE_STATE_STOPPING, "stop requested");
    if (backend != NULL)
      tend_process_backend_terminate (backend, self);
    return;
  case TEND_SERVICE_STATE_WAITING_RESTART:
  case TEND_SERVICE_STATE_ERRORED:
    set_state (self, TEND_SERVICE_STATE_STOPPED, "stop requested");
    return;
  case TEND_SERVICE_STATE_STOPPING:
  case TEND_SERVICE_STATE_STOPPED:
  default:
    return;
  }
}

void
tend_instance_restart (TendInstance *self, const char *reason)
{
  TendProcessBackend *backend = tend_context_get_process_backend (get_context (self));

  set_wants_running (self, TRUE);
  g_free (self->pending_reason);
  self->pending_reason = g_strdup (reason);
  if (self->pid == 0 && self->state == TEND_SERVICE_STATE_LAUNCHING)
    return; /* still waiting for its dependencies: it starts when they are online */
  switch (self->state) {
  case TEND_SERVICE_STATE_ONLINE:
  case TEND_SERVICE_STATE_LAUNCHING:
    self->pending_start = TRUE;
    count_restart (self, reason);
    set_state (self, TEND_SERVICE_STATE_STOPPING, reason);
    if (backend != NULL)
      tend_process_backend_terminate (backend, self);
    return;
  case TEND_SERVICE_STATE_STOPPING:
    self->pending_start = TRUE;
    return;
  case TEND_SERVICE_STATE_STOPPED:
  case TEND_SERVICE_STATE_ERRORED:
    /* a restart all the same, as PM2 counts it (waiting-restart already counted its own) */
    count_restart (self, reason);
    tend_instance_start (self);
    return;
  default:
    tend_instance_start (self);
  }
}

static guint64
next_delay (TendInstance *self, gint64 lived_ms)
{
  TendServiceConfig *config = self->config;
  guint64 delay = config->restart_delay_ms;

  if (config->exp_backoff_restart_delay_ms > 0) {
    /* SPEC: x1.5 per unstable restart; a run that outlived min-uptime keeps the current delay */
    if (self->backoff_ms == 0)
      self->backoff_ms = config->exp_backoff_restart_delay_ms;
    else if ((guint64) lived_ms < config->min_uptime_ms)
      self->backoff_ms = MIN (self->backoff_ms * 3 / 2, config->max_backoff_ms);
    delay = MAX (delay, MIN (self->backoff_ms, config->max_backoff_ms));
  }
  /* Even with restart-delay=0 and min-uptime=0 a program that dies at once must not spin a core. */
  self->quick_exits = lived_ms < QUICK_EXIT_MS ? self->quick_exits + 1 : 0;
  if (self->quick_exits > QUICK_EXITS_BEFORE_GUARD)
    delay = MAX (delay, SPIN_GUARD_DELAY_MS);
  return delay;
}

void
tend_instance_process_exited (TendInstance *self, int wait_status)
{
  TendServiceConfig *config = self->config;
  TendContext *context = get_context (self);
  gint64 lived_ms = (tend_clock_now_us (get_clock (self)) - self->spawn_monotonic) / 1000;
  gboolean failed = !(WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0);
  g_autofree char *how = tend_service_info_describe_exit (wait_status);
  g_autofree char *message = NULL;
  g_autofree char *min_uptime = NULL;
  pid_t old_pid = self->pid;

  self->has_exited = TRUE;
  self->last_wait_status = wait_status;
  g_clear_pointer (&self->cgroup, g_free);
  tend_clock_clear (get_clock (self), &self->backoff_reset_source);
  set_pid (self, 0);
  /* SPEC: the start time of a process that is not running is 0 */
  self->start_time = 0;
  notify_prop (self, PROP_START_TIME);
  self->usage = (TendUsage) { 0 };
  notify_prop (self, PROP_CPU_PERCENT);
  notify_prop (self, PROP_MEMORY_RSS);
  /* no process, no figures: unknown, not zero */
  set_usage_known (self, FALSE);

  if (self->state == TEND_SERVICE_STATE_STOPPING) {
    set_status_message (self, how);
    if (self->pending_start && self->wants_running && !tend_context_get_shutting_down (context)) {
      self->pending_start = FALSE;
      spawn_now (self);
    } else {
      set_state (self, TEND_SERVICE_STATE_STOPPED, how);
    }
    return;
  }

  self->exits++;
  g_message ("%s[%u] (pid %d) %s after %" G_GINT64_FORMAT " ms", config->name, self->index, (int) old_pid, how,
             lived_ms);
  if (!self->wants_running || tend_context_get_shutting_down (context)) {
    set_status_message (self, how);
    set_state (self, TEND_SERVICE_STATE_STOPPED, how);
    return;
  }
  if (config->autorestart == TEND_AUTORESTART_NEVER ||
      (config->autorestart == TEND_AUTORESTART_ON_FAILURE && !failed)) {
    /* a clean exit is a wish to stop; a failure stays wanted, so health reports it DOWN */
    if (!failed)
      set_wants_running (self, FALSE);
    set_status_message (self, how);
    set_state (self, TEND_SERVICE_STATE_STOPPED, how);
    return;
  }

  self->unstable = (guint64) lived_ms < config->min_uptime_ms ? self->unstable + 1 : 0;
  if (self->unstable > config->max_restarts) {
    min_uptime = tend_format_duration (config->min_uptime_ms);
    message = g_strdup_printf ("%s; gave up after %u unstable restarts (each lived less than min-uptime %s)", how,
                               config->max_restarts, min_uptime);
    g_warning ("%s[%u]: %s", config->name, self->index, message);
    set_status_message (self, message);
    set_state (self, TEND_SERVICE_STATE_ERRORED, message);
    return;
  }

  self->next_delay_ms = next_delay (self, lived_ms);
  count_restart (self, how);
  set_status_message (self, how);
  set_state (self, TEND_SERVICE_STATE_WAITING_RESTART, how);
  if (self->next_delay_ms == 0)
    spawn_now (self);
  else
    arm_restart (self, self->next_delay_ms);
}

void
tend_instance_retry_start (TendInstance *self)
{
  if (tend_instance_is_waiting_for_dependencies (self) && self->wants_running)
    spawn_now (self);
}

/* ---- tend update ---- */

GVariant *
tend_instance_save_state (TendInstance *self)
{
  GVariantDict dict;
  gint64 now = tend_clock_now_us (get_clock (self));

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "u", self->id);
  g_variant_dict_insert (&dict, "index", "u", self->index);
  g_variant_dict_insert (&dict, "state", "i", (gint32) self->state);
  g_variant_dict_insert (&dict, "wants-running", "b", self->wants_running);
  g_variant_dict_insert (&dict, "pid", "i", (gint32) self->pid);
  if (self->tag != NULL)
    g_variant_dict_insert (&dict, "tag", "s", self->tag);
  if (self->cgroup != NULL)
    g_variant_dict_insert (&dict, "cgroup", "s", self->cgroup);
  g_variant_dict_insert (&dict, "spawn-seq", "t", self->spawn_seq);
  /* CLOCK_MONOTONIC goes on across an exec: instants are kept as they are */
  g_variant_dict_insert (&dict, "spawn-monotonic", "x", self->spawn_monotonic);
  g_variant_dict_insert (&dict, "start-time", "x", self->start_time);
  g_variant_dict_insert (&dict, "restarts", "u", self->restarts);
  g_variant_dict_insert (&dict, "unstable", "u", self->unstable);
  g_variant_dict_insert (&dict, "quick-exits", "u", self->quick_exits);
  /* tend start, waiting across an update, counts the exits since its call */
  g_variant_dict_insert (&dict, "exits", "u", self->exits);
  g_variant_dict_insert (&dict, "backoff-ms", "t", self->backoff_ms);
  g_variant_dict_insert (&dict, "resource-backoff-ms", "t", self->resource_backoff_ms);
  g_variant_dict_insert (&dict, "next-delay-ms", "t", self->next_delay_ms);
  g_variant_dict_insert (&dict, "has-exited", "b", self->has_exited);
  g_variant_dict_insert (&dict, "last-wait-status", "i", (gint32) self->last_wait_status);
  g_variant_dict_insert (&dict, "waiting-deps", "b", self->waiting_deps);
  if (self->status_message != NULL)
    g_variant_dict_insert (&dict, "status-message", "s", self->status_message);
  if (self->last_restart_reason != NULL)
    g_variant_dict_insert (&dict, "last-restart-reason", "s", self->last_restart_reason);
  if (self->notify_status != NULL)
    g_variant_dict_insert (&dict, "notify-status", "s", self->notify_status);
  if (self->restart_source != 0)
    g_variant_dict_insert (&dict, "restart-in-us", "x", MAX (self->restart_due_us - now, 0));
  if (self->backoff_reset_source != 0)
    g_variant_dict_insert (&dict, "backoff-reset-in-us", "x", MAX (self->backoff_reset_due_us - now, 0));
  return g_variant_dict_end (&dict);
}

static void
replace_string (char **field, GVariantDict *dict, const char *key)
{
  const char *text = NULL;

  if (!g_variant_dict_lookup (dict, key, "&s", &text))
    return;
  g_free (*field);
  *field = g_strdup (text);
}

void
tend_instance_restore_state (TendInstance *self, GVariant *state)
{
  GVariantDict dict;
  gint32 i32 = 0;
  gint64 in_us = 0;

  g_variant_dict_init (&dict, state);
  g_variant_dict_lookup (&dict, "id", "u", &self->id);
  if (g_variant_dict_lookup (&dict, "state", "i", &i32))
    self->state = (TendServiceState) i32;
  g_variant_dict_lookup (&dict, "wants-running", "b", &self->wants_running);
  if (g_variant_dict_lookup (&dict, "pid", "i", &i32))
    self->pid = i32;
  replace_string (&self->tag, &dict, "tag");
  replace_string (&self->cgroup, &dict, "cgroup");
  g_variant_dict_lookup (&dict, "spawn-seq", "t", &self->spawn_seq);
  g_variant_dict_lookup (&dict, "spawn-monotonic", "x", &self->spawn_monotonic);
  g_variant_dict_lookup (&dict, "start-time", "x", &self->start_time);
  g_variant_dict_lookup (&dict, "restarts", "u", &self->restarts);
  g_variant_dict_lookup (&dict, "unstable", "u", &self->unstable);
  g_variant_dict_lookup (&dict, "quick-exits", "u", &self->quick_exits);
  g_variant_dict_lookup (&dict, "exits", "u", &self->exits);
  g_variant_dict_lookup (&dict, "backoff-ms", "t", &self->backoff_ms);
  g_variant_dict_lookup (&dict, "resource-backoff-ms", "t", &self->resource_backoff_ms);
  g_variant_dict_lookup (&dict, "next-delay-ms", "t", &self->next_delay_ms);
  g_variant_dict_lookup (&dict, "has-exited", "b", &self->has_exited);
  if (g_variant_dict_lookup (&dict, "last-wait-status", "i", &i32))
    self->last_wait_status = i32;
  g_variant_dict_lookup (&dict, "waiting-deps", "b", &self->waiting_deps);
  replace_string (&self->status_message, &dict, "status-message");
  replace_string (&self->last_restart_reason, &dict, "last-restart-reason");
  replace_string (&self->notify_status, &dict, "notify-status");
  tend_clock_clear (get_clock (self), &self->restart_source);
  tend_clock_clear (get_clock (self), &self->backoff_reset_source);
  /* a pending restart keeps the time it had left, not a new full delay */
  if (g_variant_dict_lookup (&dict, "restart-in-us", "x", &in_us))
    arm_restart (self, (guint64) (in_us + 999) / 1000);
  if (g_variant_dict_lookup (&dict, "backoff-reset-in-us", "x", &in_us))
    arm_backoff_reset (self, (guint64) (in_us + 999) / 1000);
  g_variant_dict_clear (&dict);
  for (guint prop = PROP_STATE; prop < N_PROPS; prop++)
    notify_prop (self, prop);
}
