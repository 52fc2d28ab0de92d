/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading a configuration: the daemon's and the tests' side of TendConfig.
 * Not installed: a plugin gets the configuration read already, from
 * tend_context_get_config() and its own TendPluginConfig.
 */

#include "tend-config.h"
#include "tend-plugin-registry.h"

G_BEGIN_DECLS

/**
 * TendConfigFlags:
 * @TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES: a `depends-on` may name a service the
 *   file does not define (a file for `tend start FILE`, an ad hoc service, a
 *   dump): tend_config_select_services() checks it against the daemon.
 *   Without it such a name is an error, as in the daemon's own configuration.
 * @TEND_CONFIG_FLAGS_DUMP: the file is `tend save`'s dump, written by tendd in
 *   its home: a service may carry `added-by=UID` (who added it over D-Bus,
 *   whose rights read its env-file). No other file may say so.
 * @TEND_CONFIG_FLAGS_ALL_ERRORS: for `tendd --check-config`: the reader goes on
 *   after a broken group, and the error holds the first error of every broken
 *   group (at most 100), one `FILE:LINE:` line each, joined by newlines; the
 *   first line is the error a read without the flag gives. Without it the
 *   message is that one line (what logs, D-Bus and HTTP answers carry).
 */
typedef enum {
  TEND_CONFIG_FLAGS_NONE = 0,
  TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES = 1 << 0,
  TEND_CONFIG_FLAGS_DUMP = 1 << 1,
  TEND_CONFIG_FLAGS_ALL_ERRORS = 1 << 2,
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
