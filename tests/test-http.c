/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP API over real HTTP on 127.0.0.1: a real tendd, a raw HTTP/1.1 client, curl. */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define WAIT_MS 15000

/* The seed's nine services (pm2-migration-plan.md), small stand-ins, layers and ports from the plan. */
static const char seed_services[] =
  "[service:sttttserver]\nexec=sleep 100000\nport=3020\nlayer=core\ncritical=true\n\n"
  "[service:ari-gstreamer]\nexec=sleep 100001\nlayer=core\ncritical=true\n\n"
  "[service:monitoring-server]\nexec=sleep 100002\nport=3001\nlayer=monitoring\n\n"
  "[service:database-api-server]\nexec=sleep 100003\nport=8083\nlayer=monitoring\n\n"
  "[service:monitoring-bridge]\nexec=sleep 100004\nlayer=monitoring\n\n"
  /* a long restart delay keeps a killed service DOWN (waiting-restart) while we look */
  "[service:metrics-emitter]\nexec=sleep 100005\nlayer=monitoring\nrestart-delay=60s\n\n"
  "[service:gateway-3333]\nexec=sleep 100006\nport=7777\nlayer=gateway\ncritical=true\n\n"
  "[service:gateway-4444]\nexec=sleep 100007\nport=8888\nlayer=gateway\ncritical=true\nrestart-delay=60s\n\n"
  "[service:cloudflared]\nexec=sleep 100008\nlayer=infrastructure\n\n";

typedef struct {
  TendTestDaemon *d;
  guint16 port;
  char *token;
} Api;

static void
api_free (Api *api)
{
  g_autoptr(GArray) left = NULL;

  if (!api->d->exited)
    g_assert_cmpint (tend_test_daemon_stop (api->d), ==, 0);
  left = tend_test_daemon_leftovers (api->d);
  g_assert_cmpuint (left->len, ==, 0);
  tend_test_daemon_free (api->d);
  g_free (api->token);
  g_free (api);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Api, api_free)

/* ---- a small HTTP/1.1 client: one request per connection, read to the end ---- */

typedef struct {
  guint status;
  char *head; /* status line and headers */
  char *body;
} Reply;

static void
reply_free (Reply *r)
{
  g_free (r->head);
  g_free (r->body);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

static GSocketConnection *
connect_to (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *conn;

  g_socket_client_set_timeout (client, 10);
  /* straight to tendd: no proxy from the environment, and no libproxy thread (which throws C++
   * exceptions that clang's AddressSanitizer cannot intercept in a C program) */
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static Reply *
http_raw (guint16 port, const char *request, gsize length)
{
  g_autoptr(GSocketConnection) conn = connect_to (port);
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  Reply *r = g_new0 (Reply, 1);
  char buf[16384];
  const char *end;
  gssize n;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request, length, NULL, NULL, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &error)) > 0)
    g_string_append_len (data, buf, n);
  /* a server that answers early and closes may reset the rest; what we read stands */
  g_clear_error (&error);
  end = strstr (data->str, "\r\n\r\n");
  g_assert_nonnull (end);
  r->head = g_strndup (data->str, (gsize) (end - data->str));
  r->body = g_strdup (end + 4);
  g_assert_true (g_str_has_prefix (r->head, "HTTP/1.1 "));
  r->status = (guint) g_ascii_strtoull (r->head + 9, NULL, 10);
  return r;
}

/* @headers: extra header lines, each ending in \r\n (nullable) */
static Reply *
http (guint16 port, const char *method, const char *path, const char *headers, const char *body)
{
  g_autoptr(GString) req = g_string_new (NULL);

  g_string_append_printf (req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s", method, path, port,
                          headers != NULL ? headers : "");
  if (body != NULL)
    g_string_append_printf (req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen (body));
  g_string_append (req, "\r\n");
  if (body != NULL)
    g_string_append (req, body);
  return http_raw (port, req->str, req->len);
}

static Reply *
api_call (Api *api, const char *method, const char *path)
{
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s\r\n", api->token);
  return http (api->port, method, path, auth, NULL);
}

/* the value of header @name (case-insensitive), or NULL */
static char *
reply_header (Reply *r, const char *name)
{
  g_auto(GStrv) lines = g_strsplit (r->head, "\r\n", -1);
  gsize len = strlen (name);

  for (guint i = 1; lines[i] != NULL; i++) {
    if (g_ascii_strncasecmp (lines[i], name, len) == 0 && lines[i][len] == ':')
      return g_strstrip (g_strdup (lines[i] + len + 1));
  }
  return NULL;
}

static JsonNode *
reply_json (Reply *r)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  g_autofree char *type = reply_header (r, "Content-Type");

  g_assert_cmpstr (type, ==, "application/json");
  json_parser_load_from_data (parser, r->body, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

static void
assert_error_reply (Reply *r, guint status, const char *message)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o;

  g_assert_cmpuint (r->status, ==, status);
  node = reply_json (r);
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "ERROR");
  if (message != NULL)
    g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, message);
}

/* ---- the daemon ---- */

/* The plugin's D-Bus Status, as an admin reads it: gdbus on the control socket. */
static GVariant *
plugin_status (TendTestDaemon *d)
{
  g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                         "/org/tend/Tend1/plugin/http", "--method", "org.freedesktop.DBus.Properties.Get",
                         "org.tend.Plugin1", "Status", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value = NULL;

  g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, NULL), ==, 0);
  reply = g_variant_parse (NULL, out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static guint16
listen_port (const char *address)
{
  const char *colon = strrchr (address, ':');
  g_assert_nonnull (colon);
  return (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
}

/* The live figures of `tend plugins --json` (D-Bus Status is a snapshot taken at start and reload). */
static JsonObject *
live_status (TendTestDaemon *d, JsonNode **out_root)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *plugins;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "plugins", "--json", NULL), ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  *out_root = json_node_ref (json_parser_get_root (parser));
  plugins = json_node_get_array (*out_root);
  for (guint i = 0; i < json_array_get_length (plugins); i++) {
    JsonObject *p = json_array_get_object_element (plugins, i);
    if (g_strcmp0 (json_object_get_string_member (p, "name"), "http") == 0)
      return json_object_get_object_member (p, "status");
  }
  g_assert_not_reached ();
  return NULL;
}

static Api *
api_start (const char *http_keys, const char *services)
{
  Api *api = g_new0 (Api, 1);
  g_autofree char *config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n"
                                             "[plugin:http]\nlisten=127.0.0.1:0\n%s\n%s",
                                             http_keys != NULL ? http_keys : "", services != NULL ? services : "");
  g_autofree char *token_path = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autofree const char **listen = NULL;
  g_autoptr(GError) error = NULL;

  api->d = tend_test_daemon_new ();
  tend_test_daemon_write_config (api->d, config);
  tend_test_daemon_start (api->d);
  status = plugin_status (api->d);
  g_assert_true (g_variant_lookup (status, "listen", "^a&s", &listen));
  g_assert_cmpuint (g_strv_length ((char **) listen), ==, 1);
  g_assert_true (g_str_has_prefix (listen[0], "127.0.0.1:"));
  api->port = listen_port (listen[0]);
  g_assert_cmpuint (api->port, >, 0);
  /* the daemon logs it too */
  {
    g_autofree char *line = g_strdup_printf ("HTTP API listening on %s", listen[0]);
    g_assert_true (tend_test_daemon_log_contains (api->d, line));
  }
  token_path = g_build_filename (api->d->home, "api-token", NULL);
  g_file_get_contents (token_path, &api->token, NULL, &error);
  g_assert_no_error (error);
  g_strstrip (api->token);
  return api;
}

/* Figures with a fraction are written to the millisecond at most, never as 51.048000000000002. */
static void
assert_short_numbers (const char *body)
{
  g_autoptr(GRegex) long_fraction = g_regex_new ("[0-9]\\.[0-9]{4,}", 0, 0, NULL);

  if (g_regex_match (long_fraction, body, 0, NULL))
    g_error ("a number with more than three decimals: %s", body);
}

static JsonNode *
health (Api *api)
{
  g_autoptr(Reply) r = api_call (api, "GET", "/api/health/system");

  g_assert_cmpuint (r->status, ==, 200);
  assert_short_numbers (r->body);
  return reply_json (r);
}

typedef struct {
  Api *api;
  const char *global;
  const char *component;
  const char *component_status;
  guint live;
} HealthWait;

static gboolean
health_is (gpointer data)
{
  HealthWait *w = data;
  g_autoptr(JsonNode) doc = health (w->api);
  JsonObject *o = json_node_get_object (doc);
  JsonObject *components = json_object_get_object_member (o, "components");

  if (g_strcmp0 (json_object_get_string_member (o, "status"), w->global) != 0)
    return FALSE;
  if (w->live != G_MAXUINT && (guint) json_object_get_int_member (o, "components_live") != w->live)
    return FALSE;
  if (w->component != NULL) {
    JsonObject *c = json_object_get_object_member (components, w->component);
    return g_strcmp0 (json_object_get_string_member (c, "status"), w->component_status) == 0;
  }
  return TRUE;
}

static void
wait_health (Api *api, const char *global, guint live, const char *component, const char *component_status)
{
  HealthWait w = { api, global, component, component_status, live };

  if (!tend_test_wait (health_is, &w, WAIT_MS)) {
    g_autoptr(JsonNode) doc = health (api);
    g_autofree char *text = json_to_string (doc, TRUE);
    g_error ("health never became %s (%s %s): %s", global, component ? component : "", component_status ? component_status : "",
             text);
  }
}

static int
component_pid (Api *api, const char *name)
{
  g_autoptr(JsonNode) doc = health (api);
  JsonObject *c = json_object_get_object_member (
    json_object_get_object_member (json_node_get_object (doc), "components"), name);
  return (int) json_object_get_int_member (c, "pid");
}

/* ---- tests ---- */

static void
check_component_fields (JsonObject *c)
{
  static const char *const fields[] = { "status", "pid", "id", "port", "layer", "critical", "cpu_percent",
                                        "memory_rss_mb", "uptime_seconds", "restart_count", "start_time",
                                        "lastCheck", "state" };

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (json_object_has_member (c, fields[i]));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (c, "lastCheck"), "Z"));
  /* the seed's pm2-control.js dialect */
  g_assert_true (json_object_has_member (c, "pm2_id"));
  g_assert_cmpint (json_object_get_int_member (c, "pm2_id"), ==, json_object_get_int_member (c, "id"));
}

/* The seed plan's document and checklist, then STOPPED, DEGRADED and CRITICAL. */
static void
test_seed (void)
{
  g_autoptr(Api) api = api_start (NULL, seed_services);
  g_autoptr(JsonNode) doc = NULL;
  g_autoptr(Reply) r = NULL;
  g_autofree char *url = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *out = NULL;
  JsonObject *o, *components, *c;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  wait_health (api, "HEALTHY", 9, NULL, NULL);
  doc = health (api);
  o = json_node_get_object (doc);
  g_assert_cmpint (json_object_get_int_member (o, "components_total"), ==, 9);
  components = json_object_get_object_member (o, "components");
  g_assert_cmpuint (json_object_get_size (components), ==, 9);
  c = json_object_get_object_member (components, "gateway-3333");
  check_component_fields (c);
  g_assert_cmpstr (json_object_get_string_member (c, "status"), ==, "LIVE");
  g_assert_cmpstr (json_object_get_string_member (c, "state"), ==, "online");
  g_assert_cmpint (json_object_get_int_member (c, "port"), ==, 7777);
  g_assert_cmpstr (json_object_get_string_member (c, "layer"), ==, "gateway");
  g_assert_true (json_object_get_boolean_member (c, "critical"));
  g_assert_cmpint (json_object_get_int_member (c, "pid"), >, 0);
  g_assert_cmpint (json_object_get_int_member (c, "restart_count"), ==, 0);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (c, "start_time"), "Z"));
  c = json_object_get_object_member (components, "monitoring-bridge");
  g_assert_true (json_object_get_null_member (c, "port"));
  g_assert_false (json_object_get_boolean_member (c, "critical"));
  for (guint i = 0; i < 4; i++) {
    static const char *const groups[] = { "cpu", "memory", "uptime", "components" };
    g_assert_true (json_object_has_member (o, groups[i]));
  }
  g_assert_true (json_object_has_member (json_object_get_object_member (o, "cpu"), "loadAvg1min"));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "cpu"), "cores"), >=, 1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "memory"), "total_mb"), >, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "platform"), ==, "linux");
  g_assert_nonnull (json_object_get_string_member (o, "hostname"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (o, "timestamp"), "Z"));

  /* the checklist's commands, with the token */
  url = g_strdup_printf ("http://127.0.0.1:%u/api/health/system", api->port);
  auth = g_strdup_printf ("Authorization: Bearer %s", api->token);
  {
    const char *argv[] = { "curl", "-s", "-f", url, "-H", auth, NULL };
    g_assert_cmpint (tend_test_run_program (api->d, NULL, argv, &out, NULL), ==, 0);
    json_parser_load_from_data (parser, out, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "status"),
                     ==, "HEALTHY");
    g_clear_pointer (&out, g_free);
  }
  g_clear_pointer (&url, g_free);
  url = g_strdup_printf ("http://127.0.0.1:%u/api/control/restart/monitoring-bridge", api->port);
  {
    const char *argv[] = { "curl", "-s", "-X", "POST", url, "-H", auth, NULL };
    g_assert_cmpint (tend_test_run_program (api->d, NULL, argv, &out, NULL), ==, 0);
    g_assert_cmpstr (out, ==,
                     "{\"status\":\"OK\",\"action\":\"restart\",\"component\":\"monitoring-bridge\","
                     "\"message\":\"Component restarted successfully\"}");
    g_clear_pointer (&out, g_free);
  }
  /* and without it */
  {
    const char *argv[] = { "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url, NULL };
    g_assert_cmpint (tend_test_run_program (api->d, NULL, argv, &out, NULL), ==, 0);
    g_assert_cmpstr (out, ==, "401");
    g_clear_pointer (&out, g_free);
  }
  g_assert_true (tend_test_daemon_log_contains (api->d, "restart monitoring-bridge requested over HTTP by 127.0.0.1:"));
  wait_health (api, "HEALTHY", 9, "monitoring-bridge", "LIVE");

  /* unknown and invalid names */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/restart/no-such-service");
  assert_error_reply (r, 400, "Invalid component name");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/start/bad%20name");
  assert_error_reply (r, 400, "Invalid component name");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/kill/cloudflared");
  assert_error_reply (r, 404, NULL);

  /* a non-critical one stopped on purpose: STOPPED, and the whole stays HEALTHY */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/stop/cloudflared");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_nonnull (strstr (r->body, "\"message\":\"Component stopped successfully\""));
  wait_health (api, "HEALTHY", 8, "cloudflared", "STOPPED");

  /* a non-critical one dies: DOWN, DEGRADED */
  g_assert_cmpint (kill (component_pid (api, "metrics-emitter"), SIGKILL), ==, 0);
  wait_health (api, "DEGRADED", 7, "metrics-emitter", "DOWN");
  /* a critical one dies: CRITICAL */
  g_assert_cmpint (kill (component_pid (api, "gateway-4444"), SIGKILL), ==, 0);
  wait_health (api, "CRITICAL", 6, "gateway-4444", "DOWN");

  /* started again through the API */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/start/cloudflared");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_nonnull (strstr (r->body, "\"message\":\"Component started successfully\""));
  wait_health (api, "CRITICAL", 7, "cloudflared", "LIVE");

  /* every service at once, as the CLI's `all` */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/restart/all");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (r->body, ==,
                   "{\"status\":\"OK\",\"action\":\"restart\",\"component\":\"all\","
                   "\"message\":\"All components restarted successfully\"}");
  wait_health (api, "HEALTHY", 9, "gateway-4444", "LIVE");

  /* a critical one stopped on purpose: STOPPED, yet the system does not work without it */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/stop/sttttserver");
  g_assert_cmpuint (r->status, ==, 200);
  wait_health (api, "CRITICAL", 8, "sttttserver", "STOPPED");

  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/stop/all");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_nonnull (strstr (r->body, "\"message\":\"All components stopped successfully\""));
  wait_health (api, "CRITICAL", 0, "gateway-3333", "STOPPED");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/start/all");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_nonnull (strstr (r->body, "\"message\":\"All components started successfully\""));
  wait_health (api, "HEALTHY", 9, NULL, NULL);
}

/* Nothing critical configured: one stopped of two leaves it HEALTHY, nothing live at all is CRITICAL. */
static void
test_nothing_live (void)
{
  g_autoptr(Api) api = api_start (NULL, "[service:a]\nexec=sleep 100000\n\n[service:b]\nexec=sleep 100001\n");
  g_autoptr(Reply) r = NULL;

  wait_health (api, "HEALTHY", 2, NULL, NULL);
  r = api_call (api, "POST", "/api/control/stop/a");
  g_assert_cmpuint (r->status, ==, 200);
  wait_health (api, "HEALTHY", 1, "a", "STOPPED");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/control/stop/b");
  g_assert_cmpuint (r->status, ==, 200);
  wait_health (api, "CRITICAL", 0, "b", "STOPPED");
}

static void
test_components (void)
{
  g_autoptr(Api) api = api_start (NULL, seed_services);
  g_autoptr(Reply) r = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *rows;
  JsonObject *o;

  wait_health (api, "HEALTHY", 9, NULL, NULL);
  r = api_call (api, "GET", "/api/components");
  g_assert_cmpuint (r->status, ==, 200);
  node = reply_json (r);
  rows = json_node_get_array (node);
  g_assert_cmpuint (json_array_get_length (rows), ==, 9);
  o = json_array_get_object_element (rows, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "sttttserver");
  check_component_fields (o);
  g_clear_pointer (&node, json_node_unref);

  /* one, as `tend describe --json` */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/database-api-server");
  g_assert_cmpuint (r->status, ==, 200);
  node = reply_json (r);
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "database-api-server");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "online");
  g_assert_cmpint (json_object_get_int_member (o, "port"), ==, 8083);
  g_assert_true (json_object_has_member (o, "out-log"));
  g_assert_true (json_object_has_member (o, "config"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "instance-list")), ==, 1);

  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/nope");
  assert_error_reply (r, 404, "Unknown component");
  /* no way out of the path: an encoded '/' stays in its segment, ".." is no name */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/..%2F..%2Fetc%2Fpasswd/logs");
  assert_error_reply (r, 400, "Invalid component name");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/a%00b/logs");
  assert_error_reply (r, 400, "Invalid component name");
  /* an encoded dot segment is still a dot segment: the URI is normalized before routing */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/%2e%2e/logs");
  assert_error_reply (r, 404, "Not found");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/../../etc/passwd");
  assert_error_reply (r, 404, "Not found");

  /* the tunnel: no cloudflared plugin here */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/tunnel");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (r->body, ==, "{\"status\":\"disabled\"}");
}

static void
test_errors (void)
{
  g_autoptr(Api) api = api_start (NULL, "[service:web]\nexec=sleep 100000\n");
  g_autoptr(Reply) r = NULL;
  g_autofree char *value = NULL;
  g_autofree char *big = NULL;
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s\r\n", api->token);
  static const char *const unauthorized[] = {
    NULL,
    "Authorization: Bearer wrong-token\r\n",
    "Authorization: Basic dXNlcjpwYXNz\r\n",
    "Authorization: Bearer\r\n",
    "Authorization: Bearer a b\r\n",
  };

  /* no token, a wrong one, malformed headers */
  for (guint i = 0; i < G_N_ELEMENTS (unauthorized); i++) {
    g_clear_pointer (&r, reply_free);
    r = http (api->port, "GET", "/api/components", unauthorized[i], NULL);
    assert_error_reply (r, 401, "Unauthorized");
    g_clear_pointer (&value, g_free);
    value = reply_header (r, "WWW-Authenticate");
    g_assert_nonnull (value);
    g_assert_true (g_str_has_prefix (value, "Bearer"));
  }
  /* a token is a token: "bearer" in any case, the right one with a prefix is wrong */
  g_clear_pointer (&r, reply_free);
  {
    g_autofree char *lower = g_strdup_printf ("authorization: bearer %s\r\n", api->token);
    r = http (api->port, "GET", "/api/components", lower, NULL);
    g_assert_cmpuint (r->status, ==, 200);
  }
  g_clear_pointer (&r, reply_free);
  {
    g_autofree char *longer = g_strdup_printf ("Authorization: Bearer %sx\r\n", api->token);
    r = http (api->port, "GET", "/api/components", longer, NULL);
    g_assert_cmpuint (r->status, ==, 401);
  }

  /* unknown path, wrong method */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/nothing-here");
  assert_error_reply (r, 404, "Not found");
  g_clear_pointer (&r, reply_free);
  /* "/" is the dashboard (test-http-dashboard.c); a path beside it is not */
  r = api_call (api, "GET", "/index.html");
  assert_error_reply (r, 404, "Not found");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "DELETE", "/api/health/system");
  assert_error_reply (r, 405, "Method not allowed");
  g_clear_pointer (&value, g_free);
  value = reply_header (r, "Allow");
  g_assert_cmpstr (value, ==, "GET, HEAD");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/control/restart/web");
  assert_error_reply (r, 405, "Method not allowed");
  g_clear_pointer (&value, g_free);
  value = reply_header (r, "Allow");
  g_assert_cmpstr (value, ==, "POST");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/metrics");
  g_assert_cmpuint (r->status, ==, 405);

  /* a body over 64 KiB: by Content-Length, and sent chunked */
  big = g_strnfill (70 * 1024, 'x');
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "POST", "/api/reload", auth, big);
  assert_error_reply (r, 413, "Request body too large");
  g_clear_pointer (&r, reply_free);
  {
    g_autoptr(GString) req = g_string_new (NULL);
    g_string_append_printf (req, "POST /api/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s"
                                 "Transfer-Encoding: chunked\r\n\r\n", auth);
    for (guint i = 0; i < 5; i++)
      g_string_append_printf (req, "%x\r\n%.*s\r\n", 16 * 1024, 16 * 1024, big);
    g_string_append (req, "0\r\n\r\n");
    r = http_raw (api->port, req->str, req->len);
    assert_error_reply (r, 413, "Request body too large");
  }
  /* a small body is fine */
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "POST", "/api/control/restart/web", auth, "{}");
  g_assert_cmpuint (r->status, ==, 200);

  /* no CORS unless configured */
  g_clear_pointer (&r, reply_free);
  {
    g_autofree char *headers = g_strdup_printf ("%sOrigin: https://evil.example\r\n", auth);
    r = http (api->port, "GET", "/api/health/system", headers, NULL);
    g_assert_cmpuint (r->status, ==, 200);
    g_clear_pointer (&value, g_free);
    value = reply_header (r, "Access-Control-Allow-Origin");
    g_assert_null (value);
  }
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "OPTIONS", "/api/health/system", "Origin: https://evil.example\r\n", NULL);
  g_assert_cmpuint (r->status, ==, 401);

  /* HEAD answers like GET, without a body */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "HEAD", "/api/health/system");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (r->body, ==, "");
}

static void
test_cors (void)
{
  g_autoptr(Api) api = api_start ("allow-origin=https://dash.example.com\n", NULL);
  g_autoptr(Reply) r = NULL;
  g_autofree char *value = NULL;

  /* a preflight needs no token */
  r = http (api->port, "OPTIONS", "/api/control/restart/web",
            "Origin: https://dash.example.com\r\nAccess-Control-Request-Method: POST\r\n", NULL);
  g_assert_cmpuint (r->status, ==, 204);
  value = reply_header (r, "Access-Control-Allow-Origin");
  g_assert_cmpstr (value, ==, "https://dash.example.com");
  g_clear_pointer (&value, g_free);
  value = reply_header (r, "Access-Control-Allow-Headers");
  g_assert_nonnull (strstr (value, "Authorization"));
  g_clear_pointer (&value, g_free);
  value = reply_header (r, "Access-Control-Allow-Methods");
  g_assert_nonnull (strstr (value, "POST"));
  g_clear_pointer (&value, g_free);

  /* the answer itself carries the header, errors included */
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "GET", "/api/health/system", "Origin: https://dash.example.com\r\n", NULL);
  g_assert_cmpuint (r->status, ==, 401);
  value = reply_header (r, "Access-Control-Allow-Origin");
  g_assert_cmpstr (value, ==, "https://dash.example.com");
  g_clear_pointer (&value, g_free);

  /* another origin gets nothing */
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "OPTIONS", "/api/health/system", "Origin: https://other.example\r\n", NULL);
  g_assert_cmpuint (r->status, ==, 401);
  value = reply_header (r, "Access-Control-Allow-Origin");
  g_assert_null (value);
}

/* Every sample line is NAME{LABELS} VALUE; every metric has HELP and TYPE before its samples. */
static void
test_metrics (void)
{
  g_autoptr(Api) api = api_start (NULL, seed_services);
  g_autoptr(Reply) r = NULL;
  g_autoptr(GRegex) sample = g_regex_new ("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
                                          "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*)\\})? "
                                          "(-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$",
                                          0, 0, NULL);
  g_autoptr(GHashTable) help = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) type = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *content_type = NULL;
  g_auto(GStrv) lines = NULL;
  guint up = 0, up_live = 0;
  gboolean tunnel = FALSE;

  wait_health (api, "HEALTHY", 9, NULL, NULL);
  r = api_call (api, "GET", "/metrics");
  g_assert_cmpuint (r->status, ==, 200);
  content_type = reply_header (r, "Content-Type");
  g_assert_cmpstr (content_type, ==, "text/plain; version=0.0.4; charset=utf-8");
  g_assert_true (g_str_has_suffix (r->body, "\n"));
  lines = g_strsplit (r->body, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
    g_autoptr(GMatchInfo) match = NULL;
    g_autofree char *name = NULL;

    if (g_str_has_prefix (lines[i], "# HELP ")) {
      g_auto(GStrv) parts = g_strsplit (lines[i] + 7, " ", 2);
      g_assert_nonnull (parts[1]);
      g_hash_table_add (help, g_strdup (parts[0]));
      continue;
    }
    if (g_str_has_prefix (lines[i], "# TYPE ")) {
      g_auto(GStrv) parts = g_strsplit (lines[i] + 7, " ", 2);
      g_assert_true (g_strv_contains ((const char *const[]) { "counter", "gauge", "histogram", "summary", "untyped", NULL },
                                      parts[1]));
      g_hash_table_insert (type, g_strdup (parts[0]), g_strdup (parts[1]));
      continue;
    }
    g_assert_false (g_str_has_prefix (lines[i], "#"));
    if (!g_regex_match (sample, lines[i], 0, &match))
      g_error ("not an exposition line: \"%s\"", lines[i]);
    name = g_match_info_fetch (match, 1);
    g_assert_true (g_hash_table_contains (help, name));
    g_assert_true (g_hash_table_contains (type, name));
    if (strcmp (name, "tend_service_up") == 0) {
      up++;
      up_live += g_str_has_suffix (lines[i], " 1");
    }
    if (strcmp (name, "tend_tunnel_up") == 0) {
      tunnel = TRUE;
      g_assert_cmpstr (lines[i], ==, "tend_tunnel_up 0");
    }
  }
  g_assert_cmpuint (up, ==, 9);
  g_assert_cmpuint (up_live, ==, 9);
  g_assert_true (tunnel);
  g_assert_cmpstr (g_hash_table_lookup (type, "tend_service_restarts_total"), ==, "counter");
  g_assert_cmpstr (g_hash_table_lookup (type, "tend_service_cpu_seconds_total"), ==, "counter");
  g_assert_cmpstr (g_hash_table_lookup (type, "tend_service_memory_rss_bytes"), ==, "gauge");
  g_assert_cmpstr (g_hash_table_lookup (type, "tend_service_start_time_seconds"), ==, "gauge");
  g_assert_nonnull (strstr (r->body, "tend_service_up{service=\"gateway-3333\"} 1\n"));
}

static gboolean
log_has_300 (gpointer data)
{
  Api *api = data;
  g_autoptr(Reply) r = api_call (api, "GET", "/api/components/talker/logs?lines=1");
  return strstr (r->body, "\"line 300\"") != NULL;
}

static void
test_logs (void)
{
  g_autoptr(Api) api = api_start (NULL, "[service:talker]\nshell=true\n"
                                        "exec=for i in $(seq 1 300); do echo line $i; done; echo oops >&2; exec sleep 100000\n");
  g_autoptr(Reply) r = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *lines;

  g_assert_true (tend_test_wait (log_has_300, api, WAIT_MS));
  r = api_call (api, "GET", "/api/components/talker/logs?lines=3");
  g_assert_cmpuint (r->status, ==, 200);
  node = reply_json (r);
  lines = json_object_get_array_member (json_node_get_object (node), "lines");
  g_assert_cmpuint (json_array_get_length (lines), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (lines, 0), ==, "line 298");
  g_assert_cmpstr (json_array_get_string_element (lines, 2), ==, "line 300");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "stream"), ==, "out");
  g_clear_pointer (&node, json_node_unref);

  /* 100 by default, at most 10000 */
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/talker/logs");
  node = reply_json (r);
  lines = json_object_get_array_member (json_node_get_object (node), "lines");
  g_assert_cmpuint (json_array_get_length (lines), ==, 100);
  g_assert_cmpstr (json_array_get_string_element (lines, 0), ==, "line 201");
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/talker/logs?lines=50000");
  node = reply_json (r);
  lines = json_object_get_array_member (json_node_get_object (node), "lines");
  g_assert_cmpuint (json_array_get_length (lines), ==, 300);
  g_assert_cmpstr (json_array_get_string_element (lines, 0), ==, "line 1");
  g_clear_pointer (&node, json_node_unref);

  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/talker/logs?stream=err&lines=5");
  node = reply_json (r);
  lines = json_object_get_array_member (json_node_get_object (node), "lines");
  g_assert_cmpuint (json_array_get_length (lines), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (lines, 0), ==, "oops");
  g_clear_pointer (&node, json_node_unref);

  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/talker/logs?lines=abc");
  assert_error_reply (r, 400, NULL);
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/talker/logs?lines=0");
  assert_error_reply (r, 400, NULL);
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/talker/logs?stream=both");
  assert_error_reply (r, 400, NULL);
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/nobody/logs");
  assert_error_reply (r, 404, NULL);
}

/* An event stream: the raw bytes, the headers once read, and the decoded body. */
typedef struct {
  GSocketConnection *conn;
  GString *raw;
  GString *body;
  char *head;
} Stream;

/* Moves whole chunks of the chunked body from raw to body. */
static void
stream_decode (Stream *s)
{
  for (;;) {
    char *eol = strstr (s->raw->str, "\r\n");
    guint64 size;

    if (eol == NULL)
      return;
    size = g_ascii_strtoull (s->raw->str, NULL, 16);
    if ((gsize) (eol - s->raw->str) + 2 + size + 2 > s->raw->len)
      return;
    g_string_append_len (s->body, eol + 2, (gssize) size);
    g_string_erase (s->raw, 0, (eol - s->raw->str) + 2 + (gssize) size + 2);
  }
}

/* Reads until an event that holds every needle arrives (asserts it does within WAIT_MS). */
static char *
stream_read_event (Stream *s, const char *const *needles)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (s->conn));
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  char buf[4096];

  for (;;) {
    char *end;
    gssize n;
    g_autoptr(GError) error = NULL;

    while ((end = strstr (s->body->str, "\n\n")) != NULL) {
      g_autofree char *event = g_strndup (s->body->str, (gsize) (end - s->body->str));
      gboolean all = TRUE;

      g_string_erase (s->body, 0, end - s->body->str + 2);
      for (guint i = 0; needles[i] != NULL; i++)
        all = all && strstr (event, needles[i]) != NULL;
      if (all)
        return g_steal_pointer (&event);
    }
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (n, >, 0);
    g_string_append_len (s->raw, buf, n);
    if (s->head == NULL) {
      char *blank = strstr (s->raw->str, "\r\n\r\n");
      if (blank == NULL)
        continue;
      s->head = g_strndup (s->raw->str, (gsize) (blank - s->raw->str));
      g_string_erase (s->raw, 0, blank - s->raw->str + 4);
    }
    stream_decode (s);
  }
}

static guint
event_streams (TendTestDaemon *d)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *status = live_status (d, &root);
  return (guint) json_object_get_int_member (status, "event-streams");
}

static gboolean
no_event_streams (gpointer data)
{
  return event_streams (data) == 0;
}

static void
test_events (void)
{
  g_autoptr(Api) api = api_start (NULL, seed_services);
  g_autoptr(GString) raw = g_string_new (NULL);
  g_autoptr(GString) body = g_string_new (NULL);
  Stream s = { NULL, raw, body, NULL };
  g_autoptr(Reply) r = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autofree char *event = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  const char *data;

  wait_health (api, "HEALTHY", 9, NULL, NULL);
  s.conn = connect_to (api->port);
  g_socket_set_timeout (g_socket_connection_get_socket (s.conn), 10);
  request = g_strdup_printf ("GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", api->token);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (s.conn)), request, strlen (request), NULL,
                             NULL, &error);
  g_assert_no_error (error);
  event = stream_read_event (&s, (const char *const[]) { ": connected", NULL });
  g_assert_true (g_str_has_prefix (s.head, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (s.head, "Content-Type: text/event-stream"));
  g_assert_nonnull (strstr (s.head, "Transfer-Encoding: chunked"));
  g_assert_cmpuint (event_streams (api->d), ==, 1);

  /* a restart through the API shows as state events */
  r = api_call (api, "POST", "/api/control/restart/monitoring-bridge");
  g_assert_cmpuint (r->status, ==, 200);
  g_clear_pointer (&event, g_free);
  event = stream_read_event (&s, (const char *const[]) { "event: state\n", "\"name\":\"monitoring-bridge\"",
                                                         "\"state\":\"online\"", NULL });
  g_assert_true (g_str_has_prefix (event, "event: state\ndata: {"));
  data = strstr (event, "data: ");
  json_parser_load_from_data (parser, data + 6, -1, &error);
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "index"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "pid"), >, 0);
  g_assert_true (json_object_has_member (o, "old_state"));
  g_assert_true (json_object_has_member (o, "reason"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (o, "time"), "Z"));

  /*
   * the client goes away, after bytes that mean nothing on a stream (more
   * than the server reads ahead): the stream is dropped at once, not at the
   * next keep-alive comment (15 s)
   */
  {
    g_autofree char *junk = g_strnfill (64 * 1024, 'a');
    g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (s.conn)), junk, strlen (junk), NULL, NULL,
                               &error);
    g_assert_no_error (error);
  }
  g_io_stream_close (G_IO_STREAM (s.conn), NULL, NULL);
  g_clear_object (&s.conn);
  g_free (s.head);
  g_assert_true (tend_test_wait (no_event_streams, api->d, 5000));
}

/*
 * An event stream stays open past request-timeout, also when its request was
 * already waiting when the connection was accepted (as curl -N sends it): the
 * deadline must not be armed again once the stream has begun.
 */
static void
test_events_outlive_timeout (void)
{
  g_autoptr(Api) api = api_start ("request-timeout=1s\n", "[service:web]\nexec=sleep 100000\n");
  g_autoptr(GString) raw = g_string_new (NULL);
  g_autoptr(GString) body = g_string_new (NULL);
  Stream s = { NULL, raw, body, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autofree char *event = NULL;
  gint64 start;
  guint events = 0;

  wait_health (api, "HEALTHY", 1, NULL, NULL);
  request = g_strdup_printf ("GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", api->token);
  /* the daemon stopped: the kernel takes the connection and the request before tendd accepts it */
  g_assert_cmpint (kill (api->d->pid, SIGSTOP), ==, 0);
  s.conn = connect_to (api->port);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (s.conn)), request, strlen (request), NULL,
                             NULL, &error);
  g_assert_cmpint (kill (api->d->pid, SIGCONT), ==, 0);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (s.conn), 10);
  start = g_get_monotonic_time ();
  event = stream_read_event (&s, (const char *const[]) { ": connected", NULL });
  g_assert_true (g_str_has_prefix (s.head, "HTTP/1.1 200"));

  /* three times request-timeout, events arriving all along */
  while (g_get_monotonic_time () - start < 3500 * 1000) {
    g_autoptr(Reply) r = api_call (api, "POST", "/api/control/restart/web");

    g_assert_cmpuint (r->status, ==, 200);
    g_clear_pointer (&event, g_free);
    event = stream_read_event (&s, (const char *const[]) { "\"name\":\"web\"", "\"state\":\"online\"", NULL });
    events++;
    g_usleep (300 * 1000);
  }
  g_assert_cmpuint (events, >=, 3);
  g_assert_cmpuint (event_streams (api->d), ==, 1);
  g_clear_object (&s.conn);
  g_free (s.head);
}

static gboolean
peer_closed (GSocket *socket)
{
  char byte;
  ssize_t n = recv (g_socket_get_fd (socket), &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* A client sending its headers a byte every 200 ms is cut off after request-timeout; others are served meanwhile. */
static void
test_slow_client (void)
{
  g_autoptr(Api) api = api_start ("request-timeout=1s\nmax-connections=3\n", NULL);
  g_autoptr(GSocketConnection) slow = connect_to (api->port);
  GSocket *socket = g_socket_connection_get_socket (slow);
  g_autofree char *request = g_strdup_printf ("GET /api/health/system HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
                                              api->token);
  gint64 start = g_get_monotonic_time ();
  gboolean cut = FALSE;
  guint served = 0;
  GSocketConnection *held[3] = { NULL };
  g_autoptr(Reply) r = NULL;

  for (gsize i = 0; i < strlen (request) && !cut; i++) {
    g_autoptr(Reply) other = NULL;

    if (g_socket_send (socket, request + i, 1, NULL, NULL) != 1 || peer_closed (socket)) {
      cut = TRUE;
      break;
    }
    other = api_call (api, "GET", "/api/tunnel");
    g_assert_cmpuint (other->status, ==, 200);
    served++;
    g_usleep (200 * 1000);
    cut = peer_closed (socket);
  }
  g_assert_true (cut);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);
  g_assert_cmpuint (served, >=, 3);

  /* max-connections=3: the fourth is refused with 503 while three are open */
  for (guint i = 0; i < 3; i++)
    held[i] = connect_to (api->port);
  {
    g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s\r\n", api->token);
    r = http (api->port, "GET", "/api/tunnel", auth, NULL);
    assert_error_reply (r, 503, "Too many connections");
  }
  for (guint i = 0; i < 3; i++)
    g_object_unref (held[i]);
  /* closed ones free their slots */
  g_clear_pointer (&r, reply_free);
  for (guint tries = 0; tries < 100; tries++) {
    g_clear_pointer (&r, reply_free);
    r = api_call (api, "GET", "/api/tunnel");
    if (r->status == 200)
      break;
    g_usleep (50 * 1000);
  }
  g_assert_cmpuint (r->status, ==, 200);
}

/* public-read opens exactly GET /api/health/system and GET /metrics. */
static void
test_public_read (void)
{
  g_autoptr(Api) api = api_start ("public-read=true\n", "[service:web]\nexec=sleep 100000\n");
  static const char *const closed[][2] = {
    { "GET", "/api/components" },   { "GET", "/api/components/web" }, { "GET", "/api/components/web/logs" },
    { "GET", "/api/events" },       { "GET", "/api/tunnel" },         { "POST", "/api/control/restart/web" },
    { "POST", "/api/reload" },      { "POST", "/metrics" },           { "DELETE", "/api/health/system" },
    { "GET", "/api/health" },
  };
  g_autoptr(Reply) r = NULL;
  g_autofree char *type = NULL;

  r = http (api->port, "GET", "/api/health/system", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "GET", "/metrics", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  type = reply_header (r, "Content-Type");
  g_assert_true (g_str_has_prefix (type, "text/plain; version=0.0.4"));
  for (guint i = 0; i < G_N_ELEMENTS (closed); i++) {
    g_clear_pointer (&r, reply_free);
    r = http (api->port, closed[i][0], closed[i][1], NULL, NULL);
    if (r->status != 401)
      g_error ("%s %s without a token: %u", closed[i][0], closed[i][1], r->status);
    assert_error_reply (r, 401, "Unauthorized");
  }
}

static void
test_token_file (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *token_path = tend_test_daemon_path (d, "secret/token");
  g_autofree char *dir = tend_test_daemon_path (d, "secret");
  g_autofree char *config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:0\ntoken-file=%s\n",
                                             token_path);
  g_autofree char *contents = NULL;
  g_autoptr(GArray) left = NULL;
  struct stat st;

  /* a configured token file that is missing is created like the default one */
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  g_assert_cmpint (stat (token_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (token_path, &contents, NULL, NULL));
  g_assert_cmpuint (strlen (contents), ==, 65);
  g_assert_cmpint (contents[64], ==, '\n');
  for (guint i = 0; i < 64; i++)
    g_assert_true (g_ascii_isxdigit (contents[i]));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);

  /* readable by others: refused, the daemon does not start */
  g_assert_cmpint (chmod (token_path, 0644), ==, 0);
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
  g_assert_cmpint (d->exit_status, !=, 0);
  g_assert_true (tend_test_daemon_log_contains (d, "readable or writable by group or others"));

  /* beyond loopback without a token: refused before anything is bound */
  g_assert_cmpint (chmod (token_path, 0600), ==, 0);
  g_assert_true (g_file_set_contents (token_path, "  \n", -1, NULL));
  g_assert_cmpint (chmod (token_path, 0600), ==, 0);
  g_clear_pointer (&config, g_free);
  config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:http]\nlisten=0.0.0.0:0\ntoken-file=%s\n", token_path);
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
  g_assert_cmpint (d->exit_status, !=, 0);
  g_assert_true (tend_test_daemon_log_contains (d, "refusing to listen on 0.0.0.0:0 without a token"));

  /* a FIFO: refused at once, the daemon does not wait for a writer */
  g_assert_cmpint (g_unlink (token_path), ==, 0);
  g_assert_cmpint (mkfifo (token_path, 0600), ==, 0);
  tend_test_daemon_spawn (d, NULL);
  g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
  g_assert_cmpint (d->exit_status, !=, 0);
  {
    g_autofree char *why = g_strdup_printf ("the token file %s is not a regular file (a FIFO)", token_path);
    g_assert_true (tend_test_daemon_log_contains (d, why));
  }
  left = tend_test_daemon_leftovers (d);
  g_assert_cmpuint (left->len, ==, 0);
}

/* Bad keys are refused with the file and line, by the configuration reader; a host name is never looked up. */
static void
test_config_errors (void)
{
  static const char *const cases[][2] = {
    { "max-connections=0", "max-connections: out of range: 0 (use 1 to 65535)" },
    { "max-connections=65536", "max-connections: out of range: 65536 (use 1 to 65535)" },
    { "listen=127.0.0.1:0;api.example.invalid:9615",
      "listen: not an IP address or localhost: \"api.example.invalid\" (a host name would need a DNS look-up; listen "
      "on the address it stands for)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
    g_autofree char *config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:http]\n%s\n%s", cases[i][0],
                                               g_str_has_prefix (cases[i][0], "listen") ? "" : "listen=127.0.0.1:0\n");
    g_autofree char *expected = NULL;

    tend_test_daemon_write_config (d, config);
    expected = g_strdup_printf ("%s:5: [plugin:http] %s", d->config, cases[i][1]);
    tend_test_daemon_spawn (d, NULL);
    g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
    g_assert_cmpint (d->exit_status, !=, 0);
    if (!tend_test_daemon_log_contains (d, expected)) {
      g_autofree char *log = NULL;
      g_file_get_contents (d->log, &log, NULL, NULL);
      g_error ("expected \"%s\" in:\n%s", expected, log);
    }
  }
}

/* Sends @request in one write, then reads until the server closes the connection (asserts it does). */
static GString *
exchange (guint16 port, const char *request, gsize length)
{
  g_autoptr(GSocketConnection) conn = connect_to (port);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GString *data = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char buf[4096];
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (conn), 10);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request, length, NULL, NULL, &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &error)) > 0)
    g_string_append_len (data, buf, n);
  /* the end of the stream, not a time-out or a reset */
  g_assert_no_error (error);
  return data;
}

static guint
count_answers (const char *data)
{
  guint n = 0;

  for (const char *p = strstr (data, "HTTP/1.1 "); p != NULL; p = strstr (p + 1, "HTTP/1.1 "))
    n++;
  return n;
}

/*
 * Request smuggling: a head whose body length can be read two ways is
 * answered 400 once, the connection is closed, and neither the request nor
 * what its body hides (here a POST that would stop the service) is run.
 */
static void
test_smuggling (void)
{
  g_autoptr(Api) api = api_start (NULL, "[service:web]\nexec=sleep 100000\n");
  static const struct {
    const char *framing; /* header lines, the empty line, and what the front end may take for a body */
    const char *message;
  } cases[] = {
    { "Content-Length: 80\r\nContent-Length: 0\r\n\r\n", "Bad request: more than one Content-Length" },
    { "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", "Bad request: more than one Content-Length" },
    { "Content-Length: -1\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Content-Length: +0\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Content-Length: 0 0\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Content-Length: 0, 0\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Content-Length: 0x0\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Content-Length: 18446744073709551616\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Content-Length: 9223372036854775808\r\n\r\n", "Bad request: invalid Content-Length" },
    { "Transfer-Encoding: chunked\r\nContent-Length: 200\r\n\r\n0\r\n\r\n",
      "Bad request: both Transfer-Encoding and Content-Length" },
    { "Content-Length: 200\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "Bad request: both Transfer-Encoding and Content-Length" },
    { "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "Bad request: more than one Transfer-Encoding" },
    { "Transfer-Encoding: identity\r\n\r\n", "Bad request: Transfer-Encoding other than chunked" },
    { "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "Bad request: Transfer-Encoding other than chunked" },
    { "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
      "Bad request: Transfer-Encoding other than chunked" },
    /* lines libsoup skips or joins, which a proxy may read otherwise */
    { "Content-Length: 0\r\nTransfer-Encoding : chunked\r\n\r\n", "Bad request: invalid header name" },
    { "Content-Length: 0\r\nTransfer-Encoding\r\n\r\n", "Bad request: header line without a colon" },
    { "Content-Length: 0\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\n\r\n", "Bad request: folded header line" },
    { "Content-Length: 0\r\nX-Pad: a\rTransfer-Encoding: chunked\r\n\r\n",
      "Bad request: control character in a header value" },
  };
  static const char smuggled[] = "POST /api/control/stop/web HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                                 "Content-Length: 0\r\n\r\n";
  g_autofree char *hidden = NULL;
  g_autoptr(JsonNode) doc = NULL;
  JsonObject *web;

  wait_health (api, "HEALTHY", 1, "web", "LIVE");
  hidden = g_strdup_printf (smuggled, api->token);
  for (guint i = 0; i < G_N_ELEMENTS (cases) + 2; i++) {
    g_autoptr(GString) request = g_string_new (NULL);
    g_autoptr(GString) answer = NULL;
    g_autoptr(Reply) r = g_new0 (Reply, 1);
    g_autofree char *connection = NULL;
    const char *expected;
    const char *end;

    if (i < G_N_ELEMENTS (cases)) {
      g_string_append_printf (request, "POST /api/control/start/web HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n%s%s",
                              api->token, cases[i].framing, hidden);
      expected = cases[i].message;
    } else if (i == G_N_ELEMENTS (cases)) {
      /* chunked in HTTP/1.0, which has no chunked */
      g_string_append_printf (request, "POST /api/control/start/web HTTP/1.0\r\nAuthorization: Bearer %s\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", api->token, hidden);
      expected = "Bad request: Transfer-Encoding in an HTTP/1.0 request";
    } else {
      /* a NUL in a header, which libsoup would remove */
      g_string_append_printf (request, "POST /api/control/start/web HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                              "Content-Length: 0\r\nTransfer-Enc", api->token);
      g_string_append_len (request, "\0", 1);
      g_string_append_printf (request, "oding: chunked\r\n\r\n%s", hidden);
      expected = "Bad request: invalid header name";
    }
    answer = exchange (api->port, request->str, request->len);
    if (count_answers (answer->str) != 1)
      g_error ("case %u: not exactly one answer:\n%s", i, answer->str);
    end = strstr (answer->str, "\r\n\r\n");
    g_assert_nonnull (end);
    r->head = g_strndup (answer->str, (gsize) (end - answer->str));
    r->body = g_strdup (end + 4);
    g_assert_true (g_str_has_prefix (r->head, "HTTP/1.1 400 "));
    r->status = 400;
    connection = reply_header (r, "Connection");
    g_assert_cmpstr (connection, ==, "close");
    assert_error_reply (r, 400, expected);
  }

  /*
   * Expect: 100-continue, answered early (no token: 401): libsoup does not
   * read that body, and must not take it for the next request either
   */
  {
    g_autoptr(GString) request = g_string_new (NULL);
    g_autoptr(GString) answer = NULL;

    g_string_append_printf (request, "POST /api/control/start/web HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Length: %zu\r\n\r\n%s", strlen (hidden), hidden);
    answer = exchange (api->port, request->str, request->len);
    if (count_answers (answer->str) != 1 || !g_str_has_prefix (answer->str, "HTTP/1.1 401 "))
      g_error ("Expect: 100-continue: not exactly one 401:\n%s", answer->str);
    g_assert_nonnull (strstr (answer->str, "\r\nConnection: close\r\n"));
  }

  /* neither the requests nor what they hid ran */
  g_assert_false (tend_test_daemon_log_contains (api->d, "requested over HTTP"));
  doc = health (api);
  web = json_object_get_object_member (json_object_get_object_member (json_node_get_object (doc), "components"), "web");
  g_assert_cmpstr (json_object_get_string_member (web, "status"), ==, "LIVE");
  g_assert_cmpint (json_object_get_int_member (web, "restart_count"), ==, 0);
  {
    g_autoptr(JsonNode) root = NULL;
    JsonObject *status = live_status (api->d, &root);
    g_assert_cmpint (json_object_get_int_member (status, "bad-requests"), ==, G_N_ELEMENTS (cases) + 2);
  }
}

/* What is framed one way only still works: pipelined requests, a body by length (keep-alive), a chunked one (then close). */
static void
test_framing_ok (void)
{
  g_autoptr(Api) api = api_start (NULL, NULL);
  g_autofree char *two = g_strdup_printf (
    "GET /api/tunnel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
    "\r\nGET /api/tunnel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
    api->token, api->token);
  g_autofree char *by_length = g_strdup_printf (
    "GET /api/tunnel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\ncontent-length:  2 \r\n\r\n{}"
    "GET /api/tunnel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
    api->token, api->token);
  g_autofree char *chunked = g_strdup_printf (
    "GET /api/tunnel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: Chunked\r\n\r\n"
    "2\r\n{}\r\n0\r\n\r\n"
    "POST /api/control/stop/web HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
    api->token, api->token);
  g_autoptr(GString) a = exchange (api->port, two, strlen (two));
  g_autoptr(GString) b = exchange (api->port, by_length, strlen (by_length));
  g_autoptr(GString) c = exchange (api->port, chunked, strlen (chunked));

  g_assert_cmpuint (count_answers (a->str), ==, 2);
  g_assert_true (g_str_has_prefix (a->str, "HTTP/1.1 200 "));
  g_assert_nonnull (strstr (a->str + 1, "HTTP/1.1 200 "));
  g_assert_cmpuint (count_answers (b->str), ==, 2);
  g_assert_true (g_str_has_prefix (b->str, "HTTP/1.1 200 "));
  g_assert_nonnull (strstr (b->str + 1, "HTTP/1.1 200 "));
  /* after a chunked body the connection closes: what follows is never read */
  g_assert_cmpuint (count_answers (c->str), ==, 1);
  g_assert_true (g_str_has_prefix (c->str, "HTTP/1.1 200 "));
  g_assert_nonnull (strstr (c->str, "Connection: close\r\n"));
  g_assert_false (tend_test_daemon_log_contains (api->d, "requested over HTTP"));
}

static void
test_reload (void)
{
  g_autoptr(Api) api = api_start (NULL, "[service:web]\nexec=sleep 100000\n");
  g_autoptr(Reply) r = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autofree const char **listen = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *good = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n"
                                           "[plugin:http]\nlisten=127.0.0.1:0\n\n"
                                           "[service:web]\nexec=sleep 100000\n\n[service:api]\nexec=sleep 100001\n");

  /* a bad file: 400 with the reason, the running configuration kept */
  tend_test_daemon_write_config (api->d, "[service:web]\nexec=sleep 100000\nbogus-key=1\n");
  r = api_call (api, "POST", "/api/reload");
  assert_error_reply (r, 400, NULL);
  node = reply_json (r);
  g_assert_nonnull (strstr (json_object_get_string_member (json_node_get_object (node), "message"), "bogus-key"));
  g_clear_pointer (&node, json_node_unref);

  tend_test_daemon_write_config (api->d, good);
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/reload");
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_nonnull (strstr (r->body, "\"status\":\"OK\""));
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/components/api");
  g_assert_cmpuint (r->status, ==, 200);

  /* a change to [plugin:http] restarts the plugin, this very request's server included */
  tend_test_daemon_write_config (api->d, "[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n"
                                         "[plugin:http]\nlisten=127.0.0.1:0\npublic-read=true\n\n"
                                         "[service:web]\nexec=sleep 100000\n");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/reload");
  g_assert_cmpuint (r->status, ==, 200);
  status = plugin_status (api->d);
  g_assert_true (g_variant_lookup (status, "listen", "^a&s", &listen));
  api->port = listen_port (listen[0]);
  g_clear_pointer (&r, reply_free);
  r = http (api->port, "GET", "/api/health/system", NULL, NULL);
  g_assert_cmpuint (r->status, ==, 200);
}

static gboolean
tunnel_errored (gpointer data)
{
  Api *api = data;
  g_autoptr(Reply) r = api_call (api, "GET", "/api/tunnel");
  return strstr (r->body, "\"status\":\"error\"") != NULL;
}

/* The tunnel's figures as the cloudflared plugin publishes them (here: its program is missing). */
static void
test_tunnel (void)
{
  g_autoptr(Api) api = api_start (NULL, "[plugin:cloudflared]\nenabled=true\nbinary=@DIR@/no-such-cloudflared\n\n"
                                        "[service:web]\nexec=sleep 100000\n");
  g_autoptr(GString) raw = g_string_new (NULL);
  g_autoptr(GString) body = g_string_new (NULL);
  Stream s = { NULL, raw, body, NULL };
  g_autoptr(Reply) r = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autofree char *event = NULL;
  JsonObject *o;

  g_assert_true (tend_test_wait (tunnel_errored, api, WAIT_MS));
  r = api_call (api, "GET", "/api/tunnel");
  node = reply_json (r);
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "url"), ==, "");
  g_assert_cmpint (json_object_get_int_member (o, "connections"), ==, 0);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (o, "since"), "Z"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (o, "message"), "cloudflared not found"));
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/metrics");
  g_assert_nonnull (strstr (r->body, "\ntend_tunnel_up 0\n"));

  /* the plugin goes away on reload: an `event: tunnel` says so */
  s.conn = connect_to (api->port);
  g_socket_set_timeout (g_socket_connection_get_socket (s.conn), 10);
  request = g_strdup_printf ("GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", api->token);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (s.conn)), request, strlen (request), NULL,
                             NULL, &error);
  g_assert_no_error (error);
  event = stream_read_event (&s, (const char *const[]) { ": connected", NULL });
  tend_test_daemon_write_config (api->d, "[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n"
                                         "[plugin:http]\nlisten=127.0.0.1:0\n\n[service:web]\nexec=sleep 100000\n");
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "POST", "/api/reload");
  g_assert_cmpuint (r->status, ==, 200);
  g_clear_pointer (&event, g_free);
  event = stream_read_event (&s, (const char *const[]) { "event: tunnel\n", "{\"status\":\"disabled\"}", NULL });
  g_clear_object (&s.conn);
  g_free (s.head);
  g_clear_pointer (&r, reply_free);
  r = api_call (api, "GET", "/api/tunnel");
  g_assert_cmpstr (r->body, ==, "{\"status\":\"disabled\"}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* a server closing on us must not kill the test */
  signal (SIGPIPE, SIG_IGN);
  g_test_add_func ("/tend/http/seed", test_seed);
  g_test_add_func ("/tend/http/nothing-live", test_nothing_live);
  g_test_add_func ("/tend/http/components", test_components);
  g_test_add_func ("/tend/http/errors", test_errors);
  g_test_add_func ("/tend/http/cors", test_cors);
  g_test_add_func ("/tend/http/metrics", test_metrics);
  g_test_add_func ("/tend/http/logs", test_logs);
  g_test_add_func ("/tend/http/events", test_events);
  g_test_add_func ("/tend/http/events-outlive-timeout", test_events_outlive_timeout);
  g_test_add_func ("/tend/http/slow-client", test_slow_client);
  g_test_add_func ("/tend/http/public-read", test_public_read);
  g_test_add_func ("/tend/http/token-file", test_token_file);
  g_test_add_func ("/tend/http/config-errors", test_config_errors);
  g_test_add_func ("/tend/http/smuggling", test_smuggling);
  g_test_add_func ("/tend/http/framing-ok", test_framing_ok);
  g_test_add_func ("/tend/http/reload", test_reload);
  g_test_add_func ("/tend/http/tunnel", test_tunnel);
  return g_test_run ();
}
