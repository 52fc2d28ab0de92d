/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tend-cli.h"

/* How long tend update waits for the new program to answer, by default. */
#define UPDATE_WAIT_S 60

/* The daemon's Generation, or FALSE when it cannot be read (not answering, or a tendd without tend update). */
static gboolean
read_generation (TendCli *cli, guint32 *out_generation, GError **error)
{
  g_autoptr(GVariant) value = tend_cli_get_property (cli, "Generation", error);

  if (value == NULL)
    return FALSE;
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32)) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "no Generation property");
    return FALSE;
  }
  *out_generation = g_variant_get_uint32 (value);
  return TRUE;
}

int
tend_cli_cmd_update (TendCli *cli, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) positional = NULL;
  g_autofree char *tendd = NULL;
  g_autofree char *binary = NULL;
  g_autofree char *version = NULL;
  g_autofree char *wait_text = NULL;
  double wait_s = UPDATE_WAIT_S;
  guint32 before = 0, now = 0;
  gint64 started, deadline;
  int status;
  const GOptionEntry entries[] = {
    { "tendd", 0, 0, G_OPTION_ARG_FILENAME, &tendd,
      N_("The new tendd program (default: $TEND_TENDD, else the one the daemon was started as)"), N_("PATH") },
    { "wait", 0, 0, G_OPTION_ARG_STRING, &wait_text, N_("How long to wait for the new daemon (default: 60)"),
      N_("SECONDS") },
    { NULL },
  };

  status = tend_cli_parse_options (
      "update", "",
      _("upgrade tendd in place: the daemon executes its new program in the same process, every service keeps "
        "running (same pid, state, restart count, logs); the new program is checked first (--version, "
        "--check-config) and nothing changes when it fails"),
      entries, NULL, argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 0)
    return tend_cli_usage_error (_("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 0));
  if (wait_text != NULL && !tend_cli_parse_wait (wait_text, &wait_s))
    return tend_cli_usage_error (_("--wait: not a number of seconds: %s"), wait_text);
  if (tendd == NULL && g_getenv ("TEND_TENDD") != NULL && g_getenv ("TEND_TENDD")[0] != '\0')
    tendd = g_strdup (g_getenv ("TEND_TENDD"));
  /* the daemon's folder is not ours */
  binary = tendd != NULL ? g_canonicalize_filename (tendd, NULL) : g_strdup ("");

  status = tend_cli_connect (cli, FALSE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (!read_generation (cli, &before, &error)) {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
      return tend_cli_fail (_("this tendd cannot update in place (it is older than tend update); restart it"));
    return tend_cli_report_error (error);
  }
  started = g_get_monotonic_time ();
  deadline = started + (gint64) (wait_s * G_USEC_PER_SEC);
  /* busy for a moment (a service stopping, a stop under way): asked again until --wait runs out */
  while (!tend_dbus_manager1_call_update_sync (cli->manager, binary, G_DBUS_CALL_FLAGS_NONE, (int) (wait_s * 1000),
                                               &version, NULL, &error)) {
    g_autofree char *remote = g_dbus_error_get_remote_error (error);

    if (g_strcmp0 (remote, "org.tend.Tend1.Error.Busy") == 0 && g_get_monotonic_time () < deadline) {
      g_clear_error (&error);
      g_usleep (200 * 1000);
      continue;
    }
    if (g_dbus_error_is_remote_error (error)) {
      g_dbus_error_strip_remote_error (error);
      return tend_cli_fail (_("update refused: %s"), error->message);
    }
    return tend_cli_report_error (error);
  }
  tend_cli_disconnect (cli);

  /* the control socket stays open across the exec: a connection waits in its queue meanwhile */
  for (;;) {
    g_clear_error (&error);
    if (tend_cli_try_connect (cli, &error) && read_generation (cli, &now, &error) && now > before)
      break;
    /* a connection to the old program, closed by the exec: try again */
    tend_cli_disconnect (cli);
    if (g_get_monotonic_time () > deadline)
      return tend_cli_fail (_("tendd accepted the update to %s but did not answer as the new program within %.0f s "
                              "(last: %s); see its log"),
                            version, wait_s, error != NULL ? error->message : _("the old program answered"));
    g_usleep (20 * 1000);
  }
  g_print (_("tendd updated in place to %s in %.1f s (generation %u); every service kept running\n"), version,
           (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC, now);
  return TEND_CLI_EXIT_OK;
}
