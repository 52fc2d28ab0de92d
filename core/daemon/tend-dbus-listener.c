/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <unistd.h>

#include "tend-dbus-listener.h"

/* Accepts per wake-up, so a burst of clients does not hold the main loop. */
#define ACCEPT_BATCH 16
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
#define AUTH_TIMEOUT_S 10
#define MAX_AUTHENTICATING 32
#define AUTH_THREADS 4
#define LISTEN_BACKLOG 128
/* A failure to accept is logged at most this often: near the limit, accept() can flap. */
#define WARN_INTERVAL_US (60 * G_USEC_PER_SEC)

struct _TendDbusListener {
  GObject parent_instance;

  char *path;
  char *guid;
  GDBusAuthObserver *observer;
  TendDbusListenerFunc func;
  gpointer user_data;
  GMainContext *context;
  GSocket *socket;
  GSource *watch;       /* on the socket while accepting */
  GSource *retry;       /* while backing off */
  guint backoff_ms;
  gboolean failing;     /* the last accept() failed */
  gboolean warned;      /* ... and that burst of failures was logged */
  gint64 last_warning;
  guint failures;       /* since the last warning */
  GThreadPool *pool;
  GHashTable *pending;  /* Peer, being authenticated */
  gboolean stopped;
  gboolean paused; /* tend update: the exec is near, clients wait in the queue */
};

G_DEFINE_FINAL_TYPE (TendDbusListener, tend_dbus_listener, G_TYPE_OBJECT)

/* One accepted peer on its way to becoming a GDBusConnection. */
typedef struct {
  TendDbusListener *listener; /* ref */
  GSocketConnection *stream;
  int finished;       /* atomic: the handshake returned */
  GSource *timeout;
  GDBusConnection *connection; /* set by the authenticating thread */
  GError *error;
} Peer;

static void start_watch (TendDbusListener *self);

static void
peer_free (Peer *peer)
{
  if (peer->timeout != NULL) {
    g_source_destroy (peer->timeout);
    g_source_unref (peer->timeout);
  }
  g_clear_object (&peer->connection);
  g_clear_error (&peer->error);
  g_clear_object (&peer->stream);
  g_clear_object (&peer->listener);
  g_free (peer);
}

static GSource *
attach_timeout (TendDbusListener *self, guint ms, GSourceFunc func, gpointer data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, self->context);
  return source;
}

static gboolean
auth_done_cb (gpointer data)
{
  Peer *peer = data;
  TendDbusListener *self = peer->listener;

  g_hash_table_remove (self->pending, peer);
  if (peer->connection != NULL && !self->stopped) {
    self->func (peer->connection, self->user_data);
    g_dbus_connection_start_message_processing (peer->connection);
  } else if (peer->connection != NULL) {
    g_dbus_connection_close (peer->connection, NULL, NULL, NULL);
  } else {
    g_debug ("a peer of %s did not authenticate: %s", self->path, peer->error->message);
  }
  peer_free (peer);
  /* a place to authenticate is free again */
  start_watch (self);
  return G_SOURCE_REMOVE;
}

/* In a pool thread: the D-Bus handshake blocks, as in GDBusServer. Not with a GCancellable: a
 * blocking read with one needs a wakeup descriptor, and GLib aborts when it cannot make one, which
 * is exactly when we are out of descriptors. */
static void
auth_job (gpointer data, gpointer user_data)
{
  Peer *peer = data;
  TendDbusListener *self = peer->listener;

  peer->connection = g_dbus_connection_new_sync (G_IO_STREAM (peer->stream), self->guid,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                                                     G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                                                 self->observer, NULL, &peer->error);
  g_atomic_int_set (&peer->finished, 1);
  g_main_context_invoke (self->context, auth_done_cb, peer);
}

/* Ends the handshake of a peer that is too slow: its blocking read sees the end of the stream. */
static void
drop_peer (Peer *peer)
{
  if (!g_atomic_int_get (&peer->finished))
    g_socket_shutdown (g_socket_connection_get_socket (peer->stream), TRUE, TRUE, NULL);
}

static gboolean
auth_timeout_cb (gpointer data)
{
  /* counted from the accept, so a peer queued behind slow ones is not given more time */
  drop_peer (data);
  return G_SOURCE_REMOVE;
}

static void
authenticate (TendDbusListener *self, GSocket *socket)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->listener = g_object_ref (self);
  peer->stream = g_socket_connection_factory_create_connection (socket);
  peer->timeout = attach_timeout (self, AUTH_TIMEOUT_S * 1000, auth_timeout_cb, peer);
  g_hash_table_add (self->pending, peer);
  g_thread_pool_push (self->pool, peer, NULL);
}

static gboolean
retry_cb (gpointer data)
{
  TendDbusListener *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  start_watch (self);
  return G_SOURCE_REMOVE;
}

/* Out of descriptors (or memory), the listening socket stays readable: waiting is the only way
 * not to spin. The queue of the socket keeps the clients until then. */
static void
back_off (TendDbusListener *self, const GError *error)
{
  gint64 now = g_get_monotonic_time ();

  self->failures++;
  if (!self->failing) {
    self->failing = TRUE;
    self->backoff_ms = BACKOFF_MIN_MS;
    /* once per burst, and near the limit (where accept() can succeed and fail in turn) once a minute */
    self->warned = self->last_warning == 0 || now - self->last_warning >= WARN_INTERVAL_US;
    if (self->warned) {
      g_warning (_("cannot accept a connection on %s: %s; trying again in the background, with pauses (not "
                   "logged again for a minute)"),
                 self->path, error->message);
      self->last_warning = now;
      self->failures = 1;
    }
  } else {
    self->backoff_ms = MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
  }
  self->retry = attach_timeout (self, self->backoff_ms, retry_cb, self);
}

static void
accepted (TendDbusListener *self)
{
  if (!self->failing)
    return;
  self->failing = FALSE;
  if (self->warned)
    g_message (_("accepting connections on %s again, after %u failed attempts"), self->path, self->failures);
  self->warned = FALSE;
}

static gboolean
readable_cb (GSocket *socket, GIOCondition condition, gpointer data)
{
  TendDbusListener *self = data;

  for (int i = 0; i < ACCEPT_BATCH; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) peer = g_socket_accept (self->socket, NULL, &error);

    if (peer == NULL) {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      g_clear_pointer (&self->watch, g_source_unref);
      back_off (self, error);
      return G_SOURCE_REMOVE;
    }
    accepted (self);
    authenticate (self, peer);
    if (g_hash_table_size (self->pending) >= MAX_AUTHENTICATING) {
      /* the rest wait in the socket's queue until a place is free */
      g_clear_pointer (&self->watch, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  }
  return G_SOURCE_CONTINUE;
}

static void
start_watch (TendDbusListener *self)
{
  if (self->stopped || self->paused || self->watch != NULL || self->retry != NULL ||
      g_hash_table_size (self->pending) >= MAX_AUTHENTICATING)
    return;
  self->watch = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->watch, (GSourceFunc) (void (*) (void)) readable_cb, self, NULL);
  g_source_attach (self->watch, self->context);
}

TendDbusListener *
tend_dbus_listener_new (const char *path,
                        GDBusAuthObserver *observer,
                        TendDbusListenerFunc func,
                        gpointer user_data,
                        GError **error)
{
  g_autoptr(TendDbusListener) self = g_object_new (TEND_TYPE_DBUS_LISTENER, NULL);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  self->path = g_strdup (path);
  self->guid = g_dbus_generate_guid ();
  self->observer = observer != NULL ? g_object_ref (observer) : NULL;
  self->func = func;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  self->socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (self->socket == NULL)
    return NULL;
  g_socket_set_listen_backlog (self->socket, LISTEN_BACKLOG);
  if (!g_socket_bind (self->socket, address, FALSE, error) || !g_socket_listen (self->socket, error))
    return NULL;
  g_socket_set_blocking (self->socket, FALSE);
  self->pool = g_thread_pool_new (auth_job, NULL, AUTH_THREADS, FALSE, error);
  if (self->pool == NULL)
    return NULL;
  start_watch (self);
  return g_steal_pointer (&self);
}

TendDbusListener *
tend_dbus_listener_new_from_fd (int fd,
                                const char *path,
                                GDBusAuthObserver *observer,
                                TendDbusListenerFunc func,
                                gpointer user_data,
                                GError **error)
{
  g_autoptr(TendDbusListener) self = g_object_new (TEND_TYPE_DBUS_LISTENER, NULL);

  self->path = g_strdup (path);
  self->guid = g_dbus_generate_guid ();
  self->observer = observer != NULL ? g_object_ref (observer) : NULL;
  self->func = func;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  self->socket = g_socket_new_from_fd (fd, error);
  if (self->socket == NULL) {
    close (fd);
    return NULL;
  }
  g_socket_set_blocking (self->socket, FALSE);
  self->pool = g_thread_pool_new (auth_job, NULL, AUTH_THREADS, FALSE, error);
  if (self->pool == NULL)
    return NULL;
  start_watch (self);
  return g_steal_pointer (&self);
}

int
tend_dbus_listener_get_fd (TendDbusListener *self)
{
  return g_socket_get_fd (self->socket);
}

guint
tend_dbus_listener_get_n_pending (TendDbusListener *self)
{
  return g_hash_table_size (self->pending);
}

void
tend_dbus_listener_pause (TendDbusListener *self)
{
  self->paused = TRUE;
  if (self->watch != NULL) {
    g_source_destroy (self->watch);
    g_clear_pointer (&self->watch, g_source_unref);
  }
}

void
tend_dbus_listener_resume (TendDbusListener *self)
{
  self->paused = FALSE;
  start_watch (self);
}

void
tend_dbus_listener_stop (TendDbusListener *self)
{
  GHashTableIter iter;
  gpointer peer;

  if (self->stopped)
    return;
  self->stopped = TRUE;
  if (self->watch != NULL) {
    g_source_destroy (self->watch);
    g_clear_pointer (&self->watch, g_source_unref);
  }
  if (self->retry != NULL) {
    g_source_destroy (self->retry);
    g_clear_pointer (&self->retry, g_source_unref);
  }
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, &peer, NULL))
    drop_peer (peer);
  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  /* the queued peers still run (and fail at once, shut down); each holds a reference to us */
  if (self->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, FALSE);
}

static void
tend_dbus_listener_finalize (GObject *object)
{
  TendDbusListener *self = TEND_DBUS_LISTENER (object);

  tend_dbus_listener_stop (self);
  g_hash_table_unref (self->pending);
  g_clear_object (&self->socket);
  g_clear_object (&self->observer);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->guid);
  g_free (self->path);
  G_OBJECT_CLASS (tend_dbus_listener_parent_class)->finalize (object);
}

static void
tend_dbus_listener_class_init (TendDbusListenerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_dbus_listener_finalize;
}

static void
tend_dbus_listener_init (TendDbusListener *self)
{
  self->pending = g_hash_table_new (NULL, NULL);
}
