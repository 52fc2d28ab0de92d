/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to the configuration reader (tend-config.c and the [service:NAME]
 * part, tend-config-service.c): the line map of the pre-scan and the helpers
 * that word errors as FILE:LINE: [group] key: reason.
 */

#include <glib.h>

#include "tend-config-private.h"
#include "tend-plugin-registry.h"
#include "tend-service-config.h"

G_BEGIN_DECLS

typedef struct {
  char *key;
  guint line;
} KeyLine;

typedef struct {
  char *name;
  guint line;
  GPtrArray *keys;         /* KeyLine, file order */
  GHashTable *keys_by_name; /* key -> KeyLine (borrowed from keys) */
} GroupLines;

typedef struct {
  const char *path;     /* for messages */
  const char *base_dir; /* relative paths are resolved against it */
  TendConfigFlags flags;
  TendPluginRegistry *registry;
  GKeyFile *kf;
  GPtrArray *groups;           /* GroupLines, file order */
  GHashTable *groups_by_name;  /* name -> GroupLines (borrowed from groups) */
  GHashTable *plugins_by_name; /* name -> TendPluginConfig, once the plugin groups are read (borrowed) */
  GHashTable *warned_plugins;  /* plugins whose keys were already warned about in this file */
  GPtrArray *warnings;         /* the config's warnings, to add to (borrowed) */
} Reader;

G_GNUC_INTERNAL void tend_config_set_group_error (GError **error, Reader *r, const GroupLines *g, const char *format, ...)
  G_GNUC_PRINTF (4, 5);
G_GNUC_INTERNAL void tend_config_set_key_error (GError **error, Reader *r, const GroupLines *g, const KeyLine *kl,
                                                const char *format, ...) G_GNUC_PRINTF (5, 6);
/** tend_config_set_value_error: "[group] key: REASON" from a parser's @reason about @value */
G_GNUC_INTERNAL void tend_config_set_value_error (GError **error, Reader *r, const GroupLines *g, const KeyLine *kl,
                                                  const char *value, const GError *reason);
G_GNUC_INTERNAL KeyLine *tend_config_find_key_line (const GroupLines *g, const char *key);
/** tend_config_fetch_value: the key's value, escapes processed, trimmed */
G_GNUC_INTERNAL char *tend_config_fetch_value (Reader *r, const GroupLines *g, const KeyLine *kl, GError **error);
/** tend_config_fetch_list_value: a list value as one ';'-joined string */
G_GNUC_INTERNAL char *tend_config_fetch_list_value (Reader *r, const GroupLines *g, const KeyLine *kl, GError **error);
/** tend_config_resolve_path: @value made absolute against the file's folder */
G_GNUC_INTERNAL char *tend_config_resolve_path (Reader *r, const char *value);
G_GNUC_INTERNAL gboolean tend_config_env_name_is_valid (const char *name);
G_GNUC_INTERNAL gboolean tend_config_check_user (const char *name, GError **error);
G_GNUC_INTERNAL gboolean tend_config_check_group (const char *name, GError **error);
/** tend_config_read_service_group: one [service:NAME] group, every key checked */
G_GNUC_INTERNAL TendServiceConfig *tend_config_read_service_group (Reader *r, const GroupLines *g, const char *name,
                                                                   GError **error);

G_END_DECLS
