/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tend-caller-config.h"
#include "tend-log-capture.h"
#include "tend-update.h"
#include "tend-daemon.h"
#include "tend-dbus-server.h"
#include "tend-dump.h"
#include "tend-error.h"
#include "tend-log-path.h"
#include "tend-fd-limit.h"
#include "tend-parse.h"
#include "tend-notify.h"
#include "tend-pidfile.h"
#include "tend-plugin-loader.h"
#include "tend-state.h"
#include "tend-service-manager.h"
#include "tend-config-private.h"
#include "tend-context-private.h"
#include "tend-service-private.h"

struct _TendDaemon {
  GObject parent_instance;

  char *home;
  char *config_path; /* NULL: $home/tend.conf when it exists */
  TendPidfile *pidfile;
  TendPluginRegistry *registry;
  TendContext *context;
  TendPluginLoader *loader;
  TendDbusServer *dbus;
  TendStateFile *state;
  char *active_config_path; /* the file read, NULL when none */
  gboolean resurrect;
  char *log_path;
  GMainLoop *loop;
  gboolean quitting;
  int exit_status;
  GCallback ready_callback;
  gpointer ready_data;

  /* tend update */
  char *exec_path;   /* the program tendd was started as */
  char **exec_argv;  /* its arguments */
  GVariant *handover_state; /* set when this tendd was executed by tend update */
  GHashTable *handover_fds;
  guint generation;
  gboolean updating;
  char *update_binary;
  gint64 update_deadline;
  guint update_timer;
};

#define HANDOVER_HOME_LOCK "tendd-home-lock"
#define HANDOVER_PIDFILE "tendd-pidfile"
/* how long the exec waits for plugins (HTTP answers) and handshakes in progress to finish */
#define HANDOVER_DRAIN_MS 2000

G_DEFINE_FINAL_TYPE (TendDaemon, tend_daemon, G_TYPE_OBJECT)

static void
tend_daemon_finalize (GObject *object)
{
  TendDaemon *self = TEND_DAEMON (object);

  g_clear_object (&self->state);
  g_clear_object (&self->dbus);
  g_clear_object (&self->loader);
  g_clear_object (&self->context);
  g_clear_object (&self->registry);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->pidfile, tend_pidfile_release);
  g_clear_handle_id (&self->update_timer, g_source_remove);
  g_clear_pointer (&self->handover_state, g_variant_unref);
  g_clear_pointer (&self->handover_fds, g_hash_table_unref);
  g_free (self->exec_path);
  g_strfreev (self->exec_argv);
  g_free (self->update_binary);
  g_free (self->config_path);
  g_free (self->active_config_path);
  g_free (self->log_path);
  g_free (self->home);
  G_OBJECT_CLASS (tend_daemon_parent_class)->finalize (object);
}

static void
tend_daemon_class_init (TendDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_daemon_finalize;
}

static void
tend_daemon_init (TendDaemon *self)
{
  self->loop = g_main_loop_new (NULL, FALSE);
}

TendDaemon *
tend_daemon_new (const char *home, const char *config_path)
{
  TendDaemon *self = g_object_new (TEND_TYPE_DAEMON, NULL);

  self->home = g_canonicalize_filename (home, NULL);
  self->config_path = config_path != NULL ? g_canonicalize_filename (config_path, NULL) : NULL;
  return self;
}

TendContext *
tend_daemon_get_context (TendDaemon *self)
{
  return self->context;
}

void
tend_daemon_set_ready_callback (TendDaemon *self, GCallback callback, gpointer user_data)
{
  self->ready_callback = callback;
  self->ready_data = user_data;
}

static TendConfig *
read_config_full (TendDaemon *self, TendConfigFlags flags, char **out_path, GError **error)
{
  g_autofree char *default_path = g_build_filename (self->home, "tend.conf", NULL);
  const char *path = self->config_path;

  if (path == NULL && g_file_test (default_path, G_FILE_TEST_EXISTS))
    path = default_path;
  *out_path = g_strdup (path);
  if (path != NULL)
    return tend_config_new_from_file_full (path, flags, self->registry, error);
  return tend_config_new_empty (self->registry);
}

static TendConfig *
read_config (TendDaemon *self, char **out_path, GError **error)
{
  return read_config_full (self, TEND_CONFIG_FLAGS_NONE, out_path, error);
}

/* The HTTP API's token (SPEC: created at first start, mode 0600), so `tend api-token` always has one. */
static gboolean
ensure_api_token (TendDaemon *self, GError **error)
{
  g_autofree char *path = g_build_filename (self->home, "api-token", NULL);
  g_autoptr(GString) token = g_string_new (NULL);
  guint8 bytes[32];
  int fd;
  ssize_t n;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (n = read (fd, bytes, sizeof bytes)) != (ssize_t) sizeof bytes) {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read random bytes for the API token: %s",
                 g_strerror (saved));
    return FALSE;
  }
  close (fd);
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (token, "%02x", bytes[i]);
  g_string_append_c (token, '\n');
  if (!g_file_set_contents_full (path, token->str, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error)) {
    g_prefix_error (error, "cannot create the API token: ");
    return FALSE;
  }
  g_message ("created the HTTP API token in %s", path);
  return TRUE;
}

/* Names the plugins that declare a process backend, as the hint: core knows no plugin by name. */
static void
warn_no_process_backend (TendDaemon *self)
{
  g_auto(GStrv) names = tend_plugin_registry_list (self->registry);
  g_autoptr(GString) hint = g_string_new (NULL);

  for (guint i = 0; names[i] != NULL; i++) {
    const TendPluginInfo *info = tend_plugin_registry_lookup (self->registry, names[i]);
    if (info == NULL || (info->flags & TEND_PLUGIN_FLAG_PROCESS_BACKEND) == 0)
      continue;
    g_string_append_printf (hint, "%s[plugin:%s]", hint->len > 0 ? " or " : "", names[i]);
  }
  if (hint->len > 0)
    g_warning ("no plugin provides the process backend: services cannot run (enable %s)", hint->str);
  else
    g_warning ("no plugin provides the process backend: services cannot run (none is installed)");
}

/* ---- tend update: the new program's side ---- */

static int
take_handover_fd (TendDaemon *self, const char *key)
{
  gpointer fd, stolen_key;

  if (self->handover_fds == NULL || !g_hash_table_steal_extended (self->handover_fds, key, &stolen_key, &fd))
    return -1;
  g_free (stolen_key);
  fcntl (GPOINTER_TO_INT (fd), F_SETFD, FD_CLOEXEC);
  return GPOINTER_TO_INT (fd);
}

/* the same locks, never released: no second tendd can slip in during the exec */
static TendPidfile *
adopt_pidfile (TendDaemon *self)
{
  int home_fd = take_handover_fd (self, HANDOVER_HOME_LOCK);
  int file_fd = take_handover_fd (self, HANDOVER_PIDFILE);

  if (home_fd >= 0 && file_fd >= 0)
    return tend_pidfile_adopt (self->home, home_fd, file_fd);
  if (home_fd >= 0)
    close (home_fd);
  if (file_fd >= 0)
    close (file_fd);
  return NULL;
}

static gboolean
restore_services (TendDaemon *self, GError **error)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  g_autoptr(GHashTable) values =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  g_autoptr(GVariant) plugin_values = g_variant_lookup_value (self->handover_state, "values", G_VARIANT_TYPE ("a{sv}"));
  g_autoptr(GVariant) meta = g_variant_lookup_value (self->handover_state, "service-meta", G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(TendConfig) config = NULL;
  const char *text = "";
  guint32 next_id = 0;
  GVariantIter iter;
  GVariant *next;
  const char *key;
  GVariant *value;

  if (plugin_values != NULL) {
    g_variant_iter_init (&iter, plugin_values);
    while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
      g_hash_table_insert (values, g_strdup (key), value);
  }
  tend_context_set_handover_input (self->context, self->handover_fds, values);
  g_variant_lookup (self->handover_state, "generation", "u", &self->generation);
  g_variant_lookup (self->handover_state, "services", "&s", &text);
  g_variant_lookup (self->handover_state, "next-id", "u", &next_id);
  /* the running definitions, as tend save writes them: the same reader, ad hoc services included */
  config = tend_config_new_from_data_full (text, -1, "tend update", "/",
                                           TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES | TEND_CONFIG_FLAGS_DUMP, self->registry,
                                           error);
  if (config == NULL) {
    g_prefix_error (error, "update: cannot read the services handed over: ");
    return FALSE;
  }
  tend_service_manager_set_next_id (manager, next_id);
  if (meta == NULL)
    return TRUE;
  g_variant_iter_init (&iter, meta);
  while ((next = g_variant_iter_next_value (&iter)) != NULL) {
    g_autoptr(GVariant) row = next;
    g_autoptr(GVariant) instances = g_variant_lookup_value (row, "instances", G_VARIANT_TYPE ("aa{sv}"));
    const char *name = NULL, *owner = NULL;
    gboolean ad_hoc = FALSE;
    TendServiceConfig *service_config;
    TendService *service;
    GPtrArray *slots;

    if (!g_variant_lookup (row, "name", "&s", &name) ||
        (service_config = tend_config_lookup_service (config, name)) == NULL) {
      g_warning ("update: no definition handed over for %s", name != NULL ? name : "?");
      continue;
    }
    service = tend_service_manager_add (manager, service_config, error);
    if (service == NULL)
      return FALSE;
    g_variant_lookup (row, "ad-hoc", "b", &ad_hoc);
    tend_service_set_ad_hoc (service, ad_hoc);
    if (g_variant_lookup (row, "owner", "&s", &owner))
      tend_service_restore_owner (service, owner);
    slots = tend_service_get_instances (service);
    for (guint i = 0; instances != NULL && i < slots->len && i < g_variant_n_children (instances); i++) {
      g_autoptr(GVariant) state = g_variant_get_child_value (instances, i);
      tend_instance_restore_state (g_ptr_array_index (slots, i), state);
    }
  }
  return TRUE;
}

static TendInstance *
find_instance (TendDaemon *self, guint id)
{
  GListModel *services = G_LIST_MODEL (tend_context_get_manager (self->context));
  guint n = g_list_model_get_n_items (services);

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    GPtrArray *instances = tend_service_get_instances (service);
    for (guint j = 0; j < instances->len; j++) {
      if (tend_instance_get_id (g_ptr_array_index (instances, j)) == id)
        return g_ptr_array_index (instances, j);
    }
  }
  return NULL;
}

/* A plugin's service that its plugin (now gone, or one that does not adopt) did not claim back: stopped and
 * removed, as when the plugin is disabled. */
static void
drop_unclaimed_services (TendDaemon *self)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (manager));

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (G_LIST_MODEL (manager), i);
    if (tend_service_get_owner (service) != NULL && !tend_service_get_claimed (service))
      g_ptr_array_add (names, g_strdup (tend_service_get_name (service)));
  }
  for (guint i = 0; i < names->len; i++) {
    g_warning (_("update: %s was the service of plugin %s, which did not take it back; stopping it"),
               (const char *) g_ptr_array_index (names, i),
               tend_service_get_owner (tend_service_manager_lookup (manager, g_ptr_array_index (names, i))));
    tend_service_manager_remove (manager, g_ptr_array_index (names, i), NULL);
  }
}

/* every pipe goes on being read where the old program stopped, its unfinished line first */
static void
restore_captures (TendDaemon *self)
{
  g_autoptr(GVariant) captures = g_variant_lookup_value (self->handover_state, "captures", G_VARIANT_TYPE ("aa{sv}"));
  GVariantIter iter;
  GVariant *next;
  guint n = 0;

  if (captures == NULL)
    return;
  g_variant_iter_init (&iter, captures);
  while ((next = g_variant_iter_next_value (&iter)) != NULL) {
    g_autoptr(GVariant) row = next;
    const char *key = NULL;
    guint32 id = 0;
    int fd;

    if (!g_variant_lookup (row, "fd-key", "&s", &key) || (fd = tend_context_take_handover_fd (self->context, key)) < 0)
      continue;
    if (!tend_log_capture_adopt (self->context,
                                 g_variant_lookup (row, "instance-id", "u", &id) ? find_instance (self, id) : NULL, row,
                                 fd)) {
      close (fd);
      continue;
    }
    n++;
  }
  g_debug ("update: %u log pipes adopted", n);
}

gboolean
tend_daemon_check_config (TendDaemon *self, char **out_path, GError **error)
{
  g_autoptr(TendConfig) config = NULL;

  self->registry = tend_plugin_registry_new ();
  tend_plugin_registry_scan_default_dirs (self->registry);
  /* the daemon's reader, told to go on after a broken group: the operator fixes them all in one go */
  config = read_config_full (self, TEND_CONFIG_FLAGS_ALL_ERRORS, out_path, error);
  return config != NULL;
}

gboolean
tend_daemon_setup (TendDaemon *self, GError **error)
{
  g_autoptr(TendConfig) config = NULL;

  if (g_mkdir_with_parents (self->home, 0700) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create home %s: %s", self->home, g_strerror (saved));
    return FALSE;
  }
  self->pidfile = adopt_pidfile (self);
  if (self->pidfile == NULL)
    self->pidfile = tend_pidfile_acquire (self->home, error);
  if (self->pidfile == NULL)
    return FALSE;
  tend_fd_limit_raise ();

  self->registry = tend_plugin_registry_new ();
  tend_plugin_registry_scan_default_dirs (self->registry);
  config = read_config (self, &self->active_config_path, error);
  if (config == NULL)
    return FALSE;
  if (!ensure_api_token (self, error))
    return FALSE;

  /* Orphans of our services (double-forked daemons) come back to us, so stop and reap can reach them. */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    g_warning ("cannot become a child subreaper: %s; double-forked processes may escape", g_strerror (errno));

  self->context = tend_context_new (self->home, error);
  if (self->context == NULL)
    return FALSE;
  {
    g_autofree char *state_path = g_build_filename (self->home, "state", NULL);
    self->state = tend_state_file_new (self->context, state_path);
  }
  tend_context_set_config (self->context, config);
  g_setenv ("TEND_HOME", self->home, TRUE);
  if (self->handover_state != NULL && !restore_services (self, error))
    return FALSE;
  if (self->log_path != NULL) {
    g_autoptr(TendLogFile) own_log = tend_log_file_new_for_stderr (self->log_path);
    tend_context_add_log_file (self->context, own_log);
  }

  tend_context_set_reload_func (self->context, (TendReloadFunc) tend_daemon_reload, self);
  self->loader = tend_plugin_loader_new (self->context, self->registry);
  if (!tend_plugin_loader_apply (self->loader, config, error))
    return FALSE;
  if (tend_context_get_process_backend (self->context) == NULL && tend_config_get_services (config)->len > 0)
    warn_no_process_backend (self);
  if (self->handover_state != NULL) {
    restore_captures (self);
    drop_unclaimed_services (self);
  }
  self->dbus = tend_dbus_server_new (self);
  if (!tend_dbus_server_start (self->dbus, error))
    return FALSE;
  /* what no plugin took is closed */
  tend_context_finish_handover_input (self->context);
  return TRUE;
}

/* A TendApplyFilter: @data holds the names deleted with tend delete, which a reload does not bring back. */
static TendApplyChoice
skip_deleted (const char *name, gpointer data)
{
  return g_hash_table_contains (data, name) ? TEND_APPLY_SKIP : TEND_APPLY_DEFAULT;
}

/* The configured services deleted on purpose: the running configuration has them, the daemon does not. */
static GHashTable *
deleted_names (TendDaemon *self)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  GPtrArray *configs = tend_config_get_services (tend_context_get_config (self->context));
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < configs->len; i++) {
    TendServiceConfig *config = g_ptr_array_index (configs, i);
    if (tend_service_manager_lookup (manager, config->name) == NULL)
      g_hash_table_add (names, g_strdup (config->name));
  }
  return names;
}

gboolean
tend_daemon_reload (TendDaemon *self, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr(TendConfig) config = read_config (self, &path, error);
  g_autoptr(GError) plugin_error = NULL;
  g_autoptr(GHashTable) deleted = NULL;

  if (config == NULL) {
    g_prefix_error (error, "reload refused, the running configuration is kept: ");
    return FALSE;
  }
  deleted = deleted_names (self);
  if (!tend_plugin_loader_apply (self->loader, config, &plugin_error))
    g_warning ("reload: %s", plugin_error->message);
  g_free (self->active_config_path);
  self->active_config_path = g_steal_pointer (&path);
  tend_context_set_config (self->context, config);
  /* deleted stays deleted, as across a restart of tendd; tend start NAME brings one back */
  tend_service_manager_apply_config_filtered (tend_context_get_manager (self->context), config, TRUE, skip_deleted,
                                              deleted);
  tend_context_emit_config_reloaded (self->context, config);
  tend_state_file_changed (self->state);
  g_message ("configuration reloaded from %s", tend_config_get_path (config));
  /* the file was good and the rest of it applies; the next reload tries the plugin again */
  if (plugin_error != NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "reloaded, but a plugin failed to start: %s",
                 plugin_error->message);
    return FALSE;
  }
  return TRUE;
}

static void
plugins_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TendDaemon *self = user_data;

  tend_plugin_loader_stop_all_finish (self->loader, result, NULL);
  if (self->dbus != NULL)
    tend_dbus_server_stop (self->dbus);
  g_message ("stopped");
  g_main_loop_quit (self->loop);
}

static void
services_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TendDaemon *self = user_data;

  tend_service_manager_stop_all_finish (TEND_SERVICE_MANAGER (source), result, NULL);
  tend_plugin_loader_stop_all_async (self->loader, plugins_stopped_cb, self);
}

void
tend_daemon_quit (TendDaemon *self)
{
  if (self->quitting)
    return;
  self->quitting = TRUE;
  /* a kill or SIGTERM is not a stop of each service: the state stays what it was, for the next tendd */
  tend_state_file_freeze (self->state);
  g_message ("stopping every service");
  tend_notify_send ("STOPPING=1");
  tend_context_emit_shutting_down (self->context);
  tend_service_manager_stop_all_async (tend_context_get_manager (self->context), NULL, services_stopped_cb, self);
}

static gboolean
quit_signal_cb (gpointer user_data)
{
  tend_daemon_quit (TEND_DAEMON (user_data));
  return G_SOURCE_CONTINUE;
}

static gboolean
reload_signal_cb (gpointer user_data)
{
  TendDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  if (self->quitting)
    return G_SOURCE_CONTINUE;
  g_message ("SIGHUP: reloading the configuration");
  if (!tend_daemon_reload (self, &error))
    g_warning ("%s", error->message);
  return G_SOURCE_CONTINUE;
}

/* ---- tend update: the old program's side ---- */

void
tend_daemon_set_exec_info (TendDaemon *self, const char *path, char **argv)
{
  g_free (self->exec_path);
  self->exec_path = g_strdup (path);
  g_strfreev (self->exec_argv);
  self->exec_argv = g_strdupv (argv);
}

void
tend_daemon_set_handover (TendDaemon *self, GVariant *state, GHashTable *fds)
{
  const char *path = NULL;

  g_clear_pointer (&self->handover_state, g_variant_unref);
  g_clear_pointer (&self->handover_fds, g_hash_table_unref);
  self->handover_state = g_variant_ref_sink (state);
  self->handover_fds = g_hash_table_ref (fds);
  /* argv[0] may be relative to a folder the detached daemon left */
  if (g_variant_lookup (state, "exec-path", "&s", &path)) {
    g_free (self->exec_path);
    self->exec_path = g_strdup (path);
  }
}

guint
tend_daemon_get_generation (TendDaemon *self)
{
  return self->generation;
}

/* What cannot cross the exec: a stop under way (its kill timer and the pending restart of a restart). */
static gboolean
check_can_update (TendDaemon *self, GError **error)
{
  GListModel *services = G_LIST_MODEL (tend_context_get_manager (self->context));
  guint n = g_list_model_get_n_items (services);

  if (self->quitting) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_BUSY, "the daemon is stopping");
    return FALSE;
  }
  if (self->updating) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_BUSY, "an update is under way already");
    return FALSE;
  }
  if (self->exec_argv == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_FAILED, "this tendd does not know how it was started");
    return FALSE;
  }
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    const char *name = tend_service_get_name (service);
    GPtrArray *instances = tend_service_get_instances (service);
    gboolean stopping = tend_service_has_retiring (service) ||
                        tend_service_manager_lookup (tend_context_get_manager (self->context), name) != service;

    for (guint j = 0; j < instances->len && !stopping; j++)
      stopping = tend_instance_get_state (g_ptr_array_index (instances, j)) == TEND_SERVICE_STATE_STOPPING;
    if (stopping) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_BUSY, "%s is stopping; try again once it has stopped", name);
      return FALSE;
    }
  }
  return TRUE;
}

static GVariant *
save_services (TendDaemon *self, GVariantDict *state)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  GListModel *services = G_LIST_MODEL (manager);
  guint n = g_list_model_get_n_items (services);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = NULL;
  GVariantBuilder meta;

  g_variant_builder_init (&meta, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    GPtrArray *instances = tend_service_get_instances (service);
    GVariantBuilder slots;
    GVariantDict row;

    /* a plugin's service too: its plugin, loaded anew, adopts it (or leaves it to be removed) */
    tend_service_config_to_key_file (tend_service_get_config (service), kf);
    g_variant_builder_init (&slots, G_VARIANT_TYPE ("aa{sv}"));
    for (guint j = 0; j < instances->len; j++)
      g_variant_builder_add_value (&slots, tend_instance_save_state (g_ptr_array_index (instances, j)));
    g_variant_dict_init (&row, NULL);
    g_variant_dict_insert (&row, "name", "s", tend_service_get_name (service));
    g_variant_dict_insert (&row, "ad-hoc", "b", tend_service_get_ad_hoc (service));
    if (tend_service_get_owner (service) != NULL)
      g_variant_dict_insert (&row, "owner", "s", tend_service_get_owner (service));
    g_variant_dict_insert_value (&row, "instances", g_variant_builder_end (&slots));
    g_variant_builder_add_value (&meta, g_variant_dict_end (&row));
  }
  text = g_key_file_to_data (kf, NULL, NULL);
  g_variant_dict_insert (state, "services", "s", text);
  g_variant_dict_insert (state, "next-id", "u", tend_service_manager_get_next_id (manager));
  return g_variant_builder_end (&meta);
}

/* Returns only when the exec failed. */
static gboolean
handover_and_exec (TendDaemon *self, GError **error)
{
  g_autoptr(TendHandover) handover = tend_handover_new ();
  GVariantDict state;
  GVariantBuilder values;
  GHashTableIter iter;
  gpointer key, value;
  int home_fd, file_fd, listen_fd;

  /* what should run is on disk before the exec: the next program starts from it if the exec fails half-way */
  tend_state_file_flush (self->state);
  tend_context_emit_save_handover (self->context, handover);
  tend_pidfile_get_fds (self->pidfile, &home_fd, &file_fd);
  tend_handover_add_fd (handover, HANDOVER_HOME_LOCK, home_fd);
  tend_handover_add_fd (handover, HANDOVER_PIDFILE, file_fd);
  listen_fd = tend_dbus_server_get_listen_fd (self->dbus);
  if (listen_fd >= 0)
    tend_handover_add_fd (handover, TEND_DBUS_SERVER_HANDOVER_KEY, listen_fd);

  g_variant_dict_init (&state, NULL);
  g_variant_dict_insert (&state, "version", "s", TEND_VERSION);
  g_variant_dict_insert (&state, "generation", "u", self->generation + 1);
  g_variant_dict_insert (&state, "exec-path", "s", self->exec_path);
  g_variant_dict_insert_value (&state, "service-meta", save_services (self, &state));
  g_variant_builder_init (&values, G_VARIANT_TYPE ("a{sv}"));
  g_hash_table_iter_init (&iter, tend_handover_get_values (handover));
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_variant_builder_add (&values, "{sv}", (const char *) key, (GVariant *) value);
  g_variant_dict_insert_value (&state, "values", g_variant_builder_end (&values));
  /* the replies (tend update's own) go out before the connections close */
  tend_dbus_server_flush (self->dbus);
  /* last: from here on no pipe is read until the next program does */
  g_variant_dict_insert_value (&state, "captures", tend_log_capture_save_all (handover));

  tend_update_exec (self->update_binary, self->exec_argv, g_variant_dict_end (&state), handover, error);
  tend_log_capture_resume_all ();
  return FALSE;
}

static void
update_exec_now (TendDaemon *self)
{
  g_autoptr(GError) error = NULL;

  if (!handover_and_exec (self, &error)) {
    g_warning (_("update failed, this tendd goes on: %s"), error->message);
    self->updating = FALSE;
    tend_dbus_server_pause (self->dbus, FALSE);
    tend_context_emit_handover_cancelled (self->context);
  }
}

static gboolean
update_drain_cb (gpointer user_data)
{
  TendDaemon *self = user_data;

  if ((tend_context_get_handover_holds (self->context) > 0 || !tend_dbus_server_is_quiet (self->dbus)) &&
      g_get_monotonic_time () < self->update_deadline)
    return G_SOURCE_CONTINUE;
  self->update_timer = 0;
  update_exec_now (self);
  return G_SOURCE_REMOVE;
}

static void
update_begin (gpointer user_data)
{
  TendDaemon *self = user_data;

  g_message ("update: handing over to %s", self->update_binary);
  tend_notify_send ("RELOADING=1");
  /* new clients wait in the sockets' queues; what is under way finishes first */
  tend_dbus_server_pause (self->dbus, TRUE);
  tend_context_emit_handover_prepare (self->context);
  self->update_deadline = g_get_monotonic_time () + HANDOVER_DRAIN_MS * 1000;
  self->update_timer = g_timeout_add (10, update_drain_cb, self);
}

static void
update_checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  TendDaemon *self = g_task_get_source_object (task);
  GError *error = NULL;
  char *version = tend_update_check_finish (result, &error);

  self->updating = FALSE;
  if (version == NULL || !check_can_update (self, &error)) {
    g_free (version);
    g_warning (_("update refused: %s"), error->message);
    g_task_return_error (task, error);
    return;
  }
  g_message ("update: %s is tendd %s and accepts the configuration", self->update_binary, version);
  self->updating = TRUE;
  g_task_return_pointer (task, version, g_free);
  /* after the reply */
  g_idle_add_once (update_begin, self);
}

void
tend_daemon_update_async (TendDaemon *self, const char *binary, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  GError *error = NULL;

  if (!check_can_update (self, &error)) {
    g_warning (_("update refused: %s"), error->message);
    g_task_return_error (task, error);
    g_object_unref (task);
    return;
  }
  g_free (self->update_binary);
  self->update_binary = g_strdup (binary != NULL && binary[0] != '\0' ? binary : self->exec_path);
  /* no second update while this one is checked */
  self->updating = TRUE;
  tend_update_check_async (G_OBJECT (self), self->context, self->update_binary, self->home, self->active_config_path,
                           update_checked_cb, task);
}

char *
tend_daemon_update_finish (TendDaemon *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
signal_update_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *version = tend_daemon_update_finish (TEND_DAEMON (source), result, &error);

  /* SIGUSR2 has no caller to tell: the log says it (the refusal is logged where it is decided) */
  if (version == NULL)
    g_debug ("update by SIGUSR2 not done: %s", error->message);
}

static gboolean
update_signal_cb (gpointer user_data)
{
  g_message ("SIGUSR2: updating in place");
  tend_daemon_update_async (TEND_DAEMON (user_data), NULL, signal_update_cb, NULL);
  return G_SOURCE_CONTINUE;
}

int
tend_daemon_run (TendDaemon *self)
{
  TendConfig *config = tend_context_get_config (self->context);
  guint term_id, int_id, hup_id, usr2_id;

  /* a client that hangs up must not kill the daemon */
  signal (SIGPIPE, SIG_IGN);
  term_id = g_unix_signal_add (SIGTERM, quit_signal_cb, self);
  int_id = g_unix_signal_add (SIGINT, quit_signal_cb, self);
  hup_id = g_unix_signal_add (SIGHUP, reload_signal_cb, self);

  usr2_id = g_unix_signal_add (SIGUSR2, update_signal_cb, self);

  if (self->handover_state != NULL) {
    /* tend update: everything runs as it did; the configuration is not applied again (tend reload does that) */
    g_message ("tendd %s took over after an update (generation %u), %u services adopted", TEND_VERSION,
               self->generation, g_list_model_get_n_items (G_LIST_MODEL (tend_context_get_manager (self->context))));
  } else {
    g_autoptr(GError) error = NULL;
    /* the configuration, with what the state says over it: stopped stays stopped, deleted stays deleted */
    if (!tend_state_file_load (self->state, self->registry, &error))
      g_warning ("%s", error->message);
    tend_service_manager_apply_config_filtered (tend_context_get_manager (self->context), config, TRUE,
                                                tend_state_file_choose, self->state);
    tend_state_file_restore_ad_hoc (self->state);
  }
  if (self->resurrect && self->handover_state == NULL) {
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) names = tend_daemon_resurrect (self, &error);
    if (names == NULL)
      g_warning ("--resurrect: %s", error->message);
  }
  tend_state_file_watch (self->state);
  g_message ("tendd %s ready (home %s, config %s, pid %d)", TEND_VERSION, self->home,
             tend_config_get_path (config), (int) getpid ());
  tend_notify_send ("READY=1");
  if (self->ready_callback != NULL)
    ((void (*) (gpointer)) self->ready_callback) (self->ready_data);

  g_main_loop_run (self->loop);

  g_source_remove (term_id);
  g_source_remove (int_id);
  g_source_remove (hup_id);
  g_source_remove (usr2_id);
  return self->exit_status;
}

TendPluginRegistry *
tend_daemon_get_registry (TendDaemon *self)
{
  return self->registry;
}


const char *
tend_daemon_get_config_path (TendDaemon *self)
{
  return self->active_config_path;
}

void
tend_daemon_set_resurrect (TendDaemon *self, gboolean resurrect)
{
  self->resurrect = resurrect;
}

/* A command-line value means itself: a backslash is doubled so GKeyFile reads it back literally. */
static char *
keyfile_escape (const char *value)
{
  g_autoptr(GString) s = g_string_new (value);
  g_string_replace (s, "\\", "\\\\", 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
option_is_safe (const char *key, const char *value, GError **error)
{
  /* a key as the reader takes it, never "#key" (a comment, dropped) or "a=b"; no newline to smuggle in a group */
  if (!tend_config_key_name_is_valid (key)) {
    g_autofree char *quoted = tend_quote_for_message (key, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "bad option %s: not a key name (use letters, digits, \"-\", \"_\" and \".\")", quoted);
    return FALSE;
  }
  if (strpbrk (value, "\n\r") != NULL) {
    g_autofree char *quoted = tend_quote_for_message (value, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "bad option %s: a value holds a line break: %s", key,
                 quoted);
    return FALSE;
  }
  if (g_str_equal (key, "exec")) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "the command comes after --, not as an option");
    return FALSE;
  }
  return TRUE;
}

gboolean
tend_daemon_add_service (TendDaemon *self,
                         const char *name,
                         const char *const *argv,
                         GVariant *options,
                         const char *workdir,
                         uid_t caller,
                         GError **error)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(TendConfig) config = NULL;
  TendServiceConfig *service_config;
  TendService *existing;
  GVariantIter iter;
  const char *key, *value;
  const char *shell_text = NULL;
  gboolean shell = FALSE;

  if (!tend_service_name_is_valid (name)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "invalid service name \"%s\" (letters, digits, '-', '_' and '.'; not \"all\")", name);
    return FALSE;
  }
  if (argv == NULL || argv[0] == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "no command given");
    return FALSE;
  }
  /* with shell=true the words are one shell command line, as exec is in a file: joined, not quoted */
  if (g_variant_lookup (options, "shell", "&s", &shell_text))
    tend_parse_bool (shell_text, &shell, NULL);
  /* through the configuration reader, so a key given on the command line is checked exactly as in a file */
  g_string_append_printf (text, "[service:%s]\nexec=", name);
  for (guint i = 0; argv[i] != NULL; i++) {
    g_autofree char *quoted = shell ? g_strdup (argv[i]) : g_shell_quote (argv[i]);
    g_autofree char *escaped = keyfile_escape (quoted);
    if (strpbrk (argv[i], "\n\r") != NULL) {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "an argument holds a newline");
      return FALSE;
    }
    g_string_append_printf (text, "%s%s", i > 0 ? " " : "", escaped);
  }
  g_string_append_c (text, '\n');
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value)) {
    g_autofree char *escaped = NULL;
    if (!option_is_safe (key, value, error))
      return FALSE;
    escaped = keyfile_escape (value);
    g_string_append_printf (text, "%s=%s\n", key, escaped);
  }
  config = tend_caller_config_from_data (text->str, "tend start", workdir != NULL && workdir[0] ? workdir : "/",
                                         self->registry, caller, error);
  if (config == NULL)
    return FALSE;
  {
    /* --depends-on must name a service the daemon has */
    g_auto(GStrv) selected = tend_service_manager_select (manager, config, NULL, error);
    if (selected == NULL)
      return FALSE;
  }
  service_config = g_ptr_array_index (tend_config_get_services (config), 0);
  existing = tend_service_manager_lookup (manager, name);
  if (existing != NULL) {
    if (!tend_service_config_equal (tend_service_get_config (existing), service_config)) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "a service named %s already exists with another command or options (tend delete %s first)", name,
                   name);
      return FALSE;
    }
    tend_service_start (existing);
    return TRUE;
  }
  existing = tend_service_manager_add (manager, service_config, error);
  if (existing == NULL)
    return FALSE;
  tend_service_set_ad_hoc (existing, TRUE);
  tend_state_file_changed (self->state);
  g_message ("%s: added from the command line", name);
  if (service_config->start)
    tend_service_start (existing);
  return TRUE;
}

static GStrv
add_or_start (TendDaemon *self, TendConfig *config, const char *const *only, gboolean (*should_start) (const char *, gpointer), gpointer data, GError **error)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  GPtrArray *configs = tend_config_get_services (config);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();

  /* --only and what it depends on; every dependency defined somewhere, no plugin's service replaced */
  g_auto(GStrv) selected = tend_service_manager_select (manager, config, only, error);
  g_autoptr(GHashTable) take = NULL;

  if (selected == NULL)
    return NULL;
  /* by hash: a file may hold 100,000 services */
  take = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; selected[i] != NULL; i++)
    g_hash_table_add (take, selected[i]);
  for (guint i = 0; i < configs->len; i++) {
    TendServiceConfig *service_config = g_ptr_array_index (configs, i);
    TendService *service = tend_service_manager_lookup (manager, service_config->name);

    if (!g_hash_table_contains (take, service_config->name))
      continue;
    if (service == NULL) {
      service = tend_service_manager_add (manager, service_config, NULL);
      tend_service_set_ad_hoc (service, TRUE);
    } else {
      tend_service_manager_update_service (manager, service, service_config);
    }
    if (should_start (service_config->name, data)) {
      tend_service_start (service);
      g_strv_builder_add (names, service_config->name);
    }
  }
  return g_strv_builder_end (names);
}

static gboolean
start_unless_disabled (const char *name, gpointer data)
{
  TendConfig *config = data;
  return tend_config_lookup_service (config, name)->start;
}

GStrv
tend_daemon_start_config (TendDaemon *self, const char *path, const char *const *only, uid_t caller, GError **error)
{
  g_autoptr(TendConfig) config = NULL;

  if (!g_path_is_absolute (path)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "%s: the path must be absolute", path);
    return NULL;
  }
  config = tend_caller_config_from_file (path, self->registry, caller, error);
  if (config == NULL)
    return NULL;
  /* definitions change too, which no signal tells */
  tend_state_file_changed (self->state);
  return add_or_start (self, config, only, start_unless_disabled, config, error);
}

char *
tend_daemon_save (TendDaemon *self, GError **error)
{
  g_autofree char *path = g_build_filename (self->home, "dump.conf", NULL);

  if (!tend_dump_save (tend_context_get_manager (self->context), path, error))
    return NULL;
  g_message ("saved every service to %s", path);
  return g_steal_pointer (&path);
}

GStrv
tend_daemon_resurrect (TendDaemon *self, GError **error)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  g_autofree char *path = g_build_filename (self->home, "dump.conf", NULL);
  g_auto(GStrv) running = NULL;
  g_autoptr(TendConfig) config = tend_dump_load (path, self->registry, &running, error);
  g_autoptr(GStrvBuilder) started = g_strv_builder_new ();
  g_auto(GStrv) selected = NULL;
  GPtrArray *configs;

  if (config == NULL)
    return NULL;
  /* every dependency defined somewhere, no plugin's service replaced */
  selected = tend_service_manager_select (manager, config, NULL, error);
  if (selected == NULL)
    return NULL;
  configs = tend_config_get_services (config);
  for (guint i = 0; i < configs->len; i++) {
    TendServiceConfig *service_config = g_ptr_array_index (configs, i);
    TendService *service = tend_service_manager_lookup (manager, service_config->name);

    if (service == NULL) {
      service = tend_service_manager_add (manager, service_config, NULL);
      tend_service_set_ad_hoc (service, TRUE);
    } else if (tend_service_get_ad_hoc (service)) {
      tend_service_manager_update_service (manager, service, service_config);
    }
    /* a configured service keeps its configured definition: the dump says only whether it runs */

    /* the snapshot both ways: what was stopped at save time is stopped again, even when the configuration starts it */
    if (g_strv_contains ((const char *const *) running, service_config->name)) {
      tend_service_start (service);
      g_strv_builder_add (started, service_config->name);
    } else if (tend_service_get_wants_running (service)) {
      g_message ("%s: stopped, as it was when tend save wrote %s", service_config->name, path);
      tend_service_stop (service);
    }
  }
  tend_state_file_changed (self->state);
  g_message ("resurrected %u services from %s", configs->len, path);
  return g_strv_builder_end (started);
}

gboolean
tend_daemon_undelete (TendDaemon *self, const char *name)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  TendServiceConfig *config = tend_config_lookup_service (tend_context_get_config (self->context), name);

  if (config == NULL || tend_service_manager_lookup (manager, name) != NULL)
    return FALSE;
  if (tend_service_manager_add (manager, config, NULL) == NULL)
    return FALSE;
  g_message ("%s: back from the configuration (it was deleted)", name);
  return TRUE;
}

void
tend_daemon_flush_state (TendDaemon *self)
{
  if (self->state != NULL)
    tend_state_file_flush (self->state);
}

GVariant *
tend_daemon_describe_plugin (TendDaemon *self, const char *name)
{
  const TendPluginInfo *info = tend_plugin_registry_lookup (self->registry, name);
  TendPlugin *plugin = tend_plugin_loader_lookup (self->loader, name);
  TendPluginConfig *config = tend_config_lookup_plugin (tend_context_get_config (self->context), name);
  GVariantDict status;
  GVariantDict row;

  if (info == NULL)
    return NULL;
  g_variant_dict_init (&status, NULL);
  if (plugin != NULL)
    tend_plugin_add_status (plugin, &status);
  g_variant_dict_init (&row, NULL);
  g_variant_dict_insert (&row, "name", "s", info->name);
  g_variant_dict_insert (&row, "enabled", "b", config != NULL && tend_plugin_config_get_enabled (config));
  g_variant_dict_insert (&row, "loaded", "b", plugin != NULL);
  g_variant_dict_insert (&row, "description", "s", info->description != NULL ? _(info->description) : "");
  g_variant_dict_insert_value (&row, "status", g_variant_dict_end (&status));
  return g_variant_dict_end (&row);
}

GVariant *
tend_daemon_list_plugins (TendDaemon *self)
{
  g_auto(GStrv) names = tend_plugin_registry_list (self->registry);
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("aa{sv}"));

  for (guint i = 0; names[i] != NULL; i++) {
    GVariant *row = tend_daemon_describe_plugin (self, names[i]);
    if (row != NULL)
      g_variant_builder_add_value (builder, row);
  }
  return g_variant_builder_end (builder);
}

void
tend_daemon_set_log_path (TendDaemon *self, const char *path)
{
  g_free (self->log_path);
  self->log_path = g_strdup (path);
}

/* A log nobody writes now: emptied through a checked descriptor, never by name (truncate() follows links). */
static gboolean
empty_closed_log (const char *path, uid_t owner, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  int fd = tend_log_path_open (path, O_WRONLY, owner, &local_error);
  int saved;

  if (fd < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return TRUE;
  if (fd < 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot empty %s: %s", path, local_error->message);
    return FALSE;
  }
  saved = ftruncate (fd, 0) < 0 ? errno : 0;
  close (fd);
  if (saved != 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot empty %s: %s", path, g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

/* Empties every log of @service it can; what it cannot is added to @failures, one message each. */
static void
flush_service (TendDaemon *self, TendService *service, GPtrArray *failures)
{
  GPtrArray *instances = tend_service_get_instances (service);
  uid_t owner = tend_log_path_owner_for_user (tend_service_get_config (service)->user);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < instances->len; i++) {
    for (int stream = 1; stream <= 2; stream++) {
      g_autofree char *path = tend_instance_get_log_path (g_ptr_array_index (instances, i), stream);
      TendLogFile *file = tend_context_lookup_log_file (self->context, path);
      g_autoptr(GError) error = NULL;

      /* merged instances share their files */
      if (!g_hash_table_add (seen, g_strdup (path)))
        continue;
      if (file != NULL ? !tend_log_file_truncate (file, &error) : !empty_closed_log (path, owner, &error)) {
        g_warning (_("flush: %s"), error->message);
        g_ptr_array_add (failures, g_strdup (error->message));
      }
    }
  }
}

/* One refused file does not keep the others from being emptied; the call fails and names each one. */
static gboolean
flush_result (GPtrArray *failures, GError **error)
{
  g_autofree char *joined = NULL;

  if (failures->len == 0)
    return TRUE;
  g_ptr_array_add (failures, NULL);
  joined = g_strjoinv ("; ", (char **) failures->pdata);
  g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s", joined);
  return FALSE;
}

gboolean
tend_daemon_flush (TendDaemon *self, const char *name, GError **error)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func (g_free);
  TendService *service;

  if (g_strcmp0 (name, "all") == 0) {
    guint n = g_list_model_get_n_items (G_LIST_MODEL (manager));
    for (guint i = 0; i < n; i++) {
      g_autoptr(TendService) each = g_list_model_get_item (G_LIST_MODEL (manager), i);
      flush_service (self, each, failures);
    }
    return flush_result (failures, error);
  }
  service = tend_service_manager_lookup (manager, name);
  if (service == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_NOT_FOUND, "no service named %s", name);
    return FALSE;
  }
  flush_service (self, service, failures);
  return flush_result (failures, error);
}
