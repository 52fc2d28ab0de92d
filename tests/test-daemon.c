/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tendd as a program: config errors, one daemon per home, reload, detaching. */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-test-daemon.h"

static void
test_config_error_starts_nothing (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  g_autofree char *want = NULL;

  conf = g_strdup_printf ("[service:good]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n\n"
                          "[service:bad]\nexec=/bin/true\nrestart-delay=10 parsecs\n",
                          record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, 10000));
  g_assert_true (WIFEXITED (d->exit_status));
  g_assert_cmpint (WEXITSTATUS (d->exit_status), ==, 1);
  want = g_strdup_printf ("%s:7: [service:bad] restart-delay:", d->config);
  g_assert_true (tend_test_daemon_log_contains (d, want));
  g_assert_cmpuint (tend_test_count_lines (record), ==, 0);
}

static void
test_unknown_plugin_names_plugins (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();

  tend_test_daemon_write_config (d, "[plugin:nope]\nenabled=true\n");
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, 10000));
  g_assert_cmpint (WEXITSTATUS (d->exit_status), ==, 1);
  g_assert_true (tend_test_daemon_log_contains (d, ":1: [plugin:nope]"));
  g_assert_true (tend_test_daemon_log_contains (d, "process"));
}

static void
test_second_daemon_refused (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(TendTestDaemon) d2 = tend_test_daemon_new ();
  g_autofree char *want = NULL;

  tend_test_daemon_write_config (d, "[service:s]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);
  /* the same home, another daemon */
  g_free (d2->home);
  d2->home = g_strdup (d->home);
  tend_test_daemon_write_config (d2, "[service:s]\nexec=sleep 1000\n");
  tend_test_daemon_spawn (d2, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d2, 10000));
  g_assert_cmpint (WEXITSTATUS (d2->exit_status), ==, 1);
  want = g_strdup_printf ("another tendd (pid %d) is already running", (int) d->pid);
  g_assert_true (tend_test_daemon_log_contains (d2, want));
  /* d2 must not clean d's processes up when it is freed */
  g_free (d2->home);
  d2->home = g_strdup ("/nonexistent");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* The lock lives on the home itself: deleting tendd.pid must not let a second daemon in. */
static void
test_second_daemon_refused_without_pidfile (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(TendTestDaemon) d2 = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *pidfile = NULL;
  g_autofree char *want = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  conf = g_strdup_printf ("[service:s]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  pidfile = g_build_filename (d->home, "tendd.pid", NULL);
  g_assert_cmpint (g_unlink (pidfile), ==, 0);

  g_free (d2->home);
  d2->home = g_strdup (d->home);
  tend_test_daemon_write_config (d2, conf);
  tend_test_daemon_spawn (d2, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d2, 10000));
  g_assert_true (WIFEXITED (d2->exit_status));
  g_assert_cmpint (WEXITSTATUS (d2->exit_status), ==, 1);
  /* the pid comes from the kernel's lock table, tendd.pid being gone */
  want = g_strdup_printf ("another tendd (pid %d) is already running", (int) d->pid);
  g_assert_true (tend_test_daemon_log_contains (d2, want));
  /* d2 must not clean d's processes up when it is freed */
  g_free (d2->home);
  d2->home = g_strdup ("/nonexistent");

  /* the first daemon still owns its socket, and nothing was started twice */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "online"));
  g_assert_cmpuint (tend_test_count_lines (record), ==, 1);
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (record, 0)));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
log_has_reloaded (gpointer data)
{
  return tend_test_daemon_log_contains (data, "configuration reloaded");
}

static gboolean
log_has_refused (gpointer data)
{
  return tend_test_daemon_log_contains (data, "reload refused");
}

static void
test_reload (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *keep = tend_test_daemon_path (d, "keep");
  g_autofree char *change = tend_test_daemon_path (d, "change");
  g_autofree char *gone = tend_test_daemon_path (d, "gone");
  g_autofree char *added = tend_test_daemon_path (d, "added");
  g_autofree char *conf = NULL;
  pid_t keep_pid, change_pid, gone_pid;

  conf = g_strdup_printf ("[service:keep]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n\n"
                          "[service:change]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n\n"
                          "[service:gone]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n",
                          keep, change, gone);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (keep, 1, 10000));
  g_assert_true (tend_test_wait_lines (change, 1, 10000));
  g_assert_true (tend_test_wait_lines (gone, 1, 10000));
  keep_pid = tend_test_record_pid (keep, 0);
  change_pid = tend_test_record_pid (change, 0);
  gone_pid = tend_test_record_pid (gone, 0);

  /* a bad file is refused and nothing changes */
  tend_test_daemon_write_config (d, "[service:keep]\nexec=\n");
  kill (d->pid, SIGHUP);
  g_assert_true (tend_test_wait (log_has_refused, d, 10000));
  g_assert_true (tend_test_pid_alive (keep_pid));
  g_assert_true (tend_test_pid_alive (change_pid));
  g_assert_true (tend_test_pid_alive (gone_pid));

  g_free (conf);
  conf = g_strdup_printf ("[service:keep]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n\n"
                          "[service:change]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s;EXTRA=1\n\n"
                          "[service:added]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n",
                          keep, change, added);
  tend_test_daemon_write_config (d, conf);
  kill (d->pid, SIGHUP);
  g_assert_true (tend_test_wait (log_has_reloaded, d, 10000));
  g_assert_true (tend_test_wait_lines (added, 1, 10000));
  g_assert_true (tend_test_wait_lines (change, 2, 10000));
  g_assert_true (tend_test_wait_pid_gone (gone_pid, 10000));
  g_assert_true (tend_test_wait_pid_gone (change_pid, 10000));
  /* unchanged: same process, untouched */
  g_assert_true (tend_test_pid_alive (keep_pid));
  g_assert_cmpuint (tend_test_count_lines (keep), ==, 1);
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (change, 1)));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_detach (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *tendd = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "daemon", "tendd", NULL);
  g_autofree char *pidfile = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *daemon_log = NULL;
  g_autofree char *conf = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;
  pid_t pid;

  conf = g_strdup_printf ("[service:sleeper]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  {
    const char *argv[] = { tendd, "--home", d->home, "--config", d->config, NULL };
    /* returns only once the daemon is ready, with status 0 */
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_assert_cmpint (status, ==, 0);
  }
  pidfile = g_build_filename (d->home, "tendd.pid", NULL);
  g_assert_true (g_file_get_contents (pidfile, &pid_text, NULL, NULL));
  pid = atoi (pid_text);
  tend_test_track_pid (pid);
  g_assert_true (tend_test_pid_alive (pid));
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  daemon_log = g_build_filename (d->home, "tendd.log", NULL);
  g_assert_true (g_file_test (daemon_log, G_FILE_TEST_EXISTS));

  kill (pid, SIGTERM);
  g_assert_true (tend_test_wait_pid_gone (pid, 15000));
  g_assert_false (tend_test_pid_alive (tend_test_record_pid (record, 0)));
  g_assert_false (g_file_test (pidfile, G_FILE_TEST_EXISTS));
}

/*
 * Plugins that are not enabled are only looked at: their libraries (libsoup for http and health's http checks)
 * stay out of tendd. health is on by default (its http checks use libsoup): turned off here.
 */
static void
test_disabled_plugins_not_mapped (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *maps_path = NULL;
  g_autofree char *maps = NULL;

  tend_test_daemon_write_config (d,
                                 "[tend]\ndbus=none\n\n[plugin:health]\nenabled=false\n\n[service:s]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);
  maps_path = g_strdup_printf ("/proc/%d/maps", (int) d->pid);
  g_assert_true (g_file_get_contents (maps_path, &maps, NULL, NULL));
  g_assert_nonnull (strstr (maps, "tend-process.so"));
  g_assert_null (strstr (maps, "tend-http.so"));
  g_assert_null (strstr (maps, "tend-health.so"));
  g_assert_null (strstr (maps, "libsoup"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon/config-error-starts-nothing", test_config_error_starts_nothing);
  g_test_add_func ("/daemon/unknown-plugin", test_unknown_plugin_names_plugins);
  g_test_add_func ("/daemon/second-daemon-refused", test_second_daemon_refused);
  g_test_add_func ("/daemon/second-daemon-refused-without-pidfile", test_second_daemon_refused_without_pidfile);
  g_test_add_func ("/daemon/reload", test_reload);
  g_test_add_func ("/daemon/detach", test_detach);
  g_test_add_func ("/daemon/disabled-plugins-not-mapped", test_disabled_plugins_not_mapped);
  return g_test_run ();
}
