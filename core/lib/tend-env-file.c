/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A service's env-file is read again at every start, reload, resurrect and
 * health-check setup, by tendd, which is usually root. Read with root's
 * rights, a file the service's user controls (a link in its own folder) could
 * be pointed at any root-only file and its lines would reach the service's
 * environment or its status message. So it is read as the one whose file it
 * is: the service's user, or the admin who added the service.
 */
#include "config.h"

#include <pwd.h>
#include <unistd.h>

#include "tend-as-user.h"
#include "tend-env-file.h"
#include "tend-error.h"
#include "tend-parse.h"

static gboolean
all_digits (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++) {
    if (!g_ascii_isdigit (*text))
      return FALSE;
  }
  return TRUE;
}

/* user= as the reader accepts it: a name, or a uid with a user entry; (uid_t) -1 when unknown */
static uid_t
user_uid (const char *user)
{
  struct passwd *pw = getpwnam (user);

  if (pw != NULL)
    return pw->pw_uid;
  if (all_digits (user)) {
    pw = getpwuid ((uid_t) g_ascii_strtoull (user, NULL, 10));
    if (pw != NULL)
      return pw->pw_uid;
  }
  return (uid_t) -1;
}

/*
 * Whose rights read the file, when tendd is root: the user= it runs as when
 * that is not tendd's own user; else the D-Bus caller that added it
 * (added_by_uid); else (uid_t) -1, the calling thread's own rights (tendd's,
 * or a caller's while tend_caller_config reads their file). Always -1 when
 * tendd is not root: it cannot take another user's rights. FALSE when user=
 * names no user any more (deleted since the configuration was read).
 */
static gboolean
pick_reader (const TendServiceConfig *config, uid_t *out_uid)
{
  uid_t self = geteuid ();

  *out_uid = (uid_t) -1;
  if (self != 0)
    return TRUE;
  if (config->user != NULL) {
    uid_t uid = user_uid (config->user);
    if (uid == (uid_t) -1)
      return FALSE;
    if (uid != self) {
      *out_uid = uid;
      return TRUE;
    }
  }
  if (config->added_by_uid != (uid_t) -1 && config->added_by_uid != 0 && config->added_by_uid != self)
    *out_uid = config->added_by_uid;
  return TRUE;
}

static gpointer
read_cb (gpointer data, GError **error)
{
  GStrv env = NULL;

  if (!tend_parse_env_file (data, &env, error))
    return NULL;
  return env;
}

gboolean
tend_env_file_read (const TendServiceConfig *config, GStrv *out_env, GError **error)
{
  uid_t reader;
  GStrv env;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (config != NULL && config->env_file != NULL, FALSE);

  if (!pick_reader (config, &reader)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "%s: not read: unknown user %s", config->env_file,
                 config->user);
    return FALSE;
  }
  if (reader == (uid_t) -1)
    return tend_parse_env_file (config->env_file, out_env, error);
  env = tend_as_user_run (reader, read_cb, config->env_file, &local_error);
  if (env == NULL) {
    struct passwd *pw = getpwuid (reader);
    g_autofree char *who = pw != NULL ? g_strdup (pw->pw_name) : g_strdup_printf ("uid %u", (unsigned) reader);

    /* the same domain and code, so callers can still tell "missing" from "bad line" */
    g_set_error (error, local_error->domain, local_error->code, "%s (read as %s)", local_error->message, who);
    return FALSE;
  }
  *out_env = env;
  return TRUE;
}
