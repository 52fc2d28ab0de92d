/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hello: the smallest useful Tend plugin. It greets when it starts, counts
 * the state changes of every service through the context's
 * service-state-changed signal, and shows the count in `tend plugins`.
 */
#include <glib/gi18n.h>

#include <tend-plugin-sdk.h>

#define TEND_TYPE_HELLO_PLUGIN (tend_hello_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendHelloPlugin, tend_hello_plugin, TEND, HELLO_PLUGIN, GObject)

struct _TendHelloPlugin {
  GObject parent_instance;

  TendContext *context;
  char *greeting;
  guint state_changes;
  gulong state_handler;
};

static void tend_hello_plugin_plugin_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendHelloPlugin, tend_hello_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_hello_plugin_plugin_init))

/* The key table: tendd checks `[plugin:hello]` against it before setup. */
static const TendConfigKey hello_keys[] = {
  { "greeting", TEND_CONFIG_KEY_STRING, "hello", NULL, N_("What the plugin says when it starts") },
  { NULL },
};

TEND_DEFINE_PLUGIN ("hello",
                    tend_hello_plugin,
                    N_("Greets, and counts the services' state changes"),
                    hello_keys)

/* Runs on the main loop, like every signal of the context. */
static void
state_changed_cb (TendContext *context,
                  TendService *service,
                  TendInstance *instance,
                  TendServiceState old_state,
                  TendServiceState new_state,
                  const char *reason,
                  gpointer user_data)
{
  TendHelloPlugin *self = user_data;

  self->state_changes++;
  g_debug ("%s: %s -> %s", tend_instance_get_name (instance), tend_service_state_to_string (old_state),
           tend_service_state_to_string (new_state));
}

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendHelloPlugin *self = TEND_HELLO_PLUGIN (plugin);

  /* setup reads the configuration and listens; it touches nothing outside */
  self->context = g_object_ref (context);
  self->greeting = g_strdup (tend_plugin_config_get_string (config, "greeting"));
  self->state_handler = g_signal_connect (context, "service-state-changed", G_CALLBACK (state_changed_cb), self);
  return TRUE;
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendHelloPlugin *self = TEND_HELLO_PLUGIN (plugin);

  g_message ("%s from %s", self->greeting, tend_context_get_home (self->context));
  return TRUE;
}

static gboolean
plugin_reload (TendPlugin *plugin, TendPluginConfig *config, GError **error)
{
  TendHelloPlugin *self = TEND_HELLO_PLUGIN (plugin);

  g_free (self->greeting);
  self->greeting = g_strdup (tend_plugin_config_get_string (config, "greeting"));
  return TRUE;
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TendHelloPlugin *self = TEND_HELLO_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  /* nothing to wait for: stop listening and complete at once */
  g_clear_signal_handler (&self->state_handler, self->context);
  g_task_return_boolean (task, TRUE);
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
plugin_add_status (TendPlugin *plugin, GVariantDict *status)
{
  TendHelloPlugin *self = TEND_HELLO_PLUGIN (plugin);

  g_variant_dict_insert (status, "greeting", "s", self->greeting);
  g_variant_dict_insert (status, "state-changes", "u", self->state_changes);
}

static void
tend_hello_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->reload = plugin_reload;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
  iface->add_status = plugin_add_status;
}

static void
tend_hello_plugin_finalize (GObject *object)
{
  TendHelloPlugin *self = TEND_HELLO_PLUGIN (object);

  if (self->context != NULL)
    g_clear_signal_handler (&self->state_handler, self->context);
  g_clear_object (&self->context);
  g_free (self->greeting);
  G_OBJECT_CLASS (tend_hello_plugin_parent_class)->finalize (object);
}

static void
tend_hello_plugin_class_init (TendHelloPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_hello_plugin_finalize;
}

static void
tend_hello_plugin_init (TendHelloPlugin *self)
{
}
