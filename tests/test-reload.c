/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A reload whose file is good but whose plugin cannot start (the http
 * plugin on a port already taken): the rest applies, and every way of asking
 * says it failed and why — `tend reload` (status 1), D-Bus (Error.Plugin),
 * POST /api/reload (500).
 */
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "tend-test-daemon.h"

/* A port of 127.0.0.1 held open, so a plugin that wants it cannot have it. */
static GSocket *
hold_port (guint16 *out_port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *out_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return socket;
}

static int
gdbus_call (TendTestDaemon *d, char **out, char **err, const char *path, const char *method, const char *arg)
{
  g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path", path,
                         "--method", method, arg, NULL, NULL };

  return tend_test_run_program (d, NULL, argv, out, err);
}

static void
test_cli_and_dbus (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GSocket) held = NULL;
  g_autofree char *config = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *bind_error = NULL;
  guint16 port;

  held = hold_port (&port);
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:web]\nexec=sleep 100000\n");
  tend_test_daemon_start (d);
  config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:%u\n\n"
                            "[service:web]\nexec=sleep 100000\n\n[service:extra]\nexec=sleep 100001\n",
                            port);
  tend_test_daemon_write_config (d, config);

  /* the CLI: status 1, the plugin and its error named */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "reload", NULL), ==, 1);
  g_assert_null (strstr (out, "configuration reloaded"));
  g_assert_nonnull (strstr (err, "a plugin failed to start: plugin http: start: "));
  bind_error = g_strdup_printf ("127.0.0.1:%u", port);
  g_assert_nonnull (strstr (err, bind_error));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* the rest of the file applied */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"extra\""));
  g_clear_pointer (&out, g_free);

  /* D-Bus: Error.Plugin, named */
  g_assert_cmpint (gdbus_call (d, &out, &err, "/org/tend/Tend1", "org.tend.Manager1.Reload", NULL), !=, 0);
  g_assert_nonnull (strstr (err, "org.tend.Tend1.Error.Plugin"));
  g_assert_nonnull (strstr (err, "plugin http: start: "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* once the port is free, the next reload starts the plugin */
  g_socket_close (held, NULL);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "reload", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "configuration reloaded"));
  g_assert_true (tend_test_daemon_log_contains (d, "plugin http loaded"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* ---- over HTTP ---- */

static guint16
http_port (TendTestDaemon *d)
{
  g_autofree char *out = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **listen = NULL;
  const char *colon;

  {
    g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1/plugin/http", "--method", "org.freedesktop.DBus.Properties.Get",
                           "org.tend.Plugin1", "Status", NULL };
    g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, NULL), ==, 0);
  }
  reply = g_variant_parse (NULL, out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &status);
  g_assert_true (g_variant_lookup (status, "listen", "^a&s", &listen));
  g_assert_nonnull (listen[0]);
  colon = strrchr (listen[0], ':');
  g_assert_nonnull (colon);
  return (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
}

/* POST @path with the API token; the status, @out_body the body */
static guint
http_post (TendTestDaemon *d, guint16 port, const char *path, char **out_body)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) data = g_string_new (NULL);
  g_autofree char *token_path = g_build_filename (d->home, "api-token", NULL);
  g_autofree char *token = NULL;
  g_autofree char *request = NULL;
  const char *end;
  char buf[4096];
  gssize n;

  g_assert_true (g_file_get_contents (token_path, &token, NULL, NULL));
  g_strstrip (token);
  request = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n",
                             path, port, token);
  g_socket_client_set_timeout (client, 30);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request, strlen (request), NULL,
                             NULL, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof buf, NULL,
                                   &error)) > 0)
    g_string_append_len (data, buf, n);
  g_clear_error (&error);
  g_assert_true (g_str_has_prefix (data->str, "HTTP/1.1 "));
  end = strstr (data->str, "\r\n\r\n");
  g_assert_nonnull (end);
  *out_body = g_strdup (end + 4);
  return (guint) g_ascii_strtoull (data->str + 9, NULL, 10);
}

/* The http plugin answers the reload that restarts it; the new one cannot bind: 500 and why. */
static void
test_http (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GSocket) held = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *body = NULL;
  JsonObject *o;
  guint16 api_port, port;

  held = hold_port (&port);
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:0\n\n"
                                    "[service:web]\nexec=sleep 100000\n");
  tend_test_daemon_start (d);
  api_port = http_port (d);
  config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:%u\n\n"
                            "[service:web]\nexec=sleep 100000\n",
                            port);
  tend_test_daemon_write_config (d, config);

  g_assert_cmpuint (http_post (d, api_port, "/api/reload", &body), ==, 500);
  json_parser_load_from_data (parser, body, -1, &error);
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "ERROR");
  g_assert_cmpstr (json_object_get_string_member (o, "action"), ==, "reload");
  g_assert_nonnull (strstr (json_object_get_string_member (o, "message"), "plugin http: start: "));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reload/plugin-fails/cli-and-dbus", test_cli_and_dbus);
  g_test_add_func ("/reload/plugin-fails/http", test_http);
  return g_test_run ();
}
