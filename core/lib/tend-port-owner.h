/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/*
 * Who listens on a TCP port, from /proc: the kernel lists every socket of
 * this network namespace in /proc/net/tcp and /proc/net/tcp6 with its inode,
 * and each process's descriptors in /proc/PID/fd link to "socket:[INODE]".
 * Used by the checks (a check of a service's own port passes only when the
 * service holds the socket) and by `tend migrate` (which process listens on
 * a service's port). Nothing here needs a daemon: the CLI compiles it in.
 */

/**
 * tend_port_owner_list_listening:
 * @port: a TCP port
 * @address: (nullable): the address a connection went to, or NULL for all
 * The socket inodes (guint64) of the TCP sockets, IPv4 and IPv6, listening
 * on @port. With @address: only those a connection to @address:@port
 * reaches, as the kernel chooses: bound to @address itself when there are
 * any, else bound to the wildcard address (0.0.0.0 for IPv4, then `::`,
 * which takes IPv4 too unless it is IPV6_V6ONLY).
 * Returns: the inodes, possibly none; NULL with @error when /proc/net/tcp
 *   cannot be read.
 */
TEND_API GArray *tend_port_owner_list_listening (guint16 port, GInetAddress *address, GError **error);

/**
 * tend_port_owner_pids_hold:
 * @pids: (array length=n_pids): processes
 * @out_missing: (out) (optional): the first inode none of them holds
 * Whether every socket of @inodes is open in one of @pids (their
 * /proc/PID/fd). A process whose descriptors cannot be read holds nothing.
 */
TEND_API gboolean tend_port_owner_pids_hold (const pid_t *pids, guint n_pids, GArray *inodes, guint64 *out_missing);

/**
 * tend_port_owner_find_holders:
 * Every process that has one of the sockets @inodes open, found by looking
 * at each /proc/PID/fd (as costly as `ss -p`: only when it is needed).
 * Processes whose descriptors the caller may not read (another user's, when
 * not root) are not seen.
 * Returns: pids (GArray of pid_t, ascending), possibly none.
 */
TEND_API GArray *tend_port_owner_find_holders (GArray *inodes);

/**
 * tend_port_owner_is_local_address:
 * Whether a connection to @address stays on this machine: a loopback
 * address (127.0.0.0/8, ::1), the wildcard (0.0.0.0, ::), one of them
 * IPv4-mapped, or an address of one of this machine's interfaces.
 */
TEND_API gboolean tend_port_owner_is_local_address (GInetAddress *address);

G_END_DECLS
