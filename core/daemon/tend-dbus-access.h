/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * tend_dbus_access_get_caller_uid:
 * The uid of the process that sent @invocation: the kernel's credentials of
 * the peer on a control socket connection (whatever the message says), the
 * bus daemon's word on a bus.
 */
gboolean tend_dbus_access_get_caller_uid (GDBusMethodInvocation *invocation, uid_t *out_uid, GError **error);

/**
 * tend_dbus_access_caller_may_control:
 * The caller of @invocation has control rights; @out_uid (nullable) gets its
 * uid, -1 when unknown.
 */
gboolean tend_dbus_access_caller_may_control (GDBusMethodInvocation *invocation,
                                              const char *admin_group,
                                              uid_t *out_uid);

/**
 * tend_dbus_access_guard_peer:
 * Makes a control socket connection refuse (AccessDenied) and log every
 * message that carries a SENDER header: only a bus daemon writes one, so
 * on a peer-to-peer connection it can only be a lie.
 */
void tend_dbus_access_guard_peer (GDBusConnection *connection);

/**
 * tend_dbus_access_uid_may_control:
 * TRUE for root, the daemon's own user and members (supplementary groups
 * counted) of @admin_group (may be NULL).
 */
gboolean tend_dbus_access_uid_may_control (uid_t uid, const char *admin_group);

G_END_DECLS
