/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-config.h"
#include "tend-instance.h"
#include "tend-log-file.h"
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
 * - tunnel-changed (): the tunnel status changed
 * - config-reloaded (TendConfig)
 * - shutting-down ()
 *
 * Plugins meet only here; none calls another's symbols.
 */
#define TEND_TYPE_CONTEXT (tend_context_get_type ())
G_DECLARE_FINAL_TYPE (TendContext, tend_context, TEND, CONTEXT, GObject)

/** tend_context_new: @home must exist; logs/ is created below it */
TendContext *tend_context_new (const char *home, GError **error);

const char *tend_context_get_home (TendContext *self);
const char *tend_context_get_logs_dir (TendContext *self);
/** tend_context_get_home_tag: a short stable id of the home, used to recognise our processes */
const char *tend_context_get_home_tag (TendContext *self);
TendConfig *tend_context_get_config (TendContext *self);
void tend_context_set_config (TendContext *self, TendConfig *config);
TendServiceManager *tend_context_get_manager (TendContext *self);
/** tend_context_get_process_backend: the loaded process backend, or NULL */
TendProcessBackend *tend_context_get_process_backend (TendContext *self);
/** tend_context_set_process_backend: registered by the process plugin in start, cleared in stop */
void tend_context_set_process_backend (TendContext *self, TendProcessBackend *backend);
/**
 * tend_context_set_readiness_provider:
 * A plugin (health) that checks `ready-check` and `notify` says so; without
 * one, a service with a ready rule is online as soon as it is spawned rather
 * than stuck in launching.
 */
void tend_context_set_readiness_provider (TendContext *self, gboolean provided);
gboolean tend_context_get_readiness_provider (TendContext *self);
/**
 * tend_context_set_notify_socket:
 * The addresses given as NOTIFY_SOCKET to services with notify=true (NULL:
 * none): @path, a socket inside the home, for services that run as tendd's
 * user; @open_address ("@name", the abstract namespace, which any user can
 * reach: the receiver checks the sender's credentials) for services with
 * `user=`, which cannot enter the home.
 */
void tend_context_set_notify_socket (TendContext *self, const char *path, const char *open_address);
const char *tend_context_get_notify_socket (TendContext *self);
const char *tend_context_get_open_notify_socket (TendContext *self);
/**
 * TendReloadFunc:
 * Reads the configuration again and applies it (the daemon's reload).
 */
typedef gboolean (*TendReloadFunc) (gpointer user_data, GError **error);
/** tend_context_set_reload_func: the daemon says how to reload */
void tend_context_set_reload_func (TendContext *self, TendReloadFunc func, gpointer user_data);
/**
 * tend_context_reload:
 * As `tend reload` (POST /api/reload). FALSE with the reason: TEND_ERROR_CONFIG
 * for a bad file (the running configuration kept), TEND_ERROR_PLUGIN for a
 * plugin that failed to start (the rest applied).
 */
gboolean tend_context_reload (TendContext *self, GError **error);
/**
 * tend_context_set_tunnel_status:
 * The tunnel plugin's figures (a{sv}: status s, url s, connections u, since
 * x), or NULL when there is no tunnel plugin. Emits tunnel-changed.
 */
void tend_context_set_tunnel_status (TendContext *self, GVariant *status);
/** tend_context_get_tunnel_status: the last status, or NULL (borrowed) */
GVariant *tend_context_get_tunnel_status (TendContext *self);
/** tend_context_get_shutting_down: TRUE once the daemon began to stop; nothing restarts after it */
gboolean tend_context_get_shutting_down (TendContext *self);

void tend_context_emit_service_added (TendContext *self, TendService *service);
void tend_context_emit_service_removed (TendContext *self, TendService *service);
void tend_context_emit_state_changed (TendContext *self,
                                      TendInstance *instance,
                                      TendServiceState old_state,
                                      TendServiceState new_state,
                                      const char *reason);
/** tend_context_has_output_listeners: lets log capture skip per-line work when nobody listens */
gboolean tend_context_has_output_listeners (TendContext *self);
void tend_context_emit_output (TendContext *self, TendInstance *instance, int stream, const char *line, gsize length);
/**
 * tend_context_acquire_log_file:
 * The log file for @path, shared: instances with merge-logs=true get the
 * same one. Emits log-file-added the first time. @owner is the uid of the
 * service writing it (see tend_log_path_check()); a file already in use
 * keeps the owner it was opened for. Release with
 * tend_context_release_log_file().
 */
TendLogFile *tend_context_acquire_log_file (TendContext *self, const char *path, uid_t owner);
void tend_context_release_log_file (TendContext *self, TendLogFile *file);
/** tend_context_add_log_file: registers a log file made elsewhere (tendd's own log) */
void tend_context_add_log_file (TendContext *self, TendLogFile *file);
/** tend_context_get_log_files: every log file in use (borrowed TendLogFile) */
GPtrArray *tend_context_get_log_files (TendContext *self);
/** tend_context_lookup_log_file: the log file in use at @path, or NULL */
TendLogFile *tend_context_lookup_log_file (TendContext *self, const char *path);
/**
 * tend_context_claim_child:
 * @pid is a child of tendd that its spawner waits for (tend_spawn() claims
 * every child it watches): the process backend's orphan reaper, which reaps
 * every other child of tendd (a subreaper), leaves it alone. Main thread only.
 */
void tend_context_claim_child (TendContext *self, GPid pid);
/** tend_context_release_child: @pid was reaped, or given up to the orphan reaper */
void tend_context_release_child (TendContext *self, GPid pid);
/** tend_context_is_claimed_child: TRUE while @pid is claimed */
gboolean tend_context_is_claimed_child (TendContext *self, GPid pid);
void tend_context_emit_config_reloaded (TendContext *self, TendConfig *config);
void tend_context_emit_shutting_down (TendContext *self);

G_END_DECLS
