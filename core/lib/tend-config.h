/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>

#include "tend-enums.h"
#include "tend-plugin-config.h"
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
 * tend_config_get_warnings:
 * What the reader accepted but told about (a key of a plugin that is not
 * enabled), as FILE:LINE: texts in file order, each also logged once;
 * NULL-terminated, owned by @self.
 */
TEND_API const char *const *tend_config_get_warnings (TendConfig *self);

G_END_DECLS
