/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-figures-json.h"
#include "tend-http-api.h"
#include "tend-http-dashboard.h"
#include "tend-http-router.h"
#include "tend-log-path.h"
#include "tend-parse.h"
#include "tend-service-info.h"
#include "tend-service-manager.h"

#define KEEPALIVE_SECONDS 15
#define LOG_LINES_DEFAULT 100
#define LOG_LINES_MAX 10000
/* a tail never reads more than this much of a log, whatever the line lengths */
#define LOG_TAIL_MAX_BYTES (8 * 1024 * 1024)

#define CONTENT_TYPE_JSON "application/json"
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_EVENTS "text/event-stream"

struct _TendHttpRouter {
  GObject parent_instance;

  TendContext *context;
  TendHttpToken token;
  gboolean public_read;
  char **allow_origins;

  TendHttpServer *server; /* unowned: set by tend_http_router_start, cleared by tend_http_router_stop */
  GPtrArray *streams;     /* SoupServerMessage of /api/events clients */
  guint keepalive_timer;
  guint64 n_unauthorized;

  /* the last /api/health/system answer, reused within its second while no service changed */
  GBytes *health_cache;
  gint64 health_cache_second;
  guint64 health_cache_generation;
  guint64 generation; /* bumped by every service event */
};

G_DEFINE_FINAL_TYPE (TendHttpRouter, tend_http_router, G_TYPE_OBJECT)

/* ---- routes ---- */

typedef enum {
  ROUTE_NONE,
  ROUTE_HEALTH,
  ROUTE_CONTROL,
  ROUTE_COMPONENTS,
  ROUTE_COMPONENT,
  ROUTE_COMPONENT_LOGS,
  ROUTE_COMPONENT_HISTORY,
  ROUTE_RELOAD,
  ROUTE_EVENTS,
  ROUTE_TUNNEL,
  ROUTE_METRICS,
} RouteKind;

typedef struct {
  RouteKind kind;
  const char *action; /* static: "start", "stop", "restart" */
  char *name;         /* unescaped; not yet checked */
  gboolean bad_name;  /* a segment that cannot be a name (encoded '/', NUL) */
} Route;

static void
route_clear (Route *route)
{
  g_clear_pointer (&route->name, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Route, route_clear)

static const char *
route_allow (RouteKind kind)
{
  switch (kind) {
  case ROUTE_CONTROL:
  case ROUTE_RELOAD:
    return "POST";
  case ROUTE_NONE:
    return NULL;
  default:
    return "GET, HEAD";
  }
}

static gboolean
method_allowed (RouteKind kind, const char *method)
{
  if (kind == ROUTE_CONTROL || kind == ROUTE_RELOAD)
    return method == SOUP_METHOD_POST;
  return method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD;
}

/*
 * Splits the path as sent (still percent-encoded), then decodes each segment
 * on its own, so an encoded '/' never makes a new segment and ".." never
 * walks anywhere: names are checked by tend_service_name_is_valid later.
 */
static void
route_parse (const char *raw_path, Route *route)
{
  g_auto(GStrv) parts = NULL;
  guint n;

  memset (route, 0, sizeof *route);
  if (raw_path == NULL || raw_path[0] != '/')
    return;
  parts = g_strsplit (raw_path + 1, "/", -1);
  n = g_strv_length (parts);
  /* one trailing slash is forgiven: /metrics/ is /metrics */
  if (n > 1 && parts[n - 1][0] == '\0') {
    g_free (parts[n - 1]);
    parts[n - 1] = NULL;
    n--;
  }
  if (n == 1 && strcmp (parts[0], "metrics") == 0) {
    route->kind = ROUTE_METRICS;
    return;
  }
  if (n < 2 || strcmp (parts[0], "api") != 0)
    return;
  if (n == 3 && strcmp (parts[1], "health") == 0 && strcmp (parts[2], "system") == 0)
    route->kind = ROUTE_HEALTH;
  else if (n == 2 && strcmp (parts[1], "components") == 0)
    route->kind = ROUTE_COMPONENTS;
  else if (n == 2 && strcmp (parts[1], "reload") == 0)
    route->kind = ROUTE_RELOAD;
  else if (n == 2 && strcmp (parts[1], "events") == 0)
    route->kind = ROUTE_EVENTS;
  else if (n == 2 && strcmp (parts[1], "tunnel") == 0)
    route->kind = ROUTE_TUNNEL;
  else if (n == 3 && strcmp (parts[1], "components") == 0)
    route->kind = ROUTE_COMPONENT;
  else if (n == 4 && strcmp (parts[1], "components") == 0 && strcmp (parts[3], "logs") == 0)
    route->kind = ROUTE_COMPONENT_LOGS;
  else if (n == 4 && strcmp (parts[1], "components") == 0 && strcmp (parts[3], "history") == 0)
    route->kind = ROUTE_COMPONENT_HISTORY;
  else if (n == 4 && strcmp (parts[1], "control") == 0) {
    static const char *const actions[] = { "start", "stop", "restart" };
    for (guint i = 0; i < G_N_ELEMENTS (actions); i++) {
      if (strcmp (parts[2], actions[i]) == 0) {
        route->kind = ROUTE_CONTROL;
        route->action = actions[i];
      }
    }
  }
  if (route->kind == ROUTE_COMPONENT || route->kind == ROUTE_COMPONENT_LOGS || route->kind == ROUTE_COMPONENT_HISTORY ||
      route->kind == ROUTE_CONTROL) {
    const char *segment = route->kind == ROUTE_CONTROL ? parts[3] : parts[2];
    route->name = g_uri_unescape_segment (segment, NULL, "/");
    route->bad_name = route->name == NULL;
  }
}

/* ---- answers ---- */

static void
set_common_headers (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
}

static void
send_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  gsize length = 0;
  char *data = tend_http_json_to_data (node, &length);

  set_common_headers (msg);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, CONTENT_TYPE_JSON, SOUP_MEMORY_TAKE, data, length);
}

/* {"status": STATUS, "action"?: ..., "component"?: ..., "message": ...}; NULL members are left out */
static void
send_status (SoupServerMessage *msg, guint http_status, const char *status, const char *action, const char *component,
             const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, status);
  if (action != NULL) {
    json_builder_set_member_name (b, "action");
    json_builder_add_string_value (b, action);
  }
  if (component != NULL) {
    json_builder_set_member_name (b, "component");
    json_builder_add_string_value (b, component);
  }
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  send_json (msg, http_status, root);
}

static void
send_error (SoupServerMessage *msg, guint http_status, const char *message)
{
  send_status (msg, http_status, "ERROR", NULL, NULL, message);
}

static void
send_unauthorized (TendHttpRouter *self, SoupServerMessage *msg)
{
  self->n_unauthorized++;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                "Bearer realm=\"tend\"");
  send_error (msg, SOUP_STATUS_UNAUTHORIZED, "Unauthorized");
}

/* ---- CORS ---- */

static const char *
allowed_origin (TendHttpRouter *self, SoupServerMessage *msg)
{
  const char *origin = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Origin");

  if (origin == NULL || self->allow_origins == NULL)
    return NULL;
  for (guint i = 0; self->allow_origins[i] != NULL; i++) {
    if (strcmp (self->allow_origins[i], "*") == 0 || g_ascii_strcasecmp (self->allow_origins[i], origin) == 0)
      return origin;
  }
  return NULL;
}

static void
add_cors_headers (SoupServerMessage *msg, const char *origin)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Access-Control-Allow-Origin", origin);
  soup_message_headers_append (headers, "Vary", "Origin");
}

static void
send_preflight (SoupServerMessage *msg, RouteKind kind)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *methods = g_strdup_printf ("%s, OPTIONS", route_allow (kind));

  soup_message_headers_replace (headers, "Access-Control-Allow-Methods", methods);
  soup_message_headers_replace (headers, "Access-Control-Allow-Headers", "Authorization, Content-Type");
  soup_message_headers_replace (headers, "Access-Control-Max-Age", "600");
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

/* ---- endpoints ---- */

/*
 * Dashboards poll this; building it costs about a millisecond with 100
 * services, nearly all of it in json-glib. Its times have whole seconds, and
 * CPU and memory are sampled every few seconds, so the same bytes are served
 * for the rest of the second unless a service changes state meanwhile.
 */
static void
handle_health (TendHttpRouter *self, SoupServerMessage *msg)
{
  gint64 now = g_get_real_time ();
  gint64 second = now / G_USEC_PER_SEC;

  if (self->health_cache == NULL || self->health_cache_second != second ||
      self->health_cache_generation != self->generation) {
    g_autoptr(JsonNode) doc = tend_http_health_document (self->context, now);
    gsize length = 0;
    char *data = tend_http_json_to_data (doc, &length);

    g_clear_pointer (&self->health_cache, g_bytes_unref);
    self->health_cache = g_bytes_new_take (data, length);
    self->health_cache_second = second;
    self->health_cache_generation = self->generation;
  }
  set_common_headers (msg);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg), CONTENT_TYPE_JSON, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), self->health_cache);
}

/* connected swapped: the signals' own arguments do not matter */
static void
services_changed_cb (TendHttpRouter *self)
{
  self->generation++;
}

static void
handle_components (TendHttpRouter *self, SoupServerMessage *msg)
{
  g_autoptr(JsonNode) doc = tend_http_components_document (self->context, g_get_real_time ());
  send_json (msg, SOUP_STATUS_OK, doc);
}

static TendService *
lookup_service (TendHttpRouter *self, SoupServerMessage *msg, Route *route)
{
  TendService *service;

  if (route->bad_name || !tend_service_name_is_valid (route->name)) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid component name");
    return NULL;
  }
  service = tend_service_manager_lookup (tend_context_get_manager (self->context), route->name);
  if (service == NULL)
    send_error (msg, SOUP_STATUS_NOT_FOUND, "Unknown component");
  return service;
}

static void
handle_component (TendHttpRouter *self, SoupServerMessage *msg, Route *route)
{
  TendService *service = lookup_service (self, msg, route);
  g_autoptr(GVariant) info = NULL;
  g_autoptr(JsonNode) doc = NULL;

  if (service == NULL)
    return;
  info = g_variant_ref_sink (tend_service_info_describe (service));
  doc = json_gvariant_serialize (info);
  /* unknown figures are null, as in `tend describe --json` */
  tend_figures_json_null_unknown (doc);
  send_json (msg, SOUP_STATUS_OK, doc);
}

static void
handle_logs (TendHttpRouter *self, SoupServerMessage *msg, Route *route, GHashTable *query)
{
  TendService *service = lookup_service (self, msg, route);
  const char *lines_text = query != NULL ? g_hash_table_lookup (query, "lines") : NULL;
  const char *stream = query != NULL ? g_hash_table_lookup (query, "stream") : NULL;
  const char *instance_text = query != NULL ? g_hash_table_lookup (query, "instance") : NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) doc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *instances;
  guint64 n = LOG_LINES_DEFAULT;
  guint64 index = 0;

  if (service == NULL)
    return;
  if (lines_text != NULL && !tend_parse_uint (lines_text, 1, G_MAXUINT32, &n, NULL)) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid lines (a number from 1 to 10000)");
    return;
  }
  n = MIN (n, LOG_LINES_MAX);
  if (stream == NULL)
    stream = "out";
  if (strcmp (stream, "out") != 0 && strcmp (stream, "err") != 0) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid stream (out or err)");
    return;
  }
  instances = tend_service_get_instances (service);
  if (instance_text != NULL && (!tend_parse_uint (instance_text, 0, G_MAXUINT32, &index, NULL) ||
                                index >= instances->len)) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid instance");
    return;
  }
  path = tend_instance_get_log_path (g_ptr_array_index (instances, index), strcmp (stream, "out") == 0 ? 1 : 2);
  lines = tend_http_tail_lines (path, tend_log_path_owner_for_user (tend_service_get_config (service)->user), (guint) n,
                                LOG_TAIL_MAX_BYTES, &error);
  if (lines == NULL) {
    g_warning ("%s", error->message);
    send_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Cannot read the log file");
    return;
  }
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, tend_service_get_name (service));
  json_builder_set_member_name (b, "instance");
  json_builder_add_int_value (b, (gint64) index);
  json_builder_set_member_name (b, "stream");
  json_builder_add_string_value (b, stream);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "lines");
  json_builder_begin_array (b);
  for (guint i = 0; lines[i] != NULL; i++)
    json_builder_add_string_value (b, lines[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  doc = json_builder_get_root (b);
  send_json (msg, SOUP_STATUS_OK, doc);
}

/* a figure of a history sample: the value, or null where it was not known at that time */
static void
add_history_figure (JsonBuilder *b, GVariant *sample, const char *json_name, const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (sample, key, NULL);

  json_builder_set_member_name (b, json_name);
  if (value == NULL)
    json_builder_add_null_value (b);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    json_builder_add_double_value (b, g_variant_get_double (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    json_builder_add_int_value (b, (gint64) MIN (g_variant_get_uint64 (value), (guint64) G_MAXINT64));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    json_builder_add_int_value (b, g_variant_get_uint32 (value));
  else
    json_builder_add_null_value (b);
}

/* GET /api/components/NAME/history?since=T: the history provider's samples (the health plugin's ring) */
static void
handle_history (TendHttpRouter *self, SoupServerMessage *msg, Route *route, GHashTable *query)
{
  TendService *service = lookup_service (self, msg, route);
  const char *since_text = query != NULL ? g_hash_table_lookup (query, "since") : NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) doc = NULL;
  g_autoptr(GVariant) samples = NULL;
  guint64 since = 0;
  guint64 interval_ms = 0;
  gsize n;

  if (service == NULL)
    return;
  if (since_text != NULL && !tend_parse_uint (since_text, 0, G_MAXINT64, &since, NULL)) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid since (microseconds since the epoch)");
    return;
  }
  samples = tend_context_get_history (self->context, service, (gint64) since, &interval_ms);
  n = g_variant_n_children (samples);
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, tend_service_get_name (service));
  json_builder_set_member_name (b, "interval_ms");
  /* no history provider (health plugin disabled): no interval */
  if (tend_context_has_history_provider (self->context))
    json_builder_add_int_value (b, (gint64) interval_ms);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "samples");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++) {
    g_autoptr(GVariant) sample = g_variant_get_child_value (samples, i);
    gint64 time_us = 0;
    guint32 restarts = 0;

    g_variant_lookup (sample, "time", "x", &time_us);
    g_variant_lookup (sample, "restarts", "u", &restarts);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "time");
    json_builder_add_int_value (b, time_us);
    add_history_figure (b, sample, "cpu_percent", "cpu-percent");
    add_history_figure (b, sample, "memory_rss", "memory-rss");
    add_history_figure (b, sample, "processes", "processes");
    json_builder_set_member_name (b, "restarts");
    json_builder_add_int_value (b, restarts);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  doc = json_builder_get_root (b);
  send_json (msg, SOUP_STATUS_OK, doc);
}

static const char *
action_done_message (const char *action, gboolean all)
{
  if (strcmp (action, "start") == 0)
    return all ? "All components started successfully" : "Component started successfully";
  if (strcmp (action, "stop") == 0)
    return all ? "All components stopped successfully" : "Component stopped successfully";
  return all ? "All components restarted successfully" : "Component restarted successfully";
}

static void
handle_control (TendHttpRouter *self, SoupServerMessage *msg, Route *route, const char *remote)
{
  g_autoptr(GError) error = NULL;
  /* as the CLI's `all`: every service (a name can never be "all") */
  gboolean all = !route->bad_name && g_strcmp0 (route->name, "all") == 0;

  if (!all && (route->bad_name || !tend_service_name_is_valid (route->name))) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid component name");
    return;
  }
  if (!all && tend_service_manager_lookup (tend_context_get_manager (self->context), route->name) == NULL) {
    send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid component name");
    return;
  }
  g_message ("%s %s requested over HTTP by %s", route->action, route->name, remote);
  if (!tend_service_manager_act (tend_context_get_manager (self->context), route->name, route->action,
                                 "restart requested over HTTP", &error)) {
    if (g_error_matches (error, TEND_ERROR, TEND_ERROR_NOT_FOUND)) {
      send_error (msg, SOUP_STATUS_BAD_REQUEST, "Invalid component name");
      return;
    }
    g_warning ("%s %s over HTTP: %s", route->action, route->name, error->message);
    send_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "ERROR", route->action, route->name, error->message);
    return;
  }
  send_status (msg, SOUP_STATUS_OK, "OK", route->action, route->name, action_done_message (route->action, all));
}

static void
handle_reload (TendHttpRouter *self, SoupServerMessage *msg, const char *remote)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TendHttpRouter) keep G_GNUC_UNUSED = g_object_ref (self);
  g_autoptr(TendHttpServer) keep_server G_GNUC_UNUSED = g_object_ref (self->server);

  g_message ("reload requested over HTTP by %s", remote);
  /* may stop and unload this very plugin; the references keep the router and the server until we answer */
  if (!tend_context_reload (self->context, &error)) {
    g_warning ("reload over HTTP: %s", error->message);
    send_status (msg,
                 g_error_matches (error, TEND_ERROR, TEND_ERROR_CONFIG) ? SOUP_STATUS_BAD_REQUEST
                                                                         : SOUP_STATUS_INTERNAL_SERVER_ERROR,
                 "ERROR", "reload", NULL, error->message);
    return;
  }
  send_status (msg, SOUP_STATUS_OK, "OK", "reload", NULL, "Configuration reloaded");
}

static void
handle_tunnel (TendHttpRouter *self, SoupServerMessage *msg)
{
  g_autoptr(JsonNode) doc = tend_http_tunnel_document (self->context);
  send_json (msg, SOUP_STATUS_OK, doc);
}

static void
handle_metrics (TendHttpRouter *self, SoupServerMessage *msg)
{
  GString *text = tend_http_metrics (self->context);
  gsize length = text->len;

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control", "no-store");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, CONTENT_TYPE_METRICS, SOUP_MEMORY_TAKE, g_string_free (text, FALSE), length);
}

/* ---- server-sent events ---- */

static void
stream_closed_cb (SoupServerMessage *msg, gpointer user_data)
{
  TendHttpRouter *self = user_data;

  if (g_ptr_array_remove (self->streams, msg))
    g_debug ("event stream closed (%u left)", self->streams->len);
}

static void
broadcast (TendHttpRouter *self, const char *text, gsize length)
{
  /* a write may drop a slow client, which edits the list */
  g_autoptr(GPtrArray) streams = g_ptr_array_new_full (self->streams->len, g_object_unref);

  for (guint i = 0; i < self->streams->len; i++)
    g_ptr_array_add (streams, g_object_ref (g_ptr_array_index (self->streams, i)));
  for (guint i = 0; i < streams->len; i++)
    tend_http_server_stream_write (self->server, g_ptr_array_index (streams, i), text, length);
}

static void
broadcast_event (TendHttpRouter *self, const char *event, JsonNode *data)
{
  g_autofree char *json = tend_http_json_to_data (data, NULL);
  g_autofree char *text = g_strdup_printf ("event: %s\ndata: %s\n\n", event, json);

  broadcast (self, text, strlen (text));
}

static gboolean
keepalive_cb (gpointer user_data)
{
  TendHttpRouter *self = user_data;
  static const char comment[] = ": keep-alive\n\n";

  broadcast (self, comment, sizeof comment - 1);
  return G_SOURCE_CONTINUE;
}

static void
state_changed_cb (TendContext *context, TendService *service, TendInstance *instance, TendServiceState old_state,
                  TendServiceState new_state, const char *reason, gpointer user_data)
{
  TendHttpRouter *self = user_data;
  g_autoptr(JsonNode) data = NULL;

  self->generation++;
  if (self->streams->len == 0)
    return;
  data = tend_http_state_event (service, instance, old_state, new_state, reason, g_get_real_time ());
  broadcast_event (self, "state", data);
}

static void
tunnel_changed_cb (TendContext *context, const char *key, gpointer user_data)
{
  TendHttpRouter *self = user_data;
  g_autoptr(JsonNode) data = NULL;

  if (self->streams->len == 0)
    return;
  data = tend_http_tunnel_document (context);
  broadcast_event (self, "tunnel", data);
}

static void
handle_events (TendHttpRouter *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  static const char hello[] = ": connected\n\n";

  soup_message_headers_set_content_type (headers, CONTENT_TYPE_EVENTS, NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  /* reverse proxies (the tunnel) must not hold events back */
  soup_message_headers_replace (headers, "X-Accel-Buffering", "no");
  if (soup_server_message_get_method (msg) == SOUP_METHOD_HEAD) {
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    return;
  }
  g_ptr_array_add (self->streams, g_object_ref (msg));
  tend_http_server_begin_stream (self->server, msg, stream_closed_cb, self);
  /* the headers go out with the first chunk: send one now */
  tend_http_server_stream_write (self->server, msg, hello, sizeof hello - 1);
  g_debug ("event stream opened (%u open)", self->streams->len);
}

/* ---- dispatch ---- */

static gboolean
is_public (TendHttpRouter *self, RouteKind kind, const char *method)
{
  return self->public_read && (kind == ROUTE_HEALTH || kind == ROUTE_METRICS) &&
         (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD);
}

/* Once the headers are in: CORS, authentication, size, path and method. A status set here is the answer. */
static void
handle_early (TendHttpRouter *self, SoupServerMessage *msg, Route *route)
{
  const char *method = soup_server_message_get_method (msg);
  const char *origin = allowed_origin (self, msg);
  const char *authorization =
    soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");

  if (origin != NULL)
    add_cors_headers (msg, origin);
  /* a browser's preflight carries no credentials */
  if (method == SOUP_METHOD_OPTIONS && origin != NULL && route->kind != ROUTE_NONE) {
    send_preflight (msg, route->kind);
    return;
  }
  if (!is_public (self, route->kind, method) && tend_http_token_check (&self->token, authorization) != TEND_HTTP_AUTH_OK) {
    send_unauthorized (self, msg);
    return;
  }
  if (tend_http_server_body_too_large (self->server, msg)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
    send_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "Request body too large");
    return;
  }
  if (route->kind == ROUTE_NONE) {
    send_error (msg, SOUP_STATUS_NOT_FOUND, "Not found");
    return;
  }
  if (!method_allowed (route->kind, method)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", route_allow (route->kind));
    send_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method not allowed");
  }
}

/*
 * The dashboard's files: public (they hold no data), same-origin only (no
 * CORS header whatever allow-origin says), GET and HEAD only.
 */
static void
handle_dashboard (TendHttpRouter *self, SoupServerMessage *msg, const char *path, gboolean early)
{
  const char *method = soup_server_message_get_method (msg);

  if (tend_http_server_body_too_large (self->server, msg)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
    send_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "Request body too large");
    return;
  }
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET, HEAD");
    send_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method not allowed");
    return;
  }
  if (!early)
    tend_http_dashboard_serve (msg, path);
}

void
tend_http_router_handle (TendHttpServer *server, SoupServerMessage *msg, const char *remote, gboolean early,
                         gpointer user_data)
{
  TendHttpRouter *self = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr(GHashTable) query = NULL;
  g_auto(Route) route = { 0 };

  if (uri != NULL && tend_http_dashboard_is_asset (g_uri_get_path (uri))) {
    handle_dashboard (self, msg, g_uri_get_path (uri), early);
    return;
  }
  route_parse (uri != NULL ? g_uri_get_path (uri) : NULL, &route);
  if (early) {
    handle_early (self, msg, &route);
    return;
  }
  /* a chunked body has no Content-Length to refuse early */
  if (tend_http_server_body_too_large (server, msg)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
    send_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "Request body too large");
    return;
  }
  if (uri != NULL && g_uri_get_query (uri) != NULL)
    query = soup_form_decode (g_uri_get_query (uri));

  switch (route.kind) {
  case ROUTE_HEALTH:
    handle_health (self, msg);
    break;
  case ROUTE_CONTROL:
    handle_control (self, msg, &route, remote);
    break;
  case ROUTE_COMPONENTS:
    handle_components (self, msg);
    break;
  case ROUTE_COMPONENT:
    handle_component (self, msg, &route);
    break;
  case ROUTE_COMPONENT_LOGS:
    handle_logs (self, msg, &route, query);
    break;
  case ROUTE_COMPONENT_HISTORY:
    handle_history (self, msg, &route, query);
    break;
  case ROUTE_RELOAD:
    handle_reload (self, msg, remote);
    break;
  case ROUTE_EVENTS:
    handle_events (self, msg);
    break;
  case ROUTE_TUNNEL:
    handle_tunnel (self, msg);
    break;
  case ROUTE_METRICS:
    handle_metrics (self, msg);
    break;
  case ROUTE_NONE:
  default:
    send_error (msg, SOUP_STATUS_NOT_FOUND, "Not found");
    break;
  }
}


/* ---- life ---- */

void
tend_http_router_start (TendHttpRouter *self, TendHttpServer *server)
{
  g_return_if_fail (self->server == NULL);

  self->server = server;
  g_signal_connect (self->context, "service-state-changed", G_CALLBACK (state_changed_cb), self);
  g_signal_connect (self->context, "status-changed::" TEND_HTTP_TUNNEL_STATUS_KEY, G_CALLBACK (tunnel_changed_cb), self);
  g_signal_connect_swapped (self->context, "service-added", G_CALLBACK (services_changed_cb), self);
  g_signal_connect_swapped (self->context, "service-removed", G_CALLBACK (services_changed_cb), self);
  g_signal_connect_swapped (self->context, "config-reloaded", G_CALLBACK (services_changed_cb), self);
  self->keepalive_timer = g_timeout_add_seconds (KEEPALIVE_SECONDS, keepalive_cb, self);
}

void
tend_http_router_stop (TendHttpRouter *self)
{
  g_clear_handle_id (&self->keepalive_timer, g_source_remove);
  g_signal_handlers_disconnect_by_data (self->context, self);
}

guint
tend_http_router_get_n_streams (TendHttpRouter *self)
{
  return self->streams->len;
}

guint64
tend_http_router_get_n_unauthorized (TendHttpRouter *self)
{
  return self->n_unauthorized;
}

static void
tend_http_router_finalize (GObject *object)
{
  TendHttpRouter *self = TEND_HTTP_ROUTER (object);

  tend_http_router_stop (self);
  g_ptr_array_unref (self->streams);
  g_clear_pointer (&self->health_cache, g_bytes_unref);
  g_strfreev (self->allow_origins);
  memset (&self->token, 0, sizeof self->token);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_http_router_parent_class)->finalize (object);
}

static void
tend_http_router_class_init (TendHttpRouterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_http_router_finalize;
}

static void
tend_http_router_init (TendHttpRouter *self)
{
  self->streams = g_ptr_array_new_with_free_func (g_object_unref);
}

TendHttpRouter *
tend_http_router_new (TendContext *context, const TendHttpToken *token, gboolean public_read,
                      const char *const *allow_origins)
{
  TendHttpRouter *self = g_object_new (TEND_TYPE_HTTP_ROUTER, NULL);

  self->context = g_object_ref (context);
  self->token = *token;
  self->public_read = public_read;
  self->allow_origins = allow_origins != NULL ? g_strdupv ((char **) allow_origins) : NULL;
  return self;
}
