/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-http-dashboard-resources.h"
#include "tend-http-dashboard.h"

#define RESOURCE_PREFIX "/org/tend/http/dashboard/"

typedef struct {
  const char *path;     /* as requested */
  const char *resource; /* under RESOURCE_PREFIX */
  const char *content_type;
} Asset;

static const Asset assets[] = {
  { "/", "index.html", "text/html; charset=utf-8" },
  { "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8" },
  { "/dashboard.css", "dashboard.css", "text/css; charset=utf-8" },
};

static const Asset *
asset_lookup (const char *path)
{
  if (path == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (assets); i++) {
    if (strcmp (assets[i].path, path) == 0)
      return &assets[i];
  }
  return NULL;
}

gboolean
tend_http_dashboard_is_asset (const char *path)
{
  return asset_lookup (path) != NULL;
}

void
tend_http_dashboard_serve (SoupServerMessage *msg, const char *path)
{
  const Asset *asset = asset_lookup (path);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *name = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (asset != NULL);
  name = g_strconcat (RESOURCE_PREFIX, asset->resource, NULL);
  bytes = g_resource_lookup_data (tend_http_dashboard_get_resource (), name, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (bytes == NULL) {
    /* compiled in: only a broken build gets here */
    g_warning ("dashboard: %s", error->message);
    soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
    return;
  }
  /* no script or style but our own files, no framing, nothing sent elsewhere */
  soup_message_headers_replace (headers, "Content-Security-Policy", TEND_HTTP_DASHBOARD_CSP);
  soup_message_headers_replace (headers, "X-Frame-Options", "DENY");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (headers, "Cross-Origin-Resource-Policy", "same-origin");
  soup_message_headers_replace (headers, "Cross-Origin-Opener-Policy", "same-origin");
  /* a `tend update` may bring a new dashboard: never keep an old one */
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_set_content_type (headers, asset->content_type, NULL);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
}
