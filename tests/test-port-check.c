/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A check of a service's own port cannot be fooled by a stranger that holds
 * it (the migration plan's incident: an old nohup'd process kept port 7777,
 * the ready-check passed against it while Tend's own instance crash-looped).
 * A real tendd, a real stranger process started by the test, ready-checks
 * (tcp) and health checks (http) of the port; and services that listen
 * themselves, which pass.
 */
#include "config.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-test-daemon.h"

#define HEALTH_PLUGIN "[plugin:health]\nenabled=true\nsample-interval=200ms\n\n"
#define POLL_MS 20

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

static gboolean
port_answers (guint16 port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  addr.sin_port = htons (port);
  ok = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return ok;
}

static gboolean
port_answers_cb (gpointer data)
{
  return port_answers ((guint16) GPOINTER_TO_UINT (data));
}

/* The stranger: @helper on 127.0.0.1:@port, started by the test as a nohup'd process would be
 * (not tendd's child, no TEND_HOME); listening when this returns. */
static GPid
stranger_start (TendTestDaemon *d, const char *helper, guint16 port)
{
  g_autofree char *path = tend_test_helper (helper);
  g_autofree char *record = tend_test_daemon_path (d, "stranger-record");
  g_autofree char *requests = tend_test_daemon_path (d, "stranger-requests");
  g_autofree char *flag = tend_test_daemon_path (d, "stranger-never-unhealthy");
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  const char *argv[] = { path, NULL };
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  GPid pid;

  env = g_environ_unsetenv (env, "TEND_HOME");
  env = g_environ_setenv (env, "PORT", port_text, TRUE);
  env = g_environ_setenv (env, "RECORD", record, TRUE);
  env = g_environ_setenv (env, "REQUESTS", requests, TRUE);
  env = g_environ_setenv (env, "FLAG", flag, TRUE);
  g_assert_true (g_spawn_async (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  tend_test_track_pid (pid);
  g_assert_true (tend_test_wait (port_answers_cb, GUINT_TO_POINTER (port), 15000));
  return pid;
}

static void
stranger_stop (GPid pid)
{
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, NULL, 0), ==, pid);
  tend_test_untrack_pid (pid);
}

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

typedef struct {
  char *state;
  char *status_message;
  char *last_restart_reason;
  guint32 restarts;
} Snapshot;

static void
snapshot_clear (Snapshot *s)
{
  g_free (s->state);
  g_free (s->status_message);
  g_free (s->last_restart_reason);
  memset (s, 0, sizeof *s);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Snapshot, snapshot_clear)

static void
snapshot_take (GDBusConnection *bus, const char *name, Snapshot *s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) top = NULL;
  g_autoptr(GVariantDict) dict = NULL;

  reply = g_dbus_connection_call_sync (bus, NULL, "/org/tend/Tend1", "org.tend.Manager1", "Describe",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(a{sv})"),
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  top = g_variant_get_child_value (reply, 0);
  dict = g_variant_dict_new (top);
  snapshot_clear (s);
  g_assert_true (g_variant_dict_lookup (dict, "state", "s", &s->state));
  g_assert_true (g_variant_dict_lookup (dict, "status-message", "s", &s->status_message));
  g_assert_true (g_variant_dict_lookup (dict, "last-restart-reason", "s", &s->last_restart_reason));
  g_assert_true (g_variant_dict_lookup (dict, "restarts", "u", &s->restarts));
}

/* Whether @message is @prefix "port P is held by pid N (COMMAND), not by this service", COMMAND
 * being @cmdline or, when that is long, its beginning and an ellipsis. */
static gboolean
held_by (const char *message, const char *prefix, guint16 port, GPid pid, const char *cmdline)
{
  g_autofree char *head = g_strdup_printf ("%sport %u is held by pid %d (", prefix, port, (int) pid);
  const char *tail = "), not by this service";
  g_autofree char *command = NULL;

  if (!g_str_has_prefix (message, head) || !g_str_has_suffix (message, tail))
    return FALSE;
  command = g_strndup (message + strlen (head), strlen (message) - strlen (head) - strlen (tail));
  if (g_str_equal (command, cmdline))
    return TRUE;
  return g_str_has_suffix (command, "…") &&
         strncmp (command, cmdline, strlen (command) - strlen ("…")) == 0 && strlen (command) > 40;
}

static gint64
deadline_after_ms (guint ms)
{
  return g_get_monotonic_time () + (gint64) tend_test_scaled_ms (ms) * 1000;
}

static void
log_snapshot (const char *name, const Snapshot *s)
{
  g_test_message ("%s: state %s, restarts %u, status \"%s\", last restart \"%s\"", name, s->state, s->restarts,
                  s->status_message, s->last_restart_reason);
}

static void
test_ready_check_stranger (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *stranger_cmdline = NULL;
  g_autofree char *out = NULL;
  g_auto(Snapshot) s = { 0 };
  guint16 port = free_port ();
  guint16 own_port = free_port ();
  guint16 forked_port = free_port ();
  gboolean seen_message = FALSE;
  GPid stranger;
  gint64 deadline;

  stranger = stranger_start (d, "listener.py", port);
  stranger_cmdline = tend_proc_read_cmdline (stranger);

  /* squatted never listens; crashing tries to bind the port after 1.5 s and exits when it cannot
   * (the incident: Tend's own instance crash-looping on EADDRINUSE); own and forked listen on
   * ports of their own, forked from a child of its main process */
  conf = g_strdup_printf (HEALTH_PLUGIN
                          "[service:squatted]\nexec=@HELPERS@/listener.py\nport=%u\n"
                          "ready-check=tcp://127.0.0.1:%u\n\n"
                          "[service:crashing]\nexec=@HELPERS@/listener.py\nenv=PORT=%u;DELAY_MS=1500\nport=%u\n"
                          "ready-check=tcp://localhost:%u\n\n"
                          "[service:own]\nexec=@HELPERS@/listener.py\nenv=PORT=%u\nport=%u\n"
                          "ready-check=tcp://127.0.0.1:%u\n\n"
                          "[service:forked]\nexec=sh -c '@HELPERS@/listener.py & wait'\nenv=PORT=%u\nport=%u\n"
                          "ready-check=tcp://127.0.0.1\n",
                          port, port, port, port, port, own_port, own_port, own_port, forked_port, forked_port);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  /* the crash loop never looks online, and says why while each run waits */
  deadline = deadline_after_ms (30000);
  for (;;) {
    snapshot_take (bus, "crashing", &s);
    if (g_str_equal (s.state, "online"))
      log_snapshot ("crashing", &s);
    g_assert_cmpstr (s.state, !=, "online");
    if (held_by (s.status_message, "not ready: ", port, stranger, stranger_cmdline)) {
      g_assert_cmpstr (s.state, ==, "launching");
      seen_message = TRUE;
    }
    if (seen_message && s.restarts >= 2)
      break;
    if (g_get_monotonic_time () > deadline)
      log_snapshot ("crashing", &s);
    g_assert_cmpint (g_get_monotonic_time (), <=, deadline);
    g_usleep (POLL_MS * 1000);
  }

  /* squatted waits, and says for whom */
  snapshot_take (bus, "squatted", &s);
  log_snapshot ("squatted", &s);
  g_assert_cmpstr (s.state, ==, "launching");
  g_assert_true (held_by (s.status_message, "not ready: ", port, stranger, stranger_cmdline));
  g_assert_cmpuint (s.restarts, ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "squatted", NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, s.status_message));

  /* services that hold their own port are online */
  snapshot_take (bus, "own", &s);
  deadline = deadline_after_ms (15000);
  while (!g_str_equal (s.state, "online") && g_get_monotonic_time () < deadline) {
    g_usleep (POLL_MS * 1000);
    snapshot_take (bus, "own", &s);
  }
  log_snapshot ("own", &s);
  g_assert_cmpstr (s.state, ==, "online");
  g_assert_cmpstr (s.status_message, ==, "");
  snapshot_take (bus, "forked", &s);
  deadline = deadline_after_ms (15000);
  while (!g_str_equal (s.state, "online") && g_get_monotonic_time () < deadline) {
    g_usleep (POLL_MS * 1000);
    snapshot_take (bus, "forked", &s);
  }
  log_snapshot ("forked", &s);
  g_assert_cmpstr (s.state, ==, "online");

  /* the stranger gone, squatted still cannot be reached: refused, and it says so */
  stranger_stop (stranger);
  deadline = deadline_after_ms (15000);
  do {
    g_usleep (POLL_MS * 1000);
    snapshot_take (bus, "squatted", &s);
  } while (!g_str_equal (s.status_message, "not ready: connection refused") && g_get_monotonic_time () < deadline);
  log_snapshot ("squatted", &s);
  g_assert_cmpstr (s.status_message, ==, "not ready: connection refused");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_http_check_stranger (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *stranger_cmdline = NULL;
  g_autofree char *stranger_requests = tend_test_daemon_path (d, "stranger-requests");
  g_autofree char *own_requests = tend_test_daemon_path (d, "own-requests");
  g_autofree char *own_record = tend_test_daemon_path (d, "own-record");
  g_autofree char *flag = tend_test_daemon_path (d, "never");
  g_autofree char *ok_line = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(Snapshot) s = { 0 };
  guint16 port = free_port ();
  guint16 own_port = free_port ();
  GPid stranger;
  gint64 deadline;

  stranger = stranger_start (d, "http-health.py", port);
  stranger_cmdline = tend_proc_read_cmdline (stranger);

  conf = g_strdup_printf (HEALTH_PLUGIN
                          "[service:squatted]\nexec=@HELPERS@/listener.py\nport=%u\n"
                          "health-check=http://127.0.0.1:%u/health\nhealth-interval=200ms\nhealth-retries=2\n\n"
                          "[service:own]\nexec=@HELPERS@/http-health.py\n"
                          "env=PORT=%u;FLAG=%s;REQUESTS=%s;RECORD=%s\nport=%u\n"
                          /* checked once it listens: a slow start on a loaded machine is no failure */
                          "ready-check=tcp://127.0.0.1\n"
                          "health-check=http://127.0.0.1:%u/health\nhealth-interval=200ms\nhealth-retries=2\n",
                          port, port, own_port, flag, own_requests, own_record, own_port, own_port);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  bus = connect_bus (d);

  /* the stranger answers 200, and the check fails all the same: it is not the service */
  deadline = deadline_after_ms (20000);
  do {
    g_usleep (POLL_MS * 1000);
    snapshot_take (bus, "squatted", &s);
  } while (s.restarts == 0 && g_get_monotonic_time () < deadline);
  log_snapshot ("squatted", &s);
  g_assert_cmpuint (s.restarts, >=, 1);
  g_assert_true (held_by (s.last_restart_reason, "health check failed: ", port, stranger, stranger_cmdline));
  /* it was asked, and answered */
  g_assert_true (tend_test_wait_lines (stranger_requests, 1, 10000));
  lines = tend_test_read_lines (stranger_requests);
  ok_line = g_strdup_printf ("%d 200", (int) stranger);
  g_assert_cmpstr (lines[0], ==, ok_line);

  /* a healthy service on its own port: many checks, no restart */
  if (!tend_test_wait_lines (own_record, 1, 20000) || !tend_test_wait_lines (own_requests, 6, 20000)) {
    g_autofree char *log = NULL;
    g_file_get_contents (d->log, &log, NULL, NULL);
    snapshot_take (bus, "own", &s);
    log_snapshot ("own", &s);
    g_test_message ("tendd's output:\n%s", log);
    g_assert_not_reached ();
  }
  snapshot_take (bus, "own", &s);
  log_snapshot ("own", &s);
  g_assert_cmpstr (s.state, ==, "online");
  g_assert_cmpuint (s.restarts, ==, 0);
  g_assert_cmpstr (s.last_restart_reason, ==, "");

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  stranger_stop (stranger);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/port-check/ready-check-stranger", test_ready_check_stranger);
  g_test_add_func ("/port-check/http-check-stranger", test_http_check_stranger);
  return g_test_run ();
}
