/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The client's `tend start --KEY` options come from the core schema and from
 * every plugin module meson builds, read from the modules themselves: a
 * module the generator has never heard of (tests/plugins/) gets its keys in,
 * and `tend start --help` lists every in-tree plugin's service keys.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tend-plugin-registry.h"

static const char *
env_path (const char *name)
{
  const char *path = g_getenv (name);

  g_assert_nonnull (path);
  return path;
}

/* runs the generator on @modules; its output file's text, or NULL with its stderr in @out_err */
static char *
run_generator (const char *const *modules, int *out_status, char **out_err)
{
  g_autofree char *dir = g_dir_make_tmp ("tend-test-keys-gen-XXXXXX", NULL);
  g_autofree char *output = g_build_filename (dir, "keys.h", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_nonnull (dir);
  g_ptr_array_add (argv, (gpointer) env_path ("TEND_TEST_KEYS_GEN"));
  g_ptr_array_add (argv, output);
  for (guint i = 0; modules[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) modules[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, out_err,
                               out_status, &error));
  g_assert_no_error (error);
  g_file_get_contents (output, &text, NULL, NULL);
  g_unlink (output);
  g_rmdir (dir);
  return text;
}

static void
test_any_module (void)
{
  const char *modules[] = { env_path ("TEND_TEST_KEYS_PLUGIN"), NULL };
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  int status = -1;

  text = run_generator (modules, &status, &err);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (text);
  /* the core's keys, then the module's with their kinds and ranges (milliseconds for a duration) */
  g_assert_nonnull (strstr (text, "  { \"shell\", KEY_BOOL, \"bool\", 0, 0 },\n"));
  g_assert_nonnull (strstr (text, "  { \"demo-every\", KEY_DURATION, \"duration\", 1000, 3600000 },\n"));
  g_assert_nonnull (strstr (text, "  { \"demo-tag\", KEY_TEXT, \"text\", 0, 0 },\n"));
  g_assert_nonnull (strstr (text, "  { \"demo-loud\", KEY_BOOL, \"bool\", 0, 0 },\n"));
  g_assert_nonnull (strstr (text, "  { \"demo-count\", KEY_UINT, \"uint\", 1, 9 },\n"));
  /* the health plugin was not given: none of its keys */
  g_assert_null (strstr (text, "\"health-check\""));
}

/* what tendd would refuse to load fails the build instead */
static void
test_clash_fails (void)
{
  const char *modules[] = { env_path ("TEND_TEST_KEYS_PLUGIN"), env_path ("TEND_TEST_KEYS_PLUGIN"), NULL };
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  int status = 0;

  text = run_generator (modules, &status, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "plugin keys-demo declares the [service:NAME] key demo-every, which plugin keys-demo "
                                 "already declares"));
}

static char *
run_tend (const char *verb, const char *arg)
{
  const char *argv[] = { env_path ("TEND_TEST_CLI"), verb, arg, NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  return out;
}

/* every in-tree plugin's table, enumerated from the built modules as tendd finds them */
static void
test_start_help_lists_plugin_keys (void)
{
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
  g_autofree char *help = run_tend ("start", "--help");
  g_autofree char *keys = run_tend ("_keys", NULL);
  g_auto(GStrv) names = NULL;
  guint n_plugins = 0, n_keys = 0;

  tend_plugin_registry_scan_dir (registry, env_path ("TEND_PLUGIN_DIR"));
  names = tend_plugin_registry_list (registry);
  for (guint i = 0; names[i] != NULL; i++) {
    const TendPluginInfo *info = tend_plugin_registry_lookup (registry, names[i]);

    n_plugins++;
    for (guint k = 0; info->service_keys != NULL && info->service_keys[k].name != NULL; k++) {
      const char *key = info->service_keys[k].name;
      g_autofree char *option = g_strdup_printf ("--%s", key);
      g_autofree char *completion = g_strdup_printf ("\n--%s ", key);
      const char *at = strstr (help, option);

      g_test_message ("%s: %s", names[i], key);
      /* a whole option: --KEY=V, or a bool's --KEY followed by a comma or the end of the list */
      g_assert_nonnull (at);
      g_assert_true (strchr ("=,\n", at[strlen (option)]) != NULL);
      g_assert_nonnull (strstr (keys, completion));
      n_keys++;
    }
  }
  /* the five in-tree plugins, and at least the health plugin's keys */
  g_assert_cmpuint (n_plugins, >=, 5);
  g_assert_cmpuint (n_keys, >=, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/keys-gen/any-plugin-module", test_any_module);
  g_test_add_func ("/keys-gen/clash-fails", test_clash_fails);
  g_test_add_func ("/keys-gen/start-help-lists-plugin-keys", test_start_help_lists_plugin_keys);
  return g_test_run ();
}
