/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-log-file.h"

struct _TendLogFile {
  GObject parent_instance;

  char *path;
  int fd;
  gboolean is_stderr;
  guint64 size;
  guint64 dropped;
  guint64 dropped_at_failure;
  gboolean failing;
  gint64 opened_at;
  guint64 size_limit;
  gboolean limit_signaled;
};

enum {
  SIGNAL_SIZE_EXCEEDED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TendLogFile, tend_log_file, G_TYPE_OBJECT)

static void
tend_log_file_finalize (GObject *object)
{
  TendLogFile *self = TEND_LOG_FILE (object);

  if (self->fd >= 0 && !self->is_stderr)
    close (self->fd);
  g_free (self->path);
  G_OBJECT_CLASS (tend_log_file_parent_class)->finalize (object);
}

static void
tend_log_file_class_init (TendLogFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_log_file_finalize;
  signals[SIGNAL_SIZE_EXCEEDED] = g_signal_new ("size-exceeded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
tend_log_file_init (TendLogFile *self)
{
  self->fd = -1;
}

static int
open_append (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);

  if (fd < 0 && errno == ENOENT) {
    g_autofree char *dir = g_path_get_dirname (path);
    g_mkdir_with_parents (dir, 0750);
    fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  }
  return fd;
}

static gboolean
ensure_open (TendLogFile *self)
{
  struct stat st;

  if (self->fd >= 0)
    return TRUE;
  self->fd = open_append (self->path);
  if (self->fd < 0)
    return FALSE;
  self->size = fstat (self->fd, &st) == 0 ? (guint64) st.st_size : 0;
  self->opened_at = g_get_real_time ();
  return TRUE;
}

TendLogFile *
tend_log_file_new (const char *path)
{
  TendLogFile *self = g_object_new (TEND_TYPE_LOG_FILE, NULL);

  self->path = g_strdup (path);
  if (!ensure_open (self))
    g_warning ("cannot open log file %s: %s; retrying on the next line", path, g_strerror (errno));
  return self;
}

TendLogFile *
tend_log_file_new_for_stderr (const char *path)
{
  TendLogFile *self = g_object_new (TEND_TYPE_LOG_FILE, NULL);

  self->path = g_strdup (path);
  self->is_stderr = TRUE;
  self->fd = STDERR_FILENO;
  self->opened_at = g_get_real_time ();
  return self;
}

const char *
tend_log_file_get_path (TendLogFile *self)
{
  return self->path;
}

guint64
tend_log_file_get_size (TendLogFile *self)
{
  struct stat st;

  if (self->is_stderr)
    return fstat (STDERR_FILENO, &st) == 0 ? (guint64) st.st_size : 0;
  return self->size;
}

guint64
tend_log_file_get_dropped (TendLogFile *self)
{
  return self->dropped;
}

gint64
tend_log_file_get_opened_at (TendLogFile *self)
{
  return self->opened_at;
}

void
tend_log_file_set_size_limit (TendLogFile *self, guint64 limit)
{
  self->size_limit = limit;
  self->limit_signaled = FALSE;
}

static void
note_failure (TendLogFile *self, gsize lost, int error_code)
{
  if (!self->failing) {
    self->failing = TRUE;
    self->dropped_at_failure = self->dropped;
    g_warning ("cannot write to %s: %s; dropping output until it works again", self->path, g_strerror (error_code));
  }
  self->dropped += lost;
}

/*
 * A write failed after @written bytes of @data reached the file: cuts the
 * file back to the end of the last whole line among them, so the line the
 * disk had room for only in part does not stay, and the first line written
 * after recovery is not glued to it. Returns the bytes of @data kept.
 */
static gsize
drop_torn_line (TendLogFile *self, const char *data, gsize written)
{
  const char *nl = written > 0 ? memrchr (data, '\n', written) : NULL;
  gsize kept = nl != NULL ? (gsize) (nl - data) + 1 : 0;
  gsize torn = written - kept;
  struct stat st;

  if (torn == 0)
    return kept;
  /* O_APPEND and a single writer: the torn bytes are the last of the file; shrinking needs no room */
  if (fstat (self->fd, &st) == 0 && (guint64) st.st_size >= torn && ftruncate (self->fd, st.st_size - (off_t) torn) == 0) {
    self->size = (guint64) st.st_size - torn;
    return kept;
  }
  g_warning ("cannot cut the unfinished line off %s: %s", self->path, g_strerror (errno));
  return written;
}

static void
write_all (TendLogFile *self, const char *data, gsize length)
{
  gsize done = 0;

  if (!ensure_open (self)) {
    note_failure (self, length, errno);
    return;
  }
  while (done < length) {
    ssize_t n = write (self->fd, data + done, length - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      /* a full disk must not stall the service: whole lines are dropped and counted, and we go on */
      gsize kept = drop_torn_line (self, data, done);
      note_failure (self, length - kept, saved);
      return;
    }
    if (self->failing) {
      self->failing = FALSE;
      g_message ("writing to %s again; %" G_GUINT64_FORMAT " bytes were dropped", self->path,
                 self->dropped - self->dropped_at_failure);
    }
    done += (gsize) n;
    self->size += (guint64) n;
  }
}

void
tend_log_file_write (TendLogFile *self, const char *data, gsize length)
{
  while (length > 0) {
    gsize part = length;
    gboolean full = FALSE;

    /* Where the limit falls inside this write, cut at the last line that fits and signal there,
     * so a rotation in the size-exceeded handler keeps files at the limit even under a flood. */
    if (self->size_limit > 0 && !self->limit_signaled && self->size + length > self->size_limit) {
      gsize room = self->size_limit > self->size ? (gsize) (self->size_limit - self->size) : 0;
      const char *cut = room > 0 ? memrchr (data, '\n', MIN (room, length)) : NULL;

      full = TRUE;
      if (cut != NULL) {
        part = (gsize) (cut - data) + 1;
      } else if (self->size == 0) {
        /* an empty file and a line longer than the limit: that line alone */
        const char *nl = memchr (data, '\n', length);
        part = nl != NULL ? (gsize) (nl - data) + 1 : length;
      } else {
        part = 0; /* the next line does not fit: signal first */
      }
    }
    if (part > 0)
      write_all (self, data, part);
    data += part;
    length -= part;
    if (self->size_limit > 0 && !self->limit_signaled && (full || self->size >= self->size_limit)) {
      guint64 size_before = self->size;
      self->limit_signaled = TRUE;
      g_signal_emit (self, signals[SIGNAL_SIZE_EXCEEDED], 0);
      /* nobody rotated: write the rest here rather than loop */
      if (self->size == size_before && self->limit_signaled) {
        write_all (self, data, length);
        return;
      }
    }
  }
}

gboolean
tend_log_file_rotate (TendLogFile *self, const char *rotated_path, GError **error)
{
  int fd;

  if (g_file_test (rotated_path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s already exists", rotated_path);
    return FALSE;
  }
  if (rename (self->path, rotated_path) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot rename %s: %s", self->path, g_strerror (saved));
    return FALSE;
  }
  fd = open_append (self->path);
  if (fd < 0) {
    int saved = errno;
    /* the next write retries the open; nothing written so far is lost */
    if (!self->is_stderr && self->fd >= 0)
      close (self->fd);
    if (!self->is_stderr)
      self->fd = -1;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot reopen %s: %s", self->path, g_strerror (saved));
    return FALSE;
  }
  if (self->is_stderr) {
    /* tendd's own log: stdout and stderr follow the new file */
    dup2 (fd, STDOUT_FILENO);
    dup2 (fd, STDERR_FILENO);
    close (fd);
  } else {
    close (self->fd);
    self->fd = fd;
  }
  self->size = 0;
  self->opened_at = g_get_real_time ();
  self->limit_signaled = FALSE;
  return TRUE;
}

gboolean
tend_log_file_truncate (TendLogFile *self, GError **error)
{
  /* O_APPEND: the next write lands at the new end, so truncating under the writer is safe */
  if (!ensure_open (self) || ftruncate (self->fd, 0) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot empty %s: %s", self->path, g_strerror (saved));
    return FALSE;
  }
  self->size = 0;
  self->limit_signaled = FALSE;
  return TRUE;
}
