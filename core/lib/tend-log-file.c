/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-log-file.h"
#include "tend-log-path.h"

/* A log file that cannot be opened (refused, or a folder that cannot be made) is tried again after this long,
 * not on every line: each try walks the path, and the warning is not repeated anyway. */
#define REOPEN_AFTER_US (1 * G_USEC_PER_SEC)

struct _TendLogFile {
  GObject parent_instance;

  char *path;
  uid_t owner; /* the service's user: the file may belong to it */
  int fd;
  gboolean is_stderr;
  guint64 size;
  guint64 dropped;
  guint64 dropped_at_failure;
  char *problem;    /* why output is dropped now (refused, cannot open, cannot write), NULL when it is not */
  gint64 reopen_at; /* monotonic µs: no new open before it */
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
  g_free (self->problem);
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

/* Output is being dropped: said once per reason, and shown by tend describe. */
static void
start_dropping (TendLogFile *self, const char *problem)
{
  if (g_strcmp0 (self->problem, problem) == 0)
    return;
  if (self->problem == NULL)
    self->dropped_at_failure = self->dropped;
  g_free (self->problem);
  self->problem = g_strdup (problem);
  g_warning (_("%s; dropping output until it works again"), problem);
}

static void
stop_dropping (TendLogFile *self)
{
  if (self->problem == NULL)
    return;
  g_message (_("writing to %s again; %" G_GUINT64_FORMAT " bytes were dropped"), self->path,
             self->dropped - self->dropped_at_failure);
  g_clear_pointer (&self->problem, g_free);
}

static void
close_file (TendLogFile *self)
{
  if (self->fd >= 0 && !self->is_stderr)
    close (self->fd);
  if (!self->is_stderr)
    self->fd = -1;
  self->size = 0;
}

static void
adopt_fd (TendLogFile *self, int fd)
{
  struct stat st;

  self->fd = fd;
  self->size = fstat (fd, &st) == 0 ? (guint64) st.st_size : 0;
  self->opened_at = g_get_real_time ();
}

/* Opens the file when it is not; on failure the reason is the problem and the next try waits a little. */
static gboolean
ensure_open (TendLogFile *self, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  int fd;

  if (self->fd >= 0)
    return TRUE;
  if (g_get_monotonic_time () < self->reopen_at) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s",
                 self->problem != NULL ? self->problem : "the log file is not open");
    return FALSE;
  }
  fd = tend_log_path_open (self->path, O_WRONLY | O_CREAT | O_APPEND, self->owner, &local_error);
  if (fd < 0) {
    self->reopen_at = g_get_monotonic_time () + REOPEN_AFTER_US;
    start_dropping (self, local_error->message);
    g_propagate_error (error, g_steal_pointer (&local_error));
    return FALSE;
  }
  adopt_fd (self, fd);
  return TRUE;
}

TendLogFile *
tend_log_file_new (const char *path, uid_t owner)
{
  TendLogFile *self = g_object_new (TEND_TYPE_LOG_FILE, NULL);

  self->path = g_strdup (path);
  self->owner = owner;
  ensure_open (self, NULL);
  return self;
}

TendLogFile *
tend_log_file_new_for_stderr (const char *path)
{
  TendLogFile *self = g_object_new (TEND_TYPE_LOG_FILE, NULL);

  self->path = g_strdup (path);
  self->owner = geteuid ();
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

uid_t
tend_log_file_get_owner (TendLogFile *self)
{
  return self->owner;
}

const char *
tend_log_file_get_problem (TendLogFile *self)
{
  return self->problem;
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
  if (fstat (self->fd, &st) == 0 && (guint64) st.st_size >= torn &&
      ftruncate (self->fd, st.st_size - (off_t) torn) == 0) {
    self->size = (guint64) st.st_size - torn;
    return kept;
  }
  g_warning (_("cannot cut the unfinished line off %s: %s"), self->path, g_strerror (errno));
  return written;
}

static void
write_all (TendLogFile *self, const char *data, gsize length)
{
  g_autoptr(GError) error = NULL;
  gsize done = 0;

  if (!ensure_open (self, &error)) {
    self->dropped += length;
    return;
  }
  while (done < length) {
    ssize_t n = write (self->fd, data + done, length - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      g_autofree char *problem = g_strdup_printf ("cannot write to %s: %s", self->path, g_strerror (saved));
      /* a full disk must not stall the service: whole lines are dropped and counted, and we go on */
      gsize kept = drop_torn_line (self, data, done);
      self->dropped += length - kept;
      start_dropping (self, problem);
      return;
    }
    done += (gsize) n;
    self->size += (guint64) n;
  }
  stop_dropping (self);
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

/* Whether @name in @dir_fd is still the file we write (not removed, renamed or replaced by someone else). */
static gboolean
is_our_file (TendLogFile *self, int dir_fd, const char *name)
{
  struct stat ours, there;

  return self->fd >= 0 && fstat (self->fd, &ours) == 0 && fstatat (dir_fd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
         ours.st_dev == there.st_dev && ours.st_ino == there.st_ino;
}

static gboolean
rename_no_replace (int dir_fd, const char *from, const char *to)
{
  struct stat st;

  if (renameat2 (dir_fd, from, dir_fd, to, RENAME_NOREPLACE) == 0)
    return TRUE;
  if (errno != EINVAL && errno != ENOSYS)
    return FALSE;
  /* a file system without RENAME_NOREPLACE: check, then rename (we are the only one making rotated names) */
  if (fstatat (dir_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    errno = EEXIST;
    return FALSE;
  }
  return renameat (dir_fd, from, dir_fd, to) == 0;
}

/* Moves the new file's descriptor in place of the old one. */
static void
switch_to (TendLogFile *self, int fd)
{
  if (self->is_stderr) {
    /* tendd's own log: stdout and stderr follow the new file */
    dup2 (fd, STDOUT_FILENO);
    dup2 (fd, STDERR_FILENO);
    close (fd);
    fd = STDERR_FILENO;
  } else if (self->fd >= 0) {
    close (self->fd);
  }
  adopt_fd (self, fd);
  self->limit_signaled = FALSE;
}

gboolean
tend_log_file_rotate (TendLogFile *self, const char *rotated_path, GError **error)
{
  g_autofree char *name = NULL;
  g_autofree char *rotated_name = g_path_get_basename (rotated_path);
  g_autofree char *rotated_dir = g_path_get_dirname (rotated_path);
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autoptr(GError) local_error = NULL;
  int dir_fd, fd;

  if (!g_str_equal (rotated_dir, dir)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s is not in the folder of %s", rotated_path, self->path);
    return FALSE;
  }
  dir_fd = tend_log_path_open_dir (self->path, FALSE, &name, error);
  if (dir_fd < 0)
    return FALSE;
  /*
   * Only the file we write is renamed: should someone have put anything else
   * in its place (a link to a root file, say), it stays where it is, and the
   * reopen below refuses it.
   */
  if (!is_our_file (self, dir_fd, name)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s is no longer the file tendd writes; not renamed",
                 self->path);
    fd = tend_log_path_openat (dir_fd, name, self->path, O_WRONLY | O_CREAT | O_APPEND, self->owner, &local_error);
    close (dir_fd);
    if (fd >= 0) {
      switch_to (self, fd);
    } else {
      close_file (self);
      self->reopen_at = g_get_monotonic_time () + REOPEN_AFTER_US;
      start_dropping (self, local_error->message);
    }
    return FALSE;
  }
  if (!rename_no_replace (dir_fd, name, rotated_name)) {
    int saved = errno;
    close (dir_fd);
    if (saved == EEXIST)
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s already exists", rotated_path);
    else
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot rename %s: %s", self->path, g_strerror (saved));
    return FALSE;
  }
  fd = tend_log_path_openat (dir_fd, name, self->path, O_WRONLY | O_CREAT | O_APPEND, self->owner, &local_error);
  close (dir_fd);
  if (fd < 0) {
    /*
     * Rotated all the same: everything written so far is in the rotated
     * file. The new one is the writer's problem now: output is dropped and
     * the open tried again at a later line.
     */
    close_file (self);
    self->opened_at = g_get_real_time ();
    self->limit_signaled = FALSE;
    self->reopen_at = g_get_monotonic_time () + REOPEN_AFTER_US;
    start_dropping (self, local_error->message);
    return TRUE;
  }
  switch_to (self, fd);
  return TRUE;
}

gboolean
tend_log_file_truncate (TendLogFile *self, GError **error)
{
  g_autofree char *name = NULL;
  g_autoptr(GError) local_error = NULL;
  int dir_fd;

  /*
   * Flush empties the file at the path. If what is there is no longer the
   * file we write, it is opened anew (and refused if it is a link or another
   * file), never truncated by name: truncate(path) would follow a link.
   */
  dir_fd = tend_log_path_open_dir (self->path, FALSE, &name, &local_error);
  if (dir_fd >= 0) {
    if (!is_our_file (self, dir_fd, name))
      close_file (self);
    close (dir_fd);
    /* an explicit request: no waiting for the next try */
    if (self->fd < 0)
      self->reopen_at = 0;
    if (ensure_open (self, &local_error) && ftruncate (self->fd, 0) < 0) {
      int saved = errno;
      g_set_error (&local_error, TEND_ERROR, TEND_ERROR_FAILED, "%s", g_strerror (saved));
    }
  }
  if (local_error != NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot empty %s: %s", self->path, local_error->message);
    return FALSE;
  }
  /* O_APPEND: the next write lands at the new end, so truncating under the writer is safe */
  self->size = 0;
  self->limit_signaled = FALSE;
  return TRUE;
}
