/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-config.h"
#include "tend-context.h"
#include "tend-plugin-registry.h"

G_BEGIN_DECLS

/**
 * TendPluginLoader:
 * Runs plugins: instantiates the enabled ones from the registry, calls setup
 * then start, reloads or restarts them when their group changes, and stops
 * them (in the reverse order of their start) when they are disabled or the
 * daemon exits. A plugin whose info has TEND_PLUGIN_FLAG_PROCESS_BACKEND
 * starts before the others and stops after them; names play no part.
 */
#define TEND_TYPE_PLUGIN_LOADER (tend_plugin_loader_get_type ())
G_DECLARE_FINAL_TYPE (TendPluginLoader, tend_plugin_loader, TEND, PLUGIN_LOADER, GObject)

TendPluginLoader *tend_plugin_loader_new (TendContext *context, TendPluginRegistry *registry);
/**
 * tend_plugin_loader_apply:
 * Loads plugins newly enabled in @config, unloads those disabled, reloads
 * those whose group changed. A plugin that fails to set up or start is
 * reported in @error (every failure, one per line) and left unloaded; the
 * others still run.
 */
gboolean tend_plugin_loader_apply (TendPluginLoader *self, TendConfig *config, GError **error);
TendPlugin *tend_plugin_loader_lookup (TendPluginLoader *self, const char *name);
/** tend_plugin_loader_stop_all_async: stops every plugin, the last started first */
void tend_plugin_loader_stop_all_async (TendPluginLoader *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean tend_plugin_loader_stop_all_finish (TendPluginLoader *self, GAsyncResult *result, GError **error);

G_END_DECLS
