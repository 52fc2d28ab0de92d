/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "tend-error.h"
#include "tend-parse.h"
#include "tend-plugin-config.h"

struct _TendPluginConfig {
  char *name;
  const TendConfigKey *keys; /* static, owned by the plugin module (resident) */
  gboolean enabled;
  GHashTable *values; /* key name -> normalized value text */
};

TendPluginConfig *
tend_plugin_config_new (const char *name, const TendConfigKey *keys)
{
  TendPluginConfig *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_atomic_rc_box_new0 (TendPluginConfig);
  self->name = g_strdup (name);
  self->keys = keys;
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

TendPluginConfig *
tend_plugin_config_ref (TendPluginConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
plugin_config_clear (gpointer data)
{
  TendPluginConfig *self = data;

  g_free (self->name);
  g_hash_table_unref (self->values);
}

void
tend_plugin_config_unref (TendPluginConfig *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, plugin_config_clear);
}

static const TendConfigKey *
find_key (TendPluginConfig *self, const char *key)
{
  for (const TendConfigKey *k = self->keys; k != NULL && k->name != NULL; k++) {
    if (strcmp (k->name, key) == 0)
      return k;
  }
  return NULL;
}

static char *
known_keys (TendPluginConfig *self)
{
  g_autoptr(GString) s = g_string_new ("enabled");

  for (const TendConfigKey *k = self->keys; k != NULL && k->name != NULL; k++)
    g_string_append_printf (s, ", %s", k->name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ';' or ',' separated, trimmed, empty items dropped */
static GStrv
split_list (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = g_strsplit_set (text, ";,", -1);

  for (guint i = 0; parts[i] != NULL; i++) {
    char *item = g_strstrip (parts[i]);
    if (item[0] != '\0')
      g_strv_builder_add (builder, item);
  }
  return g_strv_builder_end (builder);
}

static gboolean
choice_is_valid (const char *choices, const char *value)
{
  g_auto(GStrv) options = g_strsplit (choices != NULL ? choices : "", "|", -1);
  return g_strv_contains ((const char *const *) options, value);
}

static char *
choices_text (const char *choices)
{
  g_auto(GStrv) options = g_strsplit (choices != NULL ? choices : "", "|", -1);
  guint n = g_strv_length (options);
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < n; i++) {
    if (i > 0)
      g_string_append (s, i + 1 == n ? " or " : ", ");
    g_string_append (s, options[i]);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
parse_bound (TendConfigKeyType type, const char *text, guint64 *out)
{
  switch (type) {
  case TEND_CONFIG_KEY_UINT:
    return tend_parse_uint (text, 0, G_MAXUINT64, out, NULL);
  case TEND_CONFIG_KEY_DURATION:
    return tend_parse_duration (text, out, NULL);
  case TEND_CONFIG_KEY_SIZE:
    return tend_parse_size (text, out, NULL);
  default:
    return FALSE;
  }
}

/* A numeric key's range: "MIN..MAX" in @choices, else what every getter's caller can hold. */
static void
key_range (const TendConfigKey *key, guint64 *min, guint64 *max)
{
  const char *dots = key->choices != NULL ? strstr (key->choices, "..") : NULL;

  *min = 0;
  switch (key->type) {
  case TEND_CONFIG_KEY_DURATION:
    *max = TEND_DURATION_MAX_MS;
    break;
  case TEND_CONFIG_KEY_SIZE:
    *max = TEND_SIZE_MAX;
    break;
  default:
    *max = G_MAXUINT32;
    break;
  }
  if (dots != NULL) {
    g_autofree char *low = g_strndup (key->choices, (gsize) (dots - key->choices));
    guint64 lo, hi;

    /* a bad range is the plugin's bug, found by its tests: keep the defaults then */
    if (parse_bound (key->type, low, &lo) && parse_bound (key->type, dots + 2, &hi) && lo <= hi) {
      *min = lo;
      *max = hi;
    } else {
      g_critical ("plugin key %s has a bad range \"%s\"", key->name, key->choices);
    }
  }
}

/*
 * What a listening socket can be bound to without looking a name up: an IP
 * address, or localhost (127.0.0.1 and ::1). A DNS look-up would block the
 * daemon's start, and a name may stand for an address that is not this host's.
 */
static gboolean
listen_host_is_valid (const char *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  return address != NULL || g_ascii_strcasecmp (host, "localhost") == 0;
}

/*
 * Turns a value into the canonical text the getters read back, so that
 * "50M" and "52428800" compare equal and the getters never parse junk.
 */
static char *
normalize (const TendConfigKey *key, const char *value, GError **error)
{
  g_autofree char *quoted = NULL;

  switch (key->type) {
  case TEND_CONFIG_KEY_STRING:
    return g_strdup (value);
  case TEND_CONFIG_KEY_BOOL: {
    gboolean b;
    if (!tend_parse_bool (value, &b, error))
      return NULL;
    return g_strdup (b ? "true" : "false");
  }
  case TEND_CONFIG_KEY_UINT: {
    guint64 v, min, max;
    key_range (key, &min, &max);
    if (!tend_parse_uint (value, min, max, &v, error))
      return NULL;
    return g_strdup_printf ("%" G_GUINT64_FORMAT, v);
  }
  case TEND_CONFIG_KEY_DURATION: {
    guint64 v, min, max;
    key_range (key, &min, &max);
    if (!tend_parse_duration_in_range (value, min, max, &v, error))
      return NULL;
    return tend_format_duration (v);
  }
  case TEND_CONFIG_KEY_SIZE: {
    guint64 v, min, max;
    key_range (key, &min, &max);
    if (!tend_parse_size_in_range (value, min, max, &v, error))
      return NULL;
    return tend_format_size (v);
  }
  case TEND_CONFIG_KEY_CHOICE:
    if (!choice_is_valid (key->choices, value)) {
      g_autofree char *options = choices_text (key->choices);
      quoted = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a valid choice: %s (use %s)", quoted, options);
      return NULL;
    }
    return g_strdup (value);
  case TEND_CONFIG_KEY_LIST: {
    g_auto(GStrv) items = split_list (value);
    return g_strjoinv (";", items);
  }
  case TEND_CONFIG_KEY_LISTEN_LIST: {
    g_auto(GStrv) items = split_list (value);
    if (items[0] == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "empty list (use HOST:PORT, separated by ';')");
      return NULL;
    }
    for (guint i = 0; items[i] != NULL; i++) {
      g_autofree char *host = NULL;
      if (!tend_parse_listen_address (items[i], &host, NULL, error))
        return NULL;
      if (!listen_host_is_valid (host)) {
        g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                     "not an IP address or localhost: \"%s\" (a host name would need a DNS look-up; "
                     "listen on the address it stands for)",
                     host);
        return NULL;
      }
    }
    return g_strjoinv (";", items);
  }
  case TEND_CONFIG_KEY_CHECK_URL: {
    gboolean needs_port;
    /* tcp://HOST takes the service's port: the [service:NAME] reader checks it has one */
    if (!tend_parse_check (value, &needs_port, error))
      return NULL;
    return g_strdup (value);
  }
  case TEND_CONFIG_KEY_PATH:
    if (value[0] == '\0') {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty path");
      return NULL;
    }
    return g_strdup (value);
  default:
    g_assert_not_reached ();
  }
  return NULL;
}

void
tend_config_key_get_range (const TendConfigKey *key, guint64 *out_min, guint64 *out_max)
{
  g_return_if_fail (key != NULL);

  key_range (key, out_min, out_max);
}

char *
tend_config_key_normalize (const TendConfigKey *key, const char *value, GError **error)
{
  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);

  return normalize (key, value, error);
}

gboolean
tend_plugin_config_set (TendPluginConfig *self, const char *key, const char *value, GError **error)
{
  const TendConfigKey *k;
  char *normalized;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (strcmp (key, "enabled") == 0 && find_key (self, key) == NULL) {
    gboolean enabled;
    if (!tend_parse_bool (value, &enabled, error))
      return FALSE;
    self->enabled = enabled;
    return TRUE;
  }
  k = find_key (self, key);
  if (k == NULL) {
    g_autofree char *known = known_keys (self);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "unknown key (known keys: %s)", known);
    return FALSE;
  }
  normalized = normalize (k, value, error);
  if (normalized == NULL)
    return FALSE;
  g_hash_table_replace (self->values, g_strdup (key), normalized);
  return TRUE;
}

const char *
tend_plugin_config_get_name (TendPluginConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->name;
}

gboolean
tend_plugin_config_get_enabled (TendPluginConfig *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->enabled;
}

void
tend_plugin_config_set_enabled (TendPluginConfig *self, gboolean enabled)
{
  g_return_if_fail (self != NULL);
  self->enabled = enabled != FALSE;
}

gboolean
tend_plugin_config_has_key (TendPluginConfig *self, const char *key)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return g_hash_table_contains (self->values, key);
}

/* the file's value or the table's default; NULL when neither */
static const char *
lookup_value (TendPluginConfig *self, const char *key, const TendConfigKey **out_key)
{
  const TendConfigKey *k = find_key (self, key);
  const char *value;

  *out_key = k;
  if (k == NULL) {
    g_critical ("plugin %s has no config key \"%s\"", self->name, key);
    return NULL;
  }
  value = g_hash_table_lookup (self->values, key);
  return value != NULL ? value : k->default_value;
}

static gboolean
check_type (TendPluginConfig *self, const TendConfigKey *k, TendConfigKeyType type)
{
  if (k->type == type)
    return TRUE;
  g_critical ("plugin %s reads config key \"%s\" with a getter of the wrong type", self->name, k->name);
  return FALSE;
}

const char *
tend_plugin_config_get_string (TendPluginConfig *self, const char *key)
{
  const TendConfigKey *k;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return lookup_value (self, key, &k);
}

gboolean
tend_plugin_config_get_bool (TendPluginConfig *self, const char *key)
{
  const TendConfigKey *k;
  const char *value;
  gboolean b = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  value = lookup_value (self, key, &k);
  if (k == NULL || !check_type (self, k, TEND_CONFIG_KEY_BOOL) || value == NULL)
    return FALSE;
  tend_parse_bool (value, &b, NULL);
  return b;
}

guint64
tend_plugin_config_get_uint (TendPluginConfig *self, const char *key)
{
  const TendConfigKey *k;
  const char *value;
  guint64 v = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);
  value = lookup_value (self, key, &k);
  if (k == NULL || !check_type (self, k, TEND_CONFIG_KEY_UINT) || value == NULL)
    return 0;
  tend_parse_uint (value, 0, G_MAXUINT64, &v, NULL);
  return v;
}

guint64
tend_plugin_config_get_duration (TendPluginConfig *self, const char *key)
{
  const TendConfigKey *k;
  const char *value;
  guint64 v = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);
  value = lookup_value (self, key, &k);
  if (k == NULL || !check_type (self, k, TEND_CONFIG_KEY_DURATION) || value == NULL)
    return 0;
  tend_parse_duration (value, &v, NULL);
  return v;
}

guint64
tend_plugin_config_get_size (TendPluginConfig *self, const char *key)
{
  const TendConfigKey *k;
  const char *value;
  guint64 v = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);
  value = lookup_value (self, key, &k);
  if (k == NULL || !check_type (self, k, TEND_CONFIG_KEY_SIZE) || value == NULL)
    return 0;
  tend_parse_size (value, &v, NULL);
  return v;
}

GStrv
tend_plugin_config_get_list (TendPluginConfig *self, const char *key)
{
  const TendConfigKey *k;
  const char *value;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  value = lookup_value (self, key, &k);
  if (k == NULL || value == NULL)
    return g_new0 (char *, 1);
  if (k->type != TEND_CONFIG_KEY_LIST && !check_type (self, k, TEND_CONFIG_KEY_LISTEN_LIST))
    return g_new0 (char *, 1);
  return split_list (value);
}

/* the effective value of @k, normalized so that a default equals the same value written out */
static char *
effective_value (TendPluginConfig *self, const TendConfigKey *k)
{
  const char *value = g_hash_table_lookup (self->values, k->name);
  char *normalized;

  if (value != NULL)
    return g_strdup (value);
  if (k->default_value == NULL)
    return NULL;
  /* a bad default is the plugin's bug; compare it as written */
  normalized = normalize (k, k->default_value, NULL);
  return normalized != NULL ? normalized : g_strdup (k->default_value);
}

gboolean
tend_plugin_config_equal (TendPluginConfig *a, TendPluginConfig *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a == b)
    return TRUE;
  if (g_strcmp0 (a->name, b->name) != 0 || a->enabled != b->enabled)
    return FALSE;
  for (const TendConfigKey *k = a->keys; k != NULL && k->name != NULL; k++) {
    g_autofree char *va = effective_value (a, k);
    g_autofree char *vb = NULL;
    const TendConfigKey *kb = find_key (b, k->name);

    if (kb == NULL)
      return FALSE;
    vb = effective_value (b, kb);
    if (g_strcmp0 (va, vb) != 0)
      return FALSE;
  }
  /* keys only @b knows (a newer module) */
  for (const TendConfigKey *k = b->keys; k != NULL && k->name != NULL; k++) {
    if (find_key (a, k->name) == NULL)
      return FALSE;
  }
  return TRUE;
}
