/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend import: the seed's ecosystem.config.js (committed verbatim from the
 * migration plan) and a real dump.pm2 (written by pm2 7.0.4's `pm2 save`)
 * become configurations that tendd runs; the warnings and a bad file.
 */
#include "config.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define WAIT_MS 30000

/* The seed's services: script folder (under translation-app/), script, and the port it has in the plan. */
static const struct {
  const char *name, *dir, *script;
  guint port;
} seed_services[] = {
  { "sttttserver", "3333_4444__Operational/STTTTSserver", "STTTTSserver.js", 3020 },
  { "ari-gstreamer", "3333_4444__Operational", "ari-gstreamer-operational.js", 0 },
  { "monitoring-server", "", "monitoring-server.js", 3001 },
  { "database-api-server", "", "database-api-server.js", 8083 },
  { "monitoring-bridge", "", "monitoring-to-database-bridge.js", 0 },
  { "metrics-emitter", "", "continuous-metrics-emitter.js", 0 },
  { "gateway-3333", "3333_4444__Operational", "gateway-3333.js", 7777 },
  { "gateway-4444", "3333_4444__Operational", "gateway-4444.js", 8888 },
};

/* A stand-in for a seed service: listens on its PORT when it has one, else stays alive. */
static const char stand_in[] =
    "const port = process.env.PORT;\n"
    "console.log(require('path').basename(__filename) + ' up, port ' + (port || '-'));\n"
    "if (port) require('net').createServer(c => c.end()).listen(Number(port), '127.0.0.1');\n"
    "else setInterval(() => {}, 1 << 30);\n";

/*
 * node runs the .js form. CI installs it (tools/debian-packages.txt): there
 * its absence is a failure; elsewhere the test is skipped.
 */
static gboolean
have_node (void)
{
  g_autofree char *node = g_find_program_in_path ("node");

  if (node != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("CI"), "true") == 0) {
    g_test_message ("node is not installed, but CI installs it (tools/debian-packages.txt)");
    g_test_fail ();
  } else {
    g_test_skip ("node is not installed");
  }
  return FALSE;
}

static guint
free_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

static gboolean
port_listens (guint port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET,
                              .sin_port = htons (port),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  gboolean ok = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;

  close (fd);
  return ok;
}

static char *
read_text (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static char *
fixture_path (const char *name)
{
  return g_build_filename (g_getenv ("TEND_TEST_SRCDIR"), "data", name, NULL);
}

static void
write_text (const char *path, const char *text, int mode)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error);
  g_assert_no_error (error);
}

/*
 * The seed's tree in @root: the fixture with /home/azureuser and /tmp/pm2-
 * moved under it and each port swapped for a free one (@ports, by index of
 * seed_services; tests run side by side), and a stand-in for each script.
 */
static char *
map_seed (const char *root, guint *ports)
{
  g_autofree char *fixture = fixture_path ("ecosystem.config.js");
  g_autofree char *original = read_text (fixture);
  g_autoptr (GString) text = g_string_new (original);
  g_autofree char *pm2_logs = g_strdup_printf ("%s/pm2-", root);
  g_autofree char *app = g_build_filename (root, "translation-app", NULL);
  g_autofree char *eco = g_build_filename (app, "ecosystem.config.js", NULL);

  g_assert_cmpuint (g_string_replace (text, "/home/azureuser", root, 0), ==, 9);
  g_assert_cmpuint (g_string_replace (text, "/tmp/pm2-", pm2_logs, 0), ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (seed_services); i++) {
    g_autofree char *dir = g_build_filename (app, seed_services[i].dir, NULL);
    g_autofree char *script = g_build_filename (dir, seed_services[i].script, NULL);

    ports[i] = 0;
    if (seed_services[i].port != 0) {
      g_autofree char *from = g_strdup_printf ("PORT: %u,", seed_services[i].port);
      g_autofree char *from_end = g_strdup_printf ("PORT: %u\n", seed_services[i].port);
      g_autofree char *to = NULL, *to_end = NULL;

      ports[i] = free_port ();
      to = g_strdup_printf ("PORT: %u,", ports[i]);
      to_end = g_strdup_printf ("PORT: %u\n", ports[i]);
      g_assert_cmpuint (g_string_replace (text, from, to, 0) + g_string_replace (text, from_end, to_end, 0), ==, 1);
      if (seed_services[i].port == 8083) {
        g_autofree char *url = g_strdup_printf ("localhost:%u", ports[i]);
        /* cloudflared's --url and TUNNEL_URL */
        g_assert_cmpuint (g_string_replace (text, "localhost:8083", url, 0), ==, 2);
      }
    }
    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    write_text (script, stand_in, 0644);
  }
  write_text (eco, text->str, 0644);
  return g_steal_pointer (&eco);
}

/* the state of every row of `tend status --json` is online, and there are @n rows */
typedef struct {
  TendTestDaemon *d;
  guint n;
} Online;

static gboolean
all_online (gpointer data)
{
  Online *o = data;
  g_autofree char *out = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonArray *rows;
  guint online = 0;

  if (tend_test_run_cli (o->d, &out, NULL, "status", "--json", NULL) != 0)
    return FALSE;
  node = json_from_string (out, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  rows = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (rows); i++)
    online +=
        g_strcmp0 (json_object_get_string_member (json_array_get_object_element (rows, i), "state"), "online") == 0;
  return json_array_get_length (rows) == o->n && online == o->n;
}

static gboolean
ports_listen (gpointer data)
{
  const guint *ports = data;

  for (guint i = 0; i < G_N_ELEMENTS (seed_services); i++) {
    if (ports[i] != 0 && !port_listens (ports[i]))
      return FALSE;
  }
  return TRUE;
}

static void
run_seed (gboolean keep_cloudflared)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *root = tend_test_daemon_path (d, "vm");
  g_autofree char *fake = tend_test_helper ("fake-cloudflared");
  g_autofree char *cloudflared = g_build_filename (root, "cloudflared-linux-amd64", NULL);
  g_autofree char *control = tend_test_daemon_path (d, "fake-cloudflared");
  g_autofree char *eco = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *expect = NULL;
  guint ports[G_N_ELEMENTS (seed_services)];
  Online online = { d, 9 };

  if (!have_node ())
    return;
  g_assert_cmpint (g_mkdir_with_parents (root, 0755), ==, 0);
  eco = map_seed (root, ports);
  if (keep_cloudflared) {
    write_text (cloudflared, "#!/bin/sh\necho \"cloudflared stand-in: $*\"\nexec sleep 100000\n", 0755);
    g_assert_cmpint (tend_test_run_cli (d, &out, &err, "import", "--keep-cloudflared", eco, "-o", d->config, NULL), ==,
                     0);
  } else {
    g_assert_cmpint (symlink (fake, cloudflared), ==, 0);
    g_assert_cmpint (g_mkdir_with_parents (control, 0755), ==, 0);
    g_setenv ("FAKE_CLOUDFLARED_DIR", control, TRUE);
    g_assert_cmpint (tend_test_run_cli (d, &out, &err, "import", eco, "-o", d->config, NULL), ==, 0);
  }
  g_test_message ("stderr of tend import:\n%s", err);
  g_assert_cmpstr (out, ==, "");
  conf = read_text (d->config);
  g_test_message ("%s", conf);

  /* what the hand-written data/examples/translation-app.conf says, in the import's words */
  g_assert_nonnull (strstr (conf, "[service:sttttserver]\nexec=node ./STTTTSserver.js\n"));
  expect = g_strdup_printf ("env=NODE_ENV=production;PORT=%u;SOCKET_PORT=6211\n", ports[0]);
  g_assert_nonnull (strstr (conf, expect));
  g_free (expect);
  expect = g_strdup_printf ("\nport=%u\n", ports[0]);
  g_assert_nonnull (strstr (conf, expect));
  g_assert_nonnull (strstr (conf, "max-restarts=10\nmin-uptime=10s\n"));
  g_assert_nonnull (strstr (conf, "max-memory-restart=500M\n"));
  g_assert_nonnull (strstr (conf, "merge-logs=true\n"));
  g_assert_nonnull (strstr (conf, "log-date-format=%Y-%m-%d %H:%M:%S %z\n"));
  g_assert_nonnull (strstr (conf, "[plugin:health]\nenabled=true\n"));
  g_free (expect);
  expect = g_strdup_printf ("out-file=%s/pm2-sttttserver-out.log\n", root);
  g_assert_nonnull (strstr (conf, expect));
  /* watch: false is what Tend does: not a warning; nothing else in the seed is left out */
  g_assert_null (strstr (err, "watch: "));
  g_assert_null (strstr (conf, "[service:sttttserver]\n# tend import"));

  g_free (expect);
  if (keep_cloudflared) {
    expect =
        g_strdup_printf ("[service:cloudflared]\nexec=%s tunnel --url http://localhost:%u\n", cloudflared, ports[3]);
    g_assert_nonnull (strstr (conf, expect));
    g_assert_null (strstr (conf, "[plugin:cloudflared]"));
  } else {
    expect = g_strdup_printf ("[plugin:cloudflared]\nenabled=true\nbinary=%s\nurl=http://localhost:%u\n", cloudflared,
                              ports[3]);
    g_assert_nonnull (strstr (conf, expect));
    g_assert_null (strstr (conf, "[service:cloudflared]"));
    g_assert_nonnull (strstr (err, "ecosystem.config.js: app cloudflared: script: becomes [plugin:cloudflared]"));
  }

  /* and it runs: the nine services online (cloudflared as the plugin's service), each port answered */
  tend_test_daemon_start (d);
  if (!tend_test_wait (all_online, &online, WAIT_MS)) {
    g_autofree char *status = NULL;
    tend_test_run_cli (d, &status, NULL, "status", NULL);
    g_test_message ("%s", status);
    g_assert_not_reached ();
  }
  g_assert_true (tend_test_wait (ports_listen, ports, WAIT_MS));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_unsetenv ("FAKE_CLOUDFLARED_DIR");
}

static void
test_seed_ecosystem (void)
{
  run_seed (FALSE);
}

static void
test_seed_keep_cloudflared (void)
{
  run_seed (TRUE);
}

static int
import_text (TendTestDaemon *d, const char *name, const char *text, const char *const *extra, char **out, char **err)
{
  g_autofree char *path = tend_test_daemon_path (d, name);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();

  write_text (path, text, 0644);
  g_ptr_array_add (args, (char *) "import");
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (char *) extra[i]);
  g_ptr_array_add (args, path);
  g_ptr_array_add (args, NULL);
  return tend_test_run_cli_env (d, NULL, (const char *const *) args->pdata, out, err);
}

#define JSON_APPS                                                                                            \
  "{\"apps\": [{\"name\": \"api\", \"script\": \"/bin/sleep\", \"args\": \"1000 'two words'\",\n"            \
  "  \"interpreter\": \"none\", \"cwd\": \"/tmp\", \"env\": {\"A\": \"x;y z\\\\w\", \"PORT\": 4000},\n"      \
  "  \"env_production\": {\"A\": \"prod\", \"PORT\": 4100},\n"                                               \
  "  \"watch\": true, \"cron_restart\": \"0 * * * *\", \"flux\": 1, \"instances\": \"max\", \"exec_mode\": " \
  "\"cluster\",\n"                                                                                           \
  "  \"log_date_format\": \"YYYY-MM-DD HH:mm:ss.SSS\", \"max_memory_restart\": \"1G\", \"kill_timeout\": 3000}]}\n"

/* the .json form: escapes, warnings for keys Tend lacks and for unknown ones, moment.js formats */
static void
test_json (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *cores = g_strdup_printf ("instances=%u\n", g_get_num_processors ());

  g_assert_cmpint (import_text (d, "eco.json", JSON_APPS, NULL, &out, &err), ==, 0);
  g_test_message ("%s\n%s", out, err);
  g_assert_nonnull (strstr (out, "[service:api]\nexec=/bin/sleep 1000 'two words'\ncwd=/tmp\n"));
  /* ';' and '\' escaped as tend_parse_env_list reads them back */
  g_assert_nonnull (strstr (out, "env=A=x\\;y z\\\\w;PORT=4000\n"));
  g_assert_nonnull (strstr (out, "\nport=4000\n"));
  g_assert_nonnull (strstr (out, cores));
  g_assert_nonnull (strstr (out, "log-date-format=%Y-%m-%d %H:%M:%S\n"));
  g_assert_nonnull (strstr (out, "max-memory-restart=1G\n"));
  g_assert_nonnull (strstr (out, "kill-timeout=3s\n"));
  /* one warning for each, on stderr and above the service */
  g_assert_nonnull (strstr (err, "eco.json: app api: watch: Tend does not watch files"));
  g_assert_nonnull (strstr (err, "eco.json: app api: cron_restart: Tend has no timed restarts"));
  g_assert_nonnull (strstr (err, "eco.json: app api: flux: unknown PM2 key (value \"1\"); left out"));
  g_assert_nonnull (strstr (err, "eco.json: app api: env_production: not used (tend import --env production"));
  g_assert_nonnull (strstr (err, "eco.json: app api: log_date_format: \"YYYY-MM-DD HH:mm:ss.SSS\" is "
                                 "%Y-%m-%d %H:%M:%S in strftime's terms, without SSS"));
  g_assert_nonnull (strstr (err, "eco.json: app api: instances: max means one per core"));
  g_assert_nonnull (strstr (err, "eco.json: app api: exec_mode: cluster: Tend runs"));
  g_assert_nonnull (strstr (out, "# tend import: watch: Tend does not watch files"));
  g_assert_nonnull (strstr (out, "# tend import: flux: unknown PM2 key"));
}

static void
test_env_production (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *const extra[] = { "--env", "production", NULL };

  g_assert_cmpint (import_text (d, "eco.json", JSON_APPS, extra, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "env=A=prod;PORT=4100\n"));
  g_assert_nonnull (strstr (out, "\nport=4100\n"));
  g_assert_null (strstr (err, "env_production"));
}

/* A bare array; the result runs: the escaped value reaches the program as it was written. */
static void
test_bare_array_runs (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *env_out = tend_test_daemon_path (d, "env.out");
  g_autofree char *text =
      g_strdup_printf ("[{\"name\": \"show\", \"script\": \"/bin/sh\", \"interpreter\": \"none\", \"cwd\": \"%s\",\n"
                       "  \"args\": [\"-c\", \"printf '%%s\\\\n' \\\"$A\\\" > env.out; exec sleep 100000\"],\n"
                       "  \"env\": {\"A\": \" x;y z\\\\w \"}}]",
                       d->dir);
  Online online = { d, 1 };
  g_autofree char *written = NULL;

  g_assert_cmpint (import_text (d, "eco.json", text, (const char *const[]){ "-o", d->config, NULL }, &out, &err), ==,
                   0);
  /* blanks at the ends of an env value are lost in env=: said */
  g_assert_nonnull (strstr (err, "app show: env: A: the blanks at the ends of its value are lost"));
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (all_online, &online, WAIT_MS));
  g_assert_true (tend_test_wait_lines (env_out, 1, WAIT_MS));
  written = read_text (env_out);
  g_assert_cmpstr (written, ==, "x;y z\\w\n");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* A dump written by pm2 7.0.4 (`pm2 save`, the shell's environment cleaned with env -i). */
static void
test_dump (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *dump = fixture_path ("dump.pm2");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "import", dump, NULL), ==, 0);
  g_test_message ("%s\n%s", out, err);
  g_assert_nonnull (strstr (out, "# Converted by `tend import` from the PM2 dump"));
  g_assert_nonnull (strstr (out, "[service:web]\nexec=node --max-old-space-size=256 /tmp/pm2fixture/web.js --flag "
                                 "'two words'\ncwd=/tmp/pm2fixture\n"));
  g_assert_nonnull (strstr (out, "NODE_ENV=production;PORT=18431;QUOTED=a\\;b c\\\\d\n"));
  g_assert_nonnull (strstr (out, "\nport=18431\n"));
  g_assert_nonnull (strstr (out, "max-memory-restart=200M\n"));
  /* PM2's cluster of two is listed twice in a dump: one service of two instances */
  g_assert_nonnull (strstr (out, "[service:api]\n"));
  g_assert_null (strstr (out, "[service:api-2]"));
  g_assert_nonnull (strstr (out, "instances=2\n"));
  g_assert_nonnull (strstr (out, "[service:worker]\nexec=python3 /tmp/pm2fixture/worker.py\n"));
  g_assert_nonnull (strstr (out, "out-file=/tmp/pm2fixture/worker-out.log\n"));
  g_assert_nonnull (strstr (out, "[service:sleeper]\nexec=/bin/sleep 1000\n"));
  /* PM2's own log folder and its variables are not carried over */
  g_assert_null (strstr (out, ".pm2/logs"));
  g_assert_null (strstr (out, "PM2_HOME="));
  g_assert_null (strstr (err, "unknown PM2 key"));
}

/* A syntax error: node's message, with the file and line, and exit status 1; nothing written. */
static void
test_bad_file (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *target = tend_test_daemon_path (d, "out.conf");
  const char *const extra[] = { "-o", target, NULL };

  g_assert_cmpint (import_text (d, "broken.json", "{\"apps\": [{\"name\": \"a\",]}\n", extra, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "broken.json:1:"));
  g_assert_nonnull (strstr (err, "not a JSON ecosystem file"));
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));

  if (!have_node ())
    return;
  g_assert_cmpint (
      import_text (d, "broken.config.js", "module.exports = {\n  apps: [ { name: 'a', }\n};\n", extra, &out, &err), ==,
      1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "broken.config.js: node could not evaluate it"));
  g_assert_nonnull (strstr (err, "SyntaxError"));
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
}

/* Without node, a .js file gets a message saying how to make the .json form. */
static void
test_no_node (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *empty = tend_test_daemon_path (d, "empty-bin");
  g_autofree char *path_env = g_strdup_printf ("PATH=%s", empty);
  g_autofree char *eco = tend_test_daemon_path (d, "eco.config.js");
  g_autofree char *err = NULL;
  const char *const env[] = { path_env, NULL };
  const char *const args[] = { "import", eco, NULL };

  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  write_text (eco, "module.exports = { apps: [] };\n", 0644);
  g_assert_cmpint (tend_test_run_cli_env (d, env, args, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "node, which is not installed here. Convert it to JSON first"));
}

/* Output that the strict reader refuses makes the import fail, with the reader's message. */
static void
test_check_failure (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* a user that does not exist: converted as written, refused by the check */
  g_assert_cmpint (import_text (d, "eco.json",
                                "{\"apps\": [{\"name\": \"a\", \"script\": \"/bin/true\", \"cwd\": \"/tmp\", "
                                "\"uid\": \"no-such-user-tend-import\"}]}",
                                NULL, &out, &err),
                   ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "<stdout>:"));
  g_assert_nonnull (strstr (err, "no-such-user-tend-import"));
  g_assert_nonnull (strstr (err, "does not pass tend check"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/import/seed-ecosystem", test_seed_ecosystem);
  g_test_add_func ("/import/seed-keep-cloudflared", test_seed_keep_cloudflared);
  g_test_add_func ("/import/json", test_json);
  g_test_add_func ("/import/env-production", test_env_production);
  g_test_add_func ("/import/bare-array-runs", test_bare_array_runs);
  g_test_add_func ("/import/dump", test_dump);
  g_test_add_func ("/import/bad-file", test_bad_file);
  g_test_add_func ("/import/no-node", test_no_node);
  g_test_add_func ("/import/check-failure", test_check_failure);
  return g_test_run ();
}
