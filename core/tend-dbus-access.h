/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * tend_dbus_access_get_caller_uid:
 * The uid of the process that sent @invocation: from the socket credentials
 * on a peer-to-peer connection, from the bus daemon otherwise.
 */
gboolean tend_dbus_access_get_caller_uid (GDBusMethodInvocation *invocation, uid_t *out_uid, GError **error);

/**
 * tend_dbus_access_uid_may_control:
 * TRUE for root, the daemon's own user and members (supplementary groups
 * counted) of @admin_group (may be NULL).
 */
gboolean tend_dbus_access_uid_may_control (uid_t uid, const char *admin_group);

G_END_DECLS
