/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend sleeps while it waits: `logs --follow` on a quiet service, `stop` and
 * `delete` of a service that takes its time to stop. Each test counts how
 * often the client's main thread wakes during an idle stretch; a poll on a
 * timer, as the client once had, would show at once.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "tend-test-daemon.h"

/*
 * What is counted: voluntary_ctxt_switches of the client's main thread
 * (/proc/PID/task/PID/status), the number of times it went to sleep. A thread
 * blocked in poll() wakes only when one of its sources is ready, and goes
 * back to sleep once per wake-up however loaded the machine is: load delays
 * a wake-up, it does not add one. Preemptions (nonvoluntary switches) and
 * GDBus's worker thread, which load or the daemon's traffic do drive, are
 * left out.
 *
 * Measured on a 2-core machine over WINDOW_MS with the code as it is: 0 for
 * stop and delete (nothing but the daemon's signals wakes them); 2 or 3 for
 * logs --follow (its 2 s refresh asks the daemon for new services, two
 * wake-ups each). The polls the client once had give far more: a 200 ms
 * look at the files 15 in 3 s, a 50 ms ListServices 60 or more, and even
 * delete's former 1 s safety poll 6 (a ListServices call is two wake-ups).
 * Each bound sits between the two, with room on both sides.
 */
#define WINDOW_MS 3000
#define MAX_WAIT_WAKEUPS 3
#define MAX_FOLLOW_WAKEUPS 8

/* How often @pid's main thread went to sleep so far; G_MAXUINT64 when it is gone. */
static guint64
main_thread_sleeps (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/task/%d/status", (int) pid, (int) pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return G_MAXUINT64;
  line = strstr (contents, "\nvoluntary_ctxt_switches:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("\nvoluntary_ctxt_switches:"), NULL, 10);
}

/*
 * Waits (bounded) until the client has done what it does before it waits:
 * the count stays the same for 500 ms. A client that never settles (a
 * poll) is measured anyway, and fails the bound.
 */
static void
wait_settled (GPid pid)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (10000) * 1000;
  gint64 stable_since = g_get_monotonic_time ();
  guint64 last = main_thread_sleeps (pid);

  while (g_get_monotonic_time () < deadline && g_get_monotonic_time () - stable_since < 500 * 1000) {
    guint64 now;

    g_usleep (10 * 1000);
    now = main_thread_sleeps (pid);
    g_assert_cmpuint (now, !=, G_MAXUINT64);
    if (now != last) {
      last = now;
      stable_since = g_get_monotonic_time ();
    }
  }
}

/*
 * The wake-ups of @pid's main thread during WINDOW_MS once settled. The
 * sleep is the measurement itself, not a wait for an event; @pid must still
 * be there at its end.
 */
static guint64
idle_wakeups (GPid pid)
{
  guint64 before, after;

  wait_settled (pid);
  before = main_thread_sleeps (pid);
  g_usleep (WINDOW_MS * 1000);
  after = main_thread_sleeps (pid);
  g_assert_cmpuint (before, !=, G_MAXUINT64);
  g_assert_cmpuint (after, !=, G_MAXUINT64);
  g_test_message ("%" G_GUINT64_FORMAT " wake-ups of tend's main thread in %d ms", after - before, WINDOW_MS);
  return after - before;
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
log_has (gpointer data)
{
  const char *const *what = data;
  return tend_test_daemon_log_contains ((TendTestDaemon *) what[0], what[1]);
}

/* A daemon with one service, slow, that idles and stops only when the test says so. */
static TendTestDaemon *
start_slow (char **out_record)
{
  TendTestDaemon *d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "slow.record");
  g_autofree char *conf = g_strdup_printf ("[service:slow]\nexec=@HELPERS@/slow-stop.sh\n"
                                           "env=RECORD=%s;TEST_PID=%d\nkill-timeout=90s\n",
                                           record, (int) getpid ());

  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  *out_record = g_steal_pointer (&record);
  return d;
}

static void
test_logs_follow (void)
{
  g_autofree char *record = NULL;
  g_autoptr(TendTestDaemon) d = start_slow (&record);
  g_autofree char *release = g_strconcat (record, ".release", NULL);
  const char *args[] = { "logs", "slow", "--follow", NULL };
  const char *printed[] = { (const char *) d, "slow-stop is up", NULL };
  GPid follower;

  /* the tail is out: from now on nothing is written to the logs */
  follower = tend_test_spawn_cli (d, args);
  tend_test_track_pid (follower);
  g_assert_true (tend_test_wait (log_has, printed, 10000));
  g_assert_cmpuint (idle_wakeups (follower), <=, MAX_FOLLOW_WAKEUPS);

  kill (follower, SIGTERM);
  g_assert_cmpint (tend_test_wait_cli (follower, 10000), ==, 128 + SIGTERM);
  tend_test_untrack_pid (follower);
  /* slow stops at once with the daemon */
  g_assert_true (g_file_set_contents (release, "", 0, NULL));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* tend VERB slow while slow takes its time to stop: the wait sleeps until the daemon says it is done. */
static void
check_slow_wait (const char *verb, const char *outcome)
{
  g_autofree char *record = NULL;
  g_autoptr(TendTestDaemon) d = start_slow (&record);
  g_autofree char *term = g_strconcat (record, ".term", NULL);
  g_autofree char *release = g_strconcat (record, ".release", NULL);
  const char *args[] = { verb, "slow", "--wait", "120", NULL };
  const char *printed[] = { (const char *) d, outcome, NULL };
  GPid client;

  client = tend_test_spawn_cli (d, args);
  tend_test_track_pid (client);
  g_assert_true (tend_test_wait (file_exists, term, 10000));
  g_assert_cmpuint (idle_wakeups (client), <=, MAX_WAIT_WAKEUPS);

  /* the stop ends, and the client sees it at once */
  g_assert_true (g_file_set_contents (release, "", 0, NULL));
  g_assert_cmpint (tend_test_wait_cli (client, 20000), ==, 0);
  tend_test_untrack_pid (client);
  g_assert_true (tend_test_wait (log_has, printed, 10000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_stop (void)
{
  check_slow_wait ("stop", "slow: stopped");
}

static void
test_delete (void)
{
  check_slow_wait ("delete", "slow: deleted");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-wakeups/logs-follow", test_logs_follow);
  g_test_add_func ("/cli-wakeups/stop", test_stop);
  g_test_add_func ("/cli-wakeups/delete", test_delete);
  return g_test_run ();
}
