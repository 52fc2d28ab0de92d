/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "tend-parse.h"
#include "tend-service-config.h"
#include "tend-service-schema.h"

G_DEFINE_BOXED_TYPE (TendServiceConfig, tend_service_config, tend_service_config_ref, tend_service_config_unref)

TendServiceConfig *
tend_service_config_new (const char *name)
{
  TendServiceConfig *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_atomic_rc_box_new0 (TendServiceConfig);
  self->name = g_strdup (name);
  tend_service_schema_set_defaults (self);
  self->added_by_uid = (uid_t) -1;
  return self;
}

TendServiceConfig *
tend_service_config_ref (TendServiceConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
service_config_clear (gpointer data)
{
  TendServiceConfig *self = data;

  g_free (self->name);
  g_strfreev (self->argv);
  tend_service_schema_clear (self);
  g_free (self->source_file);
  g_clear_pointer (&self->plugin_values, g_hash_table_unref);
}

void
tend_service_config_unref (TendServiceConfig *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, service_config_clear);
}

/* NULL and an empty vector both mean "none" */
static gboolean
strv_equal0 (char **a, char **b)
{
  gboolean a_empty = a == NULL || a[0] == NULL;
  gboolean b_empty = b == NULL || b[0] == NULL;

  if (a_empty || b_empty)
    return a_empty == b_empty;
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

static guint
plugin_values_size (GHashTable *values)
{
  return values != NULL ? g_hash_table_size (values) : 0;
}

/* both are normalized text, so equal values are equal strings */
static gboolean
plugin_values_equal (GHashTable *a, GHashTable *b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (plugin_values_size (a) != plugin_values_size (b))
    return FALSE;
  if (plugin_values_size (a) == 0)
    return TRUE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    if (g_strcmp0 (value, g_hash_table_lookup (b, key)) != 0)
      return FALSE;
  }
  return TRUE;
}

const char *
tend_service_config_get_plugin_value (const TendServiceConfig *self, const char *key)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return self->plugin_values != NULL ? g_hash_table_lookup (self->plugin_values, key) : NULL;
}

void
tend_service_config_set_plugin_value (TendServiceConfig *self, const char *key, const char *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);

  if (self->plugin_values == NULL)
    self->plugin_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (self->plugin_values, g_strdup (key), g_strdup (value));
}

gboolean
tend_service_config_equal (const TendServiceConfig *a, const TendServiceConfig *b)
{
  const TendServiceKey *keys;
  guint n_keys;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a == b)
    return TRUE;
  if (g_strcmp0 (a->name, b->name) != 0 || !strv_equal0 (a->argv, b->argv))
    return FALSE;
  keys = tend_service_schema_get_keys (&n_keys);
  for (guint i = 0; i < n_keys; i++) {
    if (!tend_service_schema_field_equal (&keys[i], a, b))
      return FALSE;
  }
  return plugin_values_equal (a->plugin_values, b->plugin_values);
}

static int
compare_names (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
tend_service_config_to_key_file (const TendServiceConfig *self, GKeyFile *kf)
{
  g_autofree char *group = NULL;
  const TendServiceKey *keys;
  guint n_keys;

  g_return_if_fail (self != NULL);
  g_return_if_fail (kf != NULL);

  group = g_strconcat ("service:", self->name, NULL);

  /* a plugin's service may only have argv; quote it back into a command line */
  if (self->exec == NULL && self->argv != NULL) {
    g_autoptr(GString) line = g_string_new (NULL);
    for (guint i = 0; self->argv[i] != NULL; i++) {
      g_autofree char *quoted = g_shell_quote (self->argv[i]);
      if (i > 0)
        g_string_append_c (line, ' ');
      g_string_append (line, quoted);
    }
    g_key_file_set_string (kf, group, "exec", line->str);
  }
  keys = tend_service_schema_get_keys (&n_keys);
  for (guint i = 0; i < n_keys; i++) {
    if (!tend_service_schema_field_is_default (&keys[i], self))
      tend_service_schema_write_field (&keys[i], self, kf, group);
  }
  if (self->plugin_values != NULL) {
    /* sorted, so that the same config always gives the same file */
    g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (self->plugin_values, NULL);

    g_qsort_with_data (names, (gint) g_hash_table_size (self->plugin_values), sizeof (char *), compare_names, NULL);
    for (guint i = 0; names[i] != NULL; i++)
      g_key_file_set_string (kf, group, names[i], g_hash_table_lookup (self->plugin_values, names[i]));
  }
  if (self->added_by_uid != (uid_t) -1)
    g_key_file_set_uint64 (kf, group, "added-by", self->added_by_uid);
}
