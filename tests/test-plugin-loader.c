/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loader orders plugins by what their infos declare, never by their names;
 * the context carries plugins' D-Bus interfaces and statuses without knowing them. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tend-config-private.h"
#include "tend-context-private.h"
#include "tend-dbus-generated.h"
#include "tend-error.h"
#include "tend-plugin-loader.h"
#include "tend-plugin-registry.h"

/* ---- a plugin that writes down when it starts and stops ---- */

static GString *journal; /* "start NAME;stop NAME;..." */

#define TEST_TYPE_PLUGIN (test_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TestPlugin, test_plugin, TEST, PLUGIN, GObject)

struct _TestPlugin {
  GObject parent_instance;
  char *name;
};

static void test_plugin_iface_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestPlugin, test_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, test_plugin_iface_init))

static gboolean
test_plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TEST_PLUGIN (plugin)->name = g_strdup (tend_plugin_config_get_name (config));
  return TRUE;
}

static gboolean
test_plugin_start (TendPlugin *plugin, GError **error)
{
  g_string_append_printf (journal, "start %s;", TEST_PLUGIN (plugin)->name);
  return TRUE;
}

static void
test_plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (plugin, cancellable, callback, user_data);

  g_string_append_printf (journal, "stop %s;", TEST_PLUGIN (plugin)->name);
  g_task_return_boolean (task, TRUE);
}

static gboolean
test_plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_plugin_iface_init (TendPluginInterface *iface)
{
  iface->setup = test_plugin_setup;
  iface->start = test_plugin_start;
  iface->stop_async = test_plugin_stop_async;
  iface->stop_finish = test_plugin_stop_finish;
  /* no reload: a changed group has the loader load the plugin anew */
}

static void
test_plugin_finalize (GObject *object)
{
  g_free (TEST_PLUGIN (object)->name);
  G_OBJECT_CLASS (test_plugin_parent_class)->finalize (object);
}

static void
test_plugin_class_init (TestPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_plugin_finalize;
}

static void
test_plugin_init (TestPlugin *self)
{
}

static const TendConfigKey test_keys[] = {
  { "x", TEND_CONFIG_KEY_STRING, NULL, NULL, "anything" },
  { NULL },
};

/* The backend's name sorts last, and is not "process": only its flag can put it first. */
static const TendPluginInfo backend_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "zz-backend",
  .description = "a process backend",
  .get_type = test_plugin_get_type,
  .keys = test_keys,
  .enabled_by_default = TRUE,
  .flags = TEND_PLUGIN_FLAG_PROCESS_BACKEND,
};

static const TendPluginInfo aardvark_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "aardvark",
  .description = "an ordinary plugin",
  .get_type = test_plugin_get_type,
  .keys = test_keys,
  .enabled_by_default = TRUE,
};

static const TendPluginInfo process_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "process",
  .description = "named as the real backend, but declares nothing",
  .get_type = test_plugin_get_type,
  .keys = test_keys,
  .enabled_by_default = TRUE,
};

typedef struct {
  char *home;
  TendContext *context;
  TendPluginRegistry *registry;
  TendPluginLoader *loader;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  journal = g_string_new (NULL);
  fx->home = g_dir_make_tmp ("tend-test-loader-XXXXXX", &error);
  g_assert_no_error (error);
  fx->context = tend_context_new (fx->home, &error);
  g_assert_no_error (error);
  fx->registry = tend_plugin_registry_new ();
  g_assert_true (tend_plugin_registry_add_info (fx->registry, &aardvark_info, &error));
  g_assert_true (tend_plugin_registry_add_info (fx->registry, &process_info, &error));
  g_assert_true (tend_plugin_registry_add_info (fx->registry, &backend_info, &error));
  g_assert_no_error (error);
  fx->loader = tend_plugin_loader_new (fx->context, fx->registry);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autofree char *logs = g_build_filename (fx->home, "logs", NULL);

  g_clear_object (&fx->loader);
  g_clear_object (&fx->registry);
  g_clear_object (&fx->context);
  g_rmdir (logs);
  g_rmdir (fx->home);
  g_free (fx->home);
  g_string_free (journal, TRUE);
  journal = NULL;
  /* as g_test_init() left it, for the next test */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
}

static TendConfig *
read_config (Fixture *fx, const char *text)
{
  g_autoptr(GError) error = NULL;
  TendConfig *config = tend_config_new_from_data (text, -1, "test.conf", fx->home, fx->registry, &error);

  g_assert_no_error (error);
  return config;
}

static void
stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tend_plugin_loader_stop_all_finish (TEND_PLUGIN_LOADER (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
stop_all (Fixture *fx)
{
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  tend_plugin_loader_stop_all_async (fx->loader, stopped_cb, &done);
  while (!done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done);
}

static void
test_order_follows_flag (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendConfig) config = read_config (fx, "");
  g_autoptr(GError) error = NULL;

  g_assert_true (tend_plugin_loader_apply (fx->loader, config, &error));
  g_assert_no_error (error);
  /* the flagged plugin first, then the others in name order; "process" is just a name */
  g_assert_cmpstr (journal->str, ==, "start zz-backend;start aardvark;start process;");

  g_string_truncate (journal, 0);
  stop_all (fx);
  g_assert_cmpstr (journal->str, ==, "stop process;stop aardvark;stop zz-backend;");
}

static void
test_backend_loaded_anew_stops_last (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendConfig) config = read_config (fx, "");
  g_autoptr(TendConfig) changed = read_config (fx, "[plugin:zz-backend]\nx=1\n");
  g_autoptr(GError) error = NULL;

  g_assert_true (tend_plugin_loader_apply (fx->loader, config, &error));
  g_assert_no_error (error);
  /* no reload in the plugin: the changed group has it stopped and started again */
  g_string_truncate (journal, 0);
  g_assert_true (tend_plugin_loader_apply (fx->loader, changed, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (journal->str, ==, "stop zz-backend;start zz-backend;");

  g_string_truncate (journal, 0);
  stop_all (fx);
  g_assert_cmpstr (journal->str, ==, "stop process;stop aardvark;stop zz-backend;");
}

/* ---- a [service:NAME] key has one owner ---- */

static const TendConfigKey demo_every_keys[] = {
  { "demo-every", TEND_CONFIG_KEY_DURATION, "1s", NULL, "how often" },
  { NULL },
};

static const TendConfigKey demo_every_and_more_keys[] = {
  { "demo-more", TEND_CONFIG_KEY_BOOL, "false", NULL, "more" },
  { "demo-every", TEND_CONFIG_KEY_UINT, "3", NULL, "how often, another way" },
  { NULL },
};

static const TendConfigKey core_key_keys[] = {
  { "restart-delay", TEND_CONFIG_KEY_DURATION, "1s", NULL, "a core key" },
  { NULL },
};

static const TendConfigKey twice_keys[] = {
  { "demo-twice", TEND_CONFIG_KEY_STRING, NULL, NULL, "once" },
  { "demo-twice", TEND_CONFIG_KEY_STRING, NULL, NULL, "twice" },
  { NULL },
};

#define SERVICE_KEYS_INFO(plugin_name, table)                                                                          \
  {                                                                                                                    \
    .abi_version = TEND_PLUGIN_ABI_VERSION, .name = plugin_name, .description = "declares service keys",              \
    .get_type = test_plugin_get_type, .keys = test_keys, .service_keys = table,                                       \
  }

static const TendPluginInfo keys_a_info = SERVICE_KEYS_INFO ("keys-a", demo_every_keys);
static const TendPluginInfo keys_b_info = SERVICE_KEYS_INFO ("keys-b", demo_every_and_more_keys);
static const TendPluginInfo keys_core_info = SERVICE_KEYS_INFO ("keys-core", core_key_keys);
static const TendPluginInfo keys_twice_info = SERVICE_KEYS_INFO ("keys-twice", twice_keys);

/* what the loader logged at warning level, one line each (structured logging: g_test_expect_message() sees none) */
static GString *warnings;

static GLogWriterOutput
record_warnings (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (warnings != NULL && (level & G_LOG_LEVEL_WARNING) != 0) {
    for (gsize i = 0; i < n_fields; i++) {
      if (strcmp (fields[i].key, "MESSAGE") == 0)
        g_string_append_printf (warnings, "%s\n", (const char *) fields[i].value);
    }
  }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static void
add_keys_plugins (Fixture *fx)
{
  const TendPluginInfo *infos[] = { &keys_a_info, &keys_b_info, &keys_core_info, &keys_twice_info };
  g_autoptr(GError) error = NULL;

  /* the refusals are logged as warnings, which are otherwise fatal in a test */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_string_truncate (warnings, 0);
  for (guint i = 0; i < G_N_ELEMENTS (infos); i++) {
    g_assert_true (tend_plugin_registry_add_info (fx->registry, infos[i], &error));
    g_assert_no_error (error);
  }
}

/* the second plugin to declare a key is refused, with both names and the key; the first keeps working */
static void
test_service_key_declared_twice (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendConfig) both = NULL;
  g_autoptr(TendConfig) only_b = NULL;
  g_autoptr(GError) error = NULL;
  const char *why = "plugin keys-b not loaded: it declares the [service:NAME] key demo-every, which plugin keys-a "
                    "already declares";

  add_keys_plugins (fx);
  both = read_config (fx, "[plugin:keys-a]\n[plugin:keys-b]\n");
  only_b = read_config (fx, "[plugin:keys-b]\n");

  g_assert_false (tend_plugin_loader_apply (fx->loader, both, &error));
  g_assert_true (g_str_has_suffix (warnings->str, "\n") && strncmp (warnings->str, why, strlen (why)) == 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_assert_cmpstr (error->message, ==, why);
  g_clear_error (&error);
  g_assert_cmpstr (journal->str, ==, "start zz-backend;start aardvark;start keys-a;start process;");
  g_assert_nonnull (tend_plugin_loader_lookup (fx->loader, "keys-a"));
  g_assert_null (tend_plugin_loader_lookup (fx->loader, "keys-b"));

  /* keys-a turned off: the key is free, and keys-b takes it */
  g_string_truncate (journal, 0);
  g_assert_true (tend_plugin_loader_apply (fx->loader, only_b, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (journal->str, ==, "stop keys-a;start keys-b;");
  stop_all (fx);
}

static void
test_service_key_of_core (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  const char *why = "plugin keys-core not loaded: it declares the [service:NAME] key restart-delay, which is a core key\n"
                    "plugin keys-twice not loaded: it declares the [service:NAME] key demo-twice twice";

  add_keys_plugins (fx);
  config = read_config (fx, "[plugin:keys-core]\n[plugin:keys-twice]\n");
  g_assert_false (tend_plugin_loader_apply (fx->loader, config, &error));
  g_assert_cmpstr (error->message, ==, why);
  {
    g_autofree char *logged = g_strconcat (why, "\n", NULL);
    g_assert_cmpstr (warnings->str, ==, logged);
  }
  g_assert_null (tend_plugin_loader_lookup (fx->loader, "keys-core"));
  g_assert_null (tend_plugin_loader_lookup (fx->loader, "keys-twice"));
  g_assert_cmpstr (journal->str, ==, "start zz-backend;start aardvark;start process;");
  stop_all (fx);
}

/* ---- the context: interfaces of plugins ---- */

static void
collect_cb (const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  g_string_append_printf (user_data, "%s:%s;", name, g_dbus_interface_skeleton_get_info (skeleton)->name);
}

static void
exported_cb (TendContext *context, const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  g_string_append_printf (user_data, "+%s:%s;", name, g_dbus_interface_skeleton_get_info (skeleton)->name);
}

static void
unexported_cb (TendContext *context, const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  g_string_append_printf (user_data, "-%s:%s;", name, g_dbus_interface_skeleton_get_info (skeleton)->name);
}

static void
test_export_interface (Fixture *fx, gconstpointer data)
{
  g_autoptr(GObject) plugin = g_object_new (TEST_TYPE_PLUGIN, NULL);
  g_autoptr(GDBusInterfaceSkeleton) service = G_DBUS_INTERFACE_SKELETON (tend_dbus_service1_skeleton_new ());
  g_autoptr(GDBusInterfaceSkeleton) service2 = G_DBUS_INTERFACE_SKELETON (tend_dbus_service1_skeleton_new ());
  g_autoptr(GDBusInterfaceSkeleton) plugin1 = G_DBUS_INTERFACE_SKELETON (tend_dbus_plugin1_skeleton_new ());
  g_autoptr(GString) events = g_string_new (NULL);
  g_autoptr(GString) now = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_signal_connect (fx->context, "plugin-interface-exported", G_CALLBACK (exported_cb), events);
  g_signal_connect (fx->context, "plugin-interface-unexported", G_CALLBACK (unexported_cb), events);

  /* not a loaded plugin: it has no object to sit on */
  g_assert_false (tend_context_export_plugin_interface (fx->context, TEND_PLUGIN (plugin), service, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_clear_error (&error);

  tend_context_register_plugin (fx->context, TEND_PLUGIN (plugin), "zz-backend");
  g_assert_cmpstr (tend_context_get_plugin_name (fx->context, TEND_PLUGIN (plugin)), ==, "zz-backend");
  g_assert_true (tend_context_export_plugin_interface (fx->context, TEND_PLUGIN (plugin), service, &error));
  g_assert_no_error (error);
  /* the core's own interface, and a second one of the same name, are refused */
  g_assert_false (tend_context_export_plugin_interface (fx->context, TEND_PLUGIN (plugin), plugin1, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_clear_error (&error);
  g_assert_false (tend_context_export_plugin_interface (fx->context, TEND_PLUGIN (plugin), service2, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_clear_error (&error);

  tend_context_foreach_plugin_interface (fx->context, collect_cb, now);
  g_assert_cmpstr (now->str, ==, "zz-backend:org.tend.Service1;");
  g_assert_cmpstr (events->str, ==, "+zz-backend:org.tend.Service1;");

  /* unloading takes off what the plugin left exported */
  tend_context_unregister_plugin (fx->context, TEND_PLUGIN (plugin));
  g_assert_cmpstr (events->str, ==, "+zz-backend:org.tend.Service1;-zz-backend:org.tend.Service1;");
  g_assert_null (tend_context_get_plugin_name (fx->context, TEND_PLUGIN (plugin)));
  g_string_truncate (now, 0);
  tend_context_foreach_plugin_interface (fx->context, collect_cb, now);
  g_assert_cmpstr (now->str, ==, "");
  /* and a late unexport from the plugin's stop is harmless */
  tend_context_unexport_plugin_interface (fx->context, TEND_PLUGIN (plugin), service);
  g_assert_cmpuint (events->len, ==, strlen ("+zz-backend:org.tend.Service1;-zz-backend:org.tend.Service1;"));
  g_signal_handlers_disconnect_by_data (fx->context, events);
}

/* ---- the context: statuses ---- */

static void
status_changed_cb (TendContext *context, const char *key, gpointer user_data)
{
  g_string_append_printf (user_data, "%s;", key);
}

static void
test_publish_status (Fixture *fx, gconstpointer data)
{
  g_autoptr(GString) tunnel_events = g_string_new (NULL);
  g_autoptr(GString) all_events = g_string_new (NULL);
  GVariant *value;

  g_signal_connect (fx->context, "status-changed::tunnel", G_CALLBACK (status_changed_cb), tunnel_events);
  g_signal_connect (fx->context, "status-changed", G_CALLBACK (status_changed_cb), all_events);

  g_assert_null (tend_context_lookup_status (fx->context, "tunnel"));
  tend_context_publish_status (fx->context, "tunnel", g_variant_new ("(su)", "connected", 4));
  tend_context_publish_status (fx->context, "other", g_variant_new_string ("x"));
  /* the same value again is no change */
  tend_context_publish_status (fx->context, "tunnel", g_variant_new ("(su)", "connected", 4));
  value = tend_context_lookup_status (fx->context, "tunnel");
  g_assert_nonnull (value);
  g_assert_cmpstr (g_variant_get_type_string (value), ==, "(su)");
  g_assert_cmpstr (tunnel_events->str, ==, "tunnel;");
  g_assert_cmpstr (all_events->str, ==, "tunnel;other;");

  tend_context_publish_status (fx->context, "tunnel", NULL);
  tend_context_publish_status (fx->context, "tunnel", NULL);
  g_assert_null (tend_context_lookup_status (fx->context, "tunnel"));
  g_assert_cmpstr (tunnel_events->str, ==, "tunnel;tunnel;");
  g_signal_handlers_disconnect_by_data (fx->context, tunnel_events);
  g_signal_handlers_disconnect_by_data (fx->context, all_events);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  warnings = g_string_new (NULL);
  g_log_set_writer_func (record_warnings, NULL, NULL);
  g_test_add ("/plugin-loader/order-follows-flag", Fixture, NULL, fixture_set_up, test_order_follows_flag,
              fixture_tear_down);
  g_test_add ("/plugin-loader/backend-loaded-anew-stops-last", Fixture, NULL, fixture_set_up,
              test_backend_loaded_anew_stops_last, fixture_tear_down);
  g_test_add ("/plugin-loader/service-key-declared-twice", Fixture, NULL, fixture_set_up,
              test_service_key_declared_twice, fixture_tear_down);
  g_test_add ("/plugin-loader/service-key-of-core", Fixture, NULL, fixture_set_up, test_service_key_of_core,
              fixture_tear_down);
  g_test_add ("/context/export-plugin-interface", Fixture, NULL, fixture_set_up, test_export_interface,
              fixture_tear_down);
  g_test_add ("/context/publish-status", Fixture, NULL, fixture_set_up, test_publish_status, fixture_tear_down);
  return g_test_run ();
}
