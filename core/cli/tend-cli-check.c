/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tend check [FILE]: the daemon's own reader judges the file, through `tendd --check-config`. */
#include "config.h"

#include <glib/gi18n.h>

#include "tend-cli.h"

/*
 * Without FILE: the file a running daemon of this home reads (it may have been
 * started with --config), else what a new daemon would read (HOME/tend.conf).
 * Asked without autostart: checking must not start anything.
 */
static char *
daemon_config_path (TendCli *cli)
{
  g_autoptr(GVariant) value = NULL;

  if (!tend_cli_try_connect (cli, NULL))
    return NULL;
  value = tend_cli_get_property (cli, "ConfigPath", NULL);
  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_get_string (value, NULL)[0] != '/')
    return NULL;
  return g_variant_dup_string (value, NULL);
}

int
tend_cli_run_check (TendCli *cli, const char *config, char **out_stdout, char **out_stderr, gboolean *out_judged)
{
  g_autoptr(GPtrArray) tendd_argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *tendd = tend_cli_find_tendd ();
  gboolean capture = out_stdout != NULL;
  int wait_status = 0;

  if (out_judged != NULL)
    *out_judged = FALSE;
  if (tendd == NULL)
    return tend_cli_fail (_("cannot find tendd (set TEND_TENDD to its path)"));
  g_ptr_array_add (tendd_argv, g_strdup (tendd));
  g_ptr_array_add (tendd_argv, g_strdup ("--check-config"));
  g_ptr_array_add (tendd_argv, g_strdup ("--home"));
  g_ptr_array_add (tendd_argv, g_strdup (cli->home));
  if (config != NULL) {
    g_ptr_array_add (tendd_argv, g_strdup ("--config"));
    g_ptr_array_add (tendd_argv, g_strdup (config));
  }
  g_ptr_array_add (tendd_argv, NULL);
  /* tendd prints its verdict and the errors itself, on our stdout and stderr unless captured */
  if (!g_spawn_sync (NULL, (char **) tendd_argv->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL,
                     capture ? out_stdout : NULL, capture ? out_stderr : NULL, &wait_status, &error))
    return tend_cli_fail (_("cannot run %s: %s"), tendd, error->message);
  if (WIFEXITED (wait_status) && (WEXITSTATUS (wait_status) == 0 || WEXITSTATUS (wait_status) == 1)) {
    if (out_judged != NULL)
      *out_judged = TRUE;
    return WEXITSTATUS (wait_status) == 0 ? TEND_CLI_EXIT_OK : TEND_CLI_EXIT_FAILED;
  }
  /* 2: a tendd too old to know --check-config; or it crashed */
  return tend_cli_fail (_("%s could not check the configuration (wait status %d)"), tendd, wait_status);
}

int
tend_cli_cmd_check (TendCli *cli, int argc, char **argv)
{
  g_autoptr(GPtrArray) positional = NULL;
  g_autofree char *config = NULL;
  int status;

  status = tend_cli_parse_options ("check", "[FILE]",
                                   _("Check a configuration file as tendd would read it (the plugins' keys "
                                     "included), start nothing. Without FILE: the file the daemon of this home "
                                     "reads. Exit status 0 when it is valid, 1 with every error as "
                                     "FILE:LINE: [group] key: reason."),
                                   NULL, NULL, argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 1)
    return tend_cli_usage_error (_("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 1));

  if (positional->len == 1)
    config = g_canonicalize_filename (g_ptr_array_index (positional, 0), NULL);
  else
    config = daemon_config_path (cli);
  return tend_cli_run_check (cli, config, NULL, NULL, NULL);
}
