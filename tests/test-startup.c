/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boot: `tend startup` and `tend unstartup` with real files in a temporary
 * folder (TEND_SYSTEMD_DIR, TEND_ETC_DIR; a recording systemctl where systemd
 * is said to run), the generated and the shipped unit through
 * `systemd-analyze verify`, the client's look-up of the system daemon through
 * /etc/tend/home, and a service's oom_score_adj under a tendd whose own is
 * lowered as the unit lowers it.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define WAIT_MS 20000

static char *
tend_program (void)
{
  return g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
}

static char *
tendd_program (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "daemon", "tendd", NULL);
  return g_canonicalize_filename (path, NULL);
}

static char *
read_file (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&contents);
}

static void
write_file (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/* The folders tend startup writes to, all below the test's folder. */
typedef struct {
  TendTestDaemon *d;
  char *unit_dir;
  char *etc_dir;
  char *systemctl; /* a script that appends its arguments to systemctl_log */
  char *systemctl_log;
  char *nvm_bin; /* stands for the folder nvm put node in */
} Boot;

static Boot *
boot_new (TendTestDaemon *d)
{
  Boot *b = g_new0 (Boot, 1);

  b->d = d;
  b->unit_dir = tend_test_daemon_path (d, "systemd");
  b->etc_dir = tend_test_daemon_path (d, "etc-tend");
  b->systemctl = tend_test_daemon_path (d, "systemctl");
  b->systemctl_log = tend_test_daemon_path (d, "systemctl.log");
  b->nvm_bin = tend_test_daemon_path (d, "nvm/versions/node/v20.11.0/bin");
  g_assert_cmpint (g_mkdir (b->unit_dir, 0755), ==, 0);
  {
    g_autofree char *text = g_strdup_printf ("#!/bin/sh\necho \"$*\" >> '%s'\n", b->systemctl_log);
    write_file (b->systemctl, text);
    g_assert_cmpint (g_chmod (b->systemctl, 0755), ==, 0);
  }
  return b;
}

static void
boot_free (Boot *b)
{
  g_free (b->unit_dir);
  g_free (b->etc_dir);
  g_free (b->systemctl);
  g_free (b->systemctl_log);
  g_free (b->nvm_bin);
  g_free (b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Boot, boot_free)

/*
 * Runs tend ARGS with the test folders; @systemd: whether systemd is said to
 * run (then through the recording systemctl). Never the machine's own systemd.
 */
static int
run_boot (Boot *b, gboolean systemd, char **out, char **err, const char *const *args)
{
  g_autoptr (GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GStrvBuilder) argv = g_strv_builder_new ();
  g_autofree char *tend = tend_program ();
  g_autofree char *runtime = tend_test_daemon_path (b->d, "no-run-systemd-system");
  g_auto (GStrv) argvv = NULL;

  g_ptr_array_add (env, g_strconcat ("TEND_SYSTEMD_DIR=", b->unit_dir, NULL));
  g_ptr_array_add (env, g_strconcat ("TEND_ETC_DIR=", b->etc_dir, NULL));
  g_ptr_array_add (env, g_strconcat ("TEND_SYSTEMD_RUNTIME_DIR=", runtime, NULL));
  /* the invoking shell's PATH: nvm's folder first, and a relative entry that has no place in a unit */
  g_ptr_array_add (env, g_strconcat ("PATH=", b->nvm_bin, ":.:/usr/bin:/bin", NULL));
  if (systemd)
    g_ptr_array_add (env, g_strconcat ("TEND_SYSTEMCTL=", b->systemctl, NULL));
  g_ptr_array_add (env, NULL);
  g_strv_builder_add (argv, tend);
  g_strv_builder_addv (argv, (const char **) args);
  argvv = g_strv_builder_end (argv);
  return tend_test_run_program (b->d, (const char *const *) env->pdata, (const char *const *) argvv, out, err);
}

static char *
unit_path (Boot *b, const char *name)
{
  return g_build_filename (b->unit_dir, name, NULL);
}

static gboolean
line_present (const char *text, const char *line)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  return g_strv_contains ((const char *const *) lines, line);
}

static void
test_help (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (Boot) b = boot_new (d);
  g_autofree char *out = NULL;
  const char *startup[] = { "startup", "--help", NULL };
  const char *unstartup[] = { "help", "unstartup", NULL };

  g_assert_cmpint (run_boot (b, TRUE, &out, NULL, startup), ==, 0);
  g_assert_nonnull (strstr (out, "tend startup"));
  g_assert_nonnull (strstr (out, "--user"));
  g_assert_nonnull (strstr (out, "--config"));
  g_assert_nonnull (strstr (out, "--print"));
  g_assert_cmpint (run_boot (b, TRUE, &out, NULL, unstartup), ==, 0);
  g_assert_nonnull (strstr (out, "tend unstartup"));
  g_assert_nonnull (strstr (out, "--user"));
  /* --help touched nothing */
  g_assert_false (g_file_test (b->systemctl_log, G_FILE_TEST_EXISTS));
}

/* --print: the unit on stdout, for that user, home and configuration, and nothing written */
static void
test_print (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (Boot) b = boot_new (d);
  g_autofree char *out = NULL;
  g_autofree char *tendd = tendd_program ();
  g_autofree char *exec_start = NULL;
  g_autofree char *path_line = NULL;
  g_autofree char *home_file = g_build_filename (b->etc_dir, "home", NULL);
  g_autoptr (GDir) dir = NULL;
  const char *args[] = { "--home", d->home, "startup", "--user", "nobody", "--config", d->config, "--print", NULL };
  const char *root_args[] = { "--home", d->home, "startup", "--user", "root", "--print", NULL };

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n");
  g_assert_cmpint (run_boot (b, TRUE, &out, NULL, args), ==, 0);
  exec_start = g_strdup_printf ("ExecStart=%s --foreground --home %s --config %s", tendd, d->home, d->config);
  path_line = g_strdup_printf ("Environment=\"PATH=%s:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin\"",
                               b->nvm_bin);
  g_assert_true (line_present (out, "[Service]"));
  g_assert_true (line_present (out, "Type=notify"));
  g_assert_true (line_present (out, "User=nobody"));
  g_assert_true (line_present (out, exec_start));
  g_assert_true (line_present (out, path_line));
  g_assert_true (line_present (out, "OOMScoreAdjust=-900"));
  g_assert_true (line_present (out, "LimitNOFILE=65536"));
  g_assert_true (line_present (out, "Restart=on-failure"));
  g_assert_true (line_present (out, "RestartSec=1"));
  g_assert_true (line_present (out, "KillMode=mixed"));
  g_assert_true (line_present (out, "WantedBy=multi-user.target"));
  /* printed only */
  dir = g_dir_open (b->unit_dir, 0, NULL);
  g_assert_null (g_dir_read_name (dir));
  g_assert_false (g_file_test (home_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (b->systemctl_log, G_FILE_TEST_EXISTS));

  /* root: no User=, and no --config when none is given (tendd reads HOME/tend.conf) */
  g_clear_pointer (&exec_start, g_free);
  exec_start = g_strdup_printf ("ExecStart=%s --foreground --home %s", tendd, d->home);
  g_assert_cmpint (run_boot (b, TRUE, &out, NULL, root_args), ==, 0);
  g_assert_null (strstr (out, "User="));
  g_assert_true (line_present (out, exec_start));
}

/* Installed where systemd runs: the unit, /etc/tend/home, daemon-reload and enable --now; unstartup undoes it all */
static void
test_install_remove (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (Boot) b = boot_new (d);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *unit = unit_path (b, "tend-nobody.service");
  g_autofree char *packaged = unit_path (b, "tendd.service");
  g_autofree char *home_file = g_build_filename (b->etc_dir, "home", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *log = NULL;
  g_autofree char *home_line = NULL;
  const char *print[] = { "--home", d->home, "startup", "--user", "nobody", "--print", NULL };
  const char *install[] = { "--home", d->home, "startup", "--user", "nobody", NULL };
  const char *remove[] = { "unstartup", "--user", "nobody", NULL };
  const char *packaged_text = "[Unit]\nDescription=the package's own\n[Service]\nExecStart=/bin/true\n";

  /* a packaged unit in the same folder: never replaced, never removed */
  write_file (packaged, packaged_text);
  g_assert_cmpint (run_boot (b, TRUE, &printed, NULL, print), ==, 0);
  g_assert_cmpint (run_boot (b, TRUE, &out, &err, install), ==, 0);
  contents = read_file (unit);
  g_assert_cmpstr (contents, ==, printed);
  g_clear_pointer (&contents, g_free);
  contents = read_file (home_file);
  home_line = g_strconcat (d->home, "\n", NULL);
  g_assert_cmpstr (contents, ==, home_line);
  log = read_file (b->systemctl_log);
  g_assert_cmpstr (log, ==, "daemon-reload\nenable --now tend-nobody.service\n");
  g_assert_true (g_file_test (d->home, G_FILE_TEST_IS_DIR));
  g_assert_nonnull (strstr (err, "tendd.service"));
  g_clear_pointer (&contents, g_free);
  contents = read_file (packaged);
  g_assert_cmpstr (contents, ==, packaged_text);

  g_assert_cmpint (run_boot (b, TRUE, &out, &err, remove), ==, 0);
  g_assert_false (g_file_test (unit, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (home_file, G_FILE_TEST_EXISTS));
  g_clear_pointer (&log, g_free);
  log = read_file (b->systemctl_log);
  g_assert_cmpstr (
      log, ==, "daemon-reload\nenable --now tend-nobody.service\ndisable --now tend-nobody.service\ndaemon-reload\n");
  g_clear_pointer (&contents, g_free);
  contents = read_file (packaged);
  g_assert_cmpstr (contents, ==, packaged_text);

  /* nothing left to remove: said, status 1 */
  g_assert_cmpint (run_boot (b, TRUE, &out, &err, remove), ==, 1);
  g_assert_nonnull (strstr (err, "nothing to remove"));
}

/* Where systemd does not run: the unit is written, and tend says exactly what to run; nothing is run */
static void
test_no_systemd (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (Boot) b = boot_new (d);
  g_autofree char *out = NULL;
  g_autofree char *unit = unit_path (b, "tend-nobody.service");
  g_autofree char *wants_dir = unit_path (b, "multi-user.target.wants");
  g_autofree char *wants = g_build_filename (wants_dir, "tend-nobody.service", NULL);
  const char *install[] = { "--home", d->home, "startup", "--user", "nobody", NULL };
  const char *remove[] = { "unstartup", "--user", "nobody", NULL };

  g_assert_cmpint (run_boot (b, FALSE, &out, NULL, install), ==, 0);
  g_assert_true (g_file_test (unit, G_FILE_TEST_IS_REGULAR));
  g_assert_nonnull (strstr (out, "systemd is not running here"));
  g_assert_true (line_present (out, "  systemctl daemon-reload"));
  g_assert_true (line_present (out, "  systemctl enable --now tend-nobody.service"));
  g_assert_false (g_file_test (b->systemctl_log, G_FILE_TEST_EXISTS));

  /* what `systemctl enable` would have made goes with the unit: no dangling link */
  g_assert_cmpint (g_mkdir (wants_dir, 0755), ==, 0);
  g_assert_cmpint (symlink ("../tend-nobody.service", wants), ==, 0);
  g_assert_cmpint (run_boot (b, FALSE, &out, NULL, remove), ==, 0);
  g_assert_false (g_file_test (unit, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (wants, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_false (g_file_test (b->systemctl_log, G_FILE_TEST_EXISTS));
}

/* A tend-USER.service tend startup did not write is neither replaced nor removed */
static void
test_foreign_unit (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (Boot) b = boot_new (d);
  g_autofree char *err = NULL;
  g_autofree char *unit = unit_path (b, "tend-nobody.service");
  g_autofree char *contents = NULL;
  const char *install[] = { "--home", d->home, "startup", "--user", "nobody", NULL };
  const char *remove[] = { "unstartup", "--user", "nobody", NULL };
  const char *text = "[Service]\nExecStart=/bin/true\n";

  write_file (unit, text);
  g_assert_cmpint (run_boot (b, TRUE, NULL, &err, install), ==, 1);
  g_assert_nonnull (strstr (err, "not written by tend startup"));
  g_assert_cmpint (run_boot (b, TRUE, NULL, &err, remove), ==, 1);
  g_assert_nonnull (strstr (err, "not written by tend startup"));
  contents = read_file (unit);
  g_assert_cmpstr (contents, ==, text);
  g_assert_false (g_file_test (b->systemctl_log, G_FILE_TEST_EXISTS));
}

/* Without the right to write the unit folder: nothing done, and the exact command to run as root */
static void
test_not_root (void)
{
  g_autoptr (TendTestDaemon) d = NULL;
  g_autofree char *tend = tend_program ();
  g_autofree char *err = NULL;
  const char *argv[] = { tend, "startup", NULL };

  if (geteuid () != 0) {
    g_test_skip ("needs root to run tend as nobody");
    return;
  }
  d = tend_test_daemon_new ();
  /* nobody's environment is the fixture's small fixed one: /etc/systemd/system, which nobody may not write */
  g_assert_cmpint (tend_test_run_as_nobody (d, argv, 0, NULL, &err, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "as root, run:"));
  g_assert_nonnull (strstr (err, "sudo env 'PATH=/usr/local/bin:/usr/bin:/bin' "));
  g_assert_nonnull (strstr (err, " startup --user 'nobody' --home '/nonexistent/.tend'"));
}

/*
 * systemd-analyze verify says nothing about the unit (it exits 0 even for an
 * unknown key or a bad value: what it prints is what counts). One warning is
 * allowed: User=nobody is "not safe", which is the point of nobody.
 */
static gboolean
unit_verifies (TendTestDaemon *d, const char *path, char **out_report)
{
  g_autofree char *analyze = g_find_program_in_path ("systemd-analyze");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr (GString) report = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  const char *argv[] = { NULL, "verify", path, NULL };
  int status;

  g_assert_nonnull (analyze); /* package systemd, which tools/install-deps.sh installs */
  argv[0] = analyze;
  status = tend_test_run_program (d, NULL, argv, &out, &err);
  lines = g_strsplit (err, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (strstr (lines[i], base) != NULL && strstr (lines[i], "Special user nobody configured") == NULL)
      g_string_append_printf (report, "%s\n", lines[i]);
  }
  g_string_append (report, out);
  g_free (*out_report);
  *out_report = g_strdup_printf ("status %d: %s", status, report->str);
  return status == 0 && report->len == 0;
}

static void
test_verify (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (Boot) b = boot_new (d);
  g_autofree char *out = NULL;
  g_autofree char *report = NULL;
  g_autofree char *generated = tend_test_daemon_path (d, "tend-nobody.service");
  g_autofree char *generated_root = tend_test_daemon_path (d, "tend-root.service");
  g_autofree char *broken = tend_test_daemon_path (d, "tend-broken.service");
  g_autofree char *shipped_copy = tend_test_daemon_path (d, "tendd.service");
  const char *shipped = g_getenv ("TEND_TEST_SHIPPED_UNIT");
  g_autofree char *shipped_text = NULL;
  g_autofree char *tendd = tendd_program ();
  g_autoptr (GString) text = NULL;
  const char *args[] = { "--home", d->home, "startup", "--user", "nobody", "--config", d->config, "--print", NULL };
  const char *root_args[] = { "--home", d->home, "startup", "--user", "root", "--print", NULL };

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n");
  g_assert_cmpint (run_boot (b, TRUE, &out, NULL, args), ==, 0);
  write_file (generated, out);
  g_assert_true (unit_verifies (d, generated, &report));
  g_assert_cmpint (run_boot (b, TRUE, &out, NULL, root_args), ==, 0);
  write_file (generated_root, out);
  if (!unit_verifies (d, generated_root, &report))
    g_error ("%s", report);

  /* the check can fail: a bad value is reported (and would have passed on the exit status alone) */
  text = g_string_new (out);
  g_string_replace (text, "Type=notify", "Type=notifyy", 1);
  write_file (broken, text->str);
  g_assert_false (unit_verifies (d, broken, &report));
  g_assert_nonnull (strstr (report, "notifyy"));

  /* the shipped unit, its tendd in the build tree (verify wants ExecStart's program to exist) */
  if (shipped == NULL) {
    g_test_skip ("built with -Dsystemd_unit=false: no shipped unit to verify");
    return;
  }
  shipped_text = read_file (shipped);
  g_assert_nonnull (strstr (shipped_text, "Type=notify\n"));
  g_assert_nonnull (strstr (shipped_text, " --foreground --home " TEND_SYSTEM_HOME "\n"));
  g_assert_nonnull (strstr (shipped_text, "\nOOMScoreAdjust=-900\n"));
  g_string_assign (text, shipped_text);
  g_string_replace (text, TEND_SBINDIR "/tendd", tendd, 0);
  write_file (shipped_copy, text->str);
  if (!unit_verifies (d, shipped_copy, &report))
    g_error ("%s", report);
}

static gboolean
file_missing (gpointer data)
{
  return !g_file_test (data, G_FILE_TEST_EXISTS);
}

/*
 * With no TEND_HOME and no daemon in ~/.tend, tend talks to the daemon of the
 * home /etc/tend/home names, and never starts a second one beside it.
 */
static void
test_lookup (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr (TendTestDaemon) mine = tend_test_daemon_new ();
  g_autofree char *tend = tend_program ();
  g_autofree char *user = tend_test_daemon_path (d, "user");
  g_autofree char *user_tend = g_build_filename (user, ".tend", NULL);
  g_autofree char *etc = tend_test_daemon_path (d, "etc-tend");
  g_autofree char *home_file = g_build_filename (etc, "home", NULL);
  g_autofree char *home_text = g_strconcat (d->home, "\n", NULL);
  g_autofree char *env_home = g_strconcat ("HOME=", user, NULL);
  g_autofree char *env_etc = g_strconcat ("TEND_ETC_DIR=", etc, NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *socket = g_build_filename (d->home, "tendd.sock", NULL);
  const char *env[] = { env_home, env_etc, NULL };
  const char *status_argv[] = { tend, "status", "--json", NULL };

  g_assert_cmpint (g_mkdir (user, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (etc, 0755), ==, 0);
  write_file (home_file, home_text);
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:system-svc]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);

  g_assert_cmpint (tend_test_run_program (d, env, status_argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\"system-svc\""));
  g_assert_null (strstr (err, "started tendd"));
  g_assert_false (g_file_test (user_tend, G_FILE_TEST_EXISTS));

  /* a daemon of one's own in ~/.tend comes first */
  tend_test_daemon_write_config (mine, "[tend]\ndbus=none\n\n[service:my-svc]\nexec=sleep 1000\n");
  tend_test_daemon_start (mine);
  g_assert_cmpint (symlink (mine->home, user_tend), ==, 0);
  g_assert_cmpint (tend_test_run_program (d, env, status_argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\"my-svc\""));
  g_assert_null (strstr (out, "\"system-svc\""));
  /* ... while it runs: once it is gone, the system daemon again */
  g_assert_cmpint (tend_test_daemon_stop (mine), ==, 0);
  g_assert_cmpint (tend_test_run_program (d, env, status_argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\"system-svc\""));
  g_assert_null (strstr (err, "started tendd"));
  g_assert_cmpint (g_unlink (user_tend), ==, 0);

  /* the system daemon dies (its socket stays): no second daemon is started in ~/.tend */
  g_assert_cmpint (kill (d->pid, SIGKILL), ==, 0);
  g_assert_true (tend_test_daemon_wait_exit (d, WAIT_MS));
  g_assert_true (g_file_test (socket, G_FILE_TEST_EXISTS));
  g_assert_cmpint (tend_test_run_program (d, env, status_argv, &out, &err), ==, 3);
  g_assert_nonnull (strstr (err, "not starting a second one"));
  g_assert_false (g_file_test (user_tend, G_FILE_TEST_EXISTS));

  /* and with no system home named at all, ~/.tend as before (its daemon autostarted) */
  g_assert_cmpint (g_unlink (home_file), ==, 0);
  {
    const char *kill_argv[] = { tend, "kill", NULL };
    g_autofree char *user_socket = g_build_filename (user_tend, "tendd.sock", NULL);

    g_autofree char *pidfile = g_build_filename (user_tend, "tendd.pid", NULL);
    g_autofree char *pid_text = NULL;

    g_assert_cmpint (tend_test_run_program (d, env, status_argv, &out, &err), ==, 0);
    g_assert_nonnull (strstr (err, "started tendd"));
    g_assert_true (g_file_test (user_socket, G_FILE_TEST_EXISTS));
    /* ended by tend kill below, or by the fixture if the test fails before */
    pid_text = read_file (pidfile);
    tend_test_track_pid ((pid_t) g_ascii_strtoll (pid_text, NULL, 10));
    g_assert_cmpint (tend_test_run_program (d, env, kill_argv, &out, &err), ==, 0);
    g_assert_true (tend_test_wait (file_missing, user_socket, WAIT_MS));
    tend_test_untrack_pid ((pid_t) g_ascii_strtoll (pid_text, NULL, 10));
  }
}

static int
service_pid (TendTestDaemon *d, const char *name)
{
  g_autofree char *out = NULL;
  g_autoptr (JsonNode) node = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", name, "--json", NULL), ==, 0);
  node = json_from_string (out, NULL);
  g_assert_nonnull (node);
  return (int) json_object_get_int_member (json_node_get_object (node), "pid");
}

static char *
oom_score_adj (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/oom_score_adj", pid);
  g_autofree char *text = read_file (path);

  return g_strdup (g_strstrip (text));
}

static gboolean
set_oom_score_adj (int pid, const char *value)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/oom_score_adj", pid);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gboolean ok;

  g_assert_cmpint (fd, >=, 0);
  ok = write (fd, value, strlen (value)) == (ssize_t) strlen (value);
  close (fd);
  return ok;
}

/*
 * The unit lowers tendd's oom_score_adj; its services, whoever they run as,
 * start at 0. Lowering needs CAP_SYS_RESOURCE, which some containers do not
 * give root: there tendd's is raised instead, which any owner may do, and a
 * service must come back to 0 all the same.
 */
static void
test_oom_score_adj (void)
{
  g_autoptr (TendTestDaemon) d = NULL;
  g_autofree char *value = NULL;
  const char *daemon_value = "-900";

  if (geteuid () != 0) {
    g_test_skip ("starts a service as nobody: needs root");
    return;
  }
  d = tend_test_daemon_new ();
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n");
  tend_test_daemon_start (d);
  if (!set_oom_score_adj (d->pid, daemon_value)) {
    g_test_message ("cannot lower oom_score_adj here (no CAP_SYS_RESOURCE): raising tendd's instead");
    daemon_value = "500";
    g_assert_true (set_oom_score_adj (d->pid, daemon_value));
  }

  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "as-root", "--", "sleep", "1000", NULL), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "as-nobody", "--user", "nobody", "--", "sleep",
                                      "1000", NULL),
                   ==, 0);
  value = oom_score_adj (d->pid);
  g_assert_cmpstr (value, ==, daemon_value);
  g_clear_pointer (&value, g_free);
  value = oom_score_adj (service_pid (d, "as-root"));
  g_assert_cmpstr (value, ==, "0");
  g_clear_pointer (&value, g_free);
  value = oom_score_adj (service_pid (d, "as-nobody"));
  g_assert_cmpstr (value, ==, "0");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/startup/help", test_help);
  g_test_add_func ("/startup/print", test_print);
  g_test_add_func ("/startup/install-remove", test_install_remove);
  g_test_add_func ("/startup/no-systemd", test_no_systemd);
  g_test_add_func ("/startup/foreign-unit", test_foreign_unit);
  g_test_add_func ("/startup/not-root", test_not_root);
  g_test_add_func ("/startup/verify", test_verify);
  g_test_add_func ("/startup/lookup", test_lookup);
  g_test_add_func ("/startup/oom-score-adj", test_oom_score_adj);
  return g_test_run ();
}
