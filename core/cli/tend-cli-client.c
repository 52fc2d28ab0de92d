/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "tend-cli.h"

/* A daemon that accepts but never authenticates must not hang the client. */
#define CONNECT_TIMEOUT_S 10
/* A busy daemon still answers a method within this. */
#define CALL_TIMEOUT_MS 30000
/* After an autostart raced with another client's, how long the other daemon gets to answer. */
#define AUTOSTART_RETRY_MS 5000

typedef struct {
  GDBusConnection *connection;
  GError *error;
  gboolean done;
} ConnectData;

static void
connect_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConnectData *data = user_data;

  data->connection = g_dbus_connection_new_for_address_finish (result, &data->error);
  data->done = TRUE;
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
  return G_SOURCE_REMOVE;
}

/*
 * tend update re-executes tendd in place: a connection or a call caught by
 * the exec is closed without an answer, and the same socket, which crosses
 * the exec, answers again a moment later. Such a loss is tried again, once.
 */
static gboolean
error_means_closed (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED);
}

static gboolean try_connect_once (TendCli *cli, GError **error);

gboolean
tend_cli_try_connect (TendCli *cli, GError **error)
{
  g_autoptr(GError) first = NULL;

  if (try_connect_once (cli, &first))
    return TRUE;
  if (!error_means_closed (first)) {
    g_propagate_error (error, g_steal_pointer (&first));
    return FALSE;
  }
  return try_connect_once (cli, error);
}

gboolean
tend_cli_reconnect_if_closed (TendCli *cli, const GError *error)
{
  if (!error_means_closed (error))
    return FALSE;
  tend_cli_disconnect (cli);
  return tend_cli_try_connect (cli, NULL);
}

static gboolean
try_connect_once (TendCli *cli, GError **error)
{
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GSource) timeout = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *address = NULL;
  ConnectData data = { NULL, NULL, FALSE };

  if (cli->connection != NULL)
    return TRUE;
  /*
   * The asynchronous form, so that a timeout bounds the handshake: a daemon
   * that accepts but never answers cannot hang the client. (A socket timeout
   * would also cut idle reads of the connection later.) In the default main
   * context, where the client waits for signals: the connection's "closed"
   * is delivered in the context it was made in. Whatever else is attached
   * there (the wait's and logs --follow's sources) only sets flags.
   */
  cancellable = g_cancellable_new ();
  timeout = g_timeout_source_new_seconds (CONNECT_TIMEOUT_S);
  escaped = g_dbus_address_escape_value (cli->socket_path);
  address = g_strconcat ("unix:path=", escaped, NULL);
  g_source_set_callback (timeout, connect_timeout_cb, cancellable, NULL);
  g_source_attach (timeout, NULL);
  g_dbus_connection_new_for_address (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, cancellable,
                                     connect_cb, &data);
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (timeout);

  if (data.connection == NULL) {
    if (g_error_matches (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_clear_error (&data.error);
      g_set_error_literal (&data.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("the daemon did not answer in time"));
    }
    g_propagate_error (error, data.error);
    return FALSE;
  }
  /* a daemon that goes away (tend kill) is not a reason for this process to die */
  g_dbus_connection_set_exit_on_close (data.connection, FALSE);
  /*
   * Peer to peer: no bus name, nothing to auto-start. Properties are asked
   * for when needed rather than loaded for every command. The proxy is made
   * in this thread's default context, where its signals are delivered.
   */
  cli->manager = tend_dbus_manager1_proxy_new_sync (data.connection,
                                                    G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                                        G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                    NULL, TEND_CLI_OBJECT_PATH, NULL, error);
  if (cli->manager == NULL) {
    g_object_unref (data.connection);
    return FALSE;
  }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (cli->manager), CALL_TIMEOUT_MS);
  cli->connection = data.connection;
  return TRUE;
}

void
tend_cli_disconnect (TendCli *cli)
{
  g_clear_object (&cli->manager);
  g_clear_object (&cli->connection);
}

gboolean
tend_cli_error_means_absent (const GError *error)
{
  /* no socket file, or a socket file nobody listens on (a daemon that died) */
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

static gboolean
is_executable (const char *path)
{
  return path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR) && access (path, X_OK) == 0;
}

/*
 * $TEND_TENDD, then beside this program (a relocated install), then in the
 * build tree's core/daemon/ when this is core/cli/tend, then sbindir, then PATH.
 */
char *
tend_cli_find_tendd (void)
{
  const char *env = g_getenv ("TEND_TENDD");
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *installed = g_build_filename (TEND_SBINDIR, "tendd", NULL);

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  if (self != NULL) {
    g_autofree char *dir = g_path_get_dirname (self);
    g_autofree char *beside = g_build_filename (dir, "tendd", NULL);
    g_autofree char *build_tree = g_build_filename (dir, "..", "daemon", "tendd", NULL);
    if (is_executable (beside))
      return g_steal_pointer (&beside);
    if (is_executable (build_tree))
      return g_canonicalize_filename (build_tree, NULL);
  }
  if (is_executable (installed))
    return g_steal_pointer (&installed);
  return g_find_program_in_path ("tendd");
}

/*
 * Runs `tendd --home HOME`, which detaches and exits once its socket answers.
 * @out_ran: tendd ran (and may have refused, e.g. because another daemon won the home)
 */
static gboolean
run_tendd (TendCli *cli, gboolean *out_ran, GError **error)
{
  g_autofree char *tendd = tend_cli_find_tendd ();
  g_autofree char *err_output = NULL;
  g_auto(GStrv) env = g_get_environ ();
  int wait_status = 0;
  const char *argv[] = { NULL, "--home", cli->home, NULL };

  *out_ran = FALSE;
  if (tendd == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         _("cannot find tendd (set TEND_TENDD to its path)"));
    return FALSE;
  }
  argv[0] = tendd;
  /* the daemon's own processes then carry the home they belong to */
  env = g_environ_setenv (env, "TEND_HOME", cli->home, TRUE);
  if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                     NULL, &err_output, &wait_status, error)) {
    g_prefix_error (error, _("cannot run %s: "), tendd);
    return FALSE;
  }
  *out_ran = TRUE;
  if (!g_spawn_check_wait_status (wait_status, NULL)) {
    g_autofree char *message = g_strstrip (g_steal_pointer (&err_output));
    /* tendd's messages already start with "tendd: " */
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                 message[0] != '\0' ? message : _("tendd: the daemon did not start"));
    return FALSE;
  }
  return TRUE;
}

int
tend_cli_connect (TendCli *cli, gboolean autostart)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) start_error = NULL;
  gboolean ran = FALSE;
  gint64 deadline;

  if (tend_cli_try_connect (cli, &error))
    return TEND_CLI_EXIT_OK;
  if (!tend_cli_error_means_absent (error)) {
    g_printerr (_("tend: cannot reach tendd at %s: %s\n"), cli->socket_path, error->message);
    return TEND_CLI_EXIT_UNREACHABLE;
  }
  if (cli->system_home) {
    /* the home of a daemon systemd runs: a tendd of ours beside it would be a second, empty one */
    g_printerr (_("tend: the system daemon at %s does not answer (%s); not starting a second one beside it "
                  "(is its systemd unit running? --home chooses another home)\n"),
                cli->socket_path, error->message);
    return TEND_CLI_EXIT_UNREACHABLE;
  }
  if (!autostart) {
    g_printerr (_("tend: cannot reach tendd at %s (is it running? `tend start` starts it)\n"), cli->socket_path);
    return TEND_CLI_EXIT_UNREACHABLE;
  }

  if (!run_tendd (cli, &ran, &start_error)) {
    /* no tendd to run at all: nothing to wait for */
    if (!ran) {
      g_printerr (_("tend: cannot start tendd: %s\n"), start_error->message);
      return TEND_CLI_EXIT_UNREACHABLE;
    }
    g_debug ("autostart: %s", start_error->message);
  }
  /* Even when our tendd refused (another client's autostart won the home), a daemon may answer now. */
  deadline = g_get_monotonic_time () + (start_error != NULL ? AUTOSTART_RETRY_MS : 1000) * 1000;
  for (;;) {
    g_clear_error (&error);
    if (tend_cli_try_connect (cli, &error)) {
      if (start_error == NULL)
        g_printerr (_("tend: started tendd (home %s)\n"), cli->home);
      return TEND_CLI_EXIT_OK;
    }
    if (!tend_cli_error_means_absent (error) || g_get_monotonic_time () > deadline)
      break;
    g_usleep (50 * 1000);
  }
  if (start_error != NULL) {
    g_printerr (_("tend: cannot start tendd: %s\n"), start_error->message);
    return TEND_CLI_EXIT_UNREACHABLE;
  }
  g_printerr (_("tend: started tendd, but cannot reach it at %s: %s\n"), cli->socket_path, error->message);
  return TEND_CLI_EXIT_UNREACHABLE;
}

GVariant *
tend_cli_get_property (TendCli *cli, const char *property, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  GVariant *value = NULL;

  /* through the proxy, by the method's full name: the proxy caches no property (DO_NOT_LOAD_PROPERTIES) */
  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (cli->manager), "org.freedesktop.DBus.Properties.Get",
                                  g_variant_new ("(ss)", TEND_CLI_MANAGER_INTERFACE, property), G_DBUS_CALL_FLAGS_NONE,
                                  -1, NULL, error);
  if (reply == NULL)
    return NULL;
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(v)"))) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("tendd answered %s with the wrong type"), property);
    return NULL;
  }
  g_variant_get (reply, "(v)", &value);
  return value;
}

GVariant *
tend_cli_list_services (TendCli *cli, GError **error)
{
  GVariant *instances = NULL;

  g_autoptr(GError) local_error = NULL;

  if (tend_dbus_manager1_call_list_services_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, &instances, NULL,
                                                  &local_error))
    return instances;
  /* a read may be asked again: across tend update's exec, once */
  if (!tend_cli_reconnect_if_closed (cli, local_error) ||
      !tend_dbus_manager1_call_list_services_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, &instances, NULL,
                                                   error)) {
    if (local_error != NULL && error != NULL && *error == NULL)
      g_propagate_error (error, g_steal_pointer (&local_error));
    return NULL;
  }
  return instances;
}

static gboolean
error_means_lost (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT);
}

int
tend_cli_report_error (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);
  g_autofree char *remote = g_dbus_error_get_remote_error (copy);

  if (error_means_lost (copy)) {
    g_printerr (_("tend: lost the connection to tendd: %s\n"), copy->message);
    return TEND_CLI_EXIT_UNREACHABLE;
  }
  g_dbus_error_strip_remote_error (copy);
  if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.AccessDenied") == 0 ||
      g_strcmp0 (remote, "org.tend.Tend1.Error.PermissionDenied") == 0) {
    if (g_str_has_prefix (copy->message, "permission denied"))
      g_printerr ("tend: %s\n", copy->message);
    else
      g_printerr (_("tend: permission denied: %s\n"), copy->message);
    return TEND_CLI_EXIT_FAILED;
  }
  g_printerr ("tend: %s\n", copy->message);
  return TEND_CLI_EXIT_FAILED;
}
