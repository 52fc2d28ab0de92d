/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "tend-dbus-access.h"
#include "tend-error.h"

gboolean
tend_dbus_access_get_caller_uid (GDBusMethodInvocation *invocation, uid_t *out_uid, GError **error)
{
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  g_autoptr(GVariant) reply = NULL;
  GCredentials *credentials;
  guint32 uid;

  if (sender == NULL) {
    /* peer-to-peer: the kernel vouched for the peer when the connection was made */
    credentials = g_dbus_connection_get_peer_credentials (connection);
    if (credentials == NULL) {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "the caller's credentials are unknown");
      return FALSE;
    }
    *out_uid = g_credentials_get_unix_user (credentials, error);
    return *out_uid != (uid_t) -1;
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
