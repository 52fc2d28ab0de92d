/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TendPidfile:
 * The claim of one daemon on its home: an flock() on the home directory
 * itself (which cannot be deleted from under it, unlike a file) held as long
 * as the daemon lives, and HOME/tendd.pid with our pid (also fcntl-locked).
 */
typedef struct _TendPidfile TendPidfile;

/**
 * tend_pidfile_acquire:
 * Locks @home and writes HOME/tendd.pid. When another process holds the
 * lock it fails with TEND_ERROR_ALREADY_RUNNING and a message naming that
 * pid (from the kernel's lock table, so it is right even when tendd.pid was
 * deleted). A stale file left by a killed daemon is simply taken over.
 * Returns: the claim, or NULL.
 */
TendPidfile *tend_pidfile_acquire (const char *home, GError **error);
/**
 * tend_pidfile_adopt:
 * (tend update) the locks the same process held before its exec, on
 * @home_fd (flock) and @file_fd (fcntl): a lock taken anew would conflict
 * with them, and there must be no moment without one.
 */
TendPidfile *tend_pidfile_adopt (const char *home, int home_fd, int file_fd);
/** tend_pidfile_get_fds: the descriptors that hold the locks, to hand over */
void tend_pidfile_get_fds (TendPidfile *self, int *out_home_fd, int *out_file_fd);
/** tend_pidfile_release: removes tendd.pid, drops the locks and frees @self */
void tend_pidfile_release (TendPidfile *self);
/** tend_pidfile_free: drops the locks and frees @self, leaving the file */
void tend_pidfile_free (TendPidfile *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendPidfile, tend_pidfile_free)

G_END_DECLS
