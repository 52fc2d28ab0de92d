/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keys-demo: a plugin module built for the tests only (never installed) that
 * declares [service:NAME] keys and does nothing else, so that the client's
 * key generator can be shown to take a plugin it has never heard of.
 */
#include "tend-plugin-sdk.h"

#define TEND_TYPE_TEST_KEYS_PLUGIN (tend_test_keys_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendTestKeysPlugin, tend_test_keys_plugin, TEND, TEST_KEYS_PLUGIN, GObject)

struct _TendTestKeysPlugin {
  GObject parent_instance;
};

static void tend_test_keys_plugin_plugin_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendTestKeysPlugin, tend_test_keys_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_test_keys_plugin_plugin_init))

static const TendConfigKey test_keys_keys[] = {
  { NULL },
};

static const TendConfigKey test_keys_service_keys[] = {
  { "demo-every", TEND_CONFIG_KEY_DURATION, "1s", "1s..1h", "how often the demo acts" },
  { "demo-tag", TEND_CONFIG_KEY_STRING, NULL, NULL, "a label" },
  { "demo-loud", TEND_CONFIG_KEY_BOOL, "false", NULL, "whether it says so" },
  { "demo-count", TEND_CONFIG_KEY_UINT, "3", "1..9", "how many" },
  { NULL },
};

TEND_DEFINE_PLUGIN ("keys-demo",
                    tend_test_keys_plugin,
                    "declares service keys for the tests",
                    test_keys_keys,
                    .service_keys = test_keys_service_keys)

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  return TRUE;
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  return TRUE;
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (plugin, cancellable, callback, user_data);

  g_task_return_boolean (task, TRUE);
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
tend_test_keys_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
}

static void
tend_test_keys_plugin_class_init (TendTestKeysPluginClass *klass)
{
}

static void
tend_test_keys_plugin_init (TendTestKeysPlugin *self)
{
}
