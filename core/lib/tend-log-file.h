/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * TendLogFile:
 * One log file that tendd writes: a service's out or error log (shared by
 * the instances of a service with merge-logs=true) or tendd's own log. It is
 * the only writer of its file and writes whole lines only, so between two
 * writes the file always ends at a line boundary: rotating it is a rename and
 * a reopen, and no line is ever lost or split.
 *
 * Writes never block supervision: on an error (a full disk) the bytes are
 * counted as dropped, a warning is logged once, and writing resumes by itself
 * when it works again. Only whole lines are dropped: a line the disk had room
 * for only in part is cut off the file again.
 *
 * The file is opened, renamed and emptied through tend-log-path.h, so a
 * symbolic link, a FIFO, a device or someone else's file put in its place
 * is refused (the output is then dropped, and the reason is the problem).
 *
 * Signals:
 * - size-exceeded (): the file reached the size limit (the next line would
 *   pass it); emitted once, armed again by tend_log_file_rotate() or
 *   tend_log_file_truncate(). It is emitted between two whole lines, so a
 *   handler may rotate at once, and rotated files stay within the limit.
 */
#define TEND_TYPE_LOG_FILE (tend_log_file_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendLogFile, tend_log_file, TEND, LOG_FILE, GObject)

/**
 * tend_log_file_new:
 * Opens (creating folders as needed) @path for appending, for a service
 * running as @owner (see tend_log_path_check()). A file that cannot be
 * opened or is refused is tried again at a later write (at most once a
 * second).
 */
TEND_API TendLogFile *tend_log_file_new (const char *path, uid_t owner);
/**
 * tend_log_file_new_for_stderr:
 * tendd's own log: @path is where stderr (and stdout) already point; a
 * rotation reopens @path and moves both descriptors onto it. Writes go
 * through the GLib log writer, not through this object.
 */
TEND_API TendLogFile *tend_log_file_new_for_stderr (const char *path);

TEND_API const char *tend_log_file_get_path (TendLogFile *self);
/** tend_log_file_get_size: bytes in the current file (as written, or by fstat for tendd's log) */
TEND_API guint64 tend_log_file_get_size (TendLogFile *self);
/** tend_log_file_get_dropped: bytes that could not be written since the daemon started */
TEND_API guint64 tend_log_file_get_dropped (TendLogFile *self);
/** tend_log_file_get_owner: the uid of the service the file is written for */
TEND_API uid_t tend_log_file_get_owner (TendLogFile *self);
/** tend_log_file_get_problem: why output is being dropped right now (refused, cannot open or write), or NULL */
TEND_API const char *tend_log_file_get_problem (TendLogFile *self);
/** tend_log_file_get_opened_at: wall-clock µs when the current file was opened (start of its period) */
TEND_API gint64 tend_log_file_get_opened_at (TendLogFile *self);

/** tend_log_file_write: appends @data (whole lines); never blocks on errors, never fails */
TEND_API void tend_log_file_write (TendLogFile *self, const char *data, gsize length);
/** tend_log_file_set_size_limit: 0 disables size-exceeded */
TEND_API void tend_log_file_set_size_limit (TendLogFile *self, guint64 limit);
/**
 * tend_log_file_rotate:
 * Renames the current file to @rotated_path (in the same folder; it must not
 * exist) and starts a new, empty file at the same path. TRUE when the file
 * was renamed, even if the new one could not be opened (its output is then
 * dropped and the open tried again later, see tend_log_file_get_problem()).
 * When what is at the path is not the file being written (replaced by
 * someone), nothing is renamed: the path is opened anew (or refused) and
 * FALSE returned.
 */
TEND_API gboolean tend_log_file_rotate (TendLogFile *self, const char *rotated_path, GError **error);
/**
 * tend_log_file_truncate:
 * Empties the file (tend flush): through the open descriptor, never by name;
 * when the path no longer leads to that file it is opened anew first (and a
 * refused one is not touched).
 */
TEND_API gboolean tend_log_file_truncate (TendLogFile *self, GError **error);

G_END_DECLS
