/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stopping: kill-timeout, whole process trees, double forks, tendd killed, leftovers. */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"

#include "tend-test-daemon.h"

static void
assert_no_leftovers (TendTestDaemon *d)
{
  g_autoptr(GArray) left = tend_test_daemon_leftovers (d);

  for (guint i = 0; i < left->len; i++)
    g_test_message ("left behind: pid %d", (int) g_array_index (left, pid_t, i));
  g_assert_cmpuint (left->len, ==, 0);
}

static void
test_sigkill_after_kill_timeout (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  gint64 t0, elapsed_ms;
  pid_t pid;

  conf = g_strdup_printf ("[service:stubborn]\nexec=@HELPERS@/ignore-term.sh\nenv=RECORD=%s\nkill-timeout=700ms\n",
                          record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  pid = tend_test_record_pid (record, 0);

  t0 = g_get_monotonic_time ();
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  g_test_message ("stop took %" G_GINT64_FORMAT " ms with kill-timeout 700 ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 690);
  g_assert_cmpint (elapsed_ms, <, 5000);
  g_assert_false (tend_test_pid_alive (pid));
  g_assert_true (tend_test_daemon_log_contains (d, "sending SIGKILL"));
  assert_no_leftovers (d);
}

static void
test_parallel_stop (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autoptr(GString) conf = g_string_new (NULL);
  gint64 t0, elapsed_ms;

  for (int i = 0; i < 3; i++)
    g_string_append_printf (conf, "[service:stubborn%d]\nexec=@HELPERS@/ignore-term.sh\nenv=RECORD=%s\n"
                            "kill-timeout=1s\n\n", i, record);
  tend_test_daemon_write_config (d, conf->str);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 3, 10000));
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  g_test_message ("3 services with kill-timeout 1 s stopped in %" G_GINT64_FORMAT " ms", elapsed_ms);
  /* in parallel: about one kill-timeout, not three */
  g_assert_cmpint (elapsed_ms, <, 2500);
  assert_no_leftovers (d);
}

static void
test_double_fork_on_shutdown (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *grandchild = NULL;
  g_autofree char *conf = NULL;
  pid_t main_pid, gc_pid;

  conf = g_strdup_printf ("[service:forker]\nexec=@HELPERS@/double-fork.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  grandchild = g_strdup_printf ("%s.grandchild", record);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  g_assert_true (tend_test_wait_lines (grandchild, 1, 10000));
  main_pid = tend_test_record_pid (record, 0);
  gc_pid = tend_test_record_pid (grandchild, 0);
  g_assert_true (tend_test_pid_alive (gc_pid));

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_assert_false (tend_test_pid_alive (main_pid));
  g_assert_false (tend_test_pid_alive (gc_pid));
  assert_no_leftovers (d);
}

static void
test_double_fork_on_service_stop (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *other = tend_test_daemon_path (d, "other");
  g_autofree char *grandchild = NULL;
  g_autofree char *conf = NULL;
  pid_t gc_pid;

  conf = g_strdup_printf ("[service:forker]\nexec=@HELPERS@/double-fork.sh\nenv=RECORD=%s\n\n"
                          "[service:other]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n",
                          record, other);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  grandchild = g_strdup_printf ("%s.grandchild", record);
  g_assert_true (tend_test_wait_lines (grandchild, 1, 10000));
  g_assert_true (tend_test_wait_lines (other, 1, 10000));
  gc_pid = tend_test_record_pid (grandchild, 0);

  /* removing the service from the configuration stops it: its escaped grandchild goes too */
  g_free (conf);
  conf = g_strdup_printf ("[service:other]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n", other);
  tend_test_daemon_write_config (d, conf);
  kill (d->pid, SIGHUP);
  g_assert_true (tend_test_wait_pid_gone (gc_pid, 10000));
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (other, 0)));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  assert_no_leftovers (d);
}

static void
test_daemon_killed (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *forker = tend_test_daemon_path (d, "forker");
  g_autofree char *grandchild = NULL;
  g_autofree char *conf = NULL;
  pid_t main_pid, gc_pid;

  conf = g_strdup_printf ("[service:sleeper]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n\n"
                          "[service:forker]\nexec=@HELPERS@/double-fork.sh\nenv=RECORD=%s\n",
                          record, forker);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  grandchild = g_strdup_printf ("%s.grandchild", forker);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  g_assert_true (tend_test_wait_lines (grandchild, 1, 10000));
  main_pid = tend_test_record_pid (record, 0);
  gc_pid = tend_test_record_pid (grandchild, 0);

  kill (d->pid, SIGKILL);
  g_assert_true (tend_test_daemon_wait_exit (d, 5000));
  /* the main processes die with the daemon (parent-death signal) */
  g_assert_true (tend_test_wait_pid_gone (main_pid, 5000));

  /* a new daemon on the same home ends what the old one left, so nothing runs twice */
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  g_assert_true (tend_test_wait_pid_gone (gc_pid, 10000));
  g_assert_true (tend_test_daemon_log_contains (d, "left behind by a previous tendd"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  assert_no_leftovers (d);
}

/* ---- descendants that clear their environment ---- */

typedef struct {
  TendTestDaemon *d;
  const char *cmdline;
  GArray *seen; /* every matching pid ever found, to end them whatever happens */
} Escapees;

/* Live descendants of tendd running @e->cmdline; remembers them in @e->seen. */
static guint
escapees_count (Escapees *e)
{
  g_autoptr(GArray) all = tend_test_find_descendants (e->d->pid, e->cmdline);
  guint n = all->len;

  for (guint i = 0; i < all->len; i++) {
    pid_t pid = g_array_index (all, pid_t, i);
    gboolean known = FALSE;

    for (guint j = 0; j < e->seen->len; j++)
      known = known || g_array_index (e->seen, pid_t, j) == pid;
    if (!known) {
      g_array_append_val (e->seen, pid);
      tend_test_track_pid (pid);
    }
  }
  return n;
}

static gboolean
escapees_one (gpointer data)
{
  return escapees_count (data) == 1;
}

static guint
escapees_alive (Escapees *e)
{
  guint n = 0;

  for (guint i = 0; i < e->seen->len; i++)
    n += tend_test_pid_alive (g_array_index (e->seen, pid_t, i));
  return n;
}

static gboolean
escapees_none_alive (gpointer data)
{
  return escapees_alive (data) == 0;
}

/* Ends what a failed test left: these processes carry no TEND_HOME, the fixture cannot find them. */
static void
escapees_clear (Escapees *e)
{
  for (guint i = 0; i < e->seen->len; i++) {
    pid_t pid = g_array_index (e->seen, pid_t, i);
    if (tend_test_pid_alive (pid))
      kill (pid, SIGKILL);
    tend_test_untrack_pid (pid);
  }
  g_array_unref (e->seen);
}

static void
run_escapee_cycle (TendTestDaemon *d, Escapees *e, const char *service)
{
  g_autofree char *err = NULL;

  /* stop: the escaped process goes with the rest */
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "stop", service, NULL), ==, 0);
  g_assert_true (tend_test_wait (escapees_none_alive, e, 10000));
  g_assert_cmpuint (escapees_count (e), ==, 0);

  /* start: one copy, not two */
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", service, NULL), ==, 0);
  g_assert_true (tend_test_wait (escapees_one, e, 10000));
  g_usleep (300 * 1000);
  g_assert_cmpuint (escapees_count (e), ==, 1);

  /* kill: nothing left at all */
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "kill", NULL), ==, 0);
  g_assert_true (tend_test_daemon_wait_exit (d, 30000));
  g_assert_true (tend_test_wait (escapees_none_alive, e, 10000));
}

/* The issue's own command: the first sleep clears its environment and leaves the session. */
static void
test_env_cleared_escapee (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  Escapees e = { d, "sleep 100", g_array_new (FALSE, FALSE, sizeof (pid_t)) };
  g_autofree char *cgroup = NULL;
  g_autofree char *environ_path = NULL;
  g_autofree char *environment = NULL;
  gsize len = 99;

  if (!tend_test_cgroups_writable ()) {
    g_test_skip ("exact trees need root and a writable cgroup v2 hierarchy; /stop/fallback-* cover the rest");
    escapees_clear (&e);
    return;
  }
  tend_test_daemon_write_config (d, "[service:escaper]\nexec=sh -c '(env -i setsid sleep 100 &); sleep 200'\n");
  tend_test_daemon_start (d);
  cgroup = tend_test_daemon_cgroup (d);
  g_assert_true (g_file_test (cgroup, G_FILE_TEST_IS_DIR));
  g_assert_true (tend_test_wait (escapees_one, &e, 10000));
  /* it really is out of reach of the old rules: no environment, another session */
  environ_path = g_strdup_printf ("/proc/%d/environ", (int) g_array_index (e.seen, pid_t, 0));
  g_assert_true (g_file_get_contents (environ_path, &environment, &len, NULL));
  g_assert_cmpuint (len, ==, 0);

  run_escapee_cycle (d, &e, "escaper");
  g_assert_cmpuint (escapees_alive (&e), ==, 0);
  /* the exact path was the one taken, and it cleaned up after itself */
  g_assert_true (tend_test_daemon_log_contains (d, "process trees are tracked by cgroup"));
  g_assert_false (g_file_test (cgroup, G_FILE_TEST_EXISTS));
  assert_no_leftovers (d);
  escapees_clear (&e);
}

/* A setsid + double-fork daemoniser that clears the environment (env -i), as sudo and some init scripts do. */
static void
test_env_cleared_daemoniser (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *daemons = g_strdup_printf ("%s.daemon", record);
  g_autofree char *conf = NULL;
  Escapees e = { d, NULL, g_array_new (FALSE, FALSE, sizeof (pid_t)) };
  pid_t daemon_pid;

  if (!tend_test_cgroups_writable ()) {
    g_test_skip ("exact trees need root and a writable cgroup v2 hierarchy; /stop/fallback-* cover the rest");
    escapees_clear (&e);
    return;
  }
  conf = g_strdup_printf ("[service:daemoniser]\nexec=@HELPERS@/env-i-daemon.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (daemons, 1, 10000));
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  daemon_pid = tend_test_record_pid (daemons, 0);
  g_array_append_val (e.seen, daemon_pid);
  tend_test_track_pid (daemon_pid);
  g_assert_true (tend_test_pid_alive (daemon_pid));

  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "stop", "daemoniser", NULL), ==, 0);
  g_assert_true (tend_test_wait (escapees_none_alive, &e, 10000));

  /* a new start makes one new daemon, and the old one is not there to make two */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "daemoniser", NULL), ==, 0);
  g_assert_true (tend_test_wait_lines (daemons, 2, 10000));
  daemon_pid = tend_test_record_pid (daemons, 1);
  g_array_append_val (e.seen, daemon_pid);
  tend_test_track_pid (daemon_pid);
  g_assert_cmpuint (escapees_alive (&e), ==, 1);
  g_assert_true (tend_test_pid_alive (daemon_pid));

  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "kill", NULL), ==, 0);
  g_assert_true (tend_test_daemon_wait_exit (d, 30000));
  g_assert_true (tend_test_wait (escapees_none_alive, &e, 10000));
  assert_no_leftovers (d);
  escapees_clear (&e);
}

/* Without cgroups (cgroups=false, or not root): the shutdown still ends what came back to tendd. */
static void
test_fallback_kill_ends_escapee (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  Escapees e = { d, "sleep 100", g_array_new (FALSE, FALSE, sizeof (pid_t)) };
  g_autofree char *err = NULL;

  tend_test_daemon_write_config (d, "[plugin:process]\ncgroups=false\n\n"
                                    "[service:escaper]\nexec=sh -c '(env -i setsid sleep 100 &); sleep 200'\n");
  tend_test_daemon_start (d);
  g_assert_true (tend_test_daemon_log_contains (d, "process trees are tracked by session"));
  g_assert_true (tend_test_wait (escapees_one, &e, 10000));
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "kill", NULL), ==, 0);
  g_assert_true (tend_test_daemon_wait_exit (d, 30000));
  g_assert_cmpint (WEXITSTATUS (d->exit_status), ==, 0);
  g_assert_true (tend_test_wait (escapees_none_alive, &e, 10000));
  assert_no_leftovers (d);
  escapees_clear (&e);
}

typedef struct {
  Escapees *e;
  pid_t daemon;
} Orphaned;

static gboolean
escapee_orphaned (gpointer data)
{
  Orphaned *o = data;
  TendProcInfo info;

  if (escapees_count (o->e) != 1)
    return FALSE;
  return tend_proc_read_stat (g_array_index (o->e->seen, pid_t, 0), &info) && info.ppid == o->daemon;
}

/* Without cgroups: a descendant seen in the tree while its parent lived is still the service's once orphaned. */
static void
test_fallback_remembered_descendant (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  Escapees e = { d, "sleep 100", g_array_new (FALSE, FALSE, sizeof (pid_t)) };
  Orphaned o = { &e, 0 };
  g_autofree char *err = NULL;

  tend_test_daemon_write_config (d, "[plugin:process]\ncgroups=false\n\n"
                                    "[service:escaper]\nexec=sh -c '(env -i setsid sleep 100 & sleep 5); sleep 200'\n");
  tend_test_daemon_start (d);
  o.daemon = d->pid;
  /* its parent (the subshell) lives 5 s, then it comes back to tendd with nothing to tell whose it is */
  g_assert_true (tend_test_wait (escapee_orphaned, &o, 20000));
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "stop", "escaper", NULL), ==, 0);
  g_assert_true (tend_test_wait (escapees_none_alive, &e, 10000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  assert_no_leftovers (d);
  escapees_clear (&e);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stop/sigkill-after-kill-timeout", test_sigkill_after_kill_timeout);
  g_test_add_func ("/stop/parallel", test_parallel_stop);
  g_test_add_func ("/stop/double-fork-on-shutdown", test_double_fork_on_shutdown);
  g_test_add_func ("/stop/double-fork-on-service-stop", test_double_fork_on_service_stop);
  g_test_add_func ("/stop/daemon-killed", test_daemon_killed);
  g_test_add_func ("/stop/env-cleared-escapee", test_env_cleared_escapee);
  g_test_add_func ("/stop/env-cleared-daemoniser", test_env_cleared_daemoniser);
  g_test_add_func ("/stop/fallback-kill-ends-escapee", test_fallback_kill_ends_escapee);
  g_test_add_func ("/stop/fallback-remembered-descendant", test_fallback_remembered_descendant);
  return g_test_run ();
}
