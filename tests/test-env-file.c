/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A service's env-file, read again at every start by a tendd running as
 * root: with whose rights, and what its errors show. The user a service runs
 * as owns the folder of its env-file and swaps the file for a link to a
 * root-only file; the admin-group member who added a service does the same;
 * a FIFO takes the file's place.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define NOBODY 65534
#define ROOT_SECRET "ROOT-SECRET-VALUE-42"
#define SHADOW_LINE "SECRET-LINE-XYZ"
#define NOBODY_LINE "NOBODY-LINE-ABC"

static gboolean
need_root (void)
{
  if (getuid () == 0 && getpwuid (NOBODY) != NULL)
    return TRUE;
  g_test_skip ("needs root and the user nobody");
  return FALSE;
}

static void
write_file (const char *path, const char *text, mode_t mode, uid_t owner)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chmod (path, mode), ==, 0);
  g_assert_cmpint (chown (path, owner, getpwuid (owner)->pw_gid), ==, 0);
}

/*
 * The test's folder opened for nobody to pass through (the fixture makes it
 * 0700), and in it app/, nobody's own folder, with an env-file only nobody
 * may read, and root-only files: KEY=VALUE secrets and a shadow-like file.
 */
static char *
prepare_files (TendTestDaemon *d, const char *app_env_text)
{
  g_autofree char *app = tend_test_daemon_path (d, "app");
  g_autofree char *app_env = tend_test_daemon_path (d, "app/app.env");
  g_autofree char *secret = tend_test_daemon_path (d, "root-secret.env");
  g_autofree char *shadow = tend_test_daemon_path (d, "shadow");

  g_assert_cmpint (chmod (d->dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (app, 0755), ==, 0);
  g_assert_cmpint (chown (app, NOBODY, getpwuid (NOBODY)->pw_gid), ==, 0);
  write_file (app_env, app_env_text, 0600, NOBODY);
  write_file (secret, "ROOT_KEY=" ROOT_SECRET "\n", 0600, 0);
  write_file (shadow, SHADOW_LINE ":*:20228:0:99999:7:::\nROOT_KEY=" ROOT_SECRET "\n", 0600, 0);
  return g_steal_pointer (&app_env);
}

/* as nobody: the attack of the review, a link swapped in with one rename */
static void
swap_link_as_nobody (TendTestDaemon *d, const char *target_name, const char *env_name)
{
  g_autofree char *target = tend_test_daemon_path (d, target_name);
  g_autofree char *script = g_strdup_printf ("cd '%s/app' && ln -sf '%s' n && mv -T n '%s'", d->dir, target, env_name);
  const char *argv[] = { "sh", "-c", script, NULL };

  g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, NULL, NULL, NULL), ==, 0);
}

/* Every message tendd sends on a connection of ours (signals included), as text. */
typedef struct {
  GMutex lock;
  GString *seen;
  GDBusConnection *connection;
} Listener;

static GDBusMessage *
listen_filter (GDBusConnection *connection, GDBusMessage *message, gboolean incoming, gpointer data)
{
  Listener *l = data;

  if (incoming) {
    g_autofree char *text = g_dbus_message_print (message, 0);
    g_mutex_lock (&l->lock);
    g_string_append (l->seen, text);
    g_mutex_unlock (&l->lock);
  }
  return message;
}

static Listener *
listener_new (TendTestDaemon *d)
{
  Listener *l = g_new0 (Listener, 1);
  g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_mutex_init (&l->lock);
  l->seen = g_string_new (NULL);
  l->connection = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                          NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_add_filter (l->connection, listen_filter, l, NULL);
  /* one call, so the daemon has surely seen us before anything is tried */
  reply = g_dbus_connection_call_sync (l->connection, NULL, "/org/tend/Tend1", "org.tend.Manager1", "ListServices",
                                       NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);
  g_assert_no_error (error);
  return l;
}

static gboolean
listener_saw (Listener *l, const char *needle)
{
  gboolean found;

  g_mutex_lock (&l->lock);
  found = strstr (l->seen->str, needle) != NULL;
  g_mutex_unlock (&l->lock);
  return found;
}

static void
listener_free (Listener *l)
{
  g_dbus_connection_close_sync (l->connection, NULL, NULL);
  g_object_unref (l->connection);
  g_string_free (l->seen, TRUE);
  g_mutex_clear (&l->lock);
  g_free (l);
}

/* `tend describe NAME --json`, which shows the status message */
static char *
describe (TendTestDaemon *d, const char *name)
{
  char *out = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", name, "--json", NULL), ==, 0);
  return out;
}

static pid_t
service_pid (TendTestDaemon *d, const char *name)
{
  g_autofree char *json = describe (d, name);
  g_autoptr(GRegex) re = g_regex_new ("\"pid\"\\s*:\\s*([0-9]+)", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *digits = NULL;

  if (!g_regex_match (re, json, 0, &match))
    return 0;
  digits = g_match_info_fetch (match, 1);
  return (pid_t) g_ascii_strtoll (digits, NULL, 10);
}

/* the environment of @pid, NUL separators made newlines */
static char *
environ_of (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", (int) pid);
  char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return g_strdup ("");
  for (gsize i = 0; i < length; i++) {
    if (contents[i] == '\0')
      contents[i] = '\n';
  }
  return contents;
}

typedef struct {
  TendTestDaemon *d;
  const char *name;
  const char *needle;
} Wait;

static gboolean
online_with (gpointer data)
{
  Wait *w = data;
  pid_t pid = service_pid (w->d, w->name);
  g_autofree char *env = pid > 0 ? environ_of (pid) : NULL;

  return env != NULL && strstr (env, w->needle) != NULL;
}

static gboolean
describe_has (gpointer data)
{
  Wait *w = data;
  g_autofree char *json = describe (w->d, w->name);

  return strstr (json, w->needle) != NULL;
}

/* what everyone may see of @name (describe, status) and every D-Bus message so far hold no @secret */
static void
assert_nowhere (TendTestDaemon *d, Listener *l, const char *name, const char *secret)
{
  g_autofree char *json = describe (d, name);
  g_autofree char *status = NULL;
  pid_t pid = service_pid (d, name);
  g_autofree char *env = pid > 0 ? environ_of (pid) : g_strdup ("");

  g_assert_cmpint (tend_test_run_cli (d, &status, NULL, "status", "--json", NULL), ==, 0);
  g_assert_null (strstr (json, secret));
  g_assert_null (strstr (status, secret));
  g_assert_null (strstr (env, secret));
  g_assert_false (listener_saw (l, secret));
}

/*
 * user=nobody, env-file in nobody's folder: nobody swaps it for a link to a
 * root-only file. At the restart it is read as nobody, so the service does
 * not start (a clear permission error) and no secret reaches it, its status
 * message, describe or a D-Bus signal. A file nobody may read works.
 */
static void
test_user_link_swap (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *app_env = NULL;
  Listener *l;
  Wait w;

  if (!need_root ())
    return;
  d = tend_test_daemon_new ();
  app_env = prepare_files (d, "APP_KEY=app-value-7\n");
  tend_test_daemon_write_config (d, "[service:app]\nexec=sleep 100000\nuser=nobody\nenv-file=@DIR@/app/app.env\n");
  tend_test_daemon_start (d);
  l = listener_new (d);

  /* a normal env-file, 0600 and nobody's: read as nobody, it works */
  w = (Wait) { d, "app", "APP_KEY=app-value-7" };
  g_assert_true (tend_test_wait (online_with, &w, 30000));

  /* KEY=VALUE secrets of root's */
  swap_link_as_nobody (d, "root-secret.env", "app.env");
  tend_test_run_cli (d, NULL, NULL, "restart", "app", NULL);
  w = (Wait) { d, "app", "Permission denied (read as nobody)" };
  g_assert_true (tend_test_wait (describe_has, &w, 30000));
  {
    g_autofree char *json = describe (d, "app");
    g_assert_nonnull (strstr (json, "env-file: "));
    g_assert_cmpint (service_pid (d, "app"), ==, 0);
  }
  assert_nowhere (d, l, "app", ROOT_SECRET);

  /* the first line of a root-only file that is not KEY=VALUE (as /etc/shadow's) */
  swap_link_as_nobody (d, "shadow", "app.env");
  tend_test_run_cli (d, NULL, NULL, "restart", "app", NULL);
  w = (Wait) { d, "app", "Permission denied (read as nobody)" };
  g_assert_true (tend_test_wait (describe_has, &w, 30000));
  assert_nowhere (d, l, "app", SHADOW_LINE);
  assert_nowhere (d, l, "app", ROOT_SECRET);
  g_assert_false (tend_test_daemon_log_contains (d, SHADOW_LINE));

  /* nobody's own bad line: named by its number, its text never shown */
  g_assert_cmpint (unlink (app_env), ==, 0);
  write_file (app_env, "A=1\n" NOBODY_LINE "\n", 0600, NOBODY);
  tend_test_run_cli (d, NULL, NULL, "restart", "app", NULL);
  w = (Wait) { d, "app", "app.env:2: not KEY=VALUE" };
  g_assert_true (tend_test_wait (describe_has, &w, 30000));
  assert_nowhere (d, l, "app", NOBODY_LINE);

  /* and a good file again */
  write_file (app_env, "APP_KEY=app-value-8\n", 0600, NOBODY);
  tend_test_run_cli (d, NULL, NULL, "restart", "app", NULL);
  w = (Wait) { d, "app", "APP_KEY=app-value-8" };
  g_assert_true (tend_test_wait (online_with, &w, 30000));

  listener_free (l);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/*
 * A member of admin-group adds a service running as root (no user=) over
 * StartConfig, its env-file in their own folder; later restarts, a save and
 * a resurrect read it with their rights, not root's.
 */
static void
test_added_by_admin (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *config = NULL;
  g_autofree char *app_conf = NULL;
  g_autofree char *address = NULL;
  g_autofree char *dump = NULL;
  g_autofree char *dump_path = NULL;
  g_autofree char *resurrect_err = NULL;
  struct group *gr;
  Listener *l;
  Wait w;

  if (!need_root ())
    return;
  gr = getgrgid (getpwuid (NOBODY)->pw_gid);
  g_assert_nonnull (gr);
  d = tend_test_daemon_new ();
  config = g_strdup_printf ("[tend]\nadmin-group=%s\n", gr->gr_name);
  tend_test_daemon_write_config (d, config);
  g_free (prepare_files (d, "ADM_KEY=adm-value-3\n"));
  app_conf = tend_test_daemon_path (d, "app/app.conf");
  {
    g_autofree char *text = g_strdup_printf ("[service:adm]\nexec=sleep 100000\nenv-file=%s/app/app.env\n", d->dir);
    write_file (app_conf, text, 0644, NOBODY);
  }
  tend_test_daemon_start (d);
  g_assert_cmpint (chmod (d->home, 0711), ==, 0);
  l = listener_new (d);
  address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  {
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1", "--method", "org.tend.Manager1.StartConfig", app_conf, "[]", NULL };
    g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, NULL, NULL, NULL), ==, 0);
  }
  w = (Wait) { d, "adm", "ADM_KEY=adm-value-3" };
  g_assert_true (tend_test_wait (online_with, &w, 30000));

  swap_link_as_nobody (d, "root-secret.env", "app.env");
  {
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path",
                           "/org/tend/Tend1", "--method", "org.tend.Manager1.Restart", "adm", NULL };
    tend_test_run_as_nobody (d, argv, 0, NULL, NULL, NULL);
  }
  w = (Wait) { d, "adm", "Permission denied (read as nobody)" };
  g_assert_true (tend_test_wait (describe_has, &w, 30000));
  g_assert_cmpint (service_pid (d, "adm"), ==, 0);
  assert_nowhere (d, l, "adm", ROOT_SECRET);
  listener_free (l);

  /* the dump keeps who added it, so a resurrect reads as nobody too */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "save", NULL), ==, 0);
  dump_path = g_build_filename (d->home, "dump.conf", NULL);
  g_assert_true (g_file_get_contents (dump_path, &dump, NULL, NULL));
  g_assert_nonnull (strstr (dump, "added-by=65534"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  tend_test_daemon_start (d);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &resurrect_err, "resurrect", NULL), !=, 0);
  g_assert_nonnull (strstr (resurrect_err, "Permission denied (read as nobody)"));
  g_assert_null (strstr (resurrect_err, ROOT_SECRET));
  {
    g_autofree char *status = NULL;
    g_assert_cmpint (tend_test_run_cli (d, &status, NULL, "status", "--json", NULL), ==, 0);
    g_assert_null (strstr (status, ROOT_SECRET));
    g_assert_null (strstr (status, "\"adm\""));
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* A FIFO as env-file: the restart answers at once with a clear error, tendd goes on answering. */
static void
test_fifo (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *env = NULL;
  g_autofree char *status = NULL;
  const char *restart[] = { "restart", "fifo", NULL };
  GPid cli;
  Wait w;

  d = tend_test_daemon_new ();
  env = tend_test_daemon_path (d, "fifo.env");
  g_assert_true (g_file_set_contents (env, "F=1\n", -1, NULL));
  tend_test_daemon_write_config (d, "[service:fifo]\nexec=sleep 100000\nenv-file=@DIR@/fifo.env\n");
  tend_test_daemon_start (d);
  w = (Wait) { d, "fifo", "F=1" };
  g_assert_true (tend_test_wait (online_with, &w, 30000));

  g_assert_cmpint (unlink (env), ==, 0);
  g_assert_cmpint (mkfifo (env, 0600), ==, 0);
  cli = tend_test_spawn_cli (d, restart);
  /* -1: still waiting after 10 s, i.e. tendd hangs in open() */
  g_assert_cmpint (tend_test_wait_cli (cli, 10000), >=, 0);
  w = (Wait) { d, "fifo", "not a regular file but a FIFO" };
  g_assert_true (tend_test_wait (describe_has, &w, 10000));
  g_assert_cmpint (tend_test_run_cli (d, &status, NULL, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (status, "fifo"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/env-file/user-link-swap", test_user_link_swap);
  g_test_add_func ("/env-file/added-by-admin", test_added_by_admin);
  g_test_add_func ("/env-file/fifo", test_fifo);
  return g_test_run ();
}
