/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus API as an admin meets it: gdbus on the control socket and on a bus. */
#include "config.h"

#include <gio/gio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-test-daemon.h"

#define SERVICE_PATH "/org/tend/Tend1/service/"

static char *
socket_address (TendTestDaemon *d)
{
  return g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
}

/*
 * gdbus ARGS... on the control socket; its exit status. The tool insists on a
 * --dest even on a peer-to-peer connection (GLib 2.74 gdbus-tool.c); any
 * valid bus name does, the daemon ignores it there.
 */
static int
gdbus (TendTestDaemon *d, char **out, char **err, const char *subcommand, ...)
{
  g_autofree char *address = socket_address (d);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "gdbus");
  g_ptr_array_add (argv, (gpointer) subcommand);
  g_ptr_array_add (argv, (gpointer) "--address");
  g_ptr_array_add (argv, address);
  g_ptr_array_add (argv, (gpointer) "--dest");
  g_ptr_array_add (argv, (gpointer) "org.tend.Tend1");
  va_start (ap, subcommand);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return tend_test_run_program (d, NULL, (const char *const *) argv->pdata, out, err);
}

/* Properties.Get through gdbus, parsed back from its GVariant text: the value itself. */
static GVariant *
get_property (TendTestDaemon *d, const char *path, const char *interface, const char *property)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value = NULL;

  g_assert_cmpint (gdbus (d, &out, &err, "call", "--object-path", path, "--method",
                          "org.freedesktop.DBus.Properties.Get", interface, property, NULL),
                   ==, 0);
  reply = g_variant_parse (NULL, out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static char *
service_state (TendTestDaemon *d, const char *name)
{
  g_autofree char *path = g_strconcat (SERVICE_PATH, name, NULL);
  g_autoptr(GVariant) value = get_property (d, path, "org.tend.Service1", "State");

  return g_variant_dup_string (value, NULL);
}

static int
service_pid (TendTestDaemon *d, const char *name)
{
  g_autofree char *path = g_strconcat (SERVICE_PATH, name, NULL);
  g_autoptr(GVariant) value = get_property (d, path, "org.tend.Service1", "Pid");

  return g_variant_get_int32 (value);
}

typedef struct {
  TendTestDaemon *d;
  const char *name;
  const char *state;
} StateWait;

static gboolean
has_state (gpointer data)
{
  StateWait *w = data;
  g_autofree char *state = service_state (w->d, w->name);
  return g_strcmp0 (state, w->state) == 0;
}

static gboolean
wait_state (TendTestDaemon *d, const char *name, const char *state)
{
  StateWait w = { d, name, state };
  return tend_test_wait (has_state, &w, 10000);
}

static void
test_introspect (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *escaped = g_dbus_escape_object_path ("web-1.api");
  g_autofree char *dotted_path = g_strconcat (SERVICE_PATH, escaped, NULL);

  tend_test_daemon_write_config (d, "[service:web]\nexec=sleep 1000\n\n[service:web-1.api]\nexec=sleep 1001\n");
  tend_test_daemon_start (d);

  g_assert_cmpint (gdbus (d, &out, NULL, "introspect", "--object-path", "/org/tend/Tend1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "interface org.tend.Manager1"));
  g_assert_nonnull (strstr (out, "ListServices"));
  g_assert_nonnull (strstr (out, "ServiceStateChanged"));
  g_assert_nonnull (strstr (out, "Version"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (gdbus (d, &out, NULL, "introspect", "--object-path", SERVICE_PATH "web", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "interface org.tend.Service1"));
  g_assert_nonnull (strstr (out, "MemoryRss"));
  g_clear_pointer (&out, g_free);

  /* a name with '-' and '.' is escaped in its path */
  g_assert_cmpstr (escaped, ==, "web_2d1_2eapi");
  g_assert_cmpint (gdbus (d, &out, NULL, "introspect", "--object-path", dotted_path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "interface org.tend.Service1"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (gdbus (d, &out, NULL, "introspect", "--object-path", "/org/tend/Tend1/plugin/process", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "interface org.tend.Plugin1"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_properties (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GVariant) version = NULL;
  g_autoptr(GVariant) pid = NULL;
  g_autoptr(GVariant) home = NULL;
  g_autoptr(GVariant) name = NULL;
  g_autoptr(GVariant) layer = NULL;
  g_autoptr(GVariant) port = NULL;
  g_autoptr(GVariant) enabled = NULL;
  g_autofree char *out = NULL;

  tend_test_daemon_write_config (d, "[service:web]\nexec=sleep 1000\nlayer=front\nport=7777\n");
  tend_test_daemon_start (d);
  version = get_property (d, "/org/tend/Tend1", "org.tend.Manager1", "Version");
  g_assert_cmpstr (g_variant_get_string (version, NULL), ==, TEND_VERSION);
  pid = get_property (d, "/org/tend/Tend1", "org.tend.Manager1", "Pid");
  g_assert_cmpuint (g_variant_get_uint32 (pid), ==, (guint32) d->pid);
  home = get_property (d, "/org/tend/Tend1", "org.tend.Manager1", "Home");
  g_assert_cmpstr (g_variant_get_string (home, NULL), ==, d->home);

  g_assert_true (wait_state (d, "web", "online"));
  name = get_property (d, SERVICE_PATH "web", "org.tend.Service1", "Name");
  g_assert_cmpstr (g_variant_get_string (name, NULL), ==, "web");
  layer = get_property (d, SERVICE_PATH "web", "org.tend.Service1", "Layer");
  g_assert_cmpstr (g_variant_get_string (layer, NULL), ==, "front");
  port = get_property (d, SERVICE_PATH "web", "org.tend.Service1", "Port");
  g_assert_cmpuint (g_variant_get_uint32 (port), ==, 7777);
  g_assert_cmpint (service_pid (d, "web"), >, 0);
  enabled = get_property (d, "/org/tend/Tend1/plugin/process", "org.tend.Plugin1", "Enabled");
  g_assert_true (g_variant_get_boolean (enabled));

  /* GetAll too */
  g_assert_cmpint (gdbus (d, &out, NULL, "call", "--object-path", SERVICE_PATH "web", "--method",
                          "org.freedesktop.DBus.Properties.GetAll", "org.tend.Service1", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "'State': <'online'>"));
  g_assert_nonnull (strstr (out, "'OutLog'"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_control (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *err = NULL;
  int pid, pid2;

  tend_test_daemon_write_config (d, "[service:web]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "web", "online"));
  pid = service_pid (d, "web");
  g_assert_cmpint (pid, >, 0);

  g_assert_cmpint (gdbus (d, NULL, NULL, "call", "--object-path", "/org/tend/Tend1", "--method",
                          "org.tend.Manager1.Stop", "web", NULL),
                   ==, 0);
  g_assert_true (wait_state (d, "web", "stopped"));
  g_assert_cmpint (service_pid (d, "web"), ==, 0);
  g_assert_true (tend_test_wait_pid_gone (pid, 5000));

  g_assert_cmpint (gdbus (d, NULL, NULL, "call", "--object-path", "/org/tend/Tend1", "--method",
                          "org.tend.Manager1.Start", "web", NULL),
                   ==, 0);
  g_assert_true (wait_state (d, "web", "online"));
  pid = service_pid (d, "web");
  g_assert_true (tend_test_pid_alive (pid));

  g_assert_cmpint (gdbus (d, NULL, NULL, "call", "--object-path", "/org/tend/Tend1", "--method",
                          "org.tend.Manager1.Restart", "web", NULL),
                   ==, 0);
  g_assert_true (tend_test_wait_pid_gone (pid, 5000));
  g_assert_true (wait_state (d, "web", "online"));
  pid2 = service_pid (d, "web");
  g_assert_cmpint (pid2, >, 0);
  g_assert_cmpint (pid2, !=, pid);

  /* the object's own methods */
  g_assert_cmpint (gdbus (d, NULL, NULL, "call", "--object-path", SERVICE_PATH "web", "--method",
                          "org.tend.Service1.Stop", NULL),
                   ==, 0);
  g_assert_true (wait_state (d, "web", "stopped"));

  /* an unknown name: NotFound, named */
  g_assert_cmpint (gdbus (d, NULL, &err, "call", "--object-path", "/org/tend/Tend1", "--method",
                          "org.tend.Manager1.Stop", "nosuch", NULL),
                   !=, 0);
  g_assert_nonnull (strstr (err, "org.tend.Tend1.Error.NotFound"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

typedef struct {
  GPtrArray *removed; /* names, in the order the signals came */
  GPtrArray *states;  /* "NAME STATE" of ServiceStateChanged */
} Heard;

static void
heard_cb (GDBusConnection *connection,
          const char *sender,
          const char *path,
          const char *interface,
          const char *signal,
          GVariant *parameters,
          gpointer user_data)
{
  Heard *heard = user_data;
  const char *name = NULL;
  const char *state = NULL;

  if (g_str_equal (signal, "ServiceRemoved")) {
    g_variant_get (parameters, "(&s)", &name);
    g_ptr_array_add (heard->removed, g_strdup (name));
  } else if (g_str_equal (signal, "ServiceStateChanged")) {
    g_variant_get (parameters, "(&s&s)", &name, &state);
    g_ptr_array_add (heard->states, g_strdup_printf ("%s %s", name, state));
  }
}

/* Iterates the default main context until @heard has @n removals, for at most @timeout_ms (scaled). */
static gboolean
wait_removed (Heard *heard, guint n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (timeout_ms) * 1000;

  while (heard->removed->len < n && g_get_monotonic_time () < deadline) {
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10000);
  }
  return heard->removed->len >= n;
}

static gboolean
listed (GDBusConnection *connection, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (connection, NULL, "/org/tend/Tend1", "org.tend.Manager1",
                                                           "ListServices", NULL, G_VARIANT_TYPE ("(aa{sv})"),
                                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_autoptr(GVariant) list = NULL;

  g_assert_no_error (error);
  list = g_variant_get_child_value (reply, 0);
  for (gsize i = 0; i < g_variant_n_children (list); i++) {
    g_autoptr(GVariant) dict = g_variant_get_child_value (list, i);
    const char *listed_name = NULL;

    if (g_variant_lookup (dict, "name", "&s", &listed_name) && g_str_equal (listed_name, name))
      return TRUE;
  }
  return FALSE;
}

/* ServiceRemoved names the service once it is gone: after Delete, and after a reload that drops it. */
static void
test_service_removed (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *address = socket_address (d);
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Heard heard = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
  guint subscription;

  tend_test_daemon_write_config (d, "[service:web]\nexec=sleep 1000\n\n[service:api]\nexec=sleep 1001\n\n"
                                    "[service:db]\nexec=sleep 1002\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "web", "online"));
  connection = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                                                       NULL, &error);
  g_assert_no_error (error);
  subscription = g_dbus_connection_signal_subscribe (connection, NULL, "org.tend.Manager1", NULL, "/org/tend/Tend1",
                                                     NULL, G_DBUS_SIGNAL_FLAGS_NONE, heard_cb, &heard, NULL);

  /* an ad hoc delete: the stop's state change first, then the removal, once it is no longer listed */
  reply = g_dbus_connection_call_sync (connection, NULL, "/org/tend/Tend1", "org.tend.Manager1", "Delete",
                                       g_variant_new ("(s)", "web"), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_removed (&heard, 1, 10000));
  g_assert_cmpstr (g_ptr_array_index (heard.removed, 0), ==, "web");
  g_assert_true (g_ptr_array_find_with_equal_func (heard.states, "web stopped", g_str_equal, NULL));
  g_assert_false (listed (connection, "web"));
  g_assert_true (listed (connection, "api"));

  /* a reload that drops a service from the file announces it too, and nothing else is removed */
  tend_test_daemon_write_config (d, "[service:api]\nexec=sleep 1001\n");
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (connection, NULL, "/org/tend/Tend1", "org.tend.Manager1", "Reload", NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_removed (&heard, 2, 10000));
  g_assert_cmpstr (g_ptr_array_index (heard.removed, 1), ==, "db");
  g_assert_false (listed (connection, "db"));
  g_assert_true (listed (connection, "api"));
  g_assert_cmpuint (heard.removed->len, ==, 2);

  g_dbus_connection_signal_unsubscribe (connection, subscription);
  g_ptr_array_unref (heard.removed);
  g_ptr_array_unref (heard.states);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_access_denied (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *sock = g_build_filename (d->home, "tendd.sock", NULL);
  g_autofree char *address = socket_address (d);
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *state = NULL;
  const char *stop_argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "gdbus", "call",
                              "--address", address, "--dest", "org.tend.Tend1", "--object-path", "/org/tend/Tend1",
                              "--method", "org.tend.Manager1.Stop", "web", NULL };
  const char *service_stop_argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "gdbus", "call",
                                      "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                                      SERVICE_PATH "web", "--method", "org.tend.Service1.Stop", NULL };
  const char *get_argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "gdbus", "call",
                             "--address", address, "--dest", "org.tend.Tend1", "--object-path", "/org/tend/Tend1",
                             "--method", "org.freedesktop.DBus.Properties.Get", "org.tend.Manager1", "Version", NULL };
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
  const char *cli_version_argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", tend, "version",
                                     NULL };
  const char *cli_status_argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", tend, "--home",
                                    d->home, "status", "--json", NULL };
  const char *cli_stop_argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", tend, "--home",
                                  d->home, "stop", "web", NULL };
  const char *env[] = { "HOME=/", NULL };
  struct stat st;

  if (getuid () != 0) {
    g_test_skip ("needs root, to call as the user nobody");
    return;
  }
  if (setpriv == NULL) {
    g_test_skip ("setpriv (util-linux) is not installed");
    return;
  }
  tend_test_daemon_write_config (d, "[service:web]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "web", "online"));
  /* the socket is the daemon's user's alone, by design */
  g_assert_cmpint (stat (sock, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  /* let nobody reach it, so the daemon's own check is what is tested */
  g_assert_cmpint (chmod (d->dir, 0711), ==, 0);
  g_assert_cmpint (chmod (d->home, 0711), ==, 0);
  g_assert_cmpint (chmod (sock, 0666), ==, 0);

  g_assert_cmpint (tend_test_run_program (d, env, stop_argv, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "org.freedesktop.DBus.Error.AccessDenied"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_program (d, env, service_stop_argv, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "org.freedesktop.DBus.Error.AccessDenied"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  state = service_state (d, "web");
  g_assert_cmpstr (state, ==, "online");

  /* reads are open */
  g_assert_cmpint (tend_test_run_program (d, env, get_argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, TEND_VERSION));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* the same through tend: reads work, control says "permission denied" and exits 1 */
  if (tend_test_run_program (d, env, cli_version_argv, NULL, NULL) != 0) {
    g_test_message ("the user nobody cannot run the tend of this build tree; its part is skipped");
  } else {
    g_assert_cmpint (tend_test_run_program (d, env, cli_status_argv, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "\"web\""));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (tend_test_run_program (d, env, cli_stop_argv, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "permission denied"));
    g_assert_null (strstr (err, "GDBus.Error"));
    g_clear_pointer (&state, g_free);
    state = service_state (d, "web");
    g_assert_cmpstr (state, ==, "online");
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

typedef struct {
  TendTestDaemon *d;
  const char *const *env;
} BusWait;

static gboolean
bus_introspect_works (gpointer data)
{
  BusWait *w = data;
  g_autofree char *out = NULL;
  const char *argv[] = { "gdbus", "introspect", "--session", "--dest", "org.tend.Tend1", "--object-path",
                         "/org/tend/Tend1", NULL };

  return tend_test_run_program (w->d, w->env, argv, &out, NULL) == 0 && strstr (out, "org.tend.Manager1") != NULL;
}

static void
test_session_bus (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *bus_conf = tend_test_daemon_path (d, "bus.conf");
  g_autofree char *bus_sock = tend_test_daemon_path (d, "bus.sock");
  g_autofree char *bus_address = g_strdup_printf ("unix:path=%s", bus_sock);
  g_autofree char *bus_env = g_strdup_printf ("DBUS_SESSION_BUS_ADDRESS=%s", bus_address);
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");
  g_autofree char *conf_text = NULL;
  g_autofree char *config_arg = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *env[] = { bus_env, NULL };
  const char *call_argv[] = { "gdbus", "call", "--session", "--dest", "org.tend.Tend1", "--object-path",
                              "/org/tend/Tend1", "--method", "org.freedesktop.DBus.Properties.Get",
                              "org.tend.Manager1", "Version", NULL };
  BusWait wait = { d, env };
  GPid bus_pid;
  int status;

  if (dbus_daemon == NULL) {
    g_test_skip ("dbus-daemon is not installed");
    return;
  }
  /* a private session bus of our own, on a socket in the test's folder */
  conf_text = g_strdup_printf ("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                               " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                               "<busconfig>\n"
                               "  <type>session</type>\n"
                               "  <listen>%s</listen>\n"
                               "  <auth>EXTERNAL</auth>\n"
                               "  <policy context=\"default\">\n"
                               "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                               "    <allow eavesdrop=\"true\"/>\n"
                               "    <allow own=\"*\"/>\n"
                               "  </policy>\n"
                               "</busconfig>\n",
                               bus_address);
  g_assert_true (g_file_set_contents (bus_conf, conf_text, -1, NULL));
  config_arg = g_strdup_printf ("--config-file=%s", bus_conf);
  {
    const char *argv[] = { dbus_daemon, config_arg, "--nofork", "--nopidfile", NULL };
    g_spawn_async (NULL, (char **) argv, NULL,
                   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                   &bus_pid, &error);
    g_assert_no_error (error);
  }
  tend_test_track_pid (bus_pid);
  g_assert_true (tend_test_wait (file_exists, bus_sock, 10000));

  tend_test_daemon_write_config (d, "[tend]\ndbus=session\n\n[service:web]\nexec=sleep 1000\n");
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  tend_test_daemon_start (d);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");

  /* the name is owned shortly after the daemon is ready */
  g_assert_true (tend_test_wait (bus_introspect_works, &wait, 10000));
  g_assert_cmpint (tend_test_run_program (d, env, call_argv, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, TEND_VERSION));

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  kill (bus_pid, SIGTERM);
  status = tend_test_wait_cli (bus_pid, 10000);
  g_assert_cmpint (status, >=, 0);
}

int
main (int argc, char **argv)
{
  g_autofree char *gdbus_path = NULL;

  g_test_init (&argc, &argv, NULL);
  gdbus_path = g_find_program_in_path ("gdbus");
  if (gdbus_path == NULL) {
    /* gdbus comes with libglib2.0-bin; without it there is nothing to test here */
    g_test_add_func ("/dbus/skipped", (GTestFunc) g_test_incomplete);
    return g_test_run ();
  }
  g_test_add_func ("/dbus/introspect", test_introspect);
  g_test_add_func ("/dbus/properties", test_properties);
  g_test_add_func ("/dbus/control", test_control);
  g_test_add_func ("/dbus/service-removed", test_service_removed);
  g_test_add_func ("/dbus/access-denied", test_access_denied);
  g_test_add_func ("/dbus/session-bus", test_session_bus);
  return g_test_run ();
}
