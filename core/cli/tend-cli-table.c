/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tend-cli.h"

#define COLOR_GREEN "\033[32m"
#define COLOR_RED "\033[31m"
#define COLOR_YELLOW "\033[33m"
#define COLOR_DIM "\033[2m"
#define COLOR_BOLD "\033[1m"
#define COLOR_RESET "\033[0m"

gboolean
tend_cli_use_color (void)
{
  /* https://no-color.org: any NO_COLOR turns colour off */
  return isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL;
}

char *
tend_cli_format_uptime (gint64 start_time_us)
{
  gint64 seconds;

  if (start_time_us <= 0)
    return g_strdup ("-");
  seconds = MAX (0, (g_get_real_time () - start_time_us) / G_USEC_PER_SEC);
  /* pm2's units; a day is "D" so it cannot be read as minutes */
  if (seconds < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m", seconds / 60);
  if (seconds < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h", seconds / 3600);
  return g_strdup_printf ("%" G_GINT64_FORMAT "D", seconds / 86400);
}

char *
tend_cli_format_memory (guint64 bytes)
{
  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "b", bytes);
  if (bytes < 1024 * 1024)
    return g_strdup_printf ("%.1fkb", bytes / 1024.0);
  if (bytes < 1024 * 1024 * 1024)
    return g_strdup_printf ("%.1fmb", bytes / (1024.0 * 1024.0));
  return g_strdup_printf ("%.1fgb", bytes / (1024.0 * 1024.0 * 1024.0));
}

const char *
tend_cli_state_color (const char *state)
{
  if (g_strcmp0 (state, "online") == 0)
    return COLOR_GREEN;
  if (g_strcmp0 (state, "errored") == 0)
    return COLOR_RED;
  if (g_strcmp0 (state, "stopped") == 0)
    return COLOR_DIM;
  return COLOR_YELLOW;
}

/* A table of text cells; a cell may carry a colour, which does not count in the width. */
typedef struct {
  guint n_columns;
  GPtrArray *cells;  /* char *, row by row */
  GPtrArray *colors; /* const char * (static) or NULL, same layout */
} Table;

static Table *
table_new (guint n_columns)
{
  Table *t = g_new0 (Table, 1);

  t->n_columns = n_columns;
  t->cells = g_ptr_array_new_with_free_func (g_free);
  t->colors = g_ptr_array_new ();
  return t;
}

static void
table_free (Table *t)
{
  g_ptr_array_unref (t->cells);
  g_ptr_array_unref (t->colors);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Table, table_free)

/* Adds one cell, taking @text. */
static void
table_take (Table *t, char *text, const char *color)
{
  g_ptr_array_add (t->cells, text != NULL ? text : g_strdup (""));
  g_ptr_array_add (t->colors, (gpointer) color);
}

static void
table_add (Table *t, const char *text, const char *color)
{
  table_take (t, g_strdup (text), color);
}

static void
table_print (Table *t, gboolean color)
{
  g_autofree guint *widths = g_new0 (guint, t->n_columns);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < t->cells->len; i++) {
    const char *text = g_ptr_array_index (t->cells, i);
    widths[i % t->n_columns] = MAX (widths[i % t->n_columns], (guint) g_utf8_strlen (text, -1));
  }
  for (guint i = 0; i < t->cells->len; i++) {
    guint column = i % t->n_columns;
    const char *text = g_ptr_array_index (t->cells, i);
    const char *cell_color = g_ptr_array_index (t->colors, i);
    gboolean last = column == t->n_columns - 1;

    if (color && cell_color != NULL)
      g_string_append_printf (out, "%s%s%s", cell_color, text, COLOR_RESET);
    else
      g_string_append (out, text);
    if (last) {
      g_string_append_c (out, '\n');
    } else {
      for (guint pad = g_utf8_strlen (text, -1); pad < widths[column] + 2; pad++)
        g_string_append_c (out, ' ');
    }
  }
  fputs (out->str, stdout);
}

static gboolean
terminal_is_utf8 (void)
{
  const char *charset;
  return g_get_charset (&charset);
}

static char *
lookup_string (GVariant *dict, const char *key)
{
  char *value = NULL;

  if (!g_variant_lookup (dict, key, "s", &value))
    return g_strdup ("");
  return value;
}

static guint64
lookup_number (GVariant *dict, const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (dict, key, NULL);

  if (value == NULL)
    return 0;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return (guint64) MAX (0, g_variant_get_int32 (value));
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return (guint64) MAX (0, g_variant_get_int64 (value));
  return 0;
}

static double
lookup_double (GVariant *dict, const char *key)
{
  double value = 0.0;

  g_variant_lookup (dict, key, "d", &value);
  return value;
}

static gboolean
lookup_bool (GVariant *dict, const char *key)
{
  gboolean value = FALSE;

  g_variant_lookup (dict, key, "b", &value);
  return value;
}

static char *
format_pid (guint64 pid)
{
  return pid > 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT, pid) : g_strdup ("-");
}

static char *
format_instance (GVariant *dict)
{
  guint64 count = lookup_number (dict, "instances");

  if (count <= 1)
    return g_strdup ("-");
  return g_strdup_printf ("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, lookup_number (dict, "index"), count);
}

/* The columns both the status table and describe's instance list show. */
static void
add_instance_row (Table *t, GVariant *dict, gboolean with_name)
{
  g_autofree char *state = lookup_string (dict, "state");
  guint64 pid = lookup_number (dict, "pid");
  /* unknown (no process, not sampled yet, health plugin off) is `-`: a 0 would read as measured */
  gboolean known = lookup_bool (dict, "figures-known");

  table_take (t, g_strdup_printf ("%" G_GUINT64_FORMAT, lookup_number (dict, "id")), NULL);
  if (with_name)
    table_take (t, lookup_string (dict, "name"), NULL);
  table_take (t, format_instance (dict), NULL);
  table_take (t, format_pid (pid), NULL);
  /* no process, no uptime, whatever start-time still says */
  table_take (t, pid > 0 ? tend_cli_format_uptime ((gint64) lookup_number (dict, "start-time")) : g_strdup ("-"), NULL);
  table_take (t, g_strdup_printf ("%" G_GUINT64_FORMAT, lookup_number (dict, "restarts")), NULL);
  table_add (t, state, tend_cli_state_color (state));
  table_take (t, known ? g_strdup_printf ("%.1f%%", lookup_double (dict, "cpu-percent")) : g_strdup ("-"), NULL);
  table_take (t, known ? tend_cli_format_memory (lookup_number (dict, "memory-rss")) : g_strdup ("-"), NULL);
}

static void
add_instance_header (Table *t, gboolean with_name, gboolean color)
{
  const char *bold = color ? COLOR_BOLD : NULL;

  table_add (t, _("id"), bold);
  if (with_name)
    table_add (t, _("name"), bold);
  table_add (t, _("inst"), bold);
  table_add (t, _("pid"), bold);
  table_add (t, _("uptime"), bold);
  table_add (t, terminal_is_utf8 () ? "↺" : _("restarts"), bold);
  table_add (t, _("state"), bold);
  table_add (t, _("cpu"), bold);
  table_add (t, _("memory"), bold);
}

void
tend_cli_print_status (GVariant *instances)
{
  gboolean color = tend_cli_use_color ();
  g_autoptr(Table) t = table_new (9);
  gsize n = g_variant_n_children (instances);

  if (n == 0) {
    g_print (_("no services yet; `tend start --name NAME -- COMMAND` or `tend start FILE.conf` adds some\n"));
    return;
  }
  add_instance_header (t, TRUE, color);
  for (gsize i = 0; i < n; i++) {
    g_autoptr(GVariant) dict = g_variant_get_child_value (instances, i);
    add_instance_row (t, dict, TRUE);
  }
  table_print (t, color);
}

static void
print_field (const char *label, const char *value)
{
  if (value == NULL || value[0] == '\0')
    return;
  g_print ("  %-14s %s\n", label, value);
}

static const char *
yes_no (gboolean value)
{
  return value ? _("yes") : _("no");
}

void
tend_cli_print_describe (GVariant *service)
{
  gboolean color = tend_cli_use_color ();
  g_autofree char *name = lookup_string (service, "name");
  g_autofree char *state = lookup_string (service, "state");
  g_autofree char *status_message = lookup_string (service, "status-message");
  g_autofree char *last_exit = lookup_string (service, "last-exit");
  g_autofree char *restart_reason = lookup_string (service, "last-restart-reason");
  g_autofree char *out_log = lookup_string (service, "out-log");
  g_autofree char *error_log = lookup_string (service, "error-log");
  g_autofree char *log_error = lookup_string (service, "log-error");
  g_autofree char *layer = lookup_string (service, "layer");
  g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, lookup_number (service, "id"));
  g_autofree char *pid = format_pid (lookup_number (service, "pid"));
  g_autofree char *instances = g_strdup_printf ("%" G_GUINT64_FORMAT, lookup_number (service, "instances"));
  g_autofree char *uptime = lookup_number (service, "pid") > 0
                              ? tend_cli_format_uptime ((gint64) lookup_number (service, "start-time"))
                              : g_strdup ("-");
  g_autofree char *restarts = g_strdup_printf ("%" G_GUINT64_FORMAT, lookup_number (service, "restarts"));
  gboolean known = lookup_bool (service, "figures-known");
  g_autofree char *cpu = known ? g_strdup_printf ("%.1f%%", lookup_double (service, "cpu-percent")) : g_strdup ("-");
  g_autofree char *memory = known ? tend_cli_format_memory (lookup_number (service, "memory-rss")) : g_strdup ("-");
  g_autofree char *port = lookup_number (service, "port") > 0
                            ? g_strdup_printf ("%" G_GUINT64_FORMAT, lookup_number (service, "port"))
                            : NULL;
  g_autofree char *colored_state = color ? g_strconcat (tend_cli_state_color (state), state, COLOR_RESET, NULL)
                                         : g_strdup (state);
  g_autoptr(GVariant) config = g_variant_lookup_value (service, "config", G_VARIANT_TYPE ("a{ss}"));
  g_autoptr(GVariant) instance_list = g_variant_lookup_value (service, "instance-list", G_VARIANT_TYPE ("aa{sv}"));

  g_print ("%s%s%s\n", color ? COLOR_BOLD : "", name, color ? COLOR_RESET : "");
  print_field (_("state"), colored_state);
  print_field (_("status"), status_message);
  print_field (_("id"), id);
  print_field (_("pid"), pid);
  print_field (_("instances"), instances);
  print_field (_("uptime"), uptime);
  print_field (_("restarts"), restarts);
  print_field (_("cpu"), cpu);
  print_field (_("memory"), memory);
  print_field (_("last exit"), last_exit[0] != '\0' ? last_exit : "-");
  print_field (_("last restart"), restart_reason[0] != '\0' ? restart_reason : "-");
  print_field (_("wants running"), yes_no (lookup_bool (service, "wants-running")));
  print_field (_("ad hoc"), yes_no (lookup_bool (service, "ad-hoc")));
  print_field (_("critical"), yes_no (lookup_bool (service, "critical")));
  print_field (_("layer"), layer);
  print_field (_("port"), port);
  print_field (_("out log"), out_log);
  print_field (_("error log"), error_log);
  if (log_error[0] != '\0')
    print_field (_("log error"), log_error);

  if (config != NULL && g_variant_n_children (config) > 0) {
    GVariantIter iter;
    const char *key, *value;

    g_print ("%s%s%s\n", color ? COLOR_BOLD : "", _("configuration"), color ? COLOR_RESET : "");
    g_variant_iter_init (&iter, config);
    while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
      g_print ("  %-14s %s\n", key, value);
  }
  if (instance_list != NULL && g_variant_n_children (instance_list) > 0) {
    g_autoptr(Table) t = table_new (8);

    g_print ("%s%s%s\n", color ? COLOR_BOLD : "", _("instances"), color ? COLOR_RESET : "");
    add_instance_header (t, FALSE, color);
    for (gsize i = 0; i < g_variant_n_children (instance_list); i++) {
      g_autoptr(GVariant) dict = g_variant_get_child_value (instance_list, i);
      add_instance_row (t, dict, FALSE);
    }
    /* indent the table under its title */
    for (guint i = 0; i < t->cells->len; i += t->n_columns) {
      char *first = t->cells->pdata[i];
      t->cells->pdata[i] = g_strconcat ("  ", first, NULL);
      g_free (first);
    }
    table_print (t, color);
  }
}

void
tend_cli_print_plugins (GVariant *plugins)
{
  gboolean color = tend_cli_use_color ();
  const char *bold = color ? COLOR_BOLD : NULL;
  g_autoptr(Table) t = table_new (4);
  gsize n = g_variant_n_children (plugins);

  if (n == 0) {
    g_print (_("no plugins found\n"));
    return;
  }
  table_add (t, _("name"), bold);
  table_add (t, _("enabled"), bold);
  table_add (t, _("loaded"), bold);
  table_add (t, _("description"), bold);
  for (gsize i = 0; i < n; i++) {
    g_autoptr(GVariant) dict = g_variant_get_child_value (plugins, i);
    gboolean loaded = lookup_bool (dict, "loaded");

    table_take (t, lookup_string (dict, "name"), NULL);
    table_add (t, yes_no (lookup_bool (dict, "enabled")), NULL);
    table_add (t, yes_no (loaded), loaded ? COLOR_GREEN : COLOR_DIM);
    table_take (t, lookup_string (dict, "description"), NULL);
  }
  table_print (t, color);
}

void
tend_cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}
