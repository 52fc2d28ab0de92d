/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>
#include <sys/stat.h>
#include <sys/types.h>

G_BEGIN_DECLS

/*
 * Opening log files without being led astray by whoever owns their folder.
 *
 * tendd usually runs as root and writes, rotates, compresses, deletes and
 * empties log files in folders that a service running as another user may
 * own. That user can put a symbolic link, a FIFO, a device or a hard link to a
 * root-only file where tendd expects its log, or swap a folder on the way for
 * a symbolic link. So:
 *
 * - the folder is reached by walking its path from / one name at a time; a
 *   symbolic link on the way is followed only when it is owned by root or by
 *   tendd's own user (who could write anywhere tendd can anyway);
 * - the file itself is opened relative to that folder with O_NOFOLLOW (never
 *   a symbolic link) and O_NONBLOCK (a FIFO cannot hang the daemon), and then
 *   accepted only when tend_log_path_check() says so. Everything else (rename,
 *   unlink, temp files) is done with the *at() calls on the same folder.
 *
 * Refusals are TEND_ERROR_PERMISSION_DENIED errors whose message names the
 * file and the reason; a missing file is G_IO_ERROR_NOT_FOUND; other system
 * errors are G_IO_ERROR.
 */

/** TEND_LOG_OWNER_NONE: no service user: only files of root and of tendd's user are accepted */
#define TEND_LOG_OWNER_NONE ((uid_t) -1)

/**
 * tend_log_path_owner_for_user:
 * The uid a service configured with user=@user runs as: tendd's own when
 * @user is NULL, TEND_LOG_OWNER_NONE when there is no such user.
 */
TEND_API uid_t tend_log_path_owner_for_user (const char *user);

/**
 * tend_log_path_check:
 * Whether @st (from fstat or fstatat with AT_SYMLINK_NOFOLLOW) is a file tend
 * may use as a log of a service running as @owner: a regular file (not a
 * symbolic link, FIFO, socket, device or folder), owned by @owner, root or
 * tendd's user, and with a single name unless it belongs to @owner and
 * @owner is not root (a root file with two names may be /etc/shadow under
 * another one). @path is only for the message.
 */
TEND_API gboolean tend_log_path_check (const struct stat *st, const char *path, uid_t owner, GError **error);

/**
 * tend_log_path_open_folder:
 * Opens the folder @dir (O_PATH, for the *at() calls) as described above.
 * @create: missing folders are made, mode 0750. Returns -1 with @error set.
 */
TEND_API int tend_log_path_open_folder (const char *dir, gboolean create, GError **error);

/**
 * tend_log_path_open_dir:
 * tend_log_path_open_folder() on the folder of @path; @out_name (nullable)
 * gets the file's name in it.
 */
TEND_API int tend_log_path_open_dir (const char *path, gboolean create, char **out_name, GError **error);

/**
 * tend_log_path_openat:
 * Opens @name in @dir_fd with @flags (O_WRONLY, O_CREAT, O_APPEND, ... ; new
 * files get mode 0640) plus O_NOFOLLOW, O_CLOEXEC and O_NOCTTY, and returns
 * the descriptor once tend_log_path_check() accepted it (in blocking mode).
 * @path is only for messages.
 */
TEND_API int tend_log_path_openat (int dir_fd, const char *name, const char *path, int flags, uid_t owner, GError **error);

/** tend_log_path_open: tend_log_path_open_dir() then tend_log_path_openat() (folders made when @flags has O_CREAT) */
TEND_API int tend_log_path_open (const char *path, int flags, uid_t owner, GError **error);

/** tend_log_path_list: the names in the folder @dir_fd (without . and ..); NULL with @error set */
TEND_API GStrv tend_log_path_list (int dir_fd, GError **error);

G_END_DECLS
