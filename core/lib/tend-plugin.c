/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-plugin.h"

G_DEFINE_INTERFACE (TendPlugin, tend_plugin, G_TYPE_OBJECT)

static void
default_stop_async (TendPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_return_boolean (task, TRUE);
}

static gboolean
default_stop_finish (TendPlugin *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
tend_plugin_default_init (TendPluginInterface *iface)
{
  iface->stop_async = default_stop_async;
  iface->stop_finish = default_stop_finish;
}

gboolean
tend_plugin_setup (TendPlugin *self, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendPluginInterface *iface = TEND_PLUGIN_GET_IFACE (self);

  if (iface->setup == NULL)
    return TRUE;
  return iface->setup (self, context, config, error);
}

gboolean
tend_plugin_start (TendPlugin *self, GError **error)
{
  TendPluginInterface *iface = TEND_PLUGIN_GET_IFACE (self);

  if (iface->start == NULL)
    return TRUE;
  return iface->start (self, error);
}

void
tend_plugin_stop_async (TendPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TEND_PLUGIN_GET_IFACE (self)->stop_async (self, cancellable, callback, user_data);
}

gboolean
tend_plugin_stop_finish (TendPlugin *self, GAsyncResult *result, GError **error)
{
  return TEND_PLUGIN_GET_IFACE (self)->stop_finish (self, result, error);
}

gboolean
tend_plugin_reload (TendPlugin *self, TendPluginConfig *config, GError **error)
{
  TendPluginInterface *iface = TEND_PLUGIN_GET_IFACE (self);

  if (iface->reload == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "the plugin cannot reload");
    return FALSE;
  }
  return iface->reload (self, config, error);
}

void
tend_plugin_add_status (TendPlugin *self, GVariantDict *status)
{
  TendPluginInterface *iface = TEND_PLUGIN_GET_IFACE (self);

  if (iface->add_status != NULL)
    iface->add_status (self, status);
}
