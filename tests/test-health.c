/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The health plugin with a real tendd: memory limit, health checks (http, tcp,
 * exec), ready-check, notify, depends-on, CPU and memory of process trees.
 * Figures and states are read over D-Bus on the control socket.
 */
#include "config.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-test-daemon.h"

#define HEALTH_PLUGIN "[plugin:health]\nenabled=true\nsample-interval=200ms\n\n"
#define POLL_MS 20

/* ---- D-Bus on the control socket ---- */

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

static GVariant *
call (GDBusConnection *bus, const char *method, GVariant *args, const char *reply_type)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply;

  reply = g_dbus_connection_call_sync (bus, NULL, "/org/tend/Tend1", "org.tend.Manager1", method, args,
                                       G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  return reply;
}

/* What the tests look at, from Describe: the service as a whole, and its first instance. */
typedef struct {
  char *state;
  char *status_message;
  char *last_restart_reason;
  char *notify_status;
  gint32 pid;
  guint32 restarts;
  double cpu_percent;
  double cpu_seconds;
  guint64 memory_rss;
  guint32 processes;
  gboolean figures_known;
} Snapshot;

static void
snapshot_clear (Snapshot *s)
{
  g_free (s->state);
  g_free (s->status_message);
  g_free (s->last_restart_reason);
  g_free (s->notify_status);
  memset (s, 0, sizeof *s);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Snapshot, snapshot_clear)

static void
snapshot_take (GDBusConnection *bus, const char *name, Snapshot *s)
{
  g_autoptr(GVariant) reply = call (bus, "Describe", g_variant_new ("(s)", name), "(a{sv})");
  g_autoptr(GVariant) top = g_variant_get_child_value (reply, 0);
  g_autoptr(GVariantDict) dict = g_variant_dict_new (top);
  g_autoptr(GVariant) rows = g_variant_dict_lookup_value (dict, "instance-list", G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariantDict) instance = NULL;

  snapshot_clear (s);
  g_assert_true (g_variant_dict_lookup (dict, "state", "s", &s->state));
  g_assert_true (g_variant_dict_lookup (dict, "status-message", "s", &s->status_message));
  g_assert_true (g_variant_dict_lookup (dict, "last-restart-reason", "s", &s->last_restart_reason));
  g_assert_true (g_variant_dict_lookup (dict, "pid", "i", &s->pid));
  g_assert_true (g_variant_dict_lookup (dict, "restarts", "u", &s->restarts));
  g_assert_true (g_variant_dict_lookup (dict, "cpu-percent", "d", &s->cpu_percent));
  g_assert_true (g_variant_dict_lookup (dict, "memory-rss", "t", &s->memory_rss));
  g_assert_true (g_variant_dict_lookup (dict, "figures-known", "b", &s->figures_known));
  g_assert_nonnull (rows);
  g_assert_cmpuint (g_variant_n_children (rows), >=, 1);
  first = g_variant_get_child_value (rows, 0);
  instance = g_variant_dict_new (first);
  g_assert_true (g_variant_dict_lookup (instance, "notify-status", "s", &s->notify_status));
  g_assert_true (g_variant_dict_lookup (instance, "processes", "u", &s->processes));
  g_assert_true (g_variant_dict_lookup (instance, "cpu-seconds", "d", &s->cpu_seconds));
}

typedef gboolean (*SnapshotCheck) (const Snapshot *s, gconstpointer data);

/* Polls Describe until @check holds (then @out, if given, is that snapshot); FALSE after @timeout_ms. */
static gboolean
wait_snapshot (GDBusConnection *bus, const char *name, SnapshotCheck check, gconstpointer data, guint timeout_ms,
               Snapshot *out)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_auto(Snapshot) s = { 0 };

  for (;;) {
    snapshot_take (bus, name, &s);
    if (check (&s, data)) {
      if (out != NULL) {
        snapshot_clear (out);
        *out = s;
        memset (&s, 0, sizeof s);
      }
      return TRUE;
    }
    if (g_get_monotonic_time () > deadline) {
      g_test_message ("%s: state %s, pid %d, restarts %u, status \"%s\", reason \"%s\", cpu %.1f%%, "
                      "rss %" G_GUINT64_FORMAT ", %u processes", name, s.state, s.pid, s.restarts, s.status_message,
                      s.last_restart_reason, s.cpu_percent, s.memory_rss, s.processes);
      return FALSE;
    }
    g_usleep (POLL_MS * 1000);
  }
}

static gboolean
in_state (const Snapshot *s, gconstpointer state)
{
  return g_str_equal (s->state, state);
}

static gboolean
restarted (const Snapshot *s, gconstpointer data)
{
  return s->restarts > 0;
}

/* A counter (u or t) of the health plugin's status (ListPlugins). */
static guint64
health_status (GDBusConnection *bus, const char *key)
{
  g_autoptr(GVariant) reply = call (bus, "ListPlugins", NULL, "(aa{sv})");
  g_autoptr(GVariant) plugins = g_variant_get_child_value (reply, 0);

  for (gsize i = 0; i < g_variant_n_children (plugins); i++) {
    g_autoptr(GVariant) row = g_variant_get_child_value (plugins, i);
    g_autoptr(GVariantDict) dict = g_variant_dict_new (row);
    g_autoptr(GVariant) status = NULL;
    g_autoptr(GVariantDict) status_dict = NULL;
    g_autoptr(GVariant) value = NULL;
    g_autofree char *name = NULL;

    g_assert_true (g_variant_dict_lookup (dict, "name", "s", &name));
    if (!g_str_equal (name, "health"))
      continue;
    status = g_variant_dict_lookup_value (dict, "status", G_VARIANT_TYPE_VARDICT);
    g_assert_nonnull (status);
    status_dict = g_variant_dict_new (status);
    value = g_variant_dict_lookup_value (status_dict, key, NULL);
    g_assert_nonnull (value);
    if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
      return g_variant_get_uint32 (value);
    g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64));
    return g_variant_get_uint64 (value);
  }
  g_error ("no health plugin in ListPlugins");
}

/* ---- small helpers ---- */

/* A port nothing listens on right now (the kernel's pick, released at once). */
static guint16
free_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

static void
touch (const char *path)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, "", 0, &error);
  g_assert_no_error (error);
}

/* The CLOCK_REALTIME stamp (ns) of the first line of a "PID NS" file written by a helper. */
static gint64
first_stamp_ns (const char *path)
{
  g_auto(GStrv) lines = tend_test_read_lines (path);
  const char *space;

  g_assert_cmpuint (g_strv_length (lines), >=, 1);
  space = strchr (lines[0], ' ');
  g_assert_nonnull (space);
  return g_ascii_strtoll (space + 1, NULL, 10);
}

static gint64
last_stamp_ns (const char *path)
{
  g_auto(GStrv) lines = tend_test_read_lines (path);
  guint n = g_strv_length (lines);
  const char *space;

  g_assert_cmpuint (n, >=, 1);
  space = strchr (lines[n - 1], ' ');
  g_assert_nonnull (space);
  return g_ascii_strtoll (space + 1, NULL, 10);
}

static guint
count_lines_equal (const char *path, const char *line)
{
  g_auto(GStrv) lines = tend_test_read_lines (path);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_equal (lines[i], line);
  return n;
}

static guint64
vm_rss_bytes (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *at;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  at = strstr (text, "\nVmRSS:");
  g_assert_nonnull (at);
  return g_ascii_strtoull (at + strlen ("\nVmRSS:"), NULL, 10) * 1024;
}

static gboolean
file_exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* ---- memory limit ---- */

static void
test_memory_limit (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  g_auto(Snapshot) s = { 0 };
  g_autoptr(GRegex) re = g_regex_new ("^memory limit 40M exceeded: (\\d+)M$", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *used = NULL;
  pid_t first;

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:grow]\nexec=@HELPERS@/grow-memory.py\n"
                          "env=RECORD=%s;STEP_MB=8;STEP_MS=100\nmax-memory-restart=40M\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  first = tend_test_record_pid (record, 0);

  g_assert_true (wait_snapshot (bus, "grow", restarted, NULL, 15000, &s));
  if (!g_regex_match (re, s.last_restart_reason, 0, &match))
    g_error ("unexpected restart reason \"%s\"", s.last_restart_reason);
  used = g_match_info_fetch (match, 1);
  g_assert_cmpint (atoi (used), >, 40);
  /* the process that passed the limit is gone, and a new one runs */
  g_assert_true (tend_test_wait_pid_gone (first, 5000));
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  g_assert_cmpint (tend_test_record_pid (record, 1), !=, first);
  g_assert_cmpuint (health_status (bus, "memory-restarts"), >, 0);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* ---- health checks ---- */

static void
test_http_check (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *requests = tend_test_daemon_path (d, "requests");
  g_autofree char *flag = tend_test_daemon_path (d, "unhealthy");
  g_autofree char *conf = NULL;
  g_autofree char *ok_line = NULL;
  g_autofree char *failed_line = NULL;
  g_auto(Snapshot) s = { 0 };
  guint16 port = free_port ();
  pid_t first;

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:web]\nexec=@HELPERS@/http-health.py\n"
                          "env=PORT=%u;FLAG=%s;REQUESTS=%s;RECORD=%s\n"
                          "health-check=http://127.0.0.1:%u/health\nhealth-interval=200ms\nhealth-retries=3\n"
                          /* checks start once it listens: python may take longer than 3 x 200 ms to start */
                          "ready-check=tcp://127.0.0.1:%u\n",
                          port, flag, requests, record, port, port);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (tend_test_wait_lines (record, 1, 10000));
  first = tend_test_record_pid (record, 0);
  ok_line = g_strdup_printf ("%d 200", (int) first);
  failed_line = g_strdup_printf ("%d 503", (int) first);

  /* healthy: checks pass and nothing happens */
  g_assert_true (tend_test_wait_lines (requests, 2, 10000));
  g_assert_cmpuint (count_lines_equal (requests, ok_line), >=, 2);
  snapshot_take (bus, "web", &s);
  g_assert_cmpstr (s.state, ==, "online");
  g_assert_cmpuint (s.restarts, ==, 0);

  touch (flag);
  g_assert_true (wait_snapshot (bus, "web", restarted, NULL, 10000, &s));
  g_assert_cmpstr (s.last_restart_reason, ==, "health check failed: HTTP 503");
  g_assert_true (tend_test_wait_pid_gone (first, 5000));
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  g_unlink (flag);
  /* exactly health-retries failures, then the restart: no fourth request reached the old process */
  g_assert_cmpuint (count_lines_equal (requests, failed_line), ==, 3);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_tcp_check_healthy (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *listened = tend_test_daemon_path (d, "listened");
  g_autofree char *conf = NULL;
  g_auto(Snapshot) s = { 0 };
  guint16 port = free_port ();
  guint64 runs_before;
  gint64 end;

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:tcp]\nexec=@HELPERS@/listener.py\n"
                          "env=PORT=%u;LISTENED=%s;RECORD=%s\nport=%u\n"
                          "health-check=tcp://127.0.0.1:%u\nhealth-interval=200ms\nhealth-retries=3\n"
                          "ready-check=tcp://127.0.0.1:%u\n",
                          port, listened, record, port, port, port);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (tend_test_wait (file_exists, listened, 10000));
  g_assert_true (wait_snapshot (bus, "tcp", in_state, "online", 10000, &s));
  runs_before = health_status (bus, "checks-run");

  /* ~2 s of checks every 200 ms against the service's own port: never a restart */
  end = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end) {
    snapshot_take (bus, "tcp", &s);
    g_assert_cmpstr (s.state, ==, "online");
    g_assert_cmpuint (s.restarts, ==, 0);
    g_usleep (50 * 1000);
  }
  g_assert_cmpuint (health_status (bus, "checks-run") - runs_before, >=, 4);
  g_assert_cmpuint (tend_test_count_lines (record), ==, 1);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_tcp_check_refused (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  g_auto(Snapshot) s = { 0 };
  guint16 closed = free_port ();

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:tcp]\nexec=@HELPERS@/listener.py\nenv=RECORD=%s\n"
                          "health-check=tcp://127.0.0.1:%u\nhealth-interval=200ms\nhealth-retries=2\n",
                          record, closed);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (wait_snapshot (bus, "tcp", restarted, NULL, 10000, &s));
  g_assert_cmpstr (s.last_restart_reason, ==, "health check failed: connection refused");
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* Live `sleep 30` processes started by this test's daemon (they carry its TEND_HOME). */
static GArray *
find_check_sleeps (TendTestDaemon *d)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  GArray *found = g_array_new (FALSE, FALSE, sizeof (TendProcInfo));

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) p->pid);
    g_autofree char *cmdline = NULL;
    g_autofree char *home = NULL;
    gsize len = 0;

    if (p->state == 'Z' || !g_file_get_contents (path, &cmdline, &len, NULL))
      continue;
    if (len != sizeof "sleep\0" "30" || memcmp (cmdline, "sleep\0" "30", len) != 0)
      continue;
    home = tend_proc_environ_get (p->pid, "TEND_HOME");
    if (g_strcmp0 (home, d->home) == 0)
      g_array_append_val (found, *p);
  }
  return found;
}

static gboolean
group_alive (pid_t pgid)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    if (p->pgid == pgid && p->state != 'Z')
      return TRUE;
  }
  return FALSE;
}

static gboolean
group_gone (gpointer data)
{
  return !group_alive (GPOINTER_TO_INT (data));
}

static void
test_exec_check_timeout (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  g_autoptr(GArray) groups = g_array_new (FALSE, FALSE, sizeof (pid_t));
  g_auto(Snapshot) s = { 0 };
  gint64 deadline;

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:hang]\nexec=@HELPERS@/record-start.sh\nenv=RECORD=%s\n"
                          "health-check=exec:sleep 30\nhealth-timeout=300ms\nhealth-interval=200ms\n"
                          "health-retries=2\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  /* each hanging check is gone, with its group, soon after its 300 ms */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (groups->len < 2) {
    g_autoptr(GArray) sleeps = find_check_sleeps (d);
    for (guint i = 0; i < sleeps->len; i++) {
      TendProcInfo *p = &g_array_index (sleeps, TendProcInfo, i);
      gboolean known = FALSE;
      for (guint j = 0; j < groups->len; j++)
        known |= g_array_index (groups, pid_t, j) == p->pgid;
      if (known)
        continue;
      g_array_append_val (groups, p->pgid);
      /* its own group, not the daemon's nor the service's */
      g_assert_cmpint (p->pgid, !=, getpgid (d->pid));
      g_assert_true (tend_test_wait (group_gone, GINT_TO_POINTER (p->pgid), 1500));
    }
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (5 * 1000);
  }

  g_assert_true (wait_snapshot (bus, "hang", restarted, NULL, 10000, &s));
  g_assert_cmpstr (s.last_restart_reason, ==, "health check failed: timed out after 300ms");
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  for (guint j = 0; j < groups->len; j++)
    g_assert_false (group_alive (g_array_index (groups, pid_t, j)));
  {
    g_autoptr(GArray) left = find_check_sleeps (d);
    g_assert_cmpuint (left->len, ==, 0);
  }
}

/* An exec check runs with the service's environment (env-file, then env), not with tendd's NOTIFY_SOCKET. */
static void
test_exec_check_environment (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *env_file = tend_test_daemon_path (d, "service.env");
  g_autofree char *conf = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Snapshot) s = { 0 };
  guint64 runs;

  g_file_set_contents (env_file, "FROM_FILE=file\nOVERRIDDEN=file\n", -1, &error);
  g_assert_no_error (error);
  conf = g_strdup_printf (HEALTH_PLUGIN "[service:env]\nexec=sleep 100000\nenv-file=%s\nenv=OVERRIDDEN=env\n"
                          "health-check=exec:test \"$FROM_FILE $OVERRIDDEN\" = \"file env\" && test -z \"$NOTIFY_SOCKET\"\n"
                          "health-interval=200ms\nhealth-retries=1\n", env_file);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (wait_snapshot (bus, "env", in_state, "online", 10000, NULL));
  runs = health_status (bus, "checks-run");
  /* one failure would restart it: several checks in a row pass */
  while (health_status (bus, "checks-run") < runs + 4) {
    snapshot_take (bus, "env", &s);
    g_assert_cmpuint (s.restarts, ==, 0);
    g_usleep (POLL_MS * 1000);
  }
  snapshot_take (bus, "env", &s);
  g_assert_cmpuint (s.restarts, ==, 0);
  g_assert_cmpstr (s.last_restart_reason, ==, "");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* ---- readiness ---- */

static void
test_ready_check (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *listened = tend_test_daemon_path (d, "listened");
  g_autofree char *conf = NULL;
  g_auto(Snapshot) s = { 0 };
  guint16 port = free_port ();
  gboolean seen_launching = FALSE;
  gint64 deadline;

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:late]\nexec=@HELPERS@/listener.py\n"
                          "env=PORT=%u;DELAY_MS=1000;LISTENED=%s;RECORD=%s\nready-check=tcp://127.0.0.1:%u\n",
                          port, listened, record, port);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  for (;;) {
    snapshot_take (bus, "late", &s);
    if (g_str_equal (s.state, "launching")) {
      /* spawned, and waiting for its port */
      g_assert_cmpint (s.pid, >, 0);
      seen_launching = TRUE;
    } else {
      g_assert_cmpstr (s.state, ==, "online");
      break;
    }
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (POLL_MS * 1000);
  }
  g_assert_true (seen_launching);
  /* online only once the port answered */
  g_assert_true (g_file_test (listened, G_FILE_TEST_EXISTS));
  g_assert_cmpint (first_stamp_ns (listened), <=, g_get_real_time () * 1000);
  g_assert_cmpint (first_stamp_ns (listened) - first_stamp_ns (record), >=, 1000 * G_GINT64_CONSTANT (1000000));
  g_assert_cmpuint (s.restarts, ==, 0);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
notify_status_is (const Snapshot *s, gconstpointer text)
{
  return g_str_equal (s->notify_status, text);
}

static void
test_notify (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *flag = tend_test_daemon_path (d, "go");
  g_autofree char *envfile = tend_test_daemon_path (d, "notify-socket");
  g_autofree char *expected = NULL;
  g_autofree char *conf = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(Snapshot) s = { 0 };
  gint64 end;

  conf = g_strdup_printf (HEALTH_PLUGIN "[service:notifier]\nexec=@HELPERS@/notify-ready.py\n"
                          "env=FLAG=%s;ENVFILE=%s\nnotify=true\n", flag, envfile);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  /* the service got the plugin's socket, not the test's own NOTIFY_SOCKET that tendd got */
  g_assert_true (tend_test_wait_lines (envfile, 1, 10000));
  lines = tend_test_read_lines (envfile);
  expected = g_build_filename (d->home, "notify.sock", NULL);
  g_assert_cmpstr (lines[0], ==, expected);

  g_assert_true (wait_snapshot (bus, "notifier", notify_status_is, "waiting for the flag", 10000, &s));
  g_assert_cmpstr (s.state, ==, "launching");
  g_assert_cmpint (s.pid, >, 0);
  /* without READY=1 it stays launching */
  end = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < end) {
    snapshot_take (bus, "notifier", &s);
    g_assert_cmpstr (s.state, ==, "launching");
    g_usleep (50 * 1000);
  }

  touch (flag);
  g_assert_true (wait_snapshot (bus, "notifier", in_state, "online", 10000, &s));
  g_assert_cmpstr (s.notify_status, ==, "serving");
  g_assert_cmpuint (s.restarts, ==, 0);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* Sends one datagram to a NOTIFY_SOCKET address ("@name" is the abstract namespace, as sd_notify reads it). */
static gboolean
send_notify (const char *address, const char *text)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (address);
  socklen_t addr_len;
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (len, <, sizeof addr.sun_path);
  memcpy (addr.sun_path, address, len);
  if (address[0] == '@')
    addr.sun_path[0] = '\0';
  addr_len = (socklen_t) (G_STRUCT_OFFSET (struct sockaddr_un, sun_path) + len);
  ok = sendto (fd, text, strlen (text), 0, (struct sockaddr *) &addr, addr_len) == (ssize_t) strlen (text);
  close (fd);
  return ok;
}

/* A service that runs as another user can notify too, and only its own processes speak for it. */
static void
test_notify_as_user (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *shared = tend_test_daemon_path (d, "shared");
  g_autofree char *flag = g_build_filename (shared, "go", NULL);
  g_autofree char *envfile = g_build_filename (shared, "notify-socket", NULL);
  g_autofree char *conf = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(Snapshot) s = { 0 };
  gint64 end;

  if (geteuid () != 0) {
    g_test_skip ("running a service as nobody needs root");
    return;
  }
  /* the helper, running as nobody, writes and reads files here */
  g_assert_cmpint (g_mkdir (shared, 0777), ==, 0);
  g_assert_cmpint (g_chmod (shared, 0777), ==, 0);
  g_assert_cmpint (g_chmod (d->dir, 0711), ==, 0);
  conf = g_strdup_printf (HEALTH_PLUGIN "[service:notifier]\nexec=@HELPERS@/notify-ready.py\nuser=nobody\n"
                          "env=FLAG=%s;ENVFILE=%s\nnotify=true\n", flag, envfile);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  g_assert_true (tend_test_wait_lines (envfile, 1, 10000));
  lines = tend_test_read_lines (envfile);
  g_test_message ("NOTIFY_SOCKET of a service run as nobody: %s", lines[0]);
  g_assert_true (wait_snapshot (bus, "notifier", notify_status_is, "waiting for the flag", 10000, &s));
  g_assert_cmpstr (s.state, ==, "launching");

  /* anyone can reach the socket, but a process outside the service's tree does not speak for it */
  g_assert_true (send_notify (lines[0], "READY=1\nSTATUS=forged"));
  end = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < end) {
    snapshot_take (bus, "notifier", &s);
    g_assert_cmpstr (s.state, ==, "launching");
    g_assert_cmpstr (s.notify_status, ==, "waiting for the flag");
    g_usleep (50 * 1000);
  }

  touch (flag);
  g_assert_true (wait_snapshot (bus, "notifier", in_state, "online", 10000, &s));
  g_assert_cmpstr (s.notify_status, ==, "serving");
  g_assert_cmpuint (s.restarts, ==, 0);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* ---- depends-on ---- */

static void
test_depends_on (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *a_record = tend_test_daemon_path (d, "a-record");
  g_autofree char *a_stops = tend_test_daemon_path (d, "a-stops");
  g_autofree char *b_record = tend_test_daemon_path (d, "b-record");
  g_autofree char *b_listened = tend_test_daemon_path (d, "b-listened");
  g_autofree char *b_stops = tend_test_daemon_path (d, "b-stops");
  g_autofree char *conf = NULL;
  g_auto(Snapshot) a = { 0 };
  g_auto(Snapshot) b = { 0 };
  guint16 port = free_port ();
  gboolean seen_waiting = FALSE;
  gint64 deadline;

  /* a is first in the file: the order of the file is not the order of the start */
  conf = g_strdup_printf (HEALTH_PLUGIN "[service:a]\nexec=@HELPERS@/listener.py\nenv=RECORD=%s;STOPS=%s\n"
                          "depends-on=b\n\n"
                          "[service:b]\nexec=@HELPERS@/listener.py\n"
                          "env=PORT=%u;DELAY_MS=500;LISTENED=%s;RECORD=%s;STOPS=%s\n"
                          "ready-check=tcp://127.0.0.1:%u\n",
                          a_record, a_stops, port, b_listened, b_record, b_stops, port);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  for (;;) {
    snapshot_take (bus, "a", &a);
    snapshot_take (bus, "b", &b);
    if (!g_str_equal (b.state, "online")) {
      /* b not online (and so not when a was read, just before): a is held, with no process */
      g_assert_cmpstr (a.state, ==, "launching");
      g_assert_cmpint (a.pid, ==, 0);
      g_assert_true (g_str_has_prefix (a.status_message, "waiting for b"));
      seen_waiting = TRUE;
    }
    if (g_str_equal (a.state, "online"))
      break;
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (POLL_MS * 1000);
  }
  g_assert_true (seen_waiting);
  g_assert_true (tend_test_wait_lines (a_record, 1, 10000));
  g_assert_true (tend_test_wait_lines (b_record, 1, 10000));
  /* b is online only after it listens; a started after that */
  g_assert_cmpint (first_stamp_ns (a_record), >, first_stamp_ns (b_listened));
  g_assert_cmpstr (a.status_message, ==, "");

  /* stop all: a stops before b, which it depends on */
  {
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync (bus, NULL, "/org/tend/Tend1", "org.tend.Manager1", "Stop",
                                                             g_variant_new ("(s)", "all"), NULL,
                                                             G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    g_assert_nonnull (reply);
  }
  g_assert_true (tend_test_wait_lines (a_stops, 1, 10000));
  g_assert_true (tend_test_wait_lines (b_stops, 1, 10000));
  g_assert_cmpint (first_stamp_ns (a_stops), <, first_stamp_ns (b_stops));
  {
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync (bus, NULL, "/org/tend/Tend1", "org.tend.Manager1", "Start",
                                                             g_variant_new ("(s)", "all"), NULL,
                                                             G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    g_assert_nonnull (reply);
  }
  g_assert_true (tend_test_wait_lines (a_record, 2, 15000));

  /* SIGTERM: the same order */
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_assert_cmpuint (tend_test_count_lines (a_stops), ==, 2);
  g_assert_cmpuint (tend_test_count_lines (b_stops), ==, 2);
  g_assert_cmpint (last_stamp_ns (a_stops), <, last_stamp_ns (b_stops));
}

static void
test_dependency_cycle (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *output = NULL;

  tend_test_daemon_write_config (d, HEALTH_PLUGIN
                                 "[service:a]\nexec=sleep 100000\ndepends-on=b\n\n"
                                 "[service:b]\nexec=sleep 100000\ndepends-on=c\n\n"
                                 "[service:c]\nexec=sleep 100000\ndepends-on=a\n\n"
                                 "[service:free]\nexec=sleep 100000\n");
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, 20000));
  g_assert_true (WIFEXITED (d->exit_status));
  g_assert_cmpint (WEXITSTATUS (d->exit_status), ==, 1);
  g_file_get_contents (d->log, &output, NULL, NULL);
  if (strstr (output, "dependency cycle: a -> b -> c -> a") == NULL)
    g_error ("no message naming the cycle in:\n%s", output);
  {
    g_autoptr(GArray) left = tend_test_daemon_leftovers (d);
    g_assert_cmpuint (left->len, ==, 0);
  }
}

/* ---- figures ---- */

/* A busy loop shows clearly, even when other tests keep both cores busy and it gets only part of one. */
static gboolean
cpu_clearly_busy (const Snapshot *s, gconstpointer data)
{
  return s->cpu_percent > 20 && s->cpu_seconds > 0.1;
}

/* utime + stime of @pid from /proc, in seconds */
static double
proc_cpu_seconds (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_comm;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  after_comm = strrchr (text, ')');
  g_assert_nonnull (after_comm);
  fields = g_strsplit (after_comm + 2, " ", -1);
  /* fields[0] is the state (field 3): utime and stime are fields 14 and 15 */
  g_assert_cmpuint (g_strv_length (fields), >, 13);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

static gboolean
sampled (const Snapshot *s, gconstpointer data)
{
  return s->processes > 0 && s->figures_known;
}

static void
test_cpu (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_auto(Snapshot) s = { 0 };
  guint64 passes;

  /* the loop gets a core even when other tests keep both busy (nice needs root to go below 0; it
   * runs the command anyway) */
  tend_test_daemon_write_config (d, HEALTH_PLUGIN
                                 "[service:busy]\nexec=nice -n -10 /bin/sh -c 'while :; do :; done'\n\n"
                                 "[service:idle]\nexec=sleep 100000\n");
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  g_assert_true (wait_snapshot (bus, "busy", cpu_clearly_busy, NULL, 15000, &s));
  /* at most one core: one process */
  g_assert_cmpfloat (s.cpu_percent, <, 150);
  g_assert_cmpuint (s.processes, ==, 1);
  {
    /* the figure is the process's own: read just after the sample, the kernel's count can only be
     * ahead of it, by at most the time since (a sample interval and the round trip; 1 s is ample) */
    double actual = proc_cpu_seconds (s.pid);
    g_assert_cmpfloat (s.cpu_seconds, <=, actual + 0.02);
    g_assert_cmpfloat (s.cpu_seconds, >=, actual - 1.0);
  }
  g_variant_unref (call (bus, "Stop", g_variant_new ("(s)", "busy"), "()"));
  g_assert_true (wait_snapshot (bus, "busy", in_state, "stopped", 10000, NULL));

  /* the sleeper, over a few samples */
  g_assert_true (wait_snapshot (bus, "idle", sampled, NULL, 10000, NULL));
  passes = health_status (bus, "passes");
  for (guint seen = 0; seen < 4;) {
    guint64 now = health_status (bus, "passes");
    if (now > passes) {
      snapshot_take (bus, "idle", &s);
      g_assert_cmpfloat (s.cpu_percent, <, 5);
      g_assert_cmpuint (s.processes, ==, 1);
      passes = now;
      seen++;
    }
    g_usleep (POLL_MS * 1000);
  }

  /* the stopped service uses nothing: no figure of its last run is left behind, and they are unknown */
  snapshot_take (bus, "busy", &s);
  g_assert_false (s.figures_known);
  g_assert_cmpfloat (s.cpu_percent, ==, 0);
  g_assert_cmpuint (s.memory_rss, ==, 0);
  g_assert_cmpuint (s.processes, ==, 0);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
tree_sampled (const Snapshot *s, gconstpointer data)
{
  return s->memory_rss > 50 * 1024 * 1024 && s->processes >= 2;
}

static void
test_rss_of_tree (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_auto(Snapshot) s = { 0 };
  guint64 main_rss;

  /* the main process (a shell) stays small; its child holds ~60 MB */
  tend_test_daemon_write_config (d, HEALTH_PLUGIN
                                 "[service:tree]\n"
                                 "exec=/bin/sh -c 'STEP_MB=60 MAX_MB=60 @HELPERS@/grow-memory.py & wait'\n");
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (wait_snapshot (bus, "tree", tree_sampled, NULL, 15000, &s));
  main_rss = vm_rss_bytes (s.pid);
  g_test_message ("tree: %" G_GUINT64_FORMAT " bytes in %u processes; main process %" G_GUINT64_FORMAT,
                  s.memory_rss, s.processes, main_rss);
  g_assert_cmpuint (main_rss, <, 10 * 1024 * 1024);
  g_assert_cmpuint (s.memory_rss, >, main_rss + 50 * 1024 * 1024);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* ---- the tree's membership is the one stop uses ---- */

static gboolean
processes_are (const Snapshot *s, gconstpointer data)
{
  return s->processes == GPOINTER_TO_UINT (data);
}

/* The one "sleep 100" tendd's tree holds (0 until there is exactly one); tracked so a failure ends it. */
static pid_t
find_escapee (TendTestDaemon *d)
{
  g_autoptr(GArray) found = tend_test_find_descendants (d->pid, "sleep 100");

  if (found->len != 1)
    return 0;
  tend_test_track_pid (g_array_index (found, pid_t, 0));
  return g_array_index (found, pid_t, 0);
}

static void
end_escapee (pid_t pid)
{
  if (pid > 0 && tend_test_pid_alive (pid))
    kill (pid, SIGKILL);
  tend_test_untrack_pid (pid);
}

/* A descendant that cleared its environment and left the session still counts, as it does for stop. */
static void
test_tree_env_cleared (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_auto(Snapshot) s = { 0 };
  gint64 deadline;
  pid_t escapee = 0;

  if (!tend_test_cgroups_writable ()) {
    g_test_skip ("exact trees need root and a writable cgroup v2 hierarchy; /health/tree-remembered covers the rest");
    return;
  }
  tend_test_daemon_write_config (d, HEALTH_PLUGIN
                                 "[service:escaper]\nexec=sh -c '(env -i setsid sleep 100 &); exec sleep 200'\n");
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((escapee = find_escapee (d)) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (POLL_MS * 1000);
  g_assert_cmpint (escapee, >, 0);
  /* the main process (sleep 200) and the escaped sleep 100 */
  g_assert_true (wait_snapshot (bus, "escaper", processes_are, GUINT_TO_POINTER (2), 10000, &s));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_assert_false (tend_test_pid_alive (escapee));
  end_escapee (escapee);
}

typedef struct {
  TendTestDaemon *d;
  pid_t pid;
} Orphan;

static gboolean
escapee_orphaned (gpointer data)
{
  Orphan *o = data;
  TendProcInfo info;

  if (o->pid == 0)
    o->pid = find_escapee (o->d);
  return o->pid > 0 && tend_proc_read_stat (o->pid, &info) && info.ppid == o->d->pid;
}

/* Without cgroups: the sampler remembers a member whose parent died, as the process backend does. */
static void
test_tree_remembered (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_auto(Snapshot) s = { 0 };
  Orphan o = { d, 0 };
  guint64 passes;

  tend_test_daemon_write_config (d, HEALTH_PLUGIN "[plugin:process]\ncgroups=false\n\n[service:escaper]\n"
                                    "exec=sh -c '(env -i setsid sleep 100 & sleep 1); exec sleep 200'\n");
  tend_test_daemon_start (d);
  bus = connect_bus (d);
  g_assert_true (tend_test_wait (escapee_orphaned, &o, 15000));
  /* several passes after it came back to tendd: still counted */
  passes = health_status (bus, "passes");
  for (guint seen = 0; seen < 3;) {
    guint64 now = health_status (bus, "passes");
    if (now > passes) {
      snapshot_take (bus, "escaper", &s);
      g_assert_cmpuint (s.processes, ==, 2);
      passes = now;
      seen++;
    }
    g_usleep (POLL_MS * 1000);
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_assert_false (tend_test_pid_alive (o.pid));
  end_escapee (o.pid);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/memory-limit", test_memory_limit);
  g_test_add_func ("/health/http-check", test_http_check);
  g_test_add_func ("/health/tcp-check-healthy", test_tcp_check_healthy);
  g_test_add_func ("/health/tcp-check-refused", test_tcp_check_refused);
  g_test_add_func ("/health/exec-check-timeout", test_exec_check_timeout);
  g_test_add_func ("/health/exec-check-environment", test_exec_check_environment);
  g_test_add_func ("/health/ready-check", test_ready_check);
  g_test_add_func ("/health/notify", test_notify);
  g_test_add_func ("/health/notify-as-user", test_notify_as_user);
  g_test_add_func ("/health/depends-on", test_depends_on);
  g_test_add_func ("/health/dependency-cycle", test_dependency_cycle);
  g_test_add_func ("/health/cpu", test_cpu);
  g_test_add_func ("/health/rss-of-tree", test_rss_of_tree);
  g_test_add_func ("/health/tree-env-cleared", test_tree_env_cleared);
  g_test_add_func ("/health/tree-remembered", test_tree_remembered);
  return g_test_run ();
}
