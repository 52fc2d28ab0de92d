/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend start, restart and resurrect report the truth: they return once each
 * service has been up for its min-uptime, and a service that exits meanwhile
 * is a failure with its exit status (SPEC issue 12, item 4).
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "tend-test-daemon.h"

/* exits with status 3 after 0.3 s: a crash loop under the default autorestart */
#define CRASHER "sleep 0.3; exit 3"

/*
 * Runs fine the first time (it leaves @DIR@/MARK behind), then crashes on
 * every later run: a service that was healthy until its restart.
 */
#define FLIP_SCRIPT "if [ -e %s ]; then sleep 0.3; exit 3; fi; touch %s; exec sleep 1000"

static TendTestDaemon *
started_daemon (void)
{
  TendTestDaemon *d = tend_test_daemon_new ();

  tend_test_daemon_write_config (d, "");
  tend_test_daemon_start (d);
  return d;
}

/* Runs the CLI with @args and measures how long it took (ms). */
static int
timed_cli (TendTestDaemon *d, const char *const *args, char **out, char **err, gint64 *out_ms)
{
  gint64 t0 = g_get_monotonic_time ();
  int status = tend_test_run_cli_env (d, NULL, args, out, err);

  *out_ms = (g_get_monotonic_time () - t0) / 1000;
  return status;
}

static JsonObject *
only_service (JsonNode *root, const char *result, const char *name)
{
  JsonObject *object = json_node_get_object (root);
  JsonArray *services;
  JsonObject *service;

  g_assert_cmpstr (json_object_get_string_member (object, "result"), ==, result);
  services = json_object_get_array_member (object, "services");
  g_assert_cmpuint (json_array_get_length (services), ==, 1);
  service = json_array_get_object_element (services, 0);
  g_assert_cmpstr (json_object_get_string_member (service, "name"), ==, name);
  return service;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

static void
assert_failed_with_3 (const char *err, const char *name)
{
  g_autofree char *named = g_strdup_printf ("tend: %s: failed: exited with code 3", name);
  g_autofree char *see = g_strdup_printf ("see: tend logs %s", name);

  g_assert_nonnull (strstr (err, named));
  g_assert_nonnull (strstr (err, see));
}

static void
test_start_crash (void)
{
  g_autoptr(TendTestDaemon) d = started_daemon ();
  const char *args[] = { "start", "--name", "crasher", "--min-uptime", "1s", "--", "sh", "-c", CRASHER, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 ms;

  g_assert_cmpint (timed_cli (d, args, &out, &err, &ms), ==, 1);
  assert_failed_with_3 (err, "crasher");
  /* decided by the first exit, not by the end of the wait */
  g_assert_cmpint (ms, <, 10000);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_start_healthy_waits_min_uptime (void)
{
  g_autoptr(TendTestDaemon) d = started_daemon ();
  const char *args[] = { "start", "--name", "steady", "--min-uptime", "1s", "--", "sleep", "1000", NULL };
  /* lives 4 s, longer than its min-uptime: it held, and its later exit is not the start's business */
  const char *late_args[] = { "start", "--name", "late", "--min-uptime", "1s", "--", "sh", "-c", "sleep 4; exit 3",
                              NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 ms;

  g_assert_cmpint (timed_cli (d, args, &out, &err, &ms), ==, 0);
  g_assert_nonnull (strstr (out, "steady: online (pid "));
  g_assert_cmpint (ms, >=, 1000);
  g_assert_cmpint (timed_cli (d, late_args, &out, &err, &ms), ==, 0);
  g_assert_nonnull (strstr (out, "late: online (pid "));
  g_assert_cmpint (ms, >=, 1000);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_start_json (void)
{
  g_autoptr(TendTestDaemon) d = started_daemon ();
  const char *bad[] = { "start", "--json", "--name", "crasher", "--min-uptime", "1s", "--", "sh", "-c", CRASHER, NULL };
  const char *good[] = { "start", "--name", "steady", "--min-uptime", "1s", "--json", "--", "sleep", "1000", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *service;
  gint64 ms;

  g_assert_cmpint (timed_cli (d, bad, &out, &err, &ms), ==, 1);
  root = parse_json (out);
  service = only_service (root, "failed", "crasher");
  g_assert_cmpstr (json_object_get_string_member (service, "result"), ==, "failed");
  g_assert_cmpint (json_object_get_int_member (service, "exit-code"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (service, "last-exit"), ==, "exited with code 3");
  g_assert_cmpint (json_object_get_int_member (service, "exits"), >=, 1);
  g_assert_cmpstr (json_object_get_string_member (service, "see"), ==, "tend logs crasher");
  g_clear_pointer (&root, json_node_unref);

  g_assert_cmpint (timed_cli (d, good, &out, &err, &ms), ==, 0);
  g_assert_cmpint (ms, >=, 1000);
  root = parse_json (out);
  service = only_service (root, "ok", "steady");
  g_assert_cmpstr (json_object_get_string_member (service, "state"), ==, "online");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (service, "pids")), ==, 1);
  g_assert_true (json_object_get_null_member (service, "exit-code"));
  g_assert_false (json_object_has_member (service, "see"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_restart (void)
{
  g_autoptr(TendTestDaemon) d = started_daemon ();
  g_autofree char *mark = tend_test_daemon_path (d, "mark");
  g_autofree char *script = g_strdup_printf (FLIP_SCRIPT, mark, mark);
  const char *start[] = { "start", "--name", "flip", "--min-uptime", "1s", "--", "sh", "-c", script, NULL };
  const char *steady[] = { "start", "--name", "steady", "--min-uptime", "1s", "--", "sleep", "1000", NULL };
  const char *restart_steady[] = { "restart", "steady", NULL };
  const char *restart_flip[] = { "restart", "flip", NULL };
  const char *restart_json[] = { "restart", "flip", "--json", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) root = NULL;
  gint64 ms;

  g_assert_cmpint (timed_cli (d, start, &out, &err, &ms), ==, 0);
  g_assert_cmpint (timed_cli (d, steady, &out, &err, &ms), ==, 0);

  /* a healthy restart returns once the new process has been up its min-uptime */
  g_assert_cmpint (timed_cli (d, restart_steady, &out, &err, &ms), ==, 0);
  g_assert_nonnull (strstr (out, "steady: online (pid "));
  g_assert_cmpint (ms, >=, 1000);

  /* flip crashes from its second run on: the restart says so */
  g_assert_cmpint (timed_cli (d, restart_flip, &out, &err, &ms), ==, 1);
  assert_failed_with_3 (err, "flip");
  g_assert_cmpint (timed_cli (d, restart_json, &out, &err, &ms), ==, 1);
  root = parse_json (out);
  g_assert_cmpint (json_object_get_int_member (only_service (root, "failed", "flip"), "exit-code"), ==, 3);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_resurrect (void)
{
  g_autoptr(TendTestDaemon) d = started_daemon ();
  g_autofree char *mark = tend_test_daemon_path (d, "mark");
  g_autofree char *script = g_strdup_printf (FLIP_SCRIPT, mark, mark);
  const char *start[] = { "start", "--name", "flip", "--min-uptime", "1s", "--", "sh", "-c", script, NULL };
  const char *steady[] = { "start", "--name", "steady", "--min-uptime", "1s", "--", "sleep", "1000", NULL };
  const char *save[] = { "save", NULL };
  const char *delete_all[] = { "delete", "all", NULL };
  const char *resurrect[] = { "resurrect", NULL };
  const char *resurrect_json[] = { "resurrect", "--json", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *services;
  gint64 ms;

  g_assert_cmpint (timed_cli (d, start, &out, &err, &ms), ==, 0);
  g_assert_cmpint (timed_cli (d, steady, &out, &err, &ms), ==, 0);
  g_assert_cmpint (timed_cli (d, save, &out, &err, &ms), ==, 0);
  g_assert_cmpint (timed_cli (d, delete_all, &out, &err, &ms), ==, 0);

  /* both come back; flip now crashes: named with its status, exit 1; steady is fine */
  g_assert_cmpint (timed_cli (d, resurrect, &out, &err, &ms), ==, 1);
  assert_failed_with_3 (err, "flip");
  g_assert_nonnull (strstr (out, "steady: online (pid "));
  g_assert_cmpint (ms, >=, 1000);

  /* again, as JSON: what the dump holds is started again (steady is there, flip still crashes) */
  g_assert_cmpint (timed_cli (d, resurrect_json, &out, &err, &ms), ==, 1);
  root = parse_json (out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "result"), ==, "failed");
  services = json_object_get_array_member (json_node_get_object (root), "services");
  g_assert_cmpuint (json_array_get_length (services), ==, 2);
  for (guint i = 0; i < 2; i++) {
    JsonObject *service = json_array_get_object_element (services, i);
    if (g_str_equal (json_object_get_string_member (service, "name"), "flip")) {
      g_assert_cmpstr (json_object_get_string_member (service, "result"), ==, "failed");
      g_assert_cmpint (json_object_get_int_member (service, "exit-code"), ==, 3);
    } else {
      g_assert_cmpstr (json_object_get_string_member (service, "name"), ==, "steady");
      g_assert_cmpstr (json_object_get_string_member (service, "result"), ==, "ok");
    }
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/start-truth/crash", test_start_crash);
  g_test_add_func ("/start-truth/healthy-waits-min-uptime", test_start_healthy_waits_min_uptime);
  g_test_add_func ("/start-truth/json", test_start_json);
  g_test_add_func ("/start-truth/restart", test_restart);
  g_test_add_func ("/start-truth/resurrect", test_resurrect);
  return g_test_run ();
}
