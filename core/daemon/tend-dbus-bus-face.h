/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * tend_dbus_bus_face_register:
 * Makes a peer-to-peer connection of the control socket answer the few
 * org.freedesktop.DBus calls (Hello, AddMatch, GetNameOwner, ...) that tools
 * such as `gdbus --address` make because they take every address for a bus.
 */
void tend_dbus_bus_face_register (GDBusConnection *connection);

G_END_DECLS
