/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-http-gate.h"

/* what one read from the socket asks for while a head is gathered */
#define FILL_SIZE 16384

typedef enum {
  GATE_HEAD,         /* gathering, then handing over, a head */
  GATE_BODY_LENGTH,  /* handing over body_left more bytes */
  GATE_BODY_CHUNKED, /* everything passes; the connection closes after this request */
  GATE_REFUSED,      /* nothing more */
} GateState;

struct _TendHttpGate {
  GFilterInputStream parent_instance;

  GByteArray *buffer; /* read from the socket, not yet handed over; starts with a head */
  GateState state;
  gsize scanned;     /* where the search for the end of the head goes on */
  gsize head_left;   /* bytes of a checked head still to hand over */
  TendHttpHead head; /* the last head checked */
  guint64 n_heads;   /* heads handed over whole */
  guint64 body_left;
  gboolean eof;

  TendHttpGateRefused refused;
  gpointer user_data;
};

static void tend_http_gate_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendHttpGate, tend_http_gate, G_TYPE_FILTER_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, tend_http_gate_pollable_init))

static GInputStream *
base_stream (TendHttpGate *self)
{
  return g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (self));
}

static gssize
read_base (TendHttpGate *self, void *buffer, gsize count, gboolean blocking, GCancellable *cancellable, GError **error)
{
  gssize n = g_pollable_stream_read (base_stream (self), buffer, count, blocking, cancellable, error);

  if (n == 0)
    self->eof = TRUE;
  return n;
}

static gssize
take (TendHttpGate *self, void *buffer, gsize count)
{
  count = MIN (count, self->buffer->len);
  memcpy (buffer, self->buffer->data, count);
  g_byte_array_remove_range (self->buffer, 0, (guint) count);
  return (gssize) count;
}

/* A head has been handed over whole: what follows it. */
static void
head_done (TendHttpGate *self)
{
  self->n_heads++;
  self->scanned = 0;
  switch (self->head.body) {
  case TEND_HTTP_BODY_LENGTH:
    self->state = GATE_BODY_LENGTH;
    self->body_left = self->head.body_length;
    break;
  case TEND_HTTP_BODY_CHUNKED:
    self->state = GATE_BODY_CHUNKED;
    break;
  case TEND_HTTP_BODY_NONE:
  default:
    self->state = GATE_HEAD;
    break;
  }
}

static gssize
gate_read (TendHttpGate *self, void *buffer, gsize count, gboolean blocking, GCancellable *cancellable, GError **error)
{
  if (count == 0)
    return 0;
  for (;;) {
    switch (self->state) {
    case GATE_REFUSED:
      /* a never-ready source for libsoup; blocking, there is nothing to wait for */
      g_set_error_literal (error, G_IO_ERROR, blocking ? G_IO_ERROR_CONNECTION_CLOSED : G_IO_ERROR_WOULD_BLOCK,
                           "the request was refused");
      return -1;

    case GATE_BODY_CHUNKED:
      if (self->buffer->len > 0)
        return take (self, buffer, count);
      if (self->eof)
        return 0;
      return read_base (self, buffer, count, blocking, cancellable, error);

    case GATE_BODY_LENGTH: {
      gssize n;

      count = (gsize) MIN ((guint64) count, self->body_left);
      if (self->buffer->len > 0)
        n = take (self, buffer, count);
      else if (self->eof)
        return 0;
      else
        n = read_base (self, buffer, count, blocking, cancellable, error); /* never past the body */
      if (n > 0) {
        self->body_left -= (guint64) n;
        if (self->body_left == 0)
          self->state = GATE_HEAD;
      }
      return n;
    }

    case GATE_HEAD:
    default: {
      guint8 chunk[FILL_SIZE];
      gssize n;

      if (self->head_left > 0) {
        n = take (self, buffer, MIN (count, self->head_left));
        self->head_left -= (gsize) n;
        if (self->head_left == 0)
          head_done (self);
        return n;
      }
      switch (tend_http_head_scan ((const char *) self->buffer->data, self->buffer->len, &self->scanned, &self->head)) {
      case TEND_HTTP_HEAD_OK:
        self->head_left = self->head.length;
        continue;
      case TEND_HTTP_HEAD_REFUSED:
        self->state = GATE_REFUSED;
        g_byte_array_set_size (self->buffer, 0);
        if (self->refused != NULL)
          self->refused (self, &self->head, self->user_data);
        continue;
      case TEND_HTTP_HEAD_INCOMPLETE:
      default:
        break;
      }
      /* a head cut short by the end of the stream is dropped, as if never sent */
      if (self->eof)
        return 0;
      n = read_base (self, chunk, sizeof chunk, blocking, cancellable, error);
      if (n < 0)
        return -1;
      g_byte_array_append (self->buffer, chunk, (guint) n);
      continue;
    }
    }
  }
}

/* Readable without asking the socket: bytes (or the end) are here to hand over. */
static gboolean
ready_now (TendHttpGate *self)
{
  switch (self->state) {
  case GATE_REFUSED:
    return FALSE;
  case GATE_BODY_CHUNKED:
  case GATE_BODY_LENGTH:
    return self->buffer->len > 0 || self->eof;
  case GATE_HEAD:
  default: {
    TendHttpHead head;
    gsize scanned = self->scanned;

    return self->head_left > 0 || self->eof ||
           tend_http_head_scan ((const char *) self->buffer->data, self->buffer->len, &scanned, &head) !=
               TEND_HTTP_HEAD_INCOMPLETE;
  }
  }
}

static gssize
tend_http_gate_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  return gate_read (TEND_HTTP_GATE (stream), buffer, count, TRUE, cancellable, error);
}

/* GFilterInputStream would skip on the base stream, past the gate */
static gssize
tend_http_gate_skip (GInputStream *stream, gsize count, GCancellable *cancellable, GError **error)
{
  guint8 scratch[8192];

  return gate_read (TEND_HTTP_GATE (stream), scratch, MIN (count, sizeof scratch), TRUE, cancellable, error);
}

static gboolean
tend_http_gate_can_poll (GPollableInputStream *stream)
{
  GInputStream *base = base_stream (TEND_HTTP_GATE (stream));
  return G_IS_POLLABLE_INPUT_STREAM (base) && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (base));
}

static gboolean
tend_http_gate_is_readable (GPollableInputStream *stream)
{
  TendHttpGate *self = TEND_HTTP_GATE (stream);

  if (ready_now (self))
    return TRUE;
  return self->state != GATE_REFUSED &&
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (base_stream (self)));
}

static GSource *
tend_http_gate_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  TendHttpGate *self = TEND_HTTP_GATE (stream);
  g_autoptr (GSource) child = NULL;

  if (ready_now (self))
    child = g_timeout_source_new (0);
  else if (self->state != GATE_REFUSED)
    child = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (base_stream (self)), NULL);
  /* refused: a source that never fires; the connection is closed from outside */
  return g_pollable_source_new_full (stream, child, cancellable);
}

static gssize
tend_http_gate_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  return gate_read (TEND_HTTP_GATE (stream), buffer, count, FALSE, NULL, error);
}

static void
tend_http_gate_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = tend_http_gate_can_poll;
  iface->is_readable = tend_http_gate_is_readable;
  iface->create_source = tend_http_gate_create_source;
  iface->read_nonblocking = tend_http_gate_read_nonblocking;
}

static void
tend_http_gate_finalize (GObject *object)
{
  TendHttpGate *self = TEND_HTTP_GATE (object);

  g_byte_array_unref (self->buffer);
  G_OBJECT_CLASS (tend_http_gate_parent_class)->finalize (object);
}

static void
tend_http_gate_class_init (TendHttpGateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_http_gate_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = tend_http_gate_read;
  G_INPUT_STREAM_CLASS (klass)->skip = tend_http_gate_skip;
}

static void
tend_http_gate_init (TendHttpGate *self)
{
  self->buffer = g_byte_array_new ();
}

TendHttpGate *
tend_http_gate_new (GInputStream *base, TendHttpGateRefused refused, gpointer user_data)
{
  TendHttpGate *self;

  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (base), NULL);
  self = g_object_new (TEND_TYPE_HTTP_GATE, "base-stream", base, "close-base-stream", TRUE, NULL);
  self->refused = refused;
  self->user_data = user_data;
  return self;
}

void
tend_http_gate_forget (TendHttpGate *self)
{
  self->refused = NULL;
  self->user_data = NULL;
}

guint64
tend_http_gate_get_n_heads (TendHttpGate *self)
{
  return self->n_heads;
}

gboolean
tend_http_gate_in_body (TendHttpGate *self, gboolean *chunked)
{
  if (chunked != NULL)
    *chunked = self->state == GATE_BODY_CHUNKED;
  return self->state == GATE_BODY_CHUNKED || self->state == GATE_BODY_LENGTH;
}
