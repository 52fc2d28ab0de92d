/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>

G_BEGIN_DECLS

/**
 * TendConfigKeyType:
 * The kinds of value a plugin key can take. The configuration reader checks
 * each value against its kind, so a plugin's getters never see a bad value.
 */
typedef enum {
  TEND_CONFIG_KEY_STRING,
  TEND_CONFIG_KEY_BOOL,
  TEND_CONFIG_KEY_UINT,        /* digits; @choices may give a range, "MIN..MAX" */
  TEND_CONFIG_KEY_DURATION,
  TEND_CONFIG_KEY_SIZE,
  TEND_CONFIG_KEY_CHOICE,      /* one of @choices, '|' separated */
  TEND_CONFIG_KEY_LIST,        /* ';' or ',' separated, items trimmed */
  TEND_CONFIG_KEY_LISTEN_LIST, /* list of HOST:PORT; HOST an IP address or localhost, never a name to look up */
  TEND_CONFIG_KEY_PATH,        /* resolved against the config file's folder */
  TEND_CONFIG_KEY_CHECK_URL,   /* a probe: http://HOST:PORT/PATH, tcp://HOST[:PORT] or exec:COMMAND (since ABI 3) */
} TendConfigKeyType;

/**
 * TendConfigKey:
 * One row of a plugin's key table: its name, kind, default (as it would be
 * written in the file; NULL for none), allowed choices (CHOICE: "a|b|c") and a one-line doc.
 *
 * For a UINT, DURATION or SIZE key, @choices may give the range the plugin
 * can use, "MIN..MAX" written as values of the key are ("100ms..1h",
 * "0..10000"). Without it a value may be 0 to 4294967295, 0 to 24h
 * (TEND_DURATION_MAX_MS) or 0 to 1024G (TEND_SIZE_MAX), so that a getter's
 * guint64 always fits the guint of a count or of a timer's milliseconds.
 */
typedef struct {
  const char *name;
  TendConfigKeyType type;
  const char *default_value;
  const char *choices;
  const char *doc;
} TendConfigKey;

/**
 * tend_config_key_normalize:
 * @value checked against @key's type and range and written in the canonical
 * form the getters read ("50M" and "52428800" give the same text); NULL with
 * the bare reason when it is not valid. A PATH is returned as given.
 */
TEND_API char *tend_config_key_normalize (const TendConfigKey *key, const char *value, GError **error);

/**
 * tend_config_key_get_range:
 * The values a UINT, DURATION or SIZE key takes: its "MIN..MAX" or the
 * type's whole range (milliseconds for a duration, bytes for a size).
 */
TEND_API void tend_config_key_get_range (const TendConfigKey *key, guint64 *out_min, guint64 *out_max);

/**
 * TendPluginConfig:
 * A validated `[plugin:NAME]` group with defaults filled in. Reference counted
 * and immutable; plugins read it with the typed getters below.
 */
typedef struct _TendPluginConfig TendPluginConfig;

/** tend_plugin_config_new: an empty config for plugin @name, keys checked against @keys (NULL-name terminated). */
TEND_API TendPluginConfig *tend_plugin_config_new (const char *name, const TendConfigKey *keys);
TEND_API TendPluginConfig *tend_plugin_config_ref (TendPluginConfig *self);
TEND_API void tend_plugin_config_unref (TendPluginConfig *self);

/** tend_plugin_config_set: validates and stores one value; error is the bare reason ("not a duration: 5x"). */
TEND_API gboolean tend_plugin_config_set (TendPluginConfig *self, const char *key, const char *value, GError **error);

TEND_API const char *tend_plugin_config_get_name (TendPluginConfig *self);
TEND_API gboolean tend_plugin_config_get_enabled (TendPluginConfig *self);
TEND_API void tend_plugin_config_set_enabled (TendPluginConfig *self, gboolean enabled);
/** tend_plugin_config_has_key: TRUE when the file set @key (not only its default) */
TEND_API gboolean tend_plugin_config_has_key (TendPluginConfig *self, const char *key);
/* the getters return the file's value or the table's default; they g_critical on a key the table lacks */
TEND_API const char *tend_plugin_config_get_string (TendPluginConfig *self, const char *key);
TEND_API gboolean tend_plugin_config_get_bool (TendPluginConfig *self, const char *key);
TEND_API guint64 tend_plugin_config_get_uint (TendPluginConfig *self, const char *key);
TEND_API guint64 tend_plugin_config_get_duration (TendPluginConfig *self, const char *key);
TEND_API guint64 tend_plugin_config_get_size (TendPluginConfig *self, const char *key);
/** tend_plugin_config_get_list: trimmed items; never NULL (free with g_strfreev) */
TEND_API GStrv tend_plugin_config_get_list (TendPluginConfig *self, const char *key);
/** tend_plugin_config_equal: same name, enabled flag and values */
TEND_API gboolean tend_plugin_config_equal (TendPluginConfig *a, TendPluginConfig *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendPluginConfig, tend_plugin_config_unref)

G_END_DECLS
