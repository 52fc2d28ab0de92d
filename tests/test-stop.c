/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stopping: kill-timeout, whole process trees, double forks, tendd killed, leftovers. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stop/sigkill-after-kill-timeout", test_sigkill_after_kill_timeout);
  g_test_add_func ("/stop/parallel", test_parallel_stop);
  g_test_add_func ("/stop/double-fork-on-shutdown", test_double_fork_on_shutdown);
  g_test_add_func ("/stop/double-fork-on-service-stop", test_double_fork_on_service_stop);
  g_test_add_func ("/stop/daemon-killed", test_daemon_killed);
  return g_test_run ();
}
