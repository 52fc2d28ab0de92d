/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include "tend-context.h"
#include "tend-plugin-registry.h"

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
/**
 * tend_daemon_check_config:
 * @out_path: (out) (nullable): the file read, NULL when there is none
 * Reads the configuration exactly as tend_daemon_setup() would (plugin
 * folders scanned, so the keys plugins declare are known), and nothing more:
 * no pidfile, no socket, no plugin started, the home not even created.
 * On error every broken group is named, one `FILE:LINE:` line each.
 */
gboolean tend_daemon_check_config (TendDaemon *self, char **out_path, GError **error);
/** tend_daemon_run: starts the services and runs until stopped; returns the exit status */
int tend_daemon_run (TendDaemon *self);
/**
 * tend_daemon_reload:
 * Reads the configuration again and applies the difference. A bad file:
 * TEND_ERROR_CONFIG, the old configuration kept. A plugin that fails to
 * start: TEND_ERROR_PLUGIN naming it and why, the rest applied.
 */
gboolean tend_daemon_reload (TendDaemon *self, GError **error);
/** tend_daemon_quit: begins the orderly stop (as SIGTERM) */
void tend_daemon_quit (TendDaemon *self);
TendContext *tend_daemon_get_context (TendDaemon *self);
/** tend_daemon_set_ready_callback: called once when everything started (used to detach) */
void tend_daemon_set_ready_callback (TendDaemon *self, GCallback callback, gpointer user_data);

TendPluginRegistry *tend_daemon_get_registry (TendDaemon *self);
/** tend_daemon_get_config_path: the configuration file in use, or NULL when none */
const char *tend_daemon_get_config_path (TendDaemon *self);
/** tend_daemon_set_log_path: the file stderr was sent to when detaching, so log rotation covers it */
void tend_daemon_set_log_path (TendDaemon *self, const char *path);
/** tend_daemon_flush: empties the log files of @name ("all" for every service) */
gboolean tend_daemon_flush (TendDaemon *self, const char *name, GError **error);
/** tend_daemon_set_resurrect: restore $home/dump.conf once the configured services are up (tendd --resurrect) */
void tend_daemon_set_resurrect (TendDaemon *self, gboolean resurrect);

/**
 * tend_daemon_add_service:
 * Adds an ad hoc service from a command line and config keys given as text
 * (@options, a{ss}), checked by the configuration reader as a file would be;
 * relative paths are resolved against @workdir, and files they name read
 * with the rights of @caller (a uid). An existing name with the same
 * configuration is started instead; with another one it is an error.
 */
gboolean tend_daemon_add_service (TendDaemon *self,
                                  const char *name,
                                  const char *const *argv,
                                  GVariant *options,
                                  const char *workdir,
                                  uid_t caller,
                                  GError **error);
/**
 * tend_daemon_start_config:
 * Reads another configuration file with the rights of @caller (a uid), adds
 * or updates its services (only those named in @only when not empty) and
 * starts them. Returns their names.
 */
GStrv tend_daemon_start_config (TendDaemon *self,
                                const char *path,
                                const char *const *only,
                                uid_t caller,
                                GError **error);
/** tend_daemon_save: writes $home/dump.conf; returns its path */
char *tend_daemon_save (TendDaemon *self, GError **error);
/** tend_daemon_resurrect: restores $home/dump.conf; returns the names added or started */
GStrv tend_daemon_resurrect (TendDaemon *self, GError **error);
/**
 * tend_daemon_undelete:
 * `tend start NAME` of a configured service deleted with `tend delete`: adds
 * it again from the running configuration (not started). FALSE when the
 * configuration has no such service or the daemon has one by that name.
 */
gboolean tend_daemon_undelete (TendDaemon *self, const char *name);
/** tend_daemon_flush_state: writes $TEND_HOME/state now if a change is pending (before answering a client) */
void tend_daemon_flush_state (TendDaemon *self);
/** tend_daemon_list_plugins: every plugin that exists, as ListPlugins returns them (floating aa{sv}) */
GVariant *tend_daemon_list_plugins (TendDaemon *self);
/** tend_daemon_describe_plugin: one ListPlugins row, or NULL for an unknown name (floating) */
GVariant *tend_daemon_describe_plugin (TendDaemon *self, const char *name);

/**
 * tend_daemon_set_exec_info:
 * What tend update executes: @path, the program tendd was started as
 * (resolved at start: /proc/self/exe may name a deleted file after an
 * upgrade), and @argv, its arguments.
 */
void tend_daemon_set_exec_info (TendDaemon *self, const char *path, char **argv);
/** tend_daemon_set_handover: (before setup) this tendd was executed by tend update: adopt what @state says */
void tend_daemon_set_handover (TendDaemon *self, GVariant *state, GHashTable *fds);
/** tend_daemon_get_generation: how many updates in place this daemon went through */
guint tend_daemon_get_generation (TendDaemon *self);
/**
 * tend_daemon_update_async:
 * tend update: checks @binary (NULL or "": the program tendd was started
 * as), completes with its version, then (from an idle) hands over and
 * executes it. TEND_ERROR_BUSY while a service is stopping or the daemon
 * stops or updates already.
 */
void tend_daemon_update_async (TendDaemon *self, const char *binary, GAsyncReadyCallback callback, gpointer user_data);
char *tend_daemon_update_finish (TendDaemon *self, GAsyncResult *result, GError **error);

G_END_DECLS
