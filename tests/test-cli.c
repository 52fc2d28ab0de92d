/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tend, the command-line client, against a real tendd on a real socket. */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-service-schema.h"
#include "tend-test-daemon.h"

#define SLEEPER "[service:%s]\nexec=sleep 1000\n"

/* Runs tend ARGS... --json (exit 0 asserted) and parses its stdout: it must be one JSON document. */
static JsonNode *
cli_json (TendTestDaemon *d, const char *arg, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *node;
  va_list ap;

  va_start (ap, arg);
  for (const char *a = arg; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, (gpointer) "--json");
  g_ptr_array_add (args, NULL);
  g_assert_cmpint (tend_test_run_cli_env (d, NULL, (const char *const *) args->pdata, &out, &err), ==, 0);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static JsonNode *
status_json (TendTestDaemon *d)
{
  JsonNode *node = cli_json (d, "status", NULL);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return node;
}

/* The status --json object of instance @index of @name, or NULL. */
static JsonObject *
find_instance (JsonNode *list, const char *name, gint64 index)
{
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0 &&
        json_object_get_int_member (o, "index") == index)
      return o;
  }
  return NULL;
}

static guint
count_named (JsonNode *list, const char *name)
{
  JsonArray *array = json_node_get_array (list);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (array); i++) {
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (array, i), "name"), name) == 0)
      n++;
  }
  return n;
}

/* State of instance 0 of @name (a copy), NULL when the service is not listed. */
static char *
state_of (TendTestDaemon *d, const char *name)
{
  g_autoptr(JsonNode) list = status_json (d);
  JsonObject *o = find_instance (list, name, 0);

  return o != NULL ? g_strdup (json_object_get_string_member (o, "state")) : NULL;
}

static gint64
pid_of (TendTestDaemon *d, const char *name)
{
  g_autoptr(JsonNode) list = status_json (d);
  JsonObject *o = find_instance (list, name, 0);

  g_assert_nonnull (o);
  return json_object_get_int_member (o, "pid");
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
  g_autofree char *state = state_of (w->d, w->name);
  return g_strcmp0 (state, w->state) == 0;
}

static gboolean
wait_state (TendTestDaemon *d, const char *name, const char *state)
{
  StateWait w = { d, name, state };
  return tend_test_wait (has_state, &w, 10000);
}

/* Live processes of this test's home whose command line is exactly @argv0 @argv1. */
static guint
count_processes (TendTestDaemon *d, const char *argv0, const char *argv1)
{
  g_autoptr(GArray) pids = tend_test_daemon_leftovers (d);
  guint n = 0;

  for (guint i = 0; i < pids->len; i++) {
    g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", g_array_index (pids, pid_t, i));
    g_autofree char *cmdline = NULL;
    gsize length;

    if (!g_file_get_contents (path, &cmdline, &length, NULL) || length == 0)
      continue;
    if (strcmp (cmdline, argv0) == 0 && strlen (argv0) + 1 < length &&
        strcmp (cmdline + strlen (argv0) + 1, argv1) == 0)
      n++;
  }
  return n;
}

static void
assert_no_leftovers (TendTestDaemon *d)
{
  g_autoptr(GArray) left = tend_test_daemon_leftovers (d);
  g_assert_cmpuint (left->len, ==, 0);
}

/* A home where no daemon runs yet, for autostart. */
static TendTestDaemon *
daemon_not_started (void)
{
  TendTestDaemon *d = tend_test_daemon_new ();
  return d;
}

/* After an autostart: the daemon's pid, tracked so an aborted test still ends it. */
static pid_t
autostarted_pid (TendTestDaemon *d)
{
  pid_t pid = tend_test_daemon_read_pidfile (d);

  g_assert_cmpint (pid, >, 0);
  g_assert_true (tend_test_pid_alive (pid));
  tend_test_track_pid (pid);
  return pid;
}

static void
cli_kill (TendTestDaemon *d, pid_t pid)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "kill", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tendd stopped"));
  /* tend kill returns once the daemon's pid is gone */
  g_assert_false (tend_test_pid_alive (pid));
}

static void
test_help_and_usage (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *verbs[] = { "start", "stop", "restart", "reload", "delete", "status", "describe", "save",
                          "resurrect", "kill", "plugins", "api-token", "version" };

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "help", NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    g_assert_nonnull (strstr (out, verbs[i]));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "resurrect"));
  g_clear_pointer (&out, g_free);

  /* no verb, an unknown verb, verbs that come later */
  g_assert_cmpint (tend_test_run_cli_env (d, NULL, (const char *const[]) { NULL }, NULL, NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "frobnicate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "unknown command"));
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "migrate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "tend migrate takes one NAME or all"));
  g_clear_pointer (&err, g_free);
  /* monit exists now (test-monit.c): an argument it does not take is a usage error */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "monit", "--bogus", NULL), ==, 2);

  /* bad options are usage errors naming them, before any daemon is needed */
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", "--name", "x", "--bogus", "1", "--", "true", NULL),
                   ==, 2);
  g_assert_nonnull (strstr (err, "--bogus"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", "--name", "x", "--instances", "many", "--", "true", NULL),
                   ==, 2);
  g_assert_nonnull (strstr (err, "--instances"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "x", "--port", "99999", "--", "true", NULL),
                   ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "x", "--autorestart", "sometimes", "--", "true",
                                      NULL),
                   ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "bad/name", "--", "true", NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "x", "--cwd", "/tmp", NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "status", "--bogus", NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "stop", NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "describe", NULL), ==, 2);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "stop", "x", "--wait", "soon", NULL), ==, 2);
  /* none of that started a daemon */
  g_assert_false (g_file_test (d->home, G_FILE_TEST_EXISTS));
}

/* Every verb answers --help (and help VERB) with its usage, exit 0; a bad option is a usage error. */
static void
test_verb_help (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  /* every verb of tend-cli.c's table but the hidden _names */
  const char *verbs[] = { "start", "stop", "restart", "reload", "delete", "status", "ls",
                          "list", "describe", "logs", "flush", "save", "resurrect", "kill",
                          "plugins", "tunnel", "api-token", "version", "help" };

  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++) {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *usage = g_strdup_printf ("tend %s", verbs[i]);
    g_autofree char *bad_out = NULL;
    g_autofree char *bad_err = NULL;

    g_test_message ("tend %s --help", verbs[i]);
    g_assert_cmpint (tend_test_run_cli (d, &out, &err, verbs[i], "--help", NULL), ==, 0);
    g_assert_nonnull (strstr (out, "Usage"));
    g_assert_nonnull (strstr (out, usage));
    g_assert_cmpstr (err, ==, "");
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (tend_test_run_cli (d, &out, NULL, verbs[i], "-h", NULL), ==, 0);
    g_assert_nonnull (strstr (out, usage));
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "help", verbs[i], NULL), ==, 0);
    g_assert_nonnull (strstr (out, usage));

    g_assert_cmpint (tend_test_run_cli (d, &bad_out, &bad_err, verbs[i], "--no-such-option", NULL), ==, 2);
    g_assert_nonnull (strstr (bad_err, "--no-such-option"));
    g_assert_cmpstr (bad_out, ==, "");
  }
  /* asking for help started nothing */
  g_assert_false (g_file_test (d->home, G_FILE_TEST_EXISTS));
}

static void
test_no_daemon (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  g_autofree char *sock = g_build_filename (d->home, "tendd.sock", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) version = NULL;
  const char *no_autostart[] = { "stop", "restart", "delete" };

  for (guint i = 0; i < G_N_ELEMENTS (no_autostart); i++) {
    g_assert_cmpint (tend_test_run_cli (d, &out, &err, no_autostart[i], "x", NULL), ==, 3);
    g_assert_nonnull (strstr (err, "cannot reach tendd"));
    g_assert_nonnull (strstr (err, sock));
    g_assert_cmpstr (out, ==, "");
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "reload", NULL), ==, 3);
  /* nothing to kill is not a failure */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "kill", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tendd is not running"));
  g_clear_pointer (&out, g_free);
  /* version without a daemon: only the client's, and no autostart */
  version = cli_json (d, "version", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (version), "version"), ==, TEND_VERSION);
  g_assert_true (json_object_get_null_member (json_node_get_object (version), "tendd"));
  g_assert_false (g_file_test (sock, G_FILE_TEST_EXISTS));
  g_assert_cmpint (tend_test_daemon_read_pidfile (d), ==, 0);
}

static void
test_status_empty_and_version (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) version = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  JsonObject *tendd;

  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);
  list = status_json (d);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "ls", NULL), ==, 0);
  g_assert_cmpstr (out, !=, "");
  g_assert_cmpstr (err, ==, "");
  g_clear_pointer (&out, g_free);

  version = cli_json (d, "version", NULL);
  tendd = json_object_get_object_member (json_node_get_object (version), "tendd");
  g_assert_nonnull (tendd);
  g_assert_cmpstr (json_object_get_string_member (tendd, "version"), ==, TEND_VERSION);
  g_assert_cmpint (json_object_get_int_member (tendd, "pid"), ==, d->pid);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "version", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tend " TEND_VERSION));
  g_assert_nonnull (strstr (out, "tendd " TEND_VERSION));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_adhoc_options (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *helper = tend_test_helper ("show-env.sh");
  g_autofree char *work = tend_test_daemon_path (d, "work");
  g_autofree char *out_env = g_strdup_printf ("OUT_DIR=%s", d->dir);
  g_autofree char *env0 = tend_test_daemon_path (d, "env-0");
  g_autofree char *env1 = tend_test_daemon_path (d, "env-1");
  g_autofree char *want_pwd = g_strdup_printf ("pwd=%s", work);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) describe = NULL;
  g_auto(GStrv) lines0 = NULL;
  g_auto(GStrv) lines1 = NULL;
  JsonObject *o, *config;
  JsonArray *instances;

  g_assert_cmpint (g_mkdir (work, 0755), ==, 0);
  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "start", "--name", "envy", "--cwd", work, "--env", out_env,
                                      "--env=FOO=bar", "--instances", "2", "--increment-var", "PORT", "--env",
                                      "PORT=7000", "--no-autorestart", "--max-memory-restart", "200M", "--layer=web",
                                      "--critical", "--", helper, "one", "two", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "envy: online (pids "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* what the two instances see */
  g_assert_true (tend_test_wait_lines (env0, 9, 10000));
  g_assert_true (tend_test_wait_lines (env1, 9, 10000));
  lines0 = tend_test_read_lines (env0);
  lines1 = tend_test_read_lines (env1);
  g_assert_true (g_strv_contains ((const char *const *) lines0, want_pwd));
  g_assert_true (g_strv_contains ((const char *const *) lines0, "FOO=bar"));
  g_assert_true (g_strv_contains ((const char *const *) lines0, "TEND_INSTANCE=0"));
  g_assert_true (g_strv_contains ((const char *const *) lines0, "PORT=7000"));
  g_assert_true (g_strv_contains ((const char *const *) lines0, "args=one two"));
  g_assert_true (g_strv_contains ((const char *const *) lines1, "TEND_INSTANCE=1"));
  g_assert_true (g_strv_contains ((const char *const *) lines1, "PORT=7001"));

  /* status --json: one object per instance, with the ListServices keys */
  list = status_json (d);
  g_assert_cmpuint (count_named (list, "envy"), ==, 2);
  for (gint64 i = 0; i < 2; i++) {
    o = find_instance (list, "envy", i);
    g_assert_nonnull (o);
    g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "online");
    g_assert_cmpint (json_object_get_int_member (o, "instances"), ==, 2);
    g_assert_cmpint (json_object_get_int_member (o, "pid"), >, 0);
    g_assert_true (json_object_get_boolean_member (o, "ad-hoc"));
    g_assert_true (json_object_get_boolean_member (o, "wants-running"));
    g_assert_true (json_object_get_boolean_member (o, "critical"));
    g_assert_cmpstr (json_object_get_string_member (o, "layer"), ==, "web");
    g_assert_true (json_object_has_member (o, "start-time"));
    g_assert_true (json_object_has_member (o, "restarts"));
    g_assert_true (json_object_has_member (o, "cpu-percent"));
    g_assert_true (json_object_has_member (o, "memory-rss"));
    g_assert_true (json_object_has_member (o, "id"));
  }

  /* describe --json: the whole dictionary, config keys as text */
  describe = cli_json (d, "describe", "envy", NULL);
  o = json_node_get_object (describe);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "envy");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "online");
  g_assert_true (json_object_has_member (o, "out-log"));
  g_assert_true (json_object_has_member (o, "error-log"));
  g_assert_true (json_object_has_member (o, "last-exit"));
  config = json_object_get_object_member (o, "config");
  g_assert_nonnull (config);
  g_assert_cmpstr (json_object_get_string_member (config, "cwd"), ==, work);
  g_assert_cmpstr (json_object_get_string_member (config, "autorestart"), ==, "false");
  g_assert_cmpstr (json_object_get_string_member (config, "max-memory-restart"), ==, "200M");
  g_assert_cmpstr (json_object_get_string_member (config, "instances"), ==, "2");
  instances = json_object_get_array_member (o, "instance-list");
  g_assert_nonnull (instances);
  g_assert_cmpuint (json_array_get_length (instances), ==, 2);

  /* the human forms name what matters */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "envy", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "envy"));
  g_assert_nonnull (strstr (out, "online"));
  g_assert_nonnull (strstr (out, "max-memory-restart"));
  g_assert_nonnull (strstr (out, "envy-out"));
  g_clear_pointer (&out, g_free);

  /* the same name and command again: started, not duplicated */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "envy", "--cwd", work, "--env", out_env,
                                      "--env=FOO=bar", "--instances", "2", "--increment-var", "PORT", "--env",
                                      "PORT=7000", "--no-autorestart", "--max-memory-restart", "200M", "--layer=web",
                                      "--critical", "--", helper, "one", "two", NULL),
                   ==, 0);
  g_clear_pointer (&list, json_node_unref);
  list = status_json (d);
  g_assert_cmpuint (count_named (list, "envy"), ==, 2);
  /* the same name, another command: refused */
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", "--name", "envy", "--", "sleep", "5", NULL), ==, 1);
  g_assert_cmpstr (err, !=, "");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* Restarts of instance 0 of @name, from status --json. */
static gint64
restarts_of (TendTestDaemon *d, const char *name)
{
  g_autoptr(JsonNode) list = status_json (d);
  JsonObject *o = find_instance (list, name, 0);

  g_assert_nonnull (o);
  return json_object_get_int_member (o, "restarts");
}

/* `cd DIR && tend start -- ./script.sh` runs in DIR; --shell words are one shell command line. */
static void
test_adhoc_cwd_and_shell (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *work = tend_test_daemon_path (d, "work");
  g_autofree char *script = g_build_filename (work, "script.sh", NULL);
  g_autofree char *ran = g_build_filename (work, "ran-here", NULL);
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
  g_autofree char *both_log = g_build_filename (d->home, "logs", "both-out.log", NULL);
  g_autofree char *words_log = g_build_filename (d->home, "logs", "words-out.log", NULL);
  g_autofree char *real_work = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(JsonNode) describe = NULL;
  g_auto(GStrv) both = NULL;
  g_auto(GStrv) words = NULL;
  const char *start_argv[] = { "env", "-C", work, tend, "--home", d->home, "start", "--name", "rel", "--",
                               "./script.sh", NULL };

  g_assert_cmpint (g_mkdir (work, 0755), ==, 0);
  real_work = realpath (work, NULL);
  g_assert_nonnull (real_work);
  g_file_set_contents (script, "#!/bin/sh\npwd -P > ran-here\nexec sleep 1000\n", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);

  /* no --cwd: the folder the command was typed in, not the daemon's */
  g_assert_cmpint (tend_test_run_program (d, NULL, start_argv, NULL, NULL), ==, 0);
  g_assert_true (tend_test_wait_lines (ran, 1, 10000));
  g_file_get_contents (ran, &contents, NULL, NULL);
  g_assert_cmpstr (g_strstrip (contents), ==, real_work);
  describe = cli_json (d, "describe", "rel", NULL);
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (json_node_get_object (describe), "config"), "cwd"),
                   ==, real_work);

  /* one word holding the whole line, as a user quotes it */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "both", "--shell", "--",
                                      "echo a && echo b && exec sleep 1000", NULL),
                   ==, 0);
  g_assert_true (tend_test_wait_lines (both_log, 2, 10000));
  both = tend_test_read_lines (both_log);
  g_assert_cmpstr (both[0], ==, "a");
  g_assert_cmpstr (both[1], ==, "b");
  /* several words: the same line */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "words", "--shell", "--", "echo", "c", "&&",
                                      "echo", "d", "&&", "exec", "sleep", "1000", NULL),
                   ==, 0);
  g_assert_true (tend_test_wait_lines (words_log, 2, 10000));
  words = tend_test_read_lines (words_log);
  g_assert_cmpstr (words[0], ==, "c");
  g_assert_cmpstr (words[1], ==, "d");
  g_assert_true (wait_state (d, "words", "online"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* `tend restart` of a stopped or errored service counts a restart; describe names the reason. */
static void
test_restart_counts (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "crash-record");
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) describe = NULL;
  const char *reason;

  tend_test_daemon_write_config (d, "[service:sleeper]\nexec=sleep 1000\n\n"
                                    "[service:crasher]\nexec=@HELPERS@/crash.sh\nmax-restarts=0\n"
                                    "env=RECORD=@DIR@/crash-record\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "sleeper", "online"));
  g_assert_true (wait_state (d, "crasher", "errored"));
  g_assert_cmpint (restarts_of (d, "sleeper"), ==, 0);
  g_assert_cmpint (restarts_of (d, "crasher"), ==, 0);

  /* stopped, then restarted */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "stop", "sleeper", NULL), ==, 0);
  g_assert_true (wait_state (d, "sleeper", "stopped"));
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "restart", "sleeper", NULL), ==, 0);
  g_assert_true (wait_state (d, "sleeper", "online"));
  g_assert_cmpint (restarts_of (d, "sleeper"), ==, 1);

  /* errored, then restarted: it runs once more (and gives up again at once) */
  g_assert_cmpuint (tend_test_count_lines (record), ==, 1);
  tend_test_run_cli (d, NULL, NULL, "restart", "crasher", NULL);
  g_assert_true (tend_test_wait_lines (record, 2, 10000));
  g_assert_true (wait_state (d, "crasher", "errored"));
  g_assert_cmpint (restarts_of (d, "crasher"), ==, 1);

  /* the reason, in --json and in the text */
  describe = cli_json (d, "describe", "sleeper", NULL);
  reason = json_object_get_string_member (json_node_get_object (describe), "last-restart-reason");
  g_assert_nonnull (reason);
  g_assert_cmpstr (reason, !=, "");
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "sleeper", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "last restart"));
  g_assert_nonnull (strstr (out, reason));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_start_outcomes (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* readiness (notify) is the health plugin's */
  tend_test_daemon_write_config (d, "[plugin:health]\nenabled=true\n");
  tend_test_daemon_start (d);

  /* a program that cannot run is errored: exit 1 and the reason */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "start", "--name", "nope", "--", "/nonexistent/program", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "nope: errored"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* a program that exits on purpose is stopped, and that is fine (it may be seen online first) */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "start", "--name", "once", "--autorestart", "false", "--", "true",
                                      NULL),
                   ==, 0);
  g_assert_true (strstr (out, "once: stopped") != NULL || strstr (out, "once: online") != NULL);
  g_assert_true (wait_state (d, "once", "stopped"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* still launching (no READY=1 yet) when --wait runs out: exit 1, naming it */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "start", "--name", "slow", "--notify", "--wait", "0.5", "--",
                                      "sleep", "1000", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "timed out"));
  g_assert_nonnull (strstr (err, "slow (launching)"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "delete", "slow", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "slow: deleted"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_config_file_and_verbs (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *apps = tend_test_daemon_path (d, "apps.conf");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *state = NULL;
  g_autoptr(JsonNode) list = NULL;
  gint64 pid_a, pid_b;

  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);
  g_assert_true (g_file_set_contents (apps, "[service:a]\nexec=sleep 1000\n\n[service:b]\nexec=sleep 1001\n\n"
                                            "[service:c]\nexec=sleep 1002\n",
                                      -1, NULL));

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "start", apps, "--only", "a,b", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "a: online (pid "));
  g_assert_nonnull (strstr (out, "b: online (pid "));
  g_assert_null (strstr (out, "c:"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  state = state_of (d, "c");
  g_assert_true (state == NULL || g_strcmp0 (state, "stopped") == 0);
  g_assert_cmpuint (count_processes (d, "sleep", "1002"), ==, 0);
  pid_a = pid_of (d, "a");
  pid_b = pid_of (d, "b");

  /* stop waits until stopped */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "stop", "a", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "a: stopped"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&state, g_free);
  state = state_of (d, "a");
  g_assert_cmpstr (state, ==, "stopped");
  g_assert_false (tend_test_pid_alive ((pid_t) pid_a));

  /* start by name */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "start", "a", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "a: online"));
  g_clear_pointer (&out, g_free);

  /* restart: a new process, counted */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "restart", "b", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "b: online"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (pid_of (d, "b"), !=, pid_b);
  g_assert_false (tend_test_pid_alive ((pid_t) pid_b));
  list = status_json (d);
  g_assert_cmpint (json_object_get_int_member (find_instance (list, "b", 0), "restarts"), ==, 1);

  /* unknown names fail with 1 and say so */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "stop", "nosuch", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "nosuch"));
  g_assert_null (strstr (err, "GDBus.Error"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "nosuch", NULL), ==, 1);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "restart", "nosuch", NULL), ==, 1);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "delete", "nosuch", NULL), ==, 1);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "describe", "nosuch", NULL), ==, 1);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", "/nonexistent/apps.conf", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "/nonexistent/apps.conf"));
  g_clear_pointer (&err, g_free);

  /* delete: gone from the list, its process too */
  pid_b = pid_of (d, "b");
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "delete", "b", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "b: deleted"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&state, g_free);
  state = state_of (d, "b");
  g_assert_null (state);
  g_assert_false (tend_test_pid_alive ((pid_t) pid_b));

  /* all */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "stop", "all", NULL), ==, 0);
  g_clear_pointer (&state, g_free);
  state = state_of (d, "a");
  g_assert_cmpstr (state, ==, "stopped");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "restart", "all", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "a: online"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "delete", "all", NULL), ==, 0);
  g_clear_pointer (&list, json_node_unref);
  list = status_json (d);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  assert_no_leftovers (d);
}

static void
test_reload (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *want = NULL;
  g_autofree char *state = NULL;
  gint64 pid;

  tend_test_daemon_write_config (d, "[service:r1]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "r1", "online"));
  pid = pid_of (d, "r1");

  tend_test_daemon_write_config (d, "[service:r1]\nexec=sleep 1000\n\n[service:r2]\nexec=sleep 1001\n");
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "reload", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_true (wait_state (d, "r2", "online"));
  g_assert_cmpint (pid_of (d, "r1"), ==, pid);

  /* a bad file: the error names file and line, and nothing changes */
  tend_test_daemon_write_config (d, "[service:r1]\nexec=\n");
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "reload", NULL), ==, 1);
  want = g_strdup_printf ("%s:2:", d->config);
  g_assert_nonnull (strstr (err, want));
  g_assert_null (strchr (g_strchomp (err), '\n'));
  state = state_of (d, "r2");
  g_assert_cmpstr (state, ==, "online");
  g_assert_cmpint (pid_of (d, "r1"), ==, pid);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_autostart_and_kill (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *state = NULL;
  pid_t pid;

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "start", "--name", "x", "--", "sleep", "1000", NULL), ==, 0);
  g_assert_nonnull (strstr (err, "started tendd"));
  g_assert_nonnull (strstr (out, "x: online"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  pid = autostarted_pid (d);
  state = state_of (d, "x");
  g_assert_cmpstr (state, ==, "online");
  g_assert_cmpuint (count_processes (d, "sleep", "1000"), ==, 1);

  /* a second command uses that daemon */
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "status", NULL), ==, 0);
  g_assert_null (strstr (err, "started tendd"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_daemon_read_pidfile (d), ==, pid);

  cli_kill (d, pid);
  g_assert_cmpuint (count_processes (d, "sleep", "1000"), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "kill", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tendd is not running"));
  assert_no_leftovers (d);
}

static void
test_save_resurrect (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  g_autofree char *dump = g_build_filename (d->home, "dump.conf", NULL);
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) list = NULL;
  pid_t pid;

  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "keep", "--", "sleep", "1000", NULL), ==, 0);
  pid = autostarted_pid (d);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", "--name", "held", "--", "sleep", "1001", NULL), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "stop", "held", NULL), ==, 0);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "save", NULL), ==, 0);
  g_assert_nonnull (strstr (out, dump));
  g_assert_true (g_file_test (dump, G_FILE_TEST_IS_REGULAR));
  g_clear_pointer (&out, g_free);
  cli_kill (d, pid);
  g_assert_cmpuint (count_processes (d, "sleep", "1000"), ==, 0);

  /* resurrect starts a daemon again, and what was saved comes back as it was */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "resurrect", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  pid = autostarted_pid (d);
  g_assert_true (wait_state (d, "keep", "online"));
  list = status_json (d);
  g_assert_cmpuint (count_named (list, "keep"), ==, 1);
  g_assert_cmpuint (count_named (list, "held"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (find_instance (list, "held", 0), "state"), ==, "stopped");
  g_assert_cmpuint (count_processes (d, "sleep", "1000"), ==, 1);
  g_assert_cmpuint (count_processes (d, "sleep", "1001"), ==, 0);

  /* again: nothing is duplicated */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "resurrect", NULL), ==, 0);
  g_clear_pointer (&list, json_node_unref);
  list = status_json (d);
  g_assert_cmpuint (count_named (list, "keep"), ==, 1);
  g_assert_cmpuint (count_named (list, "held"), ==, 1);
  g_assert_cmpuint (count_processes (d, "sleep", "1000"), ==, 1);
  cli_kill (d, pid);
  assert_no_leftovers (d);
}

/* Two clients start the same service at once; @daemon_running: else both autostart. */
static void
concurrent_start (gboolean daemon_running)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  const char *args[] = { "start", "--name", "same", "--", "sleep", "1000", NULL };
  g_autoptr(JsonNode) list = NULL;
  GPid a, b;
  pid_t pid = 0;

  if (daemon_running) {
    tend_test_daemon_write_config (d, "");
    tend_test_daemon_start (d);
  }
  a = tend_test_spawn_cli (d, args);
  b = tend_test_spawn_cli (d, args);
  g_assert_cmpint (tend_test_wait_cli (a, 60000), ==, 0);
  g_assert_cmpint (tend_test_wait_cli (b, 60000), ==, 0);
  if (!daemon_running)
    pid = autostarted_pid (d);
  list = status_json (d);
  g_assert_cmpuint (count_named (list, "same"), ==, 1);
  g_assert_cmpuint (count_processes (d, "sleep", "1000"), ==, 1);
  if (daemon_running)
    g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  else
    cli_kill (d, pid);
  assert_no_leftovers (d);
}

static void
test_concurrent_start (void)
{
  concurrent_start (TRUE);
}

static void
test_concurrent_autostart (void)
{
  concurrent_start (FALSE);
}

/* Runs tend ARGS with stdout on a terminal; returns what the terminal got. */
static char *
run_on_tty (TendTestDaemon *d, gboolean no_color, const char *const *args)
{
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GString) got = g_string_new (NULL);
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  int master, slave, status;
  gboolean exited = FALSE;
  GPid pid;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (slave, >=, 0);

  g_ptr_array_add (argv, tend);
  g_ptr_array_add (argv, (gpointer) "--home");
  g_ptr_array_add (argv, d->home);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  env = g_environ_unsetenv (env, "TEND_HOME");
  env = no_color ? g_environ_setenv (env, "NO_COLOR", "1", TRUE) : g_environ_unsetenv (env, "NO_COLOR");
  g_spawn_async_with_pipes_and_fds (NULL, (const char *const *) argv->pdata, (const char *const *) env,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL |
                                      G_SPAWN_STDERR_TO_DEV_NULL,
                                    NULL, NULL, -1, slave, -1, NULL, NULL, 0, &pid, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  close (slave);
  /* read as it writes, so a full terminal buffer cannot block it */
  for (;;) {
    struct pollfd pfd = { .fd = master, .events = POLLIN };
    char buf[4096];

    if (poll (&pfd, 1, 50) == 1) {
      ssize_t n = read (master, buf, sizeof buf);
      if (n > 0) {
        g_string_append_len (got, buf, n);
        continue;
      }
      if (exited)
        break;
    } else if (exited) {
      break;
    }
    if (!exited && waitpid (pid, &status, WNOHANG) == pid)
      exited = TRUE;
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
  }
  close (master);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return g_string_free (g_steal_pointer (&got), FALSE);
}

static void
test_status_table (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *colored = NULL;
  const char *status_args[] = { "status", NULL };

  tend_test_daemon_write_config (d, "[service:web]\nexec=sleep 1000\ninstances=2\n\n"
                                    "[service:idle]\nexec=sleep 1001\nstart=false\n");
  tend_test_daemon_start (d);
  g_assert_true (wait_state (d, "web", "online"));
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "list", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "web"));
  g_assert_nonnull (strstr (out, "idle"));
  g_assert_nonnull (strstr (out, "online"));
  g_assert_nonnull (strstr (out, "stopped"));
  g_assert_nonnull (strstr (out, "0/2"));
  g_assert_nonnull (strstr (out, "1/2"));
  /* not a terminal: no colour */
  g_assert_null (strchr (out, '\033'));

  /* a terminal: coloured states, unless NO_COLOR */
  colored = run_on_tty (d, FALSE, status_args);
  g_assert_nonnull (strstr (colored, "\033[32monline"));
  plain = run_on_tty (d, TRUE, status_args);
  g_assert_nonnull (strstr (plain, "online"));
  g_assert_null (strchr (plain, '\033'));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_plugins_and_token (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *token_path = g_build_filename (d->home, "api-token", NULL);
  g_autofree char *token = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) plugins = NULL;
  JsonArray *array;
  gboolean found = FALSE;
  gboolean health_found = FALSE;
  struct stat st;

  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);
  plugins = cli_json (d, "plugins", NULL);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (plugins));
  array = json_node_get_array (plugins);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), "process") == 0) {
      found = TRUE;
      g_assert_true (json_object_get_boolean_member (o, "enabled"));
      g_assert_true (json_object_get_boolean_member (o, "loaded"));
      g_assert_true (json_object_has_member (o, "description"));
    }
    /* the other plugin loaded without a group (SPEC) */
    if (g_strcmp0 (json_object_get_string_member (o, "name"), "health") == 0) {
      health_found = TRUE;
      g_assert_true (json_object_get_boolean_member (o, "enabled"));
      g_assert_true (json_object_get_boolean_member (o, "loaded"));
    }
  }
  g_assert_true (found);
  g_assert_true (health_found);
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "plugins", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "process"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "api-token", NULL), ==, 0);
  g_strchomp (out);
  g_assert_cmpuint (strlen (out), ==, 64);
  for (const char *p = out; *p != '\0'; p++)
    g_assert_true (g_ascii_isxdigit (*p));
  g_assert_true (g_file_get_contents (token_path, &token, NULL, NULL));
  g_assert_cmpstr (g_strchomp (token), ==, out);
  g_assert_cmpint (stat (token_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_api_token_autostart (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "api-token", NULL), ==, 0);
  g_assert_nonnull (strstr (err, "started tendd"));
  g_assert_cmpuint (strlen (g_strchomp (out)), ==, 64);
  cli_kill (d, autostarted_pid (d));
  assert_no_leftovers (d);
}

/* tend _keys lists every key of the [service:NAME] schema but exec as an option of tend start, with its type. */
static void
test_start_keys (void)
{
  g_autoptr(TendTestDaemon) d = daemon_not_started ();
  g_autofree char *out = NULL;
  const TendServiceKey *keys;
  guint n_keys;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "_keys", NULL), ==, 0);
  keys = tend_service_schema_get_keys (&n_keys);
  for (guint i = 0; i < n_keys; i++) {
    g_autofree char *line = g_strdup_printf ("--%s %s\n", keys[i].name, tend_service_schema_type_name (keys[i].type));

    if (keys[i].type == TEND_SERVICE_KEY_COMMAND)
      g_assert_null (strstr (out, line));
    else
      g_assert_nonnull (strstr (out, line));
  }
  /* the health plugin's service keys too, from its table, with their types */
  g_assert_nonnull (strstr (out, "--health-check text\n"));
  g_assert_nonnull (strstr (out, "--health-interval duration\n"));
  g_assert_nonnull (strstr (out, "--health-timeout duration\n"));
  g_assert_nonnull (strstr (out, "--health-retries uint\n"));
  /* it needs no daemon */
  g_assert_false (g_file_test (d->home, G_FILE_TEST_EXISTS));
}

static void
test_bash_completion (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *completion = g_build_filename (g_getenv ("TEND_TEST_SRCDIR"), "..", "data", "tend.bash-completion",
                                                  NULL);
  g_autofree char *core = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", NULL);
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autofree char *bash = g_find_program_in_path ("bash");
  g_autoptr(GError) error = NULL;
  int status = -1;

  if (bash == NULL) {
    g_test_skip ("bash is not installed");
    return;
  }
  tend_test_daemon_write_config (d, "[service:alpha]\nexec=sleep 1000\n\n[service:beta]\nexec=sleep 1001\n");
  tend_test_daemon_start (d);
  /* each answer sorted, on its own line */
  script = g_strdup_printf ("PATH=%s:$PATH; export LC_ALL=C; unset TEND_HOME; . %s; "
                            "show () { echo \"$1:$(printf '%%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' ')\"; }; "
                            "COMP_WORDS=(tend st); COMP_CWORD=1; _tend; show verbs; "
                            "COMP_WORDS=(tend --home %s stop ''); COMP_CWORD=4; _tend; show names; "
                            "COMP_WORDS=(tend start --max-m); COMP_CWORD=2; _tend; show opts; "
                            "COMP_WORDS=(tend --home %s start --depends-on ''); COMP_CWORD=5; _tend; show deps; "
                            "COMP_WORDS=(tend start --autorestart o); COMP_CWORD=3; _tend; show restart; "
                            "COMP_WORDS=(tend ch); COMP_CWORD=1; _tend; show check; "
                            "COMP_WORDS=(tend restart --j); COMP_CWORD=2; _tend; show rjson",
                            core, completion, d->home, d->home);
  {
    const char *argv[] = { "bash", "-c", script, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                  NULL, &status, &error);
  }
  g_assert_no_error (error);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "verbs:start startup status stop \n"));
  g_assert_nonnull (strstr (out, "names:all alpha beta \n"));
  g_assert_nonnull (strstr (out, "opts:--max-memory-restart \n"));
  g_assert_nonnull (strstr (out, "deps:alpha beta \n"));
  g_assert_nonnull (strstr (out, "restart:on-failure \n"));
  g_assert_nonnull (strstr (out, "check:check \n"));
  g_assert_nonnull (strstr (out, "rjson:--json \n"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/help-and-usage", test_help_and_usage);
  g_test_add_func ("/cli/verb-help", test_verb_help);
  g_test_add_func ("/cli/no-daemon", test_no_daemon);
  g_test_add_func ("/cli/status-empty-and-version", test_status_empty_and_version);
  g_test_add_func ("/cli/adhoc-options", test_adhoc_options);
  g_test_add_func ("/cli/adhoc-cwd-and-shell", test_adhoc_cwd_and_shell);
  g_test_add_func ("/cli/restart-counts", test_restart_counts);
  g_test_add_func ("/cli/start-outcomes", test_start_outcomes);
  g_test_add_func ("/cli/config-file-and-verbs", test_config_file_and_verbs);
  g_test_add_func ("/cli/reload", test_reload);
  g_test_add_func ("/cli/autostart-and-kill", test_autostart_and_kill);
  g_test_add_func ("/cli/save-resurrect", test_save_resurrect);
  g_test_add_func ("/cli/concurrent-start", test_concurrent_start);
  g_test_add_func ("/cli/concurrent-autostart", test_concurrent_autostart);
  g_test_add_func ("/cli/status-table", test_status_table);
  g_test_add_func ("/cli/plugins-and-token", test_plugins_and_token);
  g_test_add_func ("/cli/api-token-autostart", test_api_token_autostart);
  g_test_add_func ("/cli/bash-completion", test_bash_completion);
  g_test_add_func ("/cli/start-keys", test_start_keys);
  return g_test_run ();
}
