/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Restart policy with real processes: respawn, crash loops, backoff, spawn errors, environment.
 * Every rule is checked in detail, in virtual time, by test-state-machine; these show each one
 * at work on real processes once (the 30 s backoff reset is only checked there). */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-test-daemon.h"

static void
test_respawn_after_kill (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  pid_t first, second;

  conf = g_strdup_printf ("[service:sleeper]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  first = tend_test_record_pid (record, 0);
  g_assert_true (tend_test_pid_alive (first));

  g_assert_cmpint (kill (first, SIGKILL), ==, 0);
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  second = tend_test_record_pid (record, 1);
  g_assert_cmpint (second, !=, first);
  g_assert_true (tend_test_pid_alive (second));
  g_assert_true (tend_test_daemon_log_contains (d, "killed by signal SIGKILL"));

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_assert_false (tend_test_pid_alive (second));
}

static gboolean
log_has_gave_up (gpointer data)
{
  return tend_test_daemon_log_contains (data, "gave up after 3 unstable restarts");
}

static void
test_crash_loop_errored (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;

  conf = g_strdup_printf ("[service:crasher]\nexec=@HELPERS@/crash.sh\nenv=RECORD=%s\n"
                          "max-restarts=3\nmin-uptime=2s\nrestart-delay=200ms\n",
                          record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (log_has_gave_up, d, 15000));
  /* one start plus max-restarts restarts, each after restart-delay */
  g_assert_cmpuint (tend_test_count_lines (record), ==, 4);
  for (guint i = 1; i < 4; i++) {
    gint64 gap = tend_test_record_time_ms (record, i) - tend_test_record_time_ms (record, i - 1);
    g_assert_cmpint (gap, >=, 190);
  }
  /* errored means no more starts: wait as long as a few more delays would take */
  g_usleep (600 * 1000);
  g_assert_cmpuint (tend_test_count_lines (record), ==, 4);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_spin_guard (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  gint64 span;

  /* min-uptime=0: no run is unstable, so max-restarts never stops the loop; the spin guard must pace it */
  conf = g_strdup_printf ("[service:crasher]\nexec=@HELPERS@/crash.sh\nenv=RECORD=%s\nmin-uptime=0\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 12, 20000));
  span = tend_test_record_time_ms (record, 11) - tend_test_record_time_ms (record, 4);
  /* starts 5..12 each waited at least the guard's 100 ms */
  g_assert_cmpint (span, >=, 7 * 95);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_exp_backoff_grows (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  const gint64 expected[] = { 200, 300, 450, 675 };

  conf = g_strdup_printf ("[service:crasher]\nexec=@HELPERS@/crash.sh\nenv=RECORD=%s\n"
                          "exp-backoff-restart-delay=200ms\nmax-backoff=600ms\nmax-restarts=50\n",
                          record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 6, 20000));
  for (guint i = 1; i < 6; i++) {
    gint64 gap = tend_test_record_time_ms (record, i) - tend_test_record_time_ms (record, i - 1);
    /* x1.5 per unstable restart, capped at max-backoff */
    gint64 want = MIN (expected[MIN (i - 1, 3)], 600);
    g_test_message ("restart %u after %" G_GINT64_FORMAT " ms (want >= %" G_GINT64_FORMAT ")", i, gap, want);
    g_assert_cmpint (gap, >=, want - 10);
    g_assert_cmpint (gap, <, want + 1500);
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
log_has_cannot_start (gpointer data)
{
  return tend_test_daemon_log_contains (data, "cannot start");
}

static void
test_spawn_errors (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  g_autofree char *gone_dir = tend_test_daemon_path (d, "gone");
  g_autofree char *plain = tend_test_daemon_path (d, "plain-file");
  g_autofree char *described = NULL;
  g_autofree char *expected = NULL;

  g_mkdir (gone_dir, 0755);
  g_file_set_contents (plain, "echo not a program\n", -1, NULL);
  g_chmod (plain, 0644);
  conf = g_strdup_printf ("[service:missing]\nexec=/nonexistent/program --flag\n\n"
                          "[service:not-executable]\nexec=%s\n\n"
                          "[service:bad-cwd]\nexec=/bin/true\ncwd=%s\n\n"
                          "[service:fine]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n",
                          plain, gone_dir, record);
  tend_test_daemon_write_config (d, conf);
  /* the folder exists when the config is read, and is gone when the service starts */
  g_rmdir (gone_dir);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (log_has_cannot_start, d, 10000));
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  /* each with the cause the child met between fork and exec, not a crash with status 126 or 127 */
  g_assert_true (tend_test_daemon_log_contains (d, "missing: cannot start"));
  g_assert_true (tend_test_daemon_log_contains (d, "cannot execute /nonexistent/program: No such file or directory"));
  g_assert_true (tend_test_daemon_log_contains (d, "not-executable: cannot start"));
  g_assert_true (tend_test_daemon_log_contains (d, "plain-file: Permission denied"));
  g_assert_true (tend_test_daemon_log_contains (d, "bad-cwd: cannot start: cannot change to folder"));
  /* and tend describe says so: errored (a folder that is missing is not a limit of the system) */
  g_assert_cmpint (tend_test_run_cli (d, &described, NULL, "describe", "bad-cwd", NULL), ==, 0);
  g_assert_nonnull (strstr (described, "errored"));
  expected = g_strdup_printf ("cannot change to folder %s: No such file or directory", gone_dir);
  g_assert_nonnull (strstr (described, expected));
  /* errored services do not stop the others, and are not retried in a loop */
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (record, 0)));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_environment (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = tend_test_daemon_path (d, "out");
  g_autofree char *work = tend_test_daemon_path (d, "work");
  g_autofree char *env_file = tend_test_daemon_path (d, "service.env");
  g_autofree char *conf = NULL;
  g_autofree char *e0 = NULL, *e1 = NULL, *c0 = NULL, *c1 = NULL;
  gboolean as_root = geteuid () == 0;

  /* user=nobody must reach the output folder through the test's private one */
  g_chmod (d->dir, 0711);
  g_mkdir (out, 0777);
  g_chmod (out, 0777);
  g_mkdir (work, 0755);
  g_file_set_contents (env_file, "# a comment\nexport FROM_FILE=\"file value\"\nFOO=overridden\n", -1, NULL);
  conf = g_strdup_printf ("[service:envy]\nexec=@HELPERS@/show-env.sh 'one arg' two\ncwd=%s\n"
                          "env-file=%s\nenv=OUT_DIR=%s;PORT=8000;FOO=bar\ninstances=2\nincrement-var=PORT\n%s",
                          work, env_file, out, as_root ? "user=nobody\n" : "");
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  e0 = g_build_filename (out, "env-0", NULL);
  e1 = g_build_filename (out, "env-1", NULL);
  g_assert_true (tend_test_wait_lines (e0, 9, 10000));
  g_assert_true (tend_test_wait_lines (e1, 9, 10000));
  g_file_get_contents (e0, &c0, NULL, NULL);
  g_file_get_contents (e1, &c1, NULL, NULL);
  g_assert_nonnull (strstr (c0, "TEND_INSTANCE=0\n"));
  g_assert_nonnull (strstr (c0, "NODE_APP_INSTANCE=0\n"));
  g_assert_nonnull (strstr (c1, "TEND_INSTANCE=1\n"));
  g_assert_nonnull (strstr (c1, "NODE_APP_INSTANCE=1\n"));
  g_assert_nonnull (strstr (c0, "PORT=8000\n"));
  g_assert_nonnull (strstr (c1, "PORT=8001\n"));
  /* env wins over env-file */
  g_assert_nonnull (strstr (c0, "FOO=bar\n"));
  g_assert_nonnull (strstr (c0, "FROM_FILE=file value\n"));
  g_assert_nonnull (strstr (c0, "NOTIFY_SOCKET=unset\n"));
  g_assert_nonnull (strstr (c0, "args=one arg two\n"));
  {
    g_autofree char *want = g_strdup_printf ("pwd=%s\n", work);
    g_assert_nonnull (strstr (c0, want));
  }
  if (as_root)
    g_assert_nonnull (strstr (c0, "uid=65534\n"));
  else
    g_test_message ("not root: user= not checked");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_output_capture (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out_log = NULL;
  g_autofree char *err_log = NULL;
  g_autofree char *contents = NULL;

  tend_test_daemon_write_config (d, "[service:chatty]\nexec=@HELPERS@/chatty.sh\nenv=LINES=2000\nautorestart=false\n");
  tend_test_daemon_start (d);
  out_log = g_build_filename (d->home, "logs", "chatty-out.log", NULL);
  err_log = g_build_filename (d->home, "logs", "chatty-error.log", NULL);
  g_assert_true (tend_test_wait_lines (out_log, 2001, 10000));
  g_assert_true (tend_test_wait_lines (err_log, 1, 10000));
  g_file_get_contents (out_log, &contents, NULL, NULL);
  g_assert_true (g_str_has_prefix (contents, "line 1\nline 2\n"));
  g_assert_nonnull (strstr (contents, "line 2000\npartial-last-line\n"));
  g_free (contents);
  g_file_get_contents (err_log, &contents, NULL, NULL);
  g_assert_cmpstr (contents, ==, "to stderr\n");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_autorestart_modes (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *never = tend_test_daemon_path (d, "never");
  g_autofree char *ok_exit = tend_test_daemon_path (d, "ok-exit");
  g_autofree char *bad_exit = tend_test_daemon_path (d, "bad-exit");
  g_autofree char *not_started = tend_test_daemon_path (d, "not-started");
  g_autofree char *conf = NULL;

  conf = g_strdup_printf ("[service:never]\nexec=@HELPERS@/crash.sh\nenv=RECORD=%s\nautorestart=false\n\n"
                          "[service:clean-exit]\nexec=@HELPERS@/crash.sh\nenv=RECORD=%s;EXIT_CODE=0\n"
                          "autorestart=on-failure\n\n"
                          "[service:failing]\nexec=@HELPERS@/crash.sh\nenv=RECORD=%s;EXIT_CODE=3\n"
                          "autorestart=on-failure\nmax-restarts=2\nmin-uptime=5s\n\n"
                          "[service:manual]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\nstart=false\n",
                          never, ok_exit, bad_exit, not_started);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  /* on-failure restarts a failure: 1 start + 2 restarts */
  g_assert_true (tend_test_wait_lines (bad_exit, 3, 10000));
  g_assert_true (tend_test_wait_lines (never, 1, 10000));
  g_assert_true (tend_test_wait_lines (ok_exit, 1, 10000));
  g_usleep (500 * 1000);
  g_assert_cmpuint (tend_test_count_lines (never), ==, 1);
  g_assert_cmpuint (tend_test_count_lines (ok_exit), ==, 1);
  g_assert_cmpuint (tend_test_count_lines (bad_exit), ==, 3);
  g_assert_cmpuint (tend_test_count_lines (not_started), ==, 0);
  g_assert_true (tend_test_daemon_log_contains (d, "exited with code 3"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/supervise/respawn-after-kill", test_respawn_after_kill);
  g_test_add_func ("/supervise/crash-loop-errored", test_crash_loop_errored);
  g_test_add_func ("/supervise/spin-guard", test_spin_guard);
  g_test_add_func ("/supervise/exp-backoff-grows", test_exp_backoff_grows);
  g_test_add_func ("/supervise/spawn-errors", test_spawn_errors);
  g_test_add_func ("/supervise/environment", test_environment);
  g_test_add_func ("/supervise/output-capture", test_output_capture);
  g_test_add_func ("/supervise/autorestart-modes", test_autorestart_modes);
  return g_test_run ();
}
