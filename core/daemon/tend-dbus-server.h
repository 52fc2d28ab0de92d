/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-daemon.h"

G_BEGIN_DECLS

/**
 * TendDbusServer:
 * org.tend.Tend1 (data/org.tend.Tend1.xml) on the control socket, a
 * peer-to-peer D-Bus server at $TEND_HOME/tendd.sock (EXTERNAL authentication
 * only), and, as `[tend] dbus=` allows, under that name on the system or
 * session bus. The same skeletons are exported on every connection; objects
 * follow the services and plugins. Methods that change anything are checked
 * against the caller's credentials (tend-dbus-access.h).
 */
#define TEND_TYPE_DBUS_SERVER (tend_dbus_server_get_type ())
G_DECLARE_FINAL_TYPE (TendDbusServer, tend_dbus_server, TEND, DBUS_SERVER, GObject)

TendDbusServer *tend_dbus_server_new (TendDaemon *daemon);
/** tend_dbus_server_start: listens on the socket (an error is fatal) and asks for the bus name (never fatal) */
gboolean tend_dbus_server_start (TendDbusServer *self, GError **error);
/** tend_dbus_server_stop: stops listening, drops every connection and the bus name */
void tend_dbus_server_stop (TendDbusServer *self);
/* tend update: the control socket crosses the exec under this key */
#define TEND_DBUS_SERVER_HANDOVER_KEY "tendd-control-socket"
/** tend_dbus_server_get_listen_fd: the listening socket, -1 when not listening */
int tend_dbus_server_get_listen_fd (TendDbusServer *self);
/** tend_dbus_server_pause: stop (or resume) accepting; clients wait in the socket's queue */
void tend_dbus_server_pause (TendDbusServer *self, gboolean paused);
/** tend_dbus_server_is_quiet: no peer is in the middle of its handshake */
gboolean tend_dbus_server_is_quiet (TendDbusServer *self);
/** tend_dbus_server_flush: writes out every queued message (replies) of every connection */
void tend_dbus_server_flush (TendDbusServer *self);
/** tend_dbus_server_refresh_plugins: re-reads every plugin's Enabled and Status (after a reload) */
void tend_dbus_server_refresh_plugins (TendDbusServer *self);

G_END_DECLS
