/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-context.h"

G_BEGIN_DECLS

/**
 * TendHealthNotify:
 * The sd_notify(3) sockets given as NOTIFY_SOCKET to services with
 * notify=true: a file in the home for services run as tendd's user, and a
 * name in the abstract namespace ("@tend-notify-HOMETAG-RANDOM") for those
 * with `user=`, which cannot enter the home. The sender is known from its
 * credentials (SO_PASSCRED), filled in by the kernel, and a message counts
 * only for the notify=true instance whose tree holds the sender (its cgroup,
 * or its session and descendants): a worker process may notify, a stranger
 * cannot. READY=1 marks the instance ready; STATUS= is kept for
 * `tend describe`; MAINPID= and the rest are ignored.
 */
typedef struct _TendHealthNotify TendHealthNotify;

TendHealthNotify *tend_health_notify_new (TendContext *context, const char *path, GError **error);
void tend_health_notify_free (TendHealthNotify *self);
const char *tend_health_notify_get_path (TendHealthNotify *self);
/** tend_health_notify_get_open_address: "@name" for services with user=, NULL when it could not be made */
const char *tend_health_notify_get_open_address (TendHealthNotify *self);

G_END_DECLS
