/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * tend_logrotate_compress_file:
 * Gzips @path into @path.gz and then deletes @path. The gzip data is written
 * to a temp file next to it (see tend_logrotate_temp_template()), synced and
 * renamed, so a crash at any point leaves either no @path.gz or a complete
 * one, and @path is deleted only once @path.gz is complete. @out_read and
 * @out_written (nullable) get the sizes before and after.
 *
 * Every file is opened, made, renamed and deleted relative to the folder
 * reached by tend_log_path_open_dir(); @path must pass tend_log_path_check()
 * for @owner (a link or a root file with another name put in its place is
 * refused, TEND_ERROR_PERMISSION_DENIED).
 */
gboolean tend_logrotate_compress_file (const char *path,
                                       uid_t owner,
                                       GCancellable *cancellable,
                                       guint64 *out_read,
                                       guint64 *out_written,
                                       GError **error);

/** tend_logrotate_compress_async: tend_logrotate_compress_file() in a worker thread */
void tend_logrotate_compress_async (gpointer source_object,
                                    const char *path,
                                    uid_t owner,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean tend_logrotate_compress_finish (GAsyncResult *result, guint64 *out_read, guint64 *out_written, GError **error);

G_END_DECLS
