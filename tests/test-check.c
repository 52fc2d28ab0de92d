/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tendd --version, tendd --check-config and tend check: the self-check an upgrade relies on. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tend-test-daemon.h"

/* A file that uses what only the plugins know: the http plugin's group keys and a health service key. */
#define GOOD_CONFIG                                                                                               \
  "[plugin:http]\nenabled=true\nlisten=127.0.0.1:0\n\n"                                                          \
  "[plugin:health]\nenabled=true\n\n"                                                                             \
  "[service:web]\nexec=sleep 1000\nhealth-check=tcp://127.0.0.1:1\nmin-uptime=1s\n"

static char *
tendd_path (void)
{
  return g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "daemon", "tendd", NULL);
}

static char *
write_file (TendTestDaemon *d, const char *name, const char *text)
{
  char *path = tend_test_daemon_path (d, name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

static guint
count_lines_with (const char *text, const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], prefix);
  return n;
}

static void
test_tendd_version (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tendd = tendd_path ();
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf ("tendd %s\n", TEND_VERSION);
  const char *argv[] = { tendd, "--version", NULL };

  g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_check_config_good (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tendd = tendd_path ();
  g_autofree char *file = write_file (d, "good.conf", GOOD_CONFIG);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { tendd, "--check-config", "--home", d->home, "--config", file, NULL };

  g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "good.conf: configuration is valid"));
  /* it started nothing and touched no home: no folder, so no socket, pidfile or token */
  g_assert_false (g_file_test (d->home, G_FILE_TEST_EXISTS));

  /* the same through the client, which runs the tendd beside it */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", file, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "good.conf: configuration is valid"));
  g_assert_false (g_file_test (d->home, G_FILE_TEST_EXISTS));
}

static void
test_check_config_errors (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tendd = tendd_path ();
  /* two broken groups, and a good one between them */
  g_autofree char *file = write_file (d, "two.conf",
                                      "[service:a]\nexec=sleep 1000\nmin-uptime=10x\n\n"
                                      "[service:ok]\nexec=sleep 1000\n\n"
                                      "[service:b]\nexec=sleep 1000\nautorestart=sometimes\n");
  g_autofree char *line_a = g_strdup_printf ("%s:3: [service:a] min-uptime: not a duration", file);
  g_autofree char *line_b = g_strdup_printf ("%s:10: [service:b] autorestart: not a valid choice", file);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { tendd, "--check-config", "--home", d->home, "--config", file, NULL };

  g_assert_cmpint (tend_test_run_program (d, NULL, argv, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, line_a));
  g_assert_nonnull (strstr (err, line_b));
  g_assert_cmpuint (count_lines_with (err, file), ==, 2);
  g_assert_false (g_file_test (d->home, G_FILE_TEST_EXISTS));

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", file, NULL), ==, 1);
  g_assert_nonnull (strstr (err, line_a));
  g_assert_nonnull (strstr (err, line_b));
  g_assert_cmpuint (count_lines_with (err, file), ==, 2);
}

static void
test_check_plugin_keys (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  /* a key the http plugin does not declare, and a service key no plugin declares */
  g_autofree char *file = write_file (d, "keys.conf",
                                      "[plugin:http]\nenabled=true\nlisten=127.0.0.1:0\nlissen=127.0.0.1:1\n\n"
                                      "[service:web]\nexec=sleep 1000\nhealth-chek=tcp://127.0.0.1:1\n");
  g_autofree char *line_plugin = g_strdup_printf ("%s:4: [plugin:http] lissen: unknown key", file);
  g_autofree char *line_service = g_strdup_printf ("%s:8: [service:web] health-chek: unknown key", file);
  g_autofree char *missing = tend_test_daemon_path (d, "missing.conf");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", file, NULL), ==, 1);
  g_assert_nonnull (strstr (err, line_plugin));
  g_assert_nonnull (strstr (err, line_service));

  /* a file that is not there is an error too, not a valid empty configuration */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", missing, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "missing.conf"));
}

static void
test_check_daemon_config (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;

  /* no daemon and no HOME/tend.conf: a new daemon would start empty, which is valid */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "no configuration file"));

  /* a running daemon started with --config: that file is the one checked */
  tend_test_daemon_write_config (d, GOOD_CONFIG);
  tend_test_daemon_start (d);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", NULL), ==, 0);
  g_assert_nonnull (strstr (out, d->config));
  g_file_set_contents (d->config, "[service:web]\nexec=\n", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", NULL), ==, 1);
  g_assert_nonnull (strstr (err, d->config));
  g_assert_nonnull (strstr (err, "[service:web] exec:"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_check_help (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tend check"));
  g_assert_nonnull (strstr (out, "FILE:LINE"));
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "help", "check", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tend check"));
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "check", "a.conf", "b.conf", NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "check [FILE]"));
}

/* The shipped examples: the demo, and the migration plan's app in Tend's terms (issue 13). */
static void
test_check_examples (void)
{
  static const char *const examples[] = { "demo.conf", "translation-app.conf" };

  for (guint i = 0; i < G_N_ELEMENTS (examples); i++) {
    g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
    g_autofree char *path =
      g_build_filename (g_getenv ("TEND_TEST_SRCDIR"), "..", "data", "examples", examples[i], NULL);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    if (tend_test_run_cli (d, &out, &err, "check", path, NULL) != 0)
      g_error ("tend check %s: %s%s", examples[i], out, err);
    g_assert_nonnull (strstr (out, "configuration is valid"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/check/tendd-version", test_tendd_version);
  g_test_add_func ("/check/good", test_check_config_good);
  g_test_add_func ("/check/every-error", test_check_config_errors);
  g_test_add_func ("/check/plugin-keys", test_check_plugin_keys);
  g_test_add_func ("/check/daemon-config", test_check_daemon_config);
  g_test_add_func ("/check/help", test_check_help);
  g_test_add_func ("/check/examples", test_check_examples);
  return g_test_run ();
}
