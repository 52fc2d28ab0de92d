/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dashboard's files over real HTTP on 127.0.0.1: content types, the CSP and the other headers, no token, no CORS. */
#include "config.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>

#include "tend-test-daemon.h"

#define CSP                                                                                                            \
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "                \
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

typedef struct {
  guint status;
  char *head;
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

/* one request per connection, read to the end; @headers: extra lines, each ending in \r\n (nullable) */
static Reply *
http (guint16 port, const char *method, const char *path, const char *headers)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s\r\n",
                                              method, path, port, headers != NULL ? headers : "");
  Reply *r = g_new0 (Reply, 1);
  GInputStream *in;
  const char *end;
  char buf[16384];
  gssize n;

  g_socket_client_set_timeout (client, 10);
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request, strlen (request), NULL, NULL,
                             &error);
  g_assert_no_error (error);
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &error)) > 0)
    g_string_append_len (data, buf, n);
  g_assert_no_error (error);
  end = strstr (data->str, "\r\n\r\n");
  g_assert_nonnull (end);
  r->head = g_strndup (data->str, (gsize) (end - data->str));
  r->body = g_strdup (end + 4);
  g_assert_true (g_str_has_prefix (r->head, "HTTP/1.1 "));
  r->status = (guint) g_ascii_strtoull (r->head + 9, NULL, 10);
  return r;
}

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

static void
assert_header (Reply *r, const char *name, const char *value)
{
  g_autofree char *got = reply_header (r, name);
  if (g_strcmp0 (got, value) != 0)
    g_error ("header %s: \"%s\", expected \"%s\"\n%s", name, got, value, r->head);
}

/* the port tendd logged: "HTTP API listening on 127.0.0.1:PORT" */
static guint16
daemon_port (TendTestDaemon *d)
{
  g_autofree char *log = NULL;
  const char *needle = "HTTP API listening on 127.0.0.1:";
  const char *at;

  g_assert_true (g_file_get_contents (d->log, &log, NULL, NULL));
  at = strstr (log, needle);
  g_assert_nonnull (at);
  return (guint16) g_ascii_strtoull (at + strlen (needle), NULL, 10);
}

static TendTestDaemon *
start_daemon (const char *http_keys)
{
  TendTestDaemon *d = tend_test_daemon_new ();
  g_autofree char *config = g_strdup_printf ("[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:0\n%s\n"
                                             "[service:web]\nexec=sleep 100000\n",
                                             http_keys);

  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  return d;
}

static void
stop_daemon (TendTestDaemon *d)
{
  g_autoptr(GArray) left = NULL;

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  left = tend_test_daemon_leftovers (d);
  g_assert_cmpuint (left->len, ==, 0);
  tend_test_daemon_free (d);
}

static void
test_assets (void)
{
  static const struct {
    const char *path;
    const char *type;
    const char *needle;
  } assets[] = {
    { "/", "text/html; charset=utf-8", "<script src=\"/dashboard.js\"" },
    { "/dashboard.js", "text/javascript; charset=utf-8", "/api/events" },
    { "/dashboard.css", "text/css; charset=utf-8", "@media (max-width:" },
  };
  /* allow-origin set: the API answers that origin, the dashboard never does */
  TendTestDaemon *d = start_daemon ("allow-origin=*\n");
  guint16 port = daemon_port (d);

  for (guint i = 0; i < G_N_ELEMENTS (assets); i++) {
    g_autoptr(Reply) r = http (port, "GET", assets[i].path, "Origin: https://elsewhere.example\r\n");
    g_autoptr(Reply) head = NULL;
    g_autofree char *cors = NULL;

    /* no token needed: the files hold no data */
    g_assert_cmpuint (r->status, ==, 200);
    assert_header (r, "Content-Type", assets[i].type);
    assert_header (r, "Content-Security-Policy", CSP);
    assert_header (r, "X-Frame-Options", "DENY");
    assert_header (r, "X-Content-Type-Options", "nosniff");
    assert_header (r, "Referrer-Policy", "no-referrer");
    assert_header (r, "Cache-Control", "no-store");
    cors = reply_header (r, "Access-Control-Allow-Origin");
    g_assert_null (cors);
    g_assert_nonnull (strstr (r->body, assets[i].needle));

    /* HEAD: the same headers, no body */
    head = http (port, "HEAD", assets[i].path, NULL);
    g_assert_cmpuint (head->status, ==, 200);
    assert_header (head, "Content-Type", assets[i].type);
    assert_header (head, "Content-Security-Policy", CSP);
    g_assert_cmpstr (head->body, ==, "");
  }

  {
    /* the page loads nothing from elsewhere and runs nothing inline (the CSP would block it anyway) */
    g_autoptr(Reply) r = http (port, "GET", "/", NULL);
    g_assert_null (strstr (r->body, "http://"));
    g_assert_null (strstr (r->body, "https://"));
    g_assert_null (strstr (r->body, "<style"));
    g_assert_null (strstr (r->body, "style=\""));
    g_assert_null (strstr (r->body, "<script>"));
    g_assert_null (strstr (r->body, " on"));
  }
  {
    /* other methods are refused, without a token too */
    g_autoptr(Reply) r = http (port, "POST", "/", "Content-Length: 0\r\n");
    g_autofree char *allow = NULL;
    g_assert_cmpuint (r->status, ==, 405);
    allow = reply_header (r, "Allow");
    g_assert_cmpstr (allow, ==, "GET, HEAD");
  }
  {
    /* a query changes nothing; other paths stay the API's (401 before 404) */
    g_autoptr(Reply) q = http (port, "GET", "/?token=x", NULL);
    g_autoptr(Reply) other = http (port, "GET", "/index.html", NULL);
    g_autoptr(Reply) api = http (port, "GET", "/api/health/system", NULL);
    g_assert_cmpuint (q->status, ==, 200);
    g_assert_cmpuint (other->status, ==, 401);
    g_assert_cmpuint (api->status, ==, 401);
  }
  stop_daemon (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  g_test_add_func ("/tend/http/dashboard/assets", test_assets);
  return g_test_run ();
}
