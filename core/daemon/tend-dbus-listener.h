/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * TendDbusListener:
 * The control socket's listening end, in place of GDBusServer, whose
 * GSocketService retries a failed accept() at once: out of file descriptors
 * (EMFILE), the socket stays readable and the daemon spins, logging one
 * warning per try. Here a failed accept stops the watch and retries after a
 * growing pause (50 ms up to 1 s), and is logged once per burst.
 *
 * An accepted peer is authenticated (D-Bus SASL with @observer, in a small
 * pool of threads, as GDBusServer does it) and given to @func as a
 * GDBusConnection whose message processing starts once @func returns. A peer
 * that has not finished authenticating within 10 s is dropped, and at most
 * 32 peers are authenticated at a time (the socket is not accepted from
 * meanwhile), so idle connections cannot hold the daemon's descriptors.
 */
#define TEND_TYPE_DBUS_LISTENER (tend_dbus_listener_get_type ())
G_DECLARE_FINAL_TYPE (TendDbusListener, tend_dbus_listener, TEND, DBUS_LISTENER, GObject)

typedef void (*TendDbusListenerFunc) (GDBusConnection *connection, gpointer user_data);

/**
 * tend_dbus_listener_new:
 * Binds a Unix socket at @path (which must not exist; created with the
 * process umask), listens, and starts accepting on the thread-default main
 * context. @func is called there.
 */
TendDbusListener *tend_dbus_listener_new (const char *path,
                                          GDBusAuthObserver *observer,
                                          TendDbusListenerFunc func,
                                          gpointer user_data,
                                          GError **error);
/**
 * tend_dbus_listener_new_from_fd:
 * As tend_dbus_listener_new(), on @fd, a socket already listening (handed
 * over by tend update: the clients waiting in its queue are served by the
 * new tendd). Takes @fd.
 */
TendDbusListener *tend_dbus_listener_new_from_fd (int fd,
                                                  const char *path,
                                                  GDBusAuthObserver *observer,
                                                  TendDbusListenerFunc func,
                                                  gpointer user_data,
                                                  GError **error);
/** tend_dbus_listener_get_fd: the listening socket (tend update hands it over) */
int tend_dbus_listener_get_fd (TendDbusListener *self);
/** tend_dbus_listener_get_n_pending: peers accepted and still in the handshake */
guint tend_dbus_listener_get_n_pending (TendDbusListener *self);
/** tend_dbus_listener_pause: stops accepting; clients wait in the queue (for the exec of tend update) */
void tend_dbus_listener_pause (TendDbusListener *self);
/** tend_dbus_listener_resume: accepts again (the exec failed) */
void tend_dbus_listener_resume (TendDbusListener *self);
/** tend_dbus_listener_stop: closes the socket; peers still authenticating are dropped, @func is not called again */
void tend_dbus_listener_stop (TendDbusListener *self);

G_END_DECLS
