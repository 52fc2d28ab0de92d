/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-dbus-access.h"
#include "tend-dbus-bus-face.h"
#include "tend-dbus-generated.h"
#include "tend-dbus-listener.h"
#include "tend-dbus-server.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-plugin-loader.h"
#include "tend-service-info.h"
#include "tend-service-manager.h"
#include "tend-service-redact.h"
#include "tend-config-private.h"
#include "tend-context-private.h"

#define BUS_NAME "org.tend.Tend1"
#define MANAGER_PATH "/org/tend/Tend1"

typedef struct {
  TendDbusServer *server;
  TendService *service;
  TendDbusService1 *skeleton;
  char *path;
  gulong notify_id;
  TendServiceState last_state;
} ServiceExport;

struct _TendDbusServer {
  GObject parent_instance;

  TendDaemon *daemon; /* owns us */
  TendContext *context;
  char *socket_path;
  TendDbusListener *listener;
  GPtrArray *connections; /* GDBusConnection: peers of the socket, and the bus */
  guint bus_owner_id;
  GBusType bus_type;
  gboolean bus_fallback_tried;
  TendDbusManager1 *manager;
  GHashTable *services; /* TendService → ServiceExport */
  GHashTable *plugins;  /* name → TendDbusPlugin1 */
  gulong exported_id;
  gulong unexported_id;
  gulong added_id;
  gulong removed_id;
  gulong state_id;
  gulong reload_id;
};

G_DEFINE_FINAL_TYPE (TendDbusServer, tend_dbus_server, G_TYPE_OBJECT)

/* ---- exporting ---- */

static void
export_on (GDBusInterfaceSkeleton *skeleton, GDBusConnection *connection, const char *path)
{
  g_autoptr(GError) error = NULL;

  if (!g_dbus_interface_skeleton_export (skeleton, connection, path, &error))
    g_warning ("cannot export %s: %s", path, error->message);
}

static void
export_everywhere (TendDbusServer *self, GDBusInterfaceSkeleton *skeleton, const char *path)
{
  for (guint i = 0; i < self->connections->len; i++)
    export_on (skeleton, g_ptr_array_index (self->connections, i), path);
}

static void
unexport (GDBusInterfaceSkeleton *skeleton)
{
  /* unexporting what no connection has is a critical in GLib */
  if (g_dbus_interface_skeleton_get_connection (skeleton) != NULL)
    g_dbus_interface_skeleton_unexport (skeleton);
}

static char *
plugin_path (const char *name)
{
  g_autofree char *escaped = g_dbus_escape_object_path (name);
  return g_strdup_printf (MANAGER_PATH "/plugin/%s", escaped);
}

/* the interfaces plugins export sit beside their org.tend.Plugin1 */
static void
export_plugin_interface_on (const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  g_autofree char *path = plugin_path (name);
  export_on (skeleton, user_data, path);
}

static void
unexport_plugin_interface_from (const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  if (g_dbus_interface_skeleton_has_connection (skeleton, user_data))
    g_dbus_interface_skeleton_unexport_from_connection (skeleton, user_data);
}

static void
export_all_on (TendDbusServer *self, GDBusConnection *connection)
{
  GHashTableIter iter;
  gpointer key, value;

  export_on (G_DBUS_INTERFACE_SKELETON (self->manager), connection, MANAGER_PATH);
  g_hash_table_iter_init (&iter, self->services);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    ServiceExport *se = value;
    export_on (G_DBUS_INTERFACE_SKELETON (se->skeleton), connection, se->path);
  }
  g_hash_table_iter_init (&iter, self->plugins);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    g_autofree char *path = plugin_path (key);
    export_on (G_DBUS_INTERFACE_SKELETON (value), connection, path);
  }
  tend_context_foreach_plugin_interface (self->context, export_plugin_interface_on, connection);
}

static void
unexport_all_from (TendDbusServer *self, GDBusConnection *connection)
{
  GHashTableIter iter;
  gpointer value;

  if (g_dbus_interface_skeleton_has_connection (G_DBUS_INTERFACE_SKELETON (self->manager), connection))
    g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (self->manager), connection);
  g_hash_table_iter_init (&iter, self->services);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    GDBusInterfaceSkeleton *skeleton = G_DBUS_INTERFACE_SKELETON (((ServiceExport *) value)->skeleton);
    if (g_dbus_interface_skeleton_has_connection (skeleton, connection))
      g_dbus_interface_skeleton_unexport_from_connection (skeleton, connection);
  }
  g_hash_table_iter_init (&iter, self->plugins);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    if (g_dbus_interface_skeleton_has_connection (value, connection))
      g_dbus_interface_skeleton_unexport_from_connection (value, connection);
  }
  tend_context_foreach_plugin_interface (self->context, unexport_plugin_interface_from, connection);
}

/* ---- access ---- */

static gboolean
is_read_only_method (const char *method)
{
  return g_strcmp0 (method, "ListServices") == 0 || g_strcmp0 (method, "ListPlugins") == 0 ||
         g_strcmp0 (method, "Describe") == 0 || g_strcmp0 (method, "GetHistory") == 0;
}

static gboolean
authorize_method_cb (GDBusInterfaceSkeleton *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;
  TendConfig *config = tend_context_get_config (self->context);
  uid_t uid;

  if (is_read_only_method (g_dbus_method_invocation_get_method_name (invocation)))
    return TRUE;
  if (tend_dbus_access_caller_may_control (invocation, tend_config_get_admin_group (config), &uid))
    return TRUE;
  g_message ("denied %s.%s to uid %d", g_dbus_method_invocation_get_interface_name (invocation),
             g_dbus_method_invocation_get_method_name (invocation), (int) uid);
  g_dbus_method_invocation_return_dbus_error (invocation, "org.freedesktop.DBus.Error.AccessDenied",
                                              "only root, tendd's user and members of [tend] admin-group may do this");
  return FALSE;
}

/* ---- services ---- */

static void
sync_service (ServiceExport *se)
{
  TendService *service = se->service;
  TendServiceConfig *config = tend_service_get_config (service);
  TendInstance *first = g_ptr_array_index (tend_service_get_instances (service), 0);
  TendDbusService1 *skel = se->skeleton;
  g_autofree char *out_log = tend_instance_get_log_path (first, 1);
  g_autofree char *err_log = tend_instance_get_log_path (first, 2);
  const char *message = tend_instance_get_status_message (first);
  TendServiceState state = tend_service_get_state (service);

  tend_dbus_service1_set_name (skel, config->name);
  tend_dbus_service1_set_state (skel, tend_service_state_to_string (state));
  tend_dbus_service1_set_pid (skel, tend_service_get_pid (service));
  tend_dbus_service1_set_restarts (skel, tend_service_get_restarts (service));
  tend_dbus_service1_set_start_time (skel, tend_service_get_start_time (service));
  tend_dbus_service1_set_cpu_percent (skel, tend_service_get_cpu_percent (service));
  tend_dbus_service1_set_memory_rss (skel, tend_service_get_memory_rss (service));
  tend_dbus_service1_set_figures_known (skel, tend_service_get_figures_known (service));
  tend_dbus_service1_set_layer (skel, config->layer != NULL ? config->layer : "");
  tend_dbus_service1_set_critical (skel, config->critical);
  tend_dbus_service1_set_port (skel, config->port);
  tend_dbus_service1_set_out_log (skel, out_log);
  tend_dbus_service1_set_err_log (skel, err_log);
  tend_dbus_service1_set_id (skel, tend_instance_get_id (first));
  tend_dbus_service1_set_instances (skel, MAX (config->instances, 1));
  tend_dbus_service1_set_status_message (skel, message != NULL ? message : "");

  if (state != se->last_state) {
    se->last_state = state;
    tend_dbus_manager1_emit_service_state_changed (se->server->manager, config->name,
                                                   tend_service_state_to_string (state));
  }
}

static void
service_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  sync_service (user_data);
}

static gboolean
service_act (ServiceExport *se, GDBusMethodInvocation *invocation, const char *action)
{
  TendServiceManager *manager = tend_context_get_manager (se->server->context);
  g_autoptr(GError) error = NULL;

  if (!tend_service_manager_act (manager, tend_service_get_name (se->service), action, "restart requested over D-Bus",
                                 &error)) {
    g_dbus_method_invocation_return_gerror (invocation, error);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  }
  /* on disk before the caller hears it is done */
  tend_daemon_flush_state (se->server->daemon);
  g_dbus_method_invocation_return_value (invocation, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_service_start (TendDbusService1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return service_act (user_data, invocation, "start");
}

static gboolean
handle_service_stop (TendDbusService1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return service_act (user_data, invocation, "stop");
}

static gboolean
handle_service_restart (TendDbusService1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return service_act (user_data, invocation, "restart");
}

static gboolean
handle_service_signal (TendDbusService1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  ServiceExport *se = user_data;
  TendProcessBackend *backend = tend_context_get_process_backend (se->server->context);
  GPtrArray *instances = tend_service_get_instances (se->service);
  g_autoptr(GError) error = NULL;
  int signum;
  guint sent = 0;

  if (!tend_parse_signal (name, &signum, &error)) {
    g_dbus_method_invocation_return_gerror (invocation, error);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  }
  for (guint i = 0; backend != NULL && i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    g_autoptr(GError) local_error = NULL;
    if (tend_instance_get_pid (instance) == 0)
      continue;
    if (tend_process_backend_send_signal (backend, instance, signum, &local_error))
      sent++;
    else
      g_warning ("%s", local_error->message);
  }
  if (sent == 0) {
    g_dbus_method_invocation_return_error (invocation, TEND_ERROR, TEND_ERROR_FAILED, "%s is not running",
                                           tend_service_get_name (se->service));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  }
  g_dbus_method_invocation_return_value (invocation, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_service_get_history (TendDbusService1 *skel, GDBusMethodInvocation *invocation, gint64 since, gpointer user_data)
{
  ServiceExport *se = user_data;
  g_autoptr(GVariant) samples = tend_context_get_history (se->server->context, se->service, since, NULL);

  tend_dbus_service1_complete_get_history (skel, invocation, samples);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
service_export_free (ServiceExport *se)
{
  g_clear_signal_handler (&se->notify_id, se->service);
  unexport (G_DBUS_INTERFACE_SKELETON (se->skeleton));
  g_object_unref (se->skeleton);
  g_object_unref (se->service);
  g_free (se->path);
  g_free (se);
}

static void
service_added_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendDbusServer *self = user_data;
  ServiceExport *se = g_new0 (ServiceExport, 1);
  g_autofree char *escaped = g_dbus_escape_object_path (tend_service_get_name (service));

  se->server = self;
  se->service = g_object_ref (service);
  se->skeleton = tend_dbus_service1_skeleton_new ();
  se->path = g_strdup_printf (MANAGER_PATH "/service/%s", escaped);
  se->last_state = tend_service_get_state (service);
  sync_service (se);
  se->notify_id = g_signal_connect (service, "notify", G_CALLBACK (service_notify_cb), se);
  g_signal_connect (se->skeleton, "g-authorize-method", G_CALLBACK (authorize_method_cb), self);
  g_signal_connect (se->skeleton, "handle-start", G_CALLBACK (handle_service_start), se);
  g_signal_connect (se->skeleton, "handle-stop", G_CALLBACK (handle_service_stop), se);
  g_signal_connect (se->skeleton, "handle-restart", G_CALLBACK (handle_service_restart), se);
  g_signal_connect (se->skeleton, "handle-signal", G_CALLBACK (handle_service_signal), se);
  g_signal_connect (se->skeleton, "handle-get-history", G_CALLBACK (handle_service_get_history), se);
  g_hash_table_insert (self->services, service, se);
  export_everywhere (self, G_DBUS_INTERFACE_SKELETON (se->skeleton), se->path);
}

static void
service_removed_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendDbusServer *self = user_data;

  /* after the unexport: a client that sees the signal finds the service gone everywhere */
  g_hash_table_remove (self->services, service);
  tend_dbus_manager1_emit_service_removed (self->manager, tend_service_get_name (service));
}

static void
state_changed_cb (TendContext *context,
                  TendService *service,
                  TendInstance *instance,
                  TendServiceState old_state,
                  TendServiceState new_state,
                  const char *reason,
                  gpointer user_data)
{
  TendDbusServer *self = user_data;

  tend_dbus_manager1_emit_instance_state_changed (self->manager, tend_service_get_name (service),
                                                  tend_instance_get_index (instance),
                                                  tend_service_state_to_string (old_state),
                                                  tend_service_state_to_string (new_state),
                                                  tend_instance_get_pid (instance), reason != NULL ? reason : "",
                                                  g_get_real_time ());
}

/* ---- the manager ---- */

static gboolean
finish (TendDbusServer *self, GDBusMethodInvocation *invocation, gboolean ok, GError *error, GVariant *reply)
{
  /* a change of what should run is on disk before the caller hears it is done */
  tend_daemon_flush_state (self->daemon);
  if (!ok)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, reply);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
manager_act (TendDbusServer *self, GDBusMethodInvocation *invocation, const char *name, const char *action)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  /* a configured service deleted on purpose comes back from the configuration when started by name */
  if (g_str_equal (action, "start") && g_strcmp0 (name, "all") != 0)
    tend_daemon_undelete (self->daemon, name);
  ok = tend_service_manager_act (tend_context_get_manager (self->context), name, action, "restart requested over D-Bus",
                                 &error);
  return finish (self, invocation, ok, error, NULL);
}

static gboolean
handle_start (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  return manager_act (user_data, invocation, name, "start");
}

static gboolean
handle_stop (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  return manager_act (user_data, invocation, name, "stop");
}

static gboolean
handle_restart (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  return manager_act (user_data, invocation, name, "restart");
}

static gboolean
handle_delete (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  return manager_act (user_data, invocation, name, "delete");
}

static gboolean
handle_reload (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = tend_daemon_reload (self->daemon, &error);

  return finish (self, invocation, ok, error, NULL);
}

static gboolean
handle_save (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tend_daemon_save (self->daemon, &error);

  return finish (self, invocation, path != NULL, error, path != NULL ? g_variant_new ("(s)", path) : NULL);
}

static gboolean
handle_resurrect (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = tend_daemon_resurrect (self->daemon, &error);

  return finish (self, invocation, names != NULL, error,
                 names != NULL ? g_variant_new ("(^as)", names) : NULL);
}

static gboolean
handle_list_services (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (self->context));
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("aa{sv}"));
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (model, i);
    GPtrArray *instances = tend_service_get_instances (service);
    for (guint j = 0; j < instances->len; j++)
      g_variant_builder_add_value (builder, tend_service_info_instance (g_ptr_array_index (instances, j)));
  }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(aa{sv})", builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_describe (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  TendDbusServer *self = user_data;
  TendService *service = tend_service_manager_lookup (tend_context_get_manager (self->context), name);
  gboolean may_control;

  if (service == NULL) {
    g_dbus_method_invocation_return_error (invocation, TEND_ERROR, TEND_ERROR_NOT_FOUND, "no service named %s", name);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  }
  /* open to anyone on the bus: the secrets in a service's command and environment only to those who may control it */
  may_control = tend_dbus_access_caller_may_control (
    invocation, tend_config_get_admin_group (tend_context_get_config (self->context)), NULL);
  g_dbus_method_invocation_return_value (
    invocation, g_variant_new ("(@a{sv})", may_control ? tend_service_info_describe (service)
                                                       : tend_service_redact_describe (service)));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_service (TendDbusManager1 *skel,
                    GDBusMethodInvocation *invocation,
                    const char *name,
                    const char *const *argv,
                    GVariant *options,
                    const char *workdir,
                    gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;
  uid_t caller;

  /* an env-file among the options is read with the caller's rights, not tendd's */
  if (tend_dbus_access_get_caller_uid (invocation, &caller, &error))
    ok = tend_daemon_add_service (self->daemon, name, argv, options, workdir, caller, &error);
  return finish (self, invocation, ok, error, NULL);
}

static gboolean
handle_start_config (TendDbusManager1 *skel,
                     GDBusMethodInvocation *invocation,
                     const char *path,
                     const char *const *only,
                     gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  uid_t caller;

  /* the file is read with the caller's rights, not tendd's */
  if (tend_dbus_access_get_caller_uid (invocation, &caller, &error))
    names = tend_daemon_start_config (self->daemon, path, only, caller, &error);
  return finish (self, invocation, names != NULL, error, names != NULL ? g_variant_new ("(^as)", names) : NULL);
}

static gboolean
handle_flush (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = tend_daemon_flush (self->daemon, name, &error);

  return finish (self, invocation, ok, error, NULL);
}

static gboolean
handle_kill (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;

  g_message ("stop requested over D-Bus (tend kill)");
  g_dbus_method_invocation_return_value (invocation, NULL);
  /* after the reply is on its way */
  g_idle_add_once ((GSourceOnceFunc) tend_daemon_quit, self->daemon);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
update_checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = tend_daemon_update_finish (TEND_DAEMON (source), result, &error);

  /* the exec comes from an idle, after this reply is on its way; what should run does not change */
  if (version == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", version));
}

static gboolean
handle_update (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, const char *binary, gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autoptr(GError) error = NULL;
  uid_t uid = (uid_t) -1;

  /* an admin-group member may update to what root installed, not run a program of their choosing as root */
  if (binary[0] != '\0' && geteuid () == 0 &&
      (!tend_dbus_access_get_caller_uid (invocation, &uid, &error) || uid != 0)) {
    g_dbus_method_invocation_return_error (invocation, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                                           "only root may name the program to update to; leave it empty for the "
                                           "one tendd was started as");
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  }
  g_message ("update requested over D-Bus (tend update)");
  tend_daemon_update_async (self->daemon, binary, update_checked_cb, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_plugins (TendDbusManager1 *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TendDbusServer *self = user_data;

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@aa{sv})", tend_daemon_list_plugins (self->daemon)));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- plugins ---- */

void
tend_dbus_server_refresh_plugins (TendDbusServer *self)
{
  g_auto(GStrv) names = tend_plugin_registry_list (tend_daemon_get_registry (self->daemon));

  for (guint i = 0; names[i] != NULL; i++) {
    TendDbusPlugin1 *skel = g_hash_table_lookup (self->plugins, names[i]);
    g_autoptr(GVariant) row = tend_daemon_describe_plugin (self->daemon, names[i]);
    g_autoptr(GVariant) status = NULL;
    const char *description = "";
    gboolean loaded = FALSE;

    if (row == NULL)
      continue;
    g_variant_ref_sink (row);
    g_variant_lookup (row, "description", "&s", &description);
    g_variant_lookup (row, "loaded", "b", &loaded);
    status = g_variant_lookup_value (row, "status", G_VARIANT_TYPE_VARDICT);
    if (skel == NULL) {
      g_autofree char *path = plugin_path (names[i]);
      skel = tend_dbus_plugin1_skeleton_new ();
      g_signal_connect (skel, "g-authorize-method", G_CALLBACK (authorize_method_cb), self);
      g_hash_table_insert (self->plugins, g_strdup (names[i]), skel);
      tend_dbus_plugin1_set_name (skel, names[i]);
      export_everywhere (self, G_DBUS_INTERFACE_SKELETON (skel), path);
    }
    tend_dbus_plugin1_set_enabled (skel, loaded);
    tend_dbus_plugin1_set_description (skel, description);
    tend_dbus_plugin1_set_status (skel, status != NULL ? status : g_variant_new ("a{sv}", NULL));
  }
}

static void
config_reloaded_cb (TendContext *context, TendConfig *config, gpointer user_data)
{
  TendDbusServer *self = user_data;
  const char *path = tend_daemon_get_config_path (self->daemon);

  tend_dbus_manager1_set_config_path (self->manager, path != NULL ? path : "");
  tend_dbus_server_refresh_plugins (self);
}

/* ---- interfaces of plugins ---- */

static void
watch_plugin_interface (const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  /* a plugin's methods need the rights of any other control call */
  g_signal_connect (skeleton, "g-authorize-method", G_CALLBACK (authorize_method_cb), user_data);
}

static void
forget_plugin_interface (const char *name, GDBusInterfaceSkeleton *skeleton, gpointer user_data)
{
  g_signal_handlers_disconnect_by_func (skeleton, authorize_method_cb, user_data);
  unexport (skeleton);
}

static void
plugin_interface_exported_cb (TendContext *context,
                              const char *name,
                              GDBusInterfaceSkeleton *skeleton,
                              gpointer user_data)
{
  TendDbusServer *self = user_data;
  g_autofree char *path = plugin_path (name);

  watch_plugin_interface (name, skeleton, self);
  export_everywhere (self, skeleton, path);
}

static void
plugin_interface_unexported_cb (TendContext *context,
                                const char *name,
                                GDBusInterfaceSkeleton *skeleton,
                                gpointer user_data)
{
  forget_plugin_interface (name, skeleton, user_data);
}

/* ---- connections ---- */

static void
connection_closed_cb (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error, gpointer user_data)
{
  TendDbusServer *self = user_data;

  unexport_all_from (self, connection);
  g_signal_handlers_disconnect_by_data (connection, self);
  g_ptr_array_remove (self->connections, connection);
}

static void
add_connection (TendDbusServer *self, GDBusConnection *connection)
{
  g_ptr_array_add (self->connections, g_object_ref (connection));
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed_cb), self);
  export_all_on (self, connection);
}

static void
new_connection_cb (GDBusConnection *connection, gpointer user_data)
{
  tend_dbus_access_guard_peer (connection);
  tend_dbus_bus_face_register (connection);
  add_connection (TEND_DBUS_SERVER (user_data), connection);
}

static gboolean
allow_mechanism_cb (GDBusAuthObserver *observer, const char *mechanism, gpointer user_data)
{
  /* the kernel tells who the peer is; no cookie files, no anonymous peers */
  return g_strcmp0 (mechanism, "EXTERNAL") == 0;
}

static void own_bus_name (TendDbusServer *self, GBusType type);

static void
bus_acquired_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  add_connection (TEND_DBUS_SERVER (user_data), connection);
}

static void
name_acquired_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  TendDbusServer *self = user_data;

  g_message ("owning %s on the %s bus", name, self->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session");
}

static void
name_lost_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  TendDbusServer *self = user_data;
  const char *bus = self->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session";
  TendDbusMode mode = tend_config_get_dbus_mode (tend_context_get_config (self->context));

  if (connection == NULL)
    g_message ("no %s bus: %s is served on the control socket only", bus, name);
  else
    g_message ("cannot own %s on the %s bus (another daemon has it, or the bus policy forbids it)", name, bus);
  if (connection != NULL && g_ptr_array_find (self->connections, connection, NULL)) {
    unexport_all_from (self, connection);
    g_signal_handlers_disconnect_by_data (connection, self);
    g_ptr_array_remove (self->connections, connection);
  }
  g_bus_unown_name (self->bus_owner_id);
  self->bus_owner_id = 0;
  /* auto: the system bus when root and allowed, else the session bus when there is one */
  if (mode == TEND_DBUS_MODE_AUTO && self->bus_type == G_BUS_TYPE_SYSTEM && !self->bus_fallback_tried &&
      g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL) {
    self->bus_fallback_tried = TRUE;
    own_bus_name (self, G_BUS_TYPE_SESSION);
  }
}

static void
own_bus_name (TendDbusServer *self, GBusType type)
{
  self->bus_type = type;
  self->bus_owner_id = g_bus_own_name (type, BUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, bus_acquired_cb,
                                       name_acquired_cb, name_lost_cb, self, NULL);
}

static void
start_bus (TendDbusServer *self)
{
  switch (tend_config_get_dbus_mode (tend_context_get_config (self->context))) {
  case TEND_DBUS_MODE_NONE:
    return;
  case TEND_DBUS_MODE_SYSTEM:
    own_bus_name (self, G_BUS_TYPE_SYSTEM);
    return;
  case TEND_DBUS_MODE_SESSION:
    own_bus_name (self, G_BUS_TYPE_SESSION);
    return;
  case TEND_DBUS_MODE_AUTO:
  default:
    if (geteuid () == 0)
      own_bus_name (self, G_BUS_TYPE_SYSTEM);
    else if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL)
      own_bus_name (self, G_BUS_TYPE_SESSION);
    else
      g_debug ("dbus=auto: not root and no session bus; control socket only");
  }
}

static gboolean
start_socket (TendDbusServer *self, GError **error)
{
  const char *admin_group = tend_config_get_admin_group (tend_context_get_config (self->context));
  g_autoptr(GDBusAuthObserver) observer = g_dbus_auth_observer_new ();
  mode_t old_umask;

  int handed_over = tend_context_take_handover_fd (self->context, TEND_DBUS_SERVER_HANDOVER_KEY);

  g_signal_connect (observer, "allow-mechanism", G_CALLBACK (allow_mechanism_cb), NULL);
  if (handed_over >= 0) {
    /* tend update: the same socket, still listening; who connected meanwhile waits in its queue */
    self->listener =
      tend_dbus_listener_new_from_fd (handed_over, self->socket_path, observer, new_connection_cb, self, error);
    if (self->listener == NULL) {
      g_prefix_error (error, "cannot listen on %s: ", self->socket_path);
      return FALSE;
    }
    return TRUE;
  }
  /* we hold the pidfile lock, so a socket file left here is stale */
  g_unlink (self->socket_path);
  /* created 0600 from the start, never briefly open to others */
  old_umask = umask (0177);
  /* our own accept loop: GDBusServer's spins when accept() fails (out of file descriptors) */
  self->listener = tend_dbus_listener_new (self->socket_path, observer, new_connection_cb, self, error);
  umask (old_umask);
  if (self->listener == NULL) {
    g_prefix_error (error, "cannot listen on %s: ", self->socket_path);
    return FALSE;
  }
  if (admin_group != NULL && admin_group[0] != '\0') {
    struct group *gr = getgrnam (admin_group);
    if (gr == NULL || chown (self->socket_path, (uid_t) -1, gr->gr_gid) < 0 || chmod (self->socket_path, 0660) < 0)
      g_warning ("cannot open %s to group %s: %s", self->socket_path, admin_group, g_strerror (errno));
  }
  return TRUE;
}

gboolean
tend_dbus_server_start (TendDbusServer *self, GError **error)
{
  if (!start_socket (self, error))
    return FALSE;
  start_bus (self);
  return TRUE;
}

int
tend_dbus_server_get_listen_fd (TendDbusServer *self)
{
  return self->listener != NULL ? tend_dbus_listener_get_fd (self->listener) : -1;
}

void
tend_dbus_server_pause (TendDbusServer *self, gboolean paused)
{
  if (self->listener == NULL)
    return;
  if (paused)
    tend_dbus_listener_pause (self->listener);
  else
    tend_dbus_listener_resume (self->listener);
}

gboolean
tend_dbus_server_is_quiet (TendDbusServer *self)
{
  return self->listener == NULL || tend_dbus_listener_get_n_pending (self->listener) == 0;
}

void
tend_dbus_server_flush (TendDbusServer *self)
{
  for (guint i = 0; i < self->connections->len; i++)
    g_dbus_connection_flush_sync (g_ptr_array_index (self->connections, i), NULL, NULL);
}

void
tend_dbus_server_stop (TendDbusServer *self)
{
  if (self->bus_owner_id != 0) {
    g_bus_unown_name (self->bus_owner_id);
    self->bus_owner_id = 0;
  }
  if (self->listener != NULL) {
    tend_dbus_listener_stop (self->listener);
    g_clear_object (&self->listener);
    g_unlink (self->socket_path);
  }
  while (self->connections->len > 0) {
    GDBusConnection *connection = g_ptr_array_index (self->connections, self->connections->len - 1);
    unexport_all_from (self, connection);
    g_signal_handlers_disconnect_by_data (connection, self);
    g_ptr_array_remove_index (self->connections, self->connections->len - 1);
  }
}


static void
tend_dbus_server_dispose (GObject *object)
{
  TendDbusServer *self = TEND_DBUS_SERVER (object);

  tend_dbus_server_stop (self);
  if (self->context != NULL) {
    g_clear_signal_handler (&self->added_id, self->context);
    g_clear_signal_handler (&self->removed_id, self->context);
    g_clear_signal_handler (&self->state_id, self->context);
    g_clear_signal_handler (&self->reload_id, self->context);
    g_clear_signal_handler (&self->exported_id, self->context);
    g_clear_signal_handler (&self->unexported_id, self->context);
    tend_context_foreach_plugin_interface (self->context, forget_plugin_interface, self);
  }
  g_clear_pointer (&self->services, g_hash_table_unref);
  g_clear_pointer (&self->plugins, g_hash_table_unref);
  g_clear_object (&self->manager);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_dbus_server_parent_class)->dispose (object);
}

static void
tend_dbus_server_finalize (GObject *object)
{
  TendDbusServer *self = TEND_DBUS_SERVER (object);

  g_ptr_array_unref (self->connections);
  g_free (self->socket_path);
  G_OBJECT_CLASS (tend_dbus_server_parent_class)->finalize (object);
}

static void
tend_dbus_server_class_init (TendDbusServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tend_dbus_server_dispose;
  object_class->finalize = tend_dbus_server_finalize;
}

static void
plugin_skeleton_free (gpointer data)
{
  unexport (data);
  g_object_unref (data);
}

static void
tend_dbus_server_init (TendDbusServer *self)
{
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->services = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) service_export_free);
  self->plugins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, plugin_skeleton_free);
}

TendDbusServer *
tend_dbus_server_new (TendDaemon *daemon)
{
  TendDbusServer *self = g_object_new (TEND_TYPE_DBUS_SERVER, NULL);
  TendContext *context = tend_daemon_get_context (daemon);
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (context));
  const char *config_path = tend_daemon_get_config_path (daemon);
  guint n = g_list_model_get_n_items (model);

  self->daemon = daemon;
  self->context = g_object_ref (context);
  self->socket_path = g_build_filename (tend_context_get_home (context), "tendd.sock", NULL);

  self->manager = tend_dbus_manager1_skeleton_new ();
  tend_dbus_manager1_set_version (self->manager, TEND_VERSION);
  tend_dbus_manager1_set_home (self->manager, tend_context_get_home (context));
  tend_dbus_manager1_set_config_path (self->manager, config_path != NULL ? config_path : "");
  tend_dbus_manager1_set_pid (self->manager, (guint) getpid ());
  g_signal_connect (self->manager, "g-authorize-method", G_CALLBACK (authorize_method_cb), self);
  g_signal_connect (self->manager, "handle-start", G_CALLBACK (handle_start), self);
  g_signal_connect (self->manager, "handle-stop", G_CALLBACK (handle_stop), self);
  g_signal_connect (self->manager, "handle-restart", G_CALLBACK (handle_restart), self);
  g_signal_connect (self->manager, "handle-delete", G_CALLBACK (handle_delete), self);
  g_signal_connect (self->manager, "handle-reload", G_CALLBACK (handle_reload), self);
  g_signal_connect (self->manager, "handle-save", G_CALLBACK (handle_save), self);
  g_signal_connect (self->manager, "handle-resurrect", G_CALLBACK (handle_resurrect), self);
  g_signal_connect (self->manager, "handle-list-services", G_CALLBACK (handle_list_services), self);
  g_signal_connect (self->manager, "handle-describe", G_CALLBACK (handle_describe), self);
  g_signal_connect (self->manager, "handle-add-service", G_CALLBACK (handle_add_service), self);
  g_signal_connect (self->manager, "handle-start-config", G_CALLBACK (handle_start_config), self);
  g_signal_connect (self->manager, "handle-kill", G_CALLBACK (handle_kill), self);
  g_signal_connect (self->manager, "handle-flush", G_CALLBACK (handle_flush), self);
  g_signal_connect (self->manager, "handle-list-plugins", G_CALLBACK (handle_list_plugins), self);
  g_signal_connect (self->manager, "handle-update", G_CALLBACK (handle_update), self);
  tend_dbus_manager1_set_generation (self->manager, tend_daemon_get_generation (daemon));

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (model, i);
    service_added_cb (context, service, self);
  }
  self->added_id = g_signal_connect (context, "service-added", G_CALLBACK (service_added_cb), self);
  self->removed_id = g_signal_connect (context, "service-removed", G_CALLBACK (service_removed_cb), self);
  self->state_id = g_signal_connect (context, "service-state-changed", G_CALLBACK (state_changed_cb), self);
  self->reload_id = g_signal_connect (context, "config-reloaded", G_CALLBACK (config_reloaded_cb), self);
  tend_context_foreach_plugin_interface (context, watch_plugin_interface, self);
  self->exported_id =
    g_signal_connect (context, "plugin-interface-exported", G_CALLBACK (plugin_interface_exported_cb), self);
  self->unexported_id =
    g_signal_connect (context, "plugin-interface-unexported", G_CALLBACK (plugin_interface_unexported_cb), self);
  tend_dbus_server_refresh_plugins (self);
  return self;
}
