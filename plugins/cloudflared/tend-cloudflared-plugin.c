/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tend-cloudflared-dbus.h"
#include "tend-cloudflared-hook.h"
#include "tend-cloudflared-metrics.h"
#include "tend-context.h"
#include "tend-error.h"
#include "tend-handover.h"
#include "tend-parse.h"
#include "tend-plugin.h"
#include "tend-service-manager.h"

#define SERVICE_NAME "cloudflared"
/* tend update: what the plugin knew of the running tunnel */
#define HANDOVER_KEY "cloudflared"
/* The context status the http plugin reads for /api/tunnel, its `tunnel` events and /metrics. */
#define TUNNEL_STATUS_KEY "tunnel"
/* What a quick tunnel publishes when neither `url` nor the http plugin says. */
#define FALLBACK_URL "http://127.0.0.1:9615"
#define METRICS_HOST "127.0.0.1"
/* cloudflared waits this long for requests in flight when told to stop; below KILL_TIMEOUT_MS. */
#define GRACE_PERIOD "5s"
#define KILL_TIMEOUT_MS 10000
/* A quick restart loop (the quick-tunnel service refusing) must not hammer Cloudflare. */
#define RESTART_BACKOFF_MS 1000
#define POLL_INTERVAL_MS 2000
/* Right after a start, until the URL and a connection are known, for at most FAST_POLL_WINDOW_MS. */
#define FAST_POLL_INTERVAL_MS 250
#define FAST_POLL_WINDOW_MS 20000
#define REQUEST_TIMEOUT_MS 1500

#define TEND_TYPE_CLOUDFLARED_PLUGIN (tend_cloudflared_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendCloudflaredPlugin, tend_cloudflared_plugin, TEND, CLOUDFLARED_PLUGIN, GObject)

struct _TendCloudflaredPlugin {
  GObject parent_instance;

  TendContext *context;
  TendPluginConfig *config;
  guint64 reconnect_timeout_ms;

  /* what the service runs, from the config */
  char *origin;       /* what a quick tunnel publishes; NULL for a named tunnel */
  char *not_found;    /* why the binary cannot be run, or NULL */
  char *env_path;     /* HOME/cloudflared.env: TUNNEL_TOKEN, mode 0600 */
  guint16 metrics_port;
  TendService *service;
  gulong removed_id;

  TendCloudflaredMetrics *metrics;
  TendCloudflaredHook *hook;
  GCancellable *cancellable;
  guint start_source;
  guint poll_source;
  gboolean polling;

  /* the running process, as learned */
  pid_t pid;
  gint64 spawned_at;   /* monotonic µs */
  gint64 zero_since;   /* monotonic µs since when there is no connection; 0 while connected */
  gboolean ever_connected;
  guint connections;
  char *metrics_url;   /* from /quicktunnel */
  char *log_url;       /* from the box in its log */
  char *url;           /* what is published: "" while unknown */
  char *last_url;      /* the last URL known, kept across restarts, for the log */
  char *restart_reason;

  /* what was published */
  char *state;
  gint64 since;
  GVariant *published;
  guint no_connection_restarts;
  TendCloudflaredDbusTunnel1 *tunnel; /* org.tend.Tunnel1 on the plugin's object, while started */

  GTask *stop_task;
  guint stop_pending;
};

static void tend_cloudflared_plugin_plugin_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendCloudflaredPlugin, tend_cloudflared_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_cloudflared_plugin_plugin_init))

static void publish (TendCloudflaredPlugin *self);
static void schedule_poll (TendCloudflaredPlugin *self, guint delay_ms);

static const char *
get_token (TendCloudflaredPlugin *self)
{
  const char *token = tend_plugin_config_get_string (self->config, "token");
  return token != NULL && token[0] != '\0' ? token : NULL;
}

/* "60s", "1500ms": the reconnect timeout as the restart reason says it */
static char *
format_seconds (guint64 ms)
{
  if (ms % 1000 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "s", ms / 1000);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "ms", ms);
}

/* ---- the service ---- */

/* A free port on loopback for --metrics: bound, read, released. */
static guint16
pick_free_port (GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string (METRICS_HOST);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return 0;
  if (!g_socket_bind (socket, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* The http plugin's first listen address as a URL; NULL (and why in @why) when there is none to use. */
static char *
http_plugin_url (TendConfig *config, char **why)
{
  TendPluginConfig *http = config != NULL ? tend_config_lookup_plugin (config, "http") : NULL;
  g_auto(GStrv) listen = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  g_autoptr(GError) error = NULL;

  if (http == NULL || !tend_plugin_config_get_enabled (http)) {
    *why = g_strdup ("the http plugin is not enabled");
    return NULL;
  }
  listen = tend_plugin_config_get_list (http, "listen");
  if (listen[0] == NULL) {
    *why = g_strdup ("the http plugin listens nowhere");
    return NULL;
  }
  if (!tend_parse_listen_address (listen[0], &host, &port, &error)) {
    *why = g_strdup_printf ("the http plugin's listen address %s: %s", listen[0], error->message);
    return NULL;
  }
  if (port == 0) {
    *why = g_strdup_printf ("the http plugin listens on %s, any free port", listen[0]);
    return NULL;
  }
  /* a wildcard address is reachable on loopback, which is what cloudflared dials */
  if (host == NULL || host[0] == '\0' || g_strcmp0 (host, "0.0.0.0") == 0 || g_strcmp0 (host, "*") == 0 ||
      g_strcmp0 (host, "::") == 0)
    return g_strdup_printf ("http://127.0.0.1:%u", port);
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("http://[%s]:%u", host, port);
  return g_strdup_printf ("http://%s:%u", host, port);
}

/* What a quick tunnel publishes: `url`, else the http plugin's address, else the SPEC's default port. */
static char *
compute_origin (TendCloudflaredPlugin *self, TendConfig *config, gboolean say)
{
  const char *url = tend_plugin_config_get_string (self->config, "url");
  g_autofree char *why = NULL;
  char *origin;

  if (url != NULL && url[0] != '\0')
    return g_strdup (url);
  origin = http_plugin_url (config, &why);
  if (origin != NULL)
    return origin;
  if (say)
    g_message ("cloudflared: %s; the tunnel publishes %s (set [plugin:cloudflared] url= to choose)", why,
               FALLBACK_URL);
  return g_strdup (FALLBACK_URL);
}

/* The program to run; NULL and @out_why when it cannot be run. */
static char *
resolve_binary (const char *binary, char **out_why)
{
  char *path = g_find_program_in_path (binary);

  if (path != NULL)
    return path;
  if (strchr (binary, '/') == NULL)
    *out_why = g_strdup_printf ("%s: not found in PATH (%s)", binary,
                                g_getenv ("PATH") != NULL ? g_getenv ("PATH") : "unset");
  else if (!g_file_test (binary, G_FILE_TEST_EXISTS))
    *out_why = g_strdup_printf ("%s: no such file", binary);
  else
    *out_why = g_strdup_printf ("%s: not an executable file", binary);
  return NULL;
}

/* The token goes to the process through an env-file (never argv, never the config
 * that `tend describe` and /api/components show). */
static gboolean
write_env_file (TendCloudflaredPlugin *self, const char *token, GError **error)
{
  g_autofree char *text = NULL;
  char quote;

  if (strpbrk (token, "\n\r") != NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_CONFIG, "token: has a line break");
    return FALSE;
  }
  quote = strchr (token, '\'') == NULL ? '\'' : '"';
  if (strchr (token, quote) != NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_CONFIG, "token: has both kinds of quotes");
    return FALSE;
  }
  text = g_strdup_printf ("# written by tendd for the cloudflared plugin\nTUNNEL_TOKEN=%c%s%c\n", quote, token, quote);
  if (!g_file_set_contents_full (self->env_path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING, 0600, error)) {
    g_prefix_error (error, "cannot write %s: ", self->env_path);
    return FALSE;
  }
  return TRUE;
}

static char *
join_argv (GPtrArray *argv)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < argv->len && argv->pdata[i] != NULL; i++) {
    g_autofree char *quoted = g_shell_quote (argv->pdata[i]);
    if (i > 0)
      g_string_append_c (text, ' ');
    g_string_append (text, quoted);
  }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/*
 * The service's config from the plugin's: `binary tunnel --no-autoupdate
 * --grace-period 5s --metrics 127.0.0.1:PORT` and `--url ORIGIN` or `run`.
 * Also sets self->origin and self->not_found.
 */
static TendServiceConfig *
build_service_config (TendCloudflaredPlugin *self, TendConfig *config, gboolean say)
{
  TendServiceConfig *svc = tend_service_config_new (SERVICE_NAME);
  const char *binary = tend_plugin_config_get_string (self->config, "binary");
  g_autofree char *path = NULL;
  g_autofree char *why = NULL;
  g_autofree char *metrics = g_strdup_printf (METRICS_HOST ":%u", self->metrics_port);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  if (binary == NULL || binary[0] == '\0')
    binary = "cloudflared";
  path = resolve_binary (binary, &why);
  g_clear_pointer (&self->not_found, g_free);
  if (path == NULL)
    self->not_found = g_strdup_printf ("cloudflared not found: %s", why);
  g_clear_pointer (&self->origin, g_free);
  if (get_token (self) == NULL)
    self->origin = compute_origin (self, config, say);

  /* the program as resolved, so `tend describe` shows which one runs; as written when it cannot be found */
  g_ptr_array_add (argv, g_strdup (path != NULL ? path : binary));
  g_ptr_array_add (argv, g_strdup ("tunnel"));
  /* under a supervisor stdout is no TTY, so cloudflared would update itself and exit daily */
  g_ptr_array_add (argv, g_strdup ("--no-autoupdate"));
  g_ptr_array_add (argv, g_strdup ("--grace-period"));
  g_ptr_array_add (argv, g_strdup (GRACE_PERIOD));
  g_ptr_array_add (argv, g_strdup ("--metrics"));
  g_ptr_array_add (argv, g_strdup (metrics));
  if (self->origin != NULL) {
    g_ptr_array_add (argv, g_strdup ("--url"));
    g_ptr_array_add (argv, g_strdup (self->origin));
  } else {
    g_ptr_array_add (argv, g_strdup ("run"));
    svc->env_file = g_strdup (self->env_path);
  }
  g_ptr_array_add (argv, NULL);
  svc->exec = join_argv (argv);
  svc->argv = (char **) g_ptr_array_steal (argv, NULL);
  svc->kill_signal = SIGTERM;
  svc->kill_timeout_ms = KILL_TIMEOUT_MS;
  svc->exp_backoff_restart_delay_ms = RESTART_BACKOFF_MS;
  svc->layer = g_strdup ("tunnel");
  return svc;
}

static gboolean
service_is_ours (TendCloudflaredPlugin *self)
{
  return self->service != NULL &&
         tend_service_manager_lookup (tend_context_get_manager (self->context), SERVICE_NAME) == self->service;
}

/* ---- what is learned ---- */

static gboolean
process_running (TendCloudflaredPlugin *self)
{
  TendServiceState state;

  if (self->service == NULL || tend_service_get_pid (self->service) == 0)
    return FALSE;
  state = tend_service_get_state (self->service);
  return state == TEND_SERVICE_STATE_ONLINE || state == TEND_SERVICE_STATE_LAUNCHING;
}

static void
set_url (TendCloudflaredPlugin *self, const char *url)
{
  if (g_strcmp0 (self->url, url) == 0)
    return;
  g_free (self->url);
  self->url = g_strdup (url);
  if (url[0] == '\0')
    return;
  if (self->last_url != NULL && g_strcmp0 (self->last_url, url) != 0)
    g_message ("cloudflared: the public URL changed: %s (was %s)", url, self->last_url);
  else if (self->last_url == NULL)
    g_message ("cloudflared: the public URL is %s", url);
  g_free (self->last_url);
  self->last_url = g_strdup (url);
  tend_cloudflared_hook_url_changed (self->hook, url);
}

static void
update_url (TendCloudflaredPlugin *self)
{
  /* the metrics server knows best; the log line is the fallback (an old cloudflared, a lost poll) */
  if (self->metrics_url != NULL)
    set_url (self, self->metrics_url);
  else if (self->log_url != NULL)
    set_url (self, self->log_url);
  else
    set_url (self, "");
}

/* A new cloudflared process: nothing of the old one's holds (a quick tunnel gets a new name). */
static void
new_process (TendCloudflaredPlugin *self, pid_t pid)
{
  self->pid = pid;
  self->spawned_at = g_get_monotonic_time ();
  self->zero_since = self->spawned_at;
  self->ever_connected = FALSE;
  self->connections = 0;
  g_clear_pointer (&self->metrics_url, g_free);
  g_clear_pointer (&self->log_url, g_free);
  update_url (self);
  schedule_poll (self, FAST_POLL_INTERVAL_MS);
}

static void
check_reconnect (TendCloudflaredPlugin *self)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *timeout = NULL;

  if (!process_running (self) || self->connections > 0 || self->zero_since == 0 ||
      tend_context_get_shutting_down (self->context))
    return;
  if ((now - self->zero_since) / 1000 < (gint64) self->reconnect_timeout_ms)
    return;
  timeout = format_seconds (self->reconnect_timeout_ms);
  g_free (self->restart_reason);
  self->restart_reason = g_strdup_printf ("tunnel had no connection for %s", timeout);
  g_message ("cloudflared: %s; restarting it", self->restart_reason);
  self->no_connection_restarts++;
  self->zero_since = 0;
  tend_service_restart (self->service, self->restart_reason);
}

static void
on_poll_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(TendCloudflaredPlugin) self = user_data;
  g_auto(TendCloudflaredReading) reading = { 0 };
  gboolean quick_known;

  self->polling = FALSE;
  if (!tend_cloudflared_metrics_poll_finish (NULL, result, &reading, NULL) || self->stop_task != NULL)
    return;
  if (!process_running (self) || tend_service_get_pid (self->service) != self->pid)
    return; /* a reading of a process that is gone */

  self->connections = reading.reachable ? reading.connections : 0;
  if (self->connections > 0) {
    self->ever_connected = TRUE;
    self->zero_since = 0;
  } else if (self->zero_since == 0) {
    self->zero_since = g_get_monotonic_time ();
  }
  if (reading.hostname != NULL && reading.hostname[0] != '\0') {
    g_free (self->metrics_url);
    self->metrics_url = g_strconcat ("https://", reading.hostname, NULL);
  }
  update_url (self);
  check_reconnect (self);
  publish (self);

  quick_known = self->origin == NULL || self->url[0] != '\0';
  if ((!quick_known || !self->ever_connected) &&
      g_get_monotonic_time () - self->spawned_at < FAST_POLL_WINDOW_MS * 1000)
    schedule_poll (self, FAST_POLL_INTERVAL_MS);
  else
    schedule_poll (self, POLL_INTERVAL_MS);
}

static void
poll_cb (gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;

  self->poll_source = 0;
  if (self->polling || self->stop_task != NULL || !process_running (self))
    return;
  self->polling = TRUE;
  tend_cloudflared_metrics_poll_async (self->metrics, self->cancellable, on_poll_done, g_object_ref (self));
}

static void
schedule_poll (TendCloudflaredPlugin *self, guint delay_ms)
{
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->stop_task == NULL)
    self->poll_source = g_timeout_add_once (delay_ms, poll_cb, self);
}

/* ---- the status ---- */

static void
evaluate (TendCloudflaredPlugin *self, const char **out_state, char **out_message)
{
  TendServiceState state;
  TendInstance *instance;
  const char *detail;

  if (self->service == NULL) {
    *out_state = "stopped";
    *out_message = g_strdup ("the cloudflared service was deleted; disable and enable the plugin to bring it back");
    return;
  }
  state = tend_service_get_state (self->service);
  instance = g_ptr_array_index (tend_service_get_instances (self->service), 0);
  detail = tend_instance_get_status_message (instance);
  if (detail == NULL)
    detail = "";

  if (self->not_found != NULL && !process_running (self)) {
    *out_state = "error";
    *out_message = g_strdup (self->not_found);
    return;
  }
  switch (state) {
  case TEND_SERVICE_STATE_ERRORED:
    *out_state = "error";
    *out_message = g_strdup_printf ("cloudflared: %s", detail);
    return;
  case TEND_SERVICE_STATE_STOPPED:
    *out_state = "stopped";
    *out_message = g_strdup (detail);
    return;
  case TEND_SERVICE_STATE_STOPPING:
    if (tend_service_get_wants_running (self->service)) {
      *out_state = "starting";
      *out_message = g_strdup_printf ("restarting: %s", self->restart_reason != NULL ? self->restart_reason : detail);
    } else {
      *out_state = "stopped";
      *out_message = g_strdup ("stopping");
    }
    return;
  case TEND_SERVICE_STATE_WAITING_RESTART:
    *out_state = "starting";
    *out_message = g_strdup_printf ("cloudflared %s; restarting", detail);
    return;
  case TEND_SERVICE_STATE_LAUNCHING:
  case TEND_SERVICE_STATE_ONLINE:
  default:
    break;
  }
  if (!process_running (self)) {
    *out_state = "starting";
    *out_message = g_strdup (detail);
  } else if (self->connections > 0) {
    *out_state = "connected";
    *out_message = g_strdup ("");
  } else if (self->ever_connected) {
    g_autofree char *timeout = format_seconds (self->reconnect_timeout_ms);
    *out_state = "disconnected";
    *out_message = g_strdup_printf ("no connection to Cloudflare; cloudflared is restarted after %s without one", timeout);
  } else {
    *out_state = "starting";
    *out_message = g_strdup (self->restart_reason != NULL ? self->restart_reason : "connecting to Cloudflare");
  }
}

static void
publish (TendCloudflaredPlugin *self)
{
  g_autofree char *message = NULL;
  const char *state;
  gboolean running;
  GVariantDict dict;
  g_autoptr(GVariant) status = NULL;

  if (self->stop_task != NULL)
    return;
  evaluate (self, &state, &message);
  running = process_running (self);
  if (g_strcmp0 (state, self->state) != 0) {
    if (g_strcmp0 (state, "connected") == 0)
      g_message ("cloudflared: tunnel connected (%u connection%s)", self->connections, self->connections == 1 ? "" : "s");
    else if (g_strcmp0 (state, "disconnected") == 0 || g_strcmp0 (state, "error") == 0)
      g_message ("cloudflared: tunnel %s: %s", state, message);
    if (g_strcmp0 (state, "connected") == 0)
      g_clear_pointer (&self->restart_reason, g_free);
    g_free (self->state);
    self->state = g_strdup (state);
    self->since = g_get_real_time ();
  }
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "status", "s", state);
  g_variant_dict_insert (&dict, "url", "s", running && self->url != NULL ? self->url : "");
  g_variant_dict_insert (&dict, "connections", "u", running ? self->connections : 0);
  g_variant_dict_insert (&dict, "since", "x", self->since);
  g_variant_dict_insert (&dict, "message", "s", message);
  status = g_variant_ref_sink (g_variant_dict_end (&dict));
  if (self->published != NULL && g_variant_equal (self->published, status))
    return;
  g_clear_pointer (&self->published, g_variant_unref);
  self->published = g_variant_ref (status);
  if (self->tunnel != NULL) {
    /* each setter emits PropertiesChanged for what changed */
    tend_cloudflared_dbus_tunnel1_set_state (self->tunnel, state);
    tend_cloudflared_dbus_tunnel1_set_url (self->tunnel, running && self->url != NULL ? self->url : "");
    tend_cloudflared_dbus_tunnel1_set_connections (self->tunnel, running ? self->connections : 0);
    tend_cloudflared_dbus_tunnel1_set_since (self->tunnel, self->since);
    tend_cloudflared_dbus_tunnel1_set_message (self->tunnel, message);
  }
  tend_context_publish_status (self->context, TUNNEL_STATUS_KEY, status);
}

/* ---- the context's signals ---- */

static void
state_changed_cb (TendContext *context,
                  TendService *service,
                  TendInstance *instance,
                  TendServiceState old_state,
                  TendServiceState new_state,
                  const char *reason,
                  gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;
  pid_t pid;

  if (service != self->service)
    return;
  pid = tend_service_get_pid (service);
  if (process_running (self) && pid != self->pid) {
    /* it runs, so it was found after all (installed since, or PATH changed) */
    g_clear_pointer (&self->not_found, g_free);
    new_process (self, pid);
  } else if (!process_running (self)) {
    self->pid = 0;
    self->connections = 0;
    g_clear_pointer (&self->metrics_url, g_free);
    g_clear_pointer (&self->log_url, g_free);
    update_url (self);
  }
  publish (self);
}

static void
output_cb (TendContext *context, TendInstance *instance, int stream, const char *line, guint64 length,
           gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;
  g_autofree char *url = NULL;

  if (self->service == NULL || self->origin == NULL || tend_instance_get_service (instance) != self->service)
    return;
  url = tend_cloudflared_find_url (line, (gsize) length);
  if (url == NULL || g_strcmp0 (url, self->log_url) == 0)
    return;
  g_debug ("cloudflared: its log names %s", url);
  g_free (self->log_url);
  self->log_url = g_steal_pointer (&url);
  update_url (self);
  publish (self);
}

static void
service_removed_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;

  if (service != self->service)
    return;
  g_message ("cloudflared: its service was deleted");
  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_clear_object (&self->service);
  publish (self);
}

/* Rebuilds the service's config: the http plugin's address or the token may have changed. */
static void
apply_config (TendCloudflaredPlugin *self, TendConfig *config)
{
  g_autoptr(TendServiceConfig) svc = NULL;
  g_autoptr(GError) error = NULL;
  const char *token = get_token (self);
  g_autofree char *old_env = NULL;
  gboolean token_changed = FALSE;

  if (!service_is_ours (self))
    return;
  if (token != NULL) {
    g_autofree char *old_text = NULL;
    g_file_get_contents (self->env_path, &old_text, NULL, NULL);
    if (!write_env_file (self, token, &error)) {
      g_warning ("cloudflared: %s", error->message);
      return;
    }
    g_file_get_contents (self->env_path, &old_env, NULL, NULL);
    token_changed = g_strcmp0 (old_text, old_env) != 0;
  } else {
    g_unlink (self->env_path);
  }
  svc = build_service_config (self, config, TRUE);
  if (!tend_service_config_equal (svc, tend_service_get_config (self->service))) {
    g_message ("cloudflared: its command changed, applying it");
    tend_service_update_config (self->service, svc);
  } else if (token_changed && tend_service_get_wants_running (self->service)) {
    g_message ("cloudflared: the tunnel token changed, restarting it");
    tend_service_restart (self->service, "the tunnel token changed");
  }
  if (self->not_found == NULL && tend_service_get_state (self->service) == TEND_SERVICE_STATE_ERRORED)
    tend_service_start (self->service);
  publish (self);
}

static void
config_reloaded_cb (TendContext *context, TendConfig *config, gpointer user_data)
{
  apply_config (TEND_CLOUDFLARED_PLUGIN (user_data), config);
}

/* ---- the plugin ---- */

static void
read_settings (TendCloudflaredPlugin *self, TendPluginConfig *config)
{
  if (self->config != config) {
    g_clear_pointer (&self->config, tend_plugin_config_unref);
    self->config = tend_plugin_config_ref (config);
  }
  self->reconnect_timeout_ms = MAX (tend_plugin_config_get_duration (config, "reconnect-timeout"), 100);
  if (self->hook != NULL)
    tend_cloudflared_hook_set_command (self->hook, tend_plugin_config_get_string (config, "on-url-change"),
                                       tend_plugin_config_get_duration (config, "hook-timeout"));
}

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendCloudflaredPlugin *self = TEND_CLOUDFLARED_PLUGIN (plugin);

  self->context = g_object_ref (context);
  self->env_path = g_build_filename (tend_context_get_home (context), "cloudflared.env", NULL);
  read_settings (self, config);
  return TRUE;
}

static void
start_service_cb (gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;

  self->start_source = 0;
  if (service_is_ours (self) && !tend_context_get_shutting_down (self->context))
    tend_service_start (self->service);
}

/* A service of that name that is not ours: the operator's, which the plugin must not take over. */
static gboolean
check_name_free (TendCloudflaredPlugin *self, GError **error)
{
  TendServiceConfig *configured = tend_config_lookup_service (tend_context_get_config (self->context), SERVICE_NAME);
  TendService *existing = tend_service_manager_lookup (tend_context_get_manager (self->context), SERVICE_NAME);

  /* tend update: our own service, still running; adopted in start */
  if (existing != NULL && g_strcmp0 (tend_service_get_owner (existing), "cloudflared") == 0 &&
      tend_context_get_handed_over (self->context))
    existing = NULL;

  if (configured != NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                 "a service named " SERVICE_NAME " is already configured (%s:%u); the cloudflared plugin runs "
                 "cloudflared itself: remove [service:" SERVICE_NAME "] or disable [plugin:cloudflared]",
                 configured->source_file != NULL ? configured->source_file : "?", configured->source_line);
    return FALSE;
  }
  if (existing != NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                 "a service named " SERVICE_NAME " already exists%s; the cloudflared plugin runs cloudflared "
                 "itself: `tend delete " SERVICE_NAME "` first, or disable [plugin:cloudflared]",
                 tend_service_get_ad_hoc (existing) ? " (started with tend start --name)" : "");
    return FALSE;
  }
  return TRUE;
}

/* ---- tend update: the tunnel runs on; what was learned of it crosses the exec ---- */

static void
save_handover_cb (TendContext *context, TendHandover *handover, gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;
  GVariantDict dict;
  gint64 now = g_get_monotonic_time ();

  if (!service_is_ours (self))
    return;
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "metrics-port", "q", self->metrics_port);
  g_variant_dict_insert (&dict, "pid", "i", (gint32) self->pid);
  /* monotonic instants as ages: the clock goes on, but be plain about it */
  g_variant_dict_insert (&dict, "spawned-ago-us", "x", now - self->spawned_at);
  g_variant_dict_insert (&dict, "zero-since-ago-us", "x", self->zero_since != 0 ? now - self->zero_since : -1);
  g_variant_dict_insert (&dict, "ever-connected", "b", self->ever_connected);
  g_variant_dict_insert (&dict, "connections", "u", self->connections);
  g_variant_dict_insert (&dict, "since", "x", self->since);
  g_variant_dict_insert (&dict, "no-connection-restarts", "u", self->no_connection_restarts);
  if (self->metrics_url != NULL)
    g_variant_dict_insert (&dict, "metrics-url", "s", self->metrics_url);
  if (self->log_url != NULL)
    g_variant_dict_insert (&dict, "log-url", "s", self->log_url);
  if (self->url != NULL)
    g_variant_dict_insert (&dict, "url", "s", self->url);
  if (self->last_url != NULL)
    g_variant_dict_insert (&dict, "last-url", "s", self->last_url);
  if (self->state != NULL)
    g_variant_dict_insert (&dict, "state", "s", self->state);
  tend_handover_set_value (handover, HANDOVER_KEY, g_variant_dict_end (&dict));
}

static void
restore_learned (TendCloudflaredPlugin *self, GVariant *saved)
{
  gint64 now = g_get_monotonic_time ();
  gint64 ago = 0;
  gint32 pid = 0;
  const char *text;

  g_variant_lookup (saved, "pid", "i", &pid);
  self->pid = pid;
  if (g_variant_lookup (saved, "spawned-ago-us", "x", &ago))
    self->spawned_at = now - ago;
  if (g_variant_lookup (saved, "zero-since-ago-us", "x", &ago))
    self->zero_since = ago >= 0 ? now - ago : 0;
  g_variant_lookup (saved, "ever-connected", "b", &self->ever_connected);
  g_variant_lookup (saved, "connections", "u", &self->connections);
  g_variant_lookup (saved, "since", "x", &self->since);
  g_variant_lookup (saved, "no-connection-restarts", "u", &self->no_connection_restarts);
  if (g_variant_lookup (saved, "metrics-url", "&s", &text))
    self->metrics_url = g_strdup (text);
  if (g_variant_lookup (saved, "log-url", "&s", &text))
    self->log_url = g_strdup (text);
  if (g_variant_lookup (saved, "url", "&s", &text))
    self->url = g_strdup (text);
  if (g_variant_lookup (saved, "last-url", "&s", &text))
    self->last_url = g_strdup (text);
  if (g_variant_lookup (saved, "state", "&s", &text))
    self->state = g_strdup (text);
  g_message ("cloudflared: the tunnel (pid %d) runs on after the update, %s", self->pid,
             self->url != NULL && self->url[0] != '\0' ? self->url : "no URL yet");
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendCloudflaredPlugin *self = TEND_CLOUDFLARED_PLUGIN (plugin);
  TendServiceManager *manager = tend_context_get_manager (self->context);
  g_autoptr(TendServiceConfig) svc = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GVariant) handed = NULL;
  TendService *adopted;
  const char *token = get_token (self);

  if (!check_name_free (self, error))
    return FALSE;
  self->tunnel = tend_cloudflared_dbus_tunnel1_skeleton_new ();
  if (!tend_context_export_plugin_interface (self->context, plugin, G_DBUS_INTERFACE_SKELETON (self->tunnel), error))
    return FALSE;
  handed = tend_context_lookup_handover_value (self->context, HANDOVER_KEY);
  adopted = tend_service_manager_lookup (manager, SERVICE_NAME);
  if (handed == NULL || adopted == NULL || g_strcmp0 (tend_service_get_owner (adopted), "cloudflared") != 0)
    adopted = NULL;
  /* the running cloudflared was started with this --metrics port */
  if (adopted != NULL && !g_variant_lookup (handed, "metrics-port", "q", &self->metrics_port))
    adopted = NULL;
  if (adopted == NULL)
    self->metrics_port = pick_free_port (&local_error);
  if (self->metrics_port == 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "no free port on " METRICS_HOST " for --metrics: %s",
                 local_error != NULL ? local_error->message : "port 0");
    return FALSE;
  }
  if (token != NULL && !write_env_file (self, token, error))
    return FALSE;
  if (token == NULL)
    g_unlink (self->env_path);

  self->hook = tend_cloudflared_hook_new (self->context);
  read_settings (self, self->config);
  self->metrics = tend_cloudflared_metrics_new (METRICS_HOST, self->metrics_port, REQUEST_TIMEOUT_MS);
  self->cancellable = g_cancellable_new ();

  svc = build_service_config (self, tend_context_get_config (self->context), TRUE);
  if (adopted != NULL) {
    self->service = g_object_ref (adopted);
    restore_learned (self, handed);
    /* a changed command (the http plugin's address, the binary) applies as on a reload */
    if (!tend_service_config_equal (svc, tend_service_get_config (self->service)))
      tend_service_update_config (self->service, svc);
  } else {
    self->service = tend_service_manager_add (manager, svc, error);
    if (self->service == NULL)
      return FALSE;
    g_object_ref (self->service);
  }
  tend_service_set_owner (self->service, "cloudflared");
  g_signal_connect (self->context, "save-handover", G_CALLBACK (save_handover_cb), self);
  if (adopted != NULL && process_running (self))
    schedule_poll (self, FAST_POLL_INTERVAL_MS);
  if (self->not_found != NULL)
    g_warning ("%s; the tunnel cannot run (the daemon and the other services go on)", self->not_found);
  else
    g_message ("cloudflared: %s, metrics on " METRICS_HOST ":%u", self->origin != NULL ? "quick tunnel" : "named tunnel",
               self->metrics_port);
  if (self->origin != NULL)
    g_message ("cloudflared: the quick tunnel publishes %s", self->origin);

  g_signal_connect (self->context, "service-state-changed", G_CALLBACK (state_changed_cb), self);
  g_signal_connect (self->context, "service-output", G_CALLBACK (output_cb), self);
  g_signal_connect (self->context, "config-reloaded", G_CALLBACK (config_reloaded_cb), self);
  self->removed_id = g_signal_connect (self->context, "service-removed", G_CALLBACK (service_removed_cb), self);
  publish (self);
  /* once every plugin is up (log rotation, health) and the configured services are added */
  self->start_source = g_idle_add_once (start_service_cb, self);
  return TRUE;
}

static gboolean
plugin_reload (TendPlugin *plugin, TendPluginConfig *config, GError **error)
{
  TendCloudflaredPlugin *self = TEND_CLOUDFLARED_PLUGIN (plugin);

  /* the service itself is rebuilt on config-reloaded, once the whole new configuration is in place */
  read_settings (self, config);
  return TRUE;
}

static void
stop_part_done (gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;
  g_autoptr(GTask) task = NULL;

  if (--self->stop_pending > 0)
    return;
  task = g_steal_pointer (&self->stop_task);
  /* the service is gone: the token need not stay on disk */
  g_unlink (self->env_path);
  g_task_return_boolean (task, TRUE);
}

static void
stop_service_removed_cb (TendContext *context, TendService *service, gpointer user_data)
{
  TendCloudflaredPlugin *self = user_data;

  if (service != self->service)
    return;
  g_clear_signal_handler (&self->removed_id, self->context);
  g_clear_object (&self->service);
  stop_part_done (self);
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TendCloudflaredPlugin *self = TEND_CLOUDFLARED_PLUGIN (plugin);

  self->stop_task = g_task_new (self, cancellable, callback, user_data);
  g_clear_handle_id (&self->start_source, g_source_remove);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_signal_handlers_disconnect_by_data (self->context, self);
  self->removed_id = 0;
  /* no tunnel any more: Tunnel1 leaves the bus, /api/tunnel says so */
  if (self->tunnel != NULL)
    tend_context_unexport_plugin_interface (self->context, plugin, G_DBUS_INTERFACE_SKELETON (self->tunnel));
  g_clear_object (&self->tunnel);
  tend_context_publish_status (self->context, TUNNEL_STATUS_KEY, NULL);

  self->stop_pending = 2;
  tend_cloudflared_hook_close (self->hook, stop_part_done, self);
  if (service_is_ours (self)) {
    /* stopped with its kill-timeout (at shutdown it is stopped already), then forgotten */
    self->removed_id = g_signal_connect (self->context, "service-removed", G_CALLBACK (stop_service_removed_cb), self);
    tend_service_manager_remove (tend_context_get_manager (self->context), SERVICE_NAME, NULL);
  } else {
    g_clear_object (&self->service);
    g_idle_add_once (stop_part_done, self);
  }
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
plugin_add_status (TendPlugin *plugin, GVariantDict *status)
{
  TendCloudflaredPlugin *self = TEND_CLOUDFLARED_PLUGIN (plugin);
  gboolean running = process_running (self);

  g_variant_dict_insert (status, "state", "s", self->state != NULL ? self->state : "stopped");
  g_variant_dict_insert (status, "url", "s", running && self->url != NULL ? self->url : "");
  g_variant_dict_insert (status, "connections", "u", running ? self->connections : 0);
  g_variant_dict_insert (status, "since", "x", self->since);
  if (self->published != NULL) {
    const char *message = "";
    g_variant_lookup (self->published, "message", "&s", &message);
    g_variant_dict_insert (status, "message", "s", message);
  }
  g_variant_dict_insert (status, "mode", "s", self->origin != NULL ? "quick" : "named");
  if (self->origin != NULL)
    g_variant_dict_insert (status, "origin", "s", self->origin);
  if (self->metrics_port != 0) {
    g_autofree char *metrics = g_strdup_printf (METRICS_HOST ":%u", self->metrics_port);
    g_variant_dict_insert (status, "metrics", "s", metrics);
  }
  g_variant_dict_insert (status, "no-connection-restarts", "u", self->no_connection_restarts);
  g_variant_dict_insert (status, "hook-runs", "u", self->hook != NULL ? tend_cloudflared_hook_get_runs (self->hook) : 0);
}

static void
tend_cloudflared_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->reload = plugin_reload;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
  iface->add_status = plugin_add_status;
}

static void
tend_cloudflared_plugin_finalize (GObject *object)
{
  TendCloudflaredPlugin *self = TEND_CLOUDFLARED_PLUGIN (object);

  g_clear_handle_id (&self->start_source, g_source_remove);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->context != NULL)
    g_signal_handlers_disconnect_by_data (self->context, self);
  g_clear_pointer (&self->hook, tend_cloudflared_hook_free);
  g_clear_pointer (&self->metrics, tend_cloudflared_metrics_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->service);
  g_clear_pointer (&self->config, tend_plugin_config_unref);
  g_clear_pointer (&self->published, g_variant_unref);
  g_clear_object (&self->tunnel);
  g_free (self->origin);
  g_free (self->not_found);
  g_free (self->env_path);
  g_free (self->metrics_url);
  g_free (self->log_url);
  g_free (self->url);
  g_free (self->last_url);
  g_free (self->restart_reason);
  g_free (self->state);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_cloudflared_plugin_parent_class)->finalize (object);
}

static void
tend_cloudflared_plugin_class_init (TendCloudflaredPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_cloudflared_plugin_finalize;
}

static void
tend_cloudflared_plugin_init (TendCloudflaredPlugin *self)
{
}

static const TendConfigKey cloudflared_keys[] = {
  { "binary", TEND_CONFIG_KEY_STRING, "cloudflared", NULL, N_("The cloudflared program (looked up in PATH)") },
  { "url", TEND_CONFIG_KEY_STRING, NULL, NULL,
    N_("What a quick tunnel publishes (default: the http plugin's address, else http://127.0.0.1:9615)") },
  { "token", TEND_CONFIG_KEY_STRING, NULL, NULL,
    N_("A named tunnel's token, run instead of a quick tunnel; given in the environment, never on the command line") },
  { "on-url-change", TEND_CONFIG_KEY_STRING, NULL, NULL,
    N_("A shell command run with TUNNEL_URL and TUNNEL_OLD_URL set when the public URL changes") },
  { "reconnect-timeout", TEND_CONFIG_KEY_DURATION, "60s", "100ms..24h",
    N_("Restart cloudflared when it has had no connection to Cloudflare for this long") },
  { "hook-timeout", TEND_CONFIG_KEY_DURATION, "30s", "100ms..24h",
    N_("How long on-url-change may run before it is killed with its process group") },
  { NULL },
};

TEND_DEFINE_PLUGIN ("cloudflared",
                    tend_cloudflared_plugin,
                    N_("Publishes Tend's API through a cloudflared tunnel, run as a managed service"),
                    cloudflared_keys)
