/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>
#include <sys/types.h>

#include "tend-enums.h"

G_BEGIN_DECLS

/**
 * TendServiceConfig:
 *
 * The validated, immutable description of one `[service:NAME]` group (or of an
 * ad hoc service). Reference counted; never modified after the reader or
 * tend_service_config_new() hands it out, so it can be shared between the
 * running service and a configuration being compared on reload.
 *
 * Paths (cwd, env_file, out_file, error_file) are absolute once the reader
 * has resolved them against the configuration file's folder; out_file and
 * error_file stay NULL when the SPEC defaults ($TEND_HOME/logs/...) apply.
 */
typedef struct {
  char *name;
  char *exec;  /* as written */
  char **argv; /* exec split like shell words; /bin/sh -c exec when shell */
  gboolean shell;
  char *cwd;
  char **env; /* KEY=VALUE from the `env` key, in order */
  char *env_file;
  char *user;
  char *group;
  guint instances;
  char *increment_var;
  TendAutorestart autorestart;
  guint max_restarts;
  guint64 min_uptime_ms;
  guint64 restart_delay_ms;
  guint64 exp_backoff_restart_delay_ms; /* 0: off */
  guint64 max_backoff_ms;
  int kill_signal;
  guint64 kill_timeout_ms;
  char *out_file;
  char *error_file;
  gboolean merge_logs;
  char *log_date_format;
  guint port; /* 0: none */
  char *layer;
  gboolean critical;
  char **depends_on;
  char *ready_check;
  gboolean notify;
  gboolean start;
  char *match; /* how tend migrate recognises its unsupervised processes; the daemon does not use it */

  /* where it was defined, for messages; NULL/0 for ad hoc services */
  char *source_file;
  guint source_line;

  /*
   * The D-Bus caller that added it (StartConfig, AddService) when that was
   * neither root nor tendd's own user, else (uid_t) -1. Its env-file is read
   * with that caller's rights unless user= says whose (tend_env_file_read()).
   * Ignored by tend_service_config_equal(): it says who may read, not what
   * runs, and the same service added again by another admin is still the
   * same service. Saved in the dump (added-by=UID) so resurrect keeps it.
   */
  uid_t added_by_uid;

  /*
   * The keys plugins add to the group (TendPluginInfo.service_keys) that the
   * file set: key -> value in the canonical text of tend_config_key_normalize(),
   * or NULL when none. Read it with tend_service_config_get_plugin_value().
   */
  GHashTable *plugin_values;
} TendServiceConfig;

TEND_API GType tend_service_config_get_type (void);
#define TEND_TYPE_SERVICE_CONFIG (tend_service_config_get_type ())

/** tend_service_config_new: a config with SPEC defaults for @name; fill fields, then share it read-only. */
TEND_API TendServiceConfig *tend_service_config_new (const char *name);
TEND_API TendServiceConfig *tend_service_config_ref (TendServiceConfig *self);
TEND_API void tend_service_config_unref (TendServiceConfig *self);
/** tend_service_config_equal: TRUE when running @a or @b would be the same (source position and added_by_uid ignored). */
TEND_API gboolean tend_service_config_equal (const TendServiceConfig *a, const TendServiceConfig *b);
/**
 * tend_service_config_to_key_file:
 * Writes @self as a `[service:NAME]` group of @kf with only non-default keys,
 * so that reading it back gives an equal config (used by `tend save`), and
 * added-by=UID when added_by_uid is set, which only a reader given
 * TEND_CONFIG_FLAGS_DUMP accepts.
 */
TEND_API void tend_service_config_to_key_file (const TendServiceConfig *self, GKeyFile *kf);

/**
 * tend_service_config_get_plugin_value:
 * The value the file gave plugin key @key (one of some plugin's
 * service_keys), normalized as tend_config_key_normalize() does; NULL when
 * the group does not set it, so that the plugin's own default applies.
 */
TEND_API const char *tend_service_config_get_plugin_value (const TendServiceConfig *self, const char *key);
/** tend_service_config_set_plugin_value: stores an already normalized @value (the reader; tests) */
TEND_API void tend_service_config_set_plugin_value (TendServiceConfig *self, const char *key, const char *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendServiceConfig, tend_service_config_unref)

G_END_DECLS
