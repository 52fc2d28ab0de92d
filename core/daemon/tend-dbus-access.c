/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "tend-dbus-access.h"
#include "tend-error.h"

/* a message bus connection, or a peer of the control socket */
static gboolean
is_bus (GDBusConnection *connection)
{
  /* set by whoever made the connection (g_bus_get for the bus, GDBusServer for a peer), never by a message */
  return (g_dbus_connection_get_flags (connection) & G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION) != 0;
}

static gboolean
peer_uid (GDBusConnection *connection, uid_t *out_uid, GError **error)
{
  /* the kernel vouched for the peer when it connected (SO_PEERCRED) */
  GCredentials *credentials = g_dbus_connection_get_peer_credentials (connection);

  if (credentials == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "the caller's credentials are unknown");
    return FALSE;
  }
  *out_uid = g_credentials_get_unix_user (credentials, error);
  return *out_uid != (uid_t) -1;
}

gboolean
tend_dbus_access_get_caller_uid (GDBusMethodInvocation *invocation, uid_t *out_uid, GError **error)
{
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  g_autoptr(GVariant) reply = NULL;
  guint32 uid;

  /*
   * Decided by the connection, never by the message: on a peer-to-peer
   * connection a SENDER header is whatever the peer wrote, and the peer
   * would answer a question about it itself.
   */
  if (!is_bus (connection))
    return peer_uid (connection, out_uid, error);
  if (sender == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "the bus did not name the caller");
    return FALSE;
  }
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixUser", g_variant_new ("(s)", sender),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(u)", &uid);
  *out_uid = uid;
  return TRUE;
}

gboolean
tend_dbus_access_caller_may_control (GDBusMethodInvocation *invocation, const char *admin_group, uid_t *out_uid)
{
  g_autoptr(GError) error = NULL;
  uid_t uid = (uid_t) -1;
  gboolean ok = tend_dbus_access_get_caller_uid (invocation, &uid, &error) &&
                tend_dbus_access_uid_may_control (uid, admin_group);

  if (error != NULL)
    g_debug ("cannot tell who called %s: %s", g_dbus_method_invocation_get_method_name (invocation), error->message);
  if (out_uid != NULL)
    *out_uid = uid;
  return ok;
}

/* ---- peers of the control socket ---- */

static void
describe_peer (GDBusConnection *connection, pid_t *out_pid, uid_t *out_uid)
{
  GCredentials *credentials = g_dbus_connection_get_peer_credentials (connection);

  *out_pid = credentials != NULL ? g_credentials_get_unix_pid (credentials, NULL) : -1;
  *out_uid = credentials != NULL ? g_credentials_get_unix_user (credentials, NULL) : (uid_t) -1;
}

/* In GDBus's worker thread: the message never reaches a handler. */
static GDBusMessage *
refuse_claimed_sender (GDBusConnection *connection, GDBusMessage *message, gboolean incoming, gpointer user_data)
{
  const char *sender = incoming ? g_dbus_message_get_sender (message) : NULL;
  g_autoptr(GDBusMessage) reply = NULL;
  pid_t pid;
  uid_t uid;

  if (sender == NULL)
    return message;
  describe_peer (connection, &pid, &uid);
  g_warning ("control socket: refused %s.%s from pid %d uid %d: it claims to come from %s, which only a bus may "
             "say",
             g_dbus_message_get_interface (message) != NULL ? g_dbus_message_get_interface (message) : "(none)",
             g_dbus_message_get_member (message) != NULL ? g_dbus_message_get_member (message) : "(none)", (int) pid,
             (int) uid, sender);
  if (g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
      (g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) == 0) {
    reply = g_dbus_message_new_method_error (message, "org.freedesktop.DBus.Error.AccessDenied",
                                             "a message on the control socket must not carry a sender");
    g_dbus_connection_send_message (connection, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
  }
  g_object_unref (message);
  return NULL;
}

void
tend_dbus_access_guard_peer (GDBusConnection *connection)
{
  g_dbus_connection_add_filter (connection, refuse_claimed_sender, NULL, NULL);
}

gboolean
tend_dbus_access_uid_may_control (uid_t uid, const char *admin_group)
{
  struct group *gr;
  struct passwd *pw;
  g_autofree gid_t *groups = NULL;
  int n = 64;

  if (uid == 0 || uid == geteuid ())
    return TRUE;
  if (admin_group == NULL || admin_group[0] == '\0')
    return FALSE;
  gr = getgrnam (admin_group);
  pw = getpwuid (uid);
  if (gr == NULL || pw == NULL)
    return FALSE;
  groups = g_new (gid_t, n);
  if (getgrouplist (pw->pw_name, pw->pw_gid, groups, &n) < 0) {
    groups = g_renew (gid_t, groups, n);
    if (getgrouplist (pw->pw_name, pw->pw_gid, groups, &n) < 0)
      return FALSE;
  }
  for (int i = 0; i < n; i++) {
    if (groups[i] == gr->gr_gid)
      return TRUE;
  }
  return FALSE;
}
