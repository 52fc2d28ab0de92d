/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The restart policy of TendInstance, alone: a fake process backend (the test
 * decides when a "process" exits and how) and a fake clock (minutes of
 * backoff in no time). No process is spawned and nothing sleeps: each test
 * checks that no real GLib source was attached while it ran.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "tend-clock.h"
#include "tend-context-private.h"
#include "tend-error.h"
#include "tend-instance.h"
#include "tend-process-backend.h"
#include "tend-service-manager.h"
#include "tend-service-private.h"
#include "tend-service.h"

#define EXIT_CODE(n) ((n) << 8) /* a wait status */

/* ---- a clock that moves only when told ---- */

typedef struct {
  guint id;
  gint64 due_us;
  GSourceOnceFunc func;
  gpointer data;
} FakeTimeout;

#define FAKE_TYPE_CLOCK (fake_clock_get_type ())
G_DECLARE_FINAL_TYPE (FakeClock, fake_clock, FAKE, CLOCK, TendClock)

struct _FakeClock {
  TendClock parent_instance;
  gint64 now_us;
  guint next_id;
  GPtrArray *pending; /* FakeTimeout, in the order they were added */
};

G_DEFINE_FINAL_TYPE (FakeClock, fake_clock, TEND_TYPE_CLOCK)

static gint64
fake_now_us (TendClock *clock)
{
  return FAKE_CLOCK (clock)->now_us;
}

static guint
fake_add_timeout (TendClock *clock, guint ms, GSourceOnceFunc func, gpointer data)
{
  FakeClock *self = FAKE_CLOCK (clock);
  FakeTimeout *timeout = g_new0 (FakeTimeout, 1);

  timeout->id = ++self->next_id;
  timeout->due_us = self->now_us + (gint64) ms * 1000;
  timeout->func = func;
  timeout->data = data;
  g_ptr_array_add (self->pending, timeout);
  return timeout->id;
}

static guint
fake_add_idle (TendClock *clock, GSourceOnceFunc func, gpointer data)
{
  return fake_add_timeout (clock, 0, func, data);
}

static void
fake_remove (TendClock *clock, guint id)
{
  FakeClock *self = FAKE_CLOCK (clock);

  for (guint i = 0; i < self->pending->len; i++) {
    FakeTimeout *timeout = g_ptr_array_index (self->pending, i);
    if (timeout->id == id) {
      g_ptr_array_remove_index (self->pending, i);
      return;
    }
  }
  g_error ("removed a timeout that is not pending: %u", id);
}

static void
fake_clock_finalize (GObject *object)
{
  g_ptr_array_unref (FAKE_CLOCK (object)->pending);
  G_OBJECT_CLASS (fake_clock_parent_class)->finalize (object);
}

static void
fake_clock_class_init (FakeClockClass *klass)
{
  TendClockClass *clock_class = TEND_CLOCK_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = fake_clock_finalize;
  clock_class->now_us = fake_now_us;
  clock_class->add_timeout = fake_add_timeout;
  clock_class->add_idle = fake_add_idle;
  clock_class->remove = fake_remove;
}

static void
fake_clock_init (FakeClock *self)
{
  self->now_us = 1000 * G_USEC_PER_SEC;
  self->pending = g_ptr_array_new_with_free_func (g_free);
}

/* The earliest due timeout (the first added among equals), or -1. */
static int
fake_clock_next (FakeClock *self, gint64 until_us)
{
  int best = -1;

  for (guint i = 0; i < self->pending->len; i++) {
    FakeTimeout *timeout = g_ptr_array_index (self->pending, i);
    if (timeout->due_us <= until_us &&
        (best < 0 || timeout->due_us < ((FakeTimeout *) g_ptr_array_index (self->pending, best))->due_us))
      best = (int) i;
  }
  return best;
}

/* Moves time forward by @ms, firing what falls due in order, each at its own time. */
static void
fake_clock_advance (FakeClock *self, guint64 ms)
{
  gint64 until = self->now_us + (gint64) ms * 1000;
  int at;

  while ((at = fake_clock_next (self, until)) >= 0) {
    FakeTimeout *timeout = g_ptr_array_steal_index (self->pending, (guint) at);
    self->now_us = MAX (self->now_us, timeout->due_us);
    timeout->func (timeout->data);
    g_free (timeout);
  }
  self->now_us = until;
}

/* ---- a process backend that spawns nothing ---- */

#define FAKE_TYPE_BACKEND (fake_backend_get_type ())
G_DECLARE_FINAL_TYPE (FakeBackend, fake_backend, FAKE, BACKEND, GObject)

struct _FakeBackend {
  GObject parent_instance;
  FakeClock *clock;
  guint spawns;
  guint terminates;
  pid_t next_pid;
  GError *fail_spawn; /* the next spawns fail with this while set */
  gboolean hold_exit; /* terminate() leaves the process running (a slow kill) */
};

static void fake_backend_iface_init (TendProcessBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FakeBackend, fake_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PROCESS_BACKEND, fake_backend_iface_init))

static gboolean
fake_spawn (TendProcessBackend *backend, TendInstance *instance, GError **error)
{
  FakeBackend *self = FAKE_BACKEND (backend);

  if (self->fail_spawn != NULL) {
    g_propagate_error (error, g_error_copy (self->fail_spawn));
    return FALSE;
  }
  self->spawns++;
  /* the contract: started is reported before spawn returns */
  tend_instance_process_started (instance, self->next_pid++);
  return TRUE;
}

static gboolean
fake_send_signal (TendProcessBackend *backend, TendInstance *instance, int signum, GError **error)
{
  return TRUE;
}

static void
exit_by_sigterm_cb (gpointer data)
{
  TendInstance *instance = data;

  if (tend_instance_get_pid (instance) != 0)
    tend_instance_process_exited (instance, SIGTERM);
  g_object_unref (instance);
}

static void
fake_terminate (TendProcessBackend *backend, TendInstance *instance)
{
  FakeBackend *self = FAKE_BACKEND (backend);

  self->terminates++;
  /* the contract: the exit comes later, from the main loop */
  if (!self->hold_exit)
    tend_clock_add_idle (TEND_CLOCK (self->clock), exit_by_sigterm_cb, g_object_ref (instance));
}

static void
fake_backend_iface_init (TendProcessBackendInterface *iface)
{
  iface->spawn = fake_spawn;
  iface->send_signal = fake_send_signal;
  iface->terminate = fake_terminate;
}

static void
fake_backend_finalize (GObject *object)
{
  g_clear_error (&FAKE_BACKEND (object)->fail_spawn);
  G_OBJECT_CLASS (fake_backend_parent_class)->finalize (object);
}

static void
fake_backend_class_init (FakeBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_backend_finalize;
}

static void
fake_backend_init (FakeBackend *self)
{
  self->next_pid = 1000;
}

/* ---- the fixture ---- */

typedef struct {
  char *home;
  TendContext *context;
  FakeClock *clock;
  FakeBackend *backend;
  GString *transitions; /* "old>new " for every state change, in order */
  guint warnings;
  guint probe_id;
} Fixture;

static guint warnings_logged;

static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (level, fields, n_fields, user_data);
  if (level & G_LOG_LEVEL_WARNING)
    warnings_logged++;
  return G_LOG_WRITER_HANDLED;
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
  Fixture *fx = user_data;

  g_string_append_printf (fx->transitions, "%s>%s ", tend_service_state_to_string (old_state),
                          tend_service_state_to_string (new_state));
}

static void
probe_cb (gpointer data)
{
}

/* A source id from the real main context: ids are handed out in sequence. */
static guint
real_source_probe (void)
{
  guint id = g_idle_add_once (probe_cb, NULL);

  g_source_remove (id);
  return id;
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->home = g_dir_make_tmp ("tend-state-machine-XXXXXX", &error);
  g_assert_no_error (error);
  fx->context = tend_context_new (fx->home, &error);
  g_assert_no_error (error);
  fx->clock = g_object_new (FAKE_TYPE_CLOCK, NULL);
  tend_context_set_clock (fx->context, TEND_CLOCK (fx->clock));
  fx->backend = g_object_new (FAKE_TYPE_BACKEND, NULL);
  fx->backend->clock = fx->clock;
  tend_context_set_process_backend (fx->context, TEND_PROCESS_BACKEND (fx->backend));
  fx->transitions = g_string_new (NULL);
  g_signal_connect (fx->context, "service-state-changed", G_CALLBACK (state_changed_cb), fx);
  warnings_logged = 0;
  fx->probe_id = real_source_probe ();
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autofree char *logs = g_build_filename (fx->home, "logs", NULL);

  /* nothing of the policy ran on the real main loop: the next real source id is the one after the probe */
  g_assert_cmpuint (real_source_probe (), ==, fx->probe_id + 1);
  fake_clock_advance (fx->clock, 0); /* exits the backend still owes hold references */
  g_object_add_weak_pointer (G_OBJECT (fx->context), (gpointer *) &fx->context);
  g_object_unref (fx->context);
  g_assert_null (fx->context);
  g_object_add_weak_pointer (G_OBJECT (fx->clock), (gpointer *) &fx->clock);
  g_clear_object (&fx->backend);
  g_object_unref (fx->clock);
  g_assert_null (fx->clock);
  g_string_free (fx->transitions, TRUE);
  g_rmdir (logs);
  g_rmdir (fx->home);
  g_free (fx->home);
}

/* A config with every policy key explicit, so a change of default does not change what a test means.
 * Tests change a key of a running service in place (never done outside tests: configs are shared
 * read-only) to see the policy take it at the next decision. */
static TendServiceConfig *
make_config (const char *name)
{
  TendServiceConfig *config = tend_service_config_new (name);

  config->exec = g_strdup ("/bin/true");
  config->argv = g_strsplit ("/bin/true", " ", -1);
  config->autorestart = TEND_AUTORESTART_ALWAYS;
  config->max_restarts = 16;
  config->min_uptime_ms = 1000;
  config->restart_delay_ms = 0;
  config->exp_backoff_restart_delay_ms = 0;
  config->max_backoff_ms = 15000;
  return config;
}

static TendInstance *
add_service (Fixture *fx, TendServiceConfig *config)
{
  g_autoptr(GError) error = NULL;
  TendService *service = tend_service_manager_add (tend_context_get_manager (fx->context), config, &error);

  g_assert_no_error (error);
  fake_clock_advance (fx->clock, 0); /* the manager's first look at it */
  return g_ptr_array_index (tend_service_get_instances (service), 0);
}

static TendInstance *
add_started (Fixture *fx, TendServiceConfig *config)
{
  TendInstance *instance = add_service (fx, config);

  tend_instance_start (instance);
  g_assert_cmpint (tend_instance_get_state (instance), ==, TEND_SERVICE_STATE_ONLINE);
  return instance;
}

static void
assert_state (TendInstance *instance, TendServiceState state)
{
  g_assert_cmpstr (tend_service_state_to_string (tend_instance_get_state (instance)), ==,
                   tend_service_state_to_string (state));
}

/* The transitions since the last call, e.g. "online>waiting-restart waiting-restart>online". */
static void
assert_transitions (Fixture *fx, const char *expected)
{
  g_autofree char *seen = g_strchomp (g_strdup (fx->transitions->str));

  g_assert_cmpstr (seen, ==, expected);
  g_string_truncate (fx->transitions, 0);
}

/* Runs for @ms, then exits with @wait_status. */
static void
live_and_exit (Fixture *fx, TendInstance *instance, guint64 ms, int wait_status)
{
  fake_clock_advance (fx->clock, ms);
  g_assert_cmpint (tend_instance_get_pid (instance), !=, 0);
  tend_instance_process_exited (instance, wait_status);
}

/* ---- the tests ---- */

static void
test_start_stop (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance = add_service (fx, config);

  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpint (tend_instance_get_pid (instance), ==, 1000);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  tend_instance_start (instance); /* idempotent */
  g_assert_cmpuint (fx->backend->spawns, ==, 1);

  tend_instance_stop (instance);
  assert_state (instance, TEND_SERVICE_STATE_STOPPING);
  g_assert_cmpuint (fx->backend->terminates, ==, 1);
  fake_clock_advance (fx->clock, 0);
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  g_assert_cmpint (tend_instance_get_pid (instance), ==, 0);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 0);
  g_assert_false (tend_instance_get_wants_running (instance));
  assert_transitions (fx, "stopped>online online>stopping stopping>stopped");
  tend_instance_stop (instance); /* idempotent */
  g_assert_cmpuint (fx->backend->terminates, ==, 1);
}

static void
test_start_while_stopping (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance = add_started (fx, config);

  fx->backend->hold_exit = TRUE;
  tend_instance_stop (instance);
  tend_instance_stop (instance);
  g_assert_cmpuint (fx->backend->terminates, ==, 1);
  tend_instance_start (instance); /* wanted again: starts once the old process is gone */
  assert_state (instance, TEND_SERVICE_STATE_STOPPING);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  tend_instance_process_exited (instance, SIGTERM);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 2);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 0);
  assert_transitions (fx, "stopped>online online>stopping stopping>online");
}

static void
test_readiness (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->ready_check = g_strdup ("tcp:127.0.0.1:1");
  tend_context_set_readiness_provider (fx->context, TRUE);
  instance = add_service (fx, config);
  tend_instance_set_ready (instance); /* not running: nothing to be ready */
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);

  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_LAUNCHING);
  g_assert_cmpint (tend_instance_get_pid (instance), !=, 0);
  fake_clock_advance (fx->clock, 60000); /* launching lasts until it is ready, however long */
  assert_state (instance, TEND_SERVICE_STATE_LAUNCHING);
  tend_instance_set_ready (instance);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  tend_instance_set_ready (instance);
  assert_transitions (fx, "stopped>launching launching>online");

  /* a crash before it is ready: waiting-restart, then launching again */
  live_and_exit (fx, instance, 2000, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_LAUNCHING);
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  assert_transitions (fx, "online>waiting-restart waiting-restart>launching launching>waiting-restart "
                          "waiting-restart>launching");

  /* stopped while launching */
  tend_instance_stop (instance);
  fake_clock_advance (fx->clock, 0);
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  assert_transitions (fx, "launching>stopping stopping>stopped");
}

static void
test_readiness_without_provider (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  /* nobody checks the ready rule: online at once rather than stuck in launching */
  config->notify = TRUE;
  instance = add_service (fx, config);
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  assert_transitions (fx, "stopped>online");
}

static void
test_restart_delay (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->restart_delay_ms = 2000;
  instance = add_started (fx, config);
  live_and_exit (fx, instance, 5000, EXIT_CODE (3));
  assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 2000);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 1);
  g_assert_cmpstr (tend_instance_get_last_restart_reason (instance), ==, "exited with code 3");
  fake_clock_advance (fx->clock, 1999);
  assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  fake_clock_advance (fx->clock, 1);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 2);
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 0);
  assert_transitions (fx, "stopped>online online>waiting-restart waiting-restart>online");
}

/* tend update: a pending restart crosses the exec with the time it had left, not a new full delay */
static void
test_restart_delay_saved (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  g_autoptr(TendServiceConfig) copy_config = make_config ("copy");
  g_autoptr(GVariant) state = NULL;
  TendInstance *instance, *copy;

  config->restart_delay_ms = 2000;
  copy_config->restart_delay_ms = 2000;
  instance = add_started (fx, config);
  live_and_exit (fx, instance, 5000, EXIT_CODE (3));
  fake_clock_advance (fx->clock, 1500);
  state = g_variant_ref_sink (tend_instance_save_state (instance));
  tend_instance_stop (instance);
  /* what the next program does: the same state in a new instance, no spawn */
  copy = add_service (fx, copy_config);
  tend_instance_restore_state (copy, state);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  assert_state (copy, TEND_SERVICE_STATE_WAITING_RESTART);
  g_assert_cmpuint (tend_instance_get_restarts (copy), ==, 1);
  g_assert_cmpuint (tend_instance_get_id (copy), ==, tend_instance_get_id (instance));
  g_assert_cmpstr (tend_instance_get_last_restart_reason (copy), ==, "exited with code 3");
  fake_clock_advance (fx->clock, 499);
  assert_state (copy, TEND_SERVICE_STATE_WAITING_RESTART);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  fake_clock_advance (fx->clock, 1);
  assert_state (copy, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 2);
}

static void
test_restart_immediately (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance = add_started (fx, config);

  /* restart-delay=0 and a run longer than min-uptime: respawned within the exit */
  live_and_exit (fx, instance, 1500, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 2);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 1);
  g_assert_cmpint (tend_instance_get_pid (instance), ==, 1001);
  assert_transitions (fx, "stopped>online online>waiting-restart waiting-restart>online");
}

static void
test_max_restarts (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;
  int status = 0;

  config->max_restarts = 3;
  config->min_uptime_ms = 1000;
  config->restart_delay_ms = 500;
  instance = add_started (fx, config);

  /* a run that outlives min-uptime is stable: it resets the count of unstable runs */
  for (guint i = 0; i < 3; i++) {
    live_and_exit (fx, instance, 999, EXIT_CODE (1));
    fake_clock_advance (fx->clock, 500);
  }
  live_and_exit (fx, instance, 1000, EXIT_CODE (1));
  fake_clock_advance (fx->clock, 500);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 4);

  /* max-restarts=3 unstable runs are restarted; the fourth gives up */
  for (guint i = 0; i < 3; i++) {
    live_and_exit (fx, instance, 10, EXIT_CODE (1));
    assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
    fake_clock_advance (fx->clock, 500);
    assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  }
  g_string_truncate (fx->transitions, 0);
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  assert_transitions (fx, "online>errored");
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 7);
  g_assert_nonnull (strstr (tend_instance_get_status_message (instance), "gave up after 3 unstable restarts"));
  g_assert_true (tend_instance_get_last_exit (instance, &status));
  g_assert_cmpint (status, ==, EXIT_CODE (1));
  g_assert_cmpuint (warnings_logged, ==, 1);
  fake_clock_advance (fx->clock, 3600 * 1000);
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  g_assert_cmpuint (fx->backend->spawns, ==, 8);

  /* errored → online by an operator's start, with a fresh count */
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  for (guint i = 0; i < 3; i++) {
    live_and_exit (fx, instance, 10, EXIT_CODE (1));
    fake_clock_advance (fx->clock, 500);
  }
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);

  /* errored → stopped by an operator's stop */
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  g_string_truncate (fx->transitions, 0);
  tend_instance_stop (instance);
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  assert_transitions (fx, "errored>stopped");
}

static void
test_backoff (Fixture *fx, gconstpointer data)
{
  static const guint64 expected[] = { 100, 150, 225, 337, 505, 757, 1000, 1000 };
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->exp_backoff_restart_delay_ms = 100;
  config->max_backoff_ms = 1000;
  config->max_restarts = 100;
  instance = add_started (fx, config);

  /* ×1.5 per unstable restart, capped by max-backoff */
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    live_and_exit (fx, instance, 200, EXIT_CODE (1));
    g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, expected[i]);
    fake_clock_advance (fx->clock, expected[i] - 1);
    assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
    fake_clock_advance (fx->clock, 1);
    assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  }

  /* a run that outlived min-uptime but not 30 s keeps the current delay */
  live_and_exit (fx, instance, 29000, EXIT_CODE (1));
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 1000);
  fake_clock_advance (fx->clock, 1000);

  /* 30 s online resets it */
  live_and_exit (fx, instance, 30000, EXIT_CODE (1));
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 100);
  fake_clock_advance (fx->clock, 100);
  live_and_exit (fx, instance, 200, EXIT_CODE (1));
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 150);
  fake_clock_advance (fx->clock, 150);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
}

static void
test_backoff_under_restart_delay (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->exp_backoff_restart_delay_ms = 100;
  config->restart_delay_ms = 400;
  instance = add_started (fx, config);
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 400);
  fake_clock_advance (fx->clock, 400);
  for (guint i = 0; i < 3; i++) {
    live_and_exit (fx, instance, 10, EXIT_CODE (1));
    g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 400);
    fake_clock_advance (fx->clock, 400);
  }
  /* restart-delay is the floor under the backoff: 100 ×1.5⁴ = 505 now exceeds it */
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 505);
}

static void
test_spin_guard (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  /* no delay and no min-uptime: nothing else keeps a program that dies at once from spinning a core */
  config->min_uptime_ms = 0;
  config->restart_delay_ms = 0;
  instance = add_started (fx, config);
  for (guint i = 0; i < 3; i++) {
    live_and_exit (fx, instance, 0, EXIT_CODE (1));
    assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  }
  g_assert_cmpuint (fx->backend->spawns, ==, 4);
  live_and_exit (fx, instance, 99, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 100);
  fake_clock_advance (fx->clock, 99);
  g_assert_cmpuint (fx->backend->spawns, ==, 4);
  fake_clock_advance (fx->clock, 1);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  live_and_exit (fx, instance, 0, EXIT_CODE (1));
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 100);
  fake_clock_advance (fx->clock, 100);

  /* a run of 100 ms is not quick: the guard lets go */
  live_and_exit (fx, instance, 100, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 6);
}

typedef struct {
  TendAutorestart mode;
  int wait_status;
  gboolean restarted;
  gboolean still_wanted;
} AutorestartCase;

static void
test_autorestart (Fixture *fx, gconstpointer data)
{
  static const AutorestartCase cases[] = {
    { TEND_AUTORESTART_ALWAYS, EXIT_CODE (0), TRUE, TRUE },
    { TEND_AUTORESTART_ALWAYS, EXIT_CODE (2), TRUE, TRUE },
    { TEND_AUTORESTART_ALWAYS, SIGKILL, TRUE, TRUE },
    { TEND_AUTORESTART_ON_FAILURE, EXIT_CODE (0), FALSE, FALSE },
    { TEND_AUTORESTART_ON_FAILURE, EXIT_CODE (2), TRUE, TRUE },
    { TEND_AUTORESTART_ON_FAILURE, SIGKILL, TRUE, TRUE },
    { TEND_AUTORESTART_NEVER, EXIT_CODE (0), FALSE, FALSE },
    { TEND_AUTORESTART_NEVER, EXIT_CODE (2), FALSE, TRUE },
    { TEND_AUTORESTART_NEVER, SIGKILL, FALSE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *name = g_strdup_printf ("app%u", i);
    g_autoptr(TendServiceConfig) config = make_config (name);
    TendInstance *instance;
    guint spawns;

    g_test_message ("case %u", i);
    config->autorestart = cases[i].mode;
    instance = add_started (fx, config);
    spawns = fx->backend->spawns;
    g_string_truncate (fx->transitions, 0);
    live_and_exit (fx, instance, 5000, cases[i].wait_status);
    fake_clock_advance (fx->clock, 60000);
    if (cases[i].restarted) {
      assert_state (instance, TEND_SERVICE_STATE_ONLINE);
      g_assert_cmpuint (fx->backend->spawns, ==, spawns + 1);
      g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 1);
      assert_transitions (fx, "online>waiting-restart waiting-restart>online");
    } else {
      assert_state (instance, TEND_SERVICE_STATE_STOPPED);
      g_assert_cmpuint (fx->backend->spawns, ==, spawns);
      g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 0);
      assert_transitions (fx, "online>stopped");
    }
    g_assert_cmpint (tend_instance_get_wants_running (instance), ==, cases[i].still_wanted);
  }
}

static void
test_stop_cancels_restart (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->restart_delay_ms = 5000;
  instance = add_started (fx, config);
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
  tend_instance_stop (instance);
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  fake_clock_advance (fx->clock, 60000);
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  g_assert_cmpuint (fx->backend->terminates, ==, 0);
  g_assert_cmpuint (fx->clock->pending->len, ==, 0);
  assert_transitions (fx, "stopped>online online>waiting-restart waiting-restart>stopped");

  /* a start in waiting-restart does not wait for the delay */
  tend_instance_start (instance);
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 3);
  fake_clock_advance (fx->clock, 60000);
  g_assert_cmpuint (fx->backend->spawns, ==, 3);
}

static void
test_exit_while_not_wanted (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance = add_started (fx, config);

  /* the daemon is shutting down: nothing restarts */
  tend_context_emit_shutting_down (fx->context);
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_STOPPED);
  fake_clock_advance (fx->clock, 60000);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  tend_instance_start (instance);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  assert_transitions (fx, "stopped>online online>stopped");
}

static void
test_restart_counting (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->restart_delay_ms = 1000;
  config->max_restarts = 0;
  instance = add_started (fx, config);

  /* online: stop, then start again; counted once */
  tend_instance_restart (instance, "operator");
  assert_state (instance, TEND_SERVICE_STATE_STOPPING);
  tend_instance_restart (instance, "operator"); /* already on its way: not counted again */
  fake_clock_advance (fx->clock, 0);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 1);
  g_assert_cmpstr (tend_instance_get_last_restart_reason (instance), ==, "operator");
  assert_transitions (fx, "stopped>online online>stopping stopping>online");

  /* stopped: a restart all the same, and counted (PM2 counts it); a start is not */
  tend_instance_stop (instance);
  fake_clock_advance (fx->clock, 0);
  tend_instance_restart (instance, "operator");
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 2);
  tend_instance_stop (instance);
  fake_clock_advance (fx->clock, 0);
  tend_instance_start (instance);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 2);

  /* errored: counted */
  live_and_exit (fx, instance, 10, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  tend_instance_restart (instance, "operator");
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 3);

  /* waiting-restart: the crash was counted already; the restart comes now, not after the delay */
  config->max_restarts = 5;
  live_and_exit (fx, instance, 2000, EXIT_CODE (1));
  assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 4);
  tend_instance_restart (instance, "operator");
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 4);
  fake_clock_advance (fx->clock, 0); /* the manager's look at the changes */
  g_assert_cmpuint (fx->clock->pending->len, ==, 0);
}

static void
test_spawn_failure (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance = add_service (fx, config);

  fx->backend->fail_spawn = g_error_new (TEND_ERROR, TEND_ERROR_SPAWN, "no such file: /nope");
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  g_assert_cmpstr (tend_instance_get_status_message (instance), ==, "cannot start: no such file: /nope");
  g_assert_cmpuint (warnings_logged, ==, 1);
  fake_clock_advance (fx->clock, 3600 * 1000);
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  assert_transitions (fx, "stopped>errored");

  /* it can be fixed and started again */
  g_clear_error (&fx->backend->fail_spawn);
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);

  /* a restart that cannot execute any more: waiting-restart → errored */
  config->restart_delay_ms = 100;
  live_and_exit (fx, instance, 5000, EXIT_CODE (1));
  fx->backend->fail_spawn = g_error_new (TEND_ERROR, TEND_ERROR_SPAWN, "permission denied");
  fake_clock_advance (fx->clock, 100);
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  assert_transitions (fx, "errored>online online>waiting-restart waiting-restart>errored");
}

static void
test_spawn_resource_failure (Fixture *fx, gconstpointer data)
{
  static const guint64 expected[] = { 1000, 1500, 2250, 3000, 3000 };
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance;

  config->max_backoff_ms = 3000;
  instance = add_service (fx, config);
  /* the system, not the program, is short of something: try again, later and later, never errored */
  fx->backend->fail_spawn = g_error_new (TEND_ERROR, TEND_ERROR_RESOURCE, "too many open files");
  tend_instance_start (instance);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    assert_state (instance, TEND_SERVICE_STATE_WAITING_RESTART);
    g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, expected[i]);
    fake_clock_advance (fx->clock, expected[i]);
  }
  g_assert_cmpuint (warnings_logged, ==, 1); /* logged at the first refusal only */
  g_assert_nonnull (strstr (tend_instance_get_status_message (instance), "too many open files"));
  g_assert_cmpuint (tend_instance_get_restarts (instance), ==, 0);
  g_clear_error (&fx->backend->fail_spawn);
  fake_clock_advance (fx->clock, 3000);
  assert_state (instance, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 1);
  assert_transitions (fx, "stopped>waiting-restart waiting-restart>online");

  /* a successful start resets the retry delay; restart-delay is its floor */
  tend_instance_stop (instance);
  fake_clock_advance (fx->clock, 0);
  fx->backend->fail_spawn = g_error_new (TEND_ERROR, TEND_ERROR_RESOURCE, "fork: resource temporarily unavailable");
  tend_instance_start (instance);
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 1000);
  tend_instance_stop (instance);
  config->restart_delay_ms = 2000;
  tend_instance_start (instance);
  g_assert_cmpuint (tend_instance_get_next_restart_delay (instance), ==, 2000);
}

static void
test_no_backend (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) config = make_config ("app");
  TendInstance *instance = add_service (fx, config);

  tend_context_set_process_backend (fx->context, NULL);
  tend_instance_start (instance);
  assert_state (instance, TEND_SERVICE_STATE_ERRORED);
  g_assert_nonnull (strstr (tend_instance_get_status_message (instance), "no process backend"));
}

static void
test_dependencies (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendServiceConfig) db_config = make_config ("db");
  g_autoptr(TendServiceConfig) app_config = make_config ("app");
  TendInstance *db;
  TendInstance *app;

  app_config->depends_on = g_strsplit ("db", " ", -1);
  db = add_service (fx, db_config);
  app = add_service (fx, app_config);

  /* held in launching, without a process, until db is online */
  tend_instance_start (app);
  assert_state (app, TEND_SERVICE_STATE_LAUNCHING);
  g_assert_true (tend_instance_is_waiting_for_dependencies (app));
  g_assert_cmpint (tend_instance_get_pid (app), ==, 0);
  g_assert_cmpstr (tend_instance_get_status_message (app), ==, "waiting for db (stopped)");
  tend_instance_restart (app, "operator"); /* still waiting: nothing changes */
  assert_state (app, TEND_SERVICE_STATE_LAUNCHING);
  g_assert_cmpuint (fx->backend->spawns, ==, 0);

  /* a stop while waiting: nothing to kill */
  tend_instance_stop (app);
  assert_state (app, TEND_SERVICE_STATE_STOPPED);
  g_assert_cmpuint (fx->backend->terminates, ==, 0);
  tend_instance_start (app);
  assert_state (app, TEND_SERVICE_STATE_LAUNCHING);

  /* db online: the manager starts app from its next look (an idle on the clock) */
  tend_instance_start (db);
  assert_state (app, TEND_SERVICE_STATE_LAUNCHING);
  fake_clock_advance (fx->clock, 0);
  assert_state (app, TEND_SERVICE_STATE_ONLINE);
  g_assert_cmpuint (fx->backend->spawns, ==, 2);
  assert_transitions (fx, "stopped>launching launching>stopped stopped>launching stopped>online launching>online");
}

/* The generated GTypes (what D-Bus and property notifications carry) name the states as the contract does. */
static void
test_enum_nicks (void)
{
  g_autoptr(GEnumClass) states = g_type_class_ref (TEND_TYPE_SERVICE_STATE);
  g_autoptr(GEnumClass) modes = g_type_class_ref (TEND_TYPE_AUTORESTART);

  g_assert_cmpuint (states->n_values, ==, 6);
  for (guint i = 0; i < states->n_values; i++)
    g_assert_cmpstr (states->values[i].value_nick, ==, tend_service_state_to_string (states->values[i].value));
  g_assert_cmpuint (modes->n_values, ==, 3);
  for (guint i = 0; i < modes->n_values; i++) {
    TendAutorestart parsed;
    g_assert_true (tend_autorestart_from_string (modes->values[i].value_nick, &parsed));
    g_assert_cmpint (parsed, ==, modes->values[i].value);
  }
}

int
main (int argc, char **argv)
{
  gint64 began = g_get_monotonic_time ();
  int status;

  g_test_init (&argc, &argv, NULL);
  /* the policy warns (cannot start, gave up): the tests count those warnings instead of dying of them */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (quiet_writer, NULL, NULL);

#define ADD(path, func) g_test_add ("/state-machine/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("start-stop", test_start_stop);
  ADD ("start-while-stopping", test_start_while_stopping);
  ADD ("readiness", test_readiness);
  ADD ("readiness-without-provider", test_readiness_without_provider);
  ADD ("restart-delay", test_restart_delay);
  ADD ("restart-delay-saved", test_restart_delay_saved);
  ADD ("restart-immediately", test_restart_immediately);
  ADD ("min-uptime-max-restarts", test_max_restarts);
  ADD ("backoff", test_backoff);
  ADD ("backoff-under-restart-delay", test_backoff_under_restart_delay);
  ADD ("spin-guard", test_spin_guard);
  ADD ("autorestart", test_autorestart);
  ADD ("stop-cancels-restart", test_stop_cancels_restart);
  ADD ("shutting-down", test_exit_while_not_wanted);
  ADD ("restart-counting", test_restart_counting);
  ADD ("spawn-failure", test_spawn_failure);
  ADD ("spawn-resource-failure", test_spawn_resource_failure);
  ADD ("no-backend", test_no_backend);
  ADD ("dependencies", test_dependencies);
#undef ADD
  g_test_add_func ("/state-machine/enum-nicks", test_enum_nicks);

  status = g_test_run ();
  g_test_message ("ran in %" G_GINT64_FORMAT " ms of real time", (g_get_monotonic_time () - began) / 1000);
  return status;
}
