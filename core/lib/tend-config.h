/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>

#include "tend-enums.h"
#include "tend-plugin-config.h"
#include "tend-plugin-registry.h"
#include "tend-service-config.h"

G_BEGIN_DECLS

/**
 * TendConfig:
 * A whole configuration file, read strictly: every unknown group or key,
 * duplicate key or group and bad value fails the whole read with
 * TEND_ERROR_CONFIG and a message `FILE:LINE: [group] key: reason`.
 * Immutable once read; a reload reads a new one and compares.
 */
#define TEND_TYPE_CONFIG (tend_config_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendConfig, tend_config, TEND, CONFIG, GObject)

/**
 * TendConfigFlags:
 * @TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES: a `depends-on` may name a service the
 *   file does not define (a file for `tend start FILE`, an ad hoc service, a
 *   dump): tend_config_select_services() checks it against the daemon.
 *   Without it such a name is an error, as in the daemon's own configuration.
 */
typedef enum {
  TEND_CONFIG_FLAGS_NONE = 0,
  TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES = 1 << 0,
} TendConfigFlags;

/**
 * tend_config_new_from_file:
 * @registry: knows which plugins exist and their key tables; a `[tend]
 *   plugin-dir` is scanned into it before the plugin groups are checked.
 */
TEND_API TendConfig *tend_config_new_from_file (const char *path, TendPluginRegistry *registry, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/**
 * tend_config_new_from_data:
 * @display_name: the name used in messages (a path, or e.g. "<command line>")
 * @base_dir: relative paths in the data are resolved against it
 */
TEND_API TendConfig *tend_config_new_from_data (const char *data,
                                       gssize length,
                                       const char *display_name,
                                       const char *base_dir,
                                       TendPluginRegistry *registry,
                                       GError **error) G_GNUC_WARN_UNUSED_RESULT;
TEND_API TendConfig *tend_config_new_from_file_full (const char *path,
                                            TendConfigFlags flags,
                                            TendPluginRegistry *registry,
                                            GError **error) G_GNUC_WARN_UNUSED_RESULT;
TEND_API TendConfig *tend_config_new_from_data_full (const char *data,
                                            gssize length,
                                            const char *display_name,
                                            const char *base_dir,
                                            TendConfigFlags flags,
                                            TendPluginRegistry *registry,
                                            GError **error) G_GNUC_WARN_UNUSED_RESULT;
/** tend_config_new_empty: no services, default [tend] settings, default-enabled plugins */
TEND_API TendConfig *tend_config_new_empty (TendPluginRegistry *registry);

/** tend_config_get_path: absolute path of the file read, or the display name */
TEND_API const char *tend_config_get_path (TendConfig *self);
TEND_API TendDbusMode tend_config_get_dbus_mode (TendConfig *self);
TEND_API const char *tend_config_get_admin_group (TendConfig *self);
TEND_API const char *tend_config_get_plugin_dir (TendConfig *self);
/** tend_config_get_services: TendServiceConfig in file order (borrowed) */
TEND_API GPtrArray *tend_config_get_services (TendConfig *self);
TEND_API TendServiceConfig *tend_config_lookup_service (TendConfig *self, const char *name);
/**
 * tend_config_get_plugins: TendPluginConfig for every plugin that exists,
 * whether or not it has a group (enabled from its group, else from
 * TendPluginInfo.enabled_by_default), sorted by name (borrowed).
 */
TEND_API GPtrArray *tend_config_get_plugins (TendConfig *self);
TEND_API TendPluginConfig *tend_config_lookup_plugin (TendConfig *self, const char *name);

/**
 * tend_config_key_name_is_valid:
 * A key as the reader accepts it: letters, digits, '-', '_' and '.', not
 * empty (so never a comment, a group header or a second key=value).
 */
TEND_API gboolean tend_config_key_name_is_valid (const char *key);

/** TendConfigLookupFunc: the running daemon's service of that name, or NULL */
typedef TendServiceConfig *(*TendConfigLookupFunc) (const char *name, gpointer data);
/**
 * tend_config_select_services:
 * @only: names to take (NULL or empty: every service of the file)
 * @lookup: finds the services the daemon has already
 * Which services of @self to add to a running daemon: @only, and the
 * services of the file they depend on (transitively) that the daemon does not
 * have, in file order. Fails with FILE:LINE when a depends-on names a service
 * that neither the file nor the daemon defines, or when the selection would
 * close a dependency loop with the daemon's services; with
 * TEND_ERROR_NOT_FOUND when a name of @only is not in the file.
 */
TEND_API GStrv tend_config_select_services (TendConfig *self,
                                   const char *const *only,
                                   TendConfigLookupFunc lookup,
                                   gpointer lookup_data,
                                   GError **error);

G_END_DECLS
