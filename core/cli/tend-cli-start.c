/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tend-cli.h"
#include "tend-enums.h"
#include "tend-parse.h"

/*
 * `tend start` in its three forms: a configuration file, configured names,
 * or an ad hoc command whose options are named like the config keys of a
 * [service:NAME] group. Values are checked here when that is cheap (so a
 * typo is a usage error before anything starts); the daemon checks the rest.
 */

typedef enum {
  KEY_TEXT,
  KEY_BOOL,
  KEY_UINT,
  KEY_DURATION,
  KEY_SIZE,
  KEY_SIGNAL,
  KEY_AUTORESTART,
  KEY_ENV,   /* repeatable, joined with ';' */
  KEY_NAMES, /* repeatable, joined with ',' */
} KeyKind;

typedef struct {
  const char *name;
  KeyKind kind;
  const char *type; /* as --help and completion name it: "duration", "bool"... */
  guint64 min, max; /* KEY_UINT only */
} ServiceKey;

/*
 * SPEC's [service:NAME] keys but exec (the command comes after `--`),
 * generated at build time from libtend-core's schema (tend-cli-keys-gen.c).
 */
#include "tend-cli-keys.h"

static const ServiceKey *
find_key (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    if (strcmp (service_keys[i].name, name) == 0)
      return &service_keys[i];
  }
  return NULL;
}

static gboolean
is_bool_text (const char *text)
{
  gboolean ignored;
  return text != NULL && tend_parse_bool (text, &ignored, NULL);
}

static gboolean
check_value (const ServiceKey *key, const char *value, GError **error)
{
  guint64 number;
  gboolean flag;
  int signum;
  TendAutorestart autorestart;

  switch (key->kind) {
  case KEY_BOOL:
    return tend_parse_bool (value, &flag, error);
  case KEY_UINT:
    return tend_parse_uint (value, key->min, key->max, &number, error);
  case KEY_DURATION:
    return tend_parse_duration (value, &number, error);
  case KEY_SIZE:
    return tend_parse_size (value, &number, error);
  case KEY_SIGNAL:
    return tend_parse_signal (value, &signum, error);
  case KEY_AUTORESTART:
    if (!tend_autorestart_from_string (value, &autorestart)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("“%s” is not one of true, on-failure, false"),
                   value);
      return FALSE;
    }
    return TRUE;
  case KEY_TEXT:
  case KEY_ENV:
  case KEY_NAMES:
  default:
    if (value[0] == '\0') {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("empty value"));
      return FALSE;
    }
    return TRUE;
  }
}

static void
set_option (GHashTable *options, const ServiceKey *key, const char *value)
{
  const char *previous = g_hash_table_lookup (options, key->name);

  if (previous != NULL && key->kind == KEY_ENV)
    g_hash_table_insert (options, g_strdup (key->name), g_strconcat (previous, ";", value, NULL));
  else if (previous != NULL && key->kind == KEY_NAMES)
    g_hash_table_insert (options, g_strdup (key->name), g_strconcat (previous, ",", value, NULL));
  else
    g_hash_table_insert (options, g_strdup (key->name), g_strdup (value));
}

static void
print_start_help (void)
{
  g_autoptr(GString) keys = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++) {
    const ServiceKey *key = &service_keys[i];
    g_string_append_printf (keys, "%s--%s%s", i > 0 ? ", " : "", key->name, key->kind == KEY_BOOL ? "" : "=V");
  }
  g_print (_("Usage:\n"
             "  tend start [FILE.conf] [--only NAME,...] [--wait SECONDS] [--json]\n"
             "  tend start NAME|all... [--wait SECONDS] [--json]\n"
             "  tend start --name NAME [OPTIONS] [--json] -- COMMAND [ARGS...]\n"
             "\n"
             "Loads a configuration and starts its services, starts configured services,\n"
             "or adds and starts an ad hoc service. Without FILE or NAME: every service\n"
             "of the daemon's configuration. Waits until each one has been up for its\n"
             "min-uptime (or is ready, with a ready-check or notify), at most --wait\n"
             "(default %g s) plus the longest min-uptime. A service that exits meanwhile\n"
             "is reported as failed with its exit status, and the exit status is 1.\n"
             "--json prints the outcome of every service as one JSON document.\n"
             "\n"
             "Options of an ad hoc service are the keys of a [service:NAME] group:\n"
             "  %s\n"
             "--env K=V may be repeated; boolean keys alone mean true; --no-KEY means false\n"
             "(--no-autorestart: autorestart=false).\n"),
           TEND_CLI_DEFAULT_WAIT_S, keys->str);
}

int
tend_cli_cmd_keys (TendCli *cli, int argc, char **argv)
{
  if (argc > 1)
    return tend_cli_usage_error (_("_keys takes no argument"));
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++)
    g_print ("--%s %s\n", service_keys[i].name, service_keys[i].type);
  return TEND_CLI_EXIT_OK;
}

/* Resolves a FILE argument; NULL when @arg is not meant as a file. */
static char *
config_file_argument (const char *arg)
{
  if (!g_str_has_suffix (arg, ".conf") && !g_file_test (arg, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_canonicalize_filename (arg, NULL);
}

/* ListServices before the call: how many processes of each instance had exited, so one more is a failure. */
static int
snapshot (TendCli *cli, GVariant **out_before)
{
  g_autoptr(GError) error = NULL;
  int status = tend_cli_connect (cli, TRUE);

  if (status != TEND_CLI_EXIT_OK)
    return status;
  *out_before = tend_cli_list_services (cli, &error);
  if (*out_before == NULL)
    return tend_cli_report_error (error);
  return TEND_CLI_EXIT_OK;
}

static int
start_config (TendCli *cli, const char *path, const char *only, TendCliWaitFlags flags, double wait_s)
{
  g_auto(GStrv) only_names = only != NULL ? tend_parse_name_list (only) : g_new0 (char *, 1);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GVariant) before = NULL;
  int status;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return tend_cli_fail (_("no such configuration file: %s"), path);
  status = snapshot (cli, &before);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (!tend_dbus_manager1_call_start_config_sync (cli->manager, path, (const char *const *) only_names,
                                                  G_DBUS_CALL_FLAGS_NONE, -1, &names, NULL, &error))
    return tend_cli_report_error (error);
  if (names[0] == NULL) {
    g_autofree char *text = g_strdup_printf (_("%s: no services to start"), path);
    tend_cli_print_no_services (flags, text);
    return TEND_CLI_EXIT_OK;
  }
  return tend_cli_wait (cli, (const char *const *) names, TEND_CLI_WAIT_RUNNING, before, flags, wait_s);
}

static int
start_names (TendCli *cli, GPtrArray *names, TendCliWaitFlags flags, double wait_s)
{
  g_autoptr(GVariant) before = NULL;
  gboolean all = FALSE;
  int status = snapshot (cli, &before);

  if (status != TEND_CLI_EXIT_OK)
    return status;
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autoptr(GError) error = NULL;

    if (!tend_dbus_manager1_call_start_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
      return tend_cli_report_error (error);
    all = all || g_str_equal (name, "all");
  }
  g_ptr_array_add (names, NULL);
  return tend_cli_wait (cli, all ? NULL : (const char *const *) names->pdata, TEND_CLI_WAIT_RUNNING, before, flags,
                        wait_s);
}

static int
start_ad_hoc (TendCli *cli,
              const char *name,
              const char *const *command,
              GHashTable *options,
              TendCliWaitFlags flags,
              double wait_s)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer key, value;
  const char *names[] = { name, NULL };
  g_autoptr(GVariant) before = NULL;
  int status = snapshot (cli, &before);

  if (status != TEND_CLI_EXIT_OK)
    return status;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  g_hash_table_iter_init (&iter, options);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_variant_builder_add (&builder, "{ss}", key, value);
  /* without --cwd the service runs where the command was typed (as with PM2), not in the daemon's folder */
  if (!g_hash_table_contains (options, "cwd"))
    g_variant_builder_add (&builder, "{ss}", "cwd", cwd);
  if (!tend_dbus_manager1_call_add_service_sync (cli->manager, name, command, g_variant_builder_end (&builder), cwd,
                                                 G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return tend_cli_report_error (error);
  return tend_cli_wait (cli, names, TEND_CLI_WAIT_RUNNING, before, flags, wait_s);
}

int
tend_cli_cmd_start (TendCli *cli, int argc, char **argv)
{
  g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  g_autofree char *name = NULL;
  g_autofree char *only = NULL;
  g_autofree char *config_path = NULL;
  char **command = NULL;
  double wait_s = TEND_CLI_DEFAULT_WAIT_S;
  TendCliWaitFlags flags = TEND_CLI_WAIT_FLAG_NONE;
  const char *first_service_option = NULL;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    g_autofree char *option = NULL;
    const char *inline_value = NULL;
    const char *equals;
    const ServiceKey *key;

    if (strcmp (arg, "--") == 0) {
      command = argv + i + 1;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0') {
      g_ptr_array_add (positional, (gpointer) arg);
      continue;
    }
    if (strcmp (arg, "-h") == 0) {
      print_start_help ();
      return TEND_CLI_EXIT_OK;
    }
    if (!g_str_has_prefix (arg, "--") || arg[2] == '\0')
      return tend_cli_usage_error (_("unknown option for start: %s"), arg);
    equals = strchr (arg, '=');
    option = equals != NULL ? g_strndup (arg + 2, equals - arg - 2) : g_strdup (arg + 2);
    inline_value = equals != NULL ? equals + 1 : NULL;

    if (strcmp (option, "help") == 0) {
      print_start_help ();
      return TEND_CLI_EXIT_OK;
    }
    if (strcmp (option, "json") == 0 && inline_value == NULL) {
      flags |= TEND_CLI_WAIT_FLAG_JSON;
      continue;
    }

    /* --no-KEY: a boolean key (or autorestart) set to false */
    if (g_str_has_prefix (option, "no-") && inline_value == NULL) {
      key = find_key (option + 3);
      if (key != NULL && (key->kind == KEY_BOOL || key->kind == KEY_AUTORESTART)) {
        set_option (options, key, "false");
        first_service_option = first_service_option ? first_service_option : arg;
        continue;
      }
    }

    key = find_key (option);
    if (key != NULL && key->kind == KEY_BOOL && inline_value == NULL) {
      /* a bare boolean means true; "--shell false" is read as a value */
      if (i + 1 < argc && is_bool_text (argv[i + 1]))
        inline_value = argv[++i];
      else
        inline_value = "true";
    }
    if (inline_value == NULL && (key != NULL || strcmp (option, "name") == 0 || strcmp (option, "only") == 0 ||
                                 strcmp (option, "wait") == 0)) {
      if (i + 1 >= argc)
        return tend_cli_usage_error (_("option --%s needs a value"), option);
      inline_value = argv[++i];
    }

    if (strcmp (option, "name") == 0) {
      g_free (name);
      name = g_strdup (inline_value);
    } else if (strcmp (option, "only") == 0) {
      g_free (only);
      only = g_strdup (inline_value);
    } else if (strcmp (option, "wait") == 0) {
      if (!tend_cli_parse_wait (inline_value, &wait_s))
        return tend_cli_usage_error (_("--wait needs a number of seconds, not “%s”"), inline_value);
    } else if (key != NULL) {
      g_autoptr(GError) error = NULL;
      if (!check_value (key, inline_value, &error))
        return tend_cli_usage_error ("--%s: %s", key->name, error->message);
      set_option (options, key, inline_value);
      first_service_option = first_service_option ? first_service_option : arg;
    } else {
      return tend_cli_usage_error (_("unknown option for start: --%s"), option);
    }
  }

  /* an ad hoc service */
  if (name != NULL || command != NULL) {
    if (command != NULL && positional->len > 0)
      return tend_cli_usage_error (_("unexpected argument: %s (the command goes after --)"),
                                   (const char *) g_ptr_array_index (positional, 0));
    if (command == NULL) {
      g_ptr_array_add (positional, NULL);
      command = (char **) positional->pdata;
    }
    if (command[0] == NULL)
      return tend_cli_usage_error (_("start --name NAME needs a command: tend start --name NAME -- COMMAND [ARGS...]"));
    if (only != NULL)
      return tend_cli_usage_error (_("--only applies to a configuration file"));
    if (name == NULL)
      name = g_path_get_basename (command[0]);
    if (!tend_service_name_is_valid (name))
      return tend_cli_usage_error (
          _("invalid service name “%s” (letters, digits, -, _ and . only; give one with --name)"), name);
    return start_ad_hoc (cli, name, (const char *const *) command, options, flags, wait_s);
  }

  if (first_service_option != NULL)
    return tend_cli_usage_error (_("%s applies to an ad hoc service: tend start --name NAME [OPTIONS] -- COMMAND"),
                                 first_service_option);

  if (positional->len > 0)
    config_path = config_file_argument (g_ptr_array_index (positional, 0));
  if (config_path != NULL) {
    if (positional->len > 1)
      return tend_cli_usage_error (_("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 1));
    return start_config (cli, config_path, only, flags, wait_s);
  }

  /* configured services: the names given, those of --only, or all */
  if (only != NULL && positional->len > 0)
    return tend_cli_usage_error (_("--only applies to a configuration file"));
  if (only != NULL) {
    g_auto(GStrv) only_names = tend_parse_name_list (only);
    for (guint i = 0; only_names[i] != NULL; i++)
      g_ptr_array_add (positional, only_names[i]);
    /* borrowed from only_names, which lives until the wait is over */
    return start_names (cli, positional, flags, wait_s);
  }
  if (positional->len == 0)
    g_ptr_array_add (positional, (gpointer) "all");
  for (guint i = 0; i < positional->len; i++) {
    const char *arg = g_ptr_array_index (positional, i);
    if (strcmp (arg, "all") != 0 && !tend_service_name_is_valid (arg))
      return tend_cli_usage_error (_("invalid service name “%s”"), arg);
  }
  return start_names (cli, positional, flags, wait_s);
}
