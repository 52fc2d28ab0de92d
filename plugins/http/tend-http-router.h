/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsoup/soup.h>

#include "tend-context.h"
#include "tend-http-auth.h"
#include "tend-http-server.h"

G_BEGIN_DECLS

/**
 * TendHttpRouter:
 * The HTTP API's requests: authentication, CORS, routing by path and method,
 * the endpoints, and the event streams. It answers what a TendHttpServer
 * reads (tend_http_router_handle is its TendHttpHandler) and knows nothing
 * of sockets or of the plugin's configuration file, so a test or a fuzzer
 * can put one in front of a bare TendContext.
 */
#define TEND_TYPE_HTTP_ROUTER (tend_http_router_get_type ())
G_DECLARE_FINAL_TYPE (TendHttpRouter, tend_http_router, TEND, HTTP_ROUTER, GObject)

/**
 * tend_http_router_new:
 * @token: the bearer token (copied; one not set accepts nothing)
 * @public_read: GET /api/health/system and GET /metrics need no token
 * @allow_origins: (nullable): browser origins allowed by CORS ("*": any)
 */
TendHttpRouter *tend_http_router_new (TendContext *context, const TendHttpToken *token, gboolean public_read,
                                      const char *const *allow_origins);
/** tend_http_router_start: answers for @server (unowned; it must outlive the router's use) and follows the context */
void tend_http_router_start (TendHttpRouter *self, TendHttpServer *server);
/** tend_http_router_stop: stops following the context (no more events, no keep-alive comments) */
void tend_http_router_stop (TendHttpRouter *self);
/** tend_http_router_handle: a TendHttpHandler; @user_data is the router */
void tend_http_router_handle (TendHttpServer *server, SoupServerMessage *msg, const char *remote, gboolean early,
                              gpointer user_data);
guint tend_http_router_get_n_streams (TendHttpRouter *self);
guint64 tend_http_router_get_n_unauthorized (TendHttpRouter *self);

G_END_DECLS
