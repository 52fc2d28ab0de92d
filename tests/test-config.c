/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tend-config.h"
#include "tend-dump.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-config-private.h"
#include "tend-service-schema.h"

/* the health plugin's [service:NAME] keys, which the test plugin beta declares here */
#include "../plugins/health/tend-health-keys.h"

/* ---------------------------------------------------------------------- */
/* A test plugin with one key of every kind; never instantiated by the reader */

static GType
test_plugin_get_type (void)
{
  return G_TYPE_OBJECT;
}

static const TendConfigKey alpha_keys[] = {
  { "name", TEND_CONFIG_KEY_STRING, "anon", NULL, "a string" },
  { "verbose", TEND_CONFIG_KEY_BOOL, "false", NULL, "a bool" },
  { "retain", TEND_CONFIG_KEY_UINT, "7", NULL, "a number" },
  { "workers", TEND_CONFIG_KEY_UINT, "4", "1..64", "a number in a range" },
  { "interval", TEND_CONFIG_KEY_DURATION, "2s", NULL, "a duration" },
  { "max-size", TEND_CONFIG_KEY_SIZE, "50M", NULL, "a size" },
  { "mode", TEND_CONFIG_KEY_CHOICE, "daily", "never|hourly|daily|weekly", "a choice" },
  { "tags", TEND_CONFIG_KEY_LIST, NULL, NULL, "a list" },
  { "listen", TEND_CONFIG_KEY_LISTEN_LIST, "127.0.0.1:9615", NULL, "addresses" },
  { "token-file", TEND_CONFIG_KEY_PATH, NULL, NULL, "a path" },
  { "period", TEND_CONFIG_KEY_DURATION, "1s", "100ms..1h", "a duration with a range" },
  { "count", TEND_CONFIG_KEY_UINT, "1", "1..10", "a number with a range" },
  { "quota", TEND_CONFIG_KEY_SIZE, NULL, "1K..1M", "a size with a range" },
  { NULL },
};

/* keys alpha adds to every [service:NAME] group */
static const TendConfigKey alpha_service_keys[] = {
  { "alpha-every", TEND_CONFIG_KEY_DURATION, "10s", "1ms..24h", "a duration with a range" },
  { "alpha-limit", TEND_CONFIG_KEY_SIZE, NULL, NULL, "a size" },
  { "alpha-mode", TEND_CONFIG_KEY_CHOICE, "off", "off|on", "a choice" },
  { NULL },
};

static const TendPluginInfo alpha_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "alpha",
  .description = "test plugin with every key kind",
  .get_type = test_plugin_get_type,
  .keys = alpha_keys,
  .enabled_by_default = FALSE,
  .service_keys = alpha_service_keys,
};

static const TendPluginInfo beta_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "beta",
  .description = "test plugin without keys, on by default",
  .get_type = test_plugin_get_type,
  .keys = NULL,
  .enabled_by_default = TRUE,
  .service_keys = tend_health_service_keys,
};

static TendPluginRegistry *
test_registry (void)
{
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (tend_plugin_registry_add_info (registry, &beta_info, &error));
  g_assert_true (tend_plugin_registry_add_info (registry, &alpha_info, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&registry);
}

static TendConfig *
read_ok (const char *data)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  TendConfig *config = tend_config_new_from_data (data, -1, "test.conf", "/srv/app", registry, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

/* the whole message is compared: it is the user interface of the reader */
static void
expect_error (const char *data, const char *expected)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config = tend_config_new_from_data (data, -1, "test.conf", "/srv/app", registry, &error);

  if (config != NULL)
    g_error ("expected \"%s\" from:\n%s", expected, data);
  g_assert_true (g_error_matches (error, TEND_ERROR, TEND_ERROR_CONFIG));
  if (strcmp (error->message, expected) != 0)
    g_error ("from:\n%s\nexpected: %s\n     got: %s", data, expected, error->message);
}

static TendServiceConfig *
only_service (TendConfig *config)
{
  GPtrArray *services = tend_config_get_services (config);

  g_assert_cmpuint (services->len, ==, 1);
  return g_ptr_array_index (services, 0);
}

/* ---------------------------------------------------------------------- */
/* Fixture: a temporary folder for files the config refers to */

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("tend-test-config-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_assert_cmpint (g_rmdir (path), ==, 0);
  } else {
    g_assert_cmpint (g_remove (path), ==, 0);
  }
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  remove_tree (fx->dir);
  g_free (fx->dir);
}

static char *
write_file (Fixture *fx, const char *name, const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (fx->dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static TendConfig *
read_in (Fixture *fx, TendPluginRegistry *registry, const char *data, GError **error)
{
  return tend_config_new_from_data (data, -1, "test.conf", fx->dir, registry, error);
}

/* ---------------------------------------------------------------------- */
/* Services */

static void
test_service_defaults (void)
{
  g_autoptr(TendConfig) config = read_ok ("[service:web]\nexec=/usr/bin/node server.js\n");
  TendServiceConfig *svc = only_service (config);

  g_assert_true (tend_config_lookup_service (config, "web") == svc);
  g_assert_null (tend_config_lookup_service (config, "other"));
  g_assert_cmpstr (svc->name, ==, "web");
  g_assert_cmpstr (svc->exec, ==, "/usr/bin/node server.js");
  g_assert_cmpstrv (svc->argv, ((const char *[]) { "/usr/bin/node", "server.js", NULL }));
  g_assert_false (svc->shell);
  g_assert_null (svc->cwd);
  g_assert_null (svc->env);
  g_assert_null (svc->env_file);
  g_assert_null (svc->user);
  g_assert_null (svc->group);
  g_assert_cmpuint (svc->instances, ==, 1);
  g_assert_null (svc->increment_var);
  g_assert_cmpint (svc->autorestart, ==, TEND_AUTORESTART_ALWAYS);
  g_assert_cmpuint (svc->max_restarts, ==, 16);
  g_assert_cmpuint (svc->min_uptime_ms, ==, 1000);
  g_assert_cmpuint (svc->restart_delay_ms, ==, 0);
  g_assert_cmpuint (svc->exp_backoff_restart_delay_ms, ==, 0);
  g_assert_cmpuint (svc->max_backoff_ms, ==, 15000);
  g_assert_cmpuint (tend_health_service_get_max_memory (svc), ==, 0);
  g_assert_cmpint (svc->kill_signal, ==, SIGTERM);
  g_assert_cmpuint (svc->kill_timeout_ms, ==, 1600);
  g_assert_null (svc->out_file);
  g_assert_null (svc->error_file);
  g_assert_false (svc->merge_logs);
  g_assert_null (svc->log_date_format);
  g_assert_cmpuint (svc->port, ==, 0);
  g_assert_null (svc->layer);
  g_assert_false (svc->critical);
  g_assert_null (svc->depends_on);
  g_assert_null (tend_service_config_get_plugin_value (svc, "health-check"));
  g_assert_null (tend_service_config_get_plugin_value (svc, "health-interval"));
  g_assert_cmpuint (tend_health_service_get_interval_ms (svc), ==, 10000);
  g_assert_cmpuint (tend_health_service_get_timeout_ms (svc), ==, 2000);
  g_assert_cmpuint (tend_health_service_get_retries (svc), ==, 3);
  g_assert_null (svc->ready_check);
  g_assert_false (svc->notify);
  g_assert_true (svc->start);
  g_assert_cmpstr (svc->source_file, ==, "test.conf");
  g_assert_cmpuint (svc->source_line, ==, 1);

  /* the same defaults as a fresh config */
  {
    g_autoptr(TendServiceConfig) fresh = tend_service_config_new ("web");
    fresh->exec = g_strdup (svc->exec);
    fresh->argv = g_strdupv (svc->argv);
    g_assert_true (tend_service_config_equal (fresh, svc));
  }
}

static const char all_keys_conf[] =
  "# every service key\n"
  "[service:db]\n"
  "exec=postgres\n"
  "\n"
  "[service:gateway-3333]\n"
  "exec=node ./gateway-3333.js --name \"my gateway\"\n"
  "cwd=app\n"
  "env=NODE_ENV=production;PORT=7777; EXTENSION = 3333 ;\n"
  "env-file=app.env\n"
  "user=root\n"
  "group=root\n"
  "instances=4\n"
  "increment-var=PORT\n"
  "autorestart=on-failure\n"
  "max-restarts=5\n"
  "min-uptime=2.5s\n"
  "restart-delay=250\n"
  "exp-backoff-restart-delay=100ms\n"
  "max-backoff=1m\n"
  "max-memory-restart=200M\n"
  "kill-signal=SIGINT\n"
  "kill-timeout=3s\n"
  "out-file=logs/out.log\n"
  "error-file=/var/log/gw-err.log\n"
  "merge-logs=true\n"
  "log-date-format=%Y-%m-%d %H:%M:%S\n"
  "port=7777\n"
  "layer=gateway\n"
  "critical=true\n"
  "depends-on=db\n"
  "health-check=http://127.0.0.1:7777/health\n"
  "health-interval=30s\n"
  "health-timeout=500ms\n"
  "health-retries=5\n"
  "ready-check=tcp://127.0.0.1:7777\n"
  "notify=true\n"
  "start=false\n";

static void
test_service_all_keys (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autofree char *env_file = write_file (fx, "app.env", "A=1\n");
  g_autofree char *cwd = g_build_filename (fx->dir, "app", NULL);
  g_autofree char *out_file = g_build_filename (fx->dir, "logs", "out.log", NULL);
  g_autoptr(TendConfig) config = read_in (fx, registry, all_keys_conf, &error);
  GPtrArray *services;
  TendServiceConfig *svc;

  g_assert_no_error (error);
  services = tend_config_get_services (config);
  g_assert_cmpuint (services->len, ==, 2);
  g_assert_cmpstr (((TendServiceConfig *) g_ptr_array_index (services, 0))->name, ==, "db");
  svc = g_ptr_array_index (services, 1);

  g_assert_cmpstr (svc->name, ==, "gateway-3333");
  g_assert_cmpstr (svc->exec, ==, "node ./gateway-3333.js --name \"my gateway\"");
  g_assert_cmpstrv (svc->argv, ((const char *[]) { "node", "./gateway-3333.js", "--name", "my gateway", NULL }));
  g_assert_false (svc->shell);
  g_assert_cmpstr (svc->cwd, ==, cwd);
  g_assert_cmpstrv (svc->env, ((const char *[]) { "NODE_ENV=production", "PORT=7777", "EXTENSION=3333", NULL }));
  g_assert_cmpstr (svc->env_file, ==, env_file);
  g_assert_cmpstr (svc->user, ==, "root");
  g_assert_cmpstr (svc->group, ==, "root");
  g_assert_cmpuint (svc->instances, ==, 4);
  g_assert_cmpstr (svc->increment_var, ==, "PORT");
  g_assert_cmpint (svc->autorestart, ==, TEND_AUTORESTART_ON_FAILURE);
  g_assert_cmpuint (svc->max_restarts, ==, 5);
  g_assert_cmpuint (svc->min_uptime_ms, ==, 2500);
  g_assert_cmpuint (svc->restart_delay_ms, ==, 250);
  g_assert_cmpuint (svc->exp_backoff_restart_delay_ms, ==, 100);
  g_assert_cmpuint (svc->max_backoff_ms, ==, 60000);
  g_assert_cmpuint (tend_health_service_get_max_memory (svc), ==, 200 * 1024 * 1024);
  g_assert_cmpint (svc->kill_signal, ==, SIGINT);
  g_assert_cmpuint (svc->kill_timeout_ms, ==, 3000);
  g_assert_cmpstr (svc->out_file, ==, out_file);
  g_assert_cmpstr (svc->error_file, ==, "/var/log/gw-err.log");
  g_assert_true (svc->merge_logs);
  g_assert_cmpstr (svc->log_date_format, ==, "%Y-%m-%d %H:%M:%S");
  g_assert_cmpuint (svc->port, ==, 7777);
  g_assert_cmpstr (svc->layer, ==, "gateway");
  g_assert_true (svc->critical);
  g_assert_cmpstrv (svc->depends_on, ((const char *[]) { "db", NULL }));
  g_assert_cmpstr (tend_health_service_get_check (svc), ==, "http://127.0.0.1:7777/health");
  g_assert_cmpstr (tend_service_config_get_plugin_value (svc, "health-interval"), ==, "30s");
  g_assert_cmpuint (tend_health_service_get_interval_ms (svc), ==, 30000);
  g_assert_cmpuint (tend_health_service_get_timeout_ms (svc), ==, 500);
  g_assert_cmpuint (tend_health_service_get_retries (svc), ==, 5);
  g_assert_cmpstr (svc->ready_check, ==, "tcp://127.0.0.1:7777");
  g_assert_true (svc->notify);
  g_assert_false (svc->start);
  g_assert_cmpuint (svc->source_line, ==, 5);
}

static void
test_service_values (void)
{
  g_autoptr(TendConfig) config = read_ok (
    "[service:a]\n"
    "exec = sleep 10   \n"
    "shell=1\n"
    "autorestart=false\n"
    "kill-signal=9\n"
    "depends-on=b, c\n"
    "health-check=exec:curl -sf http://127.0.0.1/\n"
    "ready-check=tcp://localhost\n"
    "port=80\n"
    "layer=\\sleading space\n"
    "env=A=x\\;y;B=\\\\\n"
    "[service:b]\n"
    "exec=true\n"
    "autorestart=true\n"
    "[service:c]\n"
    "exec=true\n");
  TendServiceConfig *a = tend_config_lookup_service (config, "a");
  TendServiceConfig *b = tend_config_lookup_service (config, "b");

  g_assert_cmpstr (a->exec, ==, "sleep 10");
  g_assert_true (a->shell);
  g_assert_cmpstrv (a->argv, ((const char *[]) { "/bin/sh", "-c", "sleep 10", NULL }));
  g_assert_cmpint (a->autorestart, ==, TEND_AUTORESTART_NEVER);
  g_assert_cmpint (b->autorestart, ==, TEND_AUTORESTART_ALWAYS);
  g_assert_cmpint (a->kill_signal, ==, SIGKILL);
  g_assert_cmpstrv (a->depends_on, ((const char *[]) { "b", "c", NULL }));
  g_assert_cmpstr (tend_health_service_get_check (a), ==, "exec:curl -sf http://127.0.0.1/");
  /* a tcp check without a port takes port= */
  g_assert_cmpstr (a->ready_check, ==, "tcp://localhost");
  g_assert_cmpstr (a->layer, ==, " leading space");
  g_assert_cmpstrv (a->env, ((const char *[]) { "A=x;y", "B=\\", NULL }));
  g_assert_cmpuint (tend_config_get_services (config)->len, ==, 3);
}

static void
test_service_paths (void)
{
  g_autoptr(TendConfig) config = read_ok (
    "[service:a]\n"
    "exec=x\n"
    "cwd=sub/dir\n"
    "out-file=../logs/./a.log\n"
    "error-file=/abs/err.log\n");
  TendServiceConfig *svc = only_service (config);

  g_assert_cmpstr (svc->cwd, ==, "/srv/app/sub/dir");
  g_assert_cmpstr (svc->out_file, ==, "/srv/logs/a.log");
  g_assert_cmpstr (svc->error_file, ==, "/abs/err.log");
}

typedef struct {
  const char *line; /* "key=value", placed on line 3 after exec */
  const char *reason;
} BadKey;

static void
test_service_bad_values (void)
{
  static const BadKey cases[] = {
    { "min-uptime=10x", "min-uptime: not a duration: \"10x\" (use a number with ms, s, m or h)" },
    { "restart-delay=-5s", "restart-delay: not a duration: \"-5s\" (must not be negative)" },
    { "exp-backoff-restart-delay=1.5", "exp-backoff-restart-delay: not a duration: \"1.5\" (finer than a millisecond)" },
    { "max-backoff=99999999999999999999h", "max-backoff: duration too large: \"99999999999999999999h\"" },
    { "kill-timeout=soon", "kill-timeout: not a duration: \"soon\" (use a number with ms, s, m or h)" },
    { "health-interval=0", "health-interval: out of range: \"0\" (use 1ms to 24h)" },
    { "health-timeout=0s", "health-timeout: out of range: \"0s\" (use 1ms to 24h)" },
    { "max-memory-restart=200X", "max-memory-restart: not a size: \"200X\" (use a number with K, M or G)" },
    { "max-memory-restart=-1M", "max-memory-restart: not a size: \"-1M\" (must not be negative)" },
    { "max-memory-restart=99999999999G", "max-memory-restart: size too large: \"99999999999G\"" },
    { "shell=yes", "shell: not a boolean: \"yes\" (use true or false)" },
    { "merge-logs=True", "merge-logs: not a boolean: \"True\" (use true or false)" },
    { "critical=on", "critical: not a boolean: \"on\" (use true or false)" },
    { "notify=2", "notify: not a boolean: \"2\" (use true or false)" },
    { "start=no", "start: not a boolean: \"no\" (use true or false)" },
    { "instances=0", "instances: out of range: 0 (use 1 to 1024)" },
    { "instances=1025", "instances: out of range: 1025 (use 1 to 1024)" },
    { "instances=two", "instances: not a number: \"two\"" },
    { "max-restarts=-1", "max-restarts: not a number: \"-1\"" },
    { "max-restarts=4294967296", "max-restarts: out of range: 4294967296 (use 0 to 1000000)" },
    { "port=0", "port: out of range: 0 (use 1 to 65535)" },
    { "port=65536", "port: out of range: 65536 (use 1 to 65535)" },
    { "port=http", "port: not a number: \"http\"" },
    { "health-retries=0", "health-retries: out of range: 0 (use 1 to 1000000)" },
    { "kill-signal=SIGFOO", "kill-signal: not a signal: \"SIGFOO\" (use a name such as SIGTERM or SIGINT, or a number)" },
    { "env=A=1;oops", "env: not KEY=VALUE: \"oops\"" },
    { "env=1A=x", "env: not a variable name: \"1A\" (use letters, digits and _, not starting with a digit)" },
    { "increment-var=1PORT", "increment-var: not a variable name: \"1PORT\" (use letters, digits and _, not starting with a digit)" },
    { "autorestart=always", "autorestart: not a valid choice: \"always\" (use true, on-failure or false)" },
    { "user=nosuchuser-tend", "user: unknown user: \"nosuchuser-tend\"" },
    { "group=nosuchgroup-tend", "group: unknown group: \"nosuchgroup-tend\"" },
    { "health-check=ftp://x", "health-check: not a check: \"ftp://x\" (use http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND)" },
    { "health-check=http://", "health-check: not a URL: \"http://\" (use http://HOST:PORT/PATH)" },
    { "health-check=http://h:0/", "health-check: not a URL: \"http://h:0/\" (use http://HOST:PORT/PATH)" },
    { "health-check=http://h:99999/", "health-check: not a URL: \"http://h:99999/\" (use http://HOST:PORT/PATH)" },
    { "health-check=tcp://h:99999", "health-check: not a TCP address: \"tcp://h:99999\" (use tcp://HOST:PORT, port 1 to 65535)" },
    { "health-check=tcp://", "health-check: not a TCP address: \"tcp://\" (use tcp://HOST:PORT)" },
    { "health-check=tcp://h", "health-check: no port in \"tcp://h\" and no port= key (use tcp://HOST:PORT)" },
    { "ready-check=exec:", "ready-check: exec: needs a command (e.g. exec:curl -sf http://127.0.0.1:8080/)" },
    { "ready-check=exec:echo 'open", "ready-check: cannot split the command \"echo 'open\": Text ended before matching quote was found for '. (The text was “echo 'open”)" },
    { "log-date-format=", "log-date-format: empty value" },
    /* the seed's ecosystem file: PM2's moment.js tokens, which strftime would print as they are */
    { "log-date-format=YYYY-MM-DD HH:mm:ss Z",
      "log-date-format: \"YYYY-MM-DD HH:mm:ss Z\" is a PM2 (moment.js) date format; Tend takes a strftime format: "
      "use \"%Y-%m-%d %H:%M:%S %z\"" },
    { "log-date-format=HH:mm:ss.SSS",
      "log-date-format: \"HH:mm:ss.SSS\" is a PM2 (moment.js) date format; Tend takes a strftime format: "
      "use \"%H:%M:%S\" (strftime has no SSS)" },
    { "log-date-format=today", "log-date-format: \"today\" has no strftime conversion (such as %Y-%m-%d %H:%M:%S): "
                               "it would print the same text before every line" },
    { "log-date-format=%Y %Q", "log-date-format: \"%Y %Q\" has a conversion strftime does not know (%Q)" },
    { "log-date-format=%H:%M %", "log-date-format: a % at the end of \"%H:%M %\" starts no conversion" },
    { "layer=", "layer: empty value" },
    { "match=pidfile:run/x.pid", "match: pidfile: needs an absolute path, not \"run/x.pid\"" },
    { "match=cmdline:", "match: empty match: use cmdline:REGEX or pidfile:PATH" },
    { "cwd=", "cwd: empty path" },
    { "depends-on=a", "depends-on: a service cannot depend on itself" },
    { "depends-on=zzz", "depends-on: unknown service \"zzz\" (services in this file: a)" },
    { "depends-on=bad/name", "depends-on: not a service name: \"bad/name\"" },
    { "min-uptime=1s  # one second", "min-uptime: not a duration: \"1s  # one second\" (use a number with ms, s, m or h) (comments must be on a line of their own)" },
    { "layer=a\\qb", "layer: bad escape sequence in \"a\\qb\" (write \\\\ for a backslash)" },
    { "restart=true",
      "restart: unknown key (known keys: exec, shell, cwd, env, env-file, user, group, instances, increment-var, "
      "autorestart, max-restarts, min-uptime, restart-delay, exp-backoff-restart-delay, max-backoff, "
      "kill-signal, kill-timeout, out-file, error-file, merge-logs, log-date-format, port, "
      "layer, critical, depends-on, ready-check, "
      "notify, start, match, "
      /* then the enabled plugins' keys: beta's (on by default), not alpha's (off) */
      "max-memory-restart, health-check, health-interval, health-timeout, health-retries)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *data = g_strdup_printf ("[service:a]\nexec=/bin/true\n%s\n", cases[i].line);
    g_autofree char *expected = g_strdup_printf ("test.conf:3: [service:a] %s", cases[i].reason);
    expect_error (data, expected);
  }
}

/* issue 10: a value past what its use holds wrapped round (4294967296s became 0, 4294967297ms 1 ms) */
static void
test_service_ranges (void)
{
  static const BadKey cases[] = {
    { "min-uptime=4294967296s", "min-uptime: out of range: \"4294967296s\" (use 0 to 24h)" },
    { "restart-delay=4294967297ms", "restart-delay: out of range: \"4294967297ms\" (use 0 to 24h)" },
    { "exp-backoff-restart-delay=25h", "exp-backoff-restart-delay: out of range: \"25h\" (use 0 to 24h)" },
    { "max-backoff=1441m", "max-backoff: out of range: \"1441m\" (use 0 to 24h)" },
    { "kill-timeout=86400001", "kill-timeout: out of range: \"86400001\" (use 0 to 24h)" },
    { "health-interval=4294967296s", "health-interval: out of range: \"4294967296s\" (use 1ms to 24h)" },
    { "health-timeout=24.5h", "health-timeout: out of range: \"24.5h\" (use 1ms to 24h)" },
    { "max-memory-restart=1025G", "max-memory-restart: out of range: \"1025G\" (use 0 to 1024G)" },
    { "max-memory-restart=17179869184G", "max-memory-restart: size too large: \"17179869184G\"" },
    { "max-restarts=1000001", "max-restarts: out of range: 1000001 (use 0 to 1000000)" },
    { "health-retries=1000001", "health-retries: out of range: 1000001 (use 1 to 1000000)" },
    { "instances=4294967297", "instances: out of range: 4294967297 (use 1 to 1024)" },
    { "port=4294967297", "port: out of range: 4294967297 (use 1 to 65535)" },
  };
  g_autoptr(TendConfig) config = NULL;
  TendServiceConfig *svc;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *data = g_strdup_printf ("[service:a]\nexec=/bin/true\n%s\n", cases[i].line);
    g_autofree char *expected = g_strdup_printf ("test.conf:3: [service:a] %s", cases[i].reason);
    expect_error (data, expected);
  }

  /* the maxima themselves are fine */
  config = read_ok ("[service:a]\nexec=/bin/true\nmin-uptime=24h\nrestart-delay=86400000\n"
                    "exp-backoff-restart-delay=1440m\nmax-backoff=86400s\nkill-timeout=24h\n"
                    "health-interval=24h\nhealth-timeout=24h\nmax-memory-restart=1024G\n"
                    "max-restarts=1000000\nhealth-retries=1000000\n");
  svc = only_service (config);
  g_assert_cmpuint (svc->kill_timeout_ms, ==, 86400000);
  g_assert_cmpuint (tend_health_service_get_max_memory (svc), ==, G_GUINT64_CONSTANT (1024) << 30);
  g_assert_cmpuint (svc->max_restarts, ==, 1000000);
}

/* the series of an increment-var is checked when the file sets its base */
static void
test_increment_var_range (Fixture *fx, gconstpointer data)
{
  g_autofree char *env_file = g_build_filename (fx->dir, "app.env", NULL);
  g_autofree char *text = NULL;
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config = NULL;

  expect_error ("[service:a]\nexec=x\nenv=PORT=65534\ninstances=3\nincrement-var=PORT\n",
                "test.conf:5: [service:a] increment-var: PORT=65534 with 3 instances gives up to 65536, past 65535 "
                "(the largest port)");
  expect_error ("[service:a]\nexec=x\nincrement-var=API_PORT\ninstances=2\nenv=API_PORT=65535\n",
                "test.conf:3: [service:a] increment-var: API_PORT=65535 with 2 instances gives up to 65536, past "
                "65535 (the largest port)");
  expect_error ("[service:a]\nexec=x\nenv=N=4294967295\ninstances=2\nincrement-var=N\n",
                "test.conf:5: [service:a] increment-var: N=4294967295 with 2 instances gives up to 4294967296, past "
                "4294967295");
  expect_error ("[service:a]\nexec=x\nenv=PORT=http\nincrement-var=PORT\n",
                "test.conf:4: [service:a] increment-var: PORT is \"http\", not a number from 0 to 4294967295");
  config = read_ok ("[service:a]\nexec=x\nenv=PORT=65533\ninstances=3\nincrement-var=PORT\n");
  g_clear_object (&config);
  config = read_ok ("[service:a]\nexec=x\nenv=N=4294967294;PORTS=x\ninstances=2\nincrement-var=N\n");
  g_clear_object (&config);
  /* a base only the daemon's environment has is checked at each start */
  config = read_ok ("[service:a]\nexec=x\ninstances=3\nincrement-var=PORT\n");
  g_clear_object (&config);

  /* from the env-file too, and env wins over it */
  g_assert_true (g_file_set_contents (env_file, "PORT=1\nPORT=65535\n", -1, NULL));
  text = g_strdup_printf ("[service:a]\nexec=x\nenv-file=%s\ninstances=2\nincrement-var=PORT\n", env_file);
  config = read_in (fx, registry, text, &error);
  g_assert_null (config);
  /* the file's value is not shown: the message may reach those who may not read the file */
  g_assert_cmpstr (error->message, ==,
                   "test.conf:5: [service:a] increment-var: PORT in the env-file with 2 instances goes past 65535 "
                   "(the largest port)");
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (env_file, "PORT=secret-port\n", -1, NULL));
  config = read_in (fx, registry, text, &error);
  g_assert_null (config);
  g_assert_cmpstr (error->message, ==,
                   "test.conf:5: [service:a] increment-var: PORT in the env-file is not a number from 0 to 4294967295");
  g_clear_error (&error);
  g_free (text);
  text = g_strdup_printf ("[service:a]\nexec=x\nenv-file=%s\nenv=PORT=8000\ninstances=2\nincrement-var=PORT\n",
                          env_file);
  config = read_in (fx, registry, text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
}

static void
test_service_exec (void)
{
  expect_error ("[service:a]\nport=80\n",
                "test.conf:1: [service:a]: missing required key exec (the command to run)");
  expect_error ("[service:a]\nexec=\n", "test.conf:2: [service:a] exec: empty command");
  expect_error ("[service:a]\nexec=   \n", "test.conf:2: [service:a] exec: empty command");
  expect_error ("[service:a]\nexec=echo \"open\nport=1\n",
                "test.conf:2: [service:a] exec: cannot split the command line: "
                "Text ended before matching quote was found for \". (The text was “echo \"open”)");
}

static void
test_service_names (void)
{
  const char *bad[] = { "bad name", "all", "a/b", "", "..", "x:y" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *data = g_strdup_printf ("\n[service:%s]\nexec=x\n", bad[i]);
    g_autofree char *expected = g_strdup_printf (
      "test.conf:2: [service:%s]: not a valid service name (use letters, digits, \"-\", \"_\" and \".\", "
      "at most 64; not \"all\")", bad[i]);
    expect_error (data, expected);
  }
}

static void
test_depends_on (void)
{
  g_autoptr(TendConfig) config = read_ok (
    "[service:web]\nexec=x\ndepends-on=api;db\n"
    "[service:api]\nexec=x\ndepends-on=db\n"
    "[service:db]\nexec=x\n");

  g_assert_cmpstrv (tend_config_lookup_service (config, "web")->depends_on,
                    ((const char *[]) { "api", "db", NULL }));

  expect_error ("[service:a]\nexec=x\ndepends-on=b\n"
                "[service:b]\nexec=x\ndepends-on=a\n",
                "test.conf:3: [service:a] depends-on: dependency cycle: a -> b -> a");
  expect_error ("[service:x]\nexec=x\ndepends-on=b\n"
                "[service:a]\nexec=x\ndepends-on=b\n"
                "[service:b]\nexec=x\ndepends-on=c\n"
                "[service:c]\nexec=x\ndepends-on=a\n",
                "test.conf:9: [service:b] depends-on: dependency cycle: b -> c -> a -> b");
  expect_error ("[service:a]\nexec=x\n\n[service:b]\nexec=x\ndepends-on=a,c\n",
                "test.conf:6: [service:b] depends-on: unknown service \"c\" (services in this file: a, b)");
}

/* ---------------------------------------------------------------------- */
/* File structure */

static void
test_structure_errors (void)
{
  expect_error ("exec=x\n",
                "test.conf:1: key \"exec\" is outside any group (add a group header such as [service:NAME] above it)");
  expect_error ("# comment\n\n  port = 1\n[service:a]\n",
                "test.conf:3: key \"port\" is outside any group (add a group header such as [service:NAME] above it)");
  expect_error ("[service:a]\nexec=/bin/true\njunk\n",
                "test.conf:3: [service:a]: not a key=value line, group header or comment: \"junk\"");
  expect_error ("junk\n", "test.conf:1: not a key=value line, group header or comment: \"junk\"");
  expect_error ("[service:a]\nexec=/bin/true\nexec=/bin/false\n",
                "test.conf:3: [service:a] exec: duplicate key (first at line 2)");
  expect_error ("[service:a]\nexec=x\n\n[service:b]\nexec=y\n[service:a]\nexec=y\n",
                "test.conf:6: [service:a]: duplicate group (first at line 1)");
  expect_error ("[tend]\n[services:a]\nexec=x\n",
                "test.conf:2: [services:a]: unknown group (groups are [tend], [plugin:NAME] and [service:NAME])");
  expect_error ("[service:a\n", "test.conf:1: not a group header: \"[service:a\"");
  expect_error ("[service:a] x\n", "test.conf:1: not a group header: \"[service:a] x\"");
  expect_error ("[]\n", "test.conf:1: not a group header: \"[]\"");
  expect_error ("[service:a]\nexec=x\nex ec=1\n", "test.conf:3: [service:a]: not a valid key name: \"ex ec\"");
  expect_error ("[service:a]\nexec=x\n=1\n", "test.conf:3: [service:a]: not a valid key name: \"\"");
  expect_error ("[service:a]\nexec=x\nlayer=\xff\n", "test.conf:3: not valid UTF-8 text");
}

static void
test_structure_ok (void)
{
  /* comments, blank lines, CRLF, blanks around keys and after a group header */
  g_autoptr(TendConfig) config = read_ok ("# head\r\n"
                                          "\r\n"
                                          "  [service:a]   \r\n"
                                          "\t# indented comment\r\n"
                                          "  exec   =   /bin/true  \r\n"
                                          "layer=a;b # not a comment\r\n");
  TendServiceConfig *svc = only_service (config);

  g_assert_cmpstr (svc->exec, ==, "/bin/true");
  g_assert_cmpstrv (svc->argv, ((const char *[]) { "/bin/true", NULL }));
  g_assert_cmpstr (svc->layer, ==, "a;b # not a comment");
  g_assert_cmpuint (svc->source_line, ==, 3);
}

/* ---------------------------------------------------------------------- */
/* [tend] */

static void
test_tend_group (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autofree char *plugins = g_build_filename (fx->dir, "plugins", NULL);
  g_autoptr(TendConfig) config = NULL;
  const char *modes[] = { "auto", "system", "session", "none" };

  g_assert_cmpint (g_mkdir (plugins, 0700), ==, 0);
  config = read_in (fx, registry, "[tend]\ndbus=session\nadmin-group=root\nplugin-dir=plugins\n", &error);
  g_assert_no_error (error);
  g_assert_cmpint (tend_config_get_dbus_mode (config), ==, TEND_DBUS_MODE_SESSION);
  g_assert_cmpstr (tend_config_get_admin_group (config), ==, "root");
  g_assert_cmpstr (tend_config_get_plugin_dir (config), ==, plugins);
  g_assert_cmpstr (tend_config_get_path (config), ==, "test.conf");
  g_clear_object (&config);

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_autofree char *text = g_strdup_printf ("[tend]\ndbus=%s\n", modes[i]);
    config = read_ok (text);
    g_assert_cmpstr (tend_dbus_mode_to_string (tend_config_get_dbus_mode (config)), ==, modes[i]);
    g_clear_object (&config);
  }

  config = read_ok ("[tend]\n");
  g_assert_cmpint (tend_config_get_dbus_mode (config), ==, TEND_DBUS_MODE_AUTO);
  g_assert_null (tend_config_get_admin_group (config));
  g_assert_null (tend_config_get_plugin_dir (config));

  expect_error ("[tend]\ndbus=bus\n",
                "test.conf:2: [tend] dbus: not a valid choice: \"bus\" (use auto, system, session or none)");
  expect_error ("[tend]\ndbus=auto   # auto | system\n",
                "test.conf:2: [tend] dbus: not a valid choice: \"auto   # auto | system\" "
                "(use auto, system, session or none) (comments must be on a line of their own)");
  expect_error ("[tend]\nadmin-group=nosuchgroup-tend\n",
                "test.conf:2: [tend] admin-group: unknown group: \"nosuchgroup-tend\"");
  expect_error ("[tend]\nplugin-dir=does-not-exist\n",
                "test.conf:2: [tend] plugin-dir: not a directory: \"/srv/app/does-not-exist\"");
  expect_error ("[tend]\nlisten=1\n",
                "test.conf:2: [tend] listen: unknown key (known keys: dbus, admin-group, plugin-dir)");
}

/* ---------------------------------------------------------------------- */
/* Plugins */

static void
test_plugins_enabled (void)
{
  g_autoptr(TendConfig) absent = read_ok ("");
  g_autoptr(TendConfig) present = read_ok ("[plugin:alpha]\n[plugin:beta]\n");
  g_autoptr(TendConfig) explicit = read_ok ("[plugin:alpha]\nenabled=true\n[plugin:beta]\nenabled=false\n");
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(TendConfig) empty = tend_config_new_empty (registry);
  GPtrArray *plugins = tend_config_get_plugins (absent);

  /* every plugin the registry knows, sorted, whether or not it has a group */
  g_assert_cmpuint (plugins->len, ==, 2);
  g_assert_cmpstr (tend_plugin_config_get_name (g_ptr_array_index (plugins, 0)), ==, "alpha");
  g_assert_cmpstr (tend_plugin_config_get_name (g_ptr_array_index (plugins, 1)), ==, "beta");

  g_assert_false (tend_plugin_config_get_enabled (tend_config_lookup_plugin (absent, "alpha")));
  g_assert_true (tend_plugin_config_get_enabled (tend_config_lookup_plugin (absent, "beta")));
  g_assert_null (tend_config_lookup_plugin (absent, "gamma"));

  g_assert_true (tend_plugin_config_get_enabled (tend_config_lookup_plugin (present, "alpha")));
  g_assert_true (tend_plugin_config_get_enabled (tend_config_lookup_plugin (present, "beta")));

  g_assert_true (tend_plugin_config_get_enabled (tend_config_lookup_plugin (explicit, "alpha")));
  g_assert_false (tend_plugin_config_get_enabled (tend_config_lookup_plugin (explicit, "beta")));

  g_assert_cmpuint (tend_config_get_plugins (empty)->len, ==, 2);
  g_assert_false (tend_plugin_config_get_enabled (tend_config_lookup_plugin (empty, "alpha")));
  g_assert_true (tend_plugin_config_get_enabled (tend_config_lookup_plugin (empty, "beta")));
  g_assert_cmpuint (tend_config_get_services (empty)->len, ==, 0);
  g_assert_cmpint (tend_config_get_dbus_mode (empty), ==, TEND_DBUS_MODE_AUTO);

  /* a plugin without its group equals the same plugin read from nothing */
  g_assert_true (tend_plugin_config_equal (tend_config_lookup_plugin (absent, "alpha"),
                                           tend_config_lookup_plugin (empty, "alpha")));
  g_assert_false (tend_plugin_config_equal (tend_config_lookup_plugin (absent, "alpha"),
                                            tend_config_lookup_plugin (present, "alpha")));
}

static void
test_plugins_values (void)
{
  g_autoptr(TendConfig) config = read_ok ("[plugin:alpha]\n"
                                          "name=hello world\n"
                                          "verbose=true\n"
                                          "retain=12\n"
                                          "workers=64\n"
                                          "interval=1.5s\n"
                                          "max-size=1G\n"
                                          "mode=weekly\n"
                                          "tags= a , b;c\n"
                                          "listen=127.0.0.1:0;[::1]:9000;LocalHost:1;[::]:2;0.0.0.0:3\n"
                                          "token-file=secret/token\n");
  g_autoptr(TendConfig) defaults = read_ok ("[plugin:alpha]\n");
  TendPluginConfig *pc = tend_config_lookup_plugin (config, "alpha");
  TendPluginConfig *dc = tend_config_lookup_plugin (defaults, "alpha");
  g_auto(GStrv) tags = tend_plugin_config_get_list (pc, "tags");
  g_auto(GStrv) listen = tend_plugin_config_get_list (pc, "listen");
  g_auto(GStrv) no_tags = tend_plugin_config_get_list (dc, "tags");
  g_auto(GStrv) default_listen = tend_plugin_config_get_list (dc, "listen");

  g_assert_cmpstr (tend_plugin_config_get_string (pc, "name"), ==, "hello world");
  g_assert_true (tend_plugin_config_get_bool (pc, "verbose"));
  g_assert_cmpuint (tend_plugin_config_get_uint (pc, "retain"), ==, 12);
  g_assert_cmpuint (tend_plugin_config_get_duration (pc, "interval"), ==, 1500);
  g_assert_cmpuint (tend_plugin_config_get_size (pc, "max-size"), ==, G_GUINT64_CONSTANT (1) << 30);
  g_assert_cmpstr (tend_plugin_config_get_string (pc, "mode"), ==, "weekly");
  g_assert_cmpstrv (tags, ((const char *[]) { "a", "b", "c", NULL }));
  g_assert_cmpstrv (listen,
                    ((const char *[]) { "127.0.0.1:0", "[::1]:9000", "LocalHost:1", "[::]:2", "0.0.0.0:3", NULL }));
  g_assert_cmpuint (tend_plugin_config_get_uint (pc, "workers"), ==, 64);
  g_assert_cmpstr (tend_plugin_config_get_string (pc, "token-file"), ==, "/srv/app/secret/token");
  g_assert_true (tend_plugin_config_has_key (pc, "retain"));
  g_assert_false (tend_plugin_config_has_key (pc, "enabled"));

  /* defaults from the table */
  g_assert_false (tend_plugin_config_has_key (dc, "retain"));
  g_assert_cmpstr (tend_plugin_config_get_string (dc, "name"), ==, "anon");
  g_assert_false (tend_plugin_config_get_bool (dc, "verbose"));
  g_assert_cmpuint (tend_plugin_config_get_uint (dc, "retain"), ==, 7);
  g_assert_cmpuint (tend_plugin_config_get_duration (dc, "interval"), ==, 2000);
  g_assert_cmpuint (tend_plugin_config_get_size (dc, "max-size"), ==, 50 * 1024 * 1024);
  g_assert_cmpstr (tend_plugin_config_get_string (dc, "mode"), ==, "daily");
  g_assert_cmpuint (g_strv_length (no_tags), ==, 0);
  g_assert_cmpstrv (default_listen, ((const char *[]) { "127.0.0.1:9615", NULL }));
  g_assert_null (tend_plugin_config_get_string (dc, "token-file"));

  g_assert_false (tend_plugin_config_equal (pc, dc));
}

static void
test_plugins_equal (void)
{
  /* values equal to the defaults, written differently, are no change */
  g_autoptr(TendConfig) a = read_ok ("[plugin:alpha]\nmax-size=52428800\ninterval=2000\nretain=7\n");
  g_autoptr(TendConfig) b = read_ok ("[plugin:alpha]\n");
  g_autoptr(TendConfig) c = read_ok ("[plugin:alpha]\nretain=8\n");

  g_assert_true (tend_plugin_config_equal (tend_config_lookup_plugin (a, "alpha"),
                                           tend_config_lookup_plugin (b, "alpha")));
  g_assert_false (tend_plugin_config_equal (tend_config_lookup_plugin (b, "alpha"),
                                            tend_config_lookup_plugin (c, "alpha")));
}

static void
test_plugins_errors (void)
{
  static const BadKey cases[] = {
    { "enabled=maybe", "enabled: not a boolean: \"maybe\" (use true or false)" },
    { "verbose=yes", "verbose: not a boolean: \"yes\" (use true or false)" },
    { "retain=x", "retain: not a number: \"x\"" },
    { "interval=5x", "interval: not a duration: \"5x\" (use a number with ms, s, m or h)" },
    { "max-size=5X", "max-size: not a size: \"5X\" (use a number with K, M or G)" },
    { "mode=monthly", "mode: not a valid choice: \"monthly\" (use never, hourly, daily or weekly)" },
    { "listen=nohost", "listen: not HOST:PORT: \"nohost\"" },
    { "listen=127.0.0.1:1;x:99999", "listen: not HOST:PORT: \"x:99999\" (the port is a number from 0 to 65535)" },
    { "listen=", "listen: empty list (use HOST:PORT, separated by ';')" },
    /* no DNS look-up at start: a name is refused while the file is read, with its line */
    { "listen=127.0.0.1:1;db.internal:9000",
      "listen: not an IP address or localhost: \"db.internal\" (a host name would need a DNS look-up; listen on the "
      "address it stands for)" },
    { "workers=0", "workers: out of range: 0 (use 1 to 64)" },
    { "workers=65", "workers: out of range: 65 (use 1 to 64)" },
    { "token-file=", "token-file: empty path" },
    /* without a range of its own, a key takes what a guint count or timer holds */
    { "interval=4294967296s", "interval: out of range: \"4294967296s\" (use 0 to 24h)" },
    { "interval=4294967297ms", "interval: out of range: \"4294967297ms\" (use 0 to 24h)" },
    { "retain=4294967296", "retain: out of range: 4294967296 (use 0 to 4294967295)" },
    { "max-size=1025G", "max-size: out of range: \"1025G\" (use 0 to 1024G)" },
    /* and with one */
    { "period=50ms", "period: out of range: \"50ms\" (use 100ms to 1h)" },
    { "period=61m", "period: out of range: \"61m\" (use 100ms to 1h)" },
    { "count=0", "count: out of range: 0 (use 1 to 10)" },
    { "count=11", "count: out of range: 11 (use 1 to 10)" },
    { "quota=2M", "quota: out of range: \"2M\" (use 1K to 1M)" },
    { "port=1",
      "port: unknown key (known keys: enabled, name, verbose, retain, workers, interval, max-size, mode, tags, "
      "listen, token-file, period, count, quota)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *data = g_strdup_printf ("[plugin:alpha]\n# a comment\n%s\n", cases[i].line);
    g_autofree char *expected = g_strdup_printf ("test.conf:3: [plugin:alpha] %s", cases[i].reason);
    expect_error (data, expected);
  }

  expect_error ("[plugin:beta]\nx=1\n", "test.conf:2: [plugin:beta] x: unknown key (known keys: enabled)");
  expect_error ("\n[plugin:nope]\nenabled=false\n",
                "test.conf:2: [plugin:nope]: unknown plugin (plugins available: alpha, beta)");
  expect_error ("[plugin:]\n", "test.conf:1: [plugin:]: missing plugin name (use [plugin:NAME])");

  /* with no plugins at all */
  {
    g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(TendConfig) config =
      tend_config_new_from_data ("[plugin:http]\n", -1, "x.conf", "/", registry, &error);

    g_assert_null (config);
    g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
    g_assert_cmpstr (error->message, ==, "x.conf:1: [plugin:http]: unknown plugin (no plugins available)");
  }
}

static void
test_plugin_config_direct (void)
{
  g_autoptr(TendPluginConfig) pc = tend_plugin_config_new ("alpha", alpha_keys);
  g_autoptr(GError) error = NULL;

  g_assert_false (tend_plugin_config_get_enabled (pc));
  g_assert_true (tend_plugin_config_set (pc, "enabled", "true", &error));
  g_assert_true (tend_plugin_config_get_enabled (pc));
  tend_plugin_config_set_enabled (pc, FALSE);
  g_assert_false (tend_plugin_config_get_enabled (pc));

  g_assert_true (tend_plugin_config_set (pc, "interval", "90s", &error));
  g_assert_cmpuint (tend_plugin_config_get_duration (pc, "interval"), ==, 90000);
  g_assert_false (tend_plugin_config_set (pc, "interval", "fast", &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "not a duration: \"fast\" (use a number with ms, s, m or h)");
  g_clear_error (&error);
  /* a failed set keeps the old value */
  g_assert_cmpuint (tend_plugin_config_get_duration (pc, "interval"), ==, 90000);

  g_assert_true (tend_plugin_config_ref (pc) == pc);
  tend_plugin_config_unref (pc);
}

static void
test_plugin_getter_misuse_subprocess (void)
{
  g_autoptr(TendPluginConfig) pc = tend_plugin_config_new ("alpha", alpha_keys);

  /* not in the table: a bug in the plugin */
  tend_plugin_config_get_string (pc, "missing");
}

static void
test_plugin_getter_misuse (void)
{
  g_test_trap_subprocess ("/tend/config/plugin/getter-misuse/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*plugin alpha has no config key \"missing\"*");
}

/* ---------------------------------------------------------------------- */
/* Registry */

static void
test_registry_info (void)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = tend_plugin_registry_list (registry);
  TendPluginInfo bad_abi = alpha_info;
  TendPluginInfo no_name = alpha_info;

  g_assert_cmpstrv (names, ((const char *[]) { "alpha", "beta", NULL }));
  g_assert_true (tend_plugin_registry_lookup (registry, "alpha") == &alpha_info);
  g_assert_null (tend_plugin_registry_lookup (registry, "gamma"));

  /* the first registration of a name wins */
  g_assert_false (tend_plugin_registry_add_info (registry, &alpha_info, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_clear_error (&error);

  bad_abi.name = "old";
  bad_abi.abi_version = TEND_PLUGIN_ABI_VERSION + 1;
  g_assert_false (tend_plugin_registry_add_info (registry, &bad_abi, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_clear_error (&error);

  no_name.name = "";
  g_assert_false (tend_plugin_registry_add_info (registry, &no_name, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  g_clear_error (&error);

  g_assert_null (tend_plugin_registry_lookup (registry, "old"));
  g_assert_true (tend_plugin_registry_lookup (registry, "alpha") == &alpha_info);

  /* a missing folder is not an error */
  tend_plugin_registry_scan_dir (registry, "/nonexistent/tend/plugins");
  g_assert_cmpuint (g_strv_length (names), ==, 2);
}

static void
test_registry_bad_module_subprocess (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tend-test-registry-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "broken.so", NULL);
  g_autofree char *other = g_build_filename (dir, "README", NULL);
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
  g_auto(GStrv) names = NULL;

  g_assert_true (g_file_set_contents (bad, "not an ELF file", -1, NULL));
  g_assert_true (g_file_set_contents (other, "ignored", -1, NULL));
  /* the reader's warning is the behaviour under test, not a failure */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  tend_plugin_registry_scan_dir (registry, dir);
  /* once per folder: no second warning */
  tend_plugin_registry_scan_dir (registry, dir);
  names = tend_plugin_registry_list (registry);
  g_assert_cmpuint (g_strv_length (names), ==, 0);
  g_remove (bad);
  g_remove (other);
  g_rmdir (dir);
}

static void
test_registry_bad_module (void)
{
  g_test_trap_subprocess ("/tend/config/registry/bad-module/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*skipping plugin *broken.so*");
  g_test_trap_assert_stderr_unmatched ("*skipping plugin*skipping plugin*");
  g_test_trap_assert_stderr_unmatched ("*README*");
}

static void
test_registry_default_dirs_subprocess (void)
{
  g_autofree char *a = g_dir_make_tmp ("tend-test-registry-a-XXXXXX", NULL);
  g_autofree char *b = g_dir_make_tmp ("tend-test-registry-b-XXXXXX", NULL);
  g_autofree char *bad_a = g_build_filename (a, "first.so", NULL);
  g_autofree char *bad_b = g_build_filename (b, "second.so", NULL);
  g_autofree char *env = g_strdup_printf ("%s::%s", a, b);
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();

  g_assert_true (g_file_set_contents (bad_a, "junk", -1, NULL));
  g_assert_true (g_file_set_contents (bad_b, "junk", -1, NULL));
  g_setenv ("TEND_PLUGIN_DIR", env, TRUE);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  tend_plugin_registry_scan_default_dirs (registry);
  g_remove (bad_a);
  g_remove (bad_b);
  g_rmdir (a);
  g_rmdir (b);
}

static void
test_registry_default_dirs (void)
{
  /* every folder of the ':' separated list is scanned */
  g_test_trap_subprocess ("/tend/config/registry/default-dirs/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*skipping plugin *first.so*skipping plugin *second.so*");
}

/* the real modules of the build tree, when meson points TEND_PLUGIN_DIR at them */
static void
test_registry_modules (void)
{
  const char *dir = g_getenv ("TEND_PLUGIN_DIR");
  g_autofree char *process = dir != NULL ? g_build_filename (dir, "tend-process.so", NULL) : NULL;
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
  const TendPluginInfo *info;
  g_auto(GStrv) first = NULL;
  g_auto(GStrv) second = NULL;

  if (process == NULL || !g_file_test (process, G_FILE_TEST_EXISTS)) {
    g_test_skip ("no process plugin built");
    return;
  }
  tend_plugin_registry_scan_dir (registry, dir);
  info = tend_plugin_registry_lookup (registry, "process");
  g_assert_nonnull (info);
  g_assert_cmpuint (info->abi_version, ==, TEND_PLUGIN_ABI_VERSION);
  g_assert_cmpstr (info->name, ==, "process");
  first = tend_plugin_registry_list (registry);

  /* a folder is scanned once; the default folders add nothing already known */
  tend_plugin_registry_scan_dir (registry, dir);
  tend_plugin_registry_scan_default_dirs (registry);
  second = tend_plugin_registry_list (registry);
  g_assert_cmpstrv (first, second);
  g_assert_true (tend_plugin_registry_lookup (registry, "process") == info);
}

/* the shipped plugins give their numeric keys the ranges they can use */
static void
test_registry_module_ranges (void)
{
  static const struct {
    const char *text;
    const char *message;
  } cases[] = {
    { "[plugin:health]\nsample-interval=4294967296s\n",
      "x.conf:2: [plugin:health] sample-interval: out of range: \"4294967296s\" (use 100ms to 1h)" },
    { "[plugin:health]\nsample-interval=0\n",
      "x.conf:2: [plugin:health] sample-interval: out of range: \"0\" (use 100ms to 1h)" },
    { "[plugin:logrotate]\nretain=10001\n",
      "x.conf:2: [plugin:logrotate] retain: out of range: 10001 (use 0 to 10000)" },
    { "[plugin:logrotate]\nmax-size=2048G\n",
      "x.conf:2: [plugin:logrotate] max-size: out of range: \"2048G\" (use 0 to 1024G)" },
    { "[plugin:cloudflared]\nreconnect-timeout=4294967297ms\n",
      "x.conf:2: [plugin:cloudflared] reconnect-timeout: out of range: \"4294967297ms\" (use 100ms to 24h)" },
    { "[plugin:cloudflared]\nhook-timeout=0\n",
      "x.conf:2: [plugin:cloudflared] hook-timeout: out of range: \"0\" (use 100ms to 24h)" },
  };
  const char *dir = g_getenv ("TEND_PLUGIN_DIR");
  g_autofree char *health = dir != NULL ? g_build_filename (dir, "tend-health.so", NULL) : NULL;
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
  g_autoptr(TendConfig) ok = NULL;
  g_autoptr(GError) error = NULL;

  if (health == NULL || !g_file_test (health, G_FILE_TEST_EXISTS)) {
    g_test_skip ("no plugins built");
    return;
  }
  tend_plugin_registry_scan_dir (registry, dir);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(TendConfig) config = tend_config_new_from_data (cases[i].text, -1, "x.conf", "/", registry, &error);

    g_assert_null (config);
    g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
    g_assert_cmpstr (error->message, ==, cases[i].message);
    g_clear_error (&error);
  }
  ok = tend_config_new_from_data ("[plugin:health]\nsample-interval=100ms\n[plugin:logrotate]\nretain=10000\n"
                                  "[plugin:cloudflared]\nreconnect-timeout=24h\n",
                                  -1, "x.conf", "/", registry, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tend_plugin_config_get_duration (tend_config_lookup_plugin (ok, "health"), "sample-interval"), ==,
                    100);
}

/* ---------------------------------------------------------------------- */
/* env-file */

static void
test_env_file (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autofree char *good = write_file (fx, "good.env", "# vars\nexport A=1\nB='two words'\n");
  g_autofree char *bad = write_file (fx, "bad.env", "A=1\nthis is wrong\n");
  g_autofree char *missing = g_build_filename (fx->dir, "missing.env", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(TendConfig) config = read_in (fx, registry, "[service:a]\nexec=x\nenv-file=good.env\n", &error);

  g_assert_no_error (error);
  /* only the path is kept; the file is read again at each start */
  g_assert_cmpstr (only_service (config)->env_file, ==, good);
  g_assert_null (only_service (config)->env);

  g_assert_null (read_in (fx, registry, "[service:a]\nexec=x\nenv-file=bad.env\n", &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  /* the line number, never the line: the file may be someone else's secret */
  expected = g_strdup_printf ("test.conf:3: [service:a] env-file: %s:2: not KEY=VALUE", bad);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  g_assert_null (read_in (fx, registry, "[service:a]\nexec=x\n\nenv-file=missing.env\n", &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  expected = g_strdup_printf ("test.conf:4: [service:a] env-file: %s: cannot read: %s", missing, g_strerror (ENOENT));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  /* a device is no env-file: /dev/zero would be read for ever */
  g_assert_null (read_in (fx, registry, "[service:a]\nexec=x\nenv-file=/dev/zero\n", &error));
  g_assert_cmpstr (error->message, ==,
                   "test.conf:3: [service:a] env-file: /dev/zero: not a regular file but a device");
  g_clear_error (&error);

  /* a byte-order mark and CRLF, as a Windows editor writes them */
  {
    g_autofree char *windows = write_file (fx, "windows.env", "\xef\xbb\xbfPORT=8000\r\nNAME=x\r\n");
    g_auto(GStrv) env = NULL;

    g_assert_true (tend_parse_env_file (windows, &env, &error));
    g_assert_no_error (error);
    g_assert_cmpstrv (env, ((const char *[]) { "PORT=8000", "NAME=x", NULL }));
  }
}

/* ---------------------------------------------------------------------- */
/* Files */

static void
test_from_file (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_file (fx, "tend.conf", "# services\n\n[service:a]\nexec=x\ncwd=work\n");
  g_autofree char *bad = write_file (fx, "bad.conf", "[service:a]\nexec=x\n\n\nport=none\n");
  g_autofree char *missing = g_build_filename (fx->dir, "missing.conf", NULL);
  g_autofree char *cwd = g_build_filename (fx->dir, "work", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *saved_cwd = g_get_current_dir ();
  g_autoptr(TendConfig) config = tend_config_new_from_file (path, registry, &error);
  TendServiceConfig *svc;

  g_assert_no_error (error);
  g_assert_cmpstr (tend_config_get_path (config), ==, path);
  svc = only_service (config);
  g_assert_cmpstr (svc->source_file, ==, path);
  g_assert_cmpuint (svc->source_line, ==, 3);
  g_assert_cmpstr (svc->cwd, ==, cwd);
  g_clear_object (&config);

  /* a relative file name is made absolute for messages and paths */
  g_assert_cmpint (g_chdir (fx->dir), ==, 0);
  config = tend_config_new_from_file ("tend.conf", registry, &error);
  g_assert_cmpint (g_chdir (saved_cwd), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpstr (tend_config_get_path (config), ==, path);
  g_assert_cmpstr (only_service (config)->cwd, ==, cwd);
  g_clear_object (&config);

  g_assert_null (tend_config_new_from_file (bad, registry, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  expected = g_strdup_printf ("%s:5: [service:a] port: not a number: \"none\"", bad);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  g_assert_null (tend_config_new_from_file (missing, registry, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  expected = g_strdup_printf ("%s: cannot read: %s", missing, g_strerror (ENOENT));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  g_assert_null (tend_config_new_from_file (fx->dir, registry, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  expected = g_strdup_printf ("%s: cannot read: %s", fx->dir, g_strerror (EISDIR));
  g_assert_cmpstr (error->message, ==, expected);
}

/* ---------------------------------------------------------------------- */
/* TendServiceConfig: equal, to_key_file */

static TendConfig *
reread (GKeyFile *kf, const char *base_dir, TendPluginRegistry *registry)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  g_autofree char *text = g_key_file_to_data (kf, &len, NULL);
  TendConfig *config = tend_config_new_from_data (text, (gssize) len, "dump.conf", base_dir, registry, &error);

  if (error != NULL)
    g_error ("rereading:\n%s\n%s", text, error->message);
  return config;
}

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  /* all_keys_conf names this file */
  g_autofree char *env_file G_GNUC_UNUSED = write_file (fx, "app.env", "A=1\n");
  g_autoptr(TendConfig) config = read_in (fx, registry, all_keys_conf, &error);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(TendConfig) again = NULL;
  GPtrArray *services;

  g_assert_no_error (error);
  services = tend_config_get_services (config);
  for (guint i = 0; i < services->len; i++)
    tend_service_config_to_key_file (g_ptr_array_index (services, i), kf);

  /* only non-default keys: db has nothing but exec */
  {
    g_auto(GStrv) keys = g_key_file_get_keys (kf, "service:db", NULL, NULL);
    g_assert_cmpstrv (keys, ((const char *[]) { "exec", NULL }));
  }

  /* from another folder: every path was written absolute */
  again = reread (kf, "/elsewhere", registry);
  g_assert_cmpuint (tend_config_get_services (again)->len, ==, services->len);
  for (guint i = 0; i < services->len; i++) {
    TendServiceConfig *a = g_ptr_array_index (services, i);
    TendServiceConfig *b = g_ptr_array_index (tend_config_get_services (again), i);
    g_assert_cmpstr (b->source_file, ==, "dump.conf");
    g_assert_true (tend_service_config_equal (a, b));
  }
}

static void
test_round_trip_tricky (void)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(TendServiceConfig) svc = tend_service_config_new ("odd");
  g_autoptr(TendServiceConfig) argv_only = tend_service_config_new ("argv-only");
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(TendConfig) again = NULL;
  TendServiceConfig *back;
  const char *env[] = { "A=x;y", "B=c:\\", "C=# not a comment", NULL };
  const char *argv[] = { "printf", "%s\\n", "two words", NULL };

  svc->exec = g_strdup ("printf '%s\\n' \"a;b\"");
  svc->argv = g_strdupv ((char **) ((const char *[]) { "printf", "%s\\n", "a;b", NULL }));
  svc->env = g_strdupv ((char **) env);
  svc->layer = g_strdup ("  spaced out  ");
  svc->log_date_format = g_strdup ("%H:%M\t");
  svc->kill_signal = SIGRTMIN + 2;
  svc->autorestart = TEND_AUTORESTART_NEVER;
  tend_service_config_set_plugin_value (svc, "max-memory-restart", "1536");
  svc->min_uptime_ms = 0;
  tend_service_config_set_plugin_value (svc, "health-interval", "1ms");
  svc->shell = FALSE;
  tend_service_config_to_key_file (svc, kf);

  /* an ad hoc service may only have argv */
  argv_only->argv = g_strdupv ((char **) argv);
  tend_service_config_to_key_file (argv_only, kf);

  again = reread (kf, "/", registry);
  back = tend_config_lookup_service (again, "odd");
  g_assert_nonnull (back);
  g_assert_cmpstrv (back->env, env);
  g_assert_cmpstr (back->layer, ==, "  spaced out  ");
  g_assert_cmpstr (back->log_date_format, ==, "%H:%M\t");
  g_assert_true (tend_service_config_equal (svc, back));

  back = tend_config_lookup_service (again, "argv-only");
  g_assert_cmpstrv (back->argv, argv);
}

static void
test_equal (void)
{
  g_autoptr(TendServiceConfig) a = tend_service_config_new ("x");
  g_autoptr(TendServiceConfig) b = tend_service_config_new ("x");
  g_autoptr(TendServiceConfig) c = tend_service_config_new ("y");
  TendServiceConfig *copy;

  g_assert_true (tend_service_config_equal (a, b));
  g_assert_false (tend_service_config_equal (a, c));

  /* where it was written does not matter */
  a->source_file = g_strdup ("a.conf");
  a->source_line = 3;
  g_assert_true (tend_service_config_equal (a, b));

  /* NULL and empty vectors both mean none */
  b->env = g_new0 (char *, 1);
  g_assert_true (tend_service_config_equal (a, b));
  b->depends_on = g_strdupv ((char **) ((const char *[]) { "z", NULL }));
  g_assert_false (tend_service_config_equal (a, b));
  g_clear_pointer (&b->depends_on, g_strfreev);

  b->kill_timeout_ms++;
  g_assert_false (tend_service_config_equal (a, b));
  b->kill_timeout_ms--;
  b->notify = TRUE;
  g_assert_false (tend_service_config_equal (a, b));
  b->notify = FALSE;
  b->cwd = g_strdup ("/tmp");
  g_assert_false (tend_service_config_equal (a, b));
  g_clear_pointer (&b->cwd, g_free);
  g_assert_true (tend_service_config_equal (a, b));

  /* boxed: copy is a reference */
  g_assert_true (G_TYPE_IS_BOXED (TEND_TYPE_SERVICE_CONFIG));
  copy = g_boxed_copy (TEND_TYPE_SERVICE_CONFIG, a);
  g_assert_true (copy == a);
  g_boxed_free (TEND_TYPE_SERVICE_CONFIG, copy);
}


/* ---------------------------------------------------------------------- */
/* Messages (issue 10): every error names its line; echoed text is escaped and short */

static char *
read_error (const char *data, gssize length)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config = tend_config_new_from_data (data, length, "test.conf", "/srv/app", registry, &error);

  g_assert_null (config);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  return g_strdup (error->message);
}

/* found by fuzz-dump: GLib 2.74 warned "GError set over the top of a previous GError" on two bad escapes */
static void
test_double_bad_escape (void)
{
  g_log_set_fatal_mask ("GLib", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  expect_error ("[service:a]\nexec=x\nlayer=a\\;\\\n",
                "test.conf:3: [service:a] layer: bad escape sequence in \"a\\;\\\" (write \\\\ for a backslash)");
  expect_error ("[service:a]\nexec=x\nenv=\\q;\\\n",
                "test.conf:3: [service:a] env: bad escape sequence in \"\\q;\\\" (write \\\\ for a backslash, "
                "\\; for a semicolon)");
  expect_error ("[service:a]\nexec=x\nenv=x;\\q\\\n",
                "test.conf:3: [service:a] env: bad escape sequence in \"x;\\q\\\" (write \\\\ for a backslash, "
                "\\; for a semicolon)");
}

static void
test_carriage_returns (void)
{
  g_autoptr(TendConfig) crlf = NULL;
  g_autoptr(TendConfig) last = NULL;
  TendServiceConfig *svc;

  /* CRLF line ends, the last line too, with or without its line end */
  crlf = read_ok ("[tend]\r\ndbus=none\r\n\r\n[plugin:alpha]\r\nretain=3\r\n[service:a]\r\nexec=x y\r\n");
  g_assert_cmpint (tend_config_get_dbus_mode (crlf), ==, TEND_DBUS_MODE_NONE);
  g_assert_cmpuint (tend_plugin_config_get_uint (tend_config_lookup_plugin (crlf, "alpha"), "retain"), ==, 3);
  g_assert_cmpstr (only_service (crlf)->exec, ==, "x y");
  /* GKeyFile alone rejected "[tend]\r" at the end of a file, with no line number */
  g_clear_object (&crlf);
  crlf = read_ok ("[service:a]\nexec=x\n[tend]\r");
  last = read_ok ("[service:a]\r\nexec=x\r");
  svc = only_service (last);
  g_assert_cmpstr (svc->exec, ==, "x");

  /* any other CR is refused, on its line */
  expect_error ("[service:a]\nexec=x\n[plugin:alpha]\r\r\n",
                "test.conf:3: a carriage return inside a line (only \\r\\n line ends are allowed): "
                "\"[plugin:alpha]\\r\"");
  expect_error ("[service:a]\nexec=a\rb\n",
                "test.conf:2: a carriage return inside a line (only \\r\\n line ends are allowed): \"exec=a\\rb\"");
  expect_error ("[service:a]\rexec=x\r",
                "test.conf:1: a carriage return inside a line (only \\r\\n line ends are allowed): "
                "\"[service:a]\\rexec=x\"");
}

static void
test_byte_order_mark (void)
{
  g_autoptr(TendConfig) config = read_ok ("\xef\xbb\xbf[service:a]\nexec=x\n");
  TendServiceConfig *svc = only_service (config);

  /* a leading BOM is skipped and the lines keep their numbers */
  g_assert_cmpuint (svc->source_line, ==, 1);
  g_clear_object (&config);
  config = read_ok ("\xef\xbb\xbf# comment\r\n[service:a]\r\nexec=x\r\n");
  g_assert_cmpuint (only_service (config)->source_line, ==, 2);
  /* anywhere else it is a character like another, shown as such */
  expect_error ("[service:a]\n\xef\xbb\xbf" "exec=x\n", "test.conf:2: [service:a]: not a valid key name: \"\\ufeffexec\"");
  expect_error ("\xef\xbb\xbf\xef\xbb\xbf[service:a]\nexec=x\n",
                "test.conf:1: not a key=value line, group header or comment: \"\\ufeff[service:a]\"");
}

static void
test_echo_escaped (void)
{
  g_autofree char *message = NULL;
  g_autoptr(GString) huge_key = g_string_new ("[service:a]\nexec=x\n");
  g_autoptr(GString) huge_line = g_string_new ("[service:a]\nexec=x\n");
  g_autoptr(GString) huge_group = g_string_new ("[plugin:");
  g_autofree char *eighty = g_strnfill (80, 'k');

  /* a 1 MiB key: the message holds 80 characters of it, not the megabyte */
  g_string_append (huge_key, "x");
  for (guint i = 0; i < 1024 * 1024; i++)
    g_string_append_c (huge_key, 'k');
  g_string_append (huge_key, "=1\n");
  message = read_error (huge_key->str, -1);
  g_assert_cmpuint (strlen (message), <, 1000);
  g_assert_true (g_str_has_prefix (message, "test.conf:3: [service:a] xkkkk"));
  g_assert_nonnull (strstr (message, "k\u2026: unknown key (known keys: exec,"));
  g_clear_pointer (&message, g_free);

  /* a 1 MiB line that is not key=value */
  for (guint i = 0; i < 1024 * 1024; i++)
    g_string_append_c (huge_line, 'z');
  message = read_error (huge_line->str, -1);
  g_assert_cmpuint (strlen (message), <, 1000);
  g_assert_true (g_str_has_suffix (message, "zzz\u2026\" (1048576 bytes)"));
  g_clear_pointer (&message, g_free);

  /* a 1 MiB group name */
  for (guint i = 0; i < 1024 * 1024; i++)
    g_string_append_c (huge_group, 'g');
  g_string_append (huge_group, "]\n");
  message = read_error (huge_group->str, -1);
  g_assert_cmpuint (strlen (message), <, 1000);
  g_assert_true (g_str_has_prefix (message, "test.conf:1: [plugin:ggg"));
  g_clear_pointer (&message, g_free);

  /* control characters: an escape sequence does not reach the terminal */
  expect_error ("[service:a]\nexec=x\nport=1\x1b[31mred\n",
                "test.conf:3: [service:a] port: not a number: \"1\\x1b[31mred\"");
  expect_error ("[service:a]\nexec=x\nkill-signal=\x7fTERM\n",
                "test.conf:3: [service:a] kill-signal: not a signal: \"\\x7fTERM\" (use a name such as SIGTERM or "
                "SIGINT, or a number)");
  expect_error ("[service:a]\nexec=x\nhealth-check=tcp://\xe2\x80\xaeh:1/x\n",
                "test.conf:3: [service:a] health-check: not a TCP address: \"tcp://\\u202eh:1/x\" (use "
                "tcp://HOST:PORT)");
  expect_error ("[service:a]\nexec=x\nlayer=a\tb\nport=\t\n", "test.conf:4: [service:a] port: not a number: \"\"");
  expect_error ("[service:a]\nexec=x\nport=a\tb\n", "test.conf:3: [service:a] port: not a number: \"a\\tb\"");
  /* a NUL byte */
  message = read_error ("[service:a]\nexec=x\0y\n", 21);
  g_assert_cmpstr (message, ==, "test.conf:2: a NUL byte (not a text file?)");
  g_clear_pointer (&message, g_free);

  /* GLib's own words about a command line are shortened too */
  {
    g_autofree char *data = g_strdup_printf ("[service:a]\nexec=echo '%s\n", eighty);
    message = read_error (data, -1);
    g_assert_nonnull (strstr (message, "test.conf:2: [service:a] exec: cannot split the command line: "));
    g_assert_null (strstr (message, eighty));
    g_assert_nonnull (strstr (message, "\u2026"));
  }
}

/* the list of names in a message is capped, and so is a long dependency loop */
static void
test_long_lists (void)
{
  g_autoptr(GString) many = g_string_new (NULL);
  g_autoptr(GString) loop = g_string_new (NULL);
  g_autofree char *message = NULL;

  for (guint i = 0; i < 50; i++)
    g_string_append_printf (many, "[service:s%u]\nexec=x\n", i);
  g_string_append (many, "[service:last]\nexec=x\ndepends-on=nope\n");
  message = read_error (many->str, -1);
  g_assert_cmpstr (message, ==,
                   "test.conf:103: [service:last] depends-on: unknown service \"nope\" (services in this file: s0, "
                   "s1, s2, s3, s4, s5, s6, s7, s8, s9, \u2026 (51 in all))");
  g_clear_pointer (&message, g_free);

  for (guint i = 0; i < 40; i++)
    g_string_append_printf (loop, "[service:s%u]\nexec=x\ndepends-on=s%u\n", i, (i + 1) % 40);
  message = read_error (loop->str, -1);
  g_assert_cmpstr (message, ==,
                   "test.conf:3: [service:s0] depends-on: dependency cycle: s0 -> s1 -> s2 -> s3 -> s4 -> \u2026 (40 "
                   "services) -> s38 -> s39 -> s0");
}

/* a dump's errors name the dump's own lines, not those of a rewritten copy */
static void
test_dump_lines (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "dump.conf", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config = NULL;
  g_auto(GStrv) running = NULL;

  g_assert_true (g_file_set_contents (path,
                                      "# written by tend save at 2026-01-01T00:00:00Z; restore it with tend resurrect\n"
                                      "[service:a]\n"
                                      "exec=x\n"
                                      "\n"
                                      "[service:b]\n"
                                      "exec=y\n"
                                      "port=99999\n"
                                      "\n"
                                      "[tend-dump]\n"
                                      "version=1\n"
                                      "running=a;b;\n",
                                      -1, NULL));
  config = tend_dump_load (path, registry, &running, &error);
  g_assert_null (config);
  expected = g_strdup_printf ("the dump is damaged, nothing was restored: %s:7: [service:b] port: out of range: 99999 "
                              "(use 1 to 65535)",
                              path);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  /* [tend-dump] need not be last, CRLF and a BOM are fine, and what follows keeps its line numbers */
  g_assert_true (g_file_set_contents (path,
                                      "\xef\xbb\xbf# a dump\r\n"
                                      "[tend-dump]\r\n"
                                      "version=1\r\n"
                                      "running=a;\r\n"
                                      "[service:a]\r\n"
                                      "exec=x\r\n"
                                      "depends-on=main\r\n",
                                      -1, NULL));
  config = tend_dump_load (path, registry, &running, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (running, ((const char *[]) { "a", NULL }));
  g_assert_cmpuint (only_service (config)->source_line, ==, 5);
  g_clear_object (&config);

  /* cut short: no [tend-dump] */
  g_assert_true (g_file_set_contents (path, "[service:a]\nexec=x\n", -1, NULL));
  config = tend_dump_load (path, registry, &running, &error);
  g_assert_null (config);
  g_assert_nonnull (strstr (error->message, "the dump is damaged or truncated (no [tend-dump] version=1 at its end)"));
}

/* Every key of the [service:NAME] schema is documented in docs/configuration.md's [service:NAME] section. */
static void
test_schema_documented (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEND_TEST_SRCDIR"), "..", "docs", "configuration.md", NULL);
  g_autofree char *text = NULL;
  const char *section;
  const TendServiceKey *keys;
  guint n_keys;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  section = strstr (text, "## `[service:NAME]`");
  g_assert_nonnull (section);
  keys = tend_service_schema_get_keys (&n_keys);
  g_assert_cmpuint (n_keys, >, 0);
  for (guint i = 0; i < n_keys; i++) {
    g_autofree char *quoted = g_strdup_printf ("`%s`", keys[i].name);

    if (strstr (section, quoted) == NULL)
      g_error ("the key %s of [service:NAME] is missing from %s", keys[i].name, path);
  }
  /* and those the in-tree plugins add */
  for (const TendConfigKey *k = tend_health_service_keys; k->name != NULL; k++) {
    g_autofree char *quoted = g_strdup_printf ("`%s`", k->name);

    if (strstr (section, quoted) == NULL)
      g_error ("the health plugin's service key %s is missing from %s", k->name, path);
  }
}

/* Each key set to something other than its default makes the config unequal, is dumped and reads back equal. */
static void
test_schema_round_trip (void)
{
  /* a value other than the default for each type of the table */
  static const struct {
    const char *key, *value;
  } values[] = {
    { "exec", "/bin/true x" }, { "shell", "true" }, { "cwd", "/tmp" }, { "env", "A=1;B=2" },
    { "env-file", "(a temporary file)" }, { "user", "root" }, { "group", "root" }, { "instances", "3" },
    { "increment-var", "PORT" }, { "autorestart", "on-failure" }, { "max-restarts", "2" },
    { "min-uptime", "2s" }, { "restart-delay", "5ms" }, { "exp-backoff-restart-delay", "100ms" },
    { "max-backoff", "1m" }, { "kill-signal", "SIGINT" },
    { "kill-timeout", "3s" }, { "out-file", "/tmp/o.log" }, { "error-file", "/tmp/e.log" },
    { "merge-logs", "true" }, { "log-date-format", "%F %T " }, { "port", "8080" }, { "layer", "web" },
    { "critical", "true" }, { "depends-on", "db" },
    { "ready-check", "http://127.0.0.1:1/" }, { "notify", "true" }, { "start", "false" },
    { "match", "cmdline:^node app[.]js$" },
  };
  const TendServiceKey *keys;
  guint n_keys;
  g_autofree char *env_file = NULL;
  int fd = g_file_open_tmp ("tend-schema-XXXXXX.env", &env_file, NULL);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "A=1\n", 4), ==, 4);
  close (fd);
  keys = tend_service_schema_get_keys (&n_keys);
  g_assert_cmpuint (n_keys, ==, G_N_ELEMENTS (values));
  for (guint i = 0; i < n_keys; i++) {
    g_autofree char *plain = g_strdup ("[service:db]\nexec=/bin/true x\n[service:a]\nexec=/bin/true x\n");
    g_autofree char *text = NULL;
    g_autofree char *dumped = NULL;
    g_autofree char *group_text = NULL;
    g_autoptr(TendConfig) base = NULL;
    g_autoptr(TendConfig) changed = NULL;
    g_autoptr(TendConfig) again = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    TendServiceConfig *a, *b, *c;
    const char *value = NULL;

    for (guint j = 0; j < G_N_ELEMENTS (values); j++) {
      if (g_str_equal (values[j].key, keys[i].name))
        value = values[j].value;
    }
    g_assert_nonnull (value);
    if (g_str_equal (keys[i].name, "env-file"))
      value = env_file;
    if (g_str_equal (keys[i].name, "exec"))
      text = g_strdup_printf ("[service:db]\nexec=/bin/true x\n[service:a]\nexec=/bin/true y\n");
    else
      text = g_strdup_printf ("%s%s=%s\n", plain, keys[i].name, value);
    base = read_ok (plain);
    changed = read_ok (text);
    a = g_ptr_array_index (tend_config_get_services (base), 1);
    b = g_ptr_array_index (tend_config_get_services (changed), 1);
    g_test_message ("%s=%s", keys[i].name, value);
    g_assert_false (tend_service_config_equal (a, b));
    g_assert_false (tend_service_schema_field_is_default (&keys[i], b));

    tend_service_config_to_key_file (b, kf);
    g_assert_true (g_key_file_has_key (kf, "service:a", keys[i].name, NULL));
    group_text = g_key_file_to_data (kf, NULL, NULL);
    dumped = g_strdup_printf ("[service:db]\nexec=/bin/true x\n%s", group_text);
    again = read_ok (dumped);
    c = g_ptr_array_index (tend_config_get_services (again), 1);
    g_assert_true (tend_service_config_equal (b, c));
  }
  g_unlink (env_file);

  /* a plugin's service keys (beta declares the health plugin's here) go the same way */
  {
    static const char *const plugin_values[] = { "max-memory-restart=200M", "health-check=tcp://127.0.0.1:1", "health-interval=1s",
                                                 "health-timeout=1s", "health-retries=9" };

    for (guint i = 0; i < G_N_ELEMENTS (plugin_values); i++) {
      g_autofree char *text = g_strdup_printf ("[service:a]\nexec=/bin/true x\n%s\n", plugin_values[i]);
      g_autoptr(TendConfig) base = read_ok ("[service:a]\nexec=/bin/true x\n");
      g_autoptr(TendConfig) changed = read_ok (text);
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autofree char *dumped = NULL;
      g_autoptr(TendConfig) again = NULL;
      TendServiceConfig *b = g_ptr_array_index (tend_config_get_services (changed), 0);

      g_test_message ("%s", plugin_values[i]);
      g_assert_false (tend_service_config_equal (g_ptr_array_index (tend_config_get_services (base), 0), b));
      tend_service_config_to_key_file (b, kf);
      dumped = g_key_file_to_data (kf, NULL, NULL);
      again = read_ok (dumped);
      g_assert_true (tend_service_config_equal (b, g_ptr_array_index (tend_config_get_services (again), 0)));
    }
  }
}

/* ---------------------------------------------------------------------- */
/* keys plugins add to [service:NAME] (TendPluginInfo.service_keys) */

static void
test_plugin_service_keys_disabled (void)
{
  /* alpha is off by default: its keys are kept, with one warning for the whole file */
  g_autoptr(TendConfig) config = read_ok ("[service:web]\n"
                                          "exec=true\n"
                                          "alpha-every=1500ms\n"
                                          "alpha-mode=on\n"
                                          "[service:db]\n"
                                          "exec=true\n"
                                          "alpha-limit=52428800\n");
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(TendConfig) dump = NULL;
  g_autoptr(GError) error = NULL;
  const char *const *warnings = tend_config_get_warnings (config);
  TendServiceConfig *web = tend_config_lookup_service (config, "web");
  TendServiceConfig *db = tend_config_lookup_service (config, "db");

  g_assert_nonnull (warnings);
  g_assert_cmpstr (warnings[0], ==,
                   "test.conf:3: [service:web] alpha-every: belongs to the alpha plugin, which is not enabled "
                   "(enable it in [plugin:alpha]); ignored");
  g_assert_null (warnings[1]);
  /* still checked by the plugin's rows, which the registry has: the file stays right when alpha is turned on */
  g_assert_cmpstr (tend_service_config_get_plugin_value (web, "alpha-every"), ==, "1500ms");
  g_assert_cmpstr (tend_service_config_get_plugin_value (web, "alpha-mode"), ==, "on");
  g_assert_null (tend_service_config_get_plugin_value (web, "alpha-limit"));
  g_assert_cmpstr (tend_service_config_get_plugin_value (db, "alpha-limit"), ==, "50M");
  expect_error ("[service:web]\nexec=true\nalpha-every=5x\n",
                "test.conf:3: [service:web] alpha-every: not a duration: \"5x\" (use a number with ms, s, m or h)");

  /* a dump, or a file for `tend start FILE`, has no plugin groups to tell: no warning */
  dump = tend_config_new_from_data_full ("[service:web]\nexec=true\nalpha-every=2s\n", -1, "dump.conf", "/",
                                         TEND_CONFIG_FLAGS_DUMP, registry, &error);
  g_assert_no_error (error);
  g_assert_null (tend_config_get_warnings (dump)[0]);
}

static void
test_plugin_service_keys_enabled (void)
{
  g_autoptr(TendConfig) config = read_ok ("[plugin:alpha]\n"
                                          "[service:web]\n"
                                          "exec=true\n"
                                          "alpha-every=1500ms\n"
                                          "alpha-limit=52428800\n");
  TendServiceConfig *web = tend_config_lookup_service (config, "web");
  const char *const *warnings = tend_config_get_warnings (config);

  g_assert_null (warnings[0]);
  /* normalized as plugin keys are, so that equal values compare equal */
  g_assert_cmpstr (tend_service_config_get_plugin_value (web, "alpha-every"), ==, "1500ms");
  g_assert_cmpstr (tend_service_config_get_plugin_value (web, "alpha-limit"), ==, "50M");
  g_assert_null (tend_service_config_get_plugin_value (web, "alpha-mode"));

  /* enabled, the plugin's rows check the values */
  expect_error ("[plugin:alpha]\n[service:web]\nexec=true\nalpha-every=0\n",
                "test.conf:4: [service:web] alpha-every: out of range: \"0\" (use 1ms to 24h)");
  expect_error ("[plugin:alpha]\n[service:web]\nexec=true\nalpha-mode=maybe\n",
                "test.conf:4: [service:web] alpha-mode: not a valid choice: \"maybe\" (use off or on)");
}

static void
test_plugin_service_keys_unknown (void)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config =
    tend_config_new_from_data ("[service:web]\nexec=true\nbeta-every=1s\n", -1, "test.conf", "/", registry, &error);

  /* no plugin declares it: still the error it always was */
  g_assert_null (config);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "test.conf:3: [service:web] beta-every: unknown key (known keys: "));
}

/* the known keys of an unknown-key error: the core's, then those of the plugins the file enables */
static void
test_plugin_service_keys_listed (void)
{
  const char *core = "exec, shell, cwd, env, env-file, user, group, instances, increment-var, autorestart, "
                     "max-restarts, min-uptime, restart-delay, exp-backoff-restart-delay, max-backoff, kill-signal, "
                     "kill-timeout, out-file, error-file, merge-logs, log-date-format, port, layer, critical, "
                     "depends-on, ready-check, notify, start, match";
  const char *beta = "max-memory-restart, health-check, health-interval, health-timeout, health-retries";
  const char *alpha = "alpha-every, alpha-limit, alpha-mode";
  g_autofree char *both = g_strdup_printf ("test.conf:4: [service:web] every: unknown key (known keys: %s, %s, %s)",
                                           core, alpha, beta);
  g_autofree char *only_alpha = g_strdup_printf (
    "test.conf:6: [service:web] every: unknown key (known keys: %s, %s)", core, alpha);
  g_autofree char *none = g_strdup_printf (
    "test.conf:7: [service:web] every: unknown key (known keys: %s)", core);

  /* alpha enabled by its group, beta by default */
  expect_error ("[plugin:alpha]\n[service:web]\nexec=true\nevery=1s\n", both);
  expect_error ("[plugin:alpha]\n[plugin:beta]\nenabled=false\n[service:web]\nexec=true\nevery=1s\n", only_alpha);
  expect_error ("[plugin:alpha]\nenabled=false\n[plugin:beta]\nenabled=false\n[service:web]\nexec=true\nevery=1s\n",
                none);
}

static void
test_plugin_service_keys_round_trip (void)
{
  g_autoptr(TendPluginRegistry) registry = test_registry ();
  g_autoptr(TendConfig) config = read_ok ("[plugin:alpha]\n"
                                          "[service:web]\n"
                                          "exec=true\n"
                                          "alpha-every=2s\n"
                                          "alpha-mode=on\n"
                                          "[service:db]\n"
                                          "exec=true\n"
                                          "alpha-every=3s\n");
  g_autoptr(TendConfig) again = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = g_strdup ("[plugin:alpha]\n");
  TendServiceConfig *web = tend_config_lookup_service (config, "web");
  TendServiceConfig *db = tend_config_lookup_service (config, "db");
  g_auto(GStrv) keys = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  tend_service_config_to_key_file (web, kf);
  keys = g_key_file_get_keys (kf, "service:web", NULL, NULL);
  g_assert_cmpstrv (keys, ((const char *[]) { "exec", "alpha-every", "alpha-mode", NULL }));
  {
    g_autofree char *dumped = g_key_file_to_data (kf, &len, NULL);
    g_autofree char *all = g_strconcat (text, dumped, NULL);
    again = tend_config_new_from_data (all, -1, "dump.conf", "/", registry, &error);
  }
  g_assert_no_error (error);
  g_assert_true (tend_service_config_equal (web, tend_config_lookup_service (again, "web")));

  /* a plugin value is part of what runs: a different one, or none, is a different service */
  {
    g_autoptr(TendServiceConfig) other = tend_service_config_new ("web");
    other->exec = g_strdup (web->exec);
    other->argv = g_strdupv (web->argv);
    other->source_file = NULL;
    g_assert_false (tend_service_config_equal (web, other));
    tend_service_config_set_plugin_value (other, "alpha-every", "2s");
    g_assert_false (tend_service_config_equal (web, other));
    tend_service_config_set_plugin_value (other, "alpha-mode", "on");
    g_assert_true (tend_service_config_equal (web, other));
    tend_service_config_set_plugin_value (other, "alpha-mode", "off");
    g_assert_false (tend_service_config_equal (web, other));
  }
  g_assert_cmpstr (tend_service_config_get_plugin_value (db, "alpha-every"), ==, "3s");
}

/* The built health plugin module declares its keys; the registry copies them when it scans. */
static void
test_plugin_service_keys_module (void)
{
  g_autoptr(TendPluginRegistry) registry = tend_plugin_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) off = NULL;
  g_autoptr(TendConfig) on = NULL;
  const char *plugin = NULL;
  const TendConfigKey *row;
  const char *const *warnings;

  tend_plugin_registry_scan_dir (registry, g_getenv ("TEND_PLUGIN_DIR"));
  row = tend_plugin_registry_find_service_key (registry, "health-check", &plugin);
  g_assert_nonnull (row);
  g_assert_cmpstr (plugin, ==, "health");
  g_assert_cmpint (row->type, ==, TEND_CONFIG_KEY_CHECK_URL);
  g_assert_null (tend_plugin_registry_find_service_key (registry, "exec", NULL));

  /* the health plugin is on without its group (TendPluginInfo.enabled_by_default): its keys apply */
  on = tend_config_new_from_data ("[service:web]\nexec=true\nhealth-check=exec:true\nhealth-retries=1\n", -1,
                                  "t.conf", "/", registry, &error);
  g_assert_no_error (error);
  warnings = tend_config_get_warnings (on);
  g_assert_true (warnings == NULL || warnings[0] == NULL);
  g_clear_object (&on);
  /* and off when its group says so */
  off = tend_config_new_from_data ("[plugin:health]\nenabled=false\n\n"
                                   "[service:web]\nexec=true\nhealth-check=exec:true\nhealth-retries=1\n",
                                   -1, "t.conf", "/", registry, &error);
  g_assert_no_error (error);
  warnings = tend_config_get_warnings (off);
  g_assert_cmpstr (warnings[0], ==,
                   "t.conf:6: [service:web] health-check: belongs to the health plugin, which is not enabled "
                   "(enable it in [plugin:health]); ignored");
  g_assert_null (warnings[1]);
  /* checked all the same, as when the core owned them */
  g_clear_object (&off);
  off = tend_config_new_from_data ("[service:web]\nexec=true\nhealth-interval=0\n", -1, "t.conf", "/", registry, &error);
  g_assert_null (off);
  g_assert_cmpstr (error->message, ==, "t.conf:3: [service:web] health-interval: out of range: \"0\" (use 1ms to 24h)");
  g_clear_error (&error);

  on = tend_config_new_from_data ("[plugin:health]\n[service:web]\nexec=true\nhealth-check=ftp://x\n", -1, "t.conf",
                                  "/", registry, &error);
  g_assert_null (on);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==,
                   "t.conf:4: [service:web] health-check: not a check: \"ftp://x\" "
                   "(use http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND)");
  g_clear_error (&error);
  on = tend_config_new_from_data ("[plugin:health]\n[service:web]\nexec=true\nhealth-check=tcp://h\n", -1, "t.conf",
                                  "/", registry, &error);
  g_assert_null (on);
  g_assert_cmpstr (error->message, ==,
                   "t.conf:4: [service:web] health-check: no port in \"tcp://h\" and no port= key (use tcp://HOST:PORT)");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/tend/config/service/defaults", test_service_defaults);
  g_test_add ("/tend/config/service/all-keys", Fixture, NULL, fixture_setup, test_service_all_keys, fixture_teardown);
  g_test_add_func ("/tend/config/service/values", test_service_values);
  g_test_add_func ("/tend/config/service/paths", test_service_paths);
  g_test_add_func ("/tend/config/service/bad-values", test_service_bad_values);
  g_test_add_func ("/tend/config/service/ranges", test_service_ranges);
  g_test_add ("/tend/config/service/increment-var-range", Fixture, NULL, fixture_setup, test_increment_var_range,
              fixture_teardown);
  g_test_add_func ("/tend/config/service/exec", test_service_exec);
  g_test_add_func ("/tend/config/service/names", test_service_names);
  g_test_add_func ("/tend/config/service/depends-on", test_depends_on);
  g_test_add ("/tend/config/service/env-file", Fixture, NULL, fixture_setup, test_env_file, fixture_teardown);
  g_test_add_func ("/tend/config/structure/errors", test_structure_errors);
  g_test_add_func ("/tend/config/structure/ok", test_structure_ok);
  g_test_add ("/tend/config/tend", Fixture, NULL, fixture_setup, test_tend_group, fixture_teardown);
  g_test_add_func ("/tend/config/plugin/enabled", test_plugins_enabled);
  g_test_add_func ("/tend/config/plugin/values", test_plugins_values);
  g_test_add_func ("/tend/config/plugin/equal", test_plugins_equal);
  g_test_add_func ("/tend/config/plugin/errors", test_plugins_errors);
  g_test_add_func ("/tend/config/plugin/direct", test_plugin_config_direct);
  g_test_add_func ("/tend/config/plugin/getter-misuse", test_plugin_getter_misuse);
  g_test_add_func ("/tend/config/plugin/getter-misuse/subprocess", test_plugin_getter_misuse_subprocess);
  g_test_add_func ("/tend/config/registry/info", test_registry_info);
  g_test_add_func ("/tend/config/registry/bad-module", test_registry_bad_module);
  g_test_add_func ("/tend/config/registry/bad-module/subprocess", test_registry_bad_module_subprocess);
  g_test_add_func ("/tend/config/registry/default-dirs", test_registry_default_dirs);
  g_test_add_func ("/tend/config/registry/default-dirs/subprocess", test_registry_default_dirs_subprocess);
  g_test_add_func ("/tend/config/registry/modules", test_registry_modules);
  g_test_add_func ("/tend/config/registry/module-ranges", test_registry_module_ranges);
  g_test_add ("/tend/config/file", Fixture, NULL, fixture_setup, test_from_file, fixture_teardown);
  g_test_add ("/tend/config/round-trip", Fixture, NULL, fixture_setup, test_round_trip, fixture_teardown);
  g_test_add_func ("/tend/config/round-trip/tricky", test_round_trip_tricky);
  g_test_add_func ("/tend/config/equal", test_equal);
  g_test_add_func ("/tend/config/messages/carriage-returns", test_carriage_returns);
  g_test_add_func ("/tend/config/messages/double-bad-escape", test_double_bad_escape);
  g_test_add_func ("/tend/config/messages/byte-order-mark", test_byte_order_mark);
  g_test_add_func ("/tend/config/messages/escaped", test_echo_escaped);
  g_test_add_func ("/tend/config/messages/long-lists", test_long_lists);
  g_test_add_func ("/tend/config/schema/documented", test_schema_documented);
  g_test_add_func ("/tend/config/schema/round-trip", test_schema_round_trip);
  g_test_add_func ("/tend/config/plugin-service-keys/disabled", test_plugin_service_keys_disabled);
  g_test_add_func ("/tend/config/plugin-service-keys/enabled", test_plugin_service_keys_enabled);
  g_test_add_func ("/tend/config/plugin-service-keys/unknown", test_plugin_service_keys_unknown);
  g_test_add_func ("/tend/config/plugin-service-keys/listed-in-errors", test_plugin_service_keys_listed);
  g_test_add_func ("/tend/config/plugin-service-keys/round-trip", test_plugin_service_keys_round_trip);
  g_test_add_func ("/tend/config/plugin-service-keys/module", test_plugin_service_keys_module);
  g_test_add ("/tend/config/messages/dump-lines", Fixture, NULL, fixture_setup, test_dump_lines, fixture_teardown);

  return g_test_run ();
}
