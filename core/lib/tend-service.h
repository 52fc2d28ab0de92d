/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>

#include "tend-instance.h"
#include "tend-service-config.h"

G_BEGIN_DECLS

typedef struct _TendContext TendContext;

/**
 * TendService:
 * A named service: its config and its instances. Its figures (state, pid,
 * restarts, cpu-percent, memory-rss, start-time) are GObject properties,
 * aggregated from its instances, so D-Bus and HTTP read one source of truth.
 *
 * The aggregate state is the instances' common state when they agree;
 * otherwise the most urgent one in this order: errored, waiting-restart,
 * launching, stopping, online, stopped.
 */
#define TEND_TYPE_SERVICE (tend_service_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendService, tend_service, TEND, SERVICE, GObject)


TEND_API TendContext *tend_service_get_context (TendService *self);
TEND_API const char *tend_service_get_name (TendService *self);
TEND_API TendServiceConfig *tend_service_get_config (TendService *self);
/** tend_service_get_instances: TendInstance, by index (borrowed) */
TEND_API GPtrArray *tend_service_get_instances (TendService *self);
TEND_API TendServiceState tend_service_get_state (TendService *self);
/** tend_service_get_pid: the pid of instance 0, 0 when not running */
TEND_API int tend_service_get_pid (TendService *self);
TEND_API guint tend_service_get_restarts (TendService *self);
TEND_API gint64 tend_service_get_start_time (TendService *self);
TEND_API double tend_service_get_cpu_percent (TendService *self);
TEND_API guint64 tend_service_get_memory_rss (TendService *self);
/**
 * tend_service_get_figures_known: whether cpu-percent and memory-rss were
 * measured (in the current run of at least one instance, by a plugin still
 * measuring); FALSE: they read 0 and mean "unknown"
 */
TEND_API gboolean tend_service_get_figures_known (TendService *self);
/** tend_service_get_wants_running: the operator's desired state */
TEND_API gboolean tend_service_get_wants_running (TendService *self);
/** tend_service_get_ad_hoc: started from the command line rather than a config file */
TEND_API gboolean tend_service_get_ad_hoc (TendService *self);

/**
 * tend_service_set_owner:
 * The plugin that added the service and runs it as part of its own work:
 * a reload never removes it and `tend save` leaves it out. NULL for others.
 * After `tend update` the service comes back with its owner's name and runs
 * on; the plugin, loaded anew, takes it back by calling this again in its
 * `start` (tend_service_manager_lookup() finds it). One it does not take
 * back is stopped and removed once every plugin started.
 */
TEND_API void tend_service_set_owner (TendService *self, const char *plugin_name);
TEND_API const char *tend_service_get_owner (TendService *self);

TEND_API void tend_service_start (TendService *self);
TEND_API void tend_service_stop (TendService *self);
TEND_API void tend_service_restart (TendService *self, const char *reason);
/**
 * tend_service_update_config:
 * Takes a changed config (reload): same config → nothing; otherwise the
 * instances get the new config and, when running, are restarted.
 */
TEND_API void tend_service_update_config (TendService *self, TendServiceConfig *config);
/** tend_service_is_idle: every instance is stopped or errored with no process left */
TEND_API gboolean tend_service_is_idle (TendService *self);


G_END_DECLS
