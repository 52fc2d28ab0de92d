/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `tend start FILE` and ad hoc services against a running daemon: every
 * depends-on must name a service defined somewhere (the file or the daemon),
 * a changed depends-on takes effect when the file is loaded again, and a
 * plugin's own service (cloudflared) cannot be replaced by a file.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "tend-test-daemon.h"

#define WAIT_MS 20000

static void
write_file (TendTestDaemon *d, const char *name, const char *text, char **out_path)
{
  g_autofree char *path = tend_test_daemon_path (d, name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_free (*out_path);
  *out_path = g_steal_pointer (&path);
}

/* the service's state from `tend describe NAME --json`, NULL when the daemon has no such service */
static char *
service_state (TendTestDaemon *d, const char *name)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (tend_test_run_cli (d, &out, NULL, "describe", name, "--json", NULL) != 0)
    return NULL;
  node = json_from_string (out, NULL);
  g_assert_nonnull (node);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "state"));
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

static void
assert_state_soon (TendTestDaemon *d, const char *name, const char *state)
{
  StateWait w = { d, name, state };

  if (!tend_test_wait (has_state, &w, WAIT_MS)) {
    g_autofree char *now = service_state (d, name);
    g_error ("%s: expected %s, still %s", name, state, now != NULL ? now : "(no such service)");
  }
}

/* issue 10: `--only b` with b depending on a service defined nowhere waited forever on "a (not defined)" */
static void
test_undefined_dependency (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *file = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *state = NULL;

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:main]\nexec=sleep 100000\n");
  tend_test_daemon_start (d);
  write_file (d, "apps.conf", "[service:b]\nexec=sleep 100000\n\ndepends-on=main, ghost\n", &file);

  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", file, "--only", "b", "--wait", "5", NULL), ==, 1);
  expected = g_strdup_printf ("%s:4: [service:b] depends-on: unknown service \"ghost\" (defined neither in this file "
                              "nor in the daemon)",
                              file);
  g_assert_nonnull (strstr (err, expected));
  /* refused as a whole: nothing was added */
  state = service_state (d, "b");
  g_assert_null (state);

  /* an ad hoc service's --depends-on is held to the same rule */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", "--name", "c", "--depends-on", "ghost", "--", "sleep",
                                      "100000", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "[service:c] depends-on: unknown service \"ghost\""));
  g_clear_pointer (&err, g_free);
  /* a service the daemon has (from its own configuration) is fine */
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", "--name", "c", "--depends-on", "main", "--", "sleep",
                                      "100000", NULL),
                   ==, 0);
  assert_state_soon (d, "c", "online");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* --only takes what the selection depends on from the file when the daemon does not have it */
static void
test_only_pulls_in_dependencies (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *file = NULL;
  g_autofree char *state = NULL;

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:main]\nexec=sleep 100000\n");
  tend_test_daemon_start (d);
  write_file (d, "apps.conf",
              "[service:a]\nexec=sleep 100000\n\n"
              "[service:b]\nexec=sleep 100000\ndepends-on=a, main\n\n"
              "[service:unrelated]\nexec=sleep 100000\n",
              &file);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", file, "--only", "b", NULL), ==, 0);
  assert_state_soon (d, "a", "online");
  assert_state_soon (d, "b", "online");
  state = service_state (d, "unrelated");
  g_assert_null (state);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* issue 10: after the dependency was removed from the file and the file loaded again, b still waited */
static void
test_changed_dependency_applies (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *file = NULL;

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:a]\nexec=sleep 100000\nstart=false\n");
  tend_test_daemon_start (d);
  write_file (d, "apps.conf", "[service:b]\nexec=sleep 100000\ndepends-on=a\n", &file);
  /* a is stopped, so b waits for it */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", file, "--wait", "1", NULL), ==, 1);
  assert_state_soon (d, "b", "launching");

  write_file (d, "apps.conf", "[service:b]\nexec=sleep 100000\n", &file);
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", file, NULL), ==, 0);
  assert_state_soon (d, "b", "online");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* the same through the daemon's own configuration and tend reload */
static void
test_changed_dependency_reload (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n"
                                    "[service:a]\nexec=sleep 100000\nstart=false\n\n"
                                    "[service:b]\nexec=sleep 100000\ndepends-on=a\n");
  tend_test_daemon_start (d);
  assert_state_soon (d, "b", "launching");
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n"
                                    "[service:a]\nexec=sleep 100000\nstart=false\n\n"
                                    "[service:b]\nexec=sleep 100000\n");
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "reload", NULL), ==, 0);
  assert_state_soon (d, "b", "online");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* issue 10: [service:cloudflared] in a file replaced the plugin's own service */
static void
test_plugin_service_name (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *file = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *out = NULL;

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n"
                                    "[plugin:cloudflared]\nbinary=@DIR@/no-such-cloudflared\n");
  tend_test_daemon_start (d);
  write_file (d, "apps.conf", "[service:web]\nexec=sleep 100000\n\n[service:cloudflared]\nexec=sleep 100000\n",
              &file);
  g_assert_cmpint (tend_test_run_cli (d, NULL, &err, "start", file, "--wait", "5", NULL), ==, 1);
  expected = g_strdup_printf ("%s:4: [service:cloudflared]: the cloudflared plugin runs a service of that name", file);
  g_assert_nonnull (strstr (err, expected));
  /* still the plugin's own: its command is the (missing) cloudflared binary, not the file's sleep */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "describe", "cloudflared", "--json", NULL), ==, 0);
  g_assert_null (strstr (out, "sleep 100000"));
  g_assert_nonnull (strstr (out, "no-such-cloudflared"));
  /* and nothing else of the file was added either */
  g_assert_null (service_state (d, "web"));

  /* --only without it is fine */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "start", file, "--only", "web", NULL), ==, 0);
  assert_state_soon (d, "web", "online");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* issue 10: an option named "#key" became a comment line and was silently dropped */
static void
test_add_service_keys (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *address = NULL;
  static const struct {
    const char *options;
    const char *message;
  } cases[] = {
    { "{'#start': 'false'}", "bad option \"#start\": not a key name" },
    { "{'start=false\\n#': 'x'}", "bad option \"start=false\\n#\": not a key name" },
    { "{'': 'x'}", "bad option \"\": not a key name" },
    { "{' start': 'false'}", "bad option \" start\": not a key name" },
    { "{'[service:x]': 'y'}", "bad option \"[service:x]\": not a key name" },
    { "{'layer': 'a\\n[service:y]'}", "bad option layer: a value holds a line break" },
  };

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n");
  tend_test_daemon_start (d);
  address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path", "/org/tend/Tend1", "--method",
                           "org.tend.Manager1.AddService", "x", "['sleep', '100000']", cases[i].options, "/", NULL };
    g_autofree char *err = NULL;

    g_assert_cmpint (tend_test_run_program (d, NULL, argv, NULL, &err), !=, 0);
    if (strstr (err, cases[i].message) == NULL)
      g_error ("%s: expected %s in: %s", cases[i].options, cases[i].message, err);
  }
  /* nothing was added */
  g_assert_null (service_state (d, "x"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* a reload that lowers instances of a stopped service left an idle instance "retiring" for ever: tend kill hung */
static void
test_fewer_instances_then_stop (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:a]\nexec=sleep 100000\ninstances=3\nstart=false\n"
                                    "\n[service:b]\nexec=sleep 100000\ninstances=3\n");
  tend_test_daemon_start (d);
  assert_state_soon (d, "b", "online");
  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[service:a]\nexec=sleep 100000\ninstances=1\nstart=false\n"
                                    "\n[service:b]\nexec=sleep 100000\ninstances=1\n");
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "reload", NULL), ==, 0);
  assert_state_soon (d, "b", "online");
  /* tend_test_daemon_stop() asserts that the daemon exits within 30 s */
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/start-file/undefined-dependency", test_undefined_dependency);
  g_test_add_func ("/start-file/only-pulls-in-dependencies", test_only_pulls_in_dependencies);
  g_test_add_func ("/start-file/changed-dependency", test_changed_dependency_applies);
  g_test_add_func ("/start-file/changed-dependency-reload", test_changed_dependency_reload);
  g_test_add_func ("/start-file/plugin-service-name", test_plugin_service_name);
  g_test_add_func ("/start-file/add-service-keys", test_add_service_keys);
  g_test_add_func ("/reload/fewer-instances-then-stop", test_fewer_instances_then_stop);
  return g_test_run ();
}
