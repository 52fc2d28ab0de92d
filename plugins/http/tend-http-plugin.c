/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-handover.h"
#include "tend-http-auth.h"
#include "tend-http-router.h"
#include "tend-http-server.h"
#include "tend-parse.h"
#include "tend-plugin.h"

#define MAX_BODY (64 * 1024)
/* how long answers in progress may take when the plugin stops */
#define STOP_GRACE_MS 2000

#define TEND_TYPE_HTTP_PLUGIN (tend_http_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendHttpPlugin, tend_http_plugin, TEND, HTTP_PLUGIN, GObject)

/* The plugin: its keys, the token file and the listening sockets; requests are TendHttpRouter's. */
struct _TendHttpPlugin {
  GObject parent_instance;

  TendContext *context;
  char **listen;
  char *token_path;
  gboolean public_read;
  char **allow_origins;
  guint max_connections;
  guint64 request_timeout_ms;

  TendHttpToken token;
  TendHttpRouter *router;
  TendHttpServer *server;
  char **bound;
  GArray *bound_entry; /* for each listening socket, the index of its `listen` entry */
  guint drain_timer;   /* tend update: waiting for the connections to finish */
};

/* tend update: the listening sockets cross the exec, so no connection is ever refused */
#define HANDOVER_KEY "http-listen"

static void tend_http_plugin_plugin_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendHttpPlugin, tend_http_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_http_plugin_plugin_init))

/* ---- plugin ---- */

static void handover_prepare_cb (TendContext *context, gpointer user_data);
static void handover_cancelled_cb (TendContext *context, gpointer user_data);
static void save_handover_cb (TendContext *context, TendHandover *handover, gpointer user_data);

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendHttpPlugin *self = TEND_HTTP_PLUGIN (plugin);
  const char *token_file = tend_plugin_config_get_string (config, "token-file");
  guint64 max_connections = tend_plugin_config_get_uint (config, "max-connections");

  self->context = g_object_ref (context);
  self->listen = tend_plugin_config_get_list (config, "listen");
  self->token_path = token_file != NULL && token_file[0] != '\0'
                       ? g_strdup (token_file)
                       : g_build_filename (tend_context_get_home (context), "api-token", NULL);
  self->public_read = tend_plugin_config_get_bool (config, "public-read");
  self->allow_origins = tend_plugin_config_get_list (config, "allow-origin");
  /* the key table's range (1..65535) is checked by the configuration reader, with the file and line */
  self->max_connections = (guint) max_connections;
  self->request_timeout_ms = tend_plugin_config_get_duration (config, "request-timeout");
  self->bound_entry = g_array_new (FALSE, FALSE, sizeof (guint));
  g_signal_connect (context, "handover-prepare", G_CALLBACK (handover_prepare_cb), self);
  g_signal_connect (context, "handover-cancelled", G_CALLBACK (handover_cancelled_cb), self);
  g_signal_connect (context, "save-handover", G_CALLBACK (save_handover_cb), self);
  return TRUE;
}

/* The sockets the http plugin before tend update listened on for entry @index, when it is the same entry. */
static gboolean
adopt_entry (TendHttpPlugin *self, guint index, GError **error)
{
  g_autoptr(GVariant) saved = tend_context_lookup_handover_value (self->context, HANDOVER_KEY);
  GVariantIter iter;
  const char *entry, *key;

  if (saved == NULL || !g_variant_is_of_type (saved, G_VARIANT_TYPE ("a(ss)")))
    return TRUE;
  g_variant_iter_init (&iter, saved);
  while (g_variant_iter_next (&iter, "(&s&s)", &entry, &key)) {
    int fd;
    if (!g_str_equal (entry, self->listen[index]) || (fd = tend_context_take_handover_fd (self->context, key)) < 0)
      continue;
    if (!tend_http_server_adopt (self->server, fd, error)) {
      g_prefix_error (error, "cannot listen on %s again after the update: ", entry);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
drain_cb (gpointer user_data)
{
  TendHttpPlugin *self = user_data;

  if (tend_http_server_get_n_connections (self->server) > 0)
    return G_SOURCE_CONTINUE;
  self->drain_timer = 0;
  tend_context_release_handover (self->context);
  return G_SOURCE_REMOVE;
}

/* New connections wait in the sockets' queues for the next program; those open get their answers first. */
static void
handover_prepare_cb (TendContext *context, gpointer user_data)
{
  TendHttpPlugin *self = user_data;

  if (self->server == NULL)
    return;
  tend_http_server_pause (self->server, TRUE);
  tend_context_hold_handover (context);
  self->drain_timer = g_timeout_add (5, drain_cb, self);
}

static void
handover_cancelled_cb (TendContext *context, gpointer user_data)
{
  TendHttpPlugin *self = user_data;

  g_clear_handle_id (&self->drain_timer, g_source_remove);
  if (self->server != NULL)
    tend_http_server_pause (self->server, FALSE);
}

static void
save_handover_cb (TendContext *context, TendHandover *handover, gpointer user_data)
{
  TendHttpPlugin *self = user_data;
  g_autoptr(GArray) fds = NULL;
  GVariantBuilder builder;

  if (self->server == NULL)
    return;
  fds = tend_http_server_get_listen_fds (self->server);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < fds->len && i < self->bound_entry->len; i++) {
    g_autofree char *key = g_strdup_printf ("%s-%u", HANDOVER_KEY, i);
    tend_handover_add_fd (handover, key, g_array_index (fds, int, i));
    g_variant_builder_add (&builder, "(ss)", self->listen[g_array_index (self->bound_entry, guint, i)], key);
  }
  tend_handover_set_value (handover, HANDOVER_KEY, g_variant_builder_end (&builder));
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendHttpPlugin *self = TEND_HTTP_PLUGIN (plugin);
  g_autoptr(GError) token_error = NULL;
  g_autofree char *bound_text = NULL;
  gboolean created = FALSE;

  /* the token first: a file others can read must stop us before any socket is open */
  if (!tend_http_token_load (self->token_path, &self->token, &created, &token_error) &&
      g_error_matches (token_error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED)) {
    g_propagate_error (error, g_steal_pointer (&token_error));
    return FALSE;
  }
  self->router = tend_http_router_new (self->context, &self->token, self->public_read,
                                       (const char *const *) self->allow_origins);
  self->server = tend_http_server_new (self->max_connections, self->request_timeout_ms, MAX_BODY,
                                       tend_http_router_handle, self->router);
  if (created)
    g_message ("created the HTTP API token in %s", self->token_path);
  for (guint i = 0; self->listen[i] != NULL; i++) {
    g_autofree char *host = NULL;
    guint16 port = 0;
    gboolean loopback = FALSE;

    if (!tend_parse_listen_address (self->listen[i], &host, &port, error) ||
        !tend_http_host_is_loopback (host, &loopback, error))
      return FALSE;
    /* checked before anything is bound: without a token, nothing is ever offered beyond this host */
    if (!loopback && token_error != NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "refusing to listen on %s without a token: %s",
                   self->listen[i], token_error->message);
      return FALSE;
    }
  }
  if (token_error != NULL)
    g_warning ("no API token (%s): only public reads will be answered", token_error->message);
  for (guint i = 0; self->listen[i] != NULL; i++) {
    g_autofree char *host = NULL;
    guint16 port = 0;
    guint before = tend_http_server_get_listen_fds_count (self->server);

    if (!adopt_entry (self, i, error))
      return FALSE;
    if (tend_http_server_get_listen_fds_count (self->server) == before &&
        (!tend_parse_listen_address (self->listen[i], &host, &port, error) ||
         !tend_http_server_listen (self->server, host, port, error)))
      return FALSE;
    for (guint n = tend_http_server_get_listen_fds_count (self->server); before < n; before++)
      g_array_append_val (self->bound_entry, i);
  }
  self->bound = tend_http_server_get_addresses (self->server);
  bound_text = g_strjoinv (", ", self->bound);
  g_message ("HTTP API listening on %s", bound_text);
  if (self->public_read)
    g_message ("public-read: GET /api/health/system and GET /metrics need no token");
  tend_http_router_start (self->router, self->server);
  tend_http_server_start (self->server);
  return TRUE;
}

static void
server_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!tend_http_server_stop_finish (TEND_HTTP_SERVER (source), result, &error))
    g_warning ("http: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TendHttpPlugin *self = TEND_HTTP_PLUGIN (plugin);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  if (self->context != NULL)
    g_signal_handlers_disconnect_by_data (self->context, self);
  g_clear_handle_id (&self->drain_timer, g_source_remove);
  if (self->router != NULL)
    tend_http_router_stop (self->router);
  if (self->server == NULL) {
    g_task_return_boolean (task, TRUE);
    g_object_unref (task);
    return;
  }
  /* the listening sockets close now; answers in progress (this reload's) still go out */
  tend_http_server_stop_async (self->server, STOP_GRACE_MS, server_stopped_cb, task);
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Every key matters to the listening sockets or the token; a restart is simplest and safe. */
static gboolean
plugin_reload (TendPlugin *plugin, TendPluginConfig *config, GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "the http plugin restarts to apply a change");
  return FALSE;
}

static void
plugin_add_status (TendPlugin *plugin, GVariantDict *status)
{
  TendHttpPlugin *self = TEND_HTTP_PLUGIN (plugin);

  g_variant_dict_insert (status, "listen", "^as", self->bound != NULL ? self->bound : (char *[]) { NULL });
  g_variant_dict_insert (status, "public-read", "b", self->public_read);
  g_variant_dict_insert (status, "token", "b", self->token.set);
  if (self->server == NULL)
    return;
  g_variant_dict_insert (status, "connections", "u", tend_http_server_get_n_connections (self->server));
  g_variant_dict_insert (status, "event-streams", "u", tend_http_router_get_n_streams (self->router));
  g_variant_dict_insert (status, "requests", "t", tend_http_server_get_n_requests (self->server));
  g_variant_dict_insert (status, "refused-connections", "t", tend_http_server_get_n_refused (self->server));
  g_variant_dict_insert (status, "timed-out-connections", "t", tend_http_server_get_n_timed_out (self->server));
  g_variant_dict_insert (status, "bad-requests", "t", tend_http_server_get_n_bad_requests (self->server));
  g_variant_dict_insert (status, "unauthorized", "t", tend_http_router_get_n_unauthorized (self->router));
}

static void
tend_http_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->reload = plugin_reload;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
  iface->add_status = plugin_add_status;
}

static void
tend_http_plugin_finalize (GObject *object)
{
  TendHttpPlugin *self = TEND_HTTP_PLUGIN (object);

  if (self->context != NULL)
    g_signal_handlers_disconnect_by_data (self->context, self);
  g_clear_handle_id (&self->drain_timer, g_source_remove);
  if (self->router != NULL)
    tend_http_router_stop (self->router);
  /* the server first: closing its streams calls back into the router */
  g_clear_object (&self->server);
  g_clear_object (&self->router);
  g_strfreev (self->listen);
  g_strfreev (self->allow_origins);
  g_clear_pointer (&self->bound_entry, g_array_unref);
  g_strfreev (self->bound);
  g_free (self->token_path);
  memset (&self->token, 0, sizeof self->token);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_http_plugin_parent_class)->finalize (object);
}

static void
tend_http_plugin_class_init (TendHttpPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_http_plugin_finalize;
}

static void
tend_http_plugin_init (TendHttpPlugin *self)
{
}

static const TendConfigKey http_keys[] = {
  { "listen", TEND_CONFIG_KEY_LISTEN_LIST, "127.0.0.1:9615", NULL,
    N_("Addresses to serve the API on, HOST:PORT separated by ';'; HOST is an IP address or localhost "
       "(port 0: any free port)") },
  { "token-file", TEND_CONFIG_KEY_PATH, NULL, NULL,
    N_("The file holding the bearer token (default: $TEND_HOME/api-token; created when missing)") },
  { "public-read", TEND_CONFIG_KEY_BOOL, "false", NULL,
    N_("true: GET /api/health/system and GET /metrics need no token") },
  { "allow-origin", TEND_CONFIG_KEY_LIST, NULL, NULL,
    N_("Browser origins allowed to call the API (CORS), e.g. https://dash.example.com; none by default") },
  { "max-connections", TEND_CONFIG_KEY_UINT, "64", "1..65535", N_("Concurrent connections; more are refused with 503") },
  { "request-timeout", TEND_CONFIG_KEY_DURATION, "10s", NULL,
    N_("Time a connection gets for each complete request, idle keep-alive time included") },
  { NULL },
};

TEND_DEFINE_PLUGIN ("http",
                    tend_http_plugin,
                    N_("HTTP API: health, control, logs, server-sent events and Prometheus metrics"),
                    http_keys)
