/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cloudflared plugin against a stand-in (helpers/fake-cloudflared, which
 * never talks to Cloudflare): the service it adds, the URL and connections on
 * every interface, the on-url-change hook, the restart after lost
 * connections, the token kept off command lines, a missing binary.
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tend-proc.h"
#include "tend-test-daemon.h"

#define TUNNEL_PATH "/org/tend/Tend1/plugin/cloudflared"
#define TUNNEL_INTERFACE "org.tend.Tunnel1"
#define TOKEN "eyJhIjoiZmFrZS10ZXN0LXRva2VuLTdmM2EifQ=="
#define WAIT_MS 20000

typedef struct {
  TendTestDaemon *d;
  char *control; /* FAKE_CLOUDFLARED_DIR */
  GDBusConnection *bus;
} Fixture;

/*
 * The fake's control folder: one for the whole run, set in the environment
 * before any thread exists (tendd inherits it, the fake from tendd), emptied
 * for each test.
 */
static char *control_dir;

static void
empty_control_dir (void)
{
  g_autoptr(GDir) dir = g_dir_open (control_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (control_dir, name, NULL);
    g_unlink (path);
  }
}

static void
fixture_setup (Fixture *f, const char *config)
{
  f->d = tend_test_daemon_new ();
  f->control = g_strdup (control_dir);
  empty_control_dir ();
  tend_test_daemon_write_config (f->d, config);
}

static void
fixture_start (Fixture *f)
{
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;

  tend_test_daemon_start (f->d);
  address = g_strdup_printf ("unix:path=%s/tendd.sock", f->d->home);
  f->bus = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL,
                                                   &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f)
{
  g_autoptr(GArray) left = NULL;

  if (f->bus != NULL)
    g_dbus_connection_close_sync (f->bus, NULL, NULL);
  g_clear_object (&f->bus);
  if (!f->d->exited)
    g_assert_cmpint (tend_test_daemon_stop (f->d), ==, 0);
  /* every process of this home, the hook's included, is gone */
  left = tend_test_daemon_leftovers (f->d);
  g_assert_cmpuint (left->len, ==, 0);
  empty_control_dir ();
  g_free (f->control);
  tend_test_daemon_free (f->d);
}

static void
control_write (Fixture *f, const char *name, const char *value)
{
  g_autofree char *path = g_build_filename (f->control, name, NULL);
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  g_autoptr(GError) error = NULL;

  /* renamed into place, so the fake never reads half a file */
  g_file_set_contents (tmp, value, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

static char *
control_path (Fixture *f, const char *name)
{
  return g_build_filename (f->control, name, NULL);
}

/* ---- org.tend.Tunnel1 ---- */

/* The property, or NULL when the object or interface is not there. */
static GVariant *
tunnel_property (Fixture *f, const char *name)
{
  g_autoptr(GVariant) reply = NULL;
  GVariant *value = NULL;

  reply = g_dbus_connection_call_sync (f->bus, NULL, TUNNEL_PATH, "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", TUNNEL_INTERFACE, name), G_VARIANT_TYPE ("(v)"),
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  return value;
}

static char *
tunnel_string (Fixture *f, const char *name)
{
  g_autoptr(GVariant) value = tunnel_property (f, name);
  return value != NULL ? g_variant_dup_string (value, NULL) : NULL;
}

static guint
tunnel_connections (Fixture *f)
{
  g_autoptr(GVariant) value = tunnel_property (f, "Connections");
  g_assert_nonnull (value);
  return g_variant_get_uint32 (value);
}

typedef struct {
  Fixture *f;
  const char *property;
  const char *value;
} PropertyWait;

static gboolean
has_property (gpointer data)
{
  PropertyWait *w = data;
  g_autofree char *value = tunnel_string (w->f, w->property);

  if (g_strcmp0 (value, w->value) == 0)
    return TRUE;
  g_usleep (40 * 1000);
  return FALSE;
}

static gboolean
wait_tunnel (Fixture *f, const char *property, const char *value)
{
  PropertyWait w = { f, property, value };
  return tend_test_wait (has_property, &w, WAIT_MS);
}

/* ---- the command line ---- */

static JsonObject *
cli_object (Fixture *f, JsonNode **out_node, const char *verb, const char *name)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { verb, name != NULL ? name : "--json", name != NULL ? "--json" : NULL, NULL };

  g_assert_cmpint (tend_test_run_cli_env (f->d, NULL, args, &out, NULL), ==, 0);
  *out_node = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (*out_node));
  return json_node_get_object (*out_node);
}

/* The status --json row of instance 0 of @name, as a JSON text (for searching), and its state. */
static char *
service_row (Fixture *f, const char *name, char **out_state)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  const char *args[] = { "status", "--json", NULL };
  JsonArray *array;

  g_assert_cmpint (tend_test_run_cli_env (f->d, NULL, args, &out, NULL), ==, 0);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0) {
      g_autoptr(JsonNode) row = json_node_init_object (json_node_alloc (), o);
      if (out_state != NULL)
        *out_state = g_strdup (json_object_get_string_member (o, "state"));
      return json_to_string (row, FALSE);
    }
  }
  if (out_state != NULL)
    *out_state = NULL;
  return NULL;
}

typedef struct {
  Fixture *f;
  const char *name;
  const char *state;
} StateWait;

static gboolean
has_state (gpointer data)
{
  StateWait *w = data;
  g_autofree char *state = NULL;

  g_free (service_row (w->f, w->name, &state));
  return g_strcmp0 (state, w->state) == 0;
}

static gboolean
wait_state (Fixture *f, const char *name, const char *state)
{
  StateWait w = { f, name, state };
  return tend_test_wait (has_state, &w, WAIT_MS);
}

/* ---- the fake's records ---- */

/* Line @index of control/starts: "PID MODE token|no-token ARGS..." */
static char *
start_record (Fixture *f, guint index)
{
  g_autofree char *path = control_path (f, "starts");
  g_auto(GStrv) lines = tend_test_read_lines (path);

  g_assert_cmpuint (g_strv_length (lines), >, index);
  return g_strdup (lines[index]);
}

static gboolean
wait_starts (Fixture *f, guint n)
{
  g_autofree char *path = control_path (f, "starts");
  return tend_test_wait_lines (path, n, WAIT_MS);
}

/* ---- the http plugin, when it is built ---- */

static gboolean
http_plugin_built (void)
{
  const char *dir = g_getenv ("TEND_PLUGIN_DIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", "tend-http.so", NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* GET @path on 127.0.0.1:@port over HTTP/1.0; the status, and the body in @out_body. */
static guint
http_get (guint16 port, const char *path, const char *token, char **out_body)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autoptr(GByteArray) response = g_byte_array_new ();
  g_autofree char *text = NULL;
  guint8 buf[4096];
  gssize n;
  const char *body;
  guint status = 0;

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 10);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close\r\n\r\n", path,
                             token != NULL ? "Authorization: Bearer " : "", token != NULL ? token : "",
                             token != NULL ? "\r\n" : "");
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                                            strlen (request), NULL, NULL, &error));
  g_assert_no_error (error);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), buf, sizeof buf, NULL,
                                   &error)) > 0)
    g_byte_array_append (response, buf, (guint) n);
  g_assert_no_error (error);
  text = g_strndup ((const char *) response->data, response->len);
  g_assert_true (sscanf (text, "HTTP/1.%*d %u", &status) == 1);
  body = strstr (text, "\r\n\r\n");
  g_assert_nonnull (body);
  if (out_body != NULL)
    *out_body = g_strdup (body + 4);
  return status;
}

/* ---- tests ---- */

static const char quick_config[] =
  "[plugin:process]\nenabled=true\n\n"
  "[plugin:cloudflared]\nenabled=true\n"
  "binary=@HELPERS@/fake-cloudflared\n"
  "on-url-change=printf '%s|%s\\n' \"$TUNNEL_OLD_URL\" \"$TUNNEL_URL\" >> @DIR@/hook.log\n"
  "reconnect-timeout=30s\n\n"
  "[service:other]\nexec=sleep 1000\n";

static void
test_quick_tunnel (void)
{
  Fixture f = { 0 };
  g_autoptr(JsonNode) tunnel = NULL;
  g_autofree char *record = NULL;
  g_autofree char *hook_log = NULL;
  g_autofree char *row = NULL;
  g_autofree char *state = NULL;
  g_auto(GStrv) hook_lines = NULL;
  JsonObject *o;

  fixture_setup (&f, quick_config);
  control_write (&f, "hostname", "first-words.trycloudflare.com");
  fixture_start (&f);

  /* learned from the metrics server, and shown on D-Bus */
  g_assert_true (wait_tunnel (&f, "Url", "https://first-words.trycloudflare.com"));
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  g_assert_cmpuint (tunnel_connections (&f), ==, 1);

  /* the command Tend built: no autoupdate, a grace period below the kill-timeout, its own metrics port */
  g_assert_true (wait_starts (&f, 1));
  record = start_record (&f, 0);
  g_assert_nonnull (strstr (record, " quick no-token tunnel --no-autoupdate --grace-period 5s --metrics 127.0.0.1:"));
  /* no http plugin: the SPEC's default address */
  g_assert_nonnull (strstr (record, " --url http://127.0.0.1:9615"));
  g_assert_true (tend_test_daemon_log_contains (f.d, "the tunnel publishes http://127.0.0.1:9615"));

  /* a service like any other, beside the configured one */
  row = service_row (&f, "cloudflared", &state);
  g_assert_nonnull (row);
  g_assert_cmpstr (state, ==, "online");
  g_assert_nonnull (strstr (row, "\"owner\":\"cloudflared\""));
  g_assert_true (wait_state (&f, "other", "online"));

  /* tend tunnel --json */
  o = cli_object (&f, &tunnel, "tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "connected");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "connected");
  g_assert_cmpstr (json_object_get_string_member (o, "url"), ==, "https://first-words.trycloudflare.com");
  g_assert_cmpint (json_object_get_int_member (o, "connections"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "since"), >, 0);
  g_assert_cmpint (json_object_get_int_member (o, "since"), <=, g_get_real_time ());

  /* tend plugins --json: the plugin's own status */
  {
    g_autofree char *out = NULL;
    const char *args[] = { "plugins", "--json", NULL };
    g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, args, &out, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "https://first-words.trycloudflare.com"));
  }

  /* the hook ran once, with the URL and no old one */
  hook_log = tend_test_daemon_path (f.d, "hook.log");
  g_assert_true (tend_test_wait_lines (hook_log, 1, WAIT_MS));

  /* a new URL: D-Bus, the CLI and the hook follow */
  control_write (&f, "hostname", "second-words.trycloudflare.com");
  g_assert_true (wait_tunnel (&f, "Url", "https://second-words.trycloudflare.com"));
  g_assert_true (tend_test_wait_lines (hook_log, 2, WAIT_MS));
  hook_lines = tend_test_read_lines (hook_log);
  g_assert_cmpuint (g_strv_length (hook_lines), ==, 2);
  g_assert_cmpstr (hook_lines[0], ==, "|https://first-words.trycloudflare.com");
  g_assert_cmpstr (hook_lines[1], ==, "https://first-words.trycloudflare.com|https://second-words.trycloudflare.com");
  g_assert_true (tend_test_daemon_log_contains (
    f.d, "the public URL changed: https://second-words.trycloudflare.com (was https://first-words.trycloudflare.com)"));
  {
    g_autoptr(JsonNode) again = NULL;
    o = cli_object (&f, &again, "tunnel", NULL);
    g_assert_cmpstr (json_object_get_string_member (o, "url"), ==, "https://second-words.trycloudflare.com");
  }

  /* the process restarts: its URL is known again, unchanged here, so no third hook run */
  {
    const char *args[] = { "restart", "cloudflared", NULL };
    g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, args, NULL, NULL), ==, 0);
  }
  g_assert_true (wait_starts (&f, 2));
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  g_assert_true (wait_tunnel (&f, "Url", "https://second-words.trycloudflare.com"));
  g_assert_cmpuint (tend_test_count_lines (hook_log), ==, 2);

  g_assert_cmpint (tend_test_daemon_stop (f.d), ==, 0);
  fixture_teardown (&f);
}

/* Without /quicktunnel (an older cloudflared), the URL comes from the box in its log. */
static void
test_log_fallback (void)
{
  Fixture f = { 0 };

  fixture_setup (&f, quick_config);
  control_write (&f, "hostname", "from-the-log.trycloudflare.com");
  control_write (&f, "no-quicktunnel", "");
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "Url", "https://from-the-log.trycloudflare.com"));
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  fixture_teardown (&f);
}

static void
test_reconnect (void)
{
  Fixture f = { 0 };
  g_autofree char *row = NULL;
  g_autofree char *record = NULL;
  g_autofree char *message = NULL;

  fixture_setup (&f,
                 "[plugin:process]\nenabled=true\n\n"
                 "[plugin:cloudflared]\nenabled=true\n"
                 "binary=@HELPERS@/fake-cloudflared\n"
                 "reconnect-timeout=1s\n");
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  g_assert_true (wait_starts (&f, 1));

  /* the edge goes away; cloudflared lives on, retrying */
  control_write (&f, "connections", "0");
  g_assert_true (wait_tunnel (&f, "State", "disconnected"));
  g_assert_cmpuint (tunnel_connections (&f), ==, 0);
  /* after the timeout, a restart with the reason */
  g_assert_true (wait_starts (&f, 2));
  control_write (&f, "connections", "1");
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  row = service_row (&f, "cloudflared", NULL);
  g_assert_nonnull (strstr (row, "\"last-restart-reason\":\"tunnel had no connection for 1s\""));
  g_assert_true (tend_test_daemon_log_contains (f.d, "tunnel had no connection for 1s; restarting it"));
  /* a new process, and the old one is gone */
  record = start_record (&f, 0);
  g_assert_false (tend_test_pid_alive (atoi (record)));
  message = tunnel_string (&f, "Message");
  g_assert_cmpstr (message, ==, "");
  fixture_teardown (&f);
}

static gboolean
cmdline_contains (pid_t pid, const char *needle)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autofree char *cmdline = NULL;
  gsize length;

  if (!g_file_get_contents (path, &cmdline, &length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i++) {
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  }
  return strstr (cmdline, needle) != NULL;
}

static void
test_token (void)
{
  Fixture f = { 0 };
  g_autoptr(GArray) procs = NULL;
  g_autofree char *record = NULL;
  g_autofree char *env = NULL;
  g_autofree char *env_path = NULL;
  g_autofree char *url = NULL;
  g_autofree char *out = NULL;
  g_autofree char *row = NULL;
  struct stat st;
  pid_t pid;

  fixture_setup (&f,
                 "[plugin:process]\nenabled=true\n\n"
                 "[plugin:cloudflared]\nenabled=true\n"
                 "binary=@HELPERS@/fake-cloudflared\n"
                 "token=" TOKEN "\n");
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  g_assert_true (wait_starts (&f, 1));
  record = start_record (&f, 0);
  /* `tunnel ... run`, no --url, and the token came in the environment */
  g_assert_nonnull (strstr (record, " run token tunnel --no-autoupdate --grace-period 5s --metrics 127.0.0.1:"));
  g_assert_true (g_str_has_suffix (record, " run"));
  g_assert_null (strstr (record, "--url"));
  pid = atoi (record);
  env = tend_proc_environ_get (pid, "TUNNEL_TOKEN");
  g_assert_cmpstr (env, ==, TOKEN);

  /* on no command line of any process */
  procs = tend_proc_list_all ();
  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    if (cmdline_contains (p->pid, TOKEN) || cmdline_contains (p->pid, "fake-test-token"))
      g_error ("the token is on the command line of process %d", (int) p->pid);
  }
  /* nor in what the control socket tells about the service */
  {
    const char *args[] = { "describe", "cloudflared", "--json", NULL };
    g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, args, &out, NULL), ==, 0);
    g_assert_null (strstr (out, TOKEN));
  }
  row = service_row (&f, "cloudflared", NULL);
  g_assert_null (strstr (row, TOKEN));
  /* it waits in a file only its owner reads */
  env_path = g_build_filename (f.d->home, "cloudflared.env", NULL);
  g_assert_cmpint (g_stat (env_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* a named tunnel's URL is the operator's: none is reported */
  url = tunnel_string (&f, "Url");
  g_assert_cmpstr (url, ==, "");
  g_assert_cmpuint (tunnel_connections (&f), ==, 1);

  g_assert_cmpint (tend_test_daemon_stop (f.d), ==, 0);
  /* gone with the tunnel */
  g_assert_false (g_file_test (env_path, G_FILE_TEST_EXISTS));
  fixture_teardown (&f);
}

static void
test_missing_binary (void)
{
  Fixture f = { 0 };
  g_autofree char *message = NULL;
  g_autofree char *state = NULL;
  g_autofree char *row = NULL;
  g_autoptr(JsonNode) tunnel = NULL;
  JsonObject *o;

  fixture_setup (&f,
                 "[plugin:process]\nenabled=true\n\n"
                 "[plugin:cloudflared]\nenabled=true\n"
                 "binary=@DIR@/no-such-cloudflared\n\n"
                 "[service:other]\nexec=sleep 1000\n");
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "State", "error"));
  message = tunnel_string (&f, "Message");
  g_assert_true (g_str_has_prefix (message, "cloudflared not found: "));
  g_assert_nonnull (strstr (message, "no-such-cloudflared: no such file"));
  o = cli_object (&f, &tunnel, "tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "error");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (o, "message"), "cloudflared not found: "));
  {
    /* and the plugin's own status (tend plugins) */
    g_autofree char *out = NULL;
    const char *args[] = { "plugins", "--json", NULL };
    g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, args, &out, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "\"state\" : \"error\""));
    g_assert_nonnull (strstr (out, "cloudflared not found: "));
  }

  /* the service says so too; the rest runs on */
  g_assert_true (wait_state (&f, "cloudflared", "errored"));
  g_assert_true (wait_state (&f, "other", "online"));
  row = service_row (&f, "other", &state);
  g_assert_cmpstr (state, ==, "online");
  g_assert_true (tend_test_daemon_log_contains (f.d, "cloudflared not found: "));
  fixture_teardown (&f);
}

static void
test_not_executable (void)
{
  Fixture f = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *message = NULL;

  fixture_setup (&f,
                 "[plugin:process]\nenabled=true\n\n"
                 "[plugin:cloudflared]\nenabled=true\n"
                 "binary=@DIR@/cloudflared\n");
  path = tend_test_daemon_path (f.d, "cloudflared");
  g_assert_true (g_file_set_contents (path, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "State", "error"));
  message = tunnel_string (&f, "Message");
  g_assert_true (g_str_has_prefix (message, "cloudflared not found: "));
  g_assert_nonnull (strstr (message, "not an executable file"));
  fixture_teardown (&f);
}

/* The seed's own [service:cloudflared] and the plugin cannot both run cloudflared. */
static void
test_name_taken (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();

  tend_test_daemon_write_config (d,
                                 "[plugin:process]\nenabled=true\n\n"
                                 "[plugin:cloudflared]\nenabled=true\n"
                                 "binary=@HELPERS@/fake-cloudflared\n\n"
                                 "[service:cloudflared]\nexec=sleep 1000\n");
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
  g_assert_true (WIFEXITED (d->exit_status));
  g_assert_cmpint (WEXITSTATUS (d->exit_status), !=, 0);
  g_assert_true (tend_test_daemon_log_contains (d, "a service named cloudflared is already configured"));
}

/* Without the plugin: a plain answer, not an error. */
static void
test_disabled (void)
{
  Fixture f = { 0 };
  g_autoptr(JsonNode) tunnel = NULL;
  g_autofree char *out = NULL;
  JsonObject *o;
  const char *args[] = { "tunnel", NULL };

  fixture_setup (&f, "[plugin:process]\nenabled=true\n\n[service:other]\nexec=sleep 1000\n");
  fixture_start (&f);
  o = cli_object (&f, &tunnel, "tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "disabled");
  g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, args, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "cloudflared"));
  g_assert_null (tunnel_property (&f, "Url"));
  fixture_teardown (&f);
}

/* One hook at a time, the latest URL queued, each bounded by hook-timeout with its whole group. */
static void
test_hook_queue_and_timeout (void)
{
  Fixture f = { 0 };
  g_autofree char *hook_log = NULL;
  g_autofree char *hang = NULL;
  g_auto(GStrv) lines = NULL;

  fixture_setup (&f,
                 "[plugin:process]\nenabled=true\n\n"
                 "[plugin:cloudflared]\nenabled=true\n"
                 "binary=@HELPERS@/fake-cloudflared\n"
                 "on-url-change=printf '%s|%s\\n' \"$TUNNEL_OLD_URL\" \"$TUNNEL_URL\" >> @DIR@/hook.log; "
                 "if [ -e @DIR@/hang ]; then sleep 300; fi\n"
                 "hook-timeout=8s\n");
  hook_log = tend_test_daemon_path (f.d, "hook.log");
  hang = tend_test_daemon_path (f.d, "hang");
  g_assert_true (g_file_set_contents (hang, "", -1, NULL));
  control_write (&f, "hostname", "a-words.trycloudflare.com");
  fixture_start (&f);

  /* the first run hangs; two changes meanwhile */
  g_assert_true (tend_test_wait_lines (hook_log, 1, WAIT_MS));
  control_write (&f, "hostname", "b-words.trycloudflare.com");
  g_assert_true (wait_tunnel (&f, "Url", "https://b-words.trycloudflare.com"));
  control_write (&f, "hostname", "c-words.trycloudflare.com");
  g_assert_true (wait_tunnel (&f, "Url", "https://c-words.trycloudflare.com"));
  g_unlink (hang);
  g_assert_cmpuint (tend_test_count_lines (hook_log), ==, 1);

  /* killed at the timeout, then the latest URL only */
  g_assert_true (tend_test_wait_lines (hook_log, 2, WAIT_MS));
  g_assert_true (tend_test_daemon_log_contains (f.d, "on-url-change: killed after 8s (hook-timeout)"));
  lines = tend_test_read_lines (hook_log);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_cmpstr (lines[0], ==, "|https://a-words.trycloudflare.com");
  g_assert_cmpstr (lines[1], ==, "https://a-words.trycloudflare.com|https://c-words.trycloudflare.com");
  /* the hung run's sleep went with its shell */
  {
    g_autoptr(GArray) left = tend_test_daemon_leftovers (f.d);
    for (guint i = 0; i < left->len; i++)
      g_assert_false (cmdline_contains (g_array_index (left, pid_t, i), "sleep 300"));
  }
  fixture_teardown (&f);
}

/* tend reload: a changed key restarts cloudflared with it; enabled=false takes the service away, true brings it back. */
static void
test_reload (void)
{
  Fixture f = { 0 };
  g_autofree char *record = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) tunnel = NULL;
  g_autofree char *state = NULL;
  g_autofree char *row = NULL;
  const char *reload[] = { "reload", NULL };
  pid_t first;
  JsonObject *o;
  static const char base[] = "[plugin:process]\nenabled=true\n\n"
                             "[plugin:cloudflared]\nenabled=%s\n"
                             "binary=@HELPERS@/fake-cloudflared\nurl=%s\n\n"
                             "[service:other]\nexec=sleep 1000\n";
  g_autofree char *config = g_strdup_printf (base, "true", "http://127.0.0.1:1111");

  fixture_setup (&f, config);
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  g_assert_true (wait_starts (&f, 1));
  record = start_record (&f, 0);
  g_assert_true (g_str_has_suffix (record, " --url http://127.0.0.1:1111"));
  first = atoi (record);

  /* another url: the same service, restarted with it */
  g_free (config);
  config = g_strdup_printf (base, "true", "http://127.0.0.1:2222");
  tend_test_daemon_write_config (f.d, config);
  g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, reload, NULL, NULL), ==, 0);
  g_assert_true (wait_starts (&f, 2));
  g_free (record);
  record = start_record (&f, 1);
  g_assert_true (g_str_has_suffix (record, " --url http://127.0.0.1:2222"));
  g_assert_true (tend_test_wait_pid_gone (first, WAIT_MS));
  g_assert_true (wait_tunnel (&f, "State", "connected"));

  /* disabled: cloudflared stops and its service goes; the other one stays */
  g_free (config);
  config = g_strdup_printf (base, "false", "http://127.0.0.1:2222");
  tend_test_daemon_write_config (f.d, config);
  g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, reload, NULL, NULL), ==, 0);
  g_assert_true (tend_test_wait_pid_gone (atoi (record), WAIT_MS));
  o = cli_object (&f, &tunnel, "tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "disabled");
  g_assert_null (service_row (&f, "cloudflared", NULL));
  row = service_row (&f, "other", &state);
  g_assert_cmpstr (state, ==, "online");

  /* enabled again: back */
  g_free (config);
  config = g_strdup_printf (base, "true", "http://127.0.0.1:2222");
  tend_test_daemon_write_config (f.d, config);
  g_assert_cmpint (tend_test_run_cli_env (f.d, NULL, reload, &out, NULL), ==, 0);
  g_assert_true (wait_starts (&f, 3));
  g_assert_true (wait_tunnel (&f, "State", "connected"));
  g_assert_true (wait_state (&f, "cloudflared", "online"));
  fixture_teardown (&f);
}

/* With the http plugin: the tunnel publishes its address, and /api/tunnel and /metrics tell. */
static void
test_http (void)
{
  Fixture f = { 0 };
  guint16 port;
  g_autofree char *config = NULL;
  g_autofree char *record = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *token_path = NULL;
  g_autofree char *token = NULL;
  g_autofree char *body = NULL;
  g_autofree char *metrics = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *o;

  if (!http_plugin_built ()) {
    g_test_skip ("the http plugin is not built");
    return;
  }
  port = free_port ();
  config = g_strdup_printf ("[plugin:process]\nenabled=true\n\n"
                            "[plugin:http]\nenabled=true\nlisten=127.0.0.1:%u\n\n"
                            "[plugin:cloudflared]\nenabled=true\nbinary=@HELPERS@/fake-cloudflared\n", port);
  fixture_setup (&f, config);
  control_write (&f, "hostname", "api-words.trycloudflare.com");
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "Url", "https://api-words.trycloudflare.com"));
  g_assert_true (wait_tunnel (&f, "State", "connected"));

  /* what a quick tunnel publishes by default: the API itself */
  g_assert_true (wait_starts (&f, 1));
  record = start_record (&f, 0);
  expected = g_strdup_printf (" --url http://127.0.0.1:%u", port);
  g_assert_true (g_str_has_suffix (record, expected));

  token_path = g_build_filename (f.d->home, "api-token", NULL);
  g_assert_true (g_file_get_contents (token_path, &token, NULL, NULL));
  g_strstrip (token);
  g_assert_cmpuint (http_get (port, "/api/tunnel", NULL, NULL), ==, 401);
  g_assert_cmpuint (http_get (port, "/api/tunnel", token, &body), ==, 200);
  node = json_from_string (body, &error);
  g_assert_no_error (error);
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "connected");
  g_assert_cmpstr (json_object_get_string_member (o, "url"), ==, "https://api-words.trycloudflare.com");
  g_assert_cmpint (json_object_get_int_member (o, "connections"), ==, 1);

  g_assert_cmpuint (http_get (port, "/metrics", token, &metrics), ==, 200);
  g_assert_nonnull (strstr (metrics, "tend_tunnel_up 1\n"));
  g_assert_nonnull (strstr (metrics, "tend_tunnel_connections 1\n"));
  fixture_teardown (&f);
}

/* ---- the plugin's own D-Bus interface ---- */

static void
properties_changed_cb (GDBusConnection *connection,
                       const char *sender,
                       const char *path,
                       const char *interface,
                       const char *signal,
                       GVariant *parameters,
                       gpointer user_data)
{
  g_autoptr(GVariant) changed = NULL;
  const char *iface = NULL;
  const char *url = NULL;

  g_variant_get (parameters, "(&s@a{sv}@as)", &iface, &changed, NULL);
  if (g_strcmp0 (iface, TUNNEL_INTERFACE) == 0 && g_variant_lookup (changed, "Url", "&s", &url))
    g_ptr_array_add (user_data, g_strdup (url));
}

static gboolean
url_signalled (gpointer data)
{
  GPtrArray *urls = data;

  g_main_context_iteration (NULL, FALSE);
  for (guint i = 0; i < urls->len; i++) {
    if (g_strcmp0 (g_ptr_array_index (urls, i), "https://later-words.trycloudflare.com") == 0)
      return TRUE;
  }
  g_usleep (20 * 1000);
  return FALSE;
}

/* The plugin exports Tunnel1 itself, through the context: same object, same properties, PropertiesChanged. */
static void
test_bus_object (void)
{
  Fixture f = { 0 };
  static const char *const expected[][2] = {
    { "State", "s" }, { "Url", "s" }, { "Connections", "u" }, { "Since", "x" }, { "Message", "s" },
  };
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GDBusNodeInfo) node = NULL;
  g_autoptr(GError) error = NULL;
  GDBusInterfaceInfo *tunnel;
  const char *xml = NULL;
  guint subscription;

  fixture_setup (&f, quick_config);
  control_write (&f, "hostname", "early-words.trycloudflare.com");
  fixture_start (&f);
  g_assert_true (wait_tunnel (&f, "Url", "https://early-words.trycloudflare.com"));

  /* beside org.tend.Plugin1 on the plugin's object, with the properties of the interface as published */
  reply = g_dbus_connection_call_sync (f.bus, NULL, TUNNEL_PATH, "org.freedesktop.DBus.Introspectable", "Introspect",
                                       NULL, G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(&s)", &xml);
  node = g_dbus_node_info_new_for_xml (xml, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g_dbus_node_info_lookup_interface (node, "org.tend.Plugin1"));
  tunnel = g_dbus_node_info_lookup_interface (node, TUNNEL_INTERFACE);
  g_assert_nonnull (tunnel);
  g_assert_null (tunnel->methods[0]);
  g_assert_null (tunnel->signals[0]);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    GDBusPropertyInfo *property = tunnel->properties[i];
    g_assert_nonnull (property);
    g_assert_cmpstr (property->name, ==, expected[i][0]);
    g_assert_cmpstr (property->signature, ==, expected[i][1]);
    g_assert_cmpint (property->flags, ==, G_DBUS_PROPERTY_INFO_FLAGS_READABLE);
  }
  g_assert_null (tunnel->properties[G_N_ELEMENTS (expected)]);

  subscription = g_dbus_connection_signal_subscribe (f.bus, NULL, "org.freedesktop.DBus.Properties",
                                                     "PropertiesChanged", TUNNEL_PATH, NULL,
                                                     G_DBUS_SIGNAL_FLAGS_NONE, properties_changed_cb, urls, NULL);
  control_write (&f, "hostname", "later-words.trycloudflare.com");
  g_assert_true (tend_test_wait (url_signalled, urls, WAIT_MS));
  g_dbus_connection_signal_unsubscribe (f.bus, subscription);
  fixture_teardown (&f);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  control_dir = g_dir_make_tmp ("tend-test-cloudflared-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("FAKE_CLOUDFLARED_DIR", control_dir, TRUE);
  g_test_add_func ("/cloudflared/quick-tunnel", test_quick_tunnel);
  g_test_add_func ("/cloudflared/log-fallback", test_log_fallback);
  g_test_add_func ("/cloudflared/reconnect", test_reconnect);
  g_test_add_func ("/cloudflared/token", test_token);
  g_test_add_func ("/cloudflared/missing-binary", test_missing_binary);
  g_test_add_func ("/cloudflared/not-executable", test_not_executable);
  g_test_add_func ("/cloudflared/name-taken", test_name_taken);
  g_test_add_func ("/cloudflared/disabled", test_disabled);
  g_test_add_func ("/cloudflared/hook-queue-and-timeout", test_hook_queue_and_timeout);
  g_test_add_func ("/cloudflared/reload", test_reload);
  g_test_add_func ("/cloudflared/http", test_http);
  g_test_add_func ("/cloudflared/bus-object", test_bus_object);
  status = g_test_run ();
  empty_control_dir ();
  g_rmdir (control_dir);
  g_free (control_dir);
  return status;
}
