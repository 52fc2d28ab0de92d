/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "tend-api.h"

G_BEGIN_DECLS

typedef gpointer (*TendAsUserFunc) (gpointer data, GError **error);

/**
 * tend_as_user_run:
 * Runs @func in a thread of its own whose file accesses the kernel checks as
 * @uid's (its primary and supplementary groups from the user database), so
 * a file is opened only if that user could open it: no race between a check
 * and the open, permissions, ACLs and folders all counted. Returns what
 * @func returns, waiting for it. Needs root; otherwise, or when @uid has no
 * user entry, fails with TEND_ERROR_PERMISSION_DENIED without calling @func.
 */
TEND_API gpointer tend_as_user_run (uid_t uid, TendAsUserFunc func, gpointer data, GError **error);

G_END_DECLS
