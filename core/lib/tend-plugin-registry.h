/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>
#include <sys/types.h>

#include "tend-plugin.h"

G_BEGIN_DECLS

/**
 * TendPluginRegistry:
 * The plugins that exist: modules found in the plugin folders (queried for
 * their TendPluginInfo, made resident), plus infos registered directly (tests).
 * It knows plugins; it does not run them (see TendPluginLoader).
 */
#define TEND_TYPE_PLUGIN_REGISTRY (tend_plugin_registry_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendPluginRegistry, tend_plugin_registry, TEND, PLUGIN_REGISTRY, GObject)

TEND_API TendPluginRegistry *tend_plugin_registry_new (void);
/** tend_plugin_registry_add_info: registers a static info (tests; built-in plugins) */
TEND_API gboolean tend_plugin_registry_add_info (TendPluginRegistry *self, const TendPluginInfo *info, GError **error);
/**
 * tend_plugin_registry_scan_dir:
 * Opens every `*.so` in @dir (once per folder), checks its ABI and registers
 * it. A module that fails is skipped with a warning; a missing folder is not
 * an error. The first folder scanned wins when two provide the same name.
 */
TEND_API void tend_plugin_registry_scan_dir (TendPluginRegistry *self, const char *dir);
/** tend_plugin_registry_scan_default_dirs: $TEND_PLUGIN_DIR (':' separated), then the installed folder */
TEND_API void tend_plugin_registry_scan_default_dirs (TendPluginRegistry *self);
/**
 * tend_plugin_registry_lookup:
 * What is known of plugin @name: name, description, keys, default. For a
 * module not loaded yet, get_type is NULL (see tend_plugin_registry_load()).
 */
TEND_API const TendPluginInfo *tend_plugin_registry_lookup (TendPluginRegistry *self, const char *name);
/**
 * tend_plugin_registry_load:
 * Opens plugin @name's module for good (made resident) and returns its own
 * info, get_type included. Modules are only opened briefly while scanning,
 * so plugins that are not enabled cost no memory.
 */
TEND_API const TendPluginInfo *tend_plugin_registry_load (TendPluginRegistry *self, const char *name, GError **error);
/**
 * tend_plugin_registry_check_file:
 * Whether the module at @path may be loaded by a daemon whose effective uid
 * is @euid. For root: the file (symlinks resolved) and every folder above it
 * are owned by root and writable by nobody else (sticky folders excepted).
 * Returns the resolved path to load, or NULL with the reason.
 */
TEND_API char *tend_plugin_registry_check_file (const char *path, uid_t euid, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/**
 * tend_plugin_registry_find_service_key:
 * The row of the `[service:NAME]` key @key that some plugin declares in its
 * service_keys, and that plugin's name in @out_plugin; NULL when none does.
 */
TEND_API const TendConfigKey *tend_plugin_registry_find_service_key (TendPluginRegistry *self,
                                                                     const char *key,
                                                                     const char **out_plugin);
/** tend_plugin_registry_list: names, sorted */
TEND_API GStrv tend_plugin_registry_list (TendPluginRegistry *self);

G_END_DECLS
