/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tendd out of file descriptors: services wait and retry, the control socket stays usable, no spinning. */
#include "config.h"

#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-test-daemon.h"

/* How long tendd is watched while starved, and what it may spend meanwhile. */
#define WINDOW_MS 3000
#define MAX_CPU_MS 500
#define MAX_LOG_GROWTH 64 * 1024

static GDBusConnection *
connect_bus (TendTestDaemon *d)
{
  g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus;

  bus = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL,
                                                &error);
  g_assert_no_error (error);
  return bus;
}

static void
call (GDBusConnection *bus, const char *method, GVariant *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (bus, NULL, "/org/tend/Tend1", "org.tend.Manager1", method, args, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
}

typedef struct {
  guint online;
  guint waiting;
  guint errored;
  guint other;
} Counts;

static Counts
count_states (GDBusConnection *bus, const char *service)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) rows = NULL;
  Counts c = { 0 };

  reply = g_dbus_connection_call_sync (bus, NULL, "/org/tend/Tend1", "org.tend.Manager1", "ListServices", NULL,
                                       G_VARIANT_TYPE ("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  rows = g_variant_get_child_value (reply, 0);
  for (gsize i = 0; i < g_variant_n_children (rows); i++) {
    g_autoptr(GVariant) row = g_variant_get_child_value (rows, i);
    const char *name = NULL, *state = NULL;

    g_assert_true (g_variant_lookup (row, "name", "&s", &name));
    g_assert_true (g_variant_lookup (row, "state", "&s", &state));
    if (!g_str_equal (name, service))
      continue;
    if (g_str_equal (state, "online"))
      c.online++;
    else if (g_str_equal (state, "waiting-restart"))
      c.waiting++;
    else if (g_str_equal (state, "errored"))
      c.errored++;
    else
      c.other++;
  }
  return c;
}

static guint64
cpu_ms (pid_t pid)
{
  TendProcInfo info;

  g_assert_true (tend_proc_read_stat (pid, &info));
  return (info.utime + info.stime) * 1000 / (guint64) sysconf (_SC_CLK_TCK);
}

static guint64
file_size (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

static guint
fds_of (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Watches tendd for WINDOW_MS: little CPU, a log that barely grows. (A window to measure, not a wait.) */
static void
assert_quiet (TendTestDaemon *d)
{
  guint64 cpu0 = cpu_ms (d->pid);
  guint64 log0 = file_size (d->log);
  guint64 cpu1, log1;

  g_usleep (WINDOW_MS * 1000);
  cpu1 = cpu_ms (d->pid);
  log1 = file_size (d->log);
  g_test_message ("over %d ms: %" G_GUINT64_FORMAT " ms of CPU, log grew by %" G_GUINT64_FORMAT " bytes", WINDOW_MS,
                  cpu1 - cpu0, log1 - log0);
  g_assert_cmpuint (cpu1 - cpu0, <, MAX_CPU_MS);
  g_assert_cmpuint (log1 - log0, <, MAX_LOG_GROWTH);
}

typedef struct {
  GDBusConnection *bus;
  const char *service;
  guint want_online;
} StateWait;

/* Every instance has tried: online or waiting for a retry, at least one waiting, none given up. */
static gboolean
saturated (gpointer data)
{
  StateWait *w = data;
  Counts c = count_states (w->bus, w->service);

  g_assert_cmpuint (c.errored, ==, 0);
  return c.other == 0 && c.waiting > 0;
}

static gboolean
all_online (gpointer data)
{
  StateWait *w = data;
  Counts c = count_states (w->bus, w->service);

  g_assert_cmpuint (c.errored, ==, 0);
  return c.online == w->want_online;
}

/* Services that need more descriptors than tendd may have wait and retry; tendd keeps answering. */
static void
test_services_out_of_files (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  StateWait hog = { NULL, "hog", 0 };
  StateWait victim = { NULL, "victim", 4 };
  gint64 t0, took_ms;

  /* soft = hard: raising the soft limit cannot help */
  d->nofile = 128;
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n"
                                    "[service:hog]\nexec=sleep 100000\ninstances=40\n\n"
                                    "[service:victim]\nexec=sleep 100000\ninstances=4\nmax-backoff=2s\nstart=false\n");
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  hog.bus = victim.bus = bus;
  g_assert_true (tend_test_wait (saturated, &hog, 20000));
  g_assert_cmpuint (count_states (bus, "hog").online, >, 0);
  g_assert_true (tend_test_daemon_log_contains (d, "open-file limit reached"));

  /* with every descriptor taken, a new service waits too (and is not given up on) */
  call (bus, "Start", g_variant_new ("(s)", "victim"));
  g_assert_true (tend_test_wait (saturated, &victim, 10000));

  assert_quiet (d);
  g_assert_cmpuint (count_states (bus, "hog").errored, ==, 0);
  g_assert_cmpuint (count_states (bus, "victim").errored, ==, 0);

  /* the control socket answers, at once */
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "status", NULL), ==, 0);
  took_ms = (g_get_monotonic_time () - t0) / 1000;
  g_test_message ("tend status took %" G_GINT64_FORMAT " ms", took_ms);
  g_assert_cmpint (took_ms, <, 5000);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "describe", "victim", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "a limit was reached"));
  g_assert_nonnull (strstr (out, "open-file limit reached"));

  /* descriptors free up: what waited comes online */
  call (bus, "Stop", g_variant_new ("(s)", "hog"));
  g_assert_true (tend_test_wait (all_online, &victim, 20000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static guint
count_in_log (TendTestDaemon *d, const char *needle)
{
  g_autofree char *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (d->log, &text, NULL, NULL))
    return 0;
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* Out of descriptors, accept() fails: tendd waits, says so once, and serves the queued client later. */
static void
test_accept_out_of_files (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GPtrArray) hogs = g_ptr_array_new_with_free_func (g_object_unref);
  const char *status_args[] = { "status", NULL };
  GPid status_pid;

  d->nofile = 64;
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n");
  tend_test_daemon_start (d);
  /* clients until tendd has no descriptor left (near the end, one may be dropped half-way) */
  for (guint tries = 0; fds_of (d->pid) < d->nofile; tries++) {
    g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
    GDBusConnection *hog = g_dbus_connection_new_for_address_sync (
      address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, NULL);
    if (hog != NULL)
      g_ptr_array_add (hogs, hog);
    g_assert_cmpuint (tries, <, 2 * d->nofile);
    g_assert_true (tend_test_pid_alive (d->pid));
  }
  g_test_message ("%u connections hold tendd's %u descriptors", hogs->len, d->nofile);

  /* this one waits in the socket's queue */
  status_pid = tend_test_spawn_cli (d, status_args);
  assert_quiet (d);
  /* said once, however many times it failed */
  g_assert_cmpuint (count_in_log (d, "cannot accept a connection"), ==, 1);
  g_assert_cmpuint (count_in_log (d, "Too many open files"), ==, 1);
  /* still waiting for its answer, not turned away */
  g_assert_cmpint (waitpid (status_pid, NULL, WNOHANG), ==, 0);

  for (guint i = 0; i < hogs->len; i++)
    g_dbus_connection_close_sync (g_ptr_array_index (hogs, i), NULL, NULL);
  g_ptr_array_set_size (hogs, 0);
  g_assert_cmpint (tend_test_wait_cli (status_pid, 20000), ==, 0);
  g_assert_true (tend_test_daemon_log_contains (d, "accepting connections on"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
has_line (gpointer data)
{
  return tend_test_count_lines (data) > 0;
}

/* tendd takes what the hard limit allows; its services start with the soft limit it was given. */
static void
test_limit_raised (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "ulimit");
  g_autofree char *conf = NULL;
  g_autofree char *limits_path = NULL;
  g_autofree char *limits = NULL;
  g_auto(GStrv) lines = NULL;

  d->nofile = 200;
  d->nofile_hard = 4000;
  conf = g_strdup_printf ("[tend]\ndbus=none\n\n[service:probe]\nexec=/bin/sh -c 'ulimit -n > %s; exec sleep 100000'\n",
                          record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_daemon_log_contains (d, "open-file limit raised from 200 to 4000"));
  limits_path = g_strdup_printf ("/proc/%d/limits", (int) d->pid);
  g_assert_true (g_file_get_contents (limits_path, &limits, NULL, NULL));
  g_assert_true (g_regex_match_simple ("Max open files +4000 +4000", limits, 0, 0));
  g_assert_true (tend_test_wait (has_line, record, 10000));
  lines = tend_test_read_lines (record);
  g_assert_cmpstr (lines[0], ==, "200");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/limits/services-out-of-files", test_services_out_of_files);
  g_test_add_func ("/limits/accept-out-of-files", test_accept_out_of_files);
  g_test_add_func ("/limits/limit-raised", test_limit_raised);
  return g_test_run ();
}
