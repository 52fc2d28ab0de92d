/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-log-capture.h"
#include "tend-service.h"

#define READ_SIZE (64 * 1024)
/* a line longer than this is written in pieces rather than held forever */
#define MAX_HELD (64 * 1024)

struct _TendLogCapture {
  GWeakRef instance;
  TendContext *context; /* outlives every capture: the daemon drains before exiting */
  int stream;
  int fd;
  int out_fd;
  char *path;
  char *buf;
  gsize held; /* bytes of an unfinished line at the start of buf */
  gboolean write_failed;
  guint64 dropped;
};

static void
open_output (TendLogCapture *self)
{
  self->out_fd = open (self->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  if (self->out_fd < 0 && errno == ENOENT) {
    g_autofree char *dir = g_path_get_dirname (self->path);
    g_mkdir_with_parents (dir, 0750);
    self->out_fd = open (self->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  }
  if (self->out_fd < 0)
    g_warning ("cannot open log file %s: %s; output is discarded", self->path, g_strerror (errno));
}

static void
write_out (TendLogCapture *self, const char *data, gsize len)
{
  while (len > 0 && self->out_fd >= 0) {
    ssize_t n = write (self->out_fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      /* keep supervising and draining the pipe: a full disk must not stall the service */
      if (!self->write_failed)
        g_warning ("cannot write to %s: %s; dropping output until it works again", self->path, g_strerror (errno));
      self->write_failed = TRUE;
      self->dropped += len;
      return;
    }
    if (self->write_failed) {
      g_message ("writing to %s again (%" G_GUINT64_FORMAT " bytes were dropped)", self->path, self->dropped);
      self->write_failed = FALSE;
    }
    data += n;
    len -= (gsize) n;
  }
}

static void
emit_lines (TendLogCapture *self, char *data, gsize len)
{
  g_autoptr(TendInstance) instance = g_weak_ref_get (&self->instance);
  char *p = data;
  char *end = data + len;

  if (instance == NULL || !tend_context_has_output_listeners (self->context))
    return;
  while (p < end) {
    char *nl = memchr (p, '\n', (gsize) (end - p));
    gsize line_len = nl ? (gsize) (nl - p) : (gsize) (end - p);
    tend_context_emit_output (self->context, instance, self->stream, p, line_len);
    p += line_len + 1;
  }
}

static void
capture_free (TendLogCapture *self)
{
  g_weak_ref_clear (&self->instance);
  if (self->out_fd >= 0)
    close (self->out_fd);
  if (self->fd >= 0)
    close (self->fd);
  g_free (self->path);
  g_free (self->buf);
  g_free (self);
}

static gboolean
readable_cb (int fd, GIOCondition condition, gpointer user_data)
{
  TendLogCapture *self = user_data;
  /* a bounded number of reads per wake-up, so one chatty service cannot starve the loop */
  for (int round = 0; round < 16; round++) {
    ssize_t n = read (self->fd, self->buf + self->held, READ_SIZE);
    char *last_nl;
    gsize total, complete;

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return G_SOURCE_CONTINUE;
    if (n <= 0) {
      /* end of file: the last, unfinished line is kept, not lost */
      if (self->held > 0) {
        self->buf[self->held] = '\n';
        emit_lines (self, self->buf, self->held);
        write_out (self, self->buf, self->held + 1);
      }
      capture_free (self);
      return G_SOURCE_REMOVE;
    }
    total = self->held + (gsize) n;
    last_nl = memrchr (self->buf, '\n', total);
    complete = last_nl ? (gsize) (last_nl - self->buf) + 1 : 0;
    if (complete == 0 && total >= MAX_HELD)
      complete = total;
    if (complete > 0) {
      emit_lines (self, self->buf, complete);
      write_out (self, self->buf, complete);
      memmove (self->buf, self->buf + complete, total - complete);
    }
    self->held = total - complete;
  }
  return G_SOURCE_CONTINUE;
}

TendLogCapture *
tend_log_capture_start (TendInstance *instance, int stream, int fd, const char *path)
{
  TendLogCapture *self = g_new0 (TendLogCapture, 1);

  g_weak_ref_init (&self->instance, instance);
  self->context = tend_service_get_context (tend_instance_get_service (instance));
  self->stream = stream;
  self->fd = fd;
  self->path = g_strdup (path);
  /* room for a held partial line (< MAX_HELD), a full read and the newline added at end of file */
  self->buf = g_malloc (MAX_HELD + READ_SIZE + 1);
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  open_output (self);
  g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, self);
  return self;
}
