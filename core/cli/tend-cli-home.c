/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-cli.h"

char *
tend_cli_etc_path (const char *name)
{
  const char *dir = g_getenv ("TEND_ETC_DIR");

  return g_build_filename (dir != NULL && dir[0] != '\0' ? dir : TEND_CLI_ETC_DIR, name, NULL);
}

char *
tend_cli_system_home (void)
{
  g_autofree char *path = tend_cli_etc_path ("home");
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup (TEND_SYSTEM_HOME);
  g_strstrip (contents);
  /* a file that names no absolute folder names nothing: ignored, as if it were missing */
  if (!g_path_is_absolute (contents) || strchr (contents, '\n') != NULL) {
    g_debug ("%s does not name an absolute folder; ignored", path);
    return g_strdup (TEND_SYSTEM_HOME);
  }
  return g_steal_pointer (&contents);
}

/* A socket that this user may connect to (write permission on the socket file is what the kernel asks). */
static gboolean
socket_usable (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISSOCK (st.st_mode) && access (path, R_OK | W_OK) == 0;
}

static void
set_home (TendCli *cli, const char *home)
{
  g_free (cli->home);
  g_free (cli->socket_path);
  cli->home = g_canonicalize_filename (home, NULL);
  cli->socket_path = g_build_filename (cli->home, "tendd.sock", NULL);
}

void
tend_cli_resolve_home (TendCli *cli, const char *option)
{
  const char *env = g_getenv ("TEND_HOME");
  g_autofree char *user_home = g_build_filename (g_get_home_dir (), ".tend", NULL);
  g_autofree char *user_socket = g_build_filename (user_home, "tendd.sock", NULL);
  g_autofree char *system_home = NULL;
  g_autofree char *system_socket = NULL;

  if (option != NULL) {
    set_home (cli, option);
    cli->home_given = TRUE;
    return;
  }
  if (env != NULL && env[0] != '\0') {
    set_home (cli, env);
    cli->home_given = TRUE;
    return;
  }
  set_home (cli, user_home);
  {
    g_autofree char *named = tend_cli_system_home ();
    system_home = g_canonicalize_filename (named, NULL);
  }
  system_socket = g_build_filename (system_home, "tendd.sock", NULL);
  if (strcmp (cli->socket_path, system_socket) == 0 || !socket_usable (system_socket))
    return;
  /* a daemon of our own in ~/.tend comes first; the connection made to ask is kept for the command */
  if (g_file_test (user_socket, G_FILE_TEST_EXISTS) && tend_cli_try_connect (cli, NULL))
    return;
  set_home (cli, system_home);
  cli->system_home = TRUE;
}
