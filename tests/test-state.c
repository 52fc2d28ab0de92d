/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * $TEND_HOME/state: the desired state survives tendd (kill -9, SIGTERM,
 * tend kill) and is applied over the configuration when tendd starts again.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "tend-test-daemon.h"

/* tend status --json (exit 0 asserted), parsed */
static JsonNode *
status_json (TendTestDaemon *d)
{
  const char *args[] = { "status", "--json", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  g_assert_cmpint (tend_test_run_cli_env (d, NULL, args, &out, NULL), ==, 0);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return node;
}

/* instance 0 of @name in @list, or NULL */
static JsonObject *
find_service (JsonNode *list, const char *name)
{
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0 && json_object_get_int_member (o, "index") == 0)
      return o;
  }
  return NULL;
}

/* the state of @name (a copy), NULL when tendd has no such service */
static char *
state_of (TendTestDaemon *d, const char *name)
{
  g_autoptr(JsonNode) list = status_json (d);
  JsonObject *o = find_service (list, name);

  return o != NULL ? g_strdup (json_object_get_string_member (o, "state")) : NULL;
}

static pid_t
pid_of (TendTestDaemon *d, const char *name)
{
  g_autoptr(JsonNode) list = status_json (d);
  JsonObject *o = find_service (list, name);

  g_assert_nonnull (o);
  return (pid_t) json_object_get_int_member (o, "pid");
}

typedef struct {
  TendTestDaemon *d;
  const char *name;
  const char *state;
} StateWait;

static gboolean
has_state (gpointer data)
{
  StateWait *w = data;
  g_autofree char *state = state_of (w->d, w->name);
  return g_strcmp0 (state, w->state) == 0;
}

static gboolean
wait_state (TendTestDaemon *d, const char *name, const char *state)
{
  StateWait w = { d, name, state };
  return tend_test_wait (has_state, &w, 20000);
}

static void
assert_state (TendTestDaemon *d, const char *name, const char *want)
{
  g_autofree char *state = state_of (d, name);
  g_assert_cmpstr (state, ==, want);
}

static void
cli_ok (TendTestDaemon *d, const char *arg, ...) G_GNUC_NULL_TERMINATED;

/* tend ARG... must exit 0 */
static void
cli_ok (TendTestDaemon *d, const char *arg, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  va_list ap;
  int status;

  va_start (ap, arg);
  for (const char *a = arg; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  status = tend_test_run_cli_env (d, NULL, (const char *const *) args->pdata, &out, &err);
  if (status != 0)
    g_test_message ("tend %s: %s%s", arg, out, err);
  g_assert_cmpint (status, ==, 0);
}

static gboolean
no_leftovers (gpointer data)
{
  g_autoptr(GArray) left = tend_test_daemon_leftovers (data);
  return left->len == 0;
}

/* kill -9 tendd; its services end with it (parent-death signal) */
static void
kill_daemon_hard (TendTestDaemon *d)
{
  g_assert_cmpint (kill (d->pid, SIGKILL), ==, 0);
  g_assert_true (tend_test_daemon_wait_exit (d, 10000));
  g_assert_true (tend_test_wait (no_leftovers, d, 10000));
}

static char *
read_state_file (TendTestDaemon *d)
{
  g_autofree char *path = g_build_filename (d->home, "state", NULL);
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

typedef struct {
  TendTestDaemon *d;
  const char *needle;
} FileWait;

static gboolean
state_file_has (gpointer data)
{
  FileWait *w = data;
  g_autofree char *text = read_state_file (w->d);
  return text != NULL && strstr (text, w->needle) != NULL;
}

#define SERVICES                                                                                                       \
  "[service:a]\nexec=sleep 2001\n\n[service:b]\nexec=sleep 2002\n\n"                                                  \
  "[service:crash]\nexec=@HELPERS@/crash.sh\nenv=RECORD=@DIR@/crash.rec\nmax-restarts=1\nmin-uptime=5s\n"

/* A configured service stopped on purpose stays stopped after kill -9, SIGTERM and tend kill; the others run. */
static void
test_stopped_stays_stopped (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  FileWait errored = { d, "errored=crash;" };
  pid_t pid_a;

  tend_test_daemon_write_config (d, SERVICES);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  g_assert_true (wait_state (d, "b", "online"));
  pid_a = pid_of (d, "a");
  cli_ok (d, "stop", "a", NULL);
  g_assert_true (tend_test_wait_pid_gone (pid_a, 10000));
  /* errored by policy is recorded as well */
  g_assert_true (wait_state (d, "crash", "errored"));
  g_assert_true (tend_test_wait (state_file_has, &errored, 10000));

  kill_daemon_hard (d);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "b", "online"));
  assert_state (d, "a", "stopped");
  g_assert_cmpint (pid_of (d, "a"), ==, 0);

  /* SIGTERM stops every service on its way out, but that is not what should run */
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "b", "online"));
  assert_state (d, "a", "stopped");

  /* nor is tend kill */
  cli_ok (d, "kill", NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, 20000));
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "b", "online"));
  assert_state (d, "a", "stopped");

  /* started again, it runs after the next kill -9 */
  cli_ok (d, "start", "a", NULL);
  kill_daemon_hard (d);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  g_assert_true (wait_state (d, "b", "online"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* Ad hoc services (tend start --name, tend start FILE) come back after kill -9, as they were. */
static void
test_ad_hoc_comes_back (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *apps = tend_test_daemon_path (d, "apps.conf");
  g_autofree char *out = NULL;
  g_autofree char *state = NULL;

  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);
  g_assert_true (g_file_set_contents (apps, "[service:from-file]\nexec=sleep 2013\nenv=X=1\n", -1, NULL));
  cli_ok (d, "start", "--name", "runs", "--env", "A=b", "--", "sleep", "2011", NULL);
  cli_ok (d, "start", "--name", "held", "--", "sleep", "2012", NULL);
  cli_ok (d, "stop", "held", NULL);
  cli_ok (d, "start", apps, NULL);

  kill_daemon_hard (d);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "runs", "online"));
  g_assert_true (wait_state (d, "from-file", "online"));
  assert_state (d, "held", "stopped");
  /* with their whole definition */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "runs", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "2011"));
  g_assert_nonnull (strstr (out, "A=b"));

  /* deleted, an ad hoc service is gone for good */
  cli_ok (d, "delete", "runs", NULL);
  kill_daemon_hard (d);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "from-file", "online"));
  state = state_of (d, "runs");
  g_assert_null (state);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* A configured service deleted with tend delete stays deleted (restart, reload) until tend start NAME. */
static void
test_deleted_stays_deleted (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *state = NULL;

  tend_test_daemon_write_config (d, SERVICES);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  cli_ok (d, "delete", "a", NULL);

  kill_daemon_hard (d);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "b", "online"));
  state = state_of (d, "a");
  g_assert_null (state);

  cli_ok (d, "reload", NULL);
  g_assert_true (wait_state (d, "b", "online"));
  state = state_of (d, "a");
  g_assert_null (state);

  /* tend start NAME takes it from the configuration again, and that is kept too */
  cli_ok (d, "start", "a", NULL);
  g_assert_true (wait_state (d, "a", "online"));
  kill_daemon_hard (d);
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* The state says whether a service runs; a changed configuration says what it is. */
static void
test_config_wins_definitions (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;

  tend_test_daemon_write_config (d, "[service:a]\nexec=sleep 2021\n\n[service:b]\nexec=sleep 2022\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  cli_ok (d, "stop", "a", NULL);
  cli_ok (d, "start", "--name", "c", "--", "sleep", "2023", NULL);
  kill_daemon_hard (d);

  /* a and c changed in the configuration (c is configured now) */
  tend_test_daemon_write_config (d, "[service:a]\nexec=sleep 2031\n\n[service:b]\nexec=sleep 2022\n\n"
                                    "[service:c]\nexec=sleep 2033\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "b", "online"));
  g_assert_true (wait_state (d, "c", "online"));
  assert_state (d, "a", "stopped");
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "a", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "sleep 2031"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "c", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "sleep 2033"));
  g_assert_null (strstr (out, "sleep 2023"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
daemon_gone (gpointer data)
{
  return !tend_test_pid_alive (GPOINTER_TO_INT (data));
}

/* An autostarted daemon (home's tend.conf) ended with tend kill; the pid it had is gone. */
static void
kill_autostarted (TendTestDaemon *d)
{
  pid_t pid = tend_test_daemon_read_pidfile (d);

  g_assert_cmpint (pid, >, 0);
  cli_ok (d, "kill", NULL);
  g_assert_true (tend_test_wait (daemon_gone, GINT_TO_POINTER (pid), 20000));
  tend_test_untrack_pid (pid);
  g_assert_true (tend_test_wait (no_leftovers, d, 10000));
}

static void
track_autostarted (TendTestDaemon *d)
{
  pid_t pid = tend_test_daemon_read_pidfile (d);

  g_assert_cmpint (pid, >, 0);
  tend_test_track_pid (pid);
}

/* The bug: tend save, tend kill, tend resurrect brought back online a configured service stopped at save time. */
static void
test_save_kill_resurrect (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *conf = g_build_filename (d->home, "tend.conf", NULL);

  g_assert_cmpint (g_mkdir_with_parents (d->home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, "[service:web]\nexec=sleep 2041\n\n[service:api]\nexec=sleep 2042\n", -1,
                                      NULL));
  /* autostarted on the home's tend.conf, as a user does it */
  cli_ok (d, "status", NULL);
  track_autostarted (d);
  g_assert_true (wait_state (d, "web", "online"));
  cli_ok (d, "stop", "web", NULL);
  cli_ok (d, "save", NULL);
  kill_autostarted (d);

  cli_ok (d, "resurrect", NULL);
  track_autostarted (d);
  g_assert_true (wait_state (d, "api", "online"));
  assert_state (d, "web", "stopped");
  g_assert_cmpint (pid_of (d, "web"), ==, 0);

  /* started after the save: resurrect brings back the snapshot, where it was stopped */
  cli_ok (d, "start", "web", NULL);
  kill_autostarted (d);
  cli_ok (d, "resurrect", NULL);
  track_autostarted (d);
  g_assert_true (wait_state (d, "api", "online"));
  g_assert_true (wait_state (d, "web", "stopped"));
  kill_autostarted (d);
}

/* A damaged state: a clear warning with file and line, the configuration applies, the file is kept as state.bad. */
static void
test_damaged_state (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *path = g_build_filename (d->home, "state", NULL);
  g_autofree char *bad = g_build_filename (d->home, "state.bad", NULL);
  g_autofree char *kept = NULL;
  g_autofree char *text = NULL;
  g_autofree char *want = NULL;
  const char *damaged = "[service:x]\nexec=sleep 2051\nno-such-key=1\n\n[tend-state]\nversion=1\nrunning=x\n"
                        "stopped=a\n";
  FileWait rewritten = { d, "[tend-state]" };

  g_assert_cmpint (g_mkdir_with_parents (d->home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, damaged, -1, NULL));
  tend_test_daemon_write_config (d, "[service:a]\nexec=sleep 2052\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  text = state_of (d, "x");
  g_assert_null (text);
  want = g_strdup_printf ("%s:3:", path);
  g_assert_true (tend_test_daemon_log_contains (d, want));
  g_assert_true (tend_test_daemon_log_contains (d, bad));
  g_assert_true (g_file_get_contents (bad, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, damaged);
  /* and a good state is written in its place */
  g_assert_true (tend_test_wait (state_file_has, &rewritten, 10000));
  g_clear_pointer (&text, g_free);
  text = read_state_file (d);
  g_assert_nonnull (strstr (text, "running=a;"));

  /* a truncated file (no [tend-state] at its end) is damaged too */
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_assert_true (g_file_set_contents (path, "[service:x]\nexec=sleep 2051\n", -1, NULL));
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "a", "online"));
  g_assert_true (tend_test_daemon_log_contains (d, "no [tend-state] group"));
  g_clear_pointer (&kept, g_free);
  g_assert_true (g_file_get_contents (bad, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "[service:x]\nexec=sleep 2051\n");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/state/stopped-stays-stopped", test_stopped_stays_stopped);
  g_test_add_func ("/state/ad-hoc-comes-back", test_ad_hoc_comes_back);
  g_test_add_func ("/state/deleted-stays-deleted", test_deleted_stays_deleted);
  g_test_add_func ("/state/config-wins-definitions", test_config_wins_definitions);
  g_test_add_func ("/state/save-kill-resurrect", test_save_kill_resurrect);
  g_test_add_func ("/state/damaged", test_damaged_state);
  return g_test_run ();
}
