/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PM2 apps into Tend services: the key mapping of `tend import`. Pure: JSON
 * in, text and warnings out; tend-cli-import.c reads and writes the files.
 * PM2's behaviour is followed where Tend's differs by default (SIGINT to
 * stop, the interpreter picked from the script's extension, "max" instances),
 * so that the services run as they did; docs/import.md has the table.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tend-date-format.h"
#include "tend-import.h"
#include "tend-parse.h"

/* the order keys are written in a service group */
static const char *const service_key_order[] = {
  "exec",
  "cwd",
  "env",
  "port",
  "instances",
  "increment-var",
  "user",
  "group",
  "autorestart",
  "max-restarts",
  "min-uptime",
  "restart-delay",
  "exp-backoff-restart-delay",
  "kill-signal",
  "kill-timeout",
  "max-memory-restart",
  "out-file",
  "error-file",
  "merge-logs",
  "log-date-format",
  "layer",
  "start",
};

/*
 * PM2 keys Tend has no equal for. A value equal to @pm2_default (the JSON
 * text) is what Tend does anyway and passes silently; NULL: always warned.
 */
typedef struct {
  const char *key;
  const char *pm2_default;
  const char *advice; /* N_() */
} Unsupported;

static const Unsupported unsupported_keys[] = {
  { "watch", "false",
    N_ ("Tend does not watch files: run `tend restart NAME` after a change (e.g. at the end of a deploy)") },
  { "ignore_watch", NULL, N_ ("only used with watch, which Tend does not have") },
  { "watch_delay", NULL, N_ ("only used with watch, which Tend does not have") },
  { "watch_options", NULL, N_ ("only used with watch, which Tend does not have") },
  { "cron_restart", NULL, N_ ("Tend has no timed restarts: let cron or a systemd timer run `tend restart NAME`") },
  { "cron", NULL, N_ ("Tend has no timed restarts: let cron or a systemd timer run `tend restart NAME`") },
  { "wait_ready", "false",
    N_ ("Tend does not see process.send('ready'): use ready-check=tcp://127.0.0.1:PORT (or http://...), or notify=true "
        "and sd_notify READY=1") },
  { "listen_timeout", NULL, N_ ("Tend has no listen timeout: use ready-check (see wait_ready)") },
  { "shutdown_with_message", "false",
    N_ ("Tend stops a service with its kill-signal, not a message: handle that signal in the program") },
  { "pid_file", NULL, N_ ("Tend writes no pid files: `tend describe NAME` and the D-Bus property Pid have the pid") },
  { "pid", NULL, N_ ("Tend writes no pid files: `tend describe NAME` and the D-Bus property Pid have the pid") },
  { "filter_env", "false",
    N_ ("a service gets tendd's environment plus env=: run tendd with a clean environment (systemd does) to leave "
        "the rest out") },
  { "source_map_support", "true", N_ ("pass --enable-source-maps in node_args instead") },
  { "disable_source_map_support", "false", N_ ("node's own default: nothing to do") },
  { "log_type", NULL, N_ ("Tend writes plain lines, not JSON") },
  { "disable_logs", "false", N_ ("Tend always keeps logs: set out-file and error-file to /dev/null to discard them") },
  { "instance_var", "\"NODE_APP_INSTANCE\"",
    N_ ("Tend sets NODE_APP_INSTANCE and TEND_INSTANCE; the program has to read one of them") },
  { "treekill", "true", N_ ("Tend always stops the whole process group") },
  { "kill_retry_time", "100", N_ ("Tend sends SIGKILL once, after kill-timeout") },
  { "vizion", "true", N_ ("PM2's versioning metadata: not used by Tend") },
  { "automation", "true", N_ ("PM2's monitoring agent: Tend measures CPU and memory itself") },
  { "pmx", "true", N_ ("PM2's monitoring agent: Tend measures CPU and memory itself") },
  { "trace", "false", N_ ("Keymetrics tracing: not used by Tend") },
  { "disable_trace", NULL, N_ ("Keymetrics tracing: not used by Tend") },
  { "deep_monitoring", "false", N_ ("Keymetrics monitoring: not used by Tend") },
  { "v8", "false", N_ ("Keymetrics monitoring: not used by Tend") },
  { "event_loop_inspector", "false", N_ ("Keymetrics monitoring: not used by Tend") },
  { "io", NULL, N_ ("Keymetrics monitoring: not used by Tend") },
  { "post_update", NULL, N_ ("Tend does not pull updates: run these commands in your deploy script") },
  { "install_url", NULL, N_ ("Tend does not install modules") },
  { "force", "false", N_ ("Tend runs one service per name: start another name for a second copy") },
  { "append_env_to_name", "false", N_ ("name the service as you want it in [service:NAME]") },
  { "name_prefix", NULL, N_ ("name the service as you want it in [service:NAME]") },
  { "windowsHide", "true", N_ ("Windows only") },
  { "execute_command", NULL, N_ ("PM2 internal: not used by Tend") },
  { "write", NULL, N_ ("PM2 internal: not used by Tend") },
  { "username", NULL, N_ ("who started it under PM2: use uid/user for the user to run as") },
};

/* PM2's bookkeeping in a dump (pm2 save): not app settings, left out silently */
static const char *const dump_internal_keys[] = {
  "pm_id",
  "pm_uptime",
  "created_at",
  "restart_time",
  "unstable_restarts",
  "version",
  "node_version",
  "km_link",
  "vizion_running",
  "unique_id",
  "axm_actions",
  "axm_dynamic",
  "axm_monitor",
  "axm_options",
  "pm_pid_path",
  "_pm2_version",
  "exit_code",
  "prev_restart_delay",
  "pmx_module",
  "versioning",
  "command",
  "pm_exec_path",
  "pm_cwd",
  "status",
  "username",
  "windowsHide",
  "NODE_APP_INSTANCE",
  "axm_monitor",
};

/* variables PM2 or the shell that ran `pm2 start` put into a saved env: not the app's */
static const char *const dump_env_noise[] = {
  "PWD", "OLDPWD", "_", "SHLVL", "unique_id", "NODE_APP_INSTANCE", "pm_id",
};

typedef struct {
  const TendImportOptions *options;
  GPtrArray *warnings;
  GHashTable *names;
  GString *services;
  char *cloudflared_group; /* the [plugin:cloudflared] text, once one app became it */
  gboolean needs_health;
  gboolean dump;
  GHashTable *dump_counts; /* a dump lists each process: name → how many (the instances) */
} Import;

typedef struct {
  Import *im;
  JsonObject *app;
  char *name;
  GPtrArray *notes;    /* "key: what" */
  GHashTable *values;  /* Tend key → escaped value */
  GPtrArray *comments; /* plain comment lines above the group's keys */
  GPtrArray *env_keys; /* the env's keys in order */
  GHashTable *env;     /* key → value (unescaped) */
  gboolean cluster;
} App;

static void
app_clear (App *a)
{
  g_free (a->name);
  g_clear_pointer (&a->notes, g_ptr_array_unref);
  g_clear_pointer (&a->values, g_hash_table_unref);
  g_clear_pointer (&a->comments, g_ptr_array_unref);
  g_clear_pointer (&a->env_keys, g_ptr_array_unref);
  g_clear_pointer (&a->env, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (App, app_clear)

static void note (App *a, const char *key, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
note (App *a, const char *key, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (a->notes, g_strdup_printf ("%s: %s", key, what));
}

/* ---------------------------------------------------------------------- */
/* Escapes */

static char *
escape (const char *value, gboolean list)
{
  g_autoptr (GString) out = g_string_new (NULL);
  gsize len = strlen (value);

  for (gsize i = 0; i < len; i++) {
    char c = value[i];

    if (c == ' ' && (i == 0 || i == len - 1))
      g_string_append (out, "\\s");
    else if (c == '\\')
      g_string_append (out, "\\\\");
    else if (c == '\n')
      g_string_append (out, "\\n");
    else if (c == '\t')
      g_string_append (out, "\\t");
    else if (c == '\r')
      g_string_append (out, "\\r");
    else if (c == ';' && list)
      g_string_append (out, "\\;");
    else
      g_string_append_c (out, c);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
tend_import_escape_value (const char *value)
{
  return escape (value, FALSE);
}

char *
tend_import_escape_env_item (const char *key, const char *value)
{
  g_autofree char *item = g_strconcat (key, "=", value, NULL);

  return escape (item, TRUE);
}

/* ---------------------------------------------------------------------- */
/* JSON values */

/* a scalar as text, as JavaScript's String() would make it; NULL for null, objects and arrays */
static char *
scalar_text (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  switch (json_node_get_value_type (node)) {
  case G_TYPE_STRING:
    return g_strdup (json_node_get_string (node));
  case G_TYPE_INT64:
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  case G_TYPE_DOUBLE: {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    double v = json_node_get_double (node);

    if (v == (double) (gint64) v)
      return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) v);
    return g_strdup (g_ascii_dtostr (buf, sizeof buf, v));
  }
  case G_TYPE_BOOLEAN:
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  default:
    return NULL;
  }
}

static char *
json_text (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

/* a PM2 duration: a number of milliseconds, or "10s", "1m", "1h" */
static gboolean
get_ms (App *a, const char *key, JsonNode *node, guint64 *out_ms)
{
  g_autofree char *text = scalar_text (node);
  g_autoptr (GError) error = NULL;

  if (text == NULL || (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)) {
    g_autofree char *shown = json_text (node);
    note (a, key, _ ("not a duration: %s; left out"), shown);
    return FALSE;
  }
  if (!tend_parse_duration (text, out_ms, &error)) {
    note (a, key, _ ("%s; left out"), error->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
get_bool (App *a, const char *key, JsonNode *node, gboolean *out)
{
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN) {
    *out = json_node_get_boolean (node);
    return TRUE;
  }
  {
    g_autofree char *shown = json_text (node);
    note (a, key, _ ("not true or false: %s; left out"), shown);
  }
  return FALSE;
}

/*
 * Arguments as PM2 splits a string (lib/tools/Config.js): blank-separated
 * words, a word wholly in "..." or '...' unquoted, KEY="a b" kept as written.
 */
static gboolean
get_words (App *a, const char *key, JsonNode *node, GPtrArray *out)
{
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);

    for (guint i = 0; i < json_array_get_length (array); i++) {
      g_autofree char *word = scalar_text (json_array_get_element (array, i));

      if (word == NULL) {
        g_autofree char *shown = json_text (node);
        note (a, key, _ ("not a list of words: %s; left out"), shown);
        return FALSE;
      }
      g_ptr_array_add (out, g_steal_pointer (&word));
    }
    return TRUE;
  }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
    g_autoptr (GRegex) regex =
        g_regex_new ("[^\\s\"'=]+=\"[^\"]*\"|[^\\s\"'=]+='[^']*'|\"([^\"]*)\"|'([^']*)'|\\S+", 0, 0, NULL);
    g_autoptr (GMatchInfo) match = NULL;

    g_regex_match (regex, json_node_get_string (node), 0, &match);
    while (g_match_info_matches (match)) {
      g_autofree char *word = g_match_info_fetch (match, 0);
      gsize len = strlen (word);

      if (len >= 2 && (word[0] == '"' || word[0] == '\'') && word[len - 1] == word[0]) {
        word[len - 1] = '\0';
        memmove (word, word + 1, len - 1);
      }
      /* PM2 drops words that are only blanks */
      for (const char *p = word; *p != '\0'; p++) {
        if (!g_ascii_isspace (*p)) {
          g_ptr_array_add (out, g_steal_pointer (&word));
          break;
        }
      }
      g_match_info_next (match, NULL);
    }
    return TRUE;
  }
  {
    g_autofree char *shown = json_text (node);
    note (a, key, _ ("not a string or a list: %s; left out"), shown);
  }
  return FALSE;
}

static void
set_value (App *a, const char *key, const char *value)
{
  g_hash_table_replace (a->values, g_strdup (key), tend_import_escape_value (value));
}

/* ---------------------------------------------------------------------- */
/* Environment */

static void
env_set (App *a, const char *key, const char *value)
{
  if (!g_hash_table_contains (a->env, key))
    g_ptr_array_add (a->env_keys, g_strdup (key));
  g_hash_table_replace (a->env, g_strdup (key), g_strdup (value));
}

static gboolean
env_name_is_valid (const char *name)
{
  if (!g_ascii_isalpha (name[0]) && name[0] != '_')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  }
  return TRUE;
}

static gboolean
in_list (const char *const *list, gsize n, const char *item)
{
  for (gsize i = 0; i < n; i++) {
    if (strcmp (list[i], item) == 0)
      return TRUE;
  }
  return FALSE;
}

/* env or env_NAME: an object (a string is what PM2 also takes: a JSON text of one) */
static void
merge_env (App *a, const char *key, JsonNode *node)
{
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (GPtrArray) dropped = g_ptr_array_new_with_free_func (g_free);
  JsonObject *object;
  GList *members;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    node = parsed = json_from_string (json_node_get_string (node), NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    note (a, key, _ ("not an object of variables; left out"));
    return;
  }
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    JsonNode *value = json_object_get_member (object, name);
    g_autofree char *text = NULL;

    if (a->im->dump && (in_list (dump_env_noise, G_N_ELEMENTS (dump_env_noise), name) ||
                        g_str_has_prefix (name, "PM2_") || strcmp (name, a->name) == 0)) {
      g_ptr_array_add (dropped, g_strdup (name));
      continue;
    }
    if (!env_name_is_valid (name)) {
      note (a, key, _ ("%s is not a variable name Tend takes (letters, digits and _); left out"), name);
      continue;
    }
    if (JSON_NODE_HOLDS_NULL (value)) {
      note (a, key, _ ("%s is null; left out"), name);
      continue;
    }
    text = scalar_text (value);
    if (text == NULL) {
      /* process.env makes "[object Object]" of it; the JSON is what was meant */
      text = json_text (value);
      note (a, key, _ ("%s is not a string or a number; written as its JSON"), name);
    }
    if (text[0] != '\0' && (g_ascii_isspace (text[0]) || g_ascii_isspace (text[strlen (text) - 1])))
      note (a, key, _ ("%s: the blanks at the ends of its value are lost in env= (use env-file= with quotes)"), name);
    env_set (a, name, text);
  }
  g_list_free (members);
  if (dropped->len > 0) {
    g_autofree char *names = NULL;

    g_ptr_array_add (dropped, NULL);
    names = g_strjoinv (", ", (char **) dropped->pdata);
    note (a, key,
          _ ("the environment pm2 saved is that of the shell that ran `pm2 start`; PM2's and the shell's own "
             "variables were left out (%s), the rest kept: remove what the service does not need"),
          names);
  }
}

/* ---------------------------------------------------------------------- */
/* The command */

/* PM2's interpreters by extension (lib/API/interpreter.json), .cjs and .mjs as node runs them */
static const char *
interpreter_for (const char *script)
{
  static const struct {
    const char *ext, *interpreter;
  } table[] = {
    { ".js", "node" },       { ".cjs", "node" }, { ".mjs", "node" }, { ".sh", "bash" },
    { ".py", "python" },     { ".rb", "ruby" },  { ".php", "php" },  { ".pl", "perl" },
    { ".coffee", "coffee" }, { ".ls", "lsc" },   { ".ts", "bun" },   { ".tsx", "bun" },
  };
  const char *dot = strrchr (script, '.');

  if (dot == NULL || strchr (dot, '/') != NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (table); i++) {
    if (g_ascii_strcasecmp (dot, table[i].ext) == 0)
      return table[i].interpreter;
  }
  return NULL;
}

/* PM2's isBinary: a NUL in the first bytes. -1: cannot read it here. */
static int
file_is_binary (const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, NULL);
  char buf[512];
  gssize n;

  if (in == NULL)
    return -1;
  n = g_input_stream_read (G_INPUT_STREAM (in), buf, sizeof buf, NULL, NULL);
  if (n < 0)
    return -1;
  return memchr (buf, '\0', (gsize) n) != NULL;
}

static void
append_word (GString *line, const char *word)
{
  g_autofree char *quoted = NULL;
  gboolean plain = word[0] != '\0';

  for (const char *p = word; *p != '\0' && plain; p++)
    plain = g_ascii_isalnum (*p) || strchr ("-_./=:,+@%^", *p) != NULL;
  if (line->len > 0)
    g_string_append_c (line, ' ');
  if (plain) {
    g_string_append (line, word);
    return;
  }
  quoted = g_shell_quote (word);
  g_string_append (line, quoted);
}

static const char *
member_string (JsonObject *app, const char *key)
{
  JsonNode *node = json_object_get_member (app, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* the first of @keys (a key and its PM2 aliases) the app has; *out_key says which */
static JsonNode *
member_of (JsonObject *app, const char *const *keys, const char **out_key)
{
  for (guint i = 0; keys[i] != NULL; i++) {
    JsonNode *node = json_object_get_member (app, keys[i]);

    if (node != NULL) {
      if (out_key != NULL)
        *out_key = keys[i];
      return node;
    }
  }
  return NULL;
}

static const char *const script_keys[] = { "script", "exec", "pm_exec_path", NULL };
static const char *const interpreter_keys[] = { "interpreter", "exec_interpreter", NULL };
static const char *const node_args_keys[] = { "node_args", "interpreter_args", "interpreterArgs", NULL };
static const char *const cwd_keys[] = { "cwd", "pm_cwd", NULL };

static gboolean
names_cloudflared (const char *text)
{
  g_autofree char *base = text != NULL ? g_path_get_basename (text) : NULL;

  return base != NULL && strstr (base, "cloudflared") != NULL;
}

/* ---------------------------------------------------------------------- */
/* One app */

static gboolean
convert_command (App *a, const char *cwd, GPtrArray *argv_out, char **out_interpreter, GError **error)
{
  JsonObject *app = a->app;
  const char *script_key = "script";
  JsonNode *script_node = member_of (app, script_keys, &script_key);
  const char *script = NULL;
  const char *interp_key = "interpreter";
  JsonNode *interp_node = member_of (app, interpreter_keys, &interp_key);
  g_autofree char *interpreter = NULL;
  const char *args_key = "node_args";
  JsonNode *node_args = member_of (app, node_args_keys, &args_key);
  JsonNode *args = json_object_get_member (app, "args");
  g_autoptr (GPtrArray) interp_words = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) arg_words = g_ptr_array_new_with_free_func (g_free);

  if (a->im->dump && json_object_has_member (app, "pm_exec_path"))
    script_node = json_object_get_member (app, script_key = "pm_exec_path");
  if (script_node != NULL && JSON_NODE_HOLDS_VALUE (script_node) &&
      json_node_get_value_type (script_node) == G_TYPE_STRING)
    script = json_node_get_string (script_node);
  if (script == NULL || script[0] == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("app %s: no script (the program to run)"), a->name);
    return FALSE;
  }
  if (interp_node != NULL) {
    interpreter = scalar_text (interp_node);
    if (interpreter == NULL || interpreter[0] == '\0') {
      note (a, interp_key, _ ("not a program name; the script's extension decides"));
      g_clear_pointer (&interpreter, g_free);
    }
  }
  if (node_args != NULL)
    get_words (a, args_key, node_args, interp_words);
  if (args != NULL)
    get_words (a, "args", args, arg_words);

  if (interpreter == NULL) {
    const char *by_ext = interpreter_for (script);

    if (by_ext != NULL && strcmp (by_ext, "python") == 0) {
      g_autofree char *python = g_find_program_in_path ("python");
      g_autofree char *python3 = python == NULL ? g_find_program_in_path ("python3") : NULL;

      /* PM2 falls back to python3 the same way */
      interpreter = g_strdup (python3 != NULL ? "python3" : "python");
    } else if (by_ext != NULL) {
      interpreter = g_strdup (by_ext);
      if (strcmp (by_ext, "bun") == 0)
        note (a, script_key,
              _ ("PM2 runs TypeScript with bun, or with node's type stripping when bun is missing: written "
                 "with bun, check the interpreter"));
    } else {
      g_autofree char *path = g_path_is_absolute (script) ? g_strdup (script) : g_build_filename (cwd, script, NULL);
      int binary = file_is_binary (path);

      if (binary == 0) {
        /* what PM2 does with a text file it has no interpreter for */
        interpreter = g_strdup ("node");
        note (a, script_key,
              _ ("no interpreter and no known extension: PM2 runs a text file with node, so does "
                 "this; write interpreter: \"none\" in PM2's terms to run it directly"));
      } else if (binary < 0 && strchr (script, '/') == NULL) {
        note (a, script_key, _ ("not found in %s: run as a command from PATH, as PM2 does"), cwd);
      } else if (binary < 0) {
        note (a, script_key, _ ("cannot read %s here to tell whether PM2 ran it with node: written to run directly"),
              path);
      }
    }
  }
  if (interpreter != NULL && strcmp (interpreter, "none") == 0)
    g_clear_pointer (&interpreter, g_free);

  if (interpreter != NULL) {
    g_ptr_array_add (argv_out, g_strdup (interpreter));
    for (guint i = 0; i < interp_words->len; i++)
      g_ptr_array_add (argv_out, g_strdup (g_ptr_array_index (interp_words, i)));
  } else if (interp_words->len > 0) {
    note (a, args_key, _ ("there is no interpreter to pass them to; left out"));
  }
  if (interpreter == NULL && !g_path_is_absolute (script) && strchr (script, '/') == NULL) {
    g_autofree char *in_cwd = g_build_filename (cwd, script, NULL);

    /* PM2 looks in cwd first, a bare word is looked up in PATH by Tend */
    g_ptr_array_add (argv_out, g_file_test (in_cwd, G_FILE_TEST_IS_REGULAR) ? g_strconcat ("./", script, NULL)
                                                                            : g_strdup (script));
  } else {
    g_ptr_array_add (argv_out, g_strdup (script));
  }
  for (guint i = 0; i < arg_words->len; i++)
    g_ptr_array_add (argv_out, g_strdup (g_ptr_array_index (arg_words, i)));
  *out_interpreter = g_steal_pointer (&interpreter);
  return TRUE;
}

static char *
join_command (GPtrArray *argv)
{
  g_autoptr (GString) line = g_string_new (NULL);

  for (guint i = 0; i < argv->len; i++)
    append_word (line, g_ptr_array_index (argv, i));
  return g_string_free (g_steal_pointer (&line), FALSE);
}

/* The value of "--flag VALUE" or "--flag=VALUE" in @argv, NULL when absent */
static const char *
flag_value (GPtrArray *argv, const char *flag)
{
  gsize len = strlen (flag);

  for (guint i = 0; i < argv->len; i++) {
    const char *word = g_ptr_array_index (argv, i);

    if (strcmp (word, flag) == 0 && i + 1 < argv->len)
      return g_ptr_array_index (argv, i + 1);
    if (strncmp (word, flag, len) == 0 && word[len] == '=')
      return word + len + 1;
  }
  return NULL;
}

/*
 * A cloudflared app becomes the plugin's group. FALSE: it stays a service
 * (a second tunnel, or arguments the plugin cannot take over).
 */
static gboolean
convert_cloudflared (App *a, const char *cwd, GPtrArray *argv)
{
  Import *im = a->im;
  const char *url = flag_value (argv, "--url");
  const char *token = flag_value (argv, "--token");
  const char *program = g_ptr_array_index (argv, 0);
  g_autofree char *binary = NULL;
  g_autofree char *command = join_command (argv);
  g_autoptr (GString) group = g_string_new (NULL);
  g_autoptr (GPtrArray) left = g_ptr_array_new_with_free_func (g_free);
  GList *members;

  if (token == NULL && g_hash_table_lookup (a->env, "TUNNEL_TOKEN") != NULL)
    token = g_hash_table_lookup (a->env, "TUNNEL_TOKEN");
  if (im->cloudflared_group != NULL) {
    note (a, "script", _ ("a second cloudflared app: the plugin runs one tunnel, so this one stays a service"));
    return FALSE;
  }
  if (!names_cloudflared (program)) {
    note (a, "script", _ ("cloudflared runs under an interpreter: it stays a service"));
    return FALSE;
  }
  if (url == NULL && token == NULL) {
    note (a, "args",
          _ ("runs cloudflared without --url or --token, which the cloudflared plugin cannot take over: it stays a "
             "service"));
    return FALSE;
  }
  if (g_path_is_absolute (program) || strchr (program, '/') == NULL)
    binary = g_strdup (program);
  else
    binary = g_canonicalize_filename (program, cwd);

  members = json_object_get_members (a->app);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *key = l->data;

    if (!in_list ((const char *const[]){ "name", "script", "exec", "args", "interpreter", "exec_interpreter",
                                         "pm_exec_path", "pm_cwd", "cwd" },
                  9, key))
      g_ptr_array_add (left, g_strdup (key));
  }
  g_list_free (members);

  for (guint i = 0; i < a->notes->len; i++) {
    const char *n = g_ptr_array_index (a->notes, i);

    g_string_append_printf (group, "# tend import: app %s: %s\n", a->name, n);
    g_ptr_array_add (im->warnings, g_strdup_printf ("app %s: %s", a->name, n));
  }
  g_string_append_printf (group, "# tend import: app %s: ran `%s` under PM2.\n", a->name, command);
  g_string_append (group, "# The cloudflared plugin runs that tunnel now, as the service \"cloudflared\"\n"
                          "# (`tend tunnel` shows its public URL). `tend import --keep-cloudflared` keeps it\n"
                          "# a plain service instead.\n");
  if (left->len > 0) {
    g_autofree char *keys = NULL;
    g_autofree char *line = NULL;

    g_ptr_array_add (left, NULL);
    keys = g_strjoinv (", ", (char **) left->pdata);
    line = g_strdup_printf (_ ("not carried over: %s (the plugin supervises cloudflared itself)"), keys);
    g_string_append_printf (group, "# tend import: app %s: %s\n", a->name, line);
    g_ptr_array_add (im->warnings, g_strdup_printf ("app %s: %s", a->name, line));
  }
  g_string_append (group, "[plugin:cloudflared]\nenabled=true\n");
  if (strcmp (binary, "cloudflared") != 0) {
    g_autofree char *escaped = tend_import_escape_value (binary);
    g_string_append_printf (group, "binary=%s\n", escaped);
  }
  if (token != NULL) {
    g_autofree char *escaped = tend_import_escape_value (token);
    g_string_append_printf (group, "token=%s\n", escaped);
  }
  if (url != NULL) {
    g_autofree char *escaped = tend_import_escape_value (url);
    g_string_append_printf (group, "url=%s\n", escaped);
  }
  im->cloudflared_group = g_string_free (g_steal_pointer (&group), FALSE);
  g_ptr_array_add (im->warnings,
                   g_strdup_printf (_ ("app %s: script: becomes [plugin:cloudflared] (%s%s); see the comment there"),
                                    a->name, token != NULL ? "token=..." : "url=", token != NULL ? "" : url));
  return TRUE;
}

static void
convert_instances (App *a, JsonNode *node)
{
  g_autofree char *text = scalar_text (node);
  guint cores = g_get_num_processors ();
  gint64 n;
  char *end = NULL;

  if (text == NULL) {
    note (a, "instances", _ ("not a number; left out"));
    return;
  }
  if (strcmp (text, "max") == 0) {
    n = 0;
  } else {
    n = g_ascii_strtoll (text, &end, 10);
    if (end == text) {
      note (a, "instances", _ ("not a number: %s; left out"), text);
      return;
    }
  }
  if (n <= 0) {
    gint64 count = MAX ((gint64) cores + n, 1);
    g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, count);

    if (n == 0)
      note (a, "instances", _ ("%s means one per core: %s on this machine; write the number the server should run"),
            text, value);
    else
      note (a, "instances",
            _ ("%s means one per core less %" G_GINT64_FORMAT ": %s on this machine; write the number the server "
               "should run"),
            text, -n, value);
    set_value (a, "instances", value);
    return;
  }
  if (n > 1 || a->cluster)
    set_value (a, "instances", text);
}

static gboolean
convert_date_format (App *a, const char *key, const char *moment)
{
  g_autofree char *dropped = NULL;
  g_autofree char *format = tend_date_format_from_moment (moment, &dropped);
  g_autoptr (GError) error = NULL;

  if (format == NULL || !tend_date_format_check (format, &error)) {
    note (a, key, _ ("\"%s\" has nothing strftime can write; left out"), moment);
    return FALSE;
  }
  if (dropped != NULL)
    note (a, key, _ ("\"%s\" is %s in strftime's terms, without %s (strftime has no equal)"), moment, format, dropped);
  g_ptr_array_add (a->comments, g_strdup_printf ("# PM2's log_date_format \"%s\"", moment));
  set_value (a, "log-date-format", format);
  return TRUE;
}

/* a PM2 default log path under PM2_HOME/logs: Tend's own default takes its place */
static gboolean
is_pm2_default_log (App *a, const char *path)
{
  const char *dir = a->im->options->pm2_logs_dir;
  g_autofree char *parent = NULL;
  JsonNode *env = json_object_get_member (a->app, "env");
  const char *home =
      env != NULL && JSON_NODE_HOLDS_OBJECT (env) ? member_string (json_node_get_object (env), "PM2_HOME") : NULL;
  g_autofree char *home_logs = home != NULL ? g_build_filename (home, "logs", NULL) : NULL;

  if (path == NULL)
    return FALSE;
  parent = g_path_get_dirname (path);
  /* the dump's own PM2_HOME says where PM2 wrote; the dump's folder, when it was moved without it */
  return g_strcmp0 (parent, dir) == 0 || g_strcmp0 (parent, home_logs) == 0;
}

static void
convert_log_path (App *a, const char *key, JsonNode *node, const char *tend_key)
{
  g_autofree char *path = scalar_text (node);

  if (path == NULL || path[0] == '\0' || strcmp (path, "true") == 0 || strcmp (path, "false") == 0) {
    note (a, key, _ ("not a file name; left out"));
    return;
  }
  if (strcmp (path, "NULL") == 0 || strcmp (path, "/dev/null") == 0) {
    note (a, key, _ ("PM2 discards this output; Tend keeps it in its default log file (tend flush empties it)"));
    return;
  }
  if (is_pm2_default_log (a, path))
    return; /* said once for the app, below */
  set_value (a, tend_key, path);
}

static const Unsupported *
find_unsupported (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (unsupported_keys); i++) {
    if (strcmp (unsupported_keys[i].key, key) == 0)
      return &unsupported_keys[i];
  }
  return NULL;
}

/* keys convert_app handles itself, before the loop over the rest */
static const char *const command_keys[] = {
  "name",
  "script",
  "exec",
  "pm_exec_path",
  "interpreter",
  "exec_interpreter",
  "node_args",
  "interpreter_args",
  "interpreterArgs",
  "args",
  "cwd",
  "pm_cwd",
  "env",
  "exec_mode",
  "port",
};

static gboolean
convert_one_key (App *a, const char *key, JsonNode *node)
{
  guint64 ms;
  gboolean flag;

  if (strcmp (key, "instances") == 0) {
    convert_instances (a, node);
  } else if (strcmp (key, "autorestart") == 0) {
    if (get_bool (a, key, node, &flag) && !flag)
      set_value (a, "autorestart", "false");
  } else if (strcmp (key, "autostart") == 0) {
    if (get_bool (a, key, node, &flag) && !flag)
      set_value (a, "start", "false");
  } else if (strcmp (key, "max_restarts") == 0) {
    g_autofree char *text = scalar_text (node);
    guint64 n;

    if (text == NULL || !tend_parse_uint (text, 0, G_MAXUINT, &n, NULL))
      note (a, key, _ ("not a number; left out"));
    else
      set_value (a, "max-restarts", text);
  } else if (strcmp (key, "min_uptime") == 0 || strcmp (key, "restart_delay") == 0 ||
             strcmp (key, "exp_backoff_restart_delay") == 0 || strcmp (key, "kill_timeout") == 0) {
    if (get_ms (a, key, node, &ms)) {
      g_autofree char *tend_key = g_strdelimit (g_strdup (key), "_", '-');
      g_autofree char *value = tend_format_duration (ms);

      set_value (a, tend_key, value);
    }
  } else if (strcmp (key, "max_memory_restart") == 0) {
    g_autofree char *text = scalar_text (node);
    g_autoptr (GError) error = NULL;
    guint64 bytes;

    if (text == NULL || !tend_parse_size (text, &bytes, &error)) {
      note (a, key, _ ("%s; left out"), error != NULL ? error->message : _ ("not a size"));
    } else {
      g_autofree char *value = tend_format_size (bytes);

      set_value (a, "max-memory-restart", value);
      a->im->needs_health = TRUE;
    }
  } else if (strcmp (key, "out_file") == 0 || strcmp (key, "out") == 0 || strcmp (key, "output") == 0 ||
             strcmp (key, "out_log") == 0) {
    convert_log_path (a, key, node, "out-file");
  } else if (strcmp (key, "error_file") == 0 || strcmp (key, "error") == 0 || strcmp (key, "err") == 0 ||
             strcmp (key, "err_file") == 0 || strcmp (key, "err_log") == 0) {
    convert_log_path (a, key, node, "error-file");
  } else if (a->im->dump && strcmp (key, "pm_out_log_path") == 0) {
    convert_log_path (a, key, node, "out-file");
  } else if (a->im->dump && strcmp (key, "pm_err_log_path") == 0) {
    convert_log_path (a, key, node, "error-file");
  } else if (strcmp (key, "log_file") == 0 || strcmp (key, "log") == 0 ||
             (a->im->dump && strcmp (key, "pm_log_path") == 0)) {
    g_autofree char *text = scalar_text (node);

    if (g_strcmp0 (text, "false") != 0 && !is_pm2_default_log (a, text))
      note (a, key,
            _ ("Tend has no combined log file: out-file and error-file stay apart, `tend logs NAME` shows both "
               "streams together"));
  } else if (strcmp (key, "merge_logs") == 0 || strcmp (key, "combine_logs") == 0) {
    JsonNode *instances = json_object_get_member (a->app, "instances");

    /* pm2 save writes merge_logs=true for every fork-mode app, where it means nothing */
    if (a->im->dump && (instances == NULL || !JSON_NODE_HOLDS_VALUE (instances) ||
                        json_node_get_value_type (instances) != G_TYPE_INT64 || json_node_get_int (instances) == 1))
      return TRUE;
    if (get_bool (a, key, node, &flag) && flag)
      set_value (a, "merge-logs", "true");
  } else if (strcmp (key, "log_date_format") == 0) {
    g_autofree char *text = scalar_text (node);

    if (text == NULL || text[0] == '\0')
      note (a, key, _ ("not a format; left out"));
    else
      convert_date_format (a, key, text);
  } else if (strcmp (key, "time") == 0) {
    /* PM2's time: true prefixes lines with its default date format; an explicit log_date_format wins */
    if (get_bool (a, key, node, &flag) && flag && !json_object_has_member (a->app, "log_date_format"))
      convert_date_format (a, key, "YYYY-MM-DDTHH:mm:ss");
  } else if (strcmp (key, "increment_var") == 0) {
    g_autofree char *text = scalar_text (node);

    if (text == NULL || !env_name_is_valid (text))
      note (a, key, _ ("not a variable name; left out"));
    else
      set_value (a, "increment-var", text);
  } else if (strcmp (key, "uid") == 0 || strcmp (key, "user") == 0) {
    g_autofree char *text = scalar_text (node);

    if (text != NULL)
      set_value (a, "user", text);
    else
      note (a, key, _ ("not a user; left out"));
  } else if (strcmp (key, "gid") == 0) {
    g_autofree char *text = scalar_text (node);

    if (text != NULL)
      set_value (a, "group", text);
    else
      note (a, key, _ ("not a group; left out"));
  } else if (strcmp (key, "namespace") == 0) {
    g_autofree char *text = scalar_text (node);

    if (text != NULL && strcmp (text, "default") != 0) {
      set_value (a, "layer", text);
      note (a, key, _ ("written as layer=%s, which the health document reports"), text);
    }
  } else if (strcmp (key, "stop_exit_codes") == 0) {
    g_autofree char *text = json_text (node);

    if (strcmp (text, "[0]") == 0 || strcmp (text, "0") == 0)
      set_value (a, "autorestart", "on-failure");
    else
      note (a, key,
            _ ("Tend cannot list exit codes: autorestart=on-failure leaves a service stopped after exit status 0 "
               "only"));
  } else if (g_str_has_prefix (key, "env_")) {
    if (a->im->options->env_name == NULL || strcmp (key + strlen ("env_"), a->im->options->env_name) != 0)
      note (a, key, _ ("not used (tend import --env %s uses it, as pm2 start --env does)"), key + strlen ("env_"));
    /* the chosen one was merged with env */
  } else {
    return FALSE;
  }
  return TRUE;
}

/* a service name Tend takes, unique in the file */
static char *
service_name (App *a, const char *pm2_name)
{
  g_autoptr (GString) name = g_string_new (NULL);

  for (const char *p = pm2_name; *p != '\0' && name->len < 60; p++)
    g_string_append_c (name, g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '-');
  if (!tend_service_name_is_valid (name->str))
    g_string_append (name, "-app");
  if (g_hash_table_contains (a->im->names, name->str)) {
    g_autofree char *base = g_strdup (name->str);

    for (guint i = 2; g_hash_table_contains (a->im->names, name->str); i++)
      g_string_printf (name, "%s-%u", base, i);
  }
  return g_string_free (g_steal_pointer (&name), FALSE);
}

static gboolean
convert_app (Import *im, JsonObject *object, GError **error)
{
  g_auto (App) a = { 0 };
  const char *pm2_name = member_string (object, "name");
  JsonNode *script_node = member_of (object, script_keys, NULL);
  JsonNode *cwd_node = member_of (object, cwd_keys, NULL);
  JsonNode *port_node = json_object_get_member (object, "port");
  g_autofree char *cwd = NULL;
  g_autofree char *fallback_name = NULL;
  g_autofree char *interpreter = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *exec = NULL;
  gboolean is_cloudflared;
  const char *mode = member_string (object, "exec_mode");
  gboolean cwd_unset = FALSE;
  GList *members;

  a.im = im;
  a.app = object;
  a.notes = g_ptr_array_new_with_free_func (g_free);
  a.comments = g_ptr_array_new_with_free_func (g_free);
  a.values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  a.env_keys = g_ptr_array_new_with_free_func (g_free);
  a.env = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  a.cluster = mode != NULL && (strcmp (mode, "cluster") == 0 || strcmp (mode, "cluster_mode") == 0);

  if (pm2_name == NULL || pm2_name[0] == '\0') {
    const char *script = script_node != NULL && JSON_NODE_HOLDS_VALUE (script_node) &&
                                 json_node_get_value_type (script_node) == G_TYPE_STRING
                             ? json_node_get_string (script_node)
                             : "app";
    g_autofree char *base = g_path_get_basename (script);
    char *dot = strrchr (base, '.');

    /* PM2 names an app after its script */
    if (dot != NULL && dot != base)
      *dot = '\0';
    pm2_name = fallback_name = g_steal_pointer (&base);
  }
  if (im->dump && g_hash_table_contains (im->dump_counts, pm2_name) &&
      GPOINTER_TO_UINT (g_hash_table_lookup (im->dump_counts, pm2_name)) == 0)
    return TRUE; /* another process of an app already written */
  a.name = service_name (&a, pm2_name);
  if (strcmp (a.name, pm2_name) != 0)
    note (&a, "name", _ ("\"%s\" is not a name Tend takes once more (letters, digits, -, _ and .; unique): %s"),
          pm2_name, a.name);
  g_hash_table_add (im->names, g_strdup (a.name));

  /* cwd: PM2 resolves a relative one, or none, against the folder pm2 start ran in */
  if (cwd_node != NULL && (cwd = scalar_text (cwd_node)) != NULL && cwd[0] != '\0') {
    if (!g_path_is_absolute (cwd)) {
      char *absolute = g_canonicalize_filename (cwd, im->options->source_dir);

      note (&a, "cwd", _ ("relative: written as %s (PM2 takes it from the folder pm2 start ran in)"), absolute);
      g_free (cwd);
      cwd = absolute;
    }
  } else {
    g_free (cwd);
    cwd = g_strdup (im->options->source_dir);
    cwd_unset = TRUE;
  }

  /* the environment before the command: cloudflared's token may be in it */
  if (json_object_has_member (object, "env"))
    merge_env (&a, "env", json_object_get_member (object, "env"));
  if (im->options->env_name != NULL) {
    g_autofree char *env_key = g_strconcat ("env_", im->options->env_name, NULL);

    if (json_object_has_member (object, env_key))
      merge_env (&a, env_key, json_object_get_member (object, env_key));
  }
  if (port_node != NULL) {
    g_autofree char *port = scalar_text (port_node);

    if (port != NULL)
      env_set (&a, "PORT", port); /* PM2's port: is a PORT variable, over env's */
    else
      note (&a, "port", _ ("not a number; left out"));
  }

  if (!convert_command (&a, cwd, argv, &interpreter, error))
    return FALSE;
  is_cloudflared = names_cloudflared (g_ptr_array_index (argv, 0)) || names_cloudflared (interpreter);
  for (guint i = 0; !is_cloudflared && interpreter != NULL && i < argv->len; i++)
    is_cloudflared = names_cloudflared (g_ptr_array_index (argv, i)) && i + 1 < argv->len &&
                     strcmp (g_ptr_array_index (argv, i + 1), "tunnel") == 0;
  if (is_cloudflared && !im->options->keep_cloudflared && convert_cloudflared (&a, cwd, argv))
    return TRUE;
  if (cwd_unset)
    note (&a, "cwd", _ ("not set: PM2 uses the folder pm2 start ran in; written as the file's folder %s"), cwd);
  exec = join_command (argv);
  set_value (&a, "exec", exec);
  set_value (&a, "cwd", cwd);
  if (interpreter != NULL && strstr (interpreter, "python") != NULL &&
      !g_hash_table_contains (a.env, "PYTHONUNBUFFERED"))
    env_set (&a, "PYTHONUNBUFFERED", "1"); /* PM2 sets it for python, so lines reach the log at once */

  if (mode != NULL && !a.cluster && strcmp (mode, "fork") != 0 && strcmp (mode, "fork_mode") != 0)
    note (&a, "exec_mode", _ ("\"%s\" is neither fork nor cluster; run as fork"), mode);

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *key = l->data;
    JsonNode *node = json_object_get_member (object, key);
    const Unsupported *u;

    if (in_list (command_keys, G_N_ELEMENTS (command_keys), key) || convert_one_key (&a, key, node))
      continue;
    if (im->dump && in_list (dump_internal_keys, G_N_ELEMENTS (dump_internal_keys), key))
      continue;
    /* a dump repeats the env's variables beside the settings */
    if (im->dump && g_hash_table_contains (a.env, key))
      continue;
    if (im->dump && (g_str_has_prefix (key, "PM2_") || in_list (dump_env_noise, G_N_ELEMENTS (dump_env_noise), key) ||
                     strcmp (key, pm2_name) == 0))
      continue;
    u = find_unsupported (key);
    if (u != NULL) {
      g_autofree char *text = json_text (node);

      if (u->pm2_default == NULL || strcmp (text, u->pm2_default) != 0)
        note (&a, key, "%s", _ (u->advice));
      continue;
    }
    {
      g_autofree char *text = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                                  ? g_strdup (json_node_get_string (node))
                                  : json_text (node);
      g_autofree char *shown = tend_quote_for_message (text, -1);

      note (&a, key, _ ("unknown PM2 key (value %s); left out"), shown);
    }
  }
  g_list_free (members);

  if (im->dump) {
    guint count = GPOINTER_TO_UINT (g_hash_table_lookup (im->dump_counts, pm2_name));

    if (count > 1) {
      g_autofree char *n = g_strdup_printf ("%u", count);
      set_value (&a, "instances", n);
      if (json_object_has_member (object, "merge_logs") &&
          json_node_get_boolean (json_object_get_member (object, "merge_logs")))
        set_value (&a, "merge-logs", "true");
    }
    g_hash_table_replace (im->dump_counts, g_strdup (pm2_name), GUINT_TO_POINTER (0));
  }
  if (a.cluster) {
    note (&a, "exec_mode",
          _ ("cluster: Tend runs %s separate processes (instance i gets NODE_APP_INSTANCE=i); they do not share "
             "one port as PM2's cluster does: give each its own with increment-var=PORT, or let the program bind "
             "with SO_REUSEPORT"),
          g_hash_table_contains (a.values, "instances") ? (const char *) g_hash_table_lookup (a.values, "instances")
                                                        : "1");
  }
  if (a.im->dump && json_object_has_member (object, "status") &&
      g_strcmp0 (member_string (object, "status"), "stopped") == 0) {
    set_value (&a, "start", "false");
    note (&a, "status", _ ("stopped when pm2 save ran: start=false (tend start %s starts it)"), a.name);
  }
  if (a.im->dump && (is_pm2_default_log (&a, member_string (object, "pm_out_log_path")) ||
                     is_pm2_default_log (&a, member_string (object, "pm_err_log_path"))))
    note (&a, "pm_out_log_path",
          _ ("PM2's own log files in PM2_HOME/logs are not carried over: Tend writes $TEND_HOME/logs/NAME-out.log "
             "and NAME-error.log"));

  /* PORT: the port= Tend reports and checks; it stays in the environment for the program */
  {
    const char *port = g_hash_table_lookup (a.env, "PORT");
    guint64 n;

    if (port != NULL && tend_parse_uint (port, 1, 65535, &n, NULL)) {
      set_value (&a, "port", port);
      g_ptr_array_add (
          a.comments,
          g_strdup_printf ("# to call it online only once it listens: ready-check=tcp://127.0.0.1:%s", port));
    } else if (port != NULL) {
      note (&a, "env", _ ("PORT=%s is not a port number: no port= written"), port);
    }
  }
  /* PM2 stops an app with SIGINT (PM2_KILL_SIGNAL aside); Tend's default is SIGTERM */
  set_value (&a, "kill-signal", "SIGINT");

  if (a.env_keys->len > 0) {
    g_autoptr (GString) env = g_string_new (NULL);

    for (guint i = 0; i < a.env_keys->len; i++) {
      const char *key = g_ptr_array_index (a.env_keys, i);
      g_autofree char *item = tend_import_escape_env_item (key, g_hash_table_lookup (a.env, key));

      if (env->len > 0)
        g_string_append_c (env, ';');
      g_string_append (env, item);
    }
    /* already escaped for a list */
    g_hash_table_replace (a.values, g_strdup ("env"), g_string_free (g_steal_pointer (&env), FALSE));
  }

  /* the group */
  g_string_append_c (im->services, '\n');
  for (guint i = 0; i < a.notes->len; i++) {
    const char *n = g_ptr_array_index (a.notes, i);

    g_string_append_printf (im->services, "# tend import: %s\n", n);
    g_ptr_array_add (im->warnings, g_strdup_printf ("app %s: %s", a.name, n));
  }
  g_string_append_printf (im->services, "[service:%s]\n", a.name);
  for (guint i = 0; i < G_N_ELEMENTS (service_key_order); i++) {
    const char *key = service_key_order[i];
    const char *value = g_hash_table_lookup (a.values, key);

    if (strcmp (key, "log-date-format") == 0 || strcmp (key, "port") == 0) {
      for (guint j = 0; j < a.comments->len; j++) {
        const char *comment = g_ptr_array_index (a.comments, j);

        if ((key[0] == 'l') == g_str_has_prefix (comment, "# PM2's log_date_format") && value != NULL)
          g_string_append_printf (im->services, "%s\n", comment);
      }
    }
    if (value != NULL)
      g_string_append_printf (im->services, "%s=%s\n", key, value);
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */

static gboolean
is_dump (JsonArray *apps)
{
  for (guint i = 0; i < json_array_get_length (apps); i++) {
    JsonNode *node = json_array_get_element (apps, i);

    if (JSON_NODE_HOLDS_OBJECT (node) && json_object_has_member (json_node_get_object (node), "pm_exec_path"))
      return TRUE;
  }
  return FALSE;
}

char *
tend_import_convert (JsonNode *root, const TendImportOptions *options, GPtrArray **out_warnings, GError **error)
{
  Import im = { 0 };
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) services = g_string_new (NULL);
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *cloudflared_group = NULL;
  JsonArray *apps = NULL;
  gboolean env_seen = FALSE;

  if (JSON_NODE_HOLDS_ARRAY (root)) {
    apps = json_node_get_array (root);
  } else if (JSON_NODE_HOLDS_OBJECT (root)) {
    JsonObject *top = json_node_get_object (root);
    JsonNode *apps_node = json_object_get_member (top, "apps");
    GList *members = json_object_get_members (top);

    if (apps_node == NULL || !JSON_NODE_HOLDS_ARRAY (apps_node)) {
      g_list_free (members);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("not a PM2 ecosystem: no \"apps\" list (a PM2 file is {\"apps\": [...]}, a list of apps, "
                              "or a dump.pm2)"));
      return NULL;
    }
    apps = json_node_get_array (apps_node);
    for (GList *l = members; l != NULL; l = l->next) {
      const char *key = l->data;

      if (strcmp (key, "apps") == 0)
        continue;
      if (strcmp (key, "deploy") == 0)
        g_ptr_array_add (warnings, g_strdup (_ ("deploy: Tend does not deploy (pm2 deploy); left out")));
      else
        g_ptr_array_add (warnings, g_strdup_printf (_ ("%s: unknown top-level key; left out"), key));
    }
    g_list_free (members);
  } else {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         _ ("not a PM2 ecosystem: neither an object with \"apps\" nor a list of apps"));
    return NULL;
  }
  if (json_array_get_length (apps) == 0) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("no apps in the file"));
    return NULL;
  }

  im.options = options;
  im.warnings = warnings;
  im.names = names;
  im.services = services;
  im.dump = is_dump (apps);
  im.dump_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; im.dump && i < json_array_get_length (apps); i++) {
    JsonNode *node = json_array_get_element (apps, i);
    const char *name = JSON_NODE_HOLDS_OBJECT (node) ? member_string (json_node_get_object (node), "name") : NULL;

    if (name != NULL)
      g_hash_table_replace (im.dump_counts, g_strdup (name),
                            GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (im.dump_counts, name)) + 1));
  }
  for (guint i = 0; i < json_array_get_length (apps); i++) {
    JsonNode *node = json_array_get_element (apps, i);

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("app %u of the list is not an object"), i + 1);
      g_free (im.cloudflared_group);
      g_hash_table_unref (im.dump_counts);
      return NULL;
    }
    if (options->env_name != NULL) {
      g_autofree char *env_key = g_strconcat ("env_", options->env_name, NULL);
      env_seen |= json_object_has_member (json_node_get_object (node), env_key);
    }
    if (!convert_app (&im, json_node_get_object (node), error)) {
      g_free (im.cloudflared_group);
      g_hash_table_unref (im.dump_counts);
      return NULL;
    }
  }
  cloudflared_group = im.cloudflared_group;
  g_hash_table_unref (im.dump_counts);
  if (options->env_name != NULL && !env_seen)
    g_ptr_array_add (warnings, g_strdup_printf (_ ("--env %s: no app has env_%s; only env was used"), options->env_name,
                                                options->env_name));

  g_string_append_printf (out, "# Converted by `tend import` from the PM2 %s %s.\n",
                          im.dump ? "dump" : "ecosystem file", options->source);
  if (options->env_name != NULL)
    g_string_append_printf (out, "# With --env %s: env_%s is merged over env.\n", options->env_name, options->env_name);
  g_string_append (out,
                   "# Lines \"# tend import: KEY: ...\" above a service say what did not carry over as it was.\n"
                   "# PM2 stops apps with SIGINT, hence kill-signal=SIGINT; PM2's pm2-logrotate settings are not in\n"
                   "# the file: add [plugin:logrotate] (max-size, retain, compress) if you used it.\n"
                   "# Check it with `tend check FILE`, run it with `tend start FILE`; docs/import.md has the mapping.\n"
                   "\n[plugin:process]\nenabled=true\n");
  if (im.needs_health)
    g_string_append (out, "\n# max-memory-restart is enforced by the health plugin\n[plugin:health]\nenabled=true\n");
  if (cloudflared_group != NULL)
    g_string_append_printf (out, "\n%s", cloudflared_group);
  g_string_append (out, services->str);
  *out_warnings = g_steal_pointer (&warnings);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
