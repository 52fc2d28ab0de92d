/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <gio/gio.h>

#include "tend-config.h"
#include "tend-service.h"

G_BEGIN_DECLS

/**
 * TendServiceManager:
 * Every service the daemon knows, configured or ad hoc, as a GListModel of
 * TendService in the order they were added. It applies a configuration
 * (start added, stop removed, restart changed, leave unchanged alone) and
 * stops everything at shutdown: in parallel, except that a service is
 * stopped only once the services that depend on it are stopped.
 */
#define TEND_TYPE_SERVICE_MANAGER (tend_service_manager_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendServiceManager, tend_service_manager, TEND, SERVICE_MANAGER, GObject)


TEND_API TendService *tend_service_manager_lookup (TendServiceManager *self, const char *name);
/** tend_service_manager_add: adds a service for @config; fails when the name exists */
TEND_API TendService *tend_service_manager_add (TendServiceManager *self, TendServiceConfig *config, GError **error);
/**
 * tend_service_manager_update_service:
 * Gives @service a new configuration (restarting it when it runs, see
 * tend_service_update_config()) and looks again at what waits for a
 * dependency, so that a changed depends-on takes effect at once.
 */
/**
 * tend_service_manager_select:
 * The names of the services of @config (read with
 * TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES) to add to or update in this daemon:
 * @only (all when NULL or empty) and what they depend on that only the file
 * defines (tend_config_select_services()). Refuses, with FILE:LINE, a name
 * that a plugin's own service has (tend_service_set_owner()).
 */
/** tend_service_manager_remove: stops the service, then forgets it once its processes are gone */
TEND_API gboolean tend_service_manager_remove (TendServiceManager *self, const char *name, GError **error);
/**
 * tend_service_manager_apply_config:
 * Makes the configured services match @config: adds (and starts, unless
 * start=false) new ones, removes vanished ones, updates changed ones; ad hoc
 * services are left alone. @start_new: FALSE to add without starting.
 */
/**
 * tend_service_manager_act:
 * @name: a service name or "all"
 * @action: "start", "stop", "restart" or "delete"
 * @reason: recorded with a restart (e.g. "operator"), may be NULL
 * Fails with TEND_ERROR_NOT_FOUND for an unknown name; "all" with no
 * services succeeds.
 */
TEND_API gboolean tend_service_manager_act (TendServiceManager *self, const char *name, const char *action, const char *reason, GError **error);
/**
 * tend_service_manager_describe_unmet_dependencies:
 * NULL when every service @service depends on is online; otherwise why it
 * waits, e.g. "waiting for db (errored), cache (launching)".
 */
TEND_API char *tend_service_manager_describe_unmet_dependencies (TendServiceManager *self, TendService *service);

G_END_DECLS
