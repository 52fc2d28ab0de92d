/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "tend-context.h"

G_BEGIN_DECLS

/*
 * The documents of the HTTP API, built from the context's services: the
 * seed's /api/health/system, the component rows, Prometheus metrics, event
 * payloads, and the tail of a log file. No HTTP here.
 */

/** tend_http_format_time: @unix_us as ISO 8601 UTC, whole seconds ("2026-11-29T10:00:00Z") */
char *tend_http_format_time (gint64 unix_us);

/** tend_http_component_status: "LIVE" (online), "STOPPED" (stopped on purpose) or "DOWN" (anything else) */
const char *tend_http_component_status (TendService *service);

/** tend_http_health_document: GET /api/health/system; @now_us: wall clock */
JsonNode *tend_http_health_document (TendContext *context, gint64 now_us);

/** tend_http_components_document: GET /api/components, an array of component rows with "name" */
JsonNode *tend_http_components_document (TendContext *context, gint64 now_us);

/** tend_http_metrics: GET /metrics in the Prometheus text format 0.0.4 */
GString *tend_http_metrics (TendContext *context);

/** tend_http_escape_label: a Prometheus label value: \ " and newline escaped */
char *tend_http_escape_label (const char *value);

/** tend_http_state_event: the data of an SSE `state` event */
JsonNode *tend_http_state_event (TendService *service, TendInstance *instance, TendServiceState old_state,
                                 TendServiceState new_state, const char *reason, gint64 now_us);

/**
 * TEND_HTTP_TUNNEL_STATUS_KEY:
 * The context status (tend_context_lookup_status()) a tunnel plugin publishes:
 * a{sv} with status s, url s, connections u, since x, message s. The http
 * plugin reads it; whichever plugin runs the tunnel (cloudflared) writes it.
 */
#define TEND_HTTP_TUNNEL_STATUS_KEY "tunnel"

/** tend_http_tunnel_document: GET /api/tunnel; {"status":"disabled"} without a tunnel */
JsonNode *tend_http_tunnel_document (TendContext *context);

/**
 * tend_http_tail_lines:
 * The last @n lines of @path, read backwards from its end, never more than
 * @max_bytes of it (a longer first line is then dropped). A missing file
 * has no lines. Invalid UTF-8 is replaced. The file is opened as
 * tend_log_path_open() does for a service running as @owner: a link or a
 * file that is not the service's log is refused.
 */
GStrv tend_http_tail_lines (const char *path, uid_t owner, guint n, gsize max_bytes, GError **error);

/** tend_http_json_to_data: compact JSON text of @node */
char *tend_http_json_to_data (JsonNode *node, gsize *out_length);

G_END_DECLS
