/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The library's and the daemon's side of services, instances and the
 * manager: creating them and applying a configuration. Not installed; the
 * G_GNUC_INTERNAL ones are not even exported (only libtend-core calls them).
 */

#include "tend-service-manager.h"

G_BEGIN_DECLS

/* inside libtend-core */
/** tend_instance_new: (internal) instance @index of @service, with global @id */
G_GNUC_INTERNAL TendInstance *tend_instance_new (TendService *service, guint index, guint id);
G_GNUC_INTERNAL void tend_instance_set_config (TendInstance *self, TendServiceConfig *config);
/** tend_instance_retry_start: (manager) a dependency changed state: start now if they are all online */
G_GNUC_INTERNAL void tend_instance_retry_start (TendInstance *self);
G_GNUC_INTERNAL TendService *tend_service_new (TendContext *context, TendServiceConfig *config);
G_GNUC_INTERNAL void tend_service_instance_changed (TendService *self, TendInstance *instance, GParamSpec *pspec);
G_GNUC_INTERNAL TendServiceManager *tend_service_manager_new (TendContext *context);
/** tend_service_manager_allocate_id: a new PM2-style numeric id, unique in this daemon */
G_GNUC_INTERNAL guint tend_service_manager_allocate_id (TendServiceManager *self);

/* for tendd */
/** tend_instance_save_state: (tend update) everything of @self that must cross the exec, as a{sv} (floating) */
TEND_API GVariant *tend_instance_save_state (TendInstance *self);
/** tend_instance_restore_state: (tend update) puts back what tend_instance_save_state() saved; spawns nothing */
TEND_API void tend_instance_restore_state (TendInstance *self, GVariant *state);
TEND_API guint tend_service_manager_get_next_id (TendServiceManager *self);
TEND_API void tend_service_manager_set_next_id (TendServiceManager *self, guint next_id);
/** tend_service_restore_owner: (tend update) the plugin's service, until the plugin takes it back with tend_service_set_owner() */
TEND_API void tend_service_restore_owner (TendService *self, const char *plugin_name);
/** tend_service_get_claimed: the owner (re)claimed it with tend_service_set_owner() */
TEND_API gboolean tend_service_get_claimed (TendService *self);
/** tend_service_has_retiring: instances dropped by a reload are still stopping */
TEND_API gboolean tend_service_has_retiring (TendService *self);
TEND_API void tend_service_set_ad_hoc (TendService *self, gboolean ad_hoc);
TEND_API void tend_service_manager_update_service (TendServiceManager *self, TendService *service, TendServiceConfig *config);
TEND_API GStrv tend_service_manager_select (TendServiceManager *self, TendConfig *config, const char *const *only, GError **error);
TEND_API void tend_service_manager_apply_config (TendServiceManager *self, TendConfig *config, gboolean start_new);
/**
 * TendApplyChoice:
 * What tend_service_manager_apply_config_filtered() does with one service of
 * the configuration: as the configuration says (start unless start=false),
 * start it, add it without starting, or leave it out (and remove it).
 */
typedef enum {
  TEND_APPLY_DEFAULT,
  TEND_APPLY_START,
  TEND_APPLY_NO_START,
  TEND_APPLY_SKIP,
} TendApplyChoice;
typedef TendApplyChoice (*TendApplyFilter) (const char *name, gpointer data);
/**
 * tend_service_manager_apply_config_filtered:
 * As tend_service_manager_apply_config(), with @filter deciding, by name, for
 * the services it adds (tendd's state file: stopped or deleted on purpose).
 */
TEND_API void tend_service_manager_apply_config_filtered (TendServiceManager *self,
                                                          TendConfig *config,
                                                          gboolean start_new,
                                                          TendApplyFilter filter,
                                                          gpointer data);
/** tend_service_manager_stop_all_async: stops everything in parallel; completes when every process is gone */
TEND_API void tend_service_manager_stop_all_async (TendServiceManager *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
TEND_API gboolean tend_service_manager_stop_all_finish (TendServiceManager *self, GAsyncResult *result, GError **error);

G_END_DECLS
