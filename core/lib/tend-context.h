/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <gio/gio.h>

#include "tend-clock.h"
#include "tend-config.h"
#include "tend-instance.h"
#include "tend-log-file.h"
#include "tend-plugin.h"
#include "tend-process-backend.h"
#include "tend-service.h"

G_BEGIN_DECLS

typedef struct _TendServiceManager TendServiceManager;

/**
 * TendContext:
 * What plugins see of the daemon: the paths, the current configuration, the
 * service manager, the process backend, and these signals:
 *
 * - service-added (TendService), service-removed (TendService)
 * - service-state-changed (TendService, TendInstance, old TendServiceState,
 *   new TendServiceState, reason string or NULL)
 * - service-output (TendInstance, stream 1|2, line (not NUL-terminated
 *   beyond @length, static scope), length): one line without its newline
 * - log-file-added (TendLogFile), log-file-removed (TendLogFile): every
 *   log file tendd writes, including its own log when detached
 * - status-changed (key string), detailed by the key: a status published
 *   with tend_context_publish_status() changed or was withdrawn
 * - plugin-interface-exported (plugin name string, GDBusInterfaceSkeleton),
 *   plugin-interface-unexported (same): for the daemon's D-Bus server
 * - config-reloaded (TendConfig)
 * - shutting-down ()
 *
 * Plugins meet only here; none calls another's symbols.
 */
#define TEND_TYPE_CONTEXT (tend_context_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendContext, tend_context, TEND, CONTEXT, GObject)


TEND_API const char *tend_context_get_home (TendContext *self);
TEND_API const char *tend_context_get_logs_dir (TendContext *self);
/** tend_context_get_home_tag: a short stable id of the home, used to recognise our processes */
TEND_API const char *tend_context_get_home_tag (TendContext *self);
TEND_API TendConfig *tend_context_get_config (TendContext *self);
TEND_API TendServiceManager *tend_context_get_manager (TendContext *self);
/** tend_context_get_clock: the clock the restart policy runs on (borrowed) */
TEND_API TendClock *tend_context_get_clock (TendContext *self);
/** tend_context_get_process_backend: the loaded process backend, or NULL */
TEND_API TendProcessBackend *tend_context_get_process_backend (TendContext *self);
/** tend_context_set_process_backend: registered by the process-backend plugin in start, cleared in stop */
TEND_API void tend_context_set_process_backend (TendContext *self, TendProcessBackend *backend);
/**
 * tend_context_set_readiness_provider:
 * A plugin that checks `ready-check` and `notify` says so; without
 * one, a service with a ready rule is online as soon as it is spawned rather
 * than stuck in launching.
 */
TEND_API void tend_context_set_readiness_provider (TendContext *self, gboolean provided);
TEND_API gboolean tend_context_get_readiness_provider (TendContext *self);
/**
 * TendHistoryFunc:
 * @service: the service asked about
 * @since_us: wall-clock microseconds; only samples taken after it
 * @out_interval_ms: (out): the sample interval
 * @user_data: as given to tend_context_set_history_provider()
 *
 * Returns: (transfer floating or full): aa{sv}, the samples oldest first:
 * "time" (x, wall-clock µs) and "restarts" (u) always; "cpu-percent" (d),
 * "memory-rss" (t, bytes) and "processes" (u) only when known at that time.
 */
typedef GVariant *(*TendHistoryFunc) (TendService *service, gint64 since_us, guint64 *out_interval_ms,
                                      gpointer user_data);
/**
 * tend_context_set_history_provider:
 * @func: (nullable): NULL takes the provider away
 *
 * The plugin that keeps a history of the services' figures (the health
 * plugin) registers it in start and clears it in stop, so that the D-Bus
 * server (Service1.GetHistory) and the http plugin (…/history) can read it
 * without knowing which plugin keeps it. One provider at a time.
 */
TEND_API void tend_context_set_history_provider (TendContext *self, TendHistoryFunc func, gpointer user_data);
/** tend_context_has_history_provider: a plugin keeps a history now */
TEND_API gboolean tend_context_has_history_provider (TendContext *self);
/**
 * tend_context_get_history:
 * @since_us: wall-clock microseconds since the epoch; 0 (or less) for everything held
 * @out_interval_ms: (out) (optional): the provider's sample interval, 0 without a provider
 *
 * The samples of @service taken after @since_us, oldest first, as
 * #TendHistoryFunc describes them; an empty array without a provider.
 *
 * Returns: (transfer full): aa{sv}, never floating
 */
TEND_API GVariant *tend_context_get_history (TendContext *self, TendService *service, gint64 since_us,
                                             guint64 *out_interval_ms);
/**
 * tend_context_set_notify_socket:
 * The addresses given as NOTIFY_SOCKET to services with notify=true (NULL:
 * none): @path, a socket inside the home, for services that run as tendd's
 * user; @open_address ("@name", the abstract namespace, which any user can
 * reach: the receiver checks the sender's credentials) for services with
 * `user=`, which cannot enter the home.
 */
TEND_API void tend_context_set_notify_socket (TendContext *self, const char *path, const char *open_address);
TEND_API const char *tend_context_get_notify_socket (TendContext *self);
TEND_API const char *tend_context_get_open_notify_socket (TendContext *self);
/**
 * tend_context_reload:
 * As `tend reload` (POST /api/reload). FALSE with the reason: TEND_ERROR_CONFIG
 * for a bad file (the running configuration kept), TEND_ERROR_PLUGIN for a
 * plugin that failed to start (the rest applied).
 */
TEND_API gboolean tend_context_reload (TendContext *self, GError **error);
/**
 * tend_context_publish_status:
 * @key: the name other plugins read it by; a contract between the plugins
 *   that publish and read it, of which the core knows nothing
 * @status: (nullable): the value (a floating reference is sunk), or NULL to
 *   withdraw it (the publisher stops)
 * Keeps @status under @key and emits status-changed::KEY when it differs from
 * the value kept before. Plugins never call each other's symbols; this is how
 * one shows figures to another.
 */
TEND_API void tend_context_publish_status (TendContext *self, const char *key, GVariant *status);
/** tend_context_lookup_status: the value published under @key, or NULL (borrowed) */
TEND_API GVariant *tend_context_lookup_status (TendContext *self, const char *key);
/**
 * tend_context_export_plugin_interface:
 * @plugin: the plugin (as the loader gave it its context), whose name places
 *   the object
 * @skeleton: an interface the plugin generated from its own XML, with a name
 *   other than org.tend.Plugin1 and than its others
 * Offers @skeleton beside org.tend.Plugin1 on the plugin's object,
 * /org/tend/Tend1/plugin/NAME, on the control socket and the bus, now and on
 * every later connection, until tend_context_unexport_plugin_interface() or
 * the plugin is unloaded. Method calls need the rights of a control call
 * (root, tendd's user, [tend] admin-group); properties are readable by every
 * peer the daemon accepts. Fails when @plugin is not a loaded plugin or has
 * an interface of that name already.
 */
TEND_API gboolean tend_context_export_plugin_interface (TendContext *self,
                                               TendPlugin *plugin,
                                               GDBusInterfaceSkeleton *skeleton,
                                               GError **error);
/** tend_context_unexport_plugin_interface: takes @skeleton off the bus; nothing when it is not exported */
TEND_API void tend_context_unexport_plugin_interface (TendContext *self, TendPlugin *plugin, GDBusInterfaceSkeleton *skeleton);
/** tend_context_get_shutting_down: TRUE once the daemon began to stop; nothing restarts after it */
TEND_API gboolean tend_context_get_shutting_down (TendContext *self);

/** tend_context_get_log_files: every log file in use (borrowed TendLogFile) */
TEND_API GPtrArray *tend_context_get_log_files (TendContext *self);
/** tend_context_lookup_log_file: the log file in use at @path, or NULL */
TEND_API TendLogFile *tend_context_lookup_log_file (TendContext *self, const char *path);
/**
 * tend_context_claim_child:
 * @pid is a child of tendd that its spawner waits for (tend_spawn() claims
 * every child it watches): the process backend's orphan reaper, which reaps
 * every other child of tendd (a subreaper), leaves it alone. Main thread only.
 */
TEND_API void tend_context_claim_child (TendContext *self, GPid pid);
/** tend_context_release_child: @pid was reaped, or given up to the orphan reaper */
TEND_API void tend_context_release_child (TendContext *self, GPid pid);
/** tend_context_is_claimed_child: TRUE while @pid is claimed */
TEND_API gboolean tend_context_is_claimed_child (TendContext *self, GPid pid);

/*
 * tend update: tendd executes its binary again in the same process; every
 * service keeps running. Before the exec the context emits
 * `handover-prepare` (stop taking new work that cannot cross, such as new
 * connections; call tend_context_hold_handover() while something must finish
 * first, and release it when it has, within a second or two) and then
 * `save-handover` with a TendHandover to fill. When the exec fails after
 * `handover-prepare`, `handover-cancelled` follows: take up the work again. After the exec, the plugins
 * are loaded anew from their modules and take what they saved back.
 */
/**
 * tend_context_take_handover_fd:
 * The descriptor a plugin saved under @key before `tend update`, now the
 * caller's (close-on-exec set again), or -1 when there is none (a first
 * start, or nothing was saved). Valid in `setup` and `start`; what nobody
 * took is closed once every plugin started.
 */
TEND_API int tend_context_take_handover_fd (TendContext *self, const char *key);
/** tend_context_lookup_handover_value: the value saved under @key (transfer full), or NULL */
TEND_API GVariant *tend_context_lookup_handover_value (TendContext *self, const char *key);
/** tend_context_get_handed_over: TRUE when this tendd was started by `tend update` (services were adopted) */
TEND_API gboolean tend_context_get_handed_over (TendContext *self);
/** tend_context_hold_handover: (in handover-prepare) the exec waits until the matching release (at most 2 s) */
TEND_API void tend_context_hold_handover (TendContext *self);
TEND_API void tend_context_release_handover (TendContext *self);

G_END_DECLS
