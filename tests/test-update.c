/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend update: tendd executes its program again in the same process and every
 * service goes on as if nothing happened (same pid, counters, logs), while
 * the control socket and the HTTP API keep answering.
 */
#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "tend-test-daemon.h"

/* 18 quiet services, a fast logger and a crash-looper: the 20 of the issue */
#define N_SLEEPERS 18
#define LOGGER_LINES 400000
#define LOGGER_RATE 50000
#define N_UPDATES 10

static JsonNode *
status_json (TendTestDaemon *d)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "status", "--json", NULL), ==, 0);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return node;
}

static JsonObject *
find_row (JsonNode *list, const char *name)
{
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0)
      return o;
  }
  g_assert_not_reached ();
}

static gint64
row_int (JsonNode *list, const char *name, const char *member)
{
  return json_object_get_int_member (find_row (list, name), member);
}

static gboolean
all_online (gpointer data)
{
  g_autoptr(JsonNode) list = status_json (data);
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), "crasher") != 0 &&
        g_strcmp0 (json_object_get_string_member (o, "state"), "online") != 0)
      return FALSE;
  }
  return TRUE;
}

/* The port the http plugin listens on (listen=127.0.0.1:0), from tend plugins --json. */
static guint16
http_port (TendTestDaemon *d)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *array;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "plugins", "--json", NULL), ==, 0);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), "http") == 0) {
      JsonArray *listen = json_object_get_array_member (json_object_get_object_member (o, "status"), "listen");
      const char *address = json_array_get_string_element (listen, 0);
      return (guint16) g_ascii_strtoull (strrchr (address, ':') + 1, NULL, 10);
    }
  }
  g_assert_not_reached ();
}

/* ---- HTTP polled from a thread while the updates run ---- */

typedef struct {
  guint16 port;
  gint stop;
  guint answered;
  guint failed;
  char *first_failure;
} Poller;

static gboolean
http_get (guint16 port, GError **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) data = g_string_new (NULL);
  const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  char buf[4096];
  gssize n;

  g_socket_client_set_timeout (client, 30);
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, error);
  if (conn == NULL)
    return FALSE;
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request, sizeof request - 1,
                                  NULL, NULL, error))
    return FALSE;
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof buf, NULL, error)) >
         0)
    g_string_append_len (data, buf, n);
  if (n < 0)
    return FALSE;
  if (!g_str_has_prefix (data->str, "HTTP/1.1 ")) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no HTTP answer (%" G_GSIZE_FORMAT " bytes)", data->len);
    return FALSE;
  }
  return TRUE;
}

static gpointer
poller_thread (gpointer data)
{
  Poller *p = data;

  while (!g_atomic_int_get (&p->stop)) {
    g_autoptr(GError) error = NULL;
    if (http_get (p->port, &error)) {
      p->answered++;
    } else {
      if (p->first_failure == NULL)
        p->first_failure = g_strdup (error->message);
      p->failed++;
    }
    g_usleep (2000);
  }
  return NULL;
}

/* ---- the control socket polled from a thread too: every tend status answered ---- */

typedef struct {
  char *home;
  gint stop;
  guint answered;
  guint failed;
  char *first_failure;
} CliPoller;

static gpointer
cli_poller_thread (gpointer data)
{
  CliPoller *p = data;
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);

  /* tend status starts a daemon when none answers: never one left behind if the test's has gone */
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "TEND_TENDD", "/bin/false", TRUE);

  while (!g_atomic_int_get (&p->stop)) {
    const char *argv[] = { tend, "--home", p->home, "status", NULL };
    g_autofree char *err = NULL;
    int status = -1;

    if (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, NULL) &&
        g_spawn_check_wait_status (status, NULL)) {
      p->answered++;
    } else {
      if (p->first_failure == NULL)
        p->first_failure = g_strdup (err);
      p->failed++;
    }
  }
  return NULL;
}

/* ---- checks ---- */

/* Every line of the logger exactly once, in order, whole. */
static void
check_logger_lines (const char *path, guint expected)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;
  const char *p, *end;
  guint n = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  p = contents;
  end = contents + length;
  while (p < end) {
    const char *nl = memchr (p, '\n', (gsize) (end - p));
    char expect[16];

    g_assert_nonnull (nl);
    if (nl - p != 99) {
      g_test_message ("line %u has %d bytes: %.*s", n, (int) (nl - p), (int) MIN (nl - p, 40), p);
      g_assert_cmpint (nl - p, ==, 99);
    }
    g_snprintf (expect, sizeof expect, "%08u ", n);
    if (memcmp (p, expect, 9) != 0) {
      g_test_message ("line %u reads %.9s", n, p);
      g_assert_cmpmem (p, 9, expect, 9);
    }
    g_assert_cmpint (p[9], ==, 'a' + (int) (n % 26));
    n++;
    p = nl + 1;
  }
  g_assert_cmpuint (n, ==, expected);
}

/* Children of @pid that are zombies. */
static guint
count_zombie_children (pid_t pid)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint zombies = 0;

  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = NULL;
    g_autofree char *stat = NULL;
    const char *close_paren;
    char state;
    int ppid;

    if (!g_ascii_isdigit (name[0]))
      continue;
    path = g_strdup_printf ("/proc/%s/stat", name);
    if (!g_file_get_contents (path, &stat, NULL, NULL) || (close_paren = strrchr (stat, ')')) == NULL)
      continue;
    if (sscanf (close_paren + 2, "%c %d", &state, &ppid) == 2 && ppid == pid && state == 'Z')
      zombies++;
  }
  return zombies;
}

static gboolean
no_zombies (gpointer data)
{
  return count_zombie_children (GPOINTER_TO_INT (data)) == 0;
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

typedef struct {
  TendTestDaemon *d;
  guint generation;
} GenerationWait;

static gboolean
log_says_generation (gpointer data)
{
  GenerationWait *w = data;
  g_autofree char *needle = g_strdup_printf ("took over after an update (generation %u)", w->generation);
  return tend_test_daemon_log_contains (w->d, needle);
}

static gboolean
tend_test_daemon_log_contains_executing (TendTestDaemon *d)
{
  return tend_test_daemon_log_contains (d, "update: executing");
}

static void
test_update_in_place (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GString) config = g_string_new (NULL);
  g_autofree char *done = tend_test_daemon_path (d, "logger.done");
  g_autofree char *log_path = NULL;
  g_autofree char *broken = tend_test_daemon_path (d, "broken-tendd");
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(GArray) left = NULL;
  GThread *thread, *cli_thread;
  Poller poller = { 0 };
  CliPoller cli_poller = { 0 };
  GenerationWait wait = { d, 0 };
  gint64 crasher_restarts;

  g_string_append_printf (config,
                          "[plugin:http]\nlisten=127.0.0.1:0\n\n"
                          "[service:logger]\nexec=%s %u %s %u\nautorestart=false\n\n"
                          "[service:crasher]\nexec=/bin/sh -c 'sleep 0.3; exit 3'\nrestart-delay=200ms\n"
                          "min-uptime=100ms\n\n",
                          g_getenv ("TEND_TEST_LINES_HELPER"), LOGGER_LINES, done, LOGGER_RATE);
  for (guint i = 0; i < N_SLEEPERS; i++)
    g_string_append_printf (config, "[service:sleeper%u]\nexec=sleep %u\n\n", i, 100000 + i);
  tend_test_daemon_write_config (d, config->str);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (all_online, d, 30000));
  before = status_json (d);
  log_path = g_strdup (json_object_get_string_member (find_row (before, "logger"), "out-log"));
  g_assert_nonnull (log_path);

  poller.port = http_port (d);
  thread = g_thread_new ("http-poller", poller_thread, &poller);
  cli_poller.home = d->home;
  cli_thread = g_thread_new ("cli-poller", cli_poller_thread, &cli_poller);

  /* ten in a row, then one by signal, while the logger writes 50,000 lines a second */
  for (guint i = 1; i <= N_UPDATES; i++) {
    g_autofree char *out = NULL;
    g_autofree char *expected = g_strdup_printf ("(generation %u)", i);

    if (tend_test_run_cli (d, &out, &err, "update", NULL) != 0)
      g_error ("tend update %u failed: %s%s", i, out, err);
    g_assert_nonnull (strstr (out, expected));
  }
  g_assert_cmpint (kill (d->pid, SIGUSR2), ==, 0);
  wait.generation = N_UPDATES + 1;
  g_assert_true (tend_test_wait (log_says_generation, &wait, 30000));

  /* a program that is no tendd: refused, nothing changes */
  g_assert_true (g_file_set_contents (broken, "#!/bin/sh\necho broken >&2\nexit 1\n", -1, NULL));
  g_assert_cmpint (chmod (broken, 0755), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "update", "--tendd", broken, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "--version failed"));
  g_assert_nonnull (strstr (err, "nothing changed"));
  g_assert_false (tend_test_daemon_log_contains (d, "generation 12"));

  g_atomic_int_set (&poller.stop, 1);
  g_thread_join (thread);
  g_atomic_int_set (&cli_poller.stop, 1);
  g_thread_join (cli_thread);
  g_test_message ("tend status: %u answered, %u failed (%s)", cli_poller.answered, cli_poller.failed,
                  cli_poller.first_failure != NULL ? cli_poller.first_failure : "-");
  g_assert_cmpuint (cli_poller.failed, ==, 0);
  g_assert_cmpuint (cli_poller.answered, >, 0);
  g_free (cli_poller.first_failure);
  g_test_message ("HTTP: %u answered, %u failed (%s)", poller.answered, poller.failed,
                  poller.first_failure != NULL ? poller.first_failure : "-");
  g_assert_cmpuint (poller.failed, ==, 0);
  g_assert_cmpuint (poller.answered, >, 0);
  g_free (poller.first_failure);

  after = status_json (d);
  for (guint i = 0; i < N_SLEEPERS; i++) {
    g_autofree char *name = g_strdup_printf ("sleeper%u", i);
    g_assert_cmpint (row_int (after, name, "pid"), ==, row_int (before, name, "pid"));
    g_assert_cmpint (row_int (after, name, "restarts"), ==, 0);
    g_assert_cmpint (row_int (after, name, "start-time"), ==, row_int (before, name, "start-time"));
    g_assert_true (tend_test_pid_alive ((pid_t) row_int (after, name, "pid")));
  }
  crasher_restarts = row_int (after, "crasher", "restarts");
  g_assert_cmpint (crasher_restarts, >=, row_int (before, "crasher", "restarts"));
  /* the exits tend start counts cross too: each restart of the crasher followed one of its exits */
  g_assert_cmpint (row_int (after, "crasher", "restarts"), >, 0);
  g_assert_cmpint (row_int (after, "crasher", "exits"), >=, row_int (after, "crasher", "restarts"));
  g_assert_cmpint (row_int (after, "logger", "restarts"), ==, 0);

  /* the logger ends by itself; every line it wrote is in its log once */
  g_assert_true (tend_test_wait (file_exists, done, 60000));
  g_assert_true (tend_test_wait_lines (log_path, LOGGER_LINES, 60000));
  check_logger_lines (log_path, LOGGER_LINES);
  /* the crash-looper goes on by its policy */
  {
    g_autoptr(JsonNode) later = NULL;
    gint64 deadline = g_get_monotonic_time () + tend_test_scaled_ms (10000) * 1000;
    do {
      g_clear_pointer (&later, json_node_unref);
      g_usleep (100 * 1000);
      later = status_json (d);
    } while (row_int (later, "crasher", "restarts") <= crasher_restarts && g_get_monotonic_time () < deadline);
    g_assert_cmpint (row_int (later, "crasher", "restarts"), >, crasher_restarts);
  }
  g_assert_true (tend_test_wait (no_zombies, GINT_TO_POINTER (d->pid), 10000));

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  left = tend_test_daemon_leftovers (d);
  g_assert_cmpuint (left->len, ==, 0);
}

/* A service that exits while the new program is being executed: a zombie child meanwhile, reaped and
 * reported by the new program as any exit; one that keeps running keeps its pid. */
static void
test_exit_during_exec (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *gate = tend_test_daemon_path (d, "gate");
  g_autofree char *config = NULL;
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(GArray) left = NULL;
  GPid update;

  /* quitter exits 7 as soon as the gate file appears, which the test creates during the exec's pause */
  config = g_strdup_printf ("[service:quitter]\nexec=/bin/sh -c 'while [ ! -e %s ]; do sleep 0.05; done; exit 7'\n"
                            "autorestart=false\n\n[service:stayer]\nexec=sleep 100000\n",
                            gate);
  tend_test_daemon_write_config (d, config);
  g_setenv ("TEND_TEST_UPDATE_EXEC_DELAY_MS", "1500", TRUE);
  tend_test_daemon_start (d);
  g_unsetenv ("TEND_TEST_UPDATE_EXEC_DELAY_MS");
  g_assert_true (tend_test_wait (all_online, d, 30000));
  before = status_json (d);

  update = tend_test_spawn_cli (d, (const char *const[]) { "update", NULL });
  g_assert_true (tend_test_wait ((gboolean (*) (gpointer)) tend_test_daemon_log_contains_executing, d, 30000));
  g_assert_true (g_file_set_contents (gate, "", 0, NULL));
  g_assert_cmpint (tend_test_wait_cli (update, tend_test_scaled_ms (60000)), ==, 0);

  /* handled by policy: autorestart=false, so stopped with its exit code; the other went on */
  {
    gint64 deadline = g_get_monotonic_time () + tend_test_scaled_ms (10000) * 1000;
    do {
      g_clear_pointer (&after, json_node_unref);
      g_usleep (50 * 1000);
      after = status_json (d);
    } while (g_strcmp0 (json_object_get_string_member (find_row (after, "quitter"), "state"), "stopped") != 0 &&
             g_get_monotonic_time () < deadline);
  }
  g_assert_cmpstr (json_object_get_string_member (find_row (after, "quitter"), "state"), ==, "stopped");
  g_assert_nonnull (strstr (json_object_get_string_member (find_row (after, "quitter"), "status-message"), "7"));
  g_assert_cmpint (row_int (after, "stayer", "pid"), ==, row_int (before, "stayer", "pid"));
  {
    /* the exit happened in the window and was seen by the new program */
    g_autofree char *log = NULL;
    const char *took_over;
    g_assert_true (g_file_get_contents (d->log, &log, NULL, NULL));
    took_over = strstr (log, "took over after an update");
    g_assert_nonnull (took_over);
    g_assert_null (g_strstr_len (log, took_over - log, "exited with code 7"));
    g_assert_nonnull (strstr (took_over, "quitter[0]"));
    g_assert_nonnull (strstr (took_over, "exited with code 7"));
  }
  g_assert_true (tend_test_wait (no_zombies, GINT_TO_POINTER (d->pid), 10000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  left = tend_test_daemon_leftovers (d);
  g_assert_cmpuint (left->len, ==, 0);
}

static char *
tunnel_url (TendTestDaemon *d)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (tend_test_run_cli (d, &out, NULL, "tunnel", "--json", NULL) != 0)
    return NULL;
  node = json_from_string (out, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "url"));
}

static gboolean
tunnel_has_url (gpointer data)
{
  g_autofree char *url = tunnel_url (data);
  return url != NULL && url[0] != '\0';
}

/* The cloudflared plugin's own service runs on: same process, same public URL, no second start. */
static void
test_tunnel_carries_over (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *control = tend_test_daemon_path (d, "fake-cloudflared");
  g_autofree char *starts = g_build_filename (control, "starts", NULL);
  g_autofree char *url_before = NULL;
  g_autofree char *url_after = NULL;
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(GArray) left = NULL;

  g_assert_cmpint (g_mkdir (control, 0700), ==, 0);
  g_setenv ("FAKE_CLOUDFLARED_DIR", control, TRUE);
  tend_test_daemon_write_config (d, "[plugin:cloudflared]\nenabled=true\nbinary=@HELPERS@/fake-cloudflared\n\n"
                                    "[service:other]\nexec=sleep 100000\n");
  tend_test_daemon_start (d);
  g_unsetenv ("FAKE_CLOUDFLARED_DIR");
  g_assert_true (tend_test_wait (tunnel_has_url, d, 30000));
  url_before = tunnel_url (d);
  before = status_json (d);

  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "update", NULL), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "update", NULL), ==, 0);

  after = status_json (d);
  g_assert_cmpint (row_int (after, "cloudflared", "pid"), ==, row_int (before, "cloudflared", "pid"));
  g_assert_cmpint (row_int (after, "cloudflared", "restarts"), ==, 0);
  g_assert_cmpint (row_int (after, "other", "pid"), ==, row_int (before, "other", "pid"));
  url_after = tunnel_url (d);
  g_assert_cmpstr (url_after, ==, url_before);
  /* started once, never a second cloudflared */
  g_assert_cmpuint (tend_test_count_lines (starts), ==, 1);
  g_assert_false (tend_test_daemon_log_contains (d, "did not take it back"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  left = tend_test_daemon_leftovers (d);
  g_assert_cmpuint (left->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/update/in-place", test_update_in_place);
  g_test_add_func ("/update/exit-during-exec", test_exit_during_exec);
  g_test_add_func ("/update/tunnel-carries-over", test_tunnel_carries_over);
  return g_test_run ();
}
