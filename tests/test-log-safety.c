/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A service running as nobody owns its log folder and attacks tendd (root)
 * through it: links, a FIFO, a hard link, a folder swapped for a link, during
 * rotation, compression and flush. The root file it aims at must never change.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define NOBODY 65534
#define SECRET "root only, never written by tendd\n"

typedef struct {
  TendTestDaemon *d;
  char *logs;   /* owned by nobody: the service's log folder */
  char *state;  /* owned by nobody: the helper's record and mark */
  char *log;    /* logs/app.log, the out-file */
  char *secret; /* root-only, 0600 */
  char *record;
  char *mark;
} Attack;

static gboolean
attack_set_up (Attack *a)
{
  g_autoptr(GError) error = NULL;

  if (geteuid () != 0) {
    g_test_skip ("needs root: the service runs as nobody");
    return FALSE;
  }
  a->d = tend_test_daemon_new ();
  /* nobody must reach its folders through the test's private one */
  g_chmod (a->d->dir, 0711);
  a->logs = tend_test_daemon_path (a->d, "logs");
  a->state = tend_test_daemon_path (a->d, "state");
  g_mkdir (a->logs, 0755);
  g_mkdir (a->state, 0755);
  g_assert_cmpint (chown (a->logs, NOBODY, NOBODY), ==, 0);
  g_assert_cmpint (chown (a->state, NOBODY, NOBODY), ==, 0);
  a->log = g_build_filename (a->logs, "app.log", NULL);
  a->secret = tend_test_daemon_path (a->d, "secret");
  g_file_set_contents (a->secret, SECRET, -1, &error);
  g_assert_no_error (error);
  g_chmod (a->secret, 0600);
  a->record = g_build_filename (a->state, "record", NULL);
  a->mark = g_build_filename (a->state, "mark", NULL);
  return TRUE;
}

static void
attack_tear_down (Attack *a)
{
  if (a->d == NULL)
    return;
  tend_test_daemon_free (a->d);
  g_free (a->logs);
  g_free (a->state);
  g_free (a->log);
  g_free (a->secret);
  g_free (a->record);
  g_free (a->mark);
}

/* Writes the config: the attacker as service "app", @env and @extra added, and starts tendd. */
static void
attack_start (Attack *a, const char *env, const char *extra)
{
  g_autofree char *conf = g_strdup_printf ("%s\n[service:app]\nexec=@HELPERS@/log-attack.sh\nuser=nobody\n"
                                           "out-file=%s\nrestart-delay=200ms\n"
                                           "env=LOG=%s;TARGET=%s;MARK=%s;RECORD=%s;%s\n",
                                           extra, a->log, a->log, a->secret, a->mark, a->record, env);

  tend_test_daemon_write_config (a->d, conf);
  tend_test_daemon_start (a->d);
}

static gboolean
secret_intact (Attack *a)
{
  g_autofree char *contents = NULL;
  struct stat st;

  return lstat (a->secret, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == 0 &&
         g_file_get_contents (a->secret, &contents, NULL, NULL) && g_str_equal (contents, SECRET);
}

static void
assert_secret_intact (Attack *a)
{
  if (!secret_intact (a))
    g_error ("tendd changed the root file %s", a->secret);
}

static JsonObject *
describe (Attack *a, JsonNode **out_node)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (tend_test_run_cli (a->d, &out, NULL, "describe", "app", "--json", NULL), ==, 0);
  *out_node = json_from_string (out, &error);
  g_assert_no_error (error);
  return json_node_get_object (*out_node);
}

typedef struct {
  Attack *a;
  const char *needle;
} Wait;

static gboolean
log_error_has (gpointer data)
{
  Wait *w = data;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o = describe (w->a, &node);

  return strstr (json_object_get_string_member (o, "log-error"), w->needle) != NULL &&
         json_object_get_int_member (o, "log-dropped-bytes") > 0;
}

static guint64
dropped_bytes (Attack *a)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o = describe (a, &node);

  return (guint64) json_object_get_int_member (o, "log-dropped-bytes");
}

/* The service's output went somewhere: dropped (refused), or into the root file (the attack worked). */
static gboolean
output_went_somewhere (gpointer data)
{
  Attack *a = data;
  return !secret_intact (a) || dropped_bytes (a) > 0;
}

static gboolean
daemon_log_has (gpointer data)
{
  Wait *w = data;
  return tend_test_daemon_log_contains (w->a->d, w->needle);
}

/*
 * The second run of the service prints, its output is refused and dropped
 * (the reason in the daemon's log and in tend describe), and it keeps
 * running: supervision goes on.
 */
static void
assert_refused_and_running (Attack *a, const char *why)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) node = NULL;
  Wait refusal_wait = { a, "refusing the log " };
  Wait daemon_wait = { a, why };
  Wait describe_wait = { a, why };
  JsonObject *o;

  g_assert_true (tend_test_wait_lines (a->record, 2, 20000));
  g_assert_true (tend_test_wait (output_went_somewhere, a, 20000));
  assert_secret_intact (a);
  g_assert_true (tend_test_wait (daemon_log_has, &refusal_wait, 20000));
  g_assert_true (tend_test_wait (daemon_log_has, &daemon_wait, 20000));
  g_assert_true (tend_test_wait (log_error_has, &describe_wait, 20000));
  o = describe (a, &node);
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "online");
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (a->record, 1)));
  /* tend describe shows it too */
  g_assert_cmpint (tend_test_run_cli (a->d, &out, NULL, "describe", "app", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "log error"));
  g_assert_nonnull (strstr (out, why));
}

/* tend flush refuses the file, says why, and leaves the root file alone; running or not. */
static void
assert_flush_refused (Attack *a, const char *why)
{
  g_autofree char *err = NULL;

  g_assert_cmpint (tend_test_run_cli (a->d, NULL, &err, "flush", "app", NULL), ==, 1);
  g_assert_nonnull (strstr (err, why));
  assert_secret_intact (a);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (a->d, NULL, NULL, "stop", "app", NULL), ==, 0);
  g_assert_cmpint (tend_test_run_cli (a->d, NULL, &err, "flush", "app", NULL), ==, 1);
  g_assert_nonnull (strstr (err, why));
  assert_secret_intact (a);
}

/* The attack: the service replaces its own log with a link to a root-only file and exits. */
static void
test_symlink (void)
{
  Attack a = { 0 };
  struct stat st;

  if (!attack_set_up (&a))
    return;
  attack_start (&a, "ATTACK=symlink", "");
  assert_refused_and_running (&a, "symbolic link");
  assert_secret_intact (&a);
  /* the link is left as it is: tendd neither follows nor removes it */
  g_assert_cmpint (lstat (a.log, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  /* tend logs (run as root here) does not show the root file through the link */
  {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_assert_cmpint (tend_test_run_cli (a.d, &out, &err, "logs", "app", "--out", NULL), ==, 0);
    g_assert_null (strstr (out, "root only"));
    g_assert_nonnull (strstr (err, "not showing"));
  }
  assert_flush_refused (&a, "symbolic link");

  /* once the operator removed the link, the log works again, by itself */
  g_unlink (a.log);
  g_assert_cmpint (tend_test_run_cli (a.d, NULL, NULL, "start", "app", NULL), ==, 0);
  g_assert_true (tend_test_wait_lines (a.log, 5, 20000));
  g_assert_cmpint (lstat (a.log, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  assert_secret_intact (&a);
  g_assert_cmpint (tend_test_daemon_stop (a.d), ==, 0);
  attack_tear_down (&a);
}

/* A FIFO in the log's place: opening it for writing would block the daemon for good. */
static void
test_fifo (void)
{
  Attack a = { 0 };
  struct stat st;

  if (!attack_set_up (&a))
    return;
  attack_start (&a, "ATTACK=fifo", "");
  assert_refused_and_running (&a, "FIFO");
  g_assert_cmpint (lstat (a.log, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  assert_flush_refused (&a, "FIFO");
  g_assert_cmpint (tend_test_daemon_stop (a.d), ==, 0);
  attack_tear_down (&a);
}

/* The folder on the way swapped for a link to a root-only folder holding a file of the log's name. */
static void
test_folder_swap (void)
{
  Attack a = { 0 };
  g_autofree char *sub = NULL;
  g_autofree char *env = NULL;
  g_autofree char *rootdir = NULL;

  if (!attack_set_up (&a))
    return;
  sub = g_build_filename (a.logs, "sub", NULL);
  g_mkdir (sub, 0755);
  g_assert_cmpint (chown (sub, NOBODY, NOBODY), ==, 0);
  /* the target: a root folder with a root file named like the log */
  rootdir = tend_test_daemon_path (a.d, "rootdir");
  g_mkdir (rootdir, 0700);
  g_free (a.secret);
  a.secret = g_build_filename (rootdir, "app.log", NULL);
  g_file_set_contents (a.secret, SECRET, -1, NULL);
  g_chmod (a.secret, 0600);
  g_free (a.log);
  a.log = g_build_filename (sub, "app.log", NULL);
  env = g_strdup_printf ("ATTACK=folder;SWAP=%s", sub);
  attack_start (&a, env, "");
  assert_refused_and_running (&a, "symbolic link owned by uid 65534");
  assert_secret_intact (&a);
  assert_flush_refused (&a, "symbolic link owned by uid 65534");
  g_assert_cmpint (tend_test_daemon_stop (a.d), ==, 0);
  attack_tear_down (&a);
}

/* A hard link to a root file where the log goes (possible where fs.protected_hardlinks=0). */
static void
test_hard_link (void)
{
  Attack a = { 0 };

  if (!attack_set_up (&a))
    return;
  g_assert_cmpint (link (a.secret, a.log), ==, 0);
  /* no first run: the file is refused from the start */
  g_file_set_contents (a.mark, "", 0, NULL);
  attack_start (&a, "ATTACK=none", "");
  g_assert_true (tend_test_wait_lines (a.record, 1, 20000));
  g_assert_true (tend_test_wait (output_went_somewhere, &a, 20000));
  assert_secret_intact (&a);
  {
    Wait w = { &a, "hard links" };
    g_assert_true (tend_test_wait (log_error_has, &w, 20000));
  }
  assert_secret_intact (&a);
  assert_flush_refused (&a, "hard links");
  g_assert_cmpint (tend_test_daemon_stop (a.d), ==, 0);
  attack_tear_down (&a);
}

static gboolean
rotated_enough (gpointer data)
{
  Attack *a = data;
  g_autoptr(GDir) dir = g_dir_open (a->logs, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += g_str_has_prefix (name, "app__") && g_str_has_suffix (name, ".log.gz") &&
         !g_str_has_prefix (name, "app__2000");
  return n >= 2;
}

/* Whether no file in the folder is, or holds, the root file: no rotated link, no .gz of its contents. */
static gboolean
folder_clean (Attack *a, char **out_why)
{
  g_autoptr(GDir) dir = g_dir_open (a->logs, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (a->logs, name, NULL);
    g_autofree char *contents = NULL;
    struct stat st;

    if (lstat (path, &st) < 0)
      continue; /* deleted meanwhile (retain) */
    if (g_str_has_suffix (name, ".gz") && S_ISREG (st.st_mode)) {
      const char *argv[] = { "zcat", path, NULL };
      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &contents,
                    NULL, NULL, NULL);
      if (contents != NULL && strstr (contents, "root only") != NULL) {
        *out_why = g_strdup_printf ("%s holds the root file", path);
        return FALSE;
      }
    } else if (S_ISLNK (st.st_mode) && !g_str_equal (name, "app.log") &&
               !g_str_equal (name, "app__2000-01-01_00-00-00.log")) {
      /* only the links the attacker made, where they made them: none renamed into a rotated name */
      *out_why = g_strdup_printf ("%s is a link: tendd renamed the attacker's link", path);
      return FALSE;
    }
  }
  return TRUE;
}

static void
assert_folder_clean (Attack *a)
{
  g_autofree char *why = NULL;

  if (!folder_clean (a, &why))
    g_error ("%s", why);
}

/* The log was swapped for the link, and since then output was dropped, or it reached the root file. */
static gboolean
swapped_and_written (gpointer data)
{
  Attack *a = data;
  g_autofree char *why = NULL;
  g_autofree char *swapped = g_strconcat (a->mark, ".swapped", NULL);

  if (!g_file_test (swapped, G_FILE_TEST_EXISTS))
    return FALSE;
  return !secret_intact (a) || !folder_clean (a, &why) || dropped_bytes (a) > 0;
}

static gboolean
link_gone (gpointer data)
{
  struct stat st;
  return lstat (data, &st) < 0;
}

/*
 * Rotation and compression: a link to the root file left as an old rotated
 * file (compression and retain must not read or delete the target), and the
 * current log swapped for a link while the service writes (the rotation must
 * not rename it into a rotated name that compression would then read).
 */
static void
test_rotation (void)
{
  Attack a = { 0 };
  g_autofree char *old = NULL;
  g_autofree char *old_gz = NULL;
  struct stat st;

  if (!attack_set_up (&a))
    return;
  old = g_build_filename (a.logs, "app__2000-01-01_00-00-00.log", NULL);
  old_gz = g_strconcat (old, ".gz", NULL);
  g_assert_cmpint (symlink (a.secret, old), ==, 0);
  g_assert_cmpint (lchown (old, NOBODY, NOBODY), ==, 0);
  g_file_set_contents (a.mark, "", 0, NULL);
  attack_start (&a, "ATTACK=none;ATTACK_LATER=symlink;AFTER=300;PAD=0000000000000000000000000000000000000000",
                "[plugin:logrotate]\nenabled=true\nmax-size=2K\ncompress=true\nretain=1000\n");
  /* rotations and compressions go on while the service writes, then it swaps its log for the link */
  g_assert_true (tend_test_wait (rotated_enough, &a, 30000));
  g_assert_true (tend_test_wait (swapped_and_written, &a, 30000));
  assert_secret_intact (&a);
  assert_folder_clean (&a);
  {
    Wait w = { &a, "symbolic link" };
    g_assert_true (tend_test_wait (log_error_has, &w, 30000));
  }
  /* the old link was not compressed (that would read the root file): refused */
  {
    g_autofree char *needle = g_strdup_printf ("refusing the log file %s: it is a symbolic link", old);
    Wait w = { &a, needle };
    g_assert_true (tend_test_wait (daemon_log_has, &w, 10000));
  }
  g_assert_false (g_file_test (old_gz, G_FILE_TEST_EXISTS));
  assert_secret_intact (&a);
  assert_folder_clean (&a);
  g_assert_cmpint (tend_test_daemon_stop (a.d), ==, 0);

  /* retain deletes the old link, never what it points to */
  g_assert_cmpint (lstat (old, &st), ==, 0);
  {
    g_autofree char *conf = g_strdup_printf ("[plugin:logrotate]\nenabled=true\nmax-size=2K\ncompress=false\nretain=1\n"
                                             "\n[service:app]\nexec=@HELPERS@/ticker.sh\nout-file=%s\n"
                                             "env=RECORD=%s/record2;PAD=%040d\n",
                                             a.log, a.d->dir, 0);
    g_unlink (a.log);
    tend_test_daemon_write_config (a.d, conf);
    tend_test_daemon_start (a.d);
  }
  g_assert_true (tend_test_wait (link_gone, old, 30000));
  assert_secret_intact (&a);
  g_assert_cmpint (tend_test_daemon_stop (a.d), ==, 0);
  attack_tear_down (&a);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log-safety/symlink", test_symlink);
  g_test_add_func ("/log-safety/fifo", test_fifo);
  g_test_add_func ("/log-safety/folder-swap", test_folder_swap);
  g_test_add_func ("/log-safety/hard-link", test_hard_link);
  g_test_add_func ("/log-safety/rotation", test_rotation);
  return g_test_run ();
}
