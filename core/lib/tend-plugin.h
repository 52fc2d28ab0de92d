/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <gio/gio.h>

#include "tend-plugin-config.h"

G_BEGIN_DECLS

/* Bumped whenever TendPluginInterface, TendPluginInfo or TendContext change incompatibly. */
#define TEND_PLUGIN_ABI_VERSION 3

typedef struct _TendContext TendContext;

#define TEND_TYPE_PLUGIN (tend_plugin_get_type ())
TEND_API
G_DECLARE_INTERFACE (TendPlugin, tend_plugin, TEND, PLUGIN, GObject)

/**
 * TendPluginInterface:
 * @setup: read the typed config group and connect to the context's signals;
 *   no side effects on the outside world (no sockets, no processes).
 * @start: begin work (listen, spawn, sample). Called once after setup.
 * @stop_async: finish work asynchronously (children need their kill-timeout,
 *   streams need closing). Called once; the plugin is then unreffed.
 * @stop_finish: completes @stop_async.
 * @reload: optional; apply a changed config group without a restart. Return
 *   FALSE with an error to have the loader unload and load the plugin anew.
 * @add_status: optional; add figures to the plugin's status (`tend plugins`).
 */
struct _TendPluginInterface {
  GTypeInterface g_iface;

  gboolean (*setup) (TendPlugin *self, TendContext *context, TendPluginConfig *config, GError **error);
  gboolean (*start) (TendPlugin *self, GError **error);
  void (*stop_async) (TendPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*stop_finish) (TendPlugin *self, GAsyncResult *result, GError **error);
  gboolean (*reload) (TendPlugin *self, TendPluginConfig *config, GError **error);
  void (*add_status) (TendPlugin *self, GVariantDict *status);
};

/**
 * TendPluginFlags:
 * @TEND_PLUGIN_FLAG_NONE: an ordinary plugin
 * @TEND_PLUGIN_FLAG_PROCESS_BACKEND: the plugin provides the process backend
 *   (tend_context_set_process_backend()): the loader starts it before every
 *   other plugin, which may act on services when they start, and stops it
 *   after all of them, so that their services' processes are stopped first.
 *
 * What a plugin is to the daemon. The loader orders plugins by these, never by
 * their names.
 */
typedef enum {
  TEND_PLUGIN_FLAG_NONE = 0,
  TEND_PLUGIN_FLAG_PROCESS_BACKEND = 1 << 0,
} TendPluginFlags;

/**
 * TendPluginInfo:
 * What a module's single exported entry point, tend_plugin_query(), returns.
 * Static data owned by the module (which is made resident).
 */
typedef struct {
  guint32 abi_version;
  const char *name;
  const char *description; /* N_() marked; translated by the reader */
  GType (*get_type) (void);
  const TendConfigKey *keys; /* terminated by a row whose name is NULL */
  gboolean enabled_by_default;
  TendPluginFlags flags; /* since ABI 2; append new fields below, never reorder */
  /*
   * since ABI 3: keys the plugin adds to every `[service:NAME]` group,
   * terminated by a row whose name is NULL; read with
   * tend_service_config_get_plugin_value(). A key of a plugin that is not
   * enabled is accepted with a warning; an unknown key is an error.
   */
  const TendConfigKey *service_keys;
} TendPluginInfo;

/** The symbol every plugin module exports. */
#define TEND_PLUGIN_QUERY_SYMBOL "tend_plugin_query"
typedef const TendPluginInfo *(*TendPluginQueryFunc) (void);

/* Plugin modules are built with hidden visibility; this marks the entry point. */
#define TEND_PLUGIN_EXPORT __attribute__ ((visibility ("default")))

/**
 * TEND_DEFINE_PLUGIN:
 * @plugin_name: the name of its `[plugin:NAME]` group, a string literal
 * @type_name: the plugin type in lower case, as given to G_DEFINE_TYPE
 *   (`tend_hello_plugin` for `tend_hello_plugin_get_type()`)
 * @plugin_description: one line, marked N_()
 * @plugin_keys: its TendConfigKey table, ending with `{ NULL }`
 * @...: more TendPluginInfo fields as designated initialisers, for example
 *   `.enabled_by_default = TRUE`; fields not given are zero
 *
 * Defines the module's TendPluginInfo, stamped with the TEND_PLUGIN_ABI_VERSION
 * of the headers it was built with, and the tend_plugin_query() entry point the
 * loader looks up. Use it once, at file scope, after G_DEFINE_TYPE.
 */
#define TEND_DEFINE_PLUGIN(plugin_name, type_name, plugin_description, plugin_keys, ...) \
  static const TendPluginInfo type_name##_info = {                                      \
    .abi_version = TEND_PLUGIN_ABI_VERSION,                                             \
    .name = plugin_name,                                                                \
    .description = plugin_description,                                                  \
    .get_type = type_name##_get_type,                                                   \
    .keys = plugin_keys,                                                                \
    __VA_ARGS__                                                                         \
  };                                                                                    \
  TEND_PLUGIN_EXPORT const TendPluginInfo *tend_plugin_query (void);                    \
  TEND_PLUGIN_EXPORT const TendPluginInfo *tend_plugin_query (void)                     \
  {                                                                                     \
    return &type_name##_info;                                                           \
  }

TEND_API gboolean tend_plugin_setup (TendPlugin *self, TendContext *context, TendPluginConfig *config, GError **error);
TEND_API gboolean tend_plugin_start (TendPlugin *self, GError **error);
TEND_API void tend_plugin_stop_async (TendPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
TEND_API gboolean tend_plugin_stop_finish (TendPlugin *self, GAsyncResult *result, GError **error);
/** tend_plugin_reload: FALSE with G_IO_ERROR_NOT_SUPPORTED when the plugin has no reload */
TEND_API gboolean tend_plugin_reload (TendPlugin *self, TendPluginConfig *config, GError **error);
TEND_API void tend_plugin_add_status (TendPlugin *self, GVariantDict *status);

G_END_DECLS
