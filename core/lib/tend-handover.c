/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-handover-private.h"

struct _TendHandover {
  GHashTable *fds;    /* key → fd */
  GHashTable *values; /* key → GVariant */
};

TendHandover *
tend_handover_new (void)
{
  TendHandover *self = g_new0 (TendHandover, 1);

  self->fds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  return self;
}

void
tend_handover_free (TendHandover *self)
{
  g_hash_table_unref (self->fds);
  g_hash_table_unref (self->values);
  g_free (self);
}

void
tend_handover_add_fd (TendHandover *self, const char *key, int fd)
{
  g_return_if_fail (self != NULL && key != NULL && fd >= 0);
  g_hash_table_insert (self->fds, g_strdup (key), GINT_TO_POINTER (fd));
}

void
tend_handover_set_value (TendHandover *self, const char *key, GVariant *value)
{
  g_return_if_fail (self != NULL && key != NULL && value != NULL);
  g_hash_table_insert (self->values, g_strdup (key), g_variant_ref_sink (value));
}

GHashTable *
tend_handover_get_fds (TendHandover *self)
{
  return self->fds;
}

GHashTable *
tend_handover_get_values (TendHandover *self)
{
  return self->values;
}
