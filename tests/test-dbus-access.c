/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may do and see what over D-Bus, tried by the user nobody against a
 * tendd running as root: a forged SENDER on the control socket, what
 * Describe shows to a caller without control rights, and whose rights
 * StartConfig reads a file with.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define NOBODY 65534

/*
 * Runs @argv as nobody (supplementary group @extra_group unless 0); output
 * into files, never the TAP stream; returns the exit status, @out_pid the pid.
 */
/* nobody may reach the socket only through the permissions under test */
static void
open_path_to_socket (TendTestDaemon *d)
{
  g_assert_cmpint (chmod (d->dir, 0711), ==, 0);
  g_assert_cmpint (chmod (d->home, 0711), ==, 0);
}

/* The group whose gid is @gid is in nobody's /etc/group groups (primary included). */
static gboolean
nobody_is_member (gid_t gid)
{
  struct passwd *pw = getpwuid (NOBODY);
  gid_t groups[256];
  int n = G_N_ELEMENTS (groups);

  g_assert_nonnull (pw);
  g_assert_cmpint (getgrouplist (pw->pw_name, pw->pw_gid, groups, &n), >=, 0);
  for (int i = 0; i < n; i++) {
    if (groups[i] == gid)
      return TRUE;
  }
  return FALSE;
}

/* A group that nobody does not belong to in /etc/group, to be named admin-group. */
static char *
foreign_group (gid_t *out_gid)
{
  struct group *gr;
  char *name = NULL;

  setgrent ();
  while ((gr = getgrent ()) != NULL) {
    if (gr->gr_gid != 0 && gr->gr_gid != NOBODY && !nobody_is_member (gr->gr_gid)) {
      name = g_strdup (gr->gr_name);
      *out_gid = gr->gr_gid;
      break;
    }
  }
  endgrent ();
  g_assert_nonnull (name);
  return name;
}

static gboolean
need_root (void)
{
  if (getuid () == 0)
    return TRUE;
  g_test_skip ("needs root, to act as the user nobody");
  return FALSE;
}

/* A copy of a compiled helper in the test's folder: the build tree may be closed to nobody. */
static char *
helper_for_nobody (TendTestDaemon *d, const char *variable)
{
  const char *built = g_getenv (variable);
  g_autofree char *name = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  char *copy;
  gsize length;

  g_assert_nonnull (built);
  name = g_path_get_basename (built);
  copy = tend_test_daemon_path (d, name);
  g_assert_true (g_file_get_contents (built, &contents, &length, &error));
  g_assert_true (g_file_set_contents_full (copy, contents, (gssize) length, G_FILE_SET_CONTENTS_NONE, 0755, &error));
  g_assert_no_error (error);
  return copy;
}

static char *
socket_address (TendTestDaemon *d)
{
  return g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
}

/*
 * The attack: a member of admin-group only in its process credentials (not in
 * /etc/group) sends AddService with SENDER=:1.666 and answers the daemon's
 * GetConnectionUnixUser(":1.666") with 0 itself.
 */
static void
test_forged_sender (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *group = NULL;
  g_autofree char *config = NULL;
  g_autofree char *sock = NULL;
  g_autofree char *address = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *status_json = NULL;
  g_autofree char *logged = NULL;
  g_autofree char *helper = NULL;
  struct stat st;
  gid_t gid = 0;
  GPid pid;

  if (!need_root ())
    return;
  d = tend_test_daemon_new ();
  helper = helper_for_nobody (d, "TEND_TEST_FORGE_SENDER_HELPER");
  group = foreign_group (&gid);
  config = g_strdup_printf ("[tend]\nadmin-group=%s\n", group);
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  sock = g_build_filename (d->home, "tendd.sock", NULL);
  g_assert_cmpint (stat (sock, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0660);
  g_assert_cmpuint (st.st_gid, ==, gid);
  open_path_to_socket (d);
  address = socket_address (d);
  marker = tend_test_daemon_path (d, "ran-as-root");

  {
    const char *argv[] = { helper, address, ":1.666", marker, NULL };
    g_assert_cmpint (tend_test_run_as_nobody (d, argv, gid, &out, &err, &pid), ==, 1);
  }
  g_assert_nonnull (strstr (out, "error org.freedesktop.DBus.Error.AccessDenied"));
  /* the daemon did not even ask the peer who it is */
  g_assert_nonnull (strstr (out, "asked 0\n"));
  g_assert_cmpint (tend_test_run_cli (d, &status_json, NULL, "status", "--json", NULL), ==, 0);
  g_assert_null (strstr (status_json, "forged"));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  logged = g_strdup_printf ("refused org.tend.Manager1.AddService from pid %d uid %d: it claims to come from :1.666",
                            (int) pid, NOBODY);
  g_assert_true (tend_test_daemon_log_contains (d, logged));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

/* A private bus in the test's folder that any user may connect to, as the system bus lets anyone. */
static GPid
start_open_bus (TendTestDaemon *d, char **out_address)
{
  g_autofree char *conf = tend_test_daemon_path (d, "bus.conf");
  g_autofree char *sock = tend_test_daemon_path (d, "bus.sock");
  g_autofree char *address = g_strdup_printf ("unix:path=%s", sock);
  g_autofree char *text = NULL;
  g_autofree char *config_arg = g_strdup_printf ("--config-file=%s", conf);
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");
  g_autoptr(GError) error = NULL;
  GPid pid;

  g_assert_nonnull (dbus_daemon);
  text = g_strdup_printf ("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                          " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                          "<busconfig>\n"
                          "  <type>session</type>\n"
                          "  <listen>%s</listen>\n"
                          "  <auth>EXTERNAL</auth>\n"
                          "  <policy context=\"default\">\n"
                          "    <allow user=\"*\"/>\n"
                          "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                          "    <allow eavesdrop=\"true\"/>\n"
                          "    <allow own=\"*\"/>\n"
                          "  </policy>\n"
                          "</busconfig>\n",
                          address);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  {
    const char *argv[] = { dbus_daemon, config_arg, "--nofork", "--nopidfile", NULL };
    g_spawn_async (NULL, (char **) argv, NULL,
                   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                   &pid, &error);
    g_assert_no_error (error);
  }
  tend_test_track_pid (pid);
  g_assert_true (tend_test_wait (file_exists, sock, 10000));
  *out_address = g_steal_pointer (&address);
  return pid;
}

typedef struct {
  TendTestDaemon *d;
  const char *address;
} NameWait;

static gboolean
name_is_owned (gpointer data)
{
  NameWait *w = data;
  g_autofree char *out = NULL;
  const char *argv[] = { "gdbus", "call", "--address", w->address, "--dest", "org.freedesktop.DBus",
                         "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.NameHasOwner",
                         "org.tend.Tend1", NULL };

  return tend_test_run_program (w->d, NULL, argv, &out, NULL) == 0 && strstr (out, "true") != NULL;
}

static void
assert_describe_hides (const char *out)
{
  /* names of the variables and the program, nothing of the values and arguments */
  g_assert_nonnull (strstr (out, "'env': 'DB_PASSWORD;MODE'"));
  g_assert_nonnull (strstr (out, "'exec': '/bin/sh'"));
  /* and says so: tend export must not write a rollback from this */
  g_assert_nonnull (strstr (out, "'redacted': <true>"));
  g_assert_nonnull (strstr (out, "'health-check': 'exec:/bin/true'"));
  g_assert_nonnull (strstr (out, "'ready-check': 'http://127.0.0.1:9/ready'"));
  g_assert_null (strstr (out, "hunter2"));
  g_assert_null (strstr (out, "URL-PASSWORD-5"));
  g_assert_null (strstr (out, "URL-TOKEN-6"));
  g_assert_null (strstr (out, "production"));
  g_assert_null (strstr (out, "ARG-SECRET-42"));
  g_assert_null (strstr (out, "CHECK-SECRET-7"));
}

static void
assert_describe_shows (const char *out)
{
  g_assert_nonnull (strstr (out, "DB_PASSWORD=hunter2"));
  g_assert_nonnull (strstr (out, "ARG-SECRET-42"));
  g_assert_null (strstr (out, "'redacted'"));
  g_assert_nonnull (strstr (out, "CHECK-SECRET-7"));
  g_assert_nonnull (strstr (out, "URL-TOKEN-6"));
}

#define SECRET_SERVICE                                                                                                 \
  "[service:web]\n"                                                                                                    \
  "exec=/bin/sh -c \"exec sleep 1000\" ARG-SECRET-42\n"                                                                \
  "env=DB_PASSWORD=hunter2;MODE=production\n"                                                                          \
  "health-check=exec:/bin/true --token CHECK-SECRET-7\n"                                                               \
  "ready-check=http://admin:URL-PASSWORD-5@127.0.0.1:9/ready?token=URL-TOKEN-6\n"

/* Describe is open to anyone; the environment's values and the arguments only to those with control rights. */
static void
test_describe_secrets (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *sock = NULL;
  g_autofree char *address = NULL;
  g_autofree char *bus_address = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  NameWait wait;
  GPid bus_pid;

  if (!need_root ())
    return;
  d = tend_test_daemon_new ();
  bus_pid = start_open_bus (d, &bus_address);
  tend_test_daemon_write_config (d, "[tend]\ndbus=session\n\n" SECRET_SERVICE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  tend_test_daemon_start (d);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  sock = g_build_filename (d->home, "tendd.sock", NULL);
  address = socket_address (d);
  open_path_to_socket (d);
  g_assert_cmpint (chmod (sock, 0666), ==, 0);

  /* the control socket */
  {
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1", "--method", "org.tend.Manager1.Describe", "web", NULL };
    g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, &out, &err, NULL), ==, 0);
    assert_describe_hides (out);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, NULL), ==, 0);
    assert_describe_shows (out);
    g_clear_pointer (&out, g_free);
  }
  /* the history is a read, too */
  {
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1/service/web", "--method", "org.tend.Service1.GetHistory", "0", NULL };
    g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, &out, &err, NULL), ==, 0);
    /* "([{...}],)", or "(@aa{sv} [],)" before the first sample */
    g_assert_true (g_str_has_prefix (out, "([") || g_str_has_prefix (out, "(@aa{sv} []"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }

  /* the bus, where every local user may call it */
  wait.d = d;
  wait.address = bus_address;
  g_assert_true (tend_test_wait (name_is_owned, &wait, 10000));
  {
    const char *argv[] = { "gdbus", "call", "--address", bus_address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1", "--method", "org.tend.Manager1.Describe", "web", NULL };
    g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, &out, &err, NULL), ==, 0);
    assert_describe_hides (out);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, NULL), ==, 0);
    assert_describe_shows (out);
    g_clear_pointer (&out, g_free);
  }

  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  kill (bus_pid, SIGTERM);
  g_assert_cmpint (tend_test_wait_cli (bus_pid, 10000), >=, 0);
}

static void
write_file (TendTestDaemon *d, const char *name, const char *text, mode_t mode)
{
  g_autofree char *path = tend_test_daemon_path (d, name);
  g_autoptr(GString) s = g_string_new (text);
  g_autoptr(GError) error = NULL;

  g_string_replace (s, "@DIR@", d->dir, 0);
  g_assert_true (g_file_set_contents_full (path, s->str, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chmod (path, mode), ==, 0);
}

/* StartConfig(DIR/@name) as nobody; the exit status of gdbus */
static int
start_config_as_nobody (TendTestDaemon *d, const char *name, char **out, char **err)
{
  g_autofree char *address = socket_address (d);
  g_autofree char *path = tend_test_daemon_path (d, name);
  const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                         "/org/tend/Tend1", "--method", "org.tend.Manager1.StartConfig", path, "[]", NULL };

  return tend_test_run_as_nobody (d, argv, 0, out, err, NULL);
}

/*
 * admin-group makes its members root's equals for what runs, but StartConfig
 * reads a file (and the env-file it names) with the caller's rights: its
 * errors, which quote the line they stumbled on, never show a line of a file
 * the caller could not read.
 */
static void
test_start_config_rights (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *config = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *status_json = NULL;
  struct passwd *pw;
  struct group *gr;

  if (!need_root ())
    return;
  /* nobody's own group: nobody is a member in /etc/group, so it may control */
  pw = getpwuid (NOBODY);
  g_assert_nonnull (pw);
  gr = getgrgid (pw->pw_gid);
  g_assert_nonnull (gr);
  d = tend_test_daemon_new ();
  config = g_strdup_printf ("[tend]\nadmin-group=%s\n", gr->gr_name);
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  open_path_to_socket (d);
  write_file (d, "secret.conf", "this line is SECRET-LINE-7 and no configuration\n", 0600);
  write_file (d, "readable.conf", "this line is VISIBLE-LINE-8 and no configuration\n", 0644);
  write_file (d, "secret.env", "not a variable SECRET-ENV-9\n", 0600);
  write_file (d, "env-file.conf", "[service:envy]\nexec=sleep 1000\nenv-file=@DIR@/secret.env\n", 0644);
  write_file (d, "good.conf", "[service:good]\nexec=sleep 1000\n", 0644);

  g_assert_cmpint (start_config_as_nobody (d, "secret.conf", &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "org.tend.Tend1.Error.Config"));
  g_assert_nonnull (strstr (err, "Permission denied"));
  g_assert_null (strstr (err, "SECRET-LINE-7"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (start_config_as_nobody (d, "env-file.conf", &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "Permission denied"));
  g_assert_null (strstr (err, "SECRET-ENV-9"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* AddService's options go through the same reader */
  {
    g_autofree char *address = socket_address (d);
    g_autofree char *secret_env = tend_test_daemon_path (d, "secret.env");
    g_autofree char *options = g_strdup_printf ("{'env-file': '%s'}", secret_env);
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1", "--method", "org.tend.Manager1.AddService", "envy",
                           "['sleep', '1000']", options, "/", NULL };
    g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, &out, &err, NULL), !=, 0);
    g_assert_nonnull (strstr (err, "Permission denied"));
    g_assert_null (strstr (err, "SECRET-ENV-9"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }

  /* what the caller may read, its errors show in full */
  g_assert_cmpint (start_config_as_nobody (d, "readable.conf", &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "VISIBLE-LINE-8"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* and a good file works */
  g_assert_cmpint (start_config_as_nobody (d, "good.conf", &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "'good'"));
  g_assert_cmpint (tend_test_run_cli (d, &status_json, NULL, "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (status_json, "\"good\""));
  g_assert_null (strstr (status_json, "envy"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dbus-access/forged-sender", test_forged_sender);
  g_test_add_func ("/dbus-access/describe-secrets", test_describe_secrets);
  g_test_add_func ("/dbus-access/start-config-rights", test_start_config_rights);
  return g_test_run ();
}
