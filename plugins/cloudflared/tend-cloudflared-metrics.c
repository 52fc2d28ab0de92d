/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "tend-cloudflared-metrics.h"

#define QUICK_DOMAIN ".trycloudflare.com"

struct _TendCloudflaredMetrics {
  SoupSession *session;
  GUri *ready_uri;
  GUri *quicktunnel_uri;
};

/* One poll: two requests in flight, the task returns once both are back. */
typedef struct {
  SoupSession *session; /* kept alive while its requests are */
  guint pending;
  TendCloudflaredReading reading;
} Poll;

void
tend_cloudflared_reading_clear (TendCloudflaredReading *reading)
{
  g_clear_pointer (&reading->hostname, g_free);
  reading->reachable = FALSE;
  reading->connections = 0;
}

static void
poll_free (Poll *poll)
{
  g_clear_object (&poll->session);
  tend_cloudflared_reading_clear (&poll->reading);
  g_free (poll);
}

TendCloudflaredMetrics *
tend_cloudflared_metrics_new (const char *host, guint16 port, guint timeout_ms)
{
  TendCloudflaredMetrics *metrics = g_new0 (TendCloudflaredMetrics, 1);

  /* the metrics server is on loopback: never through the user's proxy */
  metrics->session = soup_session_new_with_options ("proxy-resolver", NULL,
                                                    "timeout", MAX ((timeout_ms + 999) / 1000, 1),
                                                    "max-conns-per-host", 2,
                                                    "user-agent", "tend-cloudflared/" TEND_VERSION,
                                                    NULL);
  metrics->ready_uri = g_uri_build (G_URI_FLAGS_NONE, "http", NULL, host, port, "/ready", NULL, NULL);
  metrics->quicktunnel_uri = g_uri_build (G_URI_FLAGS_NONE, "http", NULL, host, port, "/quicktunnel", NULL, NULL);
  return metrics;
}

void
tend_cloudflared_metrics_free (TendCloudflaredMetrics *metrics)
{
  if (metrics == NULL)
    return;
  soup_session_abort (metrics->session);
  g_clear_object (&metrics->session);
  g_uri_unref (metrics->ready_uri);
  g_uri_unref (metrics->quicktunnel_uri);
  g_free (metrics);
}

static JsonObject *
parse_object (JsonParser *parser, const char *body, gsize length)
{
  JsonNode *root;

  if (body == NULL || length > G_MAXSSIZE || !json_parser_load_from_data (parser, body, (gssize) length, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_node_get_object (root);
}

gboolean
tend_cloudflared_parse_ready (const char *body, gsize length, guint *out_connections)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_object (parser, body, length);
  JsonNode *member;
  gint64 value;

  if (object == NULL)
    return FALSE;
  member = json_object_get_member (object, "readyConnections");
  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_INT64)
    return FALSE;
  value = json_node_get_int (member);
  *out_connections = (guint) CLAMP (value, 0, G_MAXUINT);
  return TRUE;
}

char *
tend_cloudflared_parse_quicktunnel (const char *body, gsize length)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_object (parser, body, length);
  JsonNode *member;
  const char *hostname;

  if (object == NULL)
    return NULL;
  member = json_object_get_member (object, "hostname");
  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    return NULL;
  hostname = json_node_get_string (member);
  /* a hostname, nothing that could smuggle a path, a scheme or a newline into the URL */
  for (const char *p = hostname; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return NULL;
  }
  return g_ascii_strdown (hostname, -1);
}

static gboolean
is_label_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

char *
tend_cloudflared_find_url (const char *line, gsize length)
{
  static const char scheme[] = "https://";
  const gsize scheme_len = strlen (scheme);
  const gsize domain_len = strlen (QUICK_DOMAIN);
  const char *end = line + length;

  for (const char *p = line; p + scheme_len < end; p++) {
    const char *label;
    const char *q;

    if (memcmp (p, scheme, scheme_len) != 0)
      continue;
    label = p + scheme_len;
    for (q = label; q < end && is_label_char (*q); q++)
      ;
    if (q == label || (gsize) (end - q) < domain_len || memcmp (q, QUICK_DOMAIN, domain_len) != 0)
      continue;
    /* api.trycloudflare.com is the service cloudflared asks for a tunnel, named in its errors */
    if (q - label == 3 && memcmp (label, "api", 3) == 0)
      continue;
    q += domain_len;
    /* the whole host, not the start of a longer one or of a path */
    if (q < end && (is_label_char (*q) || *q == '.' || *q == '/' || *q == ':'))
      continue;
    return g_strndup (p, (gsize) (q - p));
  }
  return NULL;
}

static void
poll_done (GTask *task)
{
  Poll *poll = g_task_get_task_data (task);

  if (--poll->pending > 0)
    return;
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task))) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
    return;
  }
  g_task_return_boolean (task, TRUE);
}

static void
on_ready_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Poll *poll = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  guint connections = 0;

  if (body == NULL) {
    g_debug ("GET /ready: %s", error->message);
  } else if (tend_cloudflared_parse_ready (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &connections)) {
    /* 200 with connections, 503 without: both are an answer */
    poll->reading.reachable = TRUE;
    poll->reading.connections = connections;
  } else {
    g_debug ("GET /ready: HTTP %u, not a readiness document",
             soup_message_get_status (soup_session_get_async_result_message (SOUP_SESSION (source), result)));
  }
  poll_done (task);
}

static void
on_quicktunnel_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Poll *poll = g_task_get_task_data (task);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    g_debug ("GET /quicktunnel: %s", error->message);
  else if (soup_message_get_status (msg) == SOUP_STATUS_OK)
    poll->reading.hostname = tend_cloudflared_parse_quicktunnel (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  poll_done (task);
}

static void
send_get (TendCloudflaredMetrics *metrics, GUri *uri, GTask *task, GAsyncReadyCallback callback)
{
  g_autoptr(SoupMessage) msg = soup_message_new_from_uri (SOUP_METHOD_GET, uri);

  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_session_send_and_read_async (metrics->session, msg, G_PRIORITY_DEFAULT, g_task_get_cancellable (task), callback,
                                    g_object_ref (task));
}

void
tend_cloudflared_metrics_poll_async (TendCloudflaredMetrics *metrics,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Poll *poll = g_new0 (Poll, 1);

  g_task_set_source_tag (task, tend_cloudflared_metrics_poll_async);
  /* cancelled or not, the answer is ours to give once both requests are back */
  g_task_set_check_cancellable (task, FALSE);
  poll->session = g_object_ref (metrics->session);
  poll->pending = 2;
  g_task_set_task_data (task, poll, (GDestroyNotify) poll_free);
  send_get (metrics, metrics->ready_uri, task, on_ready_read);
  send_get (metrics, metrics->quicktunnel_uri, task, on_quicktunnel_read);
}

gboolean
tend_cloudflared_metrics_poll_finish (TendCloudflaredMetrics *metrics,
                                      GAsyncResult *result,
                                      TendCloudflaredReading *out,
                                      GError **error)
{
  Poll *poll;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  poll = g_task_get_task_data (G_TASK (result));
  out->reachable = poll->reading.reachable;
  out->connections = poll->reading.connections;
  out->hostname = g_steal_pointer (&poll->reading.hostname);
  return TRUE;
}
