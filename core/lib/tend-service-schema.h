/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-api.h"
#include "tend-service-config.h"

G_BEGIN_DECLS

/**
 * TendServiceKeyType:
 * How a `[service:NAME]` value is read, compared and written back.
 * The C storage of each type in TendServiceConfig is given in brackets.
 */
typedef enum {
  TEND_SERVICE_KEY_STRING,   /* char *: any text but empty */
  TEND_SERVICE_KEY_COMMAND,  /* char *: a command line, not empty */
  TEND_SERVICE_KEY_PATH,     /* char *: resolved against the file's folder */
  TEND_SERVICE_KEY_BOOL,     /* gboolean */
  TEND_SERVICE_KEY_UINT,     /* guint within [min, max] */
  TEND_SERVICE_KEY_DURATION, /* guint64 milliseconds within [min, max] */
  TEND_SERVICE_KEY_SIZE,     /* guint64 bytes within [min, max] */
  TEND_SERVICE_KEY_SIGNAL,   /* int: a signal name or number */
  TEND_SERVICE_KEY_RESTART,  /* TendAutorestart: true, on-failure, false */
  TEND_SERVICE_KEY_ENV,      /* char **: KEY=VALUE;... (a list value) */
  TEND_SERVICE_KEY_NAMES,    /* char **: service names, a list value */
  TEND_SERVICE_KEY_USER,     /* char *: an existing user */
  TEND_SERVICE_KEY_GROUP,    /* char *: an existing group */
  TEND_SERVICE_KEY_VAR_NAME, /* char *: an environment variable's name */
  TEND_SERVICE_KEY_CHECK,    /* char *: http://, tcp:// or exec: check */
  TEND_SERVICE_KEY_DATE_FORMAT, /* char *: a strftime format (tend_date_format_check()) */
  TEND_SERVICE_KEY_MATCH,       /* char *: cmdline:REGEX, pidfile:PATH or REGEX (tend_parse_match()) */
} TendServiceKeyType;

/**
 * TendServiceKeyFlags:
 * @TEND_SERVICE_KEY_DESCRIBE: `tend describe` shows the value even when it is the default
 */
typedef enum {
  TEND_SERVICE_KEY_NONE = 0,
  TEND_SERVICE_KEY_DESCRIBE = 1 << 0,
} TendServiceKeyFlags;

/**
 * TendServiceKey:
 * One row of the `[service:NAME]` schema. @offset is where the value lives
 * in TendServiceConfig; @def is the default of a number-like type (bool,
 * uint, duration, size, signal, restart), while every text default is NULL,
 * written in the docs as @def_text when set (e.g. "(required)").
 */
typedef struct {
  const char *name;
  TendServiceKeyType type;
  gsize offset;
  guint64 def;
  guint64 min;
  guint64 max;
  TendServiceKeyFlags flags;
  const char *doc; /* N_() marked: one line for --help and `tend _keys` */
} TendServiceKey;

/** tend_service_schema_get_keys: the table, @n_keys rows, in the order the docs list them */
TEND_API const TendServiceKey *tend_service_schema_get_keys (guint *n_keys);
/** tend_service_schema_lookup: the row named @name, or NULL */
TEND_API const TendServiceKey *tend_service_schema_lookup (const char *name);
/** tend_service_schema_type_name: "duration", "bool", ...: how --help and completion name a type */
TEND_API const char *tend_service_schema_type_name (TendServiceKeyType type);

/** tend_service_schema_set_defaults: every field of the table to its default */
TEND_API void tend_service_schema_set_defaults (TendServiceConfig *config);
/** tend_service_schema_clear: frees every text and list field of the table */
TEND_API void tend_service_schema_clear (TendServiceConfig *config);
/** tend_service_schema_field_equal: @key's field is the same in @a and @b (NULL and an empty list both mean none) */
TEND_API gboolean tend_service_schema_field_equal (const TendServiceKey *key,
                                          const TendServiceConfig *a,
                                          const TendServiceConfig *b);
/** tend_service_schema_field_is_default: @key's field holds its default */
TEND_API gboolean tend_service_schema_field_is_default (const TendServiceKey *key, const TendServiceConfig *config);
/**
 * tend_service_schema_write_field: sets @key's field of @config in @kf's
 * @group as the reader reads it back (lists as lists; trailing blanks kept);
 * nothing when a text or list field is unset.
 */
TEND_API void tend_service_schema_write_field (const TendServiceKey *key,
                                      const TendServiceConfig *config,
                                      GKeyFile *kf,
                                      const char *group);
/** tend_service_schema_format_default: @key's default as the file writes it; NULL when it has none */
TEND_API char *tend_service_schema_format_default (const TendServiceKey *key);

G_END_DECLS
