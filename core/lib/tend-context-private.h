/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's side of TendContext: creating it, installing a new
 * configuration, emitting the signals plugins listen to, and the log files
 * the library opens for instances. Not installed: a plugin only reads the
 * context and listens (tend-context.h).
 */

#include "tend-context.h"
#include "tend-handover-private.h"

G_BEGIN_DECLS

/** tend_context_new: @home must exist; logs/ is created below it */
TEND_API TendContext *tend_context_new (const char *home, GError **error);

TEND_API void tend_context_set_config (TendContext *self, TendConfig *config);
/**
 * tend_context_set_clock:
 * (daemon and tests only) replaces the clock, NULL for the real one. Call it
 * before any service is added: pending timeouts stay on the clock that
 * scheduled them.
 */
TEND_API void tend_context_set_clock (TendContext *self, TendClock *clock);

/** TendPluginInterfaceFunc: one exported interface of the plugin named @name */
typedef void (*TendPluginInterfaceFunc) (const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data);
/** tend_context_foreach_plugin_interface: every interface exported now (the daemon's D-Bus server) */
TEND_API void tend_context_foreach_plugin_interface (TendContext *self, TendPluginInterfaceFunc func, gpointer user_data);
/**
 * tend_context_register_plugin:
 * The loader says which name @plugin runs under, before its setup.
 * tend_context_unregister_plugin() (at unload) withdraws whatever interfaces
 * it left exported.
 */
TEND_API void tend_context_register_plugin (TendContext *self, TendPlugin *plugin, const char *name);
TEND_API void tend_context_unregister_plugin (TendContext *self, TendPlugin *plugin);
/** tend_context_get_plugin_name: the name @plugin runs under, or NULL when it is not loaded */
TEND_API const char *tend_context_get_plugin_name (TendContext *self, TendPlugin *plugin);

/**
 * TendReloadFunc:
 * Reads the configuration again and applies it (the daemon's reload).
 */
typedef gboolean (*TendReloadFunc) (gpointer user_data, GError **error);
/** tend_context_set_reload_func: the daemon says how to reload */
TEND_API void tend_context_set_reload_func (TendContext *self, TendReloadFunc func, gpointer user_data);

TEND_API void tend_context_emit_service_added (TendContext *self, TendService *service);
TEND_API void tend_context_emit_service_removed (TendContext *self, TendService *service);
TEND_API void tend_context_emit_state_changed (TendContext *self,
                                               TendInstance *instance,
                                               TendServiceState old_state,
                                               TendServiceState new_state,
                                               const char *reason);
/** tend_context_has_output_listeners: lets log capture skip per-line work when nobody listens */
TEND_API gboolean tend_context_has_output_listeners (TendContext *self);
TEND_API void tend_context_emit_output (TendContext *self, TendInstance *instance, int stream, const char *line, gsize length);

/**
 * tend_context_acquire_log_file:
 * The log file for @path, shared: instances with merge-logs=true get the
 * same one. Emits log-file-added the first time. @owner is the uid of the
 * service writing it (see tend_log_path_check()); a file already in use
 * keeps the owner it was opened for. Release with
 * tend_context_release_log_file().
 */
TEND_API TendLogFile *tend_context_acquire_log_file (TendContext *self, const char *path, uid_t owner);
TEND_API void tend_context_release_log_file (TendContext *self, TendLogFile *file);
/** tend_context_add_log_file: registers a log file made elsewhere (tendd's own log) */
TEND_API void tend_context_add_log_file (TendContext *self, TendLogFile *file);

TEND_API void tend_context_emit_config_reloaded (TendContext *self, TendConfig *config);
TEND_API void tend_context_emit_shutting_down (TendContext *self);

/* tend update (tend-handover-private.h): what the daemon before the exec left, until every plugin started */
TEND_API void tend_context_set_handover_input (TendContext *self, GHashTable *fds, GHashTable *values);
TEND_API void tend_context_finish_handover_input (TendContext *self);
TEND_API void tend_context_emit_handover_prepare (TendContext *self);
TEND_API guint tend_context_get_handover_holds (TendContext *self);
TEND_API void tend_context_emit_save_handover (TendContext *self, TendHandover *handover);
TEND_API void tend_context_emit_handover_cancelled (TendContext *self);

G_END_DECLS
