/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>
#include <sys/resource.h>

G_BEGIN_DECLS

/**
 * tend_fd_limit_raise:
 * At start: raises tendd's soft RLIMIT_NOFILE to its hard limit (every
 * service costs tendd several descriptors) and remembers the original soft
 * limit, which services get back (see tend_fd_limit_get_original()): a
 * program that uses select() breaks on descriptors past 1024.
 */
TEND_API void tend_fd_limit_raise (void);

/** tend_fd_limit_get_original: the soft limit tendd started with, for its children */
TEND_API struct rlimit tend_fd_limit_get_original (void);

/**
 * tend_fd_limit_count_open:
 * Descriptors open in tendd now (/proc/self/fd). Called before every spawn,
 * so it takes nothing from the heap.
 */
TEND_API guint tend_fd_limit_count_open (void);

/**
 * tend_fd_limit_get_reserve:
 * How many descriptors are kept free for what tendd cannot put off: clients
 * of the control socket, log files, reloads. A sixteenth of the limit, at
 * least 16 and at most 256.
 */
TEND_API guint tend_fd_limit_get_reserve (void);

/**
 * tend_fd_limit_check_room:
 * Whether @needed more descriptors can be opened without touching the
 * reserve. When not, fails with TEND_ERROR_RESOURCE and a message that says
 * the open-file limit was reached, with the figures.
 */
TEND_API gboolean tend_fd_limit_check_room (guint needed, GError **error);

/** tend_fd_limit_get_spare: descriptors that may still be opened without touching the reserve */
TEND_API guint tend_fd_limit_get_spare (void);

G_END_DECLS
