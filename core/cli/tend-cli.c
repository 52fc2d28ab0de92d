/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tend-cli.h"
#include "tend-figures-json.h"
#include "tend-parse.h"
#include "tend-proc.h"

/* tend kill waits this long for the daemon to stop its services and exit. */
#define KILL_WAIT_S 60
/* tend api-token: how long a freshly started daemon gets to write the token. */
#define TOKEN_WAIT_MS 3000

typedef struct {
  const char *name;
  int (*run) (TendCli *cli, int argc, char **argv);
  const char *synopsis; /* command syntax, not translated */
  const char *summary;  /* N_() */
  const char *params;   /* the arguments after the options in its --help, not translated */
} Verb;

static const Verb *find_verb (const char *name);

int
tend_cli_fail (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("tend: %s\n", message);
  return TEND_CLI_EXIT_FAILED;
}

int
tend_cli_usage_error (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("tend: %s\n", message);
  g_printerr (_("Try “tend help” for the list of commands.\n"));
  return TEND_CLI_EXIT_USAGE;
}

gboolean
tend_cli_parse_wait (const char *text, double *out_seconds)
{
  char *end = NULL;
  double value;

  if (text == NULL || text[0] == '\0')
    return FALSE;
  value = g_ascii_strtod (text, &end);
  if (*end != '\0' || !isfinite (value) || value < 0 || value > 86400)
    return FALSE;
  *out_seconds = value;
  return TRUE;
}

typedef struct {
  gboolean json;
  double wait_s;
  GPtrArray *positional; /* borrowed strings */
} Args;

static void
args_clear (Args *args)
{
  g_clear_pointer (&args->positional, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Args, args_clear)

static gboolean
wait_option_cb (const char *option_name, const char *value, gpointer data, GError **error)
{
  Args *args = data;

  if (!tend_cli_parse_wait (value, &args->wait_s)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("--wait needs a number of seconds, not “%s”"),
                 value);
    return FALSE;
  }
  return TRUE;
}

int
tend_cli_parse_options (const char *verb,
                        const char *params,
                        const char *summary,
                        const GOptionEntry *entries,
                        gpointer user_data,
                        int argc,
                        char **argv,
                        GPtrArray **out_positional)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strconcat ("tend ", verb, NULL);
  g_autofree char **copy = g_new0 (char *, argc + 1);
  char **parsed = copy;
  GOptionGroup *group = g_option_group_new (verb, summary, summary, user_data, NULL);
  gboolean help = FALSE;
  const GOptionEntry help_entry[] = {
    { "help", 'h', 0, G_OPTION_ARG_NONE, &help, N_("Show this help"), NULL },
    { NULL },
  };
  int n = argc;

  /* the usage line reads "tend VERB [OPTION…] PARAMS" */
  g_set_prgname (prgname);
  context = g_option_context_new (params);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (
      context, _("The home folder is --home DIR (anywhere before --), else $TEND_HOME, else ~/.tend when a daemon\n"
                 "runs there, else the system daemon's (/etc/tend/home) when its socket is yours to use, else ~/.tend.\n"
                 "Exit status: 0 done, 1 failed, 2 usage error, 3 the daemon cannot be reached."));
  /* --help is ours: it returns to the caller rather than exiting, and there is no --help-all */
  g_option_context_set_help_enabled (context, FALSE);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_group_add_entries (group, entries);
  g_option_group_add_entries (group, help_entry);
  g_option_context_set_main_group (context, group);

  /* parsing reorders the array: it works on a copy of the pointers, which stay argv's */
  memcpy (copy, argv, sizeof (char *) * (gsize) argc);
  if (!g_option_context_parse (context, &n, &parsed, &error))
    return tend_cli_usage_error ("%s: %s", verb, error->message);
  if (help) {
    g_autofree char *text = g_option_context_get_help (context, TRUE, NULL);
    g_print ("%s", text);
    return TEND_CLI_HELP_SHOWN;
  }
  *out_positional = g_ptr_array_new ();
  for (int i = 1; i < n; i++)
    g_ptr_array_add (*out_positional, parsed[i]);
  return TEND_CLI_EXIT_OK;
}

/*
 * The options every simple verb may take: --json and --wait where @json and
 * @wait allow them, --help always. Returns TEND_CLI_EXIT_OK, _USAGE (message
 * printed) or TEND_CLI_HELP_SHOWN.
 */
static int
parse_args (const Verb *verb, int argc, char **argv, gboolean json, gboolean wait, guint min_args, guint max_args,
            Args *out)
{
  GOptionEntry entries[3] = { { NULL } };
  guint n = 0;
  int status;

  out->wait_s = TEND_CLI_DEFAULT_WAIT_S;
  if (json)
    entries[n++] = (GOptionEntry) { "json", 0, 0, G_OPTION_ARG_NONE, &out->json, N_("Print JSON"), NULL };
  if (wait)
    entries[n++] = (GOptionEntry) { "wait", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) wait_option_cb,
                                    N_("Wait at most SECONDS until they settle (default 15)"), N_("SECONDS") };
  status = tend_cli_parse_options (verb->name, verb->params, verb->summary != NULL ? _(verb->summary) : NULL, entries,
                                   out, argc, argv, &out->positional);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (out->positional->len < min_args)
    return tend_cli_usage_error (_("missing argument; usage: tend %s"), verb->synopsis);
  if (out->positional->len > max_args)
    return tend_cli_usage_error (_("unexpected argument: %s"),
                                 (const char *) g_ptr_array_index (out->positional, max_args));
  return TEND_CLI_EXIT_OK;
}

#define PARSE_ARGS(json, wait, min, max)                                                                   \
  G_STMT_START                                                                                             \
  {                                                                                                        \
    int parse_status_ = parse_args (find_verb (argv[0]), argc, argv, (json), (wait), (min), (max), &args); \
    if (parse_status_ == TEND_CLI_HELP_SHOWN)                                                              \
      return TEND_CLI_EXIT_OK;                                                                             \
    if (parse_status_ != TEND_CLI_EXIT_OK)                                                                 \
      return parse_status_;                                                                                \
  }                                                                                                        \
  G_STMT_END

/* Names of stop, restart and delete: each a valid service name, or "all". */
static int
check_names (GPtrArray *names, gboolean *out_all)
{
  *out_all = FALSE;
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    if (strcmp (name, "all") == 0)
      *out_all = TRUE;
    else if (!tend_service_name_is_valid (name))
      return tend_cli_usage_error (_("invalid service name “%s”"), name);
  }
  return TEND_CLI_EXIT_OK;
}

typedef gboolean (*NameCall) (TendDbusManager1 *proxy,
                              const char *name,
                              GDBusCallFlags flags,
                              int timeout_ms,
                              GCancellable *cancellable,
                              GError **error);

/* Calls @call (Manager1.Stop, Restart or Delete) for each name in turn; stops at the first error. */
static int
call_for_each (TendCli *cli, NameCall call, GPtrArray *names)
{
  for (guint i = 0; i < names->len; i++) {
    g_autoptr(GError) error = NULL;

    if (!call (cli->manager, g_ptr_array_index (names, i), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
      return tend_cli_report_error (error);
  }
  return TEND_CLI_EXIT_OK;
}

static int
cmd_stop_restart_delete (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GVariant) before = NULL;
  gboolean all;
  int status;
  NameCall call;
  TendCliWaitGoal goal;

  PARSE_ARGS (strcmp (argv[0], "restart") == 0, TRUE, 1, G_MAXUINT);
  if (strcmp (argv[0], "stop") == 0) {
    call = tend_dbus_manager1_call_stop_sync;
    goal = TEND_CLI_WAIT_STOPPED;
  } else if (strcmp (argv[0], "restart") == 0) {
    call = tend_dbus_manager1_call_restart_sync;
    goal = TEND_CLI_WAIT_RUNNING;
  } else {
    call = tend_dbus_manager1_call_delete_sync;
    goal = TEND_CLI_WAIT_GONE;
  }
  status = check_names (args.positional, &all);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  status = tend_cli_connect (cli, FALSE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (goal == TEND_CLI_WAIT_RUNNING) {
    g_autoptr(GError) error = NULL;
    /* the pids from before tell a restarted process from the old one, the exit counts a crash since */
    before = tend_cli_list_services (cli, &error);
    if (before == NULL)
      return tend_cli_report_error (error);
  }
  status = call_for_each (cli, call, args.positional);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  g_ptr_array_add (args.positional, NULL);
  return tend_cli_wait (cli, all ? NULL : (const char *const *) args.positional->pdata, goal, before,
                        (goal == TEND_CLI_WAIT_RUNNING ? TEND_CLI_WAIT_FLAG_NEW_PROCESS : 0) |
                            (args.json ? TEND_CLI_WAIT_FLAG_JSON : 0),
                        args.wait_s);
}

static int
cmd_reload (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GError) error = NULL;
  int status;

  PARSE_ARGS (FALSE, FALSE, 0, 0);
  status = tend_cli_connect (cli, FALSE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (!tend_dbus_manager1_call_reload_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return tend_cli_report_error (error);
  g_print (_("configuration reloaded\n"));
  return TEND_CLI_EXIT_OK;
}

/* The reading verbs: the answer as JSON or as text; @value NULL: the call failed with @error. */
static int
show (GVariant *value, const GError *error, gboolean json, void (*print) (GVariant *value))
{
  if (value == NULL)
    return tend_cli_report_error (error);
  if (json) {
    g_autoptr(JsonNode) node = json_gvariant_serialize (value);
    /* unknown figures are null, not 0 */
    tend_figures_json_null_unknown (node);
    tend_cli_print_json (node);
  } else {
    print (value);
  }
  return TEND_CLI_EXIT_OK;
}

static int
cmd_status (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };

  g_autoptr(GVariant) list = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  PARSE_ARGS (TRUE, FALSE, 0, 0);
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  list = tend_cli_list_services (cli, &error);
  return show (list, error, args.json, tend_cli_print_status);
}

static int
cmd_describe (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GVariant) service = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  int status;

  PARSE_ARGS (TRUE, FALSE, 1, 1);
  name = g_ptr_array_index (args.positional, 0);
  if (!tend_service_name_is_valid (name))
    return tend_cli_usage_error (_("invalid service name “%s”"), name);
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  tend_dbus_manager1_call_describe_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, &service, NULL, &error);
  return show (service, error, args.json, tend_cli_print_describe);
}

static int
cmd_save (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int status;

  PARSE_ARGS (FALSE, FALSE, 0, 0);
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (!tend_dbus_manager1_call_save_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, &path, NULL, &error))
    return tend_cli_report_error (error);
  g_print (_("saved to %s\n"), path);
  return TEND_CLI_EXIT_OK;
}

static int
cmd_resurrect (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) before = NULL;
  g_auto(GStrv) names = NULL;
  TendCliWaitFlags flags;
  int status;

  PARSE_ARGS (TRUE, TRUE, 0, 0);
  flags = args.json ? TEND_CLI_WAIT_FLAG_JSON : TEND_CLI_WAIT_FLAG_NONE;
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  /* how many times each process had exited: one more during the wait is a failure */
  before = tend_cli_list_services (cli, &error);
  if (before == NULL)
    return tend_cli_report_error (error);
  if (!tend_dbus_manager1_call_resurrect_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, &names, NULL, &error))
    return tend_cli_report_error (error);
  if (names[0] == NULL) {
    tend_cli_print_no_services (flags, _("nothing to resurrect: every saved service is already here"));
    return TEND_CLI_EXIT_OK;
  }
  /* those saved as stopped come back stopped, and are reported so */
  return tend_cli_wait (cli, (const char *const *) names, TEND_CLI_WAIT_RUNNING, before, flags, args.wait_s);
}

static gboolean
pid_alive (pid_t pid)
{
  TendProcInfo info;

  if (kill (pid, 0) < 0 && errno == ESRCH)
    return FALSE;
  /* a zombie has exited; its parent (init) just has not reaped it yet */
  return !(tend_proc_read_stat (pid, &info) && info.state == 'Z');
}

static int
cmd_kill (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) pid_value = NULL;
  gint64 deadline;
  pid_t pid;

  PARSE_ARGS (FALSE, FALSE, 0, 0);
  if (!tend_cli_try_connect (cli, &error)) {
    if (tend_cli_error_means_absent (error)) {
      g_print (_("tendd is not running\n"));
      return TEND_CLI_EXIT_OK;
    }
    g_printerr (_("tend: cannot reach tendd at %s: %s\n"), cli->socket_path, error->message);
    return TEND_CLI_EXIT_UNREACHABLE;
  }
  pid_value = tend_cli_get_property (cli, "Pid", &error);
  if (pid_value == NULL || !g_variant_is_of_type (pid_value, G_VARIANT_TYPE_UINT32)) {
    if (error == NULL)
      return tend_cli_fail (_("tendd gave no usable Pid property"));
    return tend_cli_report_error (error);
  }
  pid = (pid_t) g_variant_get_uint32 (pid_value);
  /* the daemon may close the connection as it goes, before its reply arrives: only its refusal counts */
  if (!tend_dbus_manager1_call_kill_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error) &&
      g_dbus_error_is_remote_error (error))
    return tend_cli_report_error (error);
  tend_cli_disconnect (cli);

  deadline = g_get_monotonic_time () + KILL_WAIT_S * G_USEC_PER_SEC;
  while (pid_alive (pid)) {
    if (g_get_monotonic_time () > deadline)
      return tend_cli_fail (_("tendd (pid %d) did not exit within %d s"), (int) pid, KILL_WAIT_S);
    g_usleep (50 * 1000);
  }
  g_print (_("tendd stopped\n"));
  return TEND_CLI_EXIT_OK;
}

static int
cmd_plugins (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };

  g_autoptr(GVariant) plugins = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  PARSE_ARGS (TRUE, FALSE, 0, 0);
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  tend_dbus_manager1_call_list_plugins_sync (cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, &plugins, NULL, &error);
  return show (plugins, error, args.json, tend_cli_print_plugins);
}

static int
cmd_api_token (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autofree char *path = g_build_filename (cli->home, "api-token", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  PARSE_ARGS (FALSE, FALSE, 0, 0);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    /* the daemon writes the token when it starts */
    int status = tend_cli_connect (cli, TRUE);
    gint64 deadline = g_get_monotonic_time () + TOKEN_WAIT_MS * 1000;

    if (status != TEND_CLI_EXIT_OK)
      return status;
    while (!g_file_test (path, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
      g_usleep (50 * 1000);
  }
  if (!g_file_get_contents (path, &contents, NULL, &error)) {
    if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return tend_cli_fail (_("no API token at %s (it is written by the http plugin, or set by its token-file)"), path);
    return tend_cli_fail (_("cannot read the API token: %s"), error->message);
  }
  g_print ("%s\n", g_strstrip (contents));
  return TEND_CLI_EXIT_OK;
}

static int
cmd_version (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GVariant) version = NULL;
  g_autoptr(GVariant) pid = NULL;

  PARSE_ARGS (TRUE, FALSE, 0, 0);
  /* no autostart: asking the version must not start anything */
  if (tend_cli_try_connect (cli, NULL)) {
    version = tend_cli_get_property (cli, "Version", NULL);
    pid = tend_cli_get_property (cli, "Pid", NULL);
    if (version != NULL && !g_variant_is_of_type (version, G_VARIANT_TYPE_STRING))
      g_clear_pointer (&version, g_variant_unref);
    if (pid != NULL && !g_variant_is_of_type (pid, G_VARIANT_TYPE_UINT32))
      g_clear_pointer (&pid, g_variant_unref);
  }
  if (args.json) {
    g_autoptr(JsonBuilder) builder = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "version");
    json_builder_add_string_value (builder, TEND_VERSION);
    json_builder_set_member_name (builder, "tendd");
    if (version != NULL) {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "version");
      json_builder_add_string_value (builder, g_variant_get_string (version, NULL));
      json_builder_set_member_name (builder, "pid");
      json_builder_add_int_value (builder, pid != NULL ? g_variant_get_uint32 (pid) : 0);
      json_builder_end_object (builder);
    } else {
      json_builder_add_null_value (builder);
    }
    json_builder_end_object (builder);
    root = json_builder_get_root (builder);
    tend_cli_print_json (root);
    return TEND_CLI_EXIT_OK;
  }
  g_print ("tend %s\n", TEND_VERSION);
  if (version != NULL)
    g_print ("tendd %s (pid %u)\n", g_variant_get_string (version, NULL), pid != NULL ? g_variant_get_uint32 (pid) : 0);
  return TEND_CLI_EXIT_OK;
}

/* For the bash completion: service names, one a line; quiet and without autostart. */
static int
cmd_names (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  g_autoptr(GVariant) list = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);

  PARSE_ARGS (FALSE, FALSE, 0, 0);
  if (!tend_cli_try_connect (cli, NULL))
    return TEND_CLI_EXIT_UNREACHABLE;
  list = tend_cli_list_services (cli, NULL);
  if (list == NULL)
    return TEND_CLI_EXIT_FAILED;
  for (gsize i = 0; i < g_variant_n_children (list); i++) {
    g_autoptr(GVariant) dict = g_variant_get_child_value (list, i);
    char *name = NULL;

    if (!g_variant_lookup (dict, "name", "s", &name))
      continue;
    if (g_ptr_array_find_with_equal_func (seen, name, g_str_equal, NULL)) {
      g_free (name);
      continue;
    }
    g_print ("%s\n", name);
    g_ptr_array_add (seen, name);
  }
  return TEND_CLI_EXIT_OK;
}

static int cmd_help (TendCli *cli, int argc, char **argv);

static const Verb verbs[] = {
  { "start", tend_cli_cmd_start, "start [FILE.conf] [--only NAME,...] | NAME|all | --name NAME [OPTIONS] -- CMD...",
    N_("load a configuration, start services, or add an ad hoc one (tend start --help)"), NULL },
  { "stop", cmd_stop_restart_delete, "stop NAME|all... [--wait SECONDS]",
    N_("stop services and wait until they are stopped"), "NAME|all..." },
  { "restart", cmd_stop_restart_delete, "restart NAME|all... [--wait SECONDS] [--json]",
    N_("restart services and wait until they have been up for their min-uptime"), "NAME|all..." },
  { "reload", cmd_reload, "reload", N_("re-read the configuration, apply only what changed"), "" },
  { "delete", cmd_stop_restart_delete, "delete NAME|all... [--wait SECONDS]", N_("stop services and forget them"),
    "NAME|all..." },
  { "status", cmd_status, "status [--json]", N_("list the services, one row per instance (also: ls, list)"), "" },
  { "ls", cmd_status, "ls [--json]", NULL, "" },
  { "list", cmd_status, "list [--json]", NULL, "" },
  { "describe", cmd_describe, "describe NAME [--json]", N_("everything about one service"), "NAME" },
  { "logs", tend_cli_cmd_logs, "logs [NAME] [--lines N] [--follow] [--err|--out] [--timestamps]",
    N_("show the last lines of the logs, and follow them with --follow"), "[NAME|all]" },
  { "monit", tend_cli_cmd_monit, "monit",
    N_("a live full-screen view: states, figures, the selected service's details and log"), "" },
  { "flush", tend_cli_cmd_flush, "flush [NAME]", N_("empty the log files of one or every service"), "[NAME|all]" },
  { "check", tend_cli_cmd_check, "check [FILE]", N_("check a configuration file, start nothing"), "[FILE]" },
  { "save", cmd_save, "save", N_("write the service list to HOME/dump.conf"), "" },
  { "resurrect", cmd_resurrect, "resurrect [--wait SECONDS] [--json]", N_("bring back what tend save wrote"), "" },
  { "kill", cmd_kill, "kill", N_("stop every service and the daemon"), "" },
  { "update", tend_cli_cmd_update, "update [--tendd PATH] [--wait SECONDS]",
    N_("upgrade tendd in place; every service keeps running (tend update --help)"), NULL },
  { "plugins", cmd_plugins, "plugins [--json]", N_("list the plugins"), "" },
  { "tunnel", tend_cli_cmd_tunnel, "tunnel [--json]", N_("the public URL and the state of the cloudflared tunnel"),
    "" },
  { "startup", tend_cli_cmd_startup, "startup [--user USER] [--home DIR] [--config FILE] [--print]",
    N_("install (or print) a systemd unit that starts tendd at boot"), "" },
  { "unstartup", tend_cli_cmd_unstartup, "unstartup [--user USER]", N_("disable and remove what tend startup installed"),
    "" },
  { "import", tend_cli_cmd_import, "import FILE [-o OUT] [--env NAME] [--keep-cloudflared]",
    N_("convert a PM2 ecosystem file (.js, .json) or PM2 dump into a Tend configuration"), "FILE" },
  { "export", tend_cli_cmd_export, "export --nohup [-o FILE]",
    N_("write an emergency-rollback script: Tend stopped, the services back under nohup"), "--nohup" },
  { "migrate", tend_cli_cmd_migrate, "migrate NAME|all [--dry-run] [--wait SECONDS]",
    N_("take over running, unsupervised processes (nohup) of configured services"), "NAME|all" },
  { "api-token", cmd_api_token, "api-token", N_("print the HTTP API token"), "" },
  { "version", cmd_version, "version [--json]", N_("print the versions of tend and of the running tendd"), "" },
  { "help", cmd_help, "help [COMMAND]", N_("print this help"), "[COMMAND]" },
  { "_names", cmd_names, "_names", NULL, "" },
  { "_keys", tend_cli_cmd_keys, "_keys", NULL, "" },
};

static const Verb *
find_verb (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++) {
    if (strcmp (verbs[i].name, name) == 0)
      return &verbs[i];
  }
  return NULL;
}

static void
print_help (FILE *stream)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append (text, _("Usage: tend [--home DIR] COMMAND [ARGS...]\n\nCommands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++) {
    const char *synopsis = verbs[i].synopsis;
    g_autofree char *line = NULL;

    if (verbs[i].summary == NULL)
      continue;
    /* start has three forms; tend start --help tells more */
    if (strcmp (verbs[i].name, "start") == 0) {
      g_string_append_printf (text, "  %-38s %s\n", "start [FILE.conf] [--only NAME,...]",
                              _("load a configuration, start its services"));
      g_string_append_printf (text, "  %-38s %s\n", "start NAME|all", _("start configured services"));
      g_string_append_printf (text, "  %-38s %s\n", "start --name NAME [OPTIONS] -- CMD...",
                              _("start an ad hoc service (tend start --help)"));
      continue;
    }
    line = g_strdup_printf ("  %-38s %s\n", synopsis, _(verbs[i].summary));
    g_string_append (text, line);
  }
  g_string_append (text, _("\nThe home folder is --home DIR, else $TEND_HOME, else ~/.tend when a daemon runs there,\n"
                           "else the system daemon's (/etc/tend/home) when its socket is yours to use, else ~/.tend.\n"
                           "Exit status: 0 done, 1 failed, 2 usage error, 3 the daemon cannot be reached.\n"));
  fputs (text->str, stream);
}

static int
cmd_help (TendCli *cli, int argc, char **argv)
{
  g_auto(Args) args = { 0 };
  const Verb *verb;
  char *verb_argv[] = { NULL, (char *) "--help", NULL };

  PARSE_ARGS (FALSE, FALSE, 0, 1);
  if (args.positional->len == 0) {
    print_help (stdout);
    return TEND_CLI_EXIT_OK;
  }
  verb = find_verb (g_ptr_array_index (args.positional, 0));
  if (verb == NULL || verb->name[0] == '_')
    return tend_cli_usage_error (_("unknown command “%s”"), (const char *) g_ptr_array_index (args.positional, 0));
  /* the verb's own --help, whoever parses its options */
  verb_argv[0] = (char *) verb->name;
  return verb->run (cli, 2, verb_argv);
}

int main (int argc, char **argv);

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *home = NULL;
  TendCli cli = { 0 };
  const Verb *verb;
  gboolean after_dashes = FALSE;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* --home may come anywhere before "--"; what follows "--" is a service's command line */
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (!after_dashes && strcmp (arg, "--home") == 0) {
      if (i + 1 >= argc)
        return tend_cli_usage_error (_("option --home needs a value"));
      g_free (home);
      home = g_strdup (argv[++i]);
      continue;
    }
    if (!after_dashes && g_str_has_prefix (arg, "--home=")) {
      g_free (home);
      home = g_strdup (arg + strlen ("--home="));
      continue;
    }
    if (strcmp (arg, "--") == 0)
      after_dashes = TRUE;
    g_ptr_array_add (args, argv[i]);
  }
  if (home != NULL && home[0] == '\0')
    return tend_cli_usage_error (_("option --home needs a value"));
  g_ptr_array_add (args, NULL);

  if (args->len == 1) {
    print_help (stderr);
    return TEND_CLI_EXIT_USAGE;
  }
  if (strcmp (args->pdata[0], "--help") == 0 || strcmp (args->pdata[0], "-h") == 0) {
    print_help (stdout);
    return TEND_CLI_EXIT_OK;
  }
  if (strcmp (args->pdata[0], "--version") == 0)
    args->pdata[0] = (gpointer) "version";
  verb = find_verb (args->pdata[0]);
  if (verb == NULL)
    return tend_cli_usage_error (_("unknown command “%s”"), (const char *) args->pdata[0]);

  tend_cli_resolve_home (&cli, home);

  status = verb->run (&cli, (int) args->len - 1, (char **) args->pdata);

  tend_cli_disconnect (&cli);
  g_free (cli.home);
  g_free (cli.socket_path);
  return status;
}
