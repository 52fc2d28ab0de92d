/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <gio/gnetworking.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-http-gate.h"
#include "tend-http-server.h"

/* A stream whose client reads nothing is cut off past this much unread output. */
#define STREAM_MAX_PENDING (1024 * 1024)
#define LISTEN_BACKLOG 128

static const char refused_answer[] =
  "HTTP/1.1 503 Service Unavailable\r\n"
  "Content-Type: application/json\r\n"
  "Content-Length: 51\r\n"
  "Connection: close\r\n"
  "\r\n"
  "{\"status\":\"ERROR\",\"message\":\"Too many connections\"}";

typedef struct _Conn Conn;

struct _Conn {
  gint ref_count;
  TendHttpServer *self; /* unowned: every connection ends before the server is finalized */
  GSocketConnection *stream;
  TendHttpGate *gate; /* what libsoup reads: checked request heads */
  GIOStream *io;      /* the gate and the socket's output: what libsoup is given */
  SoupServer *server;
  char *remote;
  guint deadline;             /* no complete request in time: close */
  GSource *watch;             /* the client closing while idle or streaming */
  guint check;                /* an idle look at the connection's state */
  SoupServerMessage *current; /* the request being read or answered */
  gboolean busy;              /* the request is read; its answer is being made */
  gboolean doomed;            /* close at the next check */
  gboolean gone;
  /* a head the gate refused: answered by us, then the connection closes */
  guint refused_status;
  const char *refused_message;
  guint64 heads_parsed; /* the gate's head count when libsoup last parsed a request */
  /* a stream (server-sent events) */
  gboolean streaming;
  TendHttpStreamClosed stream_closed;
  gpointer stream_data;
  gint64 stream_pending;
};

/* What we keep on each request. */
typedef struct {
  Conn *conn; /* while it is the connection's current request */
  gint64 started;
  gsize body_bytes;
  gboolean too_large;
} MsgInfo;

struct _TendHttpServer {
  GObject parent_instance;

  guint max_connections;
  guint64 request_timeout_ms;
  gsize max_body;
  TendHttpHandler handler;
  gpointer user_data;

  GPtrArray *bound; /* GInetSocketAddress */
  GPtrArray *sockets; /* GSocket listening, by bound's order */
  GPtrArray *watches; /* GSource accepting on each socket, while accepting and not paused */
  gboolean accepting;
  GHashTable *conns; /* Conn → Conn, holding a reference */
  int dummy[2];      /* a connected, silent socket pair: the per-connection servers' "listener" */

  gboolean stopping;
  GTask *stop_task;
  guint stop_timer;

  guint64 n_requests;
  guint64 n_refused;
  guint64 n_timed_out;
  guint64 n_bad_requests;
  guint64 n_unchecked;
};

G_DEFINE_FINAL_TYPE (TendHttpServer, tend_http_server, G_TYPE_OBJECT)

static GQuark
msg_info_quark (void)
{
  return g_quark_from_static_string ("tend-http-msg-info");
}

static MsgInfo *
msg_info (SoupServerMessage *msg)
{
  return g_object_get_qdata (G_OBJECT (msg), msg_info_quark ());
}

static Conn *
conn_ref (Conn *conn)
{
  g_atomic_int_inc (&conn->ref_count);
  return conn;
}

static void
conn_unref (Conn *conn)
{
  if (!g_atomic_int_dec_and_test (&conn->ref_count))
    return;
  g_clear_object (&conn->io);
  g_clear_object (&conn->gate);
  g_clear_object (&conn->stream);
  g_free (conn->remote);
  g_free (conn);
}

static void conn_teardown (Conn *conn);
static void maybe_finish_stop (TendHttpServer *self);

/* ---- per-connection state ---- */

static void
conn_clear_watch (Conn *conn)
{
  if (conn->watch != NULL) {
    g_source_destroy (conn->watch);
    g_clear_pointer (&conn->watch, g_source_unref);
  }
}

static gboolean
deadline_cb (gpointer user_data)
{
  Conn *conn = user_data;

  conn->deadline = 0;
  conn->self->n_timed_out++;
  g_debug ("closing the connection from %s: request-timeout (%" G_GUINT64_FORMAT " ms) passed while %s",
           conn->remote, conn->self->request_timeout_ms, conn->busy ? "answering" : "waiting for a request");
  conn_teardown (conn);
  return G_SOURCE_REMOVE;
}

static void
conn_arm_deadline (Conn *conn)
{
  g_clear_handle_id (&conn->deadline, g_source_remove);
  if (conn->self->request_timeout_ms > 0)
    conn->deadline = g_timeout_add ((guint) MIN (conn->self->request_timeout_ms, G_MAXUINT), deadline_cb, conn);
}

/*
 * The socket is readable while no request is being read: either the next
 * request begins (libsoup reads it), or the client closed or reset the
 * connection, which libsoup 3.2.3 does not notice between requests. On a
 * stream nothing the client sends can be a request (the answer never ends):
 * it is read and dropped, so that its closing is still seen.
 */
static gboolean
watch_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Conn *conn = user_data;
  char scratch[4096];
  ssize_t n;

  if (conn->streaming) {
    for (guint i = 0; i < 16; i++) {
      n = recv (g_socket_get_fd (socket), scratch, sizeof scratch, MSG_DONTWAIT);
      if (n <= 0)
        break;
    }
  } else {
    n = recv (g_socket_get_fd (socket), scratch, 1, MSG_PEEK | MSG_DONTWAIT);
  }
  if ((n < 0 && (errno == EAGAIN || errno == EINTR)) || (n > 0 && conn->streaming))
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&conn->watch, g_source_unref);
  if (n <= 0) {
    g_debug ("the client at %s closed its connection", conn->remote);
    conn_teardown (conn);
  }
  /* n > 0: a request for libsoup */
  return G_SOURCE_REMOVE;
}

static void
conn_install_watch (Conn *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn->stream);

  if (conn->watch != NULL)
    return;
  conn->watch = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (conn->watch, G_SOURCE_FUNC (watch_cb), conn, NULL);
  g_source_attach (conn->watch, NULL);
}

static void
conn_end_stream (Conn *conn)
{
  TendHttpStreamClosed closed = conn->stream_closed;

  if (!conn->streaming)
    return;
  conn->streaming = FALSE;
  conn->stream_closed = NULL;
  if (closed != NULL && conn->current != NULL)
    closed (conn->current, conn->stream_data);
}

static const char *
reason_phrase (guint status)
{
  switch (status) {
  case 431:
    return "Request Header Fields Too Large";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Bad Request";
  }
}

/*
 * The answer to a head the gate refused, written by us: libsoup never saw
 * the head, and must not read a byte after it. Then our side of the stream
 * ends, and what the client sent after the head is read and dropped, so that
 * closing does not reset the connection before the client reads the answer.
 */
static void
conn_answer_refused (Conn *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn->stream);
  g_autofree char *body =
    g_strdup_printf ("{\"status\":\"ERROR\",\"message\":\"%s\"}", conn->refused_message);
  g_autofree char *answer =
    g_strdup_printf ("HTTP/1.1 %u %s\r\nServer: tend\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                     conn->refused_status, reason_phrase (conn->refused_status), strlen (body), body);
  char scratch[4096];

  conn->self->n_bad_requests++;
  g_debug ("refusing a request from %s: %u %s", conn->remote, conn->refused_status, conn->refused_message);
  /* best effort, never blocking: the socket buffer takes this easily */
  g_socket_send_with_blocking (socket, answer, strlen (answer), FALSE, NULL, NULL);
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  for (guint i = 0; i < 64; i++) {
    if (g_socket_receive_with_blocking (socket, scratch, sizeof scratch, FALSE, NULL, NULL) <= 0)
      break;
  }
}

static gboolean
check_cb (gpointer user_data)
{
  Conn *conn = user_data;

  conn->check = 0;
  if (conn->gone)
    return G_SOURCE_REMOVE;
  if (conn->refused_status != 0) {
    conn_answer_refused (conn);
    conn_teardown (conn);
    return G_SOURCE_REMOVE;
  }
  if (conn->doomed || g_io_stream_is_closed (conn->io) ||
      (conn->self->stopping && !conn->busy && !conn->streaming)) {
    conn_teardown (conn);
    return G_SOURCE_REMOVE;
  }
  if (conn->current == NULL || conn->streaming)
    conn_install_watch (conn);
  return G_SOURCE_REMOVE;
}

/* Looks at the connection from the main loop, outside any libsoup callback. */
static void
conn_schedule_check (Conn *conn)
{
  if (conn->check != 0 || conn->gone)
    return;
  conn->check = g_idle_add_full (G_PRIORITY_DEFAULT, check_cb, conn_ref (conn), (GDestroyNotify) conn_unref);
}

static void
conn_release_current (Conn *conn)
{
  MsgInfo *info;

  if (conn->current == NULL)
    return;
  g_signal_handlers_disconnect_by_data (conn->current, conn);
  info = msg_info (conn->current);
  if (info != NULL)
    info->conn = NULL;
  g_clear_object (&conn->current);
}

/* Never from inside a libsoup callback of this connection: only from our own sources. */
static void
conn_teardown (Conn *conn)
{
  TendHttpServer *self = conn->self;

  if (conn->gone)
    return;
  conn->gone = TRUE;
  g_clear_handle_id (&conn->deadline, g_source_remove);
  g_clear_handle_id (&conn->check, g_source_remove);
  conn_clear_watch (conn);
  conn_end_stream (conn);
  conn_release_current (conn);
  /* libsoup may hold the gate a little longer; it must not call back into a freed connection */
  tend_http_gate_forget (conn->gate);
  if (conn->server != NULL) {
    g_signal_handlers_disconnect_by_data (conn->server, conn);
    soup_server_disconnect (conn->server);
    g_clear_object (&conn->server);
  }
  if (!g_io_stream_is_closed (conn->io))
    g_io_stream_close (conn->io, NULL, NULL);
  if (!g_io_stream_is_closed (G_IO_STREAM (conn->stream)))
    g_io_stream_close (G_IO_STREAM (conn->stream), NULL, NULL);
  g_hash_table_remove (self->conns, conn);
  maybe_finish_stop (self);
}

/* ---- libsoup's signals ---- */

/*
 * What follows a body may be read as the next request only once the gate has
 * handed that body over whole. Not after a chunked body (the gate does not
 * parse chunks), nor after an answer given before the body was read: libsoup
 * never reads the body of a request it answered early with "Expect:
 * 100-continue", and would take it for the next request. @done: the answer
 * is out; anything of the body still unread then means close.
 */
static void
close_unless_framed (Conn *conn, SoupServerMessage *msg, gboolean done)
{
  gboolean chunked = FALSE;

  if (tend_http_gate_in_body (conn->gate, &chunked) && (chunked || done || soup_server_message_get_status (msg) != 0))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
}

/*
 * Every request libsoup parses must be a head the gate checked and handed
 * over. One that is not came from bytes the gate handed over as a body:
 * libsoup and the gate disagree on the framing, which is how requests are
 * smuggled. It is answered 400 and the connection closed, so the handler
 * (which runs once the body is read, and only without a status) never sees it.
 */
static gboolean
check_head_was_checked (Conn *conn, SoupServerMessage *msg)
{
  static const char body[] = "{\"status\":\"ERROR\",\"message\":\"Bad request: ambiguous framing\"}";
  guint64 heads = tend_http_gate_get_n_heads (conn->gate);

  if (heads > conn->heads_parsed) {
    conn->heads_parsed = heads;
    return TRUE;
  }
  conn->self->n_unchecked++;
  conn->self->n_bad_requests++;
  g_warning ("refusing a request from %s that did not come as a request head (a body read as a request)",
             conn->remote);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control", "no-store");
  soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body, sizeof body - 1);
  return FALSE;
}

/* Runs after libsoup's own got-headers handler (and so after the early handlers). */
static void
got_headers_cb (SoupServerMessage *msg, gpointer user_data)
{
  Conn *conn = user_data;
  MsgInfo *info = msg_info (msg);

  if (info != NULL)
    info->started = g_get_monotonic_time ();
  if (check_head_was_checked (conn, msg))
    close_unless_framed (conn, msg, FALSE);
}

static void
flag_too_large (SoupServerMessage *msg, MsgInfo *info)
{
  info->too_large = TRUE;
  /* keep reading (HTTP/1 has to), but keep nothing */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
}

static void
got_chunk_cb (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  Conn *conn = user_data;
  MsgInfo *info = msg_info (msg);

  if (info == NULL)
    return;
  info->body_bytes += g_bytes_get_size (chunk);
  if (!info->too_large && info->body_bytes > conn->self->max_body)
    flag_too_large (msg, info);
}

/* Runs after libsoup's own got-body handler, so after ours: the answer is made or the stream begun. */
static void
got_body_cb (SoupServerMessage *msg, gpointer user_data)
{
  Conn *conn = user_data;

  /* a stream stays open; an answer must be taken by the client in time, as the request was sent */
  if (conn->streaming)
    g_clear_handle_id (&conn->deadline, g_source_remove);
  else
    conn_arm_deadline (conn);
}

static void
msg_disconnected_cb (SoupServerMessage *msg, gpointer user_data)
{
  conn_schedule_check (user_data);
}

static void
wrote_body_data_cb (SoupServerMessage *msg, guint chunk_size, gpointer user_data)
{
  Conn *conn = user_data;

  conn->stream_pending = MAX (conn->stream_pending - (gint64) chunk_size, 0);
}

static void
request_started_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  Conn *conn = user_data;
  MsgInfo *info = g_new0 (MsgInfo, 1);

  info->conn = conn;
  info->started = g_get_monotonic_time ();
  g_object_set_qdata_full (G_OBJECT (msg), msg_info_quark (), info, g_free);
  conn_release_current (conn);
  conn->current = g_object_ref (msg);
  conn->busy = FALSE;
  /* libsoup reads from now on */
  conn_clear_watch (conn);
  g_signal_connect (msg, "got-headers", G_CALLBACK (got_headers_cb), conn);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk_cb), conn);
  g_signal_connect (msg, "got-body", G_CALLBACK (got_body_cb), conn);
  g_signal_connect (msg, "disconnected", G_CALLBACK (msg_disconnected_cb), conn);
}

static void
request_done (Conn *conn, SoupServerMessage *msg, gboolean aborted)
{
  MsgInfo *info = msg_info (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  gint64 started = info != NULL ? info->started : g_get_monotonic_time ();

  conn->self->n_requests++;
  /* libsoup decides on keep-alive from the answer's headers once this returns */
  close_unless_framed (conn, msg, TRUE);
  g_debug ("%s %s %u %.3f ms from %s%s", soup_server_message_get_method (msg), uri != NULL ? g_uri_get_path (uri) : "?",
           soup_server_message_get_status (msg), (double) (g_get_monotonic_time () - started) / 1000.0, conn->remote,
           aborted ? " (aborted)" : "");
  if (msg == conn->current) {
    conn_end_stream (conn);
    conn_release_current (conn);
  }
  conn->busy = FALSE;
  conn_arm_deadline (conn);
  conn_schedule_check (conn);
}

static void
request_finished_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  request_done (user_data, msg, FALSE);
}

static void
request_aborted_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  request_done (user_data, msg, TRUE);
}

static void
early_handler_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  Conn *conn = user_data;
  TendHttpServer *self = conn->self;
  MsgInfo *info = msg_info (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (info != NULL && soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > (goffset) self->max_body)
    flag_too_large (msg, info);
  self->handler (self, msg, conn->remote, TRUE, self->user_data);
  /* answered already: the body, if any, is read and dropped */
  if (soup_server_message_get_status (msg) != 0)
    soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
}

static void
handler_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  Conn *conn = user_data;
  TendHttpServer *self = conn->self;

  conn->busy = TRUE;
  self->handler (self, msg, conn->remote, FALSE, self->user_data);
  /* the handler may have stopped us (POST /api/reload reloading this plugin) */
  if (self->stopping && !conn->streaming)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
}

/* ---- accepting ---- */

static char *
format_address (GInetSocketAddress *address)
{
  g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (address));
  guint16 port = g_inet_socket_address_get_port (address);

  if (g_inet_socket_address_get_address (address) != NULL &&
      g_inet_address_get_family (g_inet_socket_address_get_address (address)) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static SoupServer *
new_connection_server (TendHttpServer *self, Conn *conn, GError **error)
{
  /* raw paths: each segment is decoded on its own later, so an encoded '/' stays inside its segment */
  g_autoptr(SoupServer) server = soup_server_new ("server-header", "tend", "raw-paths", TRUE, NULL);
  g_autoptr(GSocket) dummy = NULL;
  int fd = dup (self->dummy[0]);

  if (fd < 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "dup: %s", g_strerror (saved));
    return NULL;
  }
  dummy = g_socket_new_from_fd (fd, error);
  if (dummy == NULL) {
    close (fd);
    return NULL;
  }
  /* libsoup keeps a connection alive only when its server has a listener */
  if (!soup_server_listen_socket (server, dummy, 0, error))
    return NULL;
  soup_server_add_early_handler (server, NULL, early_handler_cb, conn, NULL);
  soup_server_add_handler (server, NULL, handler_cb, conn, NULL);
  g_signal_connect (server, "request-started", G_CALLBACK (request_started_cb), conn);
  g_signal_connect (server, "request-finished", G_CALLBACK (request_finished_cb), conn);
  g_signal_connect (server, "request-aborted", G_CALLBACK (request_aborted_cb), conn);
  return g_steal_pointer (&server);
}

static void
refuse (TendHttpServer *self, GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);

  self->n_refused++;
  /* best effort, never blocking: the socket buffer takes this easily */
  g_socket_send_with_blocking (socket, refused_answer, sizeof refused_answer - 1, FALSE, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static void
gate_refused_cb (TendHttpGate *gate, const TendHttpHead *head, gpointer user_data)
{
  Conn *conn = user_data;

  /* inside libsoup's read: answered from our own source */
  conn->refused_status = head->status;
  conn->refused_message = head->message;
  conn_schedule_check (conn);
}

static void
serve (TendHttpServer *self, GSocketConnection *connection, GSocketAddress *local, GInetSocketAddress *remote)
{
  g_autoptr(GError) error = NULL;
  Conn *conn;

  if (self->stopping || g_hash_table_size (self->conns) >= self->max_connections) {
    g_autofree char *who = format_address (remote);
    g_debug ("refusing a connection from %s: %u connections open (max-connections)", who,
             g_hash_table_size (self->conns));
    refuse (self, connection);
    return;
  }
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);

  conn = g_new0 (Conn, 1);
  conn->ref_count = 1;
  conn->self = self;
  conn->stream = g_object_ref (connection);
  conn->gate = tend_http_gate_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)), gate_refused_cb, conn);
  conn->io = g_simple_io_stream_new (G_INPUT_STREAM (conn->gate),
                                     g_io_stream_get_output_stream (G_IO_STREAM (connection)));
  conn->remote = format_address (remote);
  g_hash_table_add (self->conns, conn);
  /*
   * Armed first: libsoup reads a request that is already waiting at once,
   * inside soup_server_accept_iostream, and may begin an event stream
   * there, which must then stay exempt from the deadline.
   */
  conn_arm_deadline (conn);
  conn->server = new_connection_server (self, conn, &error);
  if (conn->server == NULL ||
      !soup_server_accept_iostream (conn->server, conn->io, local, G_SOCKET_ADDRESS (remote), &error)) {
    g_warning ("cannot serve the connection from %s: %s", conn->remote, error != NULL ? error->message : "?");
    conn_teardown (conn);
  }
}

static gboolean
incoming_cb (GSocketConnection *connection, gpointer user_data)
{
  TendHttpServer *self = user_data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);

  if (local == NULL || remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote)) {
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    return TRUE;
  }
  serve (self, connection, local, G_INET_SOCKET_ADDRESS (remote));
  return TRUE;
}

void
tend_http_server_serve_connection (TendHttpServer *self, GSocketConnection *connection, GSocketAddress *local,
                                   GInetSocketAddress *remote)
{
  g_return_if_fail (TEND_IS_HTTP_SERVER (self));
  g_return_if_fail (G_IS_SOCKET_CONNECTION (connection));
  g_return_if_fail (G_IS_INET_SOCKET_ADDRESS (remote));
  serve (self, connection, local, remote);
}

/* ---- listening ---- */

/*
 * Never a DNS look-up: it would block the main loop, and the configuration
 * reader accepts nothing else (an IP address, or localhost).
 */
static GList *
resolve (const char *host, GError **error)
{
  GInetAddress *literal = g_inet_address_new_from_string (host);

  if (literal != NULL)
    return g_list_prepend (NULL, literal);
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return g_list_append (g_list_prepend (NULL, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)),
                          g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6));
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP address or localhost");
  return NULL;
}

static GSocket *
bind_one (GInetAddress *address, guint16 port, GError **error)
{
  GSocketFamily family = g_inet_address_get_family (address);
  g_autoptr(GSocket) socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  g_autoptr(GSocketAddress) sa = NULL;

  if (socket == NULL)
    return NULL;
  /* [::]:PORT means IPv6 only; IPv4 is its own listen entry */
  if (family == G_SOCKET_FAMILY_IPV6 && !g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, TRUE, error))
    return NULL;
  sa = g_inet_socket_address_new (address, port);
  if (!g_socket_bind (socket, sa, TRUE, error))
    return NULL;
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

gboolean
tend_http_host_is_loopback (const char *host, gboolean *out_loopback, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  GList *addresses = resolve (host, &local_error);

  if (addresses == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot resolve %s: %s", host,
                 local_error != NULL ? local_error->message : "no address");
    return FALSE;
  }
  *out_loopback = TRUE;
  for (GList *l = addresses; l != NULL; l = l->next)
    *out_loopback = *out_loopback && g_inet_address_get_is_loopback (l->data);
  g_list_free_full (addresses, g_object_unref);
  return TRUE;
}

gboolean
tend_http_server_listen (TendHttpServer *self, const char *host, guint16 port, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  GList *addresses = resolve (host, &local_error);
  guint bound = 0;

  if (addresses == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot resolve %s: %s", host,
                 local_error != NULL ? local_error->message : "no address");
    return FALSE;
  }
  for (GList *l = addresses; l != NULL; l = l->next) {
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketAddress) local = NULL;
    g_autofree char *text = g_inet_address_to_string (l->data);

    g_clear_error (&local_error);
    socket = bind_one (l->data, port, &local_error);
    if (socket == NULL) {
      /* a host without IPv6 still serves "localhost" on 127.0.0.1 */
      if (bound > 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
        g_debug ("not listening on %s: %s", text, local_error->message);
        continue;
      }
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot listen on %s port %u: %s", text, port,
                   local_error->message);
      g_list_free_full (addresses, g_object_unref);
      return FALSE;
    }
    local = g_socket_get_local_address (socket, &local_error);
    if (local == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot listen on %s: %s", text, local_error->message);
      g_list_free_full (addresses, g_object_unref);
      return FALSE;
    }
    /* port 0 on a name: every address of it on the same free port */
    if (port == 0)
      port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    g_ptr_array_add (self->bound, g_steal_pointer (&local));
    /* accept_cb takes what is waiting and returns */
    g_socket_set_blocking (socket, FALSE);
    g_ptr_array_add (self->sockets, g_object_ref (socket));
    bound++;
  }
  g_list_free_full (addresses, g_object_unref);
  return TRUE;
}

gboolean
tend_http_server_adopt (TendHttpServer *self, int fd, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);
  g_autoptr(GSocketAddress) local = NULL;

  if (socket == NULL) {
    close (fd);
    return FALSE;
  }
  local = g_socket_get_local_address (socket, error);
  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local)) {
    if (local != NULL)
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP socket");
    return FALSE;
  }
  g_socket_set_blocking (socket, FALSE);
  g_ptr_array_add (self->bound, g_steal_pointer (&local));
  g_ptr_array_add (self->sockets, g_steal_pointer (&socket));
  return TRUE;
}

GArray *
tend_http_server_get_listen_fds (TendHttpServer *self)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < self->sockets->len; i++) {
    int fd = g_socket_get_fd (g_ptr_array_index (self->sockets, i));
    g_array_append_val (fds, fd);
  }
  return fds;
}

guint
tend_http_server_get_listen_fds_count (TendHttpServer *self)
{
  return self->sockets->len;
}

/*
 * Our own accept loop rather than GSocketService's: pausing it (tend update) must leave no
 * accept half-done. GSocketService cancels an accept that may have taken a connection
 * already, which is then closed with its request unread (a reset seen by the client).
 */
static gboolean
accept_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  TendHttpServer *self = user_data;

  for (int i = 0; i < 16; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) peer = g_socket_accept (socket, NULL, &error);
    g_autoptr(GSocketConnection) connection = NULL;

    if (peer == NULL) {
      /* out of descriptors and the like: the next wake-up tries again; the client waits in the queue */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_debug ("accept: %s", error->message);
      break;
    }
    connection = g_socket_connection_factory_create_connection (peer);
    incoming_cb (connection, self);
  }
  return G_SOURCE_CONTINUE;
}

static void
unwatch_all (TendHttpServer *self)
{
  for (guint i = 0; i < self->watches->len; i++)
    g_source_destroy (g_ptr_array_index (self->watches, i));
  g_ptr_array_set_size (self->watches, 0);
}

static void
watch_all (TendHttpServer *self)
{
  unwatch_all (self);
  for (guint i = 0; i < self->sockets->len; i++) {
    GSource *source = g_socket_create_source (g_ptr_array_index (self->sockets, i), G_IO_IN, NULL);
    g_source_set_callback (source, (GSourceFunc) (void (*) (void)) accept_cb, self, NULL);
    g_source_attach (source, NULL);
    g_ptr_array_add (self->watches, source);
  }
}

static void
close_sockets (TendHttpServer *self)
{
  unwatch_all (self);
  for (guint i = 0; i < self->sockets->len; i++)
    g_socket_close (g_ptr_array_index (self->sockets, i), NULL);
}

void
tend_http_server_pause (TendHttpServer *self, gboolean paused)
{
  if (self->stopping || !self->accepting)
    return;
  if (paused)
    unwatch_all (self);
  else
    watch_all (self);
}

GStrv
tend_http_server_get_addresses (TendHttpServer *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->bound->len; i++) {
    g_autofree char *text = format_address (g_ptr_array_index (self->bound, i));
    g_strv_builder_add (builder, text);
  }
  return g_strv_builder_end (builder);
}

void
tend_http_server_start (TendHttpServer *self)
{
  self->accepting = TRUE;
  watch_all (self);
}

/* ---- stopping ---- */

static void
maybe_finish_stop (TendHttpServer *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->stop_task == NULL || g_hash_table_size (self->conns) > 0)
    return;
  g_clear_handle_id (&self->stop_timer, g_source_remove);
  task = g_steal_pointer (&self->stop_task);
  g_task_return_boolean (task, TRUE);
}

/* The open connections, each with a reference: the table may change while we walk them. */
static GPtrArray *
list_conns (TendHttpServer *self)
{
  GPtrArray *conns = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_unref);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (conns, conn_ref (key));
  return conns;
}

static void
teardown_all (TendHttpServer *self)
{
  g_autoptr(GPtrArray) conns = list_conns (self);

  for (guint i = 0; i < conns->len; i++)
    conn_teardown (g_ptr_array_index (conns, i));
}

static gboolean
stop_timeout_cb (gpointer user_data)
{
  TendHttpServer *self = user_data;

  self->stop_timer = 0;
  if (g_hash_table_size (self->conns) > 0)
    g_debug ("closing %u connections still busy", g_hash_table_size (self->conns));
  teardown_all (self);
  maybe_finish_stop (self);
  return G_SOURCE_REMOVE;
}

void
tend_http_server_stop_async (TendHttpServer *self, guint grace_ms, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GPtrArray) conns = list_conns (self);
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_return_if_fail (self->stop_task == NULL);
  self->stop_task = task;
  self->stopping = TRUE;
  /* the port is free as soon as we return: a reloaded plugin binds it again at once */
  close_sockets (self);
  for (guint i = 0; i < conns->len; i++) {
    Conn *conn = g_ptr_array_index (conns, i);
    if (conn->streaming && conn->current != NULL) {
      SoupServerMessage *msg = conn->current;
      conn_end_stream (conn);
      /* end the chunked body properly; the request then finishes and the connection closes */
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
      soup_message_body_complete (soup_server_message_get_response_body (msg));
      soup_server_message_unpause (msg);
    }
    conn_schedule_check (conn);
  }
  self->stop_timer = g_timeout_add (MAX (grace_ms, 1), stop_timeout_cb, self);
  maybe_finish_stop (self);
}

gboolean
tend_http_server_stop_finish (TendHttpServer *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- requests and streams ---- */

gboolean
tend_http_server_body_too_large (TendHttpServer *self, SoupServerMessage *msg)
{
  MsgInfo *info = msg_info (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  return (info != NULL && info->too_large) || (body != NULL && (gsize) body->length > self->max_body);
}

void
tend_http_server_begin_stream (TendHttpServer *self, SoupServerMessage *msg, TendHttpStreamClosed closed,
                               gpointer user_data)
{
  MsgInfo *info = msg_info (msg);
  Conn *conn = info != NULL ? info->conn : NULL;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  g_return_if_fail (conn != NULL && conn->current == msg);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  /* sent chunks are dropped, not kept for the life of the stream */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  conn->streaming = TRUE;
  conn->stream_closed = closed;
  conn->stream_data = user_data;
  conn->stream_pending = 0;
  g_clear_handle_id (&conn->deadline, g_source_remove);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (wrote_body_data_cb), conn);
  soup_server_message_pause (msg);
  conn_schedule_check (conn);
}

gboolean
tend_http_server_stream_write (TendHttpServer *self, SoupServerMessage *msg, const char *data, gsize length)
{
  MsgInfo *info = msg_info (msg);
  Conn *conn = info != NULL ? info->conn : NULL;

  if (conn == NULL || !conn->streaming || conn->gone)
    return FALSE;
  if (conn->stream_pending + (gint64) length > STREAM_MAX_PENDING) {
    g_debug ("closing the stream to %s: %" G_GINT64_FORMAT " bytes unread", conn->remote, conn->stream_pending);
    conn_end_stream (conn);
    conn->doomed = TRUE;
    conn_schedule_check (conn);
    return FALSE;
  }
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY, data, length);
  conn->stream_pending += (gint64) length;
  soup_server_message_unpause (msg);
  return TRUE;
}

guint
tend_http_server_get_n_connections (TendHttpServer *self)
{
  return g_hash_table_size (self->conns);
}

guint64
tend_http_server_get_n_requests (TendHttpServer *self)
{
  return self->n_requests;
}

guint64
tend_http_server_get_n_refused (TendHttpServer *self)
{
  return self->n_refused;
}

guint64
tend_http_server_get_n_timed_out (TendHttpServer *self)
{
  return self->n_timed_out;
}

guint64
tend_http_server_get_n_bad_requests (TendHttpServer *self)
{
  return self->n_bad_requests;
}

guint64
tend_http_server_get_n_unchecked_requests (TendHttpServer *self)
{
  return self->n_unchecked;
}

/* ---- object ---- */

static void
tend_http_server_finalize (GObject *object)
{
  TendHttpServer *self = TEND_HTTP_SERVER (object);

  self->stopping = TRUE;
  g_clear_handle_id (&self->stop_timer, g_source_remove);
  close_sockets (self);
  teardown_all (self);
  g_hash_table_unref (self->conns);
  g_ptr_array_unref (self->bound);
  g_ptr_array_unref (self->sockets);
  g_ptr_array_unref (self->watches);
  if (self->dummy[0] >= 0)
    close (self->dummy[0]);
  if (self->dummy[1] >= 0)
    close (self->dummy[1]);
  G_OBJECT_CLASS (tend_http_server_parent_class)->finalize (object);
}

static void
tend_http_server_class_init (TendHttpServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_http_server_finalize;
}

static void
tend_http_server_init (TendHttpServer *self)
{
  self->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_unref, NULL);
  self->bound = g_ptr_array_new_with_free_func (g_object_unref);
  self->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  self->watches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  /* never written to, so never readable: a listener that accepts nothing */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->dummy) < 0) {
    g_warning ("socketpair: %s", g_strerror (errno));
    self->dummy[0] = self->dummy[1] = -1;
  }
}

TendHttpServer *
tend_http_server_new (guint max_connections, guint64 request_timeout_ms, gsize max_body, TendHttpHandler handler,
                      gpointer user_data)
{
  TendHttpServer *self = g_object_new (TEND_TYPE_HTTP_SERVER, NULL);

  self->max_connections = MAX (max_connections, 1);
  self->request_timeout_ms = request_timeout_ms;
  self->max_body = max_body;
  self->handler = handler;
  self->user_data = user_data;
  return self;
}
