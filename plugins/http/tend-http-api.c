/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-http-api.h"
#include "tend-log-path.h"
#include "tend-proc.h"
#include "tend-service-manager.h"
#include "tend-system-info.h"

#define MIB (1024.0 * 1024.0)
#define TAIL_BLOCK 65536

char *
tend_http_format_time (gint64 unix_us)
{
  time_t secs = (time_t) (unix_us / G_USEC_PER_SEC);
  struct tm tm;

  if (gmtime_r (&secs, &tm) == NULL)
    return g_strdup ("1970-01-01T00:00:00Z");
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                          tm.tm_min, tm.tm_sec);
}

const char *
tend_http_component_status (TendService *service)
{
  if (tend_service_get_state (service) == TEND_SERVICE_STATE_ONLINE)
    return "LIVE";
  if (!tend_service_get_wants_running (service))
    return "STOPPED";
  return "DOWN";
}

static double
round_to (double value, double unit)
{
  return round (value / unit) * unit;
}

/*
 * One component: the seed's fields, then Tend's own ("state"). Built as a
 * JsonObject directly rather than through a JsonBuilder: this runs once per
 * service per request, and the builder's bookkeeping doubles its cost.
 */
static void
fill_component (JsonObject *o, TendService *service, const char *now_text, gint64 now_us)
{
  TendServiceConfig *config = tend_service_get_config (service);
  GPtrArray *instances = tend_service_get_instances (service);
  TendInstance *first = instances->len > 0 ? g_ptr_array_index (instances, 0) : NULL;
  gint64 start = tend_service_get_start_time (service);
  int pid = tend_service_get_pid (service);

  json_object_set_string_member (o, "status", tend_http_component_status (service));
  json_object_set_int_member (o, "pid", pid);
  json_object_set_int_member (o, "id", first != NULL ? tend_instance_get_id (first) : 0);
  /* dashboards written for the seed's pm2-control.js read this name */
  json_object_set_int_member (o, "pm2_id", first != NULL ? tend_instance_get_id (first) : 0);
  if (config->port != 0)
    json_object_set_int_member (o, "port", config->port);
  else
    json_object_set_null_member (o, "port");
  if (config->layer != NULL && config->layer[0] != '\0')
    json_object_set_string_member (o, "layer", config->layer);
  else
    json_object_set_null_member (o, "layer");
  json_object_set_boolean_member (o, "critical", config->critical);
  /* unknown (health plugin off, no process, not sampled yet) is null, never a 0 that reads as measured */
  if (tend_service_get_figures_known (service)) {
    json_object_set_double_member (o, "cpu_percent", round_to (tend_service_get_cpu_percent (service), 0.1));
    json_object_set_int_member (o, "memory_rss_mb",
                                (gint64) round ((double) tend_service_get_memory_rss (service) / MIB));
  } else {
    json_object_set_null_member (o, "cpu_percent");
    json_object_set_null_member (o, "memory_rss_mb");
  }
  json_object_set_double_member (o, "uptime_seconds",
                                 pid != 0 && start > 0 ? round_to ((double) MAX (now_us - start, 0) / 1e6, 0.001) : 0.0);
  json_object_set_int_member (o, "restart_count", tend_service_get_restarts (service));
  if (pid != 0 && start > 0) {
    g_autofree char *text = tend_http_format_time (start);
    json_object_set_string_member (o, "start_time", text);
  } else {
    json_object_set_null_member (o, "start_time");
  }
  json_object_set_string_member (o, "lastCheck", now_text);
  json_object_set_string_member (o, "state", tend_service_state_to_string (tend_service_get_state (service)));
}

static JsonNode *
object_node (JsonObject *o)
{
  JsonNode *node = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return node;
}

static double
process_seconds (double system_uptime)
{
  TendProcInfo self;
  long ticks = sysconf (_SC_CLK_TCK);

  if (ticks <= 0 || !tend_proc_read_stat (getpid (), &self))
    return 0.0;
  return MAX (system_uptime - (double) self.start_time / (double) ticks, 0.0);
}

JsonNode *
tend_http_health_document (TendContext *context, gint64 now_us)
{
  GListModel *services = G_LIST_MODEL (tend_context_get_manager (context));
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *now_text = tend_http_format_time (now_us);
  guint n = g_list_model_get_n_items (services);
  guint live = 0;
  gboolean down = FALSE, critical_not_live = FALSE;
  const char *global;
  JsonObject *components;
  TendSystemInfo sys;
  double used;

  if (!tend_system_info_read (&sys))
    memset (&sys, 0, sizeof sys);
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    const char *status = tend_http_component_status (service);

    if (strcmp (status, "LIVE") == 0)
      live++;
    else if (tend_service_get_config (service)->critical)
      critical_not_live = TRUE; /* stopped on purpose too: the system does not work without it */
    else if (strcmp (status, "DOWN") == 0)
      down = TRUE;
  }
  /* a stopped non-critical service does not degrade the whole; nothing live at all is no health */
  if (critical_not_live || (n > 0 && live == 0))
    global = "CRITICAL";
  else
    global = down ? "DEGRADED" : "HEALTHY";

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, global);
  json_builder_set_member_name (b, "components_live");
  json_builder_add_int_value (b, live);
  json_builder_set_member_name (b, "components_total");
  json_builder_add_int_value (b, n);
  json_builder_set_member_name (b, "components");
  components = json_object_new ();
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    JsonObject *c = json_object_new ();
    fill_component (c, service, now_text, now_us);
    json_object_set_object_member (components, tend_service_get_name (service), c);
  }
  json_builder_add_value (b, object_node (components));

  json_builder_set_member_name (b, "cpu");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "loadAvg1min");
  json_builder_add_double_value (b, sys.load[0]);
  json_builder_set_member_name (b, "loadAvg5min");
  json_builder_add_double_value (b, sys.load[1]);
  json_builder_set_member_name (b, "loadAvg15min");
  json_builder_add_double_value (b, sys.load[2]);
  json_builder_set_member_name (b, "cores");
  json_builder_add_int_value (b, sys.cores);
  json_builder_end_object (b);

  used = sys.memory_total > sys.memory_free ? (double) (sys.memory_total - sys.memory_free) : 0.0;
  json_builder_set_member_name (b, "memory");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "total_mb");
  json_builder_add_int_value (b, (gint64) round ((double) sys.memory_total / MIB));
  json_builder_set_member_name (b, "free_mb");
  json_builder_add_int_value (b, (gint64) round ((double) sys.memory_free / MIB));
  json_builder_set_member_name (b, "used_mb");
  json_builder_add_int_value (b, (gint64) round (used / MIB));
  json_builder_set_member_name (b, "usage_percent");
  json_builder_add_int_value (b, sys.memory_total > 0 ? (gint64) round (used * 100.0 / (double) sys.memory_total) : 0);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "uptime");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "system_seconds");
  json_builder_add_double_value (b, sys.uptime_seconds);
  json_builder_set_member_name (b, "process_seconds");
  json_builder_add_double_value (b, round_to (process_seconds (sys.uptime_seconds), 0.01));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "platform");
  json_builder_add_string_value (b, "linux");
  json_builder_set_member_name (b, "hostname");
  json_builder_add_string_value (b, sys.hostname);
  json_builder_set_member_name (b, "timestamp");
  json_builder_add_string_value (b, now_text);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
tend_http_components_document (TendContext *context, gint64 now_us)
{
  GListModel *services = G_LIST_MODEL (tend_context_get_manager (context));
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *now_text = tend_http_format_time (now_us);
  guint n = g_list_model_get_n_items (services);

  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    JsonObject *c = json_object_new ();
    json_object_set_string_member (c, "name", tend_service_get_name (service));
    fill_component (c, service, now_text, now_us);
    json_builder_add_value (b, object_node (c));
  }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

char *
tend_http_escape_label (const char *value)
{
  GString *out = g_string_sized_new (strlen (value) + 8);

  for (const char *p = value; *p != '\0'; p++) {
    if (*p == '\\')
      g_string_append (out, "\\\\");
    else if (*p == '"')
      g_string_append (out, "\\\"");
    else if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  }
  return g_string_free (out, FALSE);
}

static void
append_double (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.3f", value));
}

typedef enum {
  METRIC_UP,
  METRIC_RESTARTS,
  METRIC_CPU_SECONDS,
  METRIC_RSS,
  METRIC_START_TIME,
} MetricKind;

static const struct {
  const char *name;
  const char *type;
  const char *help;
} metric_info[] = {
  [METRIC_UP] = { "tend_service_up", "gauge", "1 when the service is online, else 0." },
  [METRIC_RESTARTS] = { "tend_service_restarts_total", "counter", "Restarts of the service since it was added." },
  [METRIC_CPU_SECONDS] = { "tend_service_cpu_seconds_total", "counter",
                           "CPU time used by the service's current processes and their descendants." },
  [METRIC_RSS] = { "tend_service_memory_rss_bytes", "gauge", "Resident memory of the service's process trees." },
  [METRIC_START_TIME] = { "tend_service_start_time_seconds", "gauge",
                          "When the service's current process started, seconds since the epoch (0 when not running)." },
};

static double
service_cpu_seconds (TendService *service)
{
  GPtrArray *instances = tend_service_get_instances (service);
  double total = 0.0;

  for (guint i = 0; i < instances->len; i++)
    total += tend_instance_get_usage (g_ptr_array_index (instances, i))->cpu_seconds;
  return total;
}

GString *
tend_http_metrics (TendContext *context)
{
  GListModel *services = G_LIST_MODEL (tend_context_get_manager (context));
  guint n = g_list_model_get_n_items (services);
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  GVariant *tunnel = tend_context_lookup_status (context, TEND_HTTP_TUNNEL_STATUS_KEY);
  const char *tunnel_state = NULL;
  guint32 tunnel_connections = 0;
  GString *out = g_string_sized_new (256 + n * 400);

  for (guint i = 0; i < n; i++) {
    TendService *service = g_list_model_get_item (services, i);
    g_ptr_array_add (items, service);
    g_ptr_array_add (labels, tend_http_escape_label (tend_service_get_name (service)));
  }
  for (guint m = 0; m < G_N_ELEMENTS (metric_info); m++) {
    g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", metric_info[m].name, metric_info[m].help,
                            metric_info[m].name, metric_info[m].type);
    for (guint i = 0; i < items->len; i++) {
      TendService *service = g_ptr_array_index (items, i);
      gint64 start = tend_service_get_pid (service) != 0 ? tend_service_get_start_time (service) : 0;

      /* an unknown figure has no sample: a 0 would read as measured */
      if ((m == METRIC_CPU_SECONDS || m == METRIC_RSS) && !tend_service_get_figures_known (service))
        continue;
      g_string_append_printf (out, "%s{service=\"%s\"} ", metric_info[m].name, (char *) g_ptr_array_index (labels, i));
      switch ((MetricKind) m) {
      case METRIC_UP:
        g_string_append (out, tend_service_get_state (service) == TEND_SERVICE_STATE_ONLINE ? "1" : "0");
        break;
      case METRIC_RESTARTS:
        g_string_append_printf (out, "%u", tend_service_get_restarts (service));
        break;
      case METRIC_CPU_SECONDS:
        append_double (out, service_cpu_seconds (service));
        break;
      case METRIC_RSS:
        g_string_append_printf (out, "%" G_GUINT64_FORMAT, tend_service_get_memory_rss (service));
        break;
      case METRIC_START_TIME:
        append_double (out, (double) start / 1e6);
        break;
      default:
        g_assert_not_reached ();
      }
      g_string_append_c (out, '\n');
    }
  }
  if (tunnel != NULL) {
    g_variant_lookup (tunnel, "status", "&s", &tunnel_state);
    g_variant_lookup (tunnel, "connections", "u", &tunnel_connections);
  }
  g_string_append_printf (out,
                          "# HELP tend_tunnel_up 1 when the cloudflared tunnel is connected, else 0.\n"
                          "# TYPE tend_tunnel_up gauge\n"
                          "tend_tunnel_up %d\n"
                          "# HELP tend_tunnel_connections Connections of the tunnel to the Cloudflare edge that are ready.\n"
                          "# TYPE tend_tunnel_connections gauge\n"
                          "tend_tunnel_connections %u\n",
                          g_strcmp0 (tunnel_state, "connected") == 0 ? 1 : 0, tunnel_connections);
  return out;
}

JsonNode *
tend_http_state_event (TendService *service, TendInstance *instance, TendServiceState old_state,
                       TendServiceState new_state, const char *reason, gint64 now_us)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *time_text = tend_http_format_time (now_us);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, tend_service_get_name (service));
  json_builder_set_member_name (b, "index");
  json_builder_add_int_value (b, instance != NULL ? tend_instance_get_index (instance) : 0);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, tend_service_state_to_string (new_state));
  json_builder_set_member_name (b, "old_state");
  json_builder_add_string_value (b, tend_service_state_to_string (old_state));
  json_builder_set_member_name (b, "pid");
  json_builder_add_int_value (b, instance != NULL ? tend_instance_get_pid (instance) : 0);
  json_builder_set_member_name (b, "reason");
  if (reason != NULL && g_utf8_validate (reason, -1, NULL))
    json_builder_add_string_value (b, reason);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, time_text);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* As `tend tunnel --json`: the tunnel plugin's a{sv} with "since" as an ISO time. */
JsonNode *
tend_http_tunnel_document (TendContext *context)
{
  GVariant *status = tend_context_lookup_status (context, TEND_HTTP_TUNNEL_STATUS_KEY);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const char *state = "disabled", *url = "", *message = "";
  guint32 connections = 0;
  gint64 since = 0;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  if (status == NULL) {
    json_builder_add_string_value (b, state);
    json_builder_end_object (b);
    return json_builder_get_root (b);
  }
  g_variant_lookup (status, "status", "&s", &state);
  g_variant_lookup (status, "url", "&s", &url);
  g_variant_lookup (status, "connections", "u", &connections);
  g_variant_lookup (status, "since", "x", &since);
  g_variant_lookup (status, "message", "&s", &message);
  json_builder_add_string_value (b, state);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  json_builder_set_member_name (b, "connections");
  json_builder_add_int_value (b, connections);
  json_builder_set_member_name (b, "since");
  if (since > 0) {
    g_autofree char *text = tend_http_format_time (since);
    json_builder_add_string_value (b, text);
  } else {
    json_builder_add_null_value (b);
  }
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Reads blocks backwards from the end until n + 1 line ends, the start, or max_bytes. */
GStrv
tend_http_tail_lines (const char *path, uid_t owner, guint n, gsize max_bytes, GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GByteArray) text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  off_t pos;
  gsize collected = 0;
  guint newlines = 0;
  gboolean trailing_newline = FALSE;
  guint count, first;
  int fd;

  /* the daemon reads as root: never through a link, nor a root file linked in by the service's user */
  fd = tend_log_path_open (path, O_RDONLY, owner, &local_error);
  if (fd < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return g_strv_builder_end (builder);
  if (fd < 0) {
    g_propagate_error (error, g_steal_pointer (&local_error));
    return NULL;
  }
  if (fstat (fd, &st) < 0) {
    int saved = errno;
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read %s: %s", path, g_strerror (saved));
    return NULL;
  }
  pos = st.st_size;
  while (pos > 0 && collected < max_bytes && newlines < n) {
    gsize want = (gsize) MIN ((off_t) MIN (TAIL_BLOCK, max_bytes - collected), pos);
    guint8 *buf = g_malloc (want);
    ssize_t got;

    pos -= (off_t) want;
    got = pread (fd, buf, want, pos);
    if (got != (ssize_t) want) {
      int saved = got < 0 ? errno : EIO;
      g_free (buf);
      close (fd);
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read %s: %s", path, g_strerror (saved));
      return NULL;
    }
    for (gsize i = 0; i < want; i++)
      newlines += buf[i] == '\n';
    /* the file's last line end does not start a line */
    if (collected == 0 && buf[want - 1] == '\n') {
      trailing_newline = TRUE;
      newlines--;
    }
    collected += want;
    g_ptr_array_add (blocks, g_bytes_new_take (buf, want));
  }
  close (fd);

  text = g_byte_array_sized_new ((guint) collected + 1);
  for (guint i = blocks->len; i > 0; i--) {
    GBytes *block = g_ptr_array_index (blocks, i - 1);
    g_byte_array_append (text, g_bytes_get_data (block, NULL), (guint) g_bytes_get_size (block));
  }
  if (trailing_newline && text->len > 0)
    g_byte_array_set_size (text, text->len - 1);
  g_byte_array_append (text, (const guint8 *) "", 1);
  /* an empty file has no line; a file that is one "\n" has one, empty (g_strsplit gives none for "") */
  if (text->len == 1 && trailing_newline) {
    g_strv_builder_add (builder, "");
    return g_strv_builder_end (builder);
  }
  lines = g_strsplit ((const char *) text->data, "\n", -1);
  count = g_strv_length (lines);
  first = count > n ? count - n : 0;
  /* we stopped before the file's start: the first piece is only the end of a line */
  if (pos > 0 && first == 0 && count > 0)
    first = 1;
  for (guint i = first; i < count; i++) {
    g_autofree char *valid = g_utf8_make_valid (lines[i], -1);
    g_strv_builder_add (builder, valid);
  }
  return g_strv_builder_end (builder);
}

/*
 * Milliseconds are the finest unit any figure of the API needs, and the
 * shortest text that reads back as the same double keeps 51.048 from being
 * written 51.048000000000002 (json-glib writes every double with %.17g).
 */
static void
append_json_double (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value)) {
    g_string_append (out, "null");
    return;
  }
  if (fabs (value) < 1e15)
    value = round (value * 1000.0) / 1000.0;
  if (value == 0.0)
    value = 0.0; /* no "-0" */
  for (int precision = 15; precision <= 17; precision++) {
    char format[8];
    g_snprintf (format, sizeof format, "%%.%dg", precision);
    g_ascii_formatd (buf, sizeof buf, format, value);
    if (g_ascii_strtod (buf, NULL) == value)
      break;
  }
  g_string_append (out, buf);
  /* a double stays a double for typed readers: 2.0, not 2 */
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
append_json_string (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++) {
    guchar c = (guchar) *p;
    switch (c) {
    case '"':
      g_string_append (out, "\\\"");
      break;
    case '\\':
      g_string_append (out, "\\\\");
      break;
    case '\n':
      g_string_append (out, "\\n");
      break;
    case '\r':
      g_string_append (out, "\\r");
      break;
    case '\t':
      g_string_append (out, "\\t");
      break;
    default:
      if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  }
  g_string_append_c (out, '"');
}

static void
append_json (GString *out, JsonNode *node)
{
  switch (node != NULL ? json_node_get_node_type (node) : JSON_NODE_NULL) {
  case JSON_NODE_OBJECT: {
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    gboolean first = TRUE;

    g_string_append_c (out, '{');
    json_object_iter_init_ordered (&iter, json_node_get_object (node));
    while (json_object_iter_next_ordered (&iter, &name, &member)) {
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_json_string (out, name);
      g_string_append_c (out, ':');
      append_json (out, member);
    }
    g_string_append_c (out, '}');
    break;
  }
  case JSON_NODE_ARRAY: {
    JsonArray *array = json_node_get_array (node);
    guint n = json_array_get_length (array);

    g_string_append_c (out, '[');
    for (guint i = 0; i < n; i++) {
      if (i > 0)
        g_string_append_c (out, ',');
      append_json (out, json_array_get_element (array, i));
    }
    g_string_append_c (out, ']');
    break;
  }
  case JSON_NODE_VALUE:
    switch (json_node_get_value_type (node)) {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      append_json_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      append_json_string (out, json_node_get_string (node));
      break;
    default:
      g_string_append (out, "null");
      break;
    }
    break;
  case JSON_NODE_NULL:
  default:
    g_string_append (out, "null");
    break;
  }
}

char *
tend_http_json_to_data (JsonNode *node, gsize *out_length)
{
  GString *out = g_string_sized_new (256);

  append_json (out, node);
  if (out_length != NULL)
    *out_length = out->len;
  return g_string_free (out, FALSE);
}
