/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * TendCloudflaredMetrics:
 * A client of cloudflared's metrics server (`--metrics 127.0.0.1:PORT`):
 * one poll reads `GET /ready` (readyConnections) and `GET /quicktunnel`
 * (the quick tunnel's hostname) at once. Never through a proxy.
 */
typedef struct _TendCloudflaredMetrics TendCloudflaredMetrics;

typedef struct {
  gboolean reachable; /* /ready answered */
  guint connections;  /* readyConnections; 0 when not reachable */
  char *hostname;     /* from /quicktunnel: NULL when unknown, "" for a named tunnel */
} TendCloudflaredReading;

void tend_cloudflared_reading_clear (TendCloudflaredReading *reading);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TendCloudflaredReading, tend_cloudflared_reading_clear)

/** tend_cloudflared_metrics_new: @host and @port of the metrics server; each request bounded by @timeout_ms */
TendCloudflaredMetrics *tend_cloudflared_metrics_new (const char *host, guint16 port, guint timeout_ms);
void tend_cloudflared_metrics_free (TendCloudflaredMetrics *metrics);
/** tend_cloudflared_metrics_poll_async: one reading; a poll never fails, an unreachable server is a reading too */
void tend_cloudflared_metrics_poll_async (TendCloudflaredMetrics *metrics,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
/** tend_cloudflared_metrics_poll_finish: FALSE only when cancelled */
gboolean tend_cloudflared_metrics_poll_finish (TendCloudflaredMetrics *metrics,
                                               GAsyncResult *result,
                                               TendCloudflaredReading *out,
                                               GError **error);

/** tend_cloudflared_parse_ready: readyConnections of a /ready body; FALSE when it is not one */
gboolean tend_cloudflared_parse_ready (const char *body, gsize length, guint *out_connections);
/** tend_cloudflared_parse_quicktunnel: the hostname of a /quicktunnel body (may be ""); NULL when it is not one */
char *tend_cloudflared_parse_quicktunnel (const char *body, gsize length);
/**
 * tend_cloudflared_find_url:
 * The quick tunnel's URL in one line of cloudflared's log (the box that
 * announces it: `https://NAME.trycloudflare.com`), or NULL.
 */
char *tend_cloudflared_find_url (const char *line, gsize length);

G_END_DECLS
