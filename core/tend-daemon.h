/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-context.h"

G_BEGIN_DECLS

/**
 * TendDaemon:
 * tendd itself: owns the home (pidfile), the context, the plugins and the
 * main loop; turns SIGTERM/SIGINT into an orderly stop and SIGHUP into a
 * reload, and tells a supervisor (NOTIFY_SOCKET) when it is ready.
 */
#define TEND_TYPE_DAEMON (tend_daemon_get_type ())
G_DECLARE_FINAL_TYPE (TendDaemon, tend_daemon, TEND, DAEMON, GObject)

/**
 * tend_daemon_new:
 * @home: the home folder (created when missing)
 * @config_path: the configuration file, or NULL for $home/tend.conf if present
 */
TendDaemon *tend_daemon_new (const char *home, const char *config_path);
/**
 * tend_daemon_setup:
 * Takes the pidfile, reads the configuration, loads the plugins. Nothing is
 * started yet, so a configuration error starts nothing.
 */
gboolean tend_daemon_setup (TendDaemon *self, GError **error);
/** tend_daemon_run: starts the services and runs until stopped; returns the exit status */
int tend_daemon_run (TendDaemon *self);
/** tend_daemon_reload: reads the configuration again and applies the difference; on error keeps the old one */
gboolean tend_daemon_reload (TendDaemon *self, GError **error);
/** tend_daemon_quit: begins the orderly stop (as SIGTERM) */
void tend_daemon_quit (TendDaemon *self);
TendContext *tend_daemon_get_context (TendDaemon *self);
/** tend_daemon_set_ready_callback: called once when everything started (used to detach) */
void tend_daemon_set_ready_callback (TendDaemon *self, GCallback callback, gpointer user_data);

G_END_DECLS
