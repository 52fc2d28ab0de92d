/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-context.h"

G_BEGIN_DECLS

/**
 * TendCloudflaredHook:
 * Runs the `on-url-change` command (/bin/sh -c, in its own process group,
 * with TUNNEL_URL and TUNNEL_OLD_URL set) each time the public URL changes.
 * Never two at once: a change while one runs is queued, and only the latest
 * URL is announced when it ends. A run that outlives the timeout is killed
 * with its whole group. Main thread only.
 */
typedef struct _TendCloudflaredHook TendCloudflaredHook;

/** tend_cloudflared_hook_new: @context claims the command's process while it runs (or NULL) */
TendCloudflaredHook *tend_cloudflared_hook_new (TendContext *context);
/** tend_cloudflared_hook_free: kills a running command (its group) without waiting; prefer _close first */
void tend_cloudflared_hook_free (TendCloudflaredHook *hook);
/** tend_cloudflared_hook_set_command: @command NULL or empty: no hook; @timeout_ms 0: unbounded */
void tend_cloudflared_hook_set_command (TendCloudflaredHook *hook, const char *command, guint64 timeout_ms);
/** tend_cloudflared_hook_url_changed: the public URL is now @url (not empty): run (or queue) the command */
void tend_cloudflared_hook_url_changed (TendCloudflaredHook *hook, const char *url);
/**
 * tend_cloudflared_hook_close:
 * Nothing more is run; a running command's group is killed and @done called
 * once it is reaped (at once, from an idle, when none runs).
 */
void tend_cloudflared_hook_close (TendCloudflaredHook *hook, GSourceOnceFunc done, gpointer user_data);
/** tend_cloudflared_hook_get_runs: commands started so far */
guint tend_cloudflared_hook_get_runs (TendCloudflaredHook *hook);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendCloudflaredHook, tend_cloudflared_hook_free)

G_END_DECLS
