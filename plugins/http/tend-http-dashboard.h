/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * The web dashboard: one page, its script and its style sheet, compiled into
 * the plugin as a GResource (plugins/http/dashboard/). They are static and
 * hold no data, so they need no token; everything they show comes from the
 * API with the token the operator types in.
 */

/* the Content-Security-Policy of every dashboard answer */
#define TEND_HTTP_DASHBOARD_CSP                                                                                       \
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "               \
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** tend_http_dashboard_is_asset: whether @path (as sent, no query) is one of the dashboard's files */
gboolean tend_http_dashboard_is_asset (const char *path);

/** tend_http_dashboard_serve: answers GET or HEAD @path (tend_http_dashboard_is_asset) with the file and its headers */
void tend_http_dashboard_serve (SoupServerMessage *msg, const char *path);

G_END_DECLS
