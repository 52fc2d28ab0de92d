/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

#include "tend-daemon.h"
#include "tend-error.h"
#include "tend-notify.h"
#include "tend-pidfile.h"
#include "tend-plugin-loader.h"
#include "tend-service-manager.h"

struct _TendDaemon {
  GObject parent_instance;

  char *home;
  char *config_path; /* NULL: $home/tend.conf when it exists */
  char *pidfile_path;
  int pidfile_fd;
  TendPluginRegistry *registry;
  TendContext *context;
  TendPluginLoader *loader;
  GMainLoop *loop;
  gboolean quitting;
  int exit_status;
  GCallback ready_callback;
  gpointer ready_data;
};

G_DEFINE_FINAL_TYPE (TendDaemon, tend_daemon, G_TYPE_OBJECT)

static void
tend_daemon_finalize (GObject *object)
{
  TendDaemon *self = TEND_DAEMON (object);

  g_clear_object (&self->loader);
  g_clear_object (&self->context);
  g_clear_object (&self->registry);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  if (self->pidfile_fd >= 0)
    tend_pidfile_release (self->pidfile_path, self->pidfile_fd);
  g_free (self->pidfile_path);
  g_free (self->config_path);
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
  self->pidfile_fd = -1;
  self->loop = g_main_loop_new (NULL, FALSE);
}

TendDaemon *
tend_daemon_new (const char *home, const char *config_path)
{
  TendDaemon *self = g_object_new (TEND_TYPE_DAEMON, NULL);

  self->home = g_canonicalize_filename (home, NULL);
  self->config_path = config_path != NULL ? g_canonicalize_filename (config_path, NULL) : NULL;
  self->pidfile_path = g_build_filename (self->home, "tendd.pid", NULL);
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
read_config (TendDaemon *self, GError **error)
{
  g_autofree char *default_path = g_build_filename (self->home, "tend.conf", NULL);

  if (self->config_path != NULL)
    return tend_config_new_from_file (self->config_path, self->registry, error);
  if (g_file_test (default_path, G_FILE_TEST_EXISTS))
    return tend_config_new_from_file (default_path, self->registry, error);
  return tend_config_new_empty (self->registry);
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
  self->pidfile_fd = tend_pidfile_acquire (self->pidfile_path, error);
  if (self->pidfile_fd < 0)
    return FALSE;

  self->registry = tend_plugin_registry_new ();
  tend_plugin_registry_scan_default_dirs (self->registry);
  config = read_config (self, error);
  if (config == NULL)
    return FALSE;

  /* Orphans of our services (double-forked daemons) come back to us, so stop and reap can reach them. */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    g_warning ("cannot become a child subreaper: %s; double-forked processes may escape", g_strerror (errno));

  self->context = tend_context_new (self->home, error);
  if (self->context == NULL)
    return FALSE;
  tend_context_set_config (self->context, config);
  g_setenv ("TEND_HOME", self->home, TRUE);

  self->loader = tend_plugin_loader_new (self->context, self->registry);
  if (!tend_plugin_loader_apply (self->loader, config, error))
    return FALSE;
  if (tend_context_get_process_backend (self->context) == NULL && tend_config_get_services (config)->len > 0)
    g_warning ("the process plugin is not loaded: services cannot run");
  return TRUE;
}

gboolean
tend_daemon_reload (TendDaemon *self, GError **error)
{
  g_autoptr(TendConfig) config = read_config (self, error);
  g_autoptr(GError) plugin_error = NULL;

  if (config == NULL) {
    g_prefix_error (error, "reload refused, the running configuration is kept: ");
    return FALSE;
  }
  if (!tend_plugin_loader_apply (self->loader, config, &plugin_error))
    g_warning ("reload: %s", plugin_error->message);
  tend_context_set_config (self->context, config);
  tend_service_manager_apply_config (tend_context_get_manager (self->context), config, TRUE);
  tend_context_emit_config_reloaded (self->context, config);
  g_message ("configuration reloaded from %s", tend_config_get_path (config));
  return TRUE;
}

static void
plugins_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TendDaemon *self = user_data;

  tend_plugin_loader_stop_all_finish (self->loader, result, NULL);
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

int
tend_daemon_run (TendDaemon *self)
{
  TendConfig *config = tend_context_get_config (self->context);
  guint term_id, int_id, hup_id;

  /* a client that hangs up must not kill the daemon */
  signal (SIGPIPE, SIG_IGN);
  term_id = g_unix_signal_add (SIGTERM, quit_signal_cb, self);
  int_id = g_unix_signal_add (SIGINT, quit_signal_cb, self);
  hup_id = g_unix_signal_add (SIGHUP, reload_signal_cb, self);

  tend_service_manager_apply_config (tend_context_get_manager (self->context), config, TRUE);
  g_message ("tendd %s ready (home %s, config %s, pid %d)", TEND_VERSION, self->home,
             tend_config_get_path (config), (int) getpid ());
  tend_notify_send ("READY=1");
  if (self->ready_callback != NULL)
    ((void (*) (gpointer)) self->ready_callback) (self->ready_data);

  g_main_loop_run (self->loop);

  g_source_remove (term_id);
  g_source_remove (int_id);
  g_source_remove (hup_id);
  return self->exit_status;
}
