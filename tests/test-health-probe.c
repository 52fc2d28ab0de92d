/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The health plugin's probes against real servers and commands on 127.0.0.1. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#include "tend-error.h"
#include "tend-health-probe.h"

/* Long enough for a loaded machine; every wait in here should take milliseconds. */
#define DEADLINE_MS 10000

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
  gint64 elapsed_us;
  gint64 started_us;
} RunResult;

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RunResult *run = user_data;

  g_assert_null (source);
  g_assert_false (run->done);
  run->ok = tend_health_probe_run_finish (NULL, result, &run->error);
  g_assert_true (run->ok == (run->error == NULL));
  run->elapsed_us = g_get_monotonic_time () - run->started_us;
  run->done = TRUE;
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the default context until @flag is set; fails the test past DEADLINE_MS. */
static void
wait_for (gboolean *flag)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (DEADLINE_MS, on_deadline, &expired);

  while (!*flag && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  g_assert_true (*flag);
}

static void
run_start (TendHealthProbe *probe, guint timeout_ms, GCancellable *cancellable, RunResult *run)
{
  memset (run, 0, sizeof *run);
  run->started_us = g_get_monotonic_time ();
  tend_health_probe_run_async (probe, timeout_ms, cancellable, on_run_done, run);
}

/* One try, to its end: TRUE when healthy; otherwise @error holds the reason. */
static gboolean
run_probe (TendHealthProbe *probe, guint timeout_ms, GError **error)
{
  RunResult run;

  run_start (probe, timeout_ms, NULL, &run);
  /* the result never arrives within the call itself */
  g_assert_false (run.done);
  wait_for (&run.done);
  if (run.error != NULL)
    g_propagate_error (error, run.error);
  return run.ok;
}

static TendHealthProbe *
probe_new (const char *spec, guint default_port, const char *cwd, const char *const *env)
{
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = tend_health_probe_new (NULL, spec, default_port, cwd, env, &error);

  g_assert_no_error (error);
  g_assert_nonnull (probe);
  g_assert_cmpstr (tend_health_probe_get_spec (probe), ==, spec);
  return probe;
}

/* A port on 127.0.0.1 that nothing listens on (bound for a moment, then released). */
static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);
  return port;
}

/* http */

typedef struct {
  SoupServer *server;
  GSocketService *service;
  guint16 port;
  guint hits;
} HttpFixture;

static void
http_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  HttpFixture *fixture = user_data;

  fixture->hits++;
  if (strcmp (path, "/ok") == 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "ok\n", 3);
  } else if (strcmp (path, "/redirect") == 0) {
    /* to a port nothing listens on: the probe must not follow it */
    g_autofree char *location = g_strdup_printf ("http://127.0.0.1:%u/ok", closed_port ());
    soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, location);
  } else if (strcmp (path, "/fail") == 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
  } else if (strcmp (path, "/slow") == 0) {
    /* never answered; the server drops it when the client goes away or the server is freed */
    soup_server_message_pause (msg);
  } else {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
  }
}

/*
 * The test server accepts its connections itself and hands them to libsoup:
 * libsoup 3.2's own listener leaks every socket it accepts, and the address
 * soup_server_get_uris() caches, which the sanitizer run reports.
 */
static gboolean
http_incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer user_data)
{
  HttpFixture *fixture = user_data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (local);
  g_assert_nonnull (remote);
  soup_server_accept_iostream (fixture->server, G_IO_STREAM (connection), local, remote, &error);
  g_assert_no_error (error);
  return TRUE;
}

static void
http_fixture_setup (HttpFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) bound = NULL;

  fixture->server = soup_server_new ("server-header", "tend-test ", NULL);
  soup_server_add_handler (fixture->server, NULL, http_handler, fixture, NULL);
  fixture->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (fixture->service), any, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, (GSocketAddress **) &bound, &error);
  g_assert_no_error (error);
  fixture->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (fixture->service, "incoming", G_CALLBACK (http_incoming_cb), fixture);
  g_socket_service_start (fixture->service);
}

static void
http_fixture_teardown (HttpFixture *fixture, gconstpointer data)
{
  g_socket_service_stop (fixture->service);
  g_socket_listener_close (G_SOCKET_LISTENER (fixture->service));
  g_clear_object (&fixture->service);
  soup_server_disconnect (fixture->server);
  g_clear_object (&fixture->server);
}

static TendHealthProbe *
http_probe_new (HttpFixture *fixture, const char *path)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", fixture->port, path);

  return probe_new (url, 0, NULL, NULL);
}

static void
test_http_ok (HttpFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = http_probe_new (fixture, "/ok");

  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  /* again, on the same probe and the shared session */
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->hits, ==, 2);
  tend_health_probe_free (probe);
}

static void
test_http_redirect (HttpFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = http_probe_new (fixture, "/redirect");

  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->hits, ==, 1);
  tend_health_probe_free (probe);
}

static void
test_http_fail (HttpFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = http_probe_new (fixture, "/fail");

  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, "HTTP 503");
  g_clear_error (&error);

  tend_health_probe_free (probe);
  probe = http_probe_new (fixture, "/missing");
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_cmpstr (error->message, ==, "HTTP 404");
  tend_health_probe_free (probe);
}

static void
test_http_slow (HttpFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = http_probe_new (fixture, "/slow");
  RunResult run;

  run_start (probe, 300, NULL, &run);
  wait_for (&run.done);
  g_assert_false (run.ok);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (run.error->message, ==, "timed out after 300ms");
  g_assert_cmpint (run.elapsed_us, >=, 300 * 1000);
  g_assert_cmpint (run.elapsed_us, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&run.error);

  /* the probe is usable again after a timeout (not G_IO_ERROR_PENDING) */
  g_assert_false (run_probe (probe, 300, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  tend_health_probe_free (probe);
}

static void
test_http_timeout_whole_seconds (HttpFixture *fixture, gconstpointer data)
{
  TendHealthProbe *probe = http_probe_new (fixture, "/slow");
  RunResult run;

  run_start (probe, 1000, NULL, &run);
  wait_for (&run.done);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (run.error->message, ==, "timed out after 1s");
  g_clear_error (&run.error);
  tend_health_probe_free (probe);
}

static void
test_http_cancel (HttpFixture *fixture, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TendHealthProbe *probe = http_probe_new (fixture, "/slow");
  RunResult run;

  run_start (probe, 5000, cancellable, &run);
  /* let the request reach the server first */
  while (fixture->hits == 0) {
    g_assert_cmpint (g_get_monotonic_time () - run.started_us, <, DEADLINE_MS * 1000);
    g_main_context_iteration (NULL, FALSE);
  }
  g_cancellable_cancel (cancellable);
  wait_for (&run.done);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (run.error->message, ==, "cancelled");
  g_clear_error (&run.error);

  /* already cancelled before the try starts */
  run_start (probe, 5000, cancellable, &run);
  wait_for (&run.done);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (run.error->message, ==, "cancelled");
  g_clear_error (&run.error);
  tend_health_probe_free (probe);
}

static void
test_http_refused (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/ok", closed_port ());
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = probe_new (url, 0, NULL, NULL);

  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_cmpstr (error->message, ==, "connection refused");
  tend_health_probe_free (probe);
}

static void
test_http_pending (HttpFixture *fixture, gconstpointer data)
{
  TendHealthProbe *probe = http_probe_new (fixture, "/slow");
  RunResult first, second;

  run_start (probe, 300, NULL, &first);
  run_start (probe, 300, NULL, &second);
  wait_for (&second.done);
  g_assert_error (second.error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&second.error);
  g_assert_false (first.done);
  wait_for (&first.done);
  g_assert_error (first.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&first.error);
  tend_health_probe_free (probe);
}

/* tcp */

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer user_data)
{
  guint *accepted = user_data;

  (*accepted)++;
  return FALSE;
}

static GSocketService *
tcp_service_new (guint16 *out_port, guint *accepted)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;
  GSocketService *service = g_socket_service_new ();

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &effective, &error);
  g_assert_no_error (error);
  *out_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), accepted);
  g_socket_service_start (service);
  return service;
}

static void
tcp_service_free (GSocketService *service)
{
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
}

static void
test_tcp_ok (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *spec = NULL;
  TendHealthProbe *probe;
  GSocketService *service;
  guint accepted = 0;
  guint16 port;

  service = tcp_service_new (&port, &accepted);
  spec = g_strdup_printf ("tcp://127.0.0.1:%u", port);
  /* an explicit port wins over the service's */
  probe = probe_new (spec, closed_port (), NULL, NULL);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  tend_health_probe_free (probe);

  /* tcp://HOST: the service's port */
  probe = probe_new ("tcp://127.0.0.1", port, NULL, NULL);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  tend_health_probe_free (probe);

  /* the service saw both (it may see them a little after the client) */
  while (accepted < 2) {
    gboolean done = FALSE;
    g_timeout_add (10, on_deadline, &done);
    wait_for (&done);
  }
  tcp_service_free (service);
}

typedef struct {
  gboolean answer;
  guint calls;
  guint n_inodes;
} Holds;

static gboolean
holds_cb (GArray *inodes, guint64 *out_missing, gpointer user_data)
{
  Holds *holds = user_data;

  holds->calls++;
  holds->n_inodes = inodes->len;
  if (!holds->answer)
    *out_missing = g_array_index (inodes, guint64, 0);
  return holds->answer;
}

/* On the service's own port, the listener must be the service's: here the test holds it. */
static void
test_tcp_port_holder (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *head = NULL;
  Holds holds = { 0 };
  TendHealthProbe *probe;
  GSocketService *service;
  guint accepted = 0;
  guint16 port;

  service = tcp_service_new (&port, &accepted);
  spec = g_strdup_printf ("tcp://127.0.0.1:%u", port);

  /* the service holds it: healthy, after one look */
  probe = probe_new (spec, port, NULL, NULL);
  tend_health_probe_set_holds_func (probe, holds_cb, &holds);
  holds.answer = TRUE;
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (holds.calls, ==, 1);
  g_assert_cmpuint (holds.n_inodes, ==, 1);

  /* it does not: the holder (this test) is named */
  holds.answer = FALSE;
  g_assert_false (run_probe (probe, 2000, &error));
  head = g_strdup_printf ("port %u is held by pid %d (", port, (int) getpid ());
  g_assert_true (g_str_has_prefix (error->message, head));
  g_assert_true (g_str_has_suffix (error->message, "), not by this service"));
  g_assert_cmpuint (holds.calls, ==, 2);
  g_clear_error (&error);
  tend_health_probe_free (probe);

  /* another port than the service's: a connection is enough, nobody is asked */
  probe = probe_new (spec, closed_port (), NULL, NULL);
  tend_health_probe_set_holds_func (probe, holds_cb, &holds);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (holds.calls, ==, 2);
  tend_health_probe_free (probe);
  tcp_service_free (service);
}

static void
test_tcp_refused (void)
{
  g_autofree char *spec = g_strdup_printf ("tcp://127.0.0.1:%u", closed_port ());
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = probe_new (spec, 0, NULL, NULL);

  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_cmpstr (error->message, ==, "connection refused");
  tend_health_probe_free (probe);

  /* the same through the service's port */
  g_clear_error (&error);
  probe = probe_new ("tcp://127.0.0.1/", closed_port (), NULL, NULL);
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  tend_health_probe_free (probe);
}

/* exec */

/* Processes of group @pgid that still run (zombies are dead: they only wait for their reaper). */
static guint
count_group (pid_t pgid)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = NULL;
    g_autofree char *stat = NULL;
    const char *end;
    char state;
    int ppid, pgrp;

    if (!g_ascii_isdigit (name[0]))
      continue;
    path = g_build_filename ("/proc", name, "stat", NULL);
    if (!g_file_get_contents (path, &stat, NULL, NULL))
      continue;
    /* the command name may hold spaces and parentheses: fields start after the last ')' */
    end = strrchr (stat, ')');
    if (end == NULL || sscanf (end + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
      continue;
    if (pgrp == pgid && state != 'Z')
      count++;
  }
  return count;
}

/* Waits (bounded) until nothing of group @pgid runs. */
static void
assert_group_gone (pid_t pgid)
{
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_assert_cmpint (pgid, >, 1);
  while (count_group (pgid) > 0 && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  g_assert_cmpuint (count_group (pgid), ==, 0);
}

/* The shell's pid, which the command under test wrote to @path ($$ is the group's id). */
static pid_t
read_pid (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return (pid_t) g_ascii_strtoll (text, NULL, 10);
}

/* The shell writes its pid first thing; spawning is synchronous, so no main loop is needed. */
static void
wait_for_pid_file (const char *path)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_MS * 1000;
  g_autofree char *text = NULL;

  while (!g_file_get_contents (path, &text, NULL, NULL) || strchr (text, '\n') == NULL) {
    g_clear_pointer (&text, g_free);
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (10 * 1000);
  }
}

typedef struct {
  char *dir;
  char *pid_file;
} ExecFixture;

static void
exec_fixture_setup (ExecFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("tend-health-probe-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->pid_file = g_build_filename (fixture->dir, "pid", NULL);
}

static void
exec_fixture_teardown (ExecFixture *fixture, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->pid_file);
}

static void
test_exec_status (ExecFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe;

  probe = probe_new ("exec:exit 0", 0, NULL, NULL);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  tend_health_probe_free (probe);

  probe = probe_new ("exec:exit 3", 0, NULL, NULL);
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, "exit status 3");
  g_clear_error (&error);
  tend_health_probe_free (probe);

  probe = probe_new ("exec:kill -TERM $$", 0, NULL, NULL);
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, "killed by signal 15");
  g_clear_error (&error);
  tend_health_probe_free (probe);

  /* stdin is /dev/null: a command reading it ends at once */
  probe = probe_new ("exec:cat", 0, NULL, NULL);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  tend_health_probe_free (probe);

  /* output goes nowhere (it would otherwise show in the test's TAP stream) */
  probe = probe_new ("exec:echo '# not tap'; echo noise >&2; exit 0", 0, NULL, NULL);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  tend_health_probe_free (probe);
}

static void
exec_timeout (ExecFixture *fixture, const char *body)
{
  g_autofree char *spec = g_strdup_printf ("exec:echo $$ > '%s'; %s", fixture->pid_file, body);
  TendHealthProbe *probe = probe_new (spec, 0, NULL, NULL);
  RunResult run;

  run_start (probe, 300, NULL, &run);
  wait_for (&run.done);
  g_assert_false (run.ok);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (run.error->message, ==, "timed out after 300ms");
  g_assert_cmpint (run.elapsed_us, >=, 300 * 1000);
  g_assert_cmpint (run.elapsed_us, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&run.error);
  assert_group_gone (read_pid (fixture->pid_file));
  tend_health_probe_free (probe);
}

static void
test_exec_timeout (ExecFixture *fixture, gconstpointer data)
{
  exec_timeout (fixture, "sleep 30");
}

static void
test_exec_timeout_group (ExecFixture *fixture, gconstpointer data)
{
  /* a background child that the shell's own death would leave running */
  exec_timeout (fixture, "sh -c 'sleep 30 & sleep 30'");
}

static void
test_exec_leftovers (ExecFixture *fixture, gconstpointer data)
{
  g_autofree char *spec = g_strdup_printf ("exec:echo $$ > '%s'; sleep 30 & exit 0", fixture->pid_file);
  g_autoptr(GError) error = NULL;
  TendHealthProbe *probe = probe_new (spec, 0, NULL, NULL);

  /* healthy, and what it left in the background is gone with it */
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  assert_group_gone (read_pid (fixture->pid_file));
  tend_health_probe_free (probe);
}

static void
test_exec_cwd_env (ExecFixture *fixture, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (fixture->dir, "marker", NULL);
  g_autoptr(GError) error = NULL;
  const char *env_ok[] = { "PATH=/usr/bin:/bin", "TEND_PROBE_TEST=yes", NULL };
  const char *env_bad[] = { "PATH=/usr/bin:/bin", "TEND_PROBE_TEST=no", NULL };
  const char *spec = "exec:test -f marker && test \"$TEND_PROBE_TEST\" = yes";
  TendHealthProbe *probe;

  g_file_set_contents (marker, "", 0, &error);
  g_assert_no_error (error);

  probe = probe_new (spec, 0, fixture->dir, env_ok);
  g_assert_true (run_probe (probe, 2000, &error));
  g_assert_no_error (error);
  tend_health_probe_free (probe);

  probe = probe_new (spec, 0, fixture->dir, env_bad);
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_cmpstr (error->message, ==, "exit status 1");
  g_clear_error (&error);
  tend_health_probe_free (probe);

  /* without a cwd the daemon's (the test's) is used, where there is no marker */
  probe = probe_new (spec, 0, NULL, env_ok);
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_cmpstr (error->message, ==, "exit status 1");
  g_clear_error (&error);
  tend_health_probe_free (probe);

  /* a missing cwd is a failed try, not a crash */
  probe = probe_new ("exec:true", 0, "/nonexistent/tend-health", NULL);
  g_assert_false (run_probe (probe, 2000, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_SPAWN);
  g_assert_cmpstr (error->message, ==,
                   "cannot run the check: cannot change to folder /nonexistent/tend-health: No such file or directory");
  g_clear_error (&error);
  tend_health_probe_free (probe);
}

static void
test_exec_pending (ExecFixture *fixture, gconstpointer data)
{
  g_autofree char *spec = g_strdup_printf ("exec:echo $$ > '%s'; sleep 30", fixture->pid_file);
  TendHealthProbe *probe = probe_new (spec, 0, NULL, NULL);
  RunResult first, second;

  run_start (probe, 300, NULL, &first);
  run_start (probe, 300, NULL, &second);
  wait_for (&second.done);
  g_assert_false (second.ok);
  g_assert_error (second.error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&second.error);
  g_assert_false (first.done);
  wait_for (&first.done);
  g_assert_error (first.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&first.error);
  assert_group_gone (read_pid (fixture->pid_file));
  tend_health_probe_free (probe);
}

static void
test_exec_cancel (ExecFixture *fixture, gconstpointer data)
{
  g_autofree char *spec = g_strdup_printf ("exec:echo $$ > '%s'; sleep 30", fixture->pid_file);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TendHealthProbe *probe = probe_new (spec, 0, NULL, NULL);
  RunResult run;

  run_start (probe, 5000, cancellable, &run);
  /* the shell has started once it wrote its pid */
  wait_for_pid_file (fixture->pid_file);
  g_cancellable_cancel (cancellable);
  wait_for (&run.done);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (run.error->message, ==, "cancelled");
  g_assert_cmpint (run.elapsed_us, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&run.error);
  assert_group_gone (read_pid (fixture->pid_file));
  g_unlink (fixture->pid_file);

  /* cancelled before: nothing is spawned */
  run_start (probe, 5000, cancellable, &run);
  wait_for (&run.done);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&run.error);
  g_assert_false (g_file_test (fixture->pid_file, G_FILE_TEST_EXISTS));
  tend_health_probe_free (probe);
}

static void
test_exec_free_running (ExecFixture *fixture, gconstpointer data)
{
  g_autofree char *spec = g_strdup_printf ("exec:echo $$ > '%s'; sleep 30", fixture->pid_file);
  TendHealthProbe *probe = probe_new (spec, 0, NULL, NULL);
  RunResult run;

  run_start (probe, 5000, NULL, &run);
  wait_for_pid_file (fixture->pid_file);
  /* the try outlives the probe: it reports "cancelled" and leaves nothing behind */
  tend_health_probe_free (probe);
  wait_for (&run.done);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&run.error);
  assert_group_gone (read_pid (fixture->pid_file));
}

/* specs */

static void
test_bad_specs (void)
{
  const char *bad[] = {
    "ftp://x",
    "exec:",
    "exec:   ",
    "http:///path",
    "http://",
    "http://:80/",
    "tcp://127.0.0.1",
    "tcp://127.0.0.1:99999",
    "tcp://127.0.0.1:80/path",
    "tcp://",
    "localhost:80",
    "",
    "nonsense",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    TendHealthProbe *probe = tend_health_probe_new (NULL, bad[i], 0, NULL, NULL, &error);
    if (g_test_verbose () && error != NULL)
      g_test_message ("%s: %s", bad[i], error->message);
    g_assert_null (probe);
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_good_specs (void)
{
  const char *good[] = {
    "http://127.0.0.1:8080/health",
    "http://localhost",
    "HTTP://127.0.0.1:1/x?y=1",
    "https://127.0.0.1:8443/",
    "http://[::1]:8080/",
    "tcp://127.0.0.1:5432",
    "tcp://[::1]:5432",
    "tcp://localhost/",
    "exec:pg_isready -q",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    tend_health_probe_free (probe_new (good[i], 5432, NULL, NULL));
}

int
main (int argc, char **argv)
{
  /* a check of a local service must not go through a proxy, whatever the environment says */
  g_setenv ("http_proxy", "http://127.0.0.1:1", TRUE);
  g_setenv ("no_proxy", "", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/health-probe/specs/bad", test_bad_specs);
  g_test_add_func ("/health-probe/specs/good", test_good_specs);
  g_test_add ("/health-probe/http/ok", HttpFixture, NULL, http_fixture_setup, test_http_ok, http_fixture_teardown);
  g_test_add ("/health-probe/http/redirect", HttpFixture, NULL, http_fixture_setup, test_http_redirect,
              http_fixture_teardown);
  g_test_add ("/health-probe/http/fail", HttpFixture, NULL, http_fixture_setup, test_http_fail, http_fixture_teardown);
  g_test_add ("/health-probe/http/slow", HttpFixture, NULL, http_fixture_setup, test_http_slow, http_fixture_teardown);
  g_test_add ("/health-probe/http/timeout-seconds", HttpFixture, NULL, http_fixture_setup,
              test_http_timeout_whole_seconds, http_fixture_teardown);
  g_test_add ("/health-probe/http/cancel", HttpFixture, NULL, http_fixture_setup, test_http_cancel,
              http_fixture_teardown);
  g_test_add ("/health-probe/http/pending", HttpFixture, NULL, http_fixture_setup, test_http_pending,
              http_fixture_teardown);
  g_test_add_func ("/health-probe/http/refused", test_http_refused);
  g_test_add_func ("/health-probe/tcp/ok", test_tcp_ok);
  g_test_add_func ("/health-probe/tcp/port-holder", test_tcp_port_holder);
  g_test_add_func ("/health-probe/tcp/refused", test_tcp_refused);
  g_test_add ("/health-probe/exec/status", ExecFixture, NULL, exec_fixture_setup, test_exec_status,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/timeout", ExecFixture, NULL, exec_fixture_setup, test_exec_timeout,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/timeout-group", ExecFixture, NULL, exec_fixture_setup, test_exec_timeout_group,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/leftovers", ExecFixture, NULL, exec_fixture_setup, test_exec_leftovers,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/cwd-env", ExecFixture, NULL, exec_fixture_setup, test_exec_cwd_env,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/pending", ExecFixture, NULL, exec_fixture_setup, test_exec_pending,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/cancel", ExecFixture, NULL, exec_fixture_setup, test_exec_cancel,
              exec_fixture_teardown);
  g_test_add ("/health-probe/exec/free-running", ExecFixture, NULL, exec_fixture_setup, test_exec_free_running,
              exec_fixture_teardown);

  return g_test_run ();
}
