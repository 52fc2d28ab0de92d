/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixoutputstream.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-log-path.h"
#include "tend-logrotate-compress.h"
#include "tend-logrotate-policy.h"

#define CHUNK_SIZE (128 * 1024)

static gboolean
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

/* Copies @in_fd through a gzip compressor into @out; TRUE when every byte and the gzip trailer were written. */
static gboolean
write_gzip (int in_fd, GOutputStream *out, GFileInfo *info, GCancellable *cancellable, guint64 *out_read,
            GError **error)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr(GOutputStream) conv = NULL;
  g_autofree char *buffer = g_malloc (CHUNK_SIZE);
  guint64 total = 0;

  /* the name and mtime go into the gzip header, as gzip itself does; must be set before the first write */
  g_zlib_compressor_set_file_info (compressor, info);
  conv = g_converter_output_stream_new (out, G_CONVERTER (compressor));
  /* the caller decides whether the temp file is kept, so closing @conv must not close it */
  g_filter_output_stream_set_close_base_stream (G_FILTER_OUTPUT_STREAM (conv), FALSE);

  for (;;) {
    ssize_t n = read (in_fd, buffer, CHUNK_SIZE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return set_errno_error (error, errno, "cannot read", "the rotated file");
    if (n == 0)
      break;
    if (!g_output_stream_write_all (conv, buffer, (gsize) n, NULL, cancellable, error))
      return FALSE;
    total += (guint64) n;
  }
  /* closing the converter stream flushes the compressor, which writes the gzip trailer */
  if (!g_output_stream_close (conv, cancellable, error))
    return FALSE;
  *out_read = total;
  return TRUE;
}

/* mkstemp in @dir_fd: @template's trailing XXXXXX replaced until the name is free; O_EXCL never follows a link. */
static int
create_temp_at (int dir_fd, char *template, mode_t mode)
{
  static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  gsize len = strlen (template);

  if (len < 6 || strcmp (template + len - 6, "XXXXXX") != 0) {
    errno = EINVAL;
    return -1;
  }
  for (guint attempt = 0; attempt < 100; attempt++) {
    int fd;
    for (gsize i = len - 6; i < len; i++)
      template[i] = letters[g_random_int_range (0, (gint32) sizeof letters - 1)];
    fd = openat (dir_fd, template, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  errno = EEXIST;
  return -1;
}

gboolean
tend_logrotate_compress_file (const char *path,
                              uid_t owner,
                              GCancellable *cancellable,
                              guint64 *out_read,
                              guint64 *out_written,
                              GError **error)
{
  g_autofree char *gz_path = g_strconcat (path, ".gz", NULL);
  g_autofree char *temp_path = tend_logrotate_temp_template (gz_path);
  g_autofree char *temp_name = g_path_get_basename (temp_path);
  g_autofree char *gz_name = g_path_get_basename (gz_path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = NULL;
  g_autoptr(GFileInfo) info = g_file_info_new ();
  g_autoptr(GDateTime) mtime = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  guint64 read_bytes = 0;
  int dir_fd, in_fd, temp_fd;
  gboolean ok;

  /* everything relative to the folder, reached safely: a link put in place of the rotated file is not read */
  dir_fd = tend_log_path_open_dir (path, FALSE, &base, error);
  if (dir_fd < 0)
    return FALSE;
  in_fd = tend_log_path_openat (dir_fd, base, path, O_RDONLY, owner, error);
  if (in_fd < 0 || fstat (in_fd, &st) < 0) {
    if (in_fd >= 0) {
      set_errno_error (error, errno, "cannot stat", path);
      close (in_fd);
    }
    close (dir_fd);
    return FALSE;
  }
  g_file_info_set_name (info, base);
  mtime = g_date_time_new_from_unix_utc (st.st_mtime);
  g_file_info_set_modification_date_time (info, mtime);

  /*
   * Not g_file_replace(): when the destination does not exist yet it writes
   * straight to the final name, so a crash would leave a truncated .gz
   * there. A temp file of our own, renamed once complete, never does.
   */
  temp_fd = create_temp_at (dir_fd, temp_name, st.st_mode & 0666);
  if (temp_fd < 0) {
    int saved = errno;
    close (in_fd);
    close (dir_fd);
    return set_errno_error (error, saved, "cannot create", temp_path);
  }
  g_free (temp_path);
  temp_path = g_build_filename (dir, temp_name, NULL);
  out = g_unix_output_stream_new (temp_fd, FALSE);

  ok = write_gzip (in_fd, out, info, cancellable, &read_bytes, &local_error);
  close (in_fd);
  /* synced before the rename, or a power cut could leave an empty file under the final name */
  if (ok && fdatasync (temp_fd) < 0)
    ok = set_errno_error (&local_error, errno, "cannot sync", temp_path);
  if (ok && fstat (temp_fd, &st) < 0)
    ok = set_errno_error (&local_error, errno, "cannot stat", temp_path);
  g_output_stream_close (out, NULL, NULL);
  if (close (temp_fd) < 0 && ok)
    ok = set_errno_error (&local_error, errno, "cannot close", temp_path);
  if (ok && renameat (dir_fd, temp_name, dir_fd, gz_name) < 0)
    ok = set_errno_error (&local_error, errno, "cannot rename to", gz_path);
  if (!ok) {
    unlinkat (dir_fd, temp_name, 0);
    close (dir_fd);
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "cannot compress %s: ", path);
    return FALSE;
  }

  /* only now that the .gz is complete; a retain pass may have removed the original meanwhile */
  if (unlinkat (dir_fd, base, 0) < 0 && errno != ENOENT) {
    int saved = errno;
    close (dir_fd);
    return set_errno_error (error, saved, "compressed, but cannot delete", path);
  }
  close (dir_fd);
  if (out_read != NULL)
    *out_read = read_bytes;
  if (out_written != NULL)
    *out_written = (guint64) st.st_size;
  return TRUE;
}

typedef struct {
  char *path;
  uid_t owner;
  guint64 read;
  guint64 written;
} CompressData;

static void
compress_data_free (gpointer data)
{
  CompressData *cd = data;

  g_free (cd->path);
  g_free (cd);
}

static void
compress_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CompressData *cd = task_data;
  GError *error = NULL;

  if (tend_logrotate_compress_file (cd->path, cd->owner, cancellable, &cd->read, &cd->written, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tend_logrotate_compress_async (gpointer source_object,
                               const char *path,
                               uid_t owner,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (source_object, cancellable, callback, user_data);
  CompressData *cd = g_new0 (CompressData, 1);

  cd->path = g_strdup (path);
  cd->owner = owner;
  g_task_set_source_tag (task, tend_logrotate_compress_async);
  g_task_set_task_data (task, cd, compress_data_free);
  /* a cancelled compression still runs its cleanup (the temp file), so the result is not cut short */
  g_task_set_return_on_cancel (task, FALSE);
  /* and what it did is what is reported, even when cancelled too late to stop it */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, compress_thread);
}

gboolean
tend_logrotate_compress_finish (GAsyncResult *result, guint64 *out_read, guint64 *out_written, GError **error)
{
  GTask *task = G_TASK (result);
  CompressData *cd = g_task_get_task_data (task);

  g_return_val_if_fail (g_task_get_source_tag (task) == tend_logrotate_compress_async, FALSE);
  if (!g_task_propagate_boolean (task, error))
    return FALSE;
  if (out_read != NULL)
    *out_read = cd->read;
  if (out_written != NULL)
    *out_written = cd->written;
  return TRUE;
}
