/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [service:NAME] groups of the configuration reader: one parser per key. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "tend-config-reader.h"
#include "tend-date-format.h"
#include "tend-env-file.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-service-schema.h"

/* ---------------------------------------------------------------------- */
/* [service:NAME] */

/* One parser per type of the schema (tend-service-schema.c); @field is the row's field of the config. */
static gboolean
parse_command (const char *value, char **field, GError **error)
{
  if (value[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty command");
    return FALSE;
  }
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
parse_env (const char *value, char ***field, GError **error)
{
  g_auto(GStrv) env = NULL;

  if (!tend_parse_env_list (value, &env, error))
    return FALSE;
  *field = env[0] != NULL ? g_steal_pointer (&env) : NULL;
  return TRUE;
}

static gboolean
parse_var_name (const char *value, char **field, GError **error)
{
  g_autofree char *quoted = NULL;

  if (!tend_config_env_name_is_valid (value)) {
    quoted = tend_quote_for_message (value, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a variable name: %s (use letters, digits and _, not starting with a digit)",
                 quoted);
    return FALSE;
  }
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
parse_autorestart (const char *value, TendAutorestart *field, GError **error)
{
  g_autofree char *quoted = NULL;

  if (!tend_autorestart_from_string (value, field)) {
    quoted = tend_quote_for_message (value, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a valid choice: %s (use true, on-failure or false)", quoted);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_names (const char *value, char ***field, GError **error)
{
  g_autofree char *quoted = NULL;
  g_auto(GStrv) names = tend_parse_name_list (value);

  for (guint i = 0; names[i] != NULL; i++) {
    if (!tend_service_name_is_valid (names[i])) {
      quoted = tend_quote_for_message (names[i], -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a service name: %s", quoted);
      return FALSE;
    }
  }
  *field = names[0] != NULL ? g_steal_pointer (&names) : NULL;
  return TRUE;
}

/* GLib's message about a command line quotes the whole line: echo it shortened and escaped too */
static char *
shell_error_text (const GError *error, const char *command)
{
  g_autoptr(GString) text = g_string_new (error->message);
  g_autofree char *shortened = tend_shorten_for_message (command, -1);

  if (command[0] != '\0' && strcmp (shortened, command) != 0)
    g_string_replace (text, command, shortened, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
parse_check (const char *value, char **field, GError **error)
{
  gboolean needs_port;

  if (!tend_parse_check (value, &needs_port, error))
    return FALSE;
  *field = g_strdup (value);
  return TRUE;
}

static char *
service_keys_text (Reader *r)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_auto(GStrv) plugins = tend_plugin_registry_list (r->registry);
  guint n_keys;
  const TendServiceKey *keys = tend_service_schema_get_keys (&n_keys);

  for (guint i = 0; i < n_keys; i++) {
    if (i > 0)
      g_string_append (s, ", ");
    g_string_append (s, keys[i].name);
  }
  /* then the keys of the plugins this file enables, in name order: those a user can set and have act */
  for (guint p = 0; plugins[p] != NULL; p++) {
    TendPluginConfig *pc = r->plugins_by_name != NULL ? g_hash_table_lookup (r->plugins_by_name, plugins[p]) : NULL;
    const TendPluginInfo *info = tend_plugin_registry_lookup (r->registry, plugins[p]);

    if (pc == NULL || !tend_plugin_config_get_enabled (pc))
      continue;
    for (guint k = 0; info->service_keys != NULL && info->service_keys[k].name != NULL; k++)
      g_string_append_printf (s, ", %s", info->service_keys[k].name);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
apply_service_key (Reader *r, TendServiceConfig *svc, const TendServiceKey *sk, const char *value, GError **error)
{
  gpointer field = G_STRUCT_MEMBER_P (svc, sk->offset);

  switch (sk->type) {
  case TEND_SERVICE_KEY_STRING:
    if (value[0] == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty value");
      return FALSE;
    }
    *(char **) field = g_strdup (value);
    return TRUE;
  case TEND_SERVICE_KEY_COMMAND:
    return parse_command (value, field, error);
  case TEND_SERVICE_KEY_PATH:
    if (value[0] == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty path");
      return FALSE;
    }
    /* an env-file is read once the whole group is known (user= says whose rights read it) */
    *(char **) field = tend_config_resolve_path (r, value);
    return TRUE;
  case TEND_SERVICE_KEY_BOOL:
    return tend_parse_bool (value, (gboolean *) field, error);
  case TEND_SERVICE_KEY_UINT: {
    guint64 v;
    if (!tend_parse_uint (value, sk->min, sk->max, &v, error))
      return FALSE;
    *(guint *) field = (guint) v;
    return TRUE;
  }
  case TEND_SERVICE_KEY_DURATION:
    return tend_parse_duration_in_range (value, sk->min, sk->max, (guint64 *) field, error);
  case TEND_SERVICE_KEY_SIZE:
    return tend_parse_size_in_range (value, sk->min, sk->max, (guint64 *) field, error);
  case TEND_SERVICE_KEY_SIGNAL:
    return tend_parse_signal (value, (int *) field, error);
  case TEND_SERVICE_KEY_RESTART:
    return parse_autorestart (value, field, error);
  case TEND_SERVICE_KEY_ENV:
    return parse_env (value, field, error);
  case TEND_SERVICE_KEY_NAMES:
    return parse_names (value, field, error);
  case TEND_SERVICE_KEY_USER:
    if (!tend_config_check_user (value, error))
      return FALSE;
    *(char **) field = g_strdup (value);
    return TRUE;
  case TEND_SERVICE_KEY_GROUP:
    if (!tend_config_check_group (value, error))
      return FALSE;
    *(char **) field = g_strdup (value);
    return TRUE;
  case TEND_SERVICE_KEY_VAR_NAME:
    return parse_var_name (value, field, error);
  case TEND_SERVICE_KEY_CHECK:
    return parse_check (value, field, error);
  case TEND_SERVICE_KEY_DATE_FORMAT:
    if (!tend_date_format_check (value, error))
      return FALSE;
    *(char **) field = g_strdup (value);
    return TRUE;
  case TEND_SERVICE_KEY_MATCH:
    if (!tend_parse_match (value, NULL, NULL, error))
      return FALSE;
    *(char **) field = g_strdup (value);
    return TRUE;
  default:
    g_assert_not_reached ();
  }
  return FALSE;
}

/*
 * The value @name gets from env, else from the env-file's items @file_env;
 * NULL when only the daemon's environment can tell. @out_from_file: it came
 * from the file, whose content no message may quote.
 */
static char *
configured_env_value (const TendServiceConfig *svc, char **file_env, const char *name, gboolean *out_from_file)
{
  const char *value = svc->env != NULL ? g_environ_getenv (svc->env, name) : NULL;

  *out_from_file = FALSE;
  if (value != NULL)
    return g_strdup (value);
  if (file_env != NULL) {
    /* in a .env file a later line wins, as it does when the service starts */
    for (guint i = g_strv_length (file_env); i > 0; i--) {
      const char *item = file_env[i - 1];
      gsize len = strlen (name);
      if (strncmp (item, name, len) == 0 && item[len] == '=') {
        *out_from_file = TRUE;
        return g_strdup (item + len + 1);
      }
    }
  }
  return NULL;
}

/*
 * increment-var: instance i gets the base value plus i. When the file sets the
 * base, the whole series is checked now rather than at each start: a number,
 * at most 4294967295, and for a port (PORT, or a name ending in _PORT) at most
 * 65535.
 */
static gboolean
check_increment_var (const TendServiceConfig *svc, char **file_env, GError **error)
{
  g_autofree char *quoted = NULL;
  gboolean from_file;
  g_autofree char *base_text = configured_env_value (svc, file_env, svc->increment_var, &from_file);
  const char *name = svc->increment_var;
  gboolean is_port = strcmp (name, "PORT") == 0 || g_str_has_suffix (name, "_PORT");
  guint64 limit = is_port ? 65535 : G_MAXUINT32;
  guint64 base, last;

  if (base_text == NULL)
    return TRUE;
  /* the env-file's values are its owner's: named, never shown */
  if (!tend_parse_uint (base_text, 0, G_MAXUINT32, &base, NULL) && from_file) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s in the env-file is not a number from 0 to 4294967295", name);
    return FALSE;
  }
  if (!tend_parse_uint (base_text, 0, G_MAXUINT32, &base, NULL)) {
    quoted = tend_quote_for_message (base_text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s is %s, not a number from 0 to 4294967295", name, quoted);
    return FALSE;
  }
  last = base + MAX (svc->instances, 1) - 1;
  if (last > limit && from_file) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s in the env-file with %u instances goes past %" G_GUINT64_FORMAT "%s", name,
                 MAX (svc->instances, 1), limit, is_port ? " (the largest port)" : "");
    return FALSE;
  }
  if (last > limit) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "%s=%" G_GUINT64_FORMAT " with %u instances gives up to %" G_GUINT64_FORMAT ", past %" G_GUINT64_FORMAT
                 "%s",
                 name, base, MAX (svc->instances, 1), last, limit, is_port ? " (the largest port)" : "");
    return FALSE;
  }
  return TRUE;
}

/* a dump's added-by=UID: who added the service over D-Bus, whose rights read its env-file */
static gboolean
read_added_by (Reader *r, const GroupLines *g, const KeyLine *kl, TendServiceConfig *svc, GError **error)
{
  g_autofree char *value = tend_config_fetch_value (r, g, kl, error);
  g_autoptr(GError) local = NULL;
  guint64 uid;

  if (value == NULL)
    return FALSE;
  /* (uid_t) -1 means "nobody in particular", so it is not a uid one may save */
  if (!tend_parse_uint (value, 0, G_MAXUINT32 - 1, &uid, &local)) {
    tend_config_set_value_error (error, r, g, kl, value, local);
    return FALSE;
  }
  svc->added_by_uid = (uid_t) uid;
  return TRUE;
}

/* @key is a plugin's service key of type @type */
static gboolean
plugin_key_has_type (Reader *r, const char *key, TendConfigKeyType type)
{
  const TendConfigKey *row = tend_plugin_registry_find_service_key (r->registry, key, NULL);

  return row != NULL && row->type == type;
}

/*
 * A key no core row knows: a plugin's service key (TendPluginInfo.service_keys)
 * is checked and normalized by its row whether or not that plugin is enabled
 * (the registry knows the rows of every plugin, and a file that is wrong stays
 * wrong when the plugin is turned on); a key no plugin declares is an error.
 * When the file is the daemon's own configuration and the plugin is not
 * enabled in it, the first such key gets one warning for its plugin. Other
 * texts (a file for `tend start FILE`, an ad hoc service, a dump) have no
 * [plugin:NAME] groups of their own, so they cannot tell.
 */
static gboolean
read_plugin_service_key (Reader *r, const GroupLines *g, const KeyLine *kl, TendServiceConfig *svc, GError **error)
{
  const char *plugin = NULL;
  const TendConfigKey *key = tend_plugin_registry_find_service_key (r->registry, kl->key, &plugin);
  TendPluginConfig *pc;
  g_autofree char *value = NULL;
  g_autofree char *normalized = NULL;
  g_autoptr(GError) local = NULL;

  if (key == NULL) {
    g_autofree char *known = service_keys_text (r);
    tend_config_set_key_error (error, r, g, kl, "unknown key (known keys: %s)", known);
    return FALSE;
  }
  value = tend_config_fetch_value (r, g, kl, error);
  if (value == NULL)
    return FALSE;
  if (key->type == TEND_CONFIG_KEY_PATH && value[0] != '\0') {
    char *resolved = tend_config_resolve_path (r, value);
    g_free (value);
    value = resolved;
  }
  normalized = tend_config_key_normalize (key, value, &local);
  if (normalized == NULL) {
    tend_config_set_value_error (error, r, g, kl, value, local);
    return FALSE;
  }
  tend_service_config_set_plugin_value (svc, kl->key, normalized);

  pc = r->plugins_by_name != NULL ? g_hash_table_lookup (r->plugins_by_name, plugin) : NULL;
  if ((r->flags & (TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES | TEND_CONFIG_FLAGS_DUMP)) == 0 &&
      (pc == NULL || !tend_plugin_config_get_enabled (pc)) && !g_hash_table_contains (r->warned_plugins, plugin)) {
    g_autofree char *group = tend_shorten_for_message (g->name, -1);
    char *text = g_strdup_printf (_("%s:%u: [%s] %s: belongs to the %s plugin, which is not enabled "
                                    "(enable it in [plugin:%s]); ignored"),
                                  r->path, kl->line, group, kl->key, plugin, plugin);

    g_hash_table_add (r->warned_plugins, g_strdup (plugin));
    g_message ("%s", text);
    g_ptr_array_add (r->warnings, text);
  }
  return TRUE;
}

TendServiceConfig *
tend_config_read_service_group (Reader *r, const GroupLines *g, const char *name, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autoptr(TendServiceConfig) svc = tend_service_config_new (name);
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) file_env = NULL;
  const KeyLine *exec_line;

  svc->source_file = g_strdup (r->path);
  svc->source_line = g->line;

  for (guint i = 0; i < g->keys->len; i++) {
    const KeyLine *kl = g_ptr_array_index (g->keys, i);
    const TendServiceKey *sk = tend_service_schema_lookup (kl->key);
    g_autofree char *value = NULL;

    if (sk == NULL && strcmp (kl->key, "added-by") == 0 && (r->flags & TEND_CONFIG_FLAGS_DUMP)) {
      if (!read_added_by (r, g, kl, svc, error))
        return NULL;
      continue;
    }
    if (sk == NULL) {
      if (!read_plugin_service_key (r, g, kl, svc, error))
        return NULL;
      continue;
    }
    if (sk->type == TEND_SERVICE_KEY_ENV)
      value = tend_config_fetch_list_value (r, g, kl, error);
    else
      value = tend_config_fetch_value (r, g, kl, error);
    if (value == NULL)
      return NULL;
    if (!apply_service_key (r, svc, sk, value, &local)) {
      tend_config_set_value_error (error, r, g, kl, value, local);
      return NULL;
    }
  }

  exec_line = tend_config_find_key_line (g, "exec");
  if (exec_line == NULL) {
    tend_config_set_group_error (error, r, g, "missing required key exec (the command to run)");
    return NULL;
  }
  if (svc->shell) {
    const char *argv[] = { "/bin/sh", "-c", svc->exec, NULL };
    svc->argv = g_strdupv ((char **) argv);
  } else if (!g_shell_parse_argv (svc->exec, NULL, &svc->argv, &local)) {
    g_autofree char *reason = shell_error_text (local, svc->exec);

    tend_config_set_key_error (error, r, g, exec_line, "cannot split the command line: %s", reason);
    return NULL;
  }

  /* checked now so a typo fails the read, with the rights it will be read with at each start */
  if (svc->env_file != NULL && !tend_env_file_read (svc, &file_env, &local)) {
    tend_config_set_key_error (error, r, g, tend_config_find_key_line (g, "env-file"), "%s", local->message);
    return NULL;
  }
  if (svc->increment_var != NULL && !check_increment_var (svc, file_env, &local)) {
    tend_config_set_key_error (error, r, g, tend_config_find_key_line (g, "increment-var"), "%s", local->message);
    return NULL;
  }

  /* "tcp://HOST" takes the service's port, so it needs one: ready-check, and a plugin's checked probe keys */
  for (guint i = 0; i < g->keys->len; i++) {
    const KeyLine *kl = g_ptr_array_index (g->keys, i);
    const TendServiceKey *sk = tend_service_schema_lookup (kl->key);
    const char *value = NULL;
    gboolean needs_port = FALSE;

    if (sk != NULL && sk->type == TEND_SERVICE_KEY_CHECK) {
      value = G_STRUCT_MEMBER (const char *, svc, sk->offset);
    } else if (sk == NULL && plugin_key_has_type (r, kl->key, TEND_CONFIG_KEY_CHECK_URL)) {
      value = tend_service_config_get_plugin_value (svc, kl->key);
    }
    if (value == NULL)
      continue;
    tend_parse_check (value, &needs_port, NULL);
    if (needs_port && svc->port == 0) {
      quoted = tend_quote_for_message (value, -1);
      tend_config_set_key_error (error, r, g, kl, "no port in %s and no port= key (use tcp://HOST:PORT)", quoted);
      return NULL;
    }
  }
  return g_steal_pointer (&svc);
}

