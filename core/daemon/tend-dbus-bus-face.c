/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-dbus-bus-face.h"

/*
 * Tools such as `gdbus --address` treat any address as a message bus: they
 * say Hello and add match rules before anything else. The socket answers
 * those few calls itself, so the tools work on it unchanged.
 */
static const char bus_xml[] = "<node><interface name='org.freedesktop.DBus'>"
                              "<method name='Hello'><arg type='s' direction='out'/></method>"
                              "<method name='AddMatch'><arg type='s' direction='in'/></method>"
                              "<method name='RemoveMatch'><arg type='s' direction='in'/></method>"
                              "<method name='GetId'><arg type='s' direction='out'/></method>"
                              "<method name='GetNameOwner'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>"
                              "<method name='NameHasOwner'><arg type='s' direction='in'/><arg type='b' direction='out'/></method>"
                              "<method name='ListNames'><arg type='as' direction='out'/></method>"
                              "</interface></node>";

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
  static guint next_peer = 1;
  const char *name = NULL;

  if (g_str_equal (method_name, "Hello")) {
    g_autofree char *unique = g_strdup_printf (":1.%u", next_peer++);
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", unique));
  } else if (g_str_equal (method_name, "AddMatch") || g_str_equal (method_name, "RemoveMatch")) {
    /* every signal is sent to every peer anyway */
    g_dbus_method_invocation_return_value (invocation, NULL);
  } else if (g_str_equal (method_name, "GetId")) {
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", g_dbus_connection_get_guid (connection)));
  } else if (g_str_equal (method_name, "GetNameOwner") || g_str_equal (method_name, "NameHasOwner")) {
    gboolean ours;
    g_variant_get (parameters, "(&s)", &name);
    ours = g_str_equal (name, "org.tend.Tend1") || g_str_equal (name, "org.freedesktop.DBus");
    if (g_str_equal (method_name, "NameHasOwner"))
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", ours));
    else if (ours)
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", name));
    else
      g_dbus_method_invocation_return_dbus_error (invocation, "org.freedesktop.DBus.Error.NameHasNoOwner", name);
  } else if (g_str_equal (method_name, "ListNames")) {
    const char *names[] = { "org.freedesktop.DBus", "org.tend.Tend1", NULL };
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", names));
  }
}

void
tend_dbus_bus_face_register (GDBusConnection *connection)
{
  static GDBusNodeInfo *info = NULL;
  static const GDBusInterfaceVTable vtable = { bus_method_call, NULL, NULL };
  g_autoptr(GError) error = NULL;

  if (info == NULL)
    info = g_dbus_node_info_new_for_xml (bus_xml, NULL);
  if (g_dbus_connection_register_object (connection, "/org/freedesktop/DBus", info->interfaces[0], &vtable, NULL,
                                         NULL, &error) == 0)
    g_warning ("cannot answer bus calls on the control socket: %s", error->message);
}

