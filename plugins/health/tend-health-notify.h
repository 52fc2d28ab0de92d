/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-context.h"

G_BEGIN_DECLS

/**
 * TendHealthNotify:
 * The sd_notify(3) socket given as NOTIFY_SOCKET to services with
 * notify=true. The sender is known from its credentials (SO_PASSCRED), so a
 * worker process of a service may notify too: any process of the instance's
 * session counts. READY=1 marks the instance ready; STATUS= is kept for
 * `tend describe`; MAINPID= and the rest are ignored.
 */
typedef struct _TendHealthNotify TendHealthNotify;

TendHealthNotify *tend_health_notify_new (TendContext *context, const char *path, GError **error);
void tend_health_notify_free (TendHealthNotify *self);
const char *tend_health_notify_get_path (TendHealthNotify *self);

G_END_DECLS
