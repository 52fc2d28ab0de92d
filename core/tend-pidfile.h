/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * tend_pidfile_acquire:
 * Creates and locks @path (an fcntl write lock held as long as the returned
 * fd is open), then writes our pid. When another process holds the lock it
 * fails with TEND_ERROR_ALREADY_RUNNING and a message naming that pid. A
 * stale file left by a killed daemon is simply taken over.
 * Returns: the fd to keep open, or -1.
 */
int tend_pidfile_acquire (const char *path, GError **error);
/** tend_pidfile_release: removes @path and closes @fd */
void tend_pidfile_release (const char *path, int fd);

G_END_DECLS
