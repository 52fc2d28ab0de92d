/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "tend-context.h"
#include "tend-instance.h"

G_BEGIN_DECLS

/**
 * tend_process_spawn:
 * Starts @instance's program in a session of its own (so its process group
 * and session id are its pid), with stdin from /dev/null, stdout and stderr
 * into pipes whose read ends are returned, the parent-death signal set, signal
 * dispositions and mask reset, and the configured user and groups. With
 * @cgroup (a cgroup v2 directory) the child moves itself into that group
 * first, before it can fork anything; the caller checks that it did.
 * Through tend_spawn(): a failure before exec comes with its real cause, and
 * the child is claimed in @context and reaped for @exited.
 */
gboolean tend_process_spawn (TendInstance *instance,
                             const char *cgroup,
                             TendContext *context,
                             void (*exited) (GPid pid, int wait_status, gpointer user_data),
                             gpointer user_data,
                             pid_t *out_pid,
                             int *out_stdout,
                             int *out_stderr,
                             GError **error);

G_END_DECLS
