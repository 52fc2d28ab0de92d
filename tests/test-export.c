/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend export --nohup: the rollback script, run as the operator would run
 * it. Tend must be gone afterwards and every service that was running must
 * run again under nohup, with its command, folder, environment and logs.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define WAIT_MS 20000

static const char config[] =
  "[service:app]\n"
  "exec=@HELPERS@/show-env.sh one \"two words\"\n"
  "cwd=@DIR@/appdir\n"
  "env=FOO=bar baz;PORT=9000;OUT_DIR=@DIR@/out\n"
  "env-file=@DIR@/app.env\n"
  "instances=2\n"
  "increment-var=PORT\n"
  "\n"
  "[service:shelled]\n"
  "exec=echo \"shell says $GREETING\"; exec sleep 100000\n"
  "shell=true\n"
  "env=GREETING=hi there\n"
  "\n"
  "[service:off]\n"
  "exec=sleep 100000\n"
  "start=false\n";

static gboolean
file_exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* "NAME: pid N" lines of the script's output */
static GHashTable *
started_pids (const char *out)
{
  GHashTable *pids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    const char *mark = strstr (lines[i], ": pid ");
    if (mark != NULL)
      g_hash_table_insert (pids, g_strndup (lines[i], (gsize) (mark - lines[i])),
                           GINT_TO_POINTER (atoi (mark + strlen (": pid "))));
  }
  return pids;
}

static gboolean
ignores_sighup (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents (path, &status, NULL, NULL) || (line = strstr (status, "\nSigIgn:\t")) == NULL)
    return FALSE;
  /* signal 1 is the mask's lowest bit */
  return (g_ascii_strtoull (line + strlen ("\nSigIgn:\t"), NULL, 16) & 1) != 0;
}

static void
assert_env_file (const char *path, const char *const *expected)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  for (guint i = 0; expected[i] != NULL; i++) {
    if (strstr (text, expected[i]) == NULL)
      g_error ("%s lacks “%s”:\n%s", path, expected[i], text);
  }
}

static void
test_nohup_rollback (void)
{
  TendTestDaemon *d = tend_test_daemon_new ();
  g_autofree char *appdir = tend_test_daemon_path (d, "appdir");
  g_autofree char *outdir = tend_test_daemon_path (d, "out");
  g_autofree char *env_file = tend_test_daemon_path (d, "app.env");
  g_autofree char *env0 = g_build_filename (outdir, "env-0", NULL);
  g_autofree char *env1 = g_build_filename (outdir, "env-1", NULL);
  g_autofree char *script = tend_test_daemon_path (d, "rollback.sh");
  g_autofree char *shelled_log = g_build_filename (d->home, "logs", "shelled-out.log", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *home_env = g_strdup_printf ("TEND_HOME=%s", d->home);
  g_autofree char *log_text = NULL;
  g_autoptr(GHashTable) pids = NULL;
  const char *const env[] = { home_env, NULL };
  const char *const argv[] = { "sh", script, NULL };
  struct stat st;
  GHashTableIter iter;
  gpointer key, value;

  g_mkdir (appdir, 0755);
  g_mkdir (outdir, 0755);
  g_file_set_contents (env_file, "# the app's secrets\nFROM_FILE=from the file\n", -1, NULL);
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (file_exists, env0, WAIT_MS));
  g_assert_true (tend_test_wait (file_exists, env1, WAIT_MS));
  g_assert_true (tend_test_wait_lines (shelled_log, 1, WAIT_MS));

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "export", "--nohup", "-o", script, NULL), ==, 0);
  g_assert_nonnull (strstr (out, script));
  g_assert_cmpint (g_stat (script, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0755);
  /* what Tend's run wrote must not pass for what the rollback's run writes */
  g_unlink (env0);
  g_unlink (env1);

  g_assert_cmpint (tend_test_run_program (d, env, argv, &out, &err), ==, 0);
  pids = started_pids (out);
  g_hash_table_iter_init (&iter, pids);
  while (g_hash_table_iter_next (&iter, &key, &value))
    tend_test_track_pid (GPOINTER_TO_INT (value));

  /* Tend is gone */
  g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
  g_assert_cmpint (tend_test_daemon_read_pidfile (d), ==, 0);

  /* every service that ran, and only those, under nohup */
  g_assert_cmpuint (g_hash_table_size (pids), ==, 3);
  g_assert_false (g_hash_table_contains (pids, "off"));
  g_assert_nonnull (strstr (out, "off")); /* named as not started */
  g_assert_true (g_hash_table_contains (pids, "app-0"));
  g_assert_true (g_hash_table_contains (pids, "app-1"));
  g_assert_true (g_hash_table_contains (pids, "shelled"));

  /* the command, folder and environment each instance had under Tend (written once it runs) */
  g_assert_true (tend_test_wait (file_exists, env0, WAIT_MS));
  g_assert_true (tend_test_wait (file_exists, env1, WAIT_MS));
  {
    g_autofree char *pwd = g_strdup_printf ("pwd=%s\n", appdir);
    const char *const want0[] = { pwd, "TEND_INSTANCE=0\n", "PORT=9000\n", "FOO=bar baz\n",
                                  "FROM_FILE=from the file\n", "args=one two words\n", NULL };
    const char *const want1[] = { pwd, "TEND_INSTANCE=1\n", "NODE_APP_INSTANCE=1\n", "PORT=9001\n", NULL };
    assert_env_file (env0, want0);
    assert_env_file (env1, want1);
  }
  /* the output goes on into the same log, appended */
  g_assert_true (tend_test_wait_lines (shelled_log, 2, WAIT_MS));
  g_assert_true (g_file_get_contents (shelled_log, &log_text, NULL, NULL));
  g_assert_cmpstr (log_text, ==, "shell says hi there\nshell says hi there\n");
  /* each printed pid is its service's: by now each has run its program, past the exec of nohup */
  g_hash_table_iter_init (&iter, pids);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    pid_t pid = GPOINTER_TO_INT (value);
    g_assert_cmpint (pid, >, 0);
    g_assert_true (tend_test_pid_alive (pid));
    if (!ignores_sighup (pid))
      g_error ("%s (pid %d) does not ignore SIGHUP: not under nohup", (const char *) key, pid);
  }

  g_hash_table_iter_init (&iter, pids);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    kill (GPOINTER_TO_INT (value), SIGKILL);
    g_assert_true (tend_test_wait_pid_gone (GPOINTER_TO_INT (value), WAIT_MS));
    tend_test_untrack_pid (GPOINTER_TO_INT (value));
  }
  tend_test_daemon_free (d);
}

/* No form, or a daemon that is not there: usage error and exit 3, nothing written. */
static void
test_errors (void)
{
  TendTestDaemon *d = tend_test_daemon_new ();
  g_autofree char *script = tend_test_daemon_path (d, "rollback.sh");
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;

  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "export", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--nohup"));
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "export", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--output"));
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "export", "--nohup", "-o", script, NULL), ==, 3);
  g_assert_false (g_file_test (script, G_FILE_TEST_EXISTS));
  tend_test_daemon_free (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tend/export/nohup-rollback", test_nohup_rollback);
  g_test_add_func ("/tend/export/errors", test_errors);
  return g_test_run ();
}
