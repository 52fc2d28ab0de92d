/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tend tunnel [--json]: the cloudflared plugin's tunnel, from org.tend.Tunnel1. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tend-cli.h"

#define TUNNEL_PATH TEND_CLI_OBJECT_PATH "/plugin/cloudflared"
#define TUNNEL_INTERFACE "org.tend.Tunnel1"
#define CALL_TIMEOUT_MS 30000

/* The object or its interface is not there: the plugin is not loaded. */
static gboolean
error_means_disabled (const GError *error)
{
  g_autofree char *remote = NULL;

  if (!g_dbus_error_is_remote_error (error))
    return FALSE;
  remote = g_dbus_error_get_remote_error (error);
  return g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
         g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownInterface") == 0 ||
         g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0 ||
         g_strcmp0 (remote, "org.freedesktop.DBus.Error.InvalidArgs") == 0;
}

static void
print_json (const char *status, const char *url, guint32 connections, gint64 since, const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, status);
  /* the same, under the name `tend tunnel` shows it with */
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, status);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, url);
  json_builder_set_member_name (builder, "connections");
  json_builder_add_int_value (builder, connections);
  /* µs since the epoch, as start-time in tend status --json and since in GET /api/tunnel */
  json_builder_set_member_name (builder, "since");
  json_builder_add_int_value (builder, since);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  tend_cli_print_json (root);
}

static void
print_text (const char *status, const char *url, guint32 connections, gint64 since, const char *message)
{
  g_autoptr(GDateTime) local = since > 0 ? g_date_time_new_from_unix_local (since / G_USEC_PER_SEC) : NULL;
  g_autofree char *when = local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : NULL;
  g_autofree char *ago = tend_cli_format_uptime (since);

  /* TRANSLATORS: the labels of `tend tunnel`, padded to line up */
  g_print ("%-13s %s\n", _("tunnel"), status);
  g_print ("%-13s %s\n", _("url"), url[0] != '\0' ? url : "-");
  g_print ("%-13s %u\n", _("connections"), connections);
  if (when != NULL)
    g_print ("%-13s %s (%s)\n", _("since"), when, ago);
  if (message[0] != '\0')
    g_print ("%-13s %s\n", _("message"), message);
}

int
tend_cli_cmd_tunnel (TendCli *cli, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusProxy) tunnel = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) props = NULL;
  const char *state = "stopped", *url = "", *message = "";
  guint32 connections = 0;
  gint64 since = 0;
  gboolean json = FALSE;
  g_autoptr(GPtrArray) positional = NULL;
  int status;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL },
  };

  status = tend_cli_parse_options ("tunnel", "", _("the public URL and the state of the cloudflared tunnel"), entries,
                                   NULL, argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 0)
    return tend_cli_usage_error (_("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 0));
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  /*
   * A plain proxy, not a generated one: Tunnel1 is the cloudflared plugin's
   * interface, not the core's. Its properties are asked for at once (GetAll),
   * so that a missing plugin is an answer rather than an empty cache.
   */
  tunnel = g_dbus_proxy_new_sync (cli->connection,
                                  G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS |
                                      G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                  NULL, NULL, TUNNEL_PATH, TUNNEL_INTERFACE, NULL, &error);
  if (tunnel != NULL)
    reply = g_dbus_proxy_call_sync (tunnel, "org.freedesktop.DBus.Properties.GetAll",
                                    g_variant_new ("(s)", TUNNEL_INTERFACE), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                                    NULL, &error);
  if (reply != NULL && !g_variant_is_of_type (reply, G_VARIANT_TYPE ("(a{sv})"))) {
    g_clear_pointer (&reply, g_variant_unref);
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("tendd answered GetAll with the wrong type"));
  }
  if (reply == NULL && error_means_disabled (error)) {
    /* not an error: there is simply no tunnel */
    if (json)
      print_json ("disabled", "", 0, 0, "the cloudflared plugin is not loaded");
    else
      g_print (_("no tunnel: the cloudflared plugin is not loaded (enable [plugin:cloudflared])\n"));
    return TEND_CLI_EXIT_OK;
  }
  if (reply == NULL)
    return tend_cli_report_error (error);
  props = g_variant_get_child_value (reply, 0);
  g_variant_lookup (props, "State", "&s", &state);
  g_variant_lookup (props, "Url", "&s", &url);
  g_variant_lookup (props, "Connections", "u", &connections);
  g_variant_lookup (props, "Since", "x", &since);
  g_variant_lookup (props, "Message", "&s", &message);
  if (json)
    print_json (state, url, connections, since, message);
  else
    print_text (state, url, connections, since, message);
  return TEND_CLI_EXIT_OK;
}
