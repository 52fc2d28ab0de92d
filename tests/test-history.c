/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The health plugin on by default, unknown figures shown as unknown, and the
 * history of a service over HTTP (GET /api/components/NAME/history) and D-Bus
 * (Service1.GetHistory), with a real tendd and a service whose memory grows.
 */
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "tend-test-daemon.h"

#define WAIT_MS 20000
#define POLL_MS 20

typedef struct {
  TendTestDaemon *d;
  GDBusConnection *bus;
  guint16 port; /* 0: no http plugin */
  char *token;
} Fixture;

static void
fixture_free (Fixture *f)
{
  g_autoptr(GArray) left = NULL;

  g_clear_object (&f->bus);
  if (!f->d->exited)
    g_assert_cmpint (tend_test_daemon_stop (f->d), ==, 0);
  left = tend_test_daemon_leftovers (f->d);
  g_assert_cmpuint (left->len, ==, 0);
  tend_test_daemon_free (f->d);
  g_free (f->token);
  g_free (f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fixture, fixture_free)

/* ---- D-Bus on the control socket ---- */

static GVariant *
bus_call (Fixture *f, const char *path, const char *iface, const char *method, GVariant *args, const char *type)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (f->bus, NULL, path, iface, method, args, G_VARIANT_TYPE (type),
                                                 G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  return reply;
}

static char *
service_path (const char *name)
{
  g_autofree char *escaped = g_dbus_escape_object_path (name);
  return g_strdup_printf ("/org/tend/Tend1/service/%s", escaped);
}

static GVariant *
service_property (Fixture *f, const char *name, const char *property)
{
  g_autofree char *path = service_path (name);
  g_autoptr(GVariant) reply = bus_call (f, path, "org.freedesktop.DBus.Properties", "Get",
                                        g_variant_new ("(ss)", "org.tend.Service1", property), "(v)");
  GVariant *value = NULL;

  g_variant_get (reply, "(v)", &value);
  return value;
}

static gboolean
figures_known (Fixture *f, const char *name)
{
  g_autoptr(GVariant) value = service_property (f, name, "FiguresKnown");
  return g_variant_get_boolean (value);
}

static GVariant *
get_history (Fixture *f, const char *name, gint64 since)
{
  g_autofree char *path = service_path (name);
  g_autoptr(GVariant) reply = bus_call (f, path, "org.tend.Service1", "GetHistory", g_variant_new ("(x)", since),
                                        "(aa{sv})");
  return g_variant_get_child_value (reply, 0);
}

/* ---- HTTP: one request per connection ---- */

typedef struct {
  guint status;
  char *body;
} Reply;

static void
reply_free (Reply *r)
{
  g_free (r->body);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

static Reply *
http_get (Fixture *f, const char *path, gboolean with_token)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  Reply *r = g_new0 (Reply, 1);
  const char *end;
  char buf[16384];
  gssize n;

  g_socket_client_set_timeout (client, 10);
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", f->port, NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s\r\n", path,
                             with_token ? "Authorization: Bearer " : "", with_token ? f->token : "",
                             with_token ? "\r\n" : "");
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request, strlen (request), NULL, NULL,
                             &error);
  g_assert_no_error (error);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof buf, NULL, &error)) >
         0)
    g_string_append_len (data, buf, n);
  g_assert_no_error (error);
  end = strstr (data->str, "\r\n\r\n");
  g_assert_nonnull (end);
  g_assert_true (g_str_has_prefix (data->str, "HTTP/1.1 "));
  r->status = (guint) g_ascii_strtoull (data->str + 9, NULL, 10);
  r->body = g_strdup (end + 4);
  return r;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

/* GET @path with the token: 200 and its JSON */
static JsonNode *
get_json (Fixture *f, const char *path)
{
  g_autoptr(Reply) r = http_get (f, path, TRUE);

  if (r->status != 200)
    g_error ("GET %s: %u %s", path, r->status, r->body);
  return parse_json (r->body);
}

static void
assert_error (Fixture *f, const char *path, guint status, const char *message)
{
  g_autoptr(Reply) r = http_get (f, path, TRUE);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o;

  g_assert_cmpuint (r->status, ==, status);
  node = parse_json (r->body);
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "ERROR");
  if (message != NULL)
    g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, message);
}

/* ---- the daemon ---- */

static Fixture *
fixture_start (const char *config, gboolean with_http)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;

  f->d = tend_test_daemon_new ();
  tend_test_daemon_write_config (f->d, config);
  tend_test_daemon_start (f->d);
  address = g_strdup_printf ("unix:path=%s/tendd.sock", f->d->home);
  f->bus = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL,
                                                   &error);
  g_assert_no_error (error);
  if (with_http) {
    g_autoptr(GVariant) reply = bus_call (f, "/org/tend/Tend1/plugin/http", "org.freedesktop.DBus.Properties", "Get",
                                          g_variant_new ("(ss)", "org.tend.Plugin1", "Status"), "(v)");
    g_autoptr(GVariant) status = NULL;
    g_autofree const char **listen = NULL;
    g_autofree char *token_path = g_build_filename (f->d->home, "api-token", NULL);

    g_variant_get (reply, "(v)", &status);
    g_assert_true (g_variant_lookup (status, "listen", "^a&s", &listen));
    g_assert_nonnull (listen[0]);
    f->port = (guint16) g_ascii_strtoull (strrchr (listen[0], ':') + 1, NULL, 10);
    g_assert_cmpuint (f->port, >, 0);
    g_file_get_contents (token_path, &f->token, NULL, &error);
    g_assert_no_error (error);
    g_strstrip (f->token);
  }
  return f;
}

typedef gboolean (*FixtureCheck) (Fixture *f, gconstpointer data);

static gboolean
wait_for (Fixture *f, FixtureCheck check, gconstpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (timeout_ms) * 1000;

  while (!check (f, data)) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (POLL_MS * 1000);
  }
  return TRUE;
}

static gboolean
known_is (Fixture *f, gconstpointer data)
{
  const char *const *args = data;
  return figures_known (f, args[0]) == (g_strcmp0 (args[1], "yes") == 0);
}

/* the row of @name in `tend status`, split on blanks */
static GStrv
status_row (Fixture *f, const char *name)
{
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_cmpint (tend_test_run_cli (f->d, &out, NULL, "status", NULL), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr(GRegex) blanks = g_regex_new ("\\s+", 0, 0, NULL);
    g_autofree char *line = g_strstrip (g_strdup (lines[i]));
    g_auto(GStrv) cells = g_regex_split (blanks, line, 0);
    if (g_strv_length (cells) >= 9 && g_strcmp0 (cells[1], name) == 0)
      return g_steal_pointer (&cells);
  }
  g_error ("no row for %s in:\n%s", name, out);
  return NULL;
}

/* @name's object in `tend status --json` (instance 0) */
static JsonNode *
status_json (Fixture *f, const char *name)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *array;

  g_assert_cmpint (tend_test_run_cli (f->d, &out, NULL, "status", "--json", NULL), ==, 0);
  root = parse_json (out);
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *element = json_array_get_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (json_node_get_object (element), "name"), name) == 0)
      return json_node_copy (element);
  }
  g_error ("no %s in tend status --json", name);
  return NULL;
}

static JsonObject *
component_of (JsonNode *components, const char *name)
{
  JsonArray *array = json_node_get_array (components);

  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0)
      return o;
  }
  g_error ("no component %s", name);
  return NULL;
}

static gboolean
metrics_have (Fixture *f, const char *line_start)
{
  g_autoptr(Reply) r = http_get (f, "/metrics", TRUE);

  g_assert_cmpuint (r->status, ==, 200);
  return strstr (r->body, line_start) != NULL;
}

/* Every view says "unknown" for @name: -, null, FiguresKnown false, no metric sample. */
static void
assert_figures_unknown (Fixture *f, const char *name)
{
  g_auto(GStrv) row = status_row (f, name);
  g_autoptr(JsonNode) json = status_json (f, name);
  JsonObject *o = json_node_get_object (json);
  g_autofree char *describe_out = NULL;
  g_autofree char *rss_line = g_strdup_printf ("tend_service_memory_rss_bytes{service=\"%s\"}", name);
  g_autofree char *cpu_line = g_strdup_printf ("tend_service_cpu_seconds_total{service=\"%s\"}", name);
  g_autofree char *up_line = g_strdup_printf ("tend_service_up{service=\"%s\"}", name);
  g_autofree char *describe_path = g_strdup_printf ("/api/components/%s", name);
  guint n = g_strv_length (row);

  g_assert_cmpstr (row[n - 2], ==, "-");
  g_assert_cmpstr (row[n - 1], ==, "-");
  g_assert_false (json_object_get_boolean_member (o, "figures-known"));
  g_assert_true (json_object_get_null_member (o, "cpu-percent"));
  g_assert_true (json_object_get_null_member (o, "memory-rss"));
  g_assert_true (json_object_get_null_member (o, "processes"));
  g_assert_false (figures_known (f, name));
  g_assert_cmpint (tend_test_run_cli (f->d, &describe_out, NULL, "describe", name, NULL), ==, 0);
  g_assert_true (g_regex_match_simple ("^  cpu +-$", describe_out, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^  memory +-$", describe_out, G_REGEX_MULTILINE, 0));
  if (f->port != 0) {
    g_autoptr(JsonNode) components = get_json (f, "/api/components");
    g_autoptr(JsonNode) health = get_json (f, "/api/health/system");
    g_autoptr(JsonNode) describe = get_json (f, describe_path);
    JsonObject *c = component_of (components, name);
    JsonObject *h = json_object_get_object_member (json_object_get_object_member (json_node_get_object (health),
                                                                                  "components"),
                                                   name);

    g_assert_true (json_object_get_null_member (c, "cpu_percent"));
    g_assert_true (json_object_get_null_member (c, "memory_rss_mb"));
    g_assert_true (json_object_get_null_member (h, "cpu_percent"));
    g_assert_true (json_object_get_null_member (h, "memory_rss_mb"));
    g_assert_true (json_object_get_null_member (json_node_get_object (describe), "memory-rss"));
    g_assert_true (metrics_have (f, up_line));
    g_assert_false (metrics_have (f, rss_line));
    g_assert_false (metrics_have (f, cpu_line));
  }
}

static void
assert_figures_known (Fixture *f, const char *name)
{
  g_auto(GStrv) row = status_row (f, name);
  g_autoptr(JsonNode) json = status_json (f, name);
  JsonObject *o = json_node_get_object (json);
  g_autofree char *rss_line = g_strdup_printf ("tend_service_memory_rss_bytes{service=\"%s\"}", name);
  guint n = g_strv_length (row);

  g_assert_true (g_str_has_suffix (row[n - 2], "%"));
  g_assert_cmpstr (row[n - 1], !=, "-");
  g_assert_true (json_object_get_boolean_member (o, "figures-known"));
  g_assert_cmpint (json_object_get_int_member (o, "memory-rss"), >, 0);
  g_assert_true (figures_known (f, name));
  if (f->port != 0) {
    g_autoptr(JsonNode) components = get_json (f, "/api/components");
    JsonObject *c = component_of (components, name);
    g_assert_false (json_object_get_null_member (c, "cpu_percent"));
    g_assert_false (json_object_get_null_member (c, "memory_rss_mb"));
    g_assert_true (metrics_have (f, rss_line));
  }
}

#define HTTP_PLUGIN "[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:0\n\n"

/* No [plugin:health] group: the plugin runs, figures are measured; a reload that disables it leaves none behind. */
static void
test_on_by_default_and_cleared (void)
{
  const char *running[] = { "sleeper", "yes" };
  g_autoptr(Fixture) f = fixture_start (HTTP_PLUGIN "[service:sleeper]\nexec=sleep 10000\n\n"
                                                    "[service:idle]\nexec=sleep 10000\nstart=false\n",
                                        TRUE);
  g_autofree char *out = NULL;

  g_assert_true (wait_for (f, known_is, running, WAIT_MS));
  assert_figures_known (f, "sleeper");
  /* stopped: no process, nothing measured */
  assert_figures_unknown (f, "idle");

  tend_test_daemon_write_config (f->d, HTTP_PLUGIN "[plugin:health]\nenabled=false\n\n"
                                                   "[service:sleeper]\nexec=sleep 10000\n\n"
                                                   "[service:idle]\nexec=sleep 10000\nstart=false\n");
  g_assert_cmpint (tend_test_run_cli (f->d, &out, NULL, "reload", NULL), ==, 0);
  /* at once: the plugin's stop clears what it measured */
  g_assert_false (figures_known (f, "sleeper"));
  assert_figures_unknown (f, "sleeper");
}

/* `enabled=false` from the start: the running service's figures are unknown everywhere; the history is empty. */
static void
test_disabled (void)
{
  const char *running[] = { "sleeper", "yes" };
  g_autoptr(Fixture) f = fixture_start (HTTP_PLUGIN "[plugin:health]\nenabled=false\n\n"
                                                    "[service:sleeper]\nexec=sleep 10000\n",
                                        TRUE);
  g_autoptr(JsonNode) history = NULL;
  g_autoptr(GVariant) samples = NULL;
  JsonObject *o;

  /* give a sampler the time it would need, then look */
  g_assert_false (wait_for (f, known_is, running, 1500));
  assert_figures_unknown (f, "sleeper");
  history = get_json (f, "/api/components/sleeper/history");
  o = json_node_get_object (history);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "sleeper");
  g_assert_true (json_object_get_null_member (o, "interval_ms"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "samples")), ==, 0);
  samples = get_history (f, "sleeper", 0);
  g_assert_cmpuint (g_variant_n_children (samples), ==, 0);
}

/* ---- the history ---- */

typedef struct {
  gint64 time;
  gboolean known;
  double cpu;
  gint64 rss;
  gint64 processes;
  gint64 restarts;
} Sample;

static GArray *
http_samples (Fixture *f, const char *name, gint64 since, gint64 *out_interval)
{
  g_autofree char *path = since > 0 ? g_strdup_printf ("/api/components/%s/history?since=%" G_GINT64_FORMAT, name,
                                                       since)
                                    : g_strdup_printf ("/api/components/%s/history", name);
  g_autoptr(JsonNode) doc = get_json (f, path);
  JsonObject *o = json_node_get_object (doc);
  JsonArray *array = json_object_get_array_member (o, "samples");
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Sample));

  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, name);
  if (out_interval != NULL)
    *out_interval = json_object_get_int_member (o, "interval_ms");
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *s = json_array_get_object_element (array, i);
    Sample sample = { 0 };

    sample.time = json_object_get_int_member (s, "time");
    sample.restarts = json_object_get_int_member (s, "restarts");
    sample.known = !json_object_get_null_member (s, "memory_rss");
    /* all three known, or none */
    g_assert_cmpint (sample.known, ==, !json_object_get_null_member (s, "cpu_percent"));
    g_assert_cmpint (sample.known, ==, !json_object_get_null_member (s, "processes"));
    if (sample.known) {
      sample.cpu = json_object_get_double_member (s, "cpu_percent");
      sample.rss = json_object_get_int_member (s, "memory_rss");
      sample.processes = json_object_get_int_member (s, "processes");
    }
    g_array_append_val (out, sample);
  }
  return out;
}

typedef struct {
  gint64 min_rss_growth;
  guint min_samples;
} GrowthWanted;

/* enough samples, and the memory of the last known one well over the first's */
static gboolean
history_grew (Fixture *f, gconstpointer data)
{
  const GrowthWanted *want = data;
  g_autoptr(GArray) samples = http_samples (f, "grow", 0, NULL);
  const Sample *first = NULL, *last = NULL;

  for (guint i = 0; i < samples->len; i++) {
    const Sample *s = &g_array_index (samples, Sample, i);
    if (s->known) {
      first = first != NULL ? first : s;
      last = s;
    }
  }
  return samples->len >= want->min_samples && first != NULL && last->rss - first->rss >= want->min_rss_growth;
}

static void
test_history (void)
{
  gint64 started = g_get_real_time ();
  GrowthWanted want = { 24 << 20, 8 };
  g_autoptr(Fixture) f = fixture_start (HTTP_PLUGIN "[plugin:health]\nsample-interval=200ms\n\n"
                                                    "[service:grow]\nexec=@HELPERS@/grow-memory.py\n"
                                                    "env=STEP_MB=4;STEP_MS=150;MAX_MB=48\n\n"
                                                    "[service:idle]\nexec=sleep 10000\nstart=false\n",
                                        TRUE);
  g_autoptr(GArray) all = NULL;
  g_autoptr(GArray) later = NULL;
  g_autoptr(GArray) idle = NULL;
  g_autoptr(GVariant) bus_all = NULL;
  g_autoptr(GVariant) bus_later = NULL;
  g_autoptr(GVariant) bus_idle = NULL;
  g_autoptr(GVariant) s0 = NULL;
  g_autoptr(Reply) unauthorized = NULL;
  gint64 interval = 0, since, now;
  guint cut;

  g_assert_true (wait_for (f, history_grew, &want, WAIT_MS));
  all = http_samples (f, "grow", 0, &interval);
  now = g_get_real_time ();
  g_assert_cmpint (interval, ==, 200);
  for (guint i = 0; i < all->len; i++) {
    const Sample *s = &g_array_index (all, Sample, i);
    g_assert_cmpint (s->time, >=, started);
    g_assert_cmpint (s->time, <=, now);
    if (i > 0)
      g_assert_cmpint (s->time, >, g_array_index (all, Sample, i - 1).time);
    g_assert_cmpint (s->restarts, ==, 0);
    if (s->known) {
      g_assert_cmpint (s->processes, >=, 1);
      g_assert_cmpfloat (s->cpu, >=, 0);
      g_assert_cmpint (s->rss, >, 0);
    }
  }

  /* since: strictly after T, on both faces */
  cut = all->len / 2;
  since = g_array_index (all, Sample, cut).time;
  later = http_samples (f, "grow", since, NULL);
  g_assert_cmpuint (later->len, >=, all->len - cut - 1);
  g_assert_cmpint (g_array_index (later, Sample, 0).time, ==, g_array_index (all, Sample, cut + 1).time);
  for (guint i = 0; i < later->len; i++)
    g_assert_cmpint (g_array_index (later, Sample, i).time, >, since);

  bus_all = get_history (f, "grow", 0);
  g_assert_cmpuint (g_variant_n_children (bus_all), >=, all->len);
  s0 = g_variant_get_child_value (bus_all, 0);
  {
    gint64 t = 0;
    guint32 restarts = 99;
    g_assert_true (g_variant_lookup (s0, "time", "x", &t));
    g_assert_cmpint (t, ==, g_array_index (all, Sample, 0).time);
    g_assert_true (g_variant_lookup (s0, "restarts", "u", &restarts));
    g_assert_cmpuint (restarts, ==, 0);
  }
  bus_later = get_history (f, "grow", since);
  for (gsize i = 0; i < g_variant_n_children (bus_later); i++) {
    g_autoptr(GVariant) s = g_variant_get_child_value (bus_later, i);
    gint64 t = 0;
    guint64 rss = 0;
    g_assert_true (g_variant_lookup (s, "time", "x", &t));
    g_assert_cmpint (t, >, since);
    g_assert_true (g_variant_lookup (s, "memory-rss", "t", &rss));
    g_assert_cmpuint (rss, >, 0);
    g_assert_true (g_variant_lookup (s, "cpu-percent", "d", NULL));
    g_assert_true (g_variant_lookup (s, "processes", "u", NULL));
  }
  g_assert_cmpuint (g_variant_n_children (bus_later), >=, later->len);

  /* a stopped service: samples with its figures unknown, null over HTTP, absent over D-Bus */
  idle = http_samples (f, "idle", 0, NULL);
  g_assert_cmpuint (idle->len, >, 0);
  for (guint i = 0; i < idle->len; i++)
    g_assert_false (g_array_index (idle, Sample, i).known);
  bus_idle = get_history (f, "idle", 0);
  g_assert_cmpuint (g_variant_n_children (bus_idle), >, 0);
  {
    g_autoptr(GVariant) s = g_variant_get_child_value (bus_idle, 0);
    g_assert_true (g_variant_lookup (s, "time", "x", NULL));
    g_assert_false (g_variant_lookup (s, "memory-rss", "t", NULL));
    g_assert_false (g_variant_lookup (s, "cpu-percent", "d", NULL));
    g_assert_false (g_variant_lookup (s, "processes", "u", NULL));
  }

  /* errors */
  assert_error (f, "/api/components/nope/history", 404, "Unknown component");
  assert_error (f, "/api/components/grow/history?since=yesterday", 400, NULL);
  assert_error (f, "/api/components/grow/history?since=-5", 400, NULL);
  assert_error (f, "/api/components/grow/history?since=", 400, NULL);
  unauthorized = http_get (f, "/api/components/grow/history", FALSE);
  g_assert_cmpuint (unauthorized->status, ==, 401);
}

/* Restarts are in the samples, and the history follows the service through them. */
static gboolean
restart_in_history (Fixture *f, gconstpointer data)
{
  g_autoptr(GArray) samples = http_samples (f, "sleeper", 0, NULL);
  return samples->len > 0 && g_array_index (samples, Sample, samples->len - 1).restarts == 1 &&
         g_array_index (samples, Sample, samples->len - 1).known && g_array_index (samples, Sample, 0).restarts == 0;
}

static void
test_history_restarts (void)
{
  const char *running[] = { "sleeper", "yes" };
  g_autoptr(Fixture) f = fixture_start (HTTP_PLUGIN "[plugin:health]\nsample-interval=100ms\n\n"
                                                    "[service:sleeper]\nexec=sleep 10000\n",
                                        TRUE);

  g_assert_true (wait_for (f, known_is, running, WAIT_MS));
  g_assert_cmpint (tend_test_run_cli (f->d, NULL, NULL, "restart", "sleeper", NULL), ==, 0);
  g_assert_true (wait_for (f, restart_in_history, NULL, WAIT_MS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/history/on-by-default-and-cleared", test_on_by_default_and_cleared);
  g_test_add_func ("/history/disabled", test_disabled);
  g_test_add_func ("/history/http-and-dbus", test_history);
  g_test_add_func ("/history/restarts", test_history_restarts);
  return g_test_run ();
}
