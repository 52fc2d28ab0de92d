/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

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
TEND_API
G_DECLARE_FINAL_TYPE (TendContext, tend_context, TEND, CONTEXT, GObject)


TEND_API const char *tend_context_get_home (TendContext *self);
TEND_API const char *tend_context_get_logs_dir (TendContext *self);
/** tend_context_get_home_tag: a short stable id of the home, used to recognise our processes */
TEND_API const char *tend_context_get_home_tag (TendContext *self);
TEND_API TendConfig *tend_context_get_config (TendContext *self);
TEND_API TendServiceManager *tend_context_get_manager (TendContext *self);
/** tend_context_get_process_backend: the loaded process backend, or NULL */
TEND_API TendProcessBackend *tend_context_get_process_backend (TendContext *self);
/** tend_context_set_process_backend: registered by the process plugin in start, cleared in stop */
TEND_API void tend_context_set_process_backend (TendContext *self, TendProcessBackend *backend);
/**
 * tend_context_set_readiness_provider:
 * A plugin (health) that checks `ready-check` and `notify` says so; without
 * one, a service with a ready rule is online as soon as it is spawned rather
 * than stuck in launching.
 */
TEND_API void tend_context_set_readiness_provider (TendContext *self, gboolean provided);
TEND_API gboolean tend_context_get_readiness_provider (TendContext *self);
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
 * tend_context_set_tunnel_status:
 * The tunnel plugin's figures (a{sv}: status s, url s, connections u, since
 * x), or NULL when there is no tunnel plugin. Emits tunnel-changed.
 */
TEND_API void tend_context_set_tunnel_status (TendContext *self, GVariant *status);
/** tend_context_get_tunnel_status: the last status, or NULL (borrowed) */
TEND_API GVariant *tend_context_get_tunnel_status (TendContext *self);
/** tend_context_get_shutting_down: TRUE once the daemon began to stop; nothing restarts after it */
TEND_API gboolean tend_context_get_shutting_down (TendContext *self);

/** tend_context_get_log_files: every log file in use (borrowed TendLogFile) */
TEND_API GPtrArray *tend_context_get_log_files (TendContext *self);
/** tend_context_lookup_log_file: the log file in use at @path, or NULL */
TEND_API TendLogFile *tend_context_lookup_log_file (TendContext *self, const char *path);

G_END_DECLS
