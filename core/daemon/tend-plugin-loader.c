/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "tend-context-private.h"
#include "tend-error.h"
#include "tend-plugin-loader.h"
#include "tend-service-schema.h"

typedef struct {
  const TendPluginInfo *info;
  TendPlugin *plugin;
  TendPluginConfig *config;
} LoadedPlugin;

struct _TendPluginLoader {
  GObject parent_instance;

  TendContext *context;
  TendPluginRegistry *registry;
  GPtrArray *loaded; /* LoadedPlugin, in start order */
};

G_DEFINE_FINAL_TYPE (TendPluginLoader, tend_plugin_loader, G_TYPE_OBJECT)

static void
loaded_plugin_free (LoadedPlugin *lp)
{
  g_clear_object (&lp->plugin);
  g_clear_pointer (&lp->config, tend_plugin_config_unref);
  g_free (lp);
}

static void
tend_plugin_loader_finalize (GObject *object)
{
  TendPluginLoader *self = TEND_PLUGIN_LOADER (object);

  g_ptr_array_unref (self->loaded);
  g_clear_object (&self->registry);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_plugin_loader_parent_class)->finalize (object);
}

static void
tend_plugin_loader_class_init (TendPluginLoaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_plugin_loader_finalize;
}

static void
tend_plugin_loader_init (TendPluginLoader *self)
{
  self->loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) loaded_plugin_free);
}

TendPluginLoader *
tend_plugin_loader_new (TendContext *context, TendPluginRegistry *registry)
{
  TendPluginLoader *self = g_object_new (TEND_TYPE_PLUGIN_LOADER, NULL);

  self->context = g_object_ref (context);
  self->registry = g_object_ref (registry);
  return self;
}

static LoadedPlugin *
find_loaded (TendPluginLoader *self, const char *name, guint *out_index)
{
  for (guint i = 0; i < self->loaded->len; i++) {
    LoadedPlugin *lp = g_ptr_array_index (self->loaded, i);
    if (g_strcmp0 (lp->info->name, name) == 0) {
      if (out_index != NULL)
        *out_index = i;
      return lp;
    }
  }
  return NULL;
}

static gboolean
is_process_backend (const TendPluginInfo *info)
{
  return info != NULL && (info->flags & TEND_PLUGIN_FLAG_PROCESS_BACKEND) != 0;
}

/* the process backends lead the loaded list */
static guint
count_process_backends (TendPluginLoader *self)
{
  guint n = 0;

  while (n < self->loaded->len && is_process_backend (((LoadedPlugin *) g_ptr_array_index (self->loaded, n))->info))
    n++;
  return n;
}

static gboolean
keys_declare (const TendConfigKey *keys, const char *name)
{
  for (guint i = 0; keys != NULL && keys[i].name != NULL; i++) {
    if (strcmp (keys[i].name, name) == 0)
      return TRUE;
  }
  return FALSE;
}

/*
 * A [service:NAME] key has one owner: the core's schema, or the first plugin
 * loaded that declares it. A second declaration would have two plugins act on
 * one value each reads its own way (or a plugin shadow a core key the reader
 * never hands it), so the later plugin is refused, naming both and the key.
 */
static gboolean
check_service_keys (TendPluginLoader *self, const TendPluginInfo *info, GError **error)
{
  const TendConfigKey *keys = info->service_keys;

  for (guint k = 0; keys != NULL && keys[k].name != NULL; k++) {
    const char *key = keys[k].name;

    /* added-by is the dump's own key (who added a service over D-Bus) */
    if (tend_service_schema_lookup (key) != NULL || strcmp (key, "added-by") == 0) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                   _("plugin %s not loaded: it declares the [service:NAME] key %s, which is a core key"), info->name,
                   key);
      return FALSE;
    }
    for (guint j = 0; j < k; j++) {
      if (strcmp (keys[j].name, key) == 0) {
        g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                     _("plugin %s not loaded: it declares the [service:NAME] key %s twice"), info->name, key);
        return FALSE;
      }
    }
    for (guint i = 0; i < self->loaded->len; i++) {
      LoadedPlugin *lp = g_ptr_array_index (self->loaded, i);

      if (strcmp (lp->info->name, info->name) != 0 && keys_declare (lp->info->service_keys, key)) {
        g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                     _("plugin %s not loaded: it declares the [service:NAME] key %s, which plugin %s already declares"),
                     info->name, key, lp->info->name);
        return FALSE;
      }
    }
  }
  return TRUE;
}

static gboolean
load_one (TendPluginLoader *self, TendPluginConfig *config, GError **error)
{
  const char *name = tend_plugin_config_get_name (config);
  const TendPluginInfo *info = tend_plugin_registry_lookup (self->registry, name);
  g_autoptr(GObject) object = NULL;
  LoadedPlugin *lp;

  /* checked on what the scan copied, so a refused module is never opened for good */
  if (info != NULL && !check_service_keys (self, info, error))
    return FALSE;
  info = tend_plugin_registry_load (self->registry, name, error);
  if (info == NULL) {
    g_prefix_error (error, "plugin %s: ", name);
    return FALSE;
  }
  object = g_object_new (info->get_type (), NULL);
  if (!TEND_IS_PLUGIN (object)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "plugin %s: its type does not implement TendPlugin", name);
    return FALSE;
  }
  /* before setup: from then on the plugin may export D-Bus interfaces under its name */
  tend_context_register_plugin (self->context, TEND_PLUGIN (object), name);
  if (!tend_plugin_setup (TEND_PLUGIN (object), self->context, config, error)) {
    tend_context_unregister_plugin (self->context, TEND_PLUGIN (object));
    g_prefix_error (error, "plugin %s: setup: ", name);
    return FALSE;
  }
  if (!tend_plugin_start (TEND_PLUGIN (object), error)) {
    tend_context_unregister_plugin (self->context, TEND_PLUGIN (object));
    g_prefix_error (error, "plugin %s: start: ", name);
    return FALSE;
  }
  lp = g_new0 (LoadedPlugin, 1);
  lp->info = info;
  lp->plugin = TEND_PLUGIN (g_steal_pointer (&object));
  lp->config = tend_plugin_config_ref (config);
  /* a process backend loaded anew on a reload still goes before the others, so it is stopped last */
  if (is_process_backend (info))
    g_ptr_array_insert (self->loaded, (gint) count_process_backends (self), lp);
  else
    g_ptr_array_add (self->loaded, lp);
  g_message ("plugin %s loaded", name);
  return TRUE;
}

static void
stop_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!tend_plugin_stop_finish (TEND_PLUGIN (source), result, &error))
    g_warning ("plugin stop: %s", error->message);
  if (user_data != NULL)
    g_task_return_boolean (G_TASK (user_data), TRUE);
  g_clear_object (&user_data);
}

static void
unload_at (TendPluginLoader *self, guint index)
{
  LoadedPlugin *lp = g_ptr_array_steal_index (self->loaded, index);

  g_message ("plugin %s unloaded", lp->info->name);
  /* its D-Bus interfaces leave with it, whatever its stop does */
  tend_context_unregister_plugin (self->context, lp->plugin);
  tend_plugin_stop_async (lp->plugin, NULL, stop_done_cb, NULL);
  loaded_plugin_free (lp);
}

static void
append_error (GString *errors, GError *error)
{
  if (errors->len > 0)
    g_string_append_c (errors, '\n');
  g_string_append (errors, error->message);
}

gboolean
tend_plugin_loader_apply (TendPluginLoader *self, TendConfig *config, GError **error)
{
  GPtrArray *configs = tend_config_get_plugins (config);
  g_autoptr(GString) errors = g_string_new (NULL);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  /* unload first, the last started first */
  for (guint i = self->loaded->len; i > 0; i--) {
    LoadedPlugin *lp = g_ptr_array_index (self->loaded, i - 1);
    TendPluginConfig *pc = tend_config_lookup_plugin (config, lp->info->name);
    if (pc == NULL || !tend_plugin_config_get_enabled (pc))
      unload_at (self, i - 1);
  }

  /* process backends come first (as their infos declare): other plugins may act on services when they start */
  for (guint pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < configs->len; i++) {
      TendPluginConfig *pc = g_ptr_array_index (configs, i);
      const TendPluginInfo *info = tend_plugin_registry_lookup (self->registry, tend_plugin_config_get_name (pc));
      if (is_process_backend (info) == (pass == 0))
        g_ptr_array_add (order, pc);
    }
  }

  for (guint i = 0; i < order->len; i++) {
    TendPluginConfig *pc = g_ptr_array_index (order, i);
    const char *name = tend_plugin_config_get_name (pc);
    guint index;
    LoadedPlugin *lp = find_loaded (self, name, &index);
    g_autoptr(GError) local_error = NULL;

    if (!tend_plugin_config_get_enabled (pc))
      continue;
    if (lp != NULL) {
      if (tend_plugin_config_equal (lp->config, pc))
        continue;
      if (tend_plugin_reload (lp->plugin, pc, &local_error)) {
        tend_plugin_config_unref (lp->config);
        lp->config = tend_plugin_config_ref (pc);
        g_message ("plugin %s reloaded", name);
        continue;
      }
      g_debug ("plugin %s: %s; loading it anew", name, local_error->message);
      g_clear_error (&local_error);
      unload_at (self, index);
    }
    if (!load_one (self, pc, &local_error)) {
      g_warning ("%s", local_error->message);
      append_error (errors, local_error);
    }
  }

  if (errors->len > 0) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_PLUGIN, errors->str);
    return FALSE;
  }
  return TRUE;
}


TendPlugin *
tend_plugin_loader_lookup (TendPluginLoader *self, const char *name)
{
  LoadedPlugin *lp = find_loaded (self, name, NULL);
  return lp != NULL ? lp->plugin : NULL;
}


typedef struct {
  TendPluginLoader *self;
  GTask *task;
} StopAll;

static void stop_next (StopAll *data);

static void
stop_next_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StopAll *data = user_data;
  g_autoptr(GError) error = NULL;

  if (!tend_plugin_stop_finish (TEND_PLUGIN (source), result, &error))
    g_warning ("plugin stop: %s", error->message);
  g_object_unref (source);
  stop_next (data);
}

/* One at a time, the last started first, so that a process backend outlives every other plugin. */
static void
stop_next (StopAll *data)
{
  TendPluginLoader *self = data->self;
  LoadedPlugin *lp;
  TendPlugin *plugin;

  if (self->loaded->len == 0) {
    g_task_return_boolean (data->task, TRUE);
    g_object_unref (data->task);
    g_free (data);
    return;
  }
  lp = g_ptr_array_steal_index (self->loaded, self->loaded->len - 1);
  plugin = g_object_ref (lp->plugin);
  loaded_plugin_free (lp);
  tend_context_unregister_plugin (self->context, plugin);
  tend_plugin_stop_async (plugin, NULL, stop_next_done_cb, data);
}

void
tend_plugin_loader_stop_all_async (TendPluginLoader *self, GAsyncReadyCallback callback, gpointer user_data)
{
  StopAll *data = g_new0 (StopAll, 1);

  data->self = self;
  data->task = g_task_new (self, NULL, callback, user_data);
  stop_next (data);
}

gboolean
tend_plugin_loader_stop_all_finish (TendPluginLoader *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
