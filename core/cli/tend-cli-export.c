/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend export --nohup: the way back. Writes the migration plan's emergency
 * rollback as a script, from what the running daemon supervises: it stops
 * Tend, then starts each service that should run under nohup, as the
 * operator did before the move (same command, folder, environment and log
 * files), and prints the pids.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <time.h>

#include "tend-cli.h"
#include "tend-parse.h"

typedef struct {
  gboolean nohup;
  char *output;
} ExportArgs;

/* The value of config key @key, NULL when not set. */
static const char *
config_value (GVariant *config, const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (config, key, "&s", &value) || value[0] == '\0')
    return NULL;
  return value;
}

static void
append_quoted (GString *out, const char *text)
{
  g_autofree char *quoted = g_shell_quote (text);
  g_string_append (out, quoted);
}

/* The command as the daemon runs it: words re-quoted for sh, or sh -c for shell=true. */
static gboolean
append_command (GString *out, GVariant *config, const char *name, GError **error)
{
  const char *exec = config_value (config, "exec");
  const char *shell = config_value (config, "shell");
  g_auto(GStrv) argv = NULL;

  if (exec == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s has no command"), name);
    return FALSE;
  }
  if (g_strcmp0 (shell, "true") == 0) {
    g_string_append (out, "sh -c ");
    append_quoted (out, exec);
    return TRUE;
  }
  if (!g_shell_parse_argv (exec, NULL, &argv, error))
    return FALSE;
  for (guint i = 0; argv[i] != NULL; i++) {
    if (i > 0)
      g_string_append_c (out, ' ');
    append_quoted (out, argv[i]);
  }
  return TRUE;
}

static void
append_echo (GString *out, const char *text)
{
  g_string_append (out, "echo ");
  append_quoted (out, text);
  g_string_append_c (out, '\n');
}

/* The lines of one instance: a subshell that sets its folder and environment, then execs nohup. */
static gboolean
append_instance (GString *out, const char *name, GVariant *config, GVariant *instance, gboolean several,
                 GError **error)
{
  const char *cwd = config_value (config, "cwd");
  const char *env = config_value (config, "env");
  const char *env_file = config_value (config, "env-file");
  const char *user = config_value (config, "user");
  const char *group = config_value (config, "group");
  const char *increment_var = config_value (config, "increment-var");
  const char *out_log = NULL, *error_log = NULL;
  guint32 index = 0;
  g_autofree char *label = NULL;

  g_variant_lookup (instance, "index", "u", &index);
  g_variant_lookup (instance, "out-log", "&s", &out_log);
  g_variant_lookup (instance, "error-log", "&s", &error_log);
  /* PM2's names: NAME for one instance, NAME-I for several */
  label = several ? g_strdup_printf ("%s-%u", name, index) : g_strdup (name);

  {
    g_autofree char *starting = g_strdup_printf (_("starting %s..."), label);
    append_echo (out, starting);
  }
  g_string_append (out, "(\n  cd ");
  /* tendd runs in / when the service names no folder */
  append_quoted (out, cwd != NULL ? cwd : "/");
  g_string_append (out, " || exit 1\n");
  if (env_file != NULL) {
    /* KEY=VALUE lines, '#' comments, no quoting: as tendd reads them */
    g_string_append (out, "  while IFS= read -r line || [ -n \"$line\" ]; do\n"
                          "    case $line in ''|'#'*) ;; *=*) export \"$line\" ;; esac\n"
                          "  done < ");
    append_quoted (out, env_file);
    g_string_append_c (out, '\n');
  }
  if (env != NULL) {
    g_auto(GStrv) items = NULL;
    /* the config's own list syntax, read as tendd reads it */
    if (!tend_parse_env_list (env, &items, error)) {
      g_prefix_error (error, "%s: env: ", name);
      return FALSE;
    }
    for (guint i = 0; items[i] != NULL; i++) {
      g_string_append (out, "  export ");
      append_quoted (out, items[i]);
      g_string_append_c (out, '\n');
    }
  }
  g_string_append_printf (out, "  export TEND_INSTANCE=%u NODE_APP_INSTANCE=%u\n", index, index);
  if (increment_var != NULL)
    g_string_append_printf (out, "  export %s=$((%s + %u))\n", increment_var, increment_var, index);
  g_string_append (out, "  exec ");
  if (user != NULL) {
    g_string_append (out, "runuser -u ");
    append_quoted (out, user);
    if (group != NULL) {
      g_string_append (out, " -g ");
      append_quoted (out, group);
    }
    g_string_append (out, " -- ");
  }
  g_string_append (out, "nohup ");
  if (!append_command (out, config, name, error))
    return FALSE;
  g_string_append (out, " < /dev/null >> ");
  append_quoted (out, out_log != NULL ? out_log : "/dev/null");
  g_string_append (out, " 2>> ");
  append_quoted (out, error_log != NULL ? error_log : "/dev/null");
  g_string_append (out, "\n) &\necho ");
  append_quoted (out, label);
  g_string_append (out, "\": pid $!\"\n\n");
  return TRUE;
}

/* The names of ListServices, once each, in its order. */
static GPtrArray *
service_names (GVariant *instances)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantIter iter;
  GVariant *instance;

  g_variant_iter_init (&iter, instances);
  while ((instance = g_variant_iter_next_value (&iter)) != NULL) {
    const char *name = NULL;
    if (g_variant_lookup (instance, "name", "&s", &name) && !g_hash_table_contains (seen, name)) {
      char *copy = g_strdup (name);
      g_ptr_array_add (names, copy);
      g_hash_table_add (seen, copy);
    }
    g_variant_unref (instance);
  }
  return names;
}

static char *
write_script (TendCli *cli, const char *tend_path, GError **error)
{
  g_autoptr(GVariant) instances = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) stopped = g_string_new (NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *when = g_date_time_format (now, "%Y-%m-%d %H:%M:%S %z");

  instances = tend_cli_list_services (cli, error);
  if (instances == NULL)
    return NULL;
  names = service_names (instances);

  g_string_append (out, "#!/bin/sh\n");
  g_string_append_printf (out, "# %s\n", _("Emergency rollback: Tend back to nohup."));
  g_string_append_printf (out, "# %s %s, %s\n", _("Written by tend export --nohup on"), when, cli->home);
  g_string_append_printf (out, "# %s\n",
                          _("It stops Tend (every service and the daemon), then starts each service that was "
                            "running under nohup,"));
  g_string_append_printf (out, "# %s\n",
                          _("with its folder, environment and log files, and prints the pids. "
                            "Run it as the daemon's user."));
  g_string_append_printf (out, "# %s\n\n",
                          _("Without Tend nothing restarts a crashed service, and log-date-format and "
                            "rotation no longer apply."));
  g_string_append (out, "set -u\nTEND=${TEND:-");
  append_quoted (out, tend_path);
  g_string_append (out, "}\n\n");
  append_echo (out, _("stopping Tend..."));
  g_string_append (out, "\"$TEND\" --home ");
  append_quoted (out, cli->home);
  g_string_append (out, " kill || { echo ");
  {
    g_autofree char *text = g_shell_quote (_("tend kill failed: nothing was started, so that no service runs twice"));
    g_string_append (out, text);
  }
  g_string_append (out, " >&2; exit 1; }\n\n");

  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autoptr(GVariant) service = NULL;
    g_autoptr(GVariant) config = NULL;
    g_autoptr(GVariant) list = NULL;
    gboolean redacted = FALSE, wants = TRUE;
    GVariantIter iter;
    GVariant *instance;

    if (!tend_dbus_manager1_call_describe_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, &service, NULL,
                                                error))
      return NULL;
    g_variant_lookup (service, "redacted", "b", &redacted);
    if (redacted) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("tendd shows you the services without their commands and environment; run tend export as "
                     "tendd's user, root or a member of its admin-group"));
      return NULL;
    }
    g_variant_lookup (service, "wants-running", "b", &wants);
    config = g_variant_lookup_value (service, "config", G_VARIANT_TYPE ("a{ss}"));
    list = g_variant_lookup_value (service, "instance-list", G_VARIANT_TYPE ("aa{sv}"));
    if (config == NULL || list == NULL) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("tendd described %s without its configuration"), name);
      return NULL;
    }
    if (!wants) {
      g_string_append_printf (stopped, "%s%s", stopped->len > 0 ? ", " : "", name);
      continue;
    }
    g_string_append_printf (out, "# %s\n", name);
    g_variant_iter_init (&iter, list);
    while ((instance = g_variant_iter_next_value (&iter)) != NULL) {
      gboolean ok = append_instance (out, name, config, instance, g_variant_n_children (list) > 1, error);
      g_variant_unref (instance);
      if (!ok)
        return NULL;
    }
  }
  if (stopped->len > 0) {
    g_autofree char *text = g_strdup_printf (_("not started, as they were stopped in Tend: %s"), stopped->str);
    append_echo (out, text);
  }
  append_echo (out, _("rollback done: the services run under nohup"));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* This program's own path, for the script's tend kill. */
static char *
own_path (void)
{
  g_autofree char *path = g_file_read_link ("/proc/self/exe", NULL);
  return path != NULL ? g_steal_pointer (&path) : g_strdup ("tend");
}

int
tend_cli_cmd_export (TendCli *cli, int argc, char **argv)
{
  ExportArgs args = { 0 };
  const GOptionEntry entries[] = {
    { "nohup", 0, 0, G_OPTION_ARG_NONE, &args.nohup,
      N_("A script that stops Tend and starts every service under nohup (the rollback)"), NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &args.output, N_("Write it to FILE (executable) instead of stdout"),
      N_("FILE") },
    { NULL },
  };
  g_autoptr(GPtrArray) positional = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  g_autofree char *self = own_path ();
  g_autofree char *output = NULL;
  int status;

  status = tend_cli_parse_options ("export", "--nohup", _("write what Tend runs in another form"), entries, NULL,
                                   argc, argv, &positional);
  output = args.output;
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 0)
    return tend_cli_usage_error (_("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 0));
  if (!args.nohup)
    return tend_cli_usage_error (_("tend export needs a form: --nohup"));
  status = tend_cli_connect (cli, FALSE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  script = write_script (cli, self, &error);
  if (script == NULL) {
    if (error->domain == G_IO_ERROR)
      return tend_cli_fail ("%s", error->message);
    return tend_cli_report_error (error);
  }
  if (output == NULL) {
    g_print ("%s", script);
    return TEND_CLI_EXIT_OK;
  }
  if (!g_file_set_contents_full (output, script, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0755, &error))
    return tend_cli_fail ("%s", error->message);
  g_print (_("wrote %s: run it to stop Tend and start the services under nohup\n"), output);
  return TEND_CLI_EXIT_OK;
}
