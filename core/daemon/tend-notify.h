/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * tend_notify_send:
 * Sends @state (e.g. "READY=1") to the socket named by $NOTIFY_SOCKET, as
 * sd_notify(3) does, without libsystemd. Nothing happens when it is unset;
 * failures are logged at debug level only (a supervisor may have gone).
 */
void tend_notify_send (const char *state);

G_END_DECLS
