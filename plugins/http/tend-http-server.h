/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/**
 * TendHttpServer:
 * The connection side of the HTTP API: it owns the listening sockets, accepts
 * connections itself and gives each one to libsoup, which parses and writes
 * HTTP. What libsoup 3.2's SoupServer lacks is done here: a limit on
 * concurrent connections, a deadline for each request (slow or idle clients
 * are cut off), a body size limit, a request log, and streams (server-sent
 * events) that notice a client that went away and never queue without bound.
 *
 * libsoup reads each connection through a TendHttpGate, which hands it one
 * checked request head at a time: a head whose body length could be read two
 * ways (two Content-Length, Transfer-Encoding with Content-Length, a length
 * with a sign, ...) is answered 400 here and the connection closed, so the
 * rest of its body is never taken for a second request.
 *
 * Each connection gets its own SoupServer. libsoup 3.2.3 never releases a
 * keep-alive connection whose client closes it between two requests (the
 * socket stays in CLOSE-WAIT for the life of the server), and it only keeps a
 * connection alive when the SoupServer has a listener; disposing a
 * per-connection server is the one public way to drop one connection, and a
 * never-readable socket given as its listener keeps keep-alive working.
 */
#define TEND_TYPE_HTTP_SERVER (tend_http_server_get_type ())
G_DECLARE_FINAL_TYPE (TendHttpServer, tend_http_server, TEND, HTTP_SERVER, GObject)

/**
 * TendHttpHandler:
 * Called for a request: @early TRUE once its headers are read (set a status
 * to answer without reading the body further: 401, 413), then, when no status
 * was set, @early FALSE once the body is read. @remote: the client's address.
 */
typedef void (*TendHttpHandler) (TendHttpServer *server, SoupServerMessage *msg, const char *remote, gboolean early,
                                 gpointer user_data);

/** TendHttpStreamClosed: a stream ended (client gone, too slow, or server stopping) */
typedef void (*TendHttpStreamClosed) (SoupServerMessage *msg, gpointer user_data);

/**
 * tend_http_server_new:
 * @max_connections: connections beyond it are refused with 503
 * @request_timeout_ms: a connection gets this long for each complete request
 *   (headers and body), counted from its accept or the end of its previous
 *   answer, and as long again for the client to take the answer; then it is
 *   closed (streams excepted once begun)
 * @max_body: request bodies over it are flagged (tend_http_server_body_too_large)
 */
TendHttpServer *tend_http_server_new (guint max_connections, guint64 request_timeout_ms, gsize max_body,
                                      TendHttpHandler handler, gpointer user_data);
/** tend_http_host_is_loopback: whether every address @host stands for (as tend_http_server_listen takes it) is a loopback one */
gboolean tend_http_host_is_loopback (const char *host, gboolean *out_loopback, GError **error);
/**
 * tend_http_server_listen:
 * Binds HOST:PORT: an IP address, or "localhost" (127.0.0.1 and ::1 on one
 * port); never a name to look up. Port 0: a free port.
 */
gboolean tend_http_server_listen (TendHttpServer *self, const char *host, guint16 port, GError **error);
/** tend_http_server_adopt: listens on @fd, a socket listening already (tend update); takes @fd */
gboolean tend_http_server_adopt (TendHttpServer *self, int fd, GError **error);
/** tend_http_server_get_listen_fds: the listening sockets (int), in the order they were bound */
GArray *tend_http_server_get_listen_fds (TendHttpServer *self);
guint tend_http_server_get_listen_fds_count (TendHttpServer *self);
/** tend_http_server_pause: stops (or starts again) accepting; the sockets stay open, clients wait in their queues */
void tend_http_server_pause (TendHttpServer *self, gboolean paused);
/** tend_http_server_get_addresses: the bound addresses, "127.0.0.1:PORT" or "[::1]:PORT" */
GStrv tend_http_server_get_addresses (TendHttpServer *self);
/** tend_http_server_start: begin accepting */
void tend_http_server_start (TendHttpServer *self);
/**
 * tend_http_server_stop_async:
 * Closes the listening sockets at once (the port is free when it returns),
 * ends every stream, lets answers in progress finish (at most @grace_ms),
 * then closes every connection.
 */
void tend_http_server_stop_async (TendHttpServer *self, guint grace_ms, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean tend_http_server_stop_finish (TendHttpServer *self, GAsyncResult *result, GError **error);

/** tend_http_server_body_too_large: the request declared or sent a body over max_body */
gboolean tend_http_server_body_too_large (TendHttpServer *self, SoupServerMessage *msg);

/**
 * tend_http_server_begin_stream:
 * Turns @msg into a chunked stream that stays open: pauses it, stops the
 * body from accumulating, and watches the client. @closed is called once
 * when the stream ends for any reason; @msg is valid during the call.
 */
void tend_http_server_begin_stream (TendHttpServer *self, SoupServerMessage *msg, TendHttpStreamClosed closed,
                                    gpointer user_data);
/**
 * tend_http_server_stream_write:
 * Queues @data on a stream. A client that has let more than a bounded
 * amount pile up unread is cut off (its @closed runs); FALSE then.
 */
gboolean tend_http_server_stream_write (TendHttpServer *self, SoupServerMessage *msg, const char *data, gsize length);

/* Figures for the plugin's status. */
guint tend_http_server_get_n_connections (TendHttpServer *self);
guint64 tend_http_server_get_n_requests (TendHttpServer *self);
guint64 tend_http_server_get_n_refused (TendHttpServer *self);
guint64 tend_http_server_get_n_timed_out (TendHttpServer *self);
/** tend_http_server_get_n_bad_requests: request heads refused before libsoup saw them (ambiguous framing and the like) */
guint64 tend_http_server_get_n_bad_requests (TendHttpServer *self);
/**
 * tend_http_server_get_n_unchecked_requests: requests libsoup parsed from
 * bytes the gate had not checked as a head (0 unless the gate and libsoup
 * disagree on a body's framing; such requests are refused). For tests.
 */
guint64 tend_http_server_get_n_unchecked_requests (TendHttpServer *self);

/**
 * tend_http_server_serve_connection:
 * Serves a connection accepted elsewhere (a test's or a fuzzer's socket
 * pair) as if it came in on a listening socket. @remote: the address the
 * request log and the handler are told.
 */
void tend_http_server_serve_connection (TendHttpServer *self, GSocketConnection *connection, GSocketAddress *local,
                                        GInetSocketAddress *remote);

G_END_DECLS
