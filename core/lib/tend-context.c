/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "tend-clock.h"
#include "tend-context.h"
#include "tend-error.h"
#include "tend-service-manager.h"
#include "tend-config-private.h"
#include "tend-context-private.h"
#include "tend-service-private.h"

struct _TendContext {
  GObject parent_instance;

  char *home;
  char *logs_dir;
  char *home_tag;
  TendConfig *config;
  TendServiceManager *manager;
  TendProcessBackend *backend; /* weak: the plugin that provides it owns it */
  GPtrArray *log_files;         /* TendLogFile in use */
  GHashTable *log_file_users;   /* TendLogFile → number of acquirers */
  gboolean shutting_down;
  gboolean readiness_provider;
  TendHistoryFunc history_func;
  gpointer history_data;
  char *notify_socket;
  char *open_notify_socket;
  TendReloadFunc reload_func;
  gpointer reload_data;
  TendClock *clock;
  GHashTable *statuses; /* key → GVariant, published by plugins for each other */
  GPtrArray *plugins;   /* PluginEntry: loaded plugins, their names and D-Bus interfaces */
  GHashTable *claimed_children; /* pid: children tendd spawned and reaps through their owner */
  GHashTable *handover_fds;     /* key → fd not taken yet, after tend update */
  GHashTable *handover_values;  /* key → GVariant */
  gboolean handed_over;
  guint handover_holds;
};

typedef struct {
  TendPlugin *plugin; /* not owned: the loader's */
  char *name;
  GPtrArray *skeletons; /* GDBusInterfaceSkeleton exported on the plugin's object */
} PluginEntry;

enum {
  SIGNAL_SERVICE_ADDED,
  SIGNAL_SERVICE_REMOVED,
  SIGNAL_SERVICE_STATE_CHANGED,
  SIGNAL_SERVICE_OUTPUT,
  SIGNAL_LOG_FILE_ADDED,
  SIGNAL_LOG_FILE_REMOVED,
  SIGNAL_STATUS_CHANGED,
  SIGNAL_PLUGIN_INTERFACE_EXPORTED,
  SIGNAL_PLUGIN_INTERFACE_UNEXPORTED,
  SIGNAL_CONFIG_RELOADED,
  SIGNAL_SHUTTING_DOWN,
  SIGNAL_HANDOVER_PREPARE,
  SIGNAL_SAVE_HANDOVER,
  SIGNAL_HANDOVER_CANCELLED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TendContext, tend_context, G_TYPE_OBJECT)

static void
plugin_entry_free (PluginEntry *entry)
{
  g_free (entry->name);
  g_ptr_array_unref (entry->skeletons);
  g_free (entry);
}

static void
tend_context_dispose (GObject *object)
{
  TendContext *self = TEND_CONTEXT (object);

  g_clear_object (&self->manager);
  g_clear_object (&self->config);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->log_file_users, g_hash_table_unref);
  g_clear_pointer (&self->log_files, g_ptr_array_unref);
  g_clear_pointer (&self->plugins, g_ptr_array_unref);
  if (self->backend != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->backend), (gpointer *) &self->backend);
  self->backend = NULL;
  G_OBJECT_CLASS (tend_context_parent_class)->dispose (object);
}

static void
tend_context_finalize (GObject *object)
{
  TendContext *self = TEND_CONTEXT (object);

  g_free (self->home);
  g_free (self->logs_dir);
  g_free (self->home_tag);
  g_free (self->notify_socket);
  g_free (self->open_notify_socket);
  g_clear_pointer (&self->statuses, g_hash_table_unref);
  g_clear_pointer (&self->claimed_children, g_hash_table_unref);
  tend_context_finish_handover_input (self);
  G_OBJECT_CLASS (tend_context_parent_class)->finalize (object);
}

static void
tend_context_class_init (TendContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tend_context_dispose;
  object_class->finalize = tend_context_finalize;

  signals[SIGNAL_SERVICE_ADDED] =
    g_signal_new ("service-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TEND_TYPE_SERVICE);
  signals[SIGNAL_SERVICE_REMOVED] =
    g_signal_new ("service-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TEND_TYPE_SERVICE);
  signals[SIGNAL_SERVICE_STATE_CHANGED] =
    g_signal_new ("service-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 5, TEND_TYPE_SERVICE, TEND_TYPE_INSTANCE, TEND_TYPE_SERVICE_STATE,
                  TEND_TYPE_SERVICE_STATE, G_TYPE_STRING);
  signals[SIGNAL_SERVICE_OUTPUT] =
    g_signal_new ("service-output", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 4, TEND_TYPE_INSTANCE, G_TYPE_INT, G_TYPE_POINTER, G_TYPE_UINT64);
  signals[SIGNAL_LOG_FILE_ADDED] =
    g_signal_new ("log-file-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TEND_TYPE_LOG_FILE);
  signals[SIGNAL_LOG_FILE_REMOVED] =
    g_signal_new ("log-file-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TEND_TYPE_LOG_FILE);
  signals[SIGNAL_STATUS_CHANGED] =
    g_signal_new ("status-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_PLUGIN_INTERFACE_EXPORTED] =
    g_signal_new ("plugin-interface-exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_DBUS_INTERFACE_SKELETON);
  signals[SIGNAL_PLUGIN_INTERFACE_UNEXPORTED] =
    g_signal_new ("plugin-interface-unexported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_DBUS_INTERFACE_SKELETON);
  signals[SIGNAL_CONFIG_RELOADED] =
    g_signal_new ("config-reloaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TEND_TYPE_CONFIG);
  signals[SIGNAL_SHUTTING_DOWN] =
    g_signal_new ("shutting-down", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  signals[SIGNAL_HANDOVER_PREPARE] =
    g_signal_new ("handover-prepare", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* the argument is a TendHandover (not a boxed type: it lives only during the emission) */
  signals[SIGNAL_SAVE_HANDOVER] =
    g_signal_new ("save-handover", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_HANDOVER_CANCELLED] =
    g_signal_new ("handover-cancelled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
tend_context_init (TendContext *self)
{
  self->claimed_children = g_hash_table_new (NULL, NULL);
  self->log_files = g_ptr_array_new_with_free_func (g_object_unref);
  self->log_file_users = g_hash_table_new (NULL, NULL);
  self->clock = g_object_ref (tend_clock_get_default ());
  self->statuses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  self->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) plugin_entry_free);
}

TendContext *
tend_context_new (const char *home, GError **error)
{
  g_autoptr(TendContext) self = g_object_new (TEND_TYPE_CONTEXT, NULL);
  g_autofree char *digest = NULL;

  self->home = g_canonicalize_filename (home, NULL);
  self->logs_dir = g_build_filename (self->home, "logs", NULL);
  if (g_mkdir_with_parents (self->logs_dir, 0750) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create %s: %s", self->logs_dir, g_strerror (saved));
    return NULL;
  }
  /* Short and stable across restarts, so a new daemon recognises processes a killed one left behind. */
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, self->home, -1);
  self->home_tag = g_strndup (digest, 12);
  self->manager = tend_service_manager_new (self);
  return g_steal_pointer (&self);
}

const char *
tend_context_get_home (TendContext *self)
{
  return self->home;
}

const char *
tend_context_get_logs_dir (TendContext *self)
{
  return self->logs_dir;
}

const char *
tend_context_get_home_tag (TendContext *self)
{
  return self->home_tag;
}

TendConfig *
tend_context_get_config (TendContext *self)
{
  return self->config;
}

void
tend_context_set_config (TendContext *self, TendConfig *config)
{
  g_set_object (&self->config, config);
}

TendServiceManager *
tend_context_get_manager (TendContext *self)
{
  return self->manager;
}

TendClock *
tend_context_get_clock (TendContext *self)
{
  return self->clock;
}

void
tend_context_set_clock (TendContext *self, TendClock *clock)
{
  if (clock == NULL)
    clock = tend_clock_get_default ();
  g_object_ref (clock);
  g_clear_object (&self->clock);
  self->clock = clock;
}

TendProcessBackend *
tend_context_get_process_backend (TendContext *self)
{
  return self->backend;
}

void
tend_context_set_process_backend (TendContext *self, TendProcessBackend *backend)
{
  if (self->backend == backend)
    return;
  if (self->backend != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->backend), (gpointer *) &self->backend);
  self->backend = backend;
  if (self->backend != NULL)
    g_object_add_weak_pointer (G_OBJECT (self->backend), (gpointer *) &self->backend);
}

gboolean
tend_context_get_shutting_down (TendContext *self)
{
  return self->shutting_down;
}

void
tend_context_emit_service_added (TendContext *self, TendService *service)
{
  g_signal_emit (self, signals[SIGNAL_SERVICE_ADDED], 0, service);
}

void
tend_context_emit_service_removed (TendContext *self, TendService *service)
{
  g_signal_emit (self, signals[SIGNAL_SERVICE_REMOVED], 0, service);
}

void
tend_context_emit_state_changed (TendContext *self,
                                 TendInstance *instance,
                                 TendServiceState old_state,
                                 TendServiceState new_state,
                                 const char *reason)
{
  g_signal_emit (self, signals[SIGNAL_SERVICE_STATE_CHANGED], 0, tend_instance_get_service (instance), instance,
                 old_state, new_state, reason);
}

gboolean
tend_context_has_output_listeners (TendContext *self)
{
  return g_signal_has_handler_pending (self, signals[SIGNAL_SERVICE_OUTPUT], 0, FALSE);
}

void
tend_context_emit_output (TendContext *self, TendInstance *instance, int stream, const char *line, gsize length)
{
  g_signal_emit (self, signals[SIGNAL_SERVICE_OUTPUT], 0, instance, stream, line, (guint64) length);
}

void
tend_context_emit_config_reloaded (TendContext *self, TendConfig *config)
{
  g_signal_emit (self, signals[SIGNAL_CONFIG_RELOADED], 0, config);
}

void
tend_context_emit_shutting_down (TendContext *self)
{
  self->shutting_down = TRUE;
  g_signal_emit (self, signals[SIGNAL_SHUTTING_DOWN], 0);
}

TendLogFile *
tend_context_lookup_log_file (TendContext *self, const char *path)
{
  for (guint i = 0; i < self->log_files->len; i++) {
    TendLogFile *file = g_ptr_array_index (self->log_files, i);
    if (g_strcmp0 (tend_log_file_get_path (file), path) == 0)
      return file;
  }
  return NULL;
}

void
tend_context_add_log_file (TendContext *self, TendLogFile *file)
{
  g_ptr_array_add (self->log_files, g_object_ref (file));
  g_hash_table_insert (self->log_file_users, file, GUINT_TO_POINTER (1));
  g_signal_emit (self, signals[SIGNAL_LOG_FILE_ADDED], 0, file);
}

TendLogFile *
tend_context_acquire_log_file (TendContext *self, const char *path, uid_t owner)
{
  TendLogFile *file = tend_context_lookup_log_file (self, path);
  g_autoptr(TendLogFile) created = NULL;

  if (file != NULL) {
    guint users = GPOINTER_TO_UINT (g_hash_table_lookup (self->log_file_users, file));
    g_hash_table_insert (self->log_file_users, file, GUINT_TO_POINTER (users + 1));
    return g_object_ref (file);
  }
  created = tend_log_file_new (path, owner);
  tend_context_add_log_file (self, created);
  return g_steal_pointer (&created);
}

void
tend_context_release_log_file (TendContext *self, TendLogFile *file)
{
  guint users = GPOINTER_TO_UINT (g_hash_table_lookup (self->log_file_users, file));

  if (users > 1) {
    g_hash_table_insert (self->log_file_users, file, GUINT_TO_POINTER (users - 1));
  } else if (users == 1) {
    g_hash_table_remove (self->log_file_users, file);
    g_signal_emit (self, signals[SIGNAL_LOG_FILE_REMOVED], 0, file);
    g_ptr_array_remove (self->log_files, file);
  }
  g_object_unref (file);
}

GPtrArray *
tend_context_get_log_files (TendContext *self)
{
  return self->log_files;
}

void
tend_context_set_readiness_provider (TendContext *self, gboolean provided)
{
  self->readiness_provider = provided;
}

gboolean
tend_context_get_readiness_provider (TendContext *self)
{
  return self->readiness_provider;
}

void
tend_context_set_history_provider (TendContext *self, TendHistoryFunc func, gpointer user_data)
{
  g_return_if_fail (TEND_IS_CONTEXT (self));

  self->history_func = func;
  self->history_data = func != NULL ? user_data : NULL;
}

gboolean
tend_context_has_history_provider (TendContext *self)
{
  g_return_val_if_fail (TEND_IS_CONTEXT (self), FALSE);

  return self->history_func != NULL;
}

GVariant *
tend_context_get_history (TendContext *self, TendService *service, gint64 since_us, guint64 *out_interval_ms)
{
  GVariant *samples = NULL;
  guint64 interval_ms = 0;

  g_return_val_if_fail (TEND_IS_CONTEXT (self), NULL);
  g_return_val_if_fail (TEND_IS_SERVICE (service), NULL);

  if (self->history_func != NULL)
    samples = self->history_func (service, since_us, &interval_ms, self->history_data);
  if (samples == NULL)
    samples = g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0);
  if (out_interval_ms != NULL)
    *out_interval_ms = interval_ms;
  return g_variant_ref_sink (samples);
}

void
tend_context_set_notify_socket (TendContext *self, const char *path, const char *open_address)
{
  g_free (self->notify_socket);
  self->notify_socket = g_strdup (path);
  g_free (self->open_notify_socket);
  self->open_notify_socket = g_strdup (open_address);
}

const char *
tend_context_get_open_notify_socket (TendContext *self)
{
  return self->open_notify_socket;
}

const char *
tend_context_get_notify_socket (TendContext *self)
{
  return self->notify_socket;
}

void
tend_context_set_reload_func (TendContext *self, TendReloadFunc func, gpointer user_data)
{
  self->reload_func = func;
  self->reload_data = user_data;
}

gboolean
tend_context_reload (TendContext *self, GError **error)
{
  if (self->reload_func == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_FAILED, "reload is not available");
    return FALSE;
  }
  return self->reload_func (self->reload_data, error);
}

void
tend_context_claim_child (TendContext *self, GPid pid)
{
  g_return_if_fail (TEND_IS_CONTEXT (self));
  g_hash_table_add (self->claimed_children, GINT_TO_POINTER (pid));
}

void
tend_context_release_child (TendContext *self, GPid pid)
{
  g_return_if_fail (TEND_IS_CONTEXT (self));
  g_hash_table_remove (self->claimed_children, GINT_TO_POINTER (pid));
}

gboolean
tend_context_is_claimed_child (TendContext *self, GPid pid)
{
  g_return_val_if_fail (TEND_IS_CONTEXT (self), FALSE);
  return g_hash_table_contains (self->claimed_children, GINT_TO_POINTER (pid));
}

void
tend_context_publish_status (TendContext *self, const char *key, GVariant *status)
{
  GVariant *old;
  g_autoptr(GVariant) sunk = status != NULL ? g_variant_ref_sink (status) : NULL;

  g_return_if_fail (TEND_IS_CONTEXT (self));
  g_return_if_fail (key != NULL && key[0] != '\0');

  old = g_hash_table_lookup (self->statuses, key);
  if (old == NULL && sunk == NULL)
    return;
  if (old != NULL && sunk != NULL && g_variant_equal (old, sunk))
    return;
  if (sunk != NULL)
    g_hash_table_replace (self->statuses, g_strdup (key), g_variant_ref (sunk));
  else
    g_hash_table_remove (self->statuses, key);
  g_signal_emit (self, signals[SIGNAL_STATUS_CHANGED], g_quark_from_string (key), key);
}

GVariant *
tend_context_lookup_status (TendContext *self, const char *key)
{
  g_return_val_if_fail (TEND_IS_CONTEXT (self), NULL);
  return key != NULL ? g_hash_table_lookup (self->statuses, key) : NULL;
}

static PluginEntry *
find_plugin (TendContext *self, TendPlugin *plugin, guint *out_index)
{
  for (guint i = 0; i < self->plugins->len; i++) {
    PluginEntry *entry = g_ptr_array_index (self->plugins, i);
    if (entry->plugin == plugin) {
      if (out_index != NULL)
        *out_index = i;
      return entry;
    }
  }
  return NULL;
}

static const char *
interface_name (GDBusInterfaceSkeleton *skeleton)
{
  GDBusInterfaceInfo *info = g_dbus_interface_skeleton_get_info (skeleton);
  return info != NULL ? info->name : NULL;
}

void
tend_context_register_plugin (TendContext *self, TendPlugin *plugin, const char *name)
{
  PluginEntry *entry;

  g_return_if_fail (TEND_IS_CONTEXT (self));
  g_return_if_fail (TEND_IS_PLUGIN (plugin));
  g_return_if_fail (name != NULL);

  if (find_plugin (self, plugin, NULL) != NULL)
    return;
  entry = g_new0 (PluginEntry, 1);
  entry->plugin = plugin;
  entry->name = g_strdup (name);
  entry->skeletons = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->plugins, entry);
}

void
tend_context_unregister_plugin (TendContext *self, TendPlugin *plugin)
{
  guint index;
  PluginEntry *entry = find_plugin (self, plugin, &index);

  if (entry == NULL)
    return;
  /* what the plugin left exported goes with it: no object outlives its plugin on the bus */
  while (entry->skeletons->len > 0)
    tend_context_unexport_plugin_interface (self, plugin, g_ptr_array_index (entry->skeletons, 0));
  g_ptr_array_remove_index (self->plugins, index);
}

const char *
tend_context_get_plugin_name (TendContext *self, TendPlugin *plugin)
{
  PluginEntry *entry = find_plugin (self, plugin, NULL);
  return entry != NULL ? entry->name : NULL;
}

gboolean
tend_context_export_plugin_interface (TendContext *self,
                                      TendPlugin *plugin,
                                      GDBusInterfaceSkeleton *skeleton,
                                      GError **error)
{
  PluginEntry *entry;
  const char *name;

  g_return_val_if_fail (TEND_IS_CONTEXT (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_INTERFACE_SKELETON (skeleton), FALSE);

  entry = find_plugin (self, plugin, NULL);
  name = interface_name (skeleton);
  if (entry == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_PLUGIN, "cannot export a D-Bus interface: the plugin is not loaded");
    return FALSE;
  }
  if (name == NULL || g_strcmp0 (name, "org.tend.Plugin1") == 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "plugin %s: cannot export interface %s on its object",
                 entry->name, name != NULL ? name : "(unnamed)");
    return FALSE;
  }
  for (guint i = 0; i < entry->skeletons->len; i++) {
    GDBusInterfaceSkeleton *other = g_ptr_array_index (entry->skeletons, i);
    if (other == skeleton)
      return TRUE;
    if (g_strcmp0 (interface_name (other), name) == 0) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "plugin %s: interface %s is exported already", entry->name,
                   name);
      return FALSE;
    }
  }
  g_ptr_array_add (entry->skeletons, g_object_ref (skeleton));
  g_signal_emit (self, signals[SIGNAL_PLUGIN_INTERFACE_EXPORTED], 0, entry->name, skeleton);
  return TRUE;
}

void
tend_context_unexport_plugin_interface (TendContext *self, TendPlugin *plugin, GDBusInterfaceSkeleton *skeleton)
{
  PluginEntry *entry;
  guint index;
  g_autoptr(GDBusInterfaceSkeleton) held = NULL;

  g_return_if_fail (TEND_IS_CONTEXT (self));

  entry = find_plugin (self, plugin, NULL);
  if (entry == NULL || !g_ptr_array_find (entry->skeletons, skeleton, &index))
    return;
  held = g_ptr_array_steal_index (entry->skeletons, index);
  g_signal_emit (self, signals[SIGNAL_PLUGIN_INTERFACE_UNEXPORTED], 0, entry->name, held);
}

void
tend_context_foreach_plugin_interface (TendContext *self, TendPluginInterfaceFunc func, gpointer user_data)
{
  for (guint i = 0; i < self->plugins->len; i++) {
    PluginEntry *entry = g_ptr_array_index (self->plugins, i);
    for (guint j = 0; j < entry->skeletons->len; j++)
      func (entry->name, g_ptr_array_index (entry->skeletons, j), user_data);
  }
}

void
tend_context_set_handover_input (TendContext *self, GHashTable *fds, GHashTable *values)
{
  tend_context_finish_handover_input (self);
  self->handover_fds = g_hash_table_ref (fds);
  self->handover_values = g_hash_table_ref (values);
  self->handed_over = TRUE;
}

void
tend_context_finish_handover_input (TendContext *self)
{
  GHashTableIter iter;
  gpointer key, fd;

  if (self->handover_fds != NULL) {
    g_hash_table_iter_init (&iter, self->handover_fds);
    while (g_hash_table_iter_next (&iter, &key, &fd)) {
      g_debug ("handover: nobody took %s, closed", (const char *) key);
      close (GPOINTER_TO_INT (fd));
    }
  }
  g_clear_pointer (&self->handover_fds, g_hash_table_unref);
  g_clear_pointer (&self->handover_values, g_hash_table_unref);
}

int
tend_context_take_handover_fd (TendContext *self, const char *key)
{
  gpointer fd, stolen_key;

  g_return_val_if_fail (TEND_IS_CONTEXT (self), -1);
  if (self->handover_fds == NULL || !g_hash_table_steal_extended (self->handover_fds, key, &stolen_key, &fd))
    return -1;
  g_free (stolen_key);
  fcntl (GPOINTER_TO_INT (fd), F_SETFD, FD_CLOEXEC);
  return GPOINTER_TO_INT (fd);
}

GVariant *
tend_context_lookup_handover_value (TendContext *self, const char *key)
{
  GVariant *value;

  g_return_val_if_fail (TEND_IS_CONTEXT (self), NULL);
  if (self->handover_values == NULL)
    return NULL;
  value = g_hash_table_lookup (self->handover_values, key);
  return value != NULL ? g_variant_ref (value) : NULL;
}

gboolean
tend_context_get_handed_over (TendContext *self)
{
  return self->handed_over;
}

void
tend_context_hold_handover (TendContext *self)
{
  self->handover_holds++;
}

void
tend_context_release_handover (TendContext *self)
{
  g_return_if_fail (self->handover_holds > 0);
  self->handover_holds--;
}

void
tend_context_emit_handover_prepare (TendContext *self)
{
  g_signal_emit (self, signals[SIGNAL_HANDOVER_PREPARE], 0);
}

guint
tend_context_get_handover_holds (TendContext *self)
{
  return self->handover_holds;
}

void
tend_context_emit_save_handover (TendContext *self, TendHandover *handover)
{
  g_signal_emit (self, signals[SIGNAL_SAVE_HANDOVER], 0, handover);
}

void
tend_context_emit_handover_cancelled (TendContext *self)
{
  self->handover_holds = 0;
  g_signal_emit (self, signals[SIGNAL_HANDOVER_CANCELLED], 0);
}
