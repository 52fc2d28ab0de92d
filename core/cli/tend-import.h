/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * TendImportOptions:
 * How `tend import` reads one PM2 file.
 */
typedef struct {
  const char *source;        /* the file as the user named it: the prefix of every warning */
  const char *source_dir;    /* absolute: PM2's cwd when an app has none (pm2 start ran there) */
  const char *env_name;      /* --env NAME: env_NAME is merged over env; nullable */
  gboolean keep_cloudflared; /* a cloudflared app stays a plain service */
  const char *pm2_logs_dir;  /* a dump: PM2_HOME/logs, whose default log paths are not carried over; nullable */
} TendImportOptions;

/**
 * tend_import_convert:
 * @root: the file's JSON: {apps: [...]}, a bare array of apps, or a PM2 dump
 *   (an array of process objects with pm_exec_path and friends)
 * @out_warnings: (out): the warnings, each "app NAME: key: what" (or "key: what" for the file)
 * The Tend configuration for @root. Every key of every app is mapped or
 * warned about; the warnings are also written into the text as comments above
 * their service. NULL with @error set when @root is not a PM2 file or an app
 * cannot be converted at all (no script, a bad name).
 */
char *tend_import_convert (JsonNode *root, const TendImportOptions *options, GPtrArray **out_warnings, GError **error);

/**
 * tend_import_escape_value:
 * @value as GKeyFile must read it back: "\\" for a backslash, "\n", "\t",
 * "\r", and "\s" for a blank at either end.
 */
char *tend_import_escape_value (const char *value);

/**
 * tend_import_escape_env_item:
 * One KEY=VALUE of an `env=` list: tend_import_escape_value's escapes, and a
 * ';' written "\;" (the list separator). The reader keeps both escaped for
 * tend_parse_env_list(), which reads them as one backslash and one ';'.
 */
char *tend_import_escape_env_item (const char *key, const char *value);

G_END_DECLS
