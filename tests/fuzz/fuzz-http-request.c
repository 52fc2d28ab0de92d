/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the http plugin's request path: the input is the raw bytes
 * a client sends on one connection (request line, headers, body, more
 * pipelined requests, anything). They go through a socket pair into the
 * plugin's TendHttpServer, its gate (tend_http_head_scan), libsoup's real
 * HTTP/1 parser, and the TendHttpRouter (authentication, CORS, routes, query,
 * endpoints, event streams) in front of a TendContext with two services. The
 * main context is iterated until the server has closed the connection or the
 * client, having sent everything, stops waiting; then the client closes, and
 * the connection must be released.
 *
 * Requests with "Authorization: Bearer fuzz-token" pass authentication.
 * Beyond the sanitizers, it checks that a head the gate lets through is framed
 * by libsoup as by the gate (the defence against request smuggling), that
 * every answer has a known status, and that a connection is never kept once
 * its client is gone.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-http-auth.h"
#include "tend-http-head.h"
#include "tend-http-router.h"
#include "tend-http-server.h"
#include "tend-service-config.h"
#include "tend-service-manager.h"
#include "tend-context-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_TOKEN "fuzz-token"
/* larger inputs say nothing more; the body limit is 64 KiB */
#define FUZZ_MAX_INPUT (256 * 1024)
#define MAX_BODY (64 * 1024)
#define REQUEST_TIMEOUT_MS 1000
/*
 * Once it has sent everything, the client waits this long after the last
 * sign of life (bytes back, a source dispatched) before it gives up and
 * closes: an event stream stays open until then.
 */
#define QUIET_US (100 * 1000)
/* how long the server may take to let go of a connection its client closed */
#define RELEASE_WAIT_US (5 * G_USEC_PER_SEC)

typedef struct {
  char *home;
  TendContext *context;
  TendHttpToken token;
  TendHttpRouter *router;
  TendHttpServer *server;
  GSocketAddress *local;
  GInetSocketAddress *remote;
} Harness;

static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  /* the request log and operator messages are noise here; criticals are bugs and abort */
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) == 0)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (level, fields, n_fields, user_data);
}

static void
add_service (Harness *h, const char *name, guint port, const char *layer)
{
  g_autoptr(TendServiceConfig) config = tend_service_config_new (name);
  g_autoptr(GError) error = NULL;

  config->exec = g_strdup ("sleep 100000");
  config->argv = g_strsplit ("sleep 100000", " ", -1);
  config->port = port;
  config->layer = g_strdup (layer);
  /* never started here: the context has no process backend, so control actions just fail the service */
  config->start = FALSE;
  if (tend_service_manager_add (tend_context_get_manager (h->context), config, &error) == NULL)
    g_error ("cannot add %s: %s", name, error->message);
}

static void
remove_home (void)
{
  /* best effort: only what the harness made */
  const char *home = g_getenv ("TEND_FUZZ_HOME_MADE");
  if (home != NULL) {
    g_autofree char *token = g_build_filename (home, "api-token", NULL);
    g_autofree char *logs = g_build_filename (home, "logs", NULL);
    g_unlink (token);
    g_rmdir (logs);
    g_rmdir (home);
  }
}

static Harness *
harness_get (void)
{
  static Harness *h = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token_path = NULL;
  g_autoptr(GInetAddress) loopback = NULL;

  if (h != NULL)
    return h;
  g_log_set_writer_func (quiet_writer, NULL, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  h = g_new0 (Harness, 1);
  h->home = g_dir_make_tmp ("tend-fuzz-http-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("TEND_FUZZ_HOME_MADE", h->home, TRUE);
  atexit (remove_home);
  h->context = tend_context_new (h->home, &error);
  g_assert_no_error (error);
  add_service (h, "web", 8080, "gateway");
  add_service (h, "db.main_1", 0, NULL);

  token_path = g_build_filename (h->home, "api-token", NULL);
  g_assert_true (g_file_set_contents_full (token_path, FUZZ_TOKEN "\n", -1, G_FILE_SET_CONTENTS_NONE, 0600, &error));
  g_assert_true (tend_http_token_load (token_path, &h->token, NULL, &error));

  h->router = tend_http_router_new (h->context, &h->token, FALSE, (const char *const[]) { "https://dash.example", NULL });
  h->server = tend_http_server_new (64, REQUEST_TIMEOUT_MS, MAX_BODY, tend_http_router_handle, h->router);
  tend_http_router_start (h->router, h->server);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  h->local = g_inet_socket_address_new (loopback, 9615);
  h->remote = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (loopback, 40000));
  return h;
}

/* One end of a socket pair as the server's connection. */
static GSocketConnection *
server_end (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return g_socket_connection_factory_create_connection (socket);
}

/* The answers start with a status line, and every status line has a status the plugin or libsoup may give. */
static void
check_answers (const GString *received)
{
  static const guint known[] = { 100, 200, 204, 400, 401, 404, 405, 413, 417, 431, 500, 501, 503, 505 };
  static GRegex *status_line = NULL;
  g_autoptr(GMatchInfo) match = NULL;

  if (received->len == 0)
    return;
  if (!g_str_has_prefix (received->str, "HTTP/1.1 ") && !g_str_has_prefix (received->str, "HTTP/1.0 ")) {
    fprintf (stderr, "fuzz-http-request: not an HTTP answer: %.80s\n", received->str);
    abort ();
  }
  if (status_line == NULL)
    status_line = g_regex_new ("HTTP/1\\.[01] ([0-9]{3}) ", G_REGEX_RAW | G_REGEX_OPTIMIZE, 0, NULL);
  g_regex_match_full (status_line, received->str, (gssize) received->len, 0, 0, &match, NULL);
  for (; g_match_info_matches (match); g_match_info_next (match, NULL)) {
    g_autofree char *code_text = g_match_info_fetch (match, 1);
    guint code = (guint) g_ascii_strtoull (code_text, NULL, 10);
    gboolean ok = FALSE;

    for (guint i = 0; i < G_N_ELEMENTS (known); i++)
      ok = ok || code == known[i];
    if (!ok) {
      fprintf (stderr, "fuzz-http-request: unexpected status %u\n", code);
      abort ();
    }
  }
}

/*
 * The point of the gate: when it lets a head through, libsoup must read the
 * same body framing from it (none, N bytes, or chunked), never another one.
 */
static void
check_framing_agrees (const char *data, size_t size)
{
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autofree char *method = NULL;
  g_autofree char *path = NULL;
  TendHttpHead head, piecewise;
  TendHttpHeadResult result, piecewise_result = TEND_HTTP_HEAD_INCOMPLETE;
  SoupEncoding encoding;
  gsize resume = 0;
  gsize text;
  gboolean same;

  result = tend_http_head_scan (data, size, NULL, &head);
  /* as the gate scans a head that arrives in pieces: the same verdict */
  for (gsize n = 0; n < size && piecewise_result == TEND_HTTP_HEAD_INCOMPLETE; n += 1 + n / 4)
    piecewise_result = tend_http_head_scan (data, n, &resume, &piecewise);
  if (piecewise_result == TEND_HTTP_HEAD_INCOMPLETE)
    piecewise_result = tend_http_head_scan (data, size, &resume, &piecewise);
  if (piecewise_result != result ||
      (result == TEND_HTTP_HEAD_OK && (piecewise.length != head.length || piecewise.body != head.body))) {
    fprintf (stderr, "fuzz-http-request: scanning in pieces gives another verdict (%d, not %d)\n", piecewise_result,
             result);
    abort ();
  }
  if (result != TEND_HTTP_HEAD_OK)
    return;
  /* the head libsoup parses: without its last line, "\n" or "\r\n" */
  text = data[head.length - 2] == '\n' ? head.length - 1 : head.length - 2;
  if (soup_headers_parse_request (data, (int) text, headers, &method, &path, NULL) != SOUP_STATUS_OK)
    return; /* libsoup answers it itself, and closes */
  encoding = soup_message_headers_get_encoding (headers);
  switch (head.body) {
  case TEND_HTTP_BODY_CHUNKED:
    same = encoding == SOUP_ENCODING_CHUNKED;
    break;
  case TEND_HTTP_BODY_LENGTH:
    same = encoding == SOUP_ENCODING_CONTENT_LENGTH &&
           (guint64) soup_message_headers_get_content_length (headers) == head.body_length;
    break;
  case TEND_HTTP_BODY_NONE:
  default:
    same = encoding == SOUP_ENCODING_NONE ||
           (encoding == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length (headers) == 0);
    break;
  }
  if (!same) {
    fprintf (stderr, "fuzz-http-request: the gate and libsoup frame this head differently (gate %d/%" G_GUINT64_FORMAT
             ", libsoup %d/%" G_GINT64_FORMAT ")\n",
             head.body, head.body_length, encoding, (gint64) soup_message_headers_get_content_length (headers));
    abort ();
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Harness *h = harness_get ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  gsize sent = 0;
  gboolean shut = FALSE;
  gint64 last_progress = g_get_monotonic_time ();
  gint64 deadline;
  int sv[2];

  if (size > FUZZ_MAX_INPUT)
    return 0;
  check_framing_agrees ((const char *) data, size);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    perror ("socketpair");
    abort ();
  }
  g_unix_set_fd_nonblocking (sv[1], TRUE, NULL);
  conn = server_end (sv[0]);
  tend_http_server_serve_connection (h->server, conn, h->local, h->remote);
  g_clear_object (&conn);

  /* the client: sends everything, ends its side, reads until the server closes or stops answering */
  for (;;) {
    char buf[16384];
    ssize_t n;
    gboolean busy = FALSE;

    if (sent < size) {
      n = send (sv[1], data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += (gsize) n;
        busy = TRUE;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sent = size; /* the server closed: nothing more to send */
      }
    }
    if (sent == size && !shut) {
      shutdown (sv[1], SHUT_WR);
      shut = TRUE;
    }
    while ((n = recv (sv[1], buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      g_string_append_len (received, buf, n);
      busy = TRUE;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      break; /* the server closed the connection */
    while (g_main_context_iteration (NULL, FALSE))
      busy = TRUE;
    if (busy)
      last_progress = g_get_monotonic_time ();
    else if (shut && g_get_monotonic_time () - last_progress > QUIET_US)
      break; /* e.g. an event stream: it stays open until the client goes */
    else {
      struct pollfd pfd = { sv[1], POLLIN, 0 };
      poll (&pfd, 1, 1);
    }
  }
  if (g_getenv ("TEND_FUZZ_VERBOSE") != NULL)
    fprintf (stderr, "---- %zu bytes in, %zu bytes out:\n%s\n", size, received->len, received->str);
  check_answers (received);
  close (sv[1]);

  /* libsoup parsed no request that the gate had not checked as a head */
  if (tend_http_server_get_n_unchecked_requests (h->server) != 0) {
    fprintf (stderr, "fuzz-http-request: libsoup read a body as a request\n");
    abort ();
  }

  /* the client is gone: the server must let go of the connection */
  deadline = g_get_monotonic_time () + RELEASE_WAIT_US;
  while (tend_http_server_get_n_connections (h->server) > 0) {
    if (g_get_monotonic_time () > deadline) {
      fprintf (stderr, "fuzz-http-request: a connection was kept after its client closed\n");
      abort ();
    }
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  }
  return 0;
}
