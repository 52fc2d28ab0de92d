/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend import: a PM2 ecosystem file or dump.pm2 into a Tend configuration.
 * Reads the file (a .js one through node, as PM2 does), converts it
 * (tend-import.c), writes it, and has tendd's own reader check the result.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "tend-cli.h"
#include "tend-import.h"
#include "tend-parse.h"

/* how long node may take to evaluate an ecosystem file (it may require() other modules) */
#define NODE_TIMEOUT_S 30

/*
 * What `pm2 start FILE.js` does to read it: require() it. An ES module
 * (export default) cannot be required by older node: import() it then.
 */
static const char node_program[] =
    "const f = process.argv[1];"
    "Promise.resolve().then(() => require(f)).catch(e => {"
    "  if (e && e.code === 'ERR_REQUIRE_ESM')"
    "    return import(require('url').pathToFileURL(f).href).then(m => m.default);"
    "  throw e;"
    "}).then(c => process.stdout.write(JSON.stringify(c === undefined ? null : c)))"
    ".catch(e => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); });";

typedef struct {
  char *output;
  char *env_name;
  gboolean keep_cloudflared;
} ImportArgs;

typedef struct {
  GMainLoop *loop;
  GSubprocess *process;
  char *out;
  char *err;
  GError *error;
  gboolean timed_out;
} NodeRun;

static void
node_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  NodeRun *run = data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
node_timeout_cb (gpointer data)
{
  NodeRun *run = data;

  run->timed_out = TRUE;
  g_subprocess_force_exit (run->process);
  return G_SOURCE_REMOVE;
}

/* node's message without its stack: the lines up to the first "    at ..." */
static char *
node_message (const char *err)
{
  g_auto (GStrv) lines = g_strsplit (err != NULL ? err : "", "\n", -1);
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL && i < 20; i++) {
    const char *t = lines[i];

    while (g_ascii_isspace (*t))
      t++;
    if (t != lines[i] && g_str_has_prefix (t, "at "))
      break;
    if (lines[i][0] == '\0' && text->len == 0)
      continue;
    if (text->len > 0)
      g_string_append_c (text, '\n');
    g_string_append (text, lines[i]);
  }
  g_strchomp (text->str);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* The JSON of a JavaScript ecosystem file, by node; NULL with the message printed. */
static char *
evaluate_with_node (const char *path, const char *shown)
{
  g_autofree char *node = g_find_program_in_path ("node");
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSource) timeout = NULL;
  NodeRun run = { 0 };
  char *json = NULL;

  if (node == NULL)
    node = g_find_program_in_path ("nodejs");
  if (node == NULL) {
    tend_cli_fail (_ ("%s: a JavaScript ecosystem file is read by running it with node, which is not installed "
                      "here. Convert it to JSON first, on a machine with node:\n"
                      "  node -e 'process.stdout.write(JSON.stringify(require(process.argv[1])))' \"$PWD/%s\" > "
                      "ecosystem.json\n"
                      "then run: tend import ecosystem.json"),
                   shown, shown);
    return NULL;
  }
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, node, "-e",
                              node_program, path, NULL);
  if (process == NULL) {
    tend_cli_fail (_ ("%s: cannot run %s: %s"), shown, node, error->message);
    return NULL;
  }
  g_main_context_push_thread_default (context);
  loop = g_main_loop_new (context, FALSE);
  run.loop = loop;
  run.process = process;
  g_subprocess_communicate_utf8_async (process, NULL, NULL, node_done_cb, &run);
  timeout = g_timeout_source_new_seconds (NODE_TIMEOUT_S);
  g_source_set_callback (timeout, node_timeout_cb, &run, NULL);
  g_source_attach (timeout, context);
  g_main_loop_run (loop);
  g_source_destroy (timeout);
  if (run.error == NULL)
    g_subprocess_wait (process, NULL, NULL);
  g_main_context_pop_thread_default (context);

  if (run.timed_out) {
    tend_cli_fail (_ ("%s: node did not finish evaluating it within %d s (does it start something?)"), shown,
                   NODE_TIMEOUT_S);
  } else if (run.error != NULL) {
    tend_cli_fail (_ ("%s: cannot read what node printed: %s"), shown, run.error->message);
  } else if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0) {
    g_autofree char *message = node_message (run.err);

    tend_cli_fail (_ ("%s: node could not evaluate it:\n%s"), shown, message);
  } else {
    json = g_steal_pointer (&run.out);
  }
  g_free (run.out);
  g_free (run.err);
  g_clear_error (&run.error);
  return json;
}

static gboolean
is_javascript (const char *path)
{
  return g_str_has_suffix (path, ".js") || g_str_has_suffix (path, ".cjs") || g_str_has_suffix (path, ".mjs");
}

/* The PM2 home a dump lives in, when it looks like one: its logs/ folder holds PM2's default log files */
static char *
pm2_logs_dir (const char *absolute)
{
  g_autofree char *dir = g_path_get_dirname (absolute);

  return g_build_filename (dir, "logs", NULL);
}

/* tendd's messages name the file it checked: the temporary file of stdout output is "<stdout>" to the user */
static void
print_check_output (const char *text, const char *checked, const char *shown)
{
  g_autoptr (GString) s = g_string_new (text);

  if (s->len == 0)
    return;
  g_string_replace (s, checked, shown, 0);
  g_printerr ("%s%s", s->str, g_str_has_suffix (s->str, "\n") ? "" : "\n");
}

int
tend_cli_cmd_import (TendCli *cli, int argc, char **argv)
{
  ImportArgs args = { 0 };
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &args.output,
      N_ ("Write the configuration to OUT (atomically) instead of stdout"), "OUT" },
    { "env", 0, 0, G_OPTION_ARG_STRING, &args.env_name,
      N_ ("Merge each app's env_NAME over its env, as pm2 start --env NAME does"), "NAME" },
    { "keep-cloudflared", 0, 0, G_OPTION_ARG_NONE, &args.keep_cloudflared,
      N_ ("Keep an app that runs cloudflared as a plain service instead of the cloudflared plugin"), NULL },
    { NULL },
  };
  g_autoptr (GPtrArray) positional = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) warnings = NULL;
  g_autofree char *absolute = NULL;
  g_autofree char *source_dir = NULL;
  g_autofree char *logs_dir = NULL;
  g_autofree char *text = NULL;
  g_autofree char *config = NULL;
  g_autofree char *checked = NULL;
  g_autofree char *check_out = NULL;
  g_autofree char *check_err = NULL;
  g_autofree char *output = NULL;
  g_autofree char *env_name = NULL;
  const char *shown;
  TendImportOptions options = { 0 };
  gboolean judged = FALSE;
  int status;

  status = tend_cli_parse_options (
      "import", "FILE",
      _ ("Convert a PM2 ecosystem file (.js, evaluated with node as PM2 does, or .json) or a PM2 dump "
         "(~/.pm2/dump.pm2) into a Tend configuration. Every PM2 key is carried over or named in a warning, on "
         "stderr as FILE: app NAME: KEY: what, and as a comment above its service. The result is checked as "
         "tend check does; exit status 1 when it does not pass (or the file cannot be read), 0 otherwise."),
      entries, NULL, argc, argv, &positional);
  output = args.output;
  env_name = args.env_name;
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len == 0)
    return tend_cli_usage_error (_ ("tend import needs a file: an ecosystem.config.js, a .json or a dump.pm2"));
  if (positional->len > 1)
    return tend_cli_usage_error (_ ("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 1));
  if (env_name != NULL && (env_name[0] == '\0' || strpbrk (env_name, " \t\n/") != NULL))
    return tend_cli_usage_error (_ ("--env needs an environment name, as in env_NAME"));

  shown = g_ptr_array_index (positional, 0);
  absolute = g_canonicalize_filename (shown, NULL);
  source_dir = g_path_get_dirname (absolute);
  if (g_file_test (absolute, G_FILE_TEST_IS_DIR))
    return tend_cli_fail (_ ("%s: a folder, not a PM2 file"), shown);
  if (!g_file_test (absolute, G_FILE_TEST_EXISTS))
    return tend_cli_fail (_ ("%s: no such file"), shown);
  if (g_str_has_suffix (absolute, ".yml") || g_str_has_suffix (absolute, ".yaml"))
    return tend_cli_fail (_ ("%s: YAML ecosystem files are not read; convert it to JSON first"), shown);

  if (is_javascript (absolute)) {
    text = evaluate_with_node (absolute, shown);
    if (text == NULL)
      return TEND_CLI_EXIT_FAILED;
  } else if (!tend_read_text_file (absolute, &text, NULL, &error)) {
    return tend_cli_fail ("%s", error->message);
  }
  if (!json_parser_load_from_data (parser, text, -1, &error)) {
    /* json-glib says "<data>:LINE:COLUMN: Parse error: ..." */
    const char *message =
        g_str_has_prefix (error->message, "<data>:") ? error->message + strlen ("<data>:") : error->message;
    return tend_cli_fail (_ ("%s:%s (not a JSON ecosystem file or dump.pm2)"), shown, message);
  }
  if (json_parser_get_root (parser) == NULL)
    return tend_cli_fail (_ ("%s: empty, no apps"), shown);

  logs_dir = pm2_logs_dir (absolute);
  options.source = shown;
  options.source_dir = source_dir;
  options.env_name = env_name;
  options.keep_cloudflared = args.keep_cloudflared;
  options.pm2_logs_dir = logs_dir;
  config = tend_import_convert (json_parser_get_root (parser), &options, &warnings, &error);
  if (config == NULL)
    return tend_cli_fail ("%s: %s", shown, error->message);
  for (guint i = 0; i < warnings->len; i++)
    g_printerr ("%s: %s\n", shown, (const char *) g_ptr_array_index (warnings, i));

  /* written first, then checked: a file that does not pass is still there to be fixed */
  if (output != NULL && strcmp (output, "-") != 0) {
    if (!g_file_set_contents_full (output, config, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
      return tend_cli_fail (_ ("cannot write %s: %s"), output, error->message);
    checked = g_canonicalize_filename (output, NULL);
    status = tend_cli_run_check (cli, checked, &check_out, &check_err, &judged);
    if (!judged)
      return tend_cli_fail (_ ("%s: written, but not checked"), output);
    print_check_output (check_err, checked, output);
    if (status != TEND_CLI_EXIT_OK) {
      print_check_output (check_out, checked, output);
      return tend_cli_fail (_ ("%s: the converted configuration does not pass tend check (see above)"), output);
    }
    return TEND_CLI_EXIT_OK;
  }

  {
    int fd = g_file_open_tmp ("tend-import-XXXXXX.conf", &checked, &error);

    if (fd < 0)
      return tend_cli_fail (_ ("cannot make a temporary file to check the result: %s"), error->message);
    close (fd);
    if (!g_file_set_contents (checked, config, -1, &error)) {
      g_unlink (checked);
      return tend_cli_fail (_ ("cannot write %s: %s"), checked, error->message);
    }
    status = tend_cli_run_check (cli, checked, &check_out, &check_err, &judged);
    g_unlink (checked);
    if (!judged)
      return tend_cli_fail (_ ("the converted configuration cannot be checked, so it is not printed"));
  }
  fputs (config, stdout);
  fflush (stdout);
  print_check_output (check_err, checked, "<stdout>");
  if (status != TEND_CLI_EXIT_OK) {
    print_check_output (check_out, checked, "<stdout>");
    return tend_cli_fail (_ ("the converted configuration does not pass tend check (see above)"));
  }
  return TEND_CLI_EXIT_OK;
}
