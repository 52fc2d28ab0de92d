/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the fuzz targets share: a registry of two stand-in plugins (keys of
 * every kind, with and without a range), so that no plugin module is loaded,
 * and the inputs a target leaves alone because they would reach outside the
 * process: [tend] plugin-dir opens every *.so of a folder, env-file reads any
 * path (/proc/kmsg blocks).
 */

#include <glib-object.h>
#include <string.h>

#include "tend-plugin-registry.h"

G_GNUC_UNUSED static GType
fuzz_plugin_get_type (void)
{
  return G_TYPE_OBJECT;
}

static const TendConfigKey fuzz_alpha_keys[] = {
  { "name", TEND_CONFIG_KEY_STRING, "anon", NULL, "a string" },
  { "verbose", TEND_CONFIG_KEY_BOOL, "false", NULL, "a bool" },
  { "retain", TEND_CONFIG_KEY_UINT, "7", "0..10000", "a number" },
  { "count", TEND_CONFIG_KEY_UINT, "1", NULL, "a number" },
  { "interval", TEND_CONFIG_KEY_DURATION, "2s", "100ms..1h", "a duration" },
  { "timeout", TEND_CONFIG_KEY_DURATION, "10s", NULL, "a duration" },
  { "max-size", TEND_CONFIG_KEY_SIZE, "50M", NULL, "a size" },
  { "mode", TEND_CONFIG_KEY_CHOICE, "daily", "never|hourly|daily|weekly", "a choice" },
  { "tags", TEND_CONFIG_KEY_LIST, NULL, NULL, "a list" },
  { "listen", TEND_CONFIG_KEY_LISTEN_LIST, "127.0.0.1:9615", NULL, "addresses" },
  { "token-file", TEND_CONFIG_KEY_PATH, NULL, NULL, "a path" },
  { NULL, 0, NULL, NULL, NULL },
};

static const TendPluginInfo fuzz_alpha_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "alpha",
  .description = "every key kind",
  .get_type = fuzz_plugin_get_type,
  .keys = fuzz_alpha_keys,
  .enabled_by_default = FALSE,
};

static const TendPluginInfo fuzz_process_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "process",
  .description = "no keys, on by default",
  .get_type = fuzz_plugin_get_type,
  .keys = NULL,
  .enabled_by_default = TRUE,
};

G_GNUC_UNUSED static TendPluginRegistry *
fuzz_registry (void)
{
  static TendPluginRegistry *registry;

  if (registry == NULL) {
    /*
     * A warning or a critical is a bug the fuzzer found (GLib's "GError set
     * over the top of a previous GError" was one): make it a crash it reports.
     */
    g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
    registry = tend_plugin_registry_new ();
    if (!tend_plugin_registry_add_info (registry, &fuzz_alpha_info, NULL) ||
        !tend_plugin_registry_add_info (registry, &fuzz_process_info, NULL))
      g_error ("cannot register the stand-in plugins");
  }
  return registry;
}

/* TRUE when @data names a key that would make the reader touch the file system beyond resolving paths */
G_GNUC_UNUSED static gboolean
fuzz_reaches_outside (const guint8 *data, size_t size)
{
  static const char *const keys[] = { "plugin-dir", "env-file" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    if (size >= strlen (keys[i]) && memmem (data, size, keys[i], strlen (keys[i])) != NULL)
      return TRUE;
  }
  return FALSE;
}
