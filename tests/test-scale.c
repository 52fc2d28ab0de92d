/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How the daemon's cost grows with the number of configured services:
 * reading the configuration, applying it, a SIGHUP reload and the stop of
 * everything at shutdown. A ratio of CPU times, not a timed test: ten times
 * the services may cost about ten times the CPU, not a hundred.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tend-test-daemon.h"

#define SMALL 2000
#define LARGE 20000
/* linear is about 10; quadratic about 100 */
#define MAX_RATIO 30.0

static double
children_cpu_seconds (void)
{
  struct rusage ru;

  g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &ru), ==, 0);
  return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/*
 * @n services, none started, each but the first depending on the one before:
 * the longest chain for the dependency check and for the stop waves.
 */
static char *
config_text (guint n)
{
  GString *s = g_string_new ("[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n");

  for (guint i = 0; i < n; i++) {
    g_string_append_printf (s, "[service:svc-%u]\nexec=/bin/sleep 1000\nstart=false\nport=%u\n", i,
                            1 + i % 60000);
    if (i > 0)
      g_string_append_printf (s, "depends-on=svc-%u\n", i - 1);
    g_string_append_c (s, '\n');
  }
  return g_string_free (s, FALSE);
}

typedef struct {
  TendTestDaemon *daemon;
  guint reloads;
} ReloadWait;

static gboolean
reloaded (gpointer data)
{
  ReloadWait *w = data;
  g_autofree char *out = NULL;
  guint count = 0;

  if (!g_file_get_contents (w->daemon->log, &out, NULL, NULL))
    return FALSE;
  for (const char *p = out; (p = strstr (p, "configuration reloaded")) != NULL; p++)
    count++;
  return count >= w->reloads;
}

/* CPU seconds of one daemon's whole life: start, one reload, stop */
static double
daemon_cpu (const char *text, guint n)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  ReloadWait wait = { d, 1 };
  double before, cpu;
  int status;

  tend_test_daemon_write_config (d, text);
  before = children_cpu_seconds ();
  tend_test_daemon_start (d);
  kill (d->pid, SIGHUP);
  g_assert_true (tend_test_wait (reloaded, &wait, 120000));
  status = tend_test_daemon_stop (d);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  cpu = children_cpu_seconds () - before;
  g_test_message ("%u services: %.3f s of CPU", n, cpu);
  return cpu;
}

static void
test_services_scale (void)
{
  g_autofree char *small_text = config_text (SMALL);
  g_autofree char *large_text = config_text (LARGE);
  double small = G_MAXDOUBLE;
  double large = G_MAXDOUBLE;

  /* the least of a few runs: noise from a loaded machine only ever adds */
  for (guint i = 0; i < 3; i++) {
    double cpu = daemon_cpu (small_text, SMALL);
    small = MIN (small, cpu);
  }
  /* a tick of CPU time is 10 ms: keep the ratio meaningful on a fast machine */
  small = MAX (small, 0.05);
  for (guint i = 0; i < 3; i++) {
    double cpu = daemon_cpu (large_text, LARGE);
    large = MIN (large, cpu);
    if (large / small <= MAX_RATIO)
      break;
  }
  g_test_message ("ratio %.1f (%u vs %u services)", large / small, LARGE, SMALL);
  if (large / small > MAX_RATIO)
    g_error ("%u services cost %.2f s of CPU, %u cost %.2f s: %.1f times, more than %.0f", LARGE, large, SMALL, small,
             large / small, MAX_RATIO);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scale/services", test_services_scale);
  return g_test_run ();
}
