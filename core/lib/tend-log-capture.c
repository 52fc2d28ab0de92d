/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-log-capture.h"
#include "tend-log-path.h"
#include "tend-service.h"
#include "tend-context-private.h"

/* Reads start small (a quiet service costs little) and grow while they come back full. */
#define READ_SIZE_MIN (16 * 1024)
#define READ_SIZE_MAX (1024 * 1024)
/* A line longer than this is written in pieces rather than held forever; each piece but the last is marked. */
#define MAX_LINE (64 * 1024)
#define SPLIT_MARK " [...]"
/* A bigger pipe lets a fast writer run ahead while we write, fewer wake-ups per megabyte. */
#define PIPE_SIZE (1024 * 1024)

struct _TendLogCapture {
  GWeakRef instance;
  TendContext *context; /* outlives every capture: the daemon drains before exiting */
  TendLogFile *file;
  int stream;
  int fd;
  guint source;
  char *path;
  uid_t owner;
  char *date_format;
  char *buf;
  gsize read_size; /* buf holds MAX_LINE + read_size */
  gsize held;      /* bytes of an unfinished line at the start of buf */
  GString *stamped;
  time_t stamp_second;
  char stamp[128];
  gsize stamp_len;
};

/* Every capture reading now, for tend update (main thread only). */
static GPtrArray *live;

static void
emit_line (TendLogCapture *self, TendInstance *instance, const char *line, gsize length)
{
  if (instance != NULL)
    tend_context_emit_output (self->context, instance, self->stream, line, length);
}

static const char *
current_stamp (TendLogCapture *self)
{
  time_t now = time (NULL);
  struct tm tm;

  /* strftime has no unit below the second: one formatting per second is enough */
  if (now != self->stamp_second) {
    self->stamp_second = now;
    localtime_r (&now, &tm);
    /* the format is the operator's log-date-format, checked by the configuration reader */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    self->stamp_len = strftime (self->stamp, sizeof self->stamp - 3, self->date_format, &tm);
#pragma GCC diagnostic pop
    memcpy (self->stamp + self->stamp_len, ": ", 3);
    self->stamp_len += 2;
  }
  return self->stamp;
}

/* Writes complete lines (each ends with '\n'), adding timestamps and telling listeners. */
static void
write_lines (TendLogCapture *self, const char *data, gsize length)
{
  g_autoptr(TendInstance) instance = NULL;
  gboolean listeners = tend_context_has_output_listeners (self->context);
  const char *p = data;
  const char *end = data + length;

  if (listeners)
    instance = g_weak_ref_get (&self->instance);
  if (self->date_format == NULL && !listeners) {
    /* the fast path: one write for the whole chunk */
    tend_log_file_write (self->file, data, length);
    return;
  }
  g_string_truncate (self->stamped, 0);
  while (p < end) {
    const char *nl = memchr (p, '\n', (gsize) (end - p));
    gsize line_len = (gsize) (nl - p);

    emit_line (self, instance, p, line_len);
    if (self->date_format != NULL) {
      current_stamp (self);
      g_string_append_len (self->stamped, self->stamp, (gssize) self->stamp_len);
    }
    g_string_append_len (self->stamped, p, (gssize) line_len + 1);
    p = nl + 1;
  }
  tend_log_file_write (self->file, self->stamped->str, self->stamped->len);
}

/* A line that reached MAX_LINE without a newline: written as a marked piece so memory stays bounded. */
static void
write_piece (TendLogCapture *self, const char *data, gsize length, gboolean last)
{
  g_autoptr(GString) piece = g_string_new_len (data, (gssize) length);

  if (!last)
    g_string_append (piece, SPLIT_MARK);
  g_string_append_c (piece, '\n');
  write_lines (self, piece->str, piece->len);
}

/*
 * Writes @length bytes of complete lines, splitting any line longer than
 * MAX_LINE into marked pieces. A big read can hold a long line whole, so the
 * check is here and not only on what waits for its newline. One memrchr per
 * MAX_LINE window: short lines cost nothing more.
 */
static void
write_complete (TendLogCapture *self, const char *data, gsize length)
{
  gsize start = 0; /* what is not written yet */
  gsize pos = 0;   /* a line starts here */

  while (length - pos > MAX_LINE + 1) {
    /* a line of at most MAX_LINE bytes has its newline within the next MAX_LINE + 1 */
    const char *nl = memrchr (data + pos, '\n', MAX_LINE + 1);
    if (nl != NULL) {
      pos = (gsize) (nl - data) + 1;
      continue;
    }
    if (pos > start)
      write_lines (self, data + start, pos - start);
    write_piece (self, data + pos, MAX_LINE, FALSE);
    pos += MAX_LINE;
    start = pos;
  }
  write_lines (self, data + start, length - start);
}

static void
capture_free (TendLogCapture *self)
{
  g_ptr_array_remove_fast (live, self);
  g_free (self->path);
  g_weak_ref_clear (&self->instance);
  tend_context_release_log_file (self->context, self->file);
  g_object_unref (self->context);
  if (self->fd >= 0)
    close (self->fd);
  g_string_free (self->stamped, TRUE);
  g_free (self->date_format);
  g_free (self->buf);
  g_free (self);
}

static gboolean
readable_cb (int fd, GIOCondition condition, gpointer user_data)
{
  TendLogCapture *self = user_data;

  /* a bounded number of reads per wake-up, so one chatty service cannot starve the loop */
  for (int round = 0; round < 8; round++) {
    ssize_t n = read (self->fd, self->buf + self->held, self->read_size);
    const char *last_nl;
    gsize total, complete;

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return G_SOURCE_CONTINUE;
    if (n <= 0) {
      /* end of file: the last, unfinished line is kept, not lost */
      if (self->held > 0)
        write_piece (self, self->buf, self->held, TRUE);
      self->source = 0;
      capture_free (self);
      return G_SOURCE_REMOVE;
    }
    total = self->held + (gsize) n;
    last_nl = memrchr (self->buf, '\n', total);
    complete = last_nl != NULL ? (gsize) (last_nl - self->buf) + 1 : 0;
    if (complete > 0) {
      write_complete (self, self->buf, complete);
      memmove (self->buf, self->buf + complete, total - complete);
      total -= complete;
    }
    /* an unfinished line may fill the held room exactly: a newline next still makes it whole */
    while (total > MAX_LINE) {
      write_piece (self, self->buf, MAX_LINE, FALSE);
      memmove (self->buf, self->buf + MAX_LINE, total - MAX_LINE);
      total -= MAX_LINE;
    }
    self->held = total;
    if ((gsize) n == self->read_size && self->read_size < READ_SIZE_MAX) {
      /* a fast writer: fewer, bigger reads */
      self->read_size *= 4;
      self->buf = g_realloc (self->buf, MAX_LINE + self->read_size);
    }
  }
  return G_SOURCE_CONTINUE;
}

static TendLogCapture *
capture_new (TendContext *context, TendInstance *instance, int stream, int fd, const char *path, uid_t owner,
             const char *date_format)
{
  TendLogCapture *self = g_new0 (TendLogCapture, 1);

  g_weak_ref_init (&self->instance, instance);
  self->context = g_object_ref (context);
  self->path = g_strdup (path);
  self->owner = owner;
  self->file = tend_context_acquire_log_file (self->context, path, owner);
  self->stream = stream;
  self->fd = fd;
  self->date_format = g_strdup (date_format);
  self->stamp_second = (time_t) -1;
  self->stamped = g_string_new (NULL);
  /* room for a held partial line (< MAX_LINE) and a full read */
  self->read_size = READ_SIZE_MIN;
  self->buf = g_malloc (MAX_LINE + self->read_size);
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  if (live == NULL)
    live = g_ptr_array_new ();
  g_ptr_array_add (live, self);
  return self;
}

static void
capture_watch (TendLogCapture *self)
{
  self->source = g_unix_fd_add (self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, self);
}

TendLogCapture *
tend_log_capture_start (TendInstance *instance, int stream, int fd, const char *path)
{
  TendServiceConfig *config = tend_instance_get_config (instance);
  TendLogCapture *self = capture_new (tend_service_get_context (tend_instance_get_service (instance)), instance,
                                      stream, fd, path, tend_log_path_owner_for_user (config->user),
                                      config->log_date_format);

  fcntl (fd, F_SETPIPE_SZ, PIPE_SIZE);
  capture_watch (self);
  return self;
}

GVariant *
tend_log_capture_save_all (TendHandover *handover)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; live != NULL && i < live->len; i++) {
    TendLogCapture *self = g_ptr_array_index (live, i);
    g_autoptr(TendInstance) instance = g_weak_ref_get (&self->instance);
    g_autofree char *key = g_strdup_printf ("log-capture-%u", i);
    GVariantDict dict;

    /* no read after this: what is still in the pipe is the next tendd's to read, and the
     * unfinished line held here goes with it, so no line is split or written twice */
    g_clear_handle_id (&self->source, g_source_remove);
    tend_handover_add_fd (handover, key, self->fd);
    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, "fd-key", "s", key);
    g_variant_dict_insert (&dict, "stream", "i", (gint32) self->stream);
    g_variant_dict_insert (&dict, "path", "s", self->path);
    g_variant_dict_insert (&dict, "owner", "u", (guint32) self->owner);
    if (self->date_format != NULL)
      g_variant_dict_insert (&dict, "date-format", "s", self->date_format);
    if (instance != NULL)
      g_variant_dict_insert (&dict, "instance-id", "u", tend_instance_get_id (instance));
    g_variant_dict_insert_value (&dict, "held",
                                 g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, self->buf, self->held, 1));
    g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
  }
  return g_variant_builder_end (&builder);
}

void
tend_log_capture_resume_all (void)
{
  for (guint i = 0; live != NULL && i < live->len; i++) {
    TendLogCapture *self = g_ptr_array_index (live, i);
    if (self->source == 0)
      capture_watch (self);
  }
}

gboolean
tend_log_capture_adopt (TendContext *context, TendInstance *instance, GVariant *state, int fd)
{
  GVariantDict dict;
  const char *path = NULL, *date_format = NULL;
  gint32 stream = 1;
  guint32 owner = 0;
  g_autoptr(GVariant) held = NULL;
  TendLogCapture *self;
  gsize length = 0;
  const char *bytes;

  g_variant_dict_init (&dict, state);
  if (!g_variant_dict_lookup (&dict, "path", "&s", &path) || !g_variant_dict_lookup (&dict, "stream", "i", &stream) ||
      !g_variant_dict_lookup (&dict, "owner", "u", &owner)) {
    g_variant_dict_clear (&dict);
    return FALSE;
  }
  g_variant_dict_lookup (&dict, "date-format", "&s", &date_format);
  held = g_variant_dict_lookup_value (&dict, "held", G_VARIANT_TYPE_BYTESTRING);
  self = capture_new (context, instance, stream, fd, path, owner, date_format);
  if (held != NULL) {
    bytes = g_variant_get_fixed_array (held, &length, 1);
    /* the unfinished line goes back where it was: the next read completes it */
    length = MIN (length, (gsize) MAX_LINE);
    /* an empty held line comes back as NULL, which memcpy may not be given even for 0 bytes */
    if (length > 0)
      memcpy (self->buf, bytes, length);
    self->held = length;
  }
  g_variant_dict_clear (&dict);
  capture_watch (self);
  return TRUE;
}
