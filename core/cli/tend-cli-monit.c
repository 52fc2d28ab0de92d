/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend monit: a full-screen view of the services, as pm2 monit. Plain ANSI
 * escape sequences (alternate screen, no curses): the terminal is put in
 * non-canonical mode with termios and given back on every way out (q,
 * SIGINT, SIGTERM, SIGHUP, the daemon going away).
 *
 * States come from the daemon's signals and are drawn at once; figures (CPU,
 * memory, restarts, uptime) from a ListServices every FIGURES_MS, the pace of
 * the health plugin's samples, and from Service1.GetHistory when the daemon
 * has it (sparklines; without it, none are drawn).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "tend-cli.h"

/*
 * How often figures are asked for: the health plugin's sample interval (its
 * ListPlugins status says), within these bounds; figures newer than a sample
 * do not exist. Without the plugin, FIGURES_MS (restarts, uptime).
 */
#define FIGURES_MS 2000
#define FIGURES_MIN_MS 500
#define FIGURES_MAX_MS 10000
/* A burst of state signals (a restart of all) asks for one ListServices, not one each. */
#define SETTLE_MS 150
/* Samples kept for the sparklines; at most this many cells are drawn. */
#define HISTORY_KEEP 60
#define SPARK_WIDTH 12
/* Lines of the selected service's log kept in memory. */
#define LOG_KEEP 500
#define LOG_EVENTS (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)

#define SERVICE1_INTERFACE "org.tend.Service1"
#define SERVICE_PATH_PREFIX "/org/tend/Tend1/service/"

#define ESC_RESET "\033[0m"
#define ESC_REVERSE "\033[7m"
/* the selected row: bold on a dark grey bar, so its state colour and sparklines still read */
#define ESC_SELECTED "\033[1;48;5;238m"
#define ESC_BOLD "\033[1m"
#define ESC_DIM "\033[2m"
#define ESC_RED "\033[31m"
#define ESC_CYAN "\033[36m"

/* One instance, as ListServices and the signals since tell it. */
typedef struct {
  char *name;
  guint index;
  guint instances;
  guint id;
  int pid;
  char *state;
  gint64 start_time;
  guint restarts;
  gboolean figures_known;
  gboolean says_known; /* the daemon said whether (figures-known); else the health plugin's presence tells */
  double cpu;
  guint64 rss;
  char *out_log;
  char *err_log;
} Row;

typedef struct {
  gint64 time;
  gboolean cpu_known;
  double cpu;
  gboolean rss_known;
  guint64 rss;
} Sample;

/* The file of the selected instance's log, followed as tend logs --follow does. */
typedef struct {
  char *path;
  int fd;
  dev_t dev;
  ino_t ino;
  off_t offset;
  GString *partial;
  GPtrArray *lines; /* char *, oldest first, at most LOG_KEEP */
  char *problem;    /* why it is not shown, or NULL */
  int watch;        /* inotify watch of its folder, -1 */
} LogView;

typedef struct {
  TendCli *cli;
  GMainLoop *loop;
  int status;
  GPtrArray *rows;         /* Row * */
  GHashTable *histories;   /* service name → GArray of Sample */
  gboolean history_known;  /* GetHistory answered once */
  gboolean history_absent; /* the daemon has no GetHistory */
  gboolean health_loaded;  /* its health plugin is loaded (asked of daemons without figures-known) */
  guint figures_ms;        /* the health plugin's sample interval, within bounds */
  char *selected_name;     /* the selection follows a service across refreshes */
  guint selected_index;
  guint scroll;
  gboolean show_err;
  char *filter;
  GString *filter_edit; /* non-NULL while typing a filter */
  GVariant *describe;   /* of selected_name, or NULL */
  char *message;        /* the last action's outcome, shown on the bottom line */
  LogView log;
  int inotify_fd;
  int width;
  int height;
  struct termios saved_termios;
  gboolean raw;
  guint redraw_id;
  guint settle_id;
  guint figures_id;
  GCancellable *cancellable;
} Monit;

/* The locale is UTF-8: box rules, bars and arrows; else their ASCII stand-ins. */
static gboolean utf8;

static void
row_free (Row *row)
{
  g_free (row->name);
  g_free (row->state);
  g_free (row->out_log);
  g_free (row->err_log);
  g_free (row);
}

static guint64
lookup_number (GVariant *dict, const char *key)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (dict, key, NULL);

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

static char *
lookup_string (GVariant *dict, const char *key)
{
  char *value = NULL;

  if (!g_variant_lookup (dict, key, "s", &value))
    return g_strdup ("");
  return value;
}

static gboolean
state_is_running (const char *state)
{
  return g_strcmp0 (state, "stopped") != 0 && g_strcmp0 (state, "errored") != 0;
}

static Row *
row_from_dict (GVariant *dict)
{
  Row *row = g_new0 (Row, 1);
  gboolean known;

  row->name = lookup_string (dict, "name");
  row->index = (guint) lookup_number (dict, "index");
  row->instances = (guint) lookup_number (dict, "instances");
  row->id = (guint) lookup_number (dict, "id");
  row->pid = (int) lookup_number (dict, "pid");
  row->state = lookup_string (dict, "state");
  row->start_time = (gint64) lookup_number (dict, "start-time");
  row->restarts = (guint) lookup_number (dict, "restarts");
  row->cpu = 0.0;
  g_variant_lookup (dict, "cpu-percent", "d", &row->cpu);
  row->rss = lookup_number (dict, "memory-rss");
  row->out_log = lookup_string (dict, "out-log");
  row->err_log = lookup_string (dict, "error-log");
  /*
   * A daemon that says whether it measured ("figures-known") is believed; one
   * that does not, as `tend status` does: figures of a running process. A
   * figure missing from the dictionary is not known either.
   */
  row->says_known = g_variant_lookup (dict, "figures-known", "b", &known);
  row->figures_known = row->says_known ? known : state_is_running (row->state);
  {
    g_autoptr (GVariant) cpu = g_variant_lookup_value (dict, "cpu-percent", NULL);
    if (cpu == NULL)
      row->figures_known = FALSE;
  }
  return row;
}

/* --- the terminal ------------------------------------------------------- */

static void
write_all (const char *data, gsize length)
{
  while (length > 0) {
    ssize_t n = write (STDOUT_FILENO, data, length);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    data += n;
    length -= (gsize) n;
  }
}

static void
terminal_size (Monit *m)
{
  struct winsize ws;

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    m->width = ws.ws_col;
    m->height = ws.ws_row;
  } else {
    m->width = 80;
    m->height = 24;
  }
}

static gboolean
terminal_enter (Monit *m, GError **error)
{
  struct termios raw;
  static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";

  if (tcgetattr (STDIN_FILENO, &m->saved_termios) < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), _("cannot read the terminal's settings: %s"),
                 g_strerror (errno));
    return FALSE;
  }
  raw = m->saved_termios;
  /* keys one by one, not echoed; ISIG stays, so ^C is a SIGINT and restores the terminal */
  raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO | IEXTEN);
  raw.c_iflag &= ~(tcflag_t) (IXON | ICRNL);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr (STDIN_FILENO, TCSAFLUSH, &raw) < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), _("cannot set up the terminal: %s"),
                 g_strerror (errno));
    return FALSE;
  }
  m->raw = TRUE;
  write_all (enter, sizeof enter - 1);
  return TRUE;
}

static void
terminal_leave (Monit *m)
{
  static const char leave[] = "\033[0m\033[?25h\033[?1049l";

  if (!m->raw)
    return;
  write_all (leave, sizeof leave - 1);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &m->saved_termios);
  m->raw = FALSE;
}

/* --- drawing ------------------------------------------------------------ */

/* The visible rows: those whose name contains the filter. */
static GPtrArray *
visible_rows (Monit *m)
{
  GPtrArray *visible = g_ptr_array_new ();

  for (guint i = 0; i < m->rows->len; i++) {
    Row *row = g_ptr_array_index (m->rows, i);
    if (m->filter == NULL || m->filter[0] == '\0' || strstr (row->name, m->filter) != NULL)
      g_ptr_array_add (visible, row);
  }
  return visible;
}

static Row *
selected_row (Monit *m)
{
  for (guint i = 0; i < m->rows->len; i++) {
    Row *row = g_ptr_array_index (m->rows, i);
    if (g_strcmp0 (row->name, m->selected_name) == 0 && row->index == m->selected_index)
      return row;
  }
  return NULL;
}

/*
 * A line being drawn: text and escape sequences, and how many cells it
 * takes, so that nothing goes past the right edge (which would scroll).
 */
typedef struct {
  GString *out;
  int used;
  int width;
} Line;

/* Appends @text cut to what is left of the line; control characters are shown as '?'. */
static void
line_text (Line *line, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  for (const char *p = valid; *p != '\0' && line->used < line->width; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);

    if (c == '\t') {
      g_string_append_c (line->out, ' ');
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
      g_string_append_c (line->out, '?');
    } else if (g_unichar_iswide (c) || g_unichar_iszerowidth (c)) {
      /* widths we would have to guess: one safe cell */
      g_string_append_c (line->out, '?');
    } else {
      g_string_append_unichar (line->out, c);
    }
    line->used++;
  }
}

/* @text in a field of @cells cells, left aligned, then one space. */
static void
line_field (Line *line, const char *text, int cells)
{
  int start = line->used;
  int limit = line->width;

  line->width = MIN (limit, start + cells);
  line_text (line, text);
  line->width = limit;
  while (line->used < MIN (limit, start + cells + 1)) {
    g_string_append_c (line->out, ' ');
    line->used++;
  }
}

static void
line_escape (Line *line, gboolean color, const char *sequence)
{
  if (color)
    g_string_append (line->out, sequence);
}

/* Ends a line: the rest of it cleared, the colours reset. */
static void
line_end (Line *line, GString *screen, gboolean last)
{
  g_string_append (screen, line->out->str);
  g_string_append (screen, ESC_RESET "\033[K");
  if (!last)
    g_string_append (screen, "\r\n");
  g_string_truncate (line->out, 0);
  line->used = 0;
}

static char *
sparkline (GArray *samples, gboolean memory, int cells)
{
  static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
  static const char *const ascii_bars[] = { "_", ".", "-", ":", "=", "+", "*", "#" };
  g_autoptr (GString) out = g_string_new (NULL);
  guint first;
  double max = 1.0; /* an idle service draws flat, not noise blown up */

  if (samples == NULL || samples->len == 0)
    return g_strdup ("");
  first = samples->len > (guint) cells ? samples->len - (guint) cells : 0;
  for (guint i = first; i < samples->len; i++) {
    Sample *s = &g_array_index (samples, Sample, i);
    if (memory && s->rss_known)
      max = MAX (max, (double) s->rss);
    else if (!memory && s->cpu_known)
      max = MAX (max, s->cpu);
  }
  for (guint i = first; i < samples->len; i++) {
    Sample *s = &g_array_index (samples, Sample, i);
    gboolean known = memory ? s->rss_known : s->cpu_known;
    double value = memory ? (double) s->rss : s->cpu;
    int level;

    if (!known) {
      g_string_append_c (out, ' ');
      continue;
    }
    level = (int) (value / max * 7.0 + 0.5);
    g_string_append (out, (utf8 ? bars : ascii_bars)[CLAMP (level, 0, 7)]);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
format_instance (const Row *row)
{
  if (row->instances <= 1)
    return g_strdup ("-");
  return g_strdup_printf ("%u/%u", row->index, row->instances);
}

/* The widths of the table's columns, and whether the sparklines fit. */
enum {
  W_ID = 3,
  W_INST = 5,
  W_PID = 8,
  W_UPTIME = 7,
  W_RESTARTS = 4,
  W_STATE = 16,
  W_CPU = 7,
  W_MEM = 9
};

static void
draw_row (Monit *m, Line *line, Row *row, gboolean selected, gboolean color, int name_width, gboolean sparks)
{
  gboolean running = state_is_running (row->state);
  /* a daemon that does not say whether it measured did when its health plugin is loaded */
  gboolean figures = running && row->figures_known && (row->says_known || m->health_loaded);
  g_autofree char *id = g_strdup_printf ("%u", row->id);
  g_autofree char *inst = format_instance (row);
  g_autofree char *pid = row->pid > 0 ? g_strdup_printf ("%d", row->pid) : g_strdup ("-");
  g_autofree char *uptime = row->pid > 0 ? tend_cli_format_uptime (row->start_time) : g_strdup ("-");
  g_autofree char *restarts = g_strdup_printf ("%u", row->restarts);
  g_autofree char *cpu = figures ? g_strdup_printf ("%.1f%%", row->cpu) : g_strdup ("-");
  g_autofree char *mem = figures ? tend_cli_format_memory (row->rss) : g_strdup ("-");
  const char *back = selected ? ESC_SELECTED : "";

  line_escape (line, color, back);
  line_text (line, selected ? (utf8 ? "▶" : ">") : " ");
  line_field (line, id, W_ID);
  line_field (line, row->name, name_width);
  line_field (line, inst, W_INST);
  line_field (line, pid, W_PID);
  line_field (line, uptime, W_UPTIME);
  line_field (line, restarts, W_RESTARTS);
  line_escape (line, color, tend_cli_state_color (row->state));
  line_field (line, row->state, W_STATE);
  if (color) {
    g_string_append (line->out, ESC_RESET);
    g_string_append (line->out, back);
  }
  line_field (line, cpu, W_CPU);
  if (sparks) {
    /* the history is the service's, summed: drawn once, on its first instance */
    GArray *samples = row->index == 0 ? g_hash_table_lookup (m->histories, row->name) : NULL;
    g_autofree char *spark = sparkline (samples, FALSE, SPARK_WIDTH);
    line_escape (line, color, ESC_CYAN);
    line_field (line, spark, SPARK_WIDTH);
    line_escape (line, color, ESC_RESET);
    line_escape (line, color, back);
  }
  line_field (line, mem, W_MEM);
  if (sparks) {
    GArray *samples = row->index == 0 ? g_hash_table_lookup (m->histories, row->name) : NULL;
    g_autofree char *spark = sparkline (samples, TRUE, SPARK_WIDTH);
    line_escape (line, color, ESC_CYAN);
    line_field (line, spark, SPARK_WIDTH);
    line_escape (line, color, ESC_RESET);
    line_escape (line, color, back);
  }
  /* the selection is a whole bar */
  while (selected && line->used < line->width) {
    g_string_append_c (line->out, ' ');
    line->used++;
  }
}

static void
draw_header (Line *line, gboolean color, int name_width, gboolean sparks)
{
  line_escape (line, color, ESC_BOLD);
  line_text (line, " ");
  line_field (line, _("id"), W_ID);
  line_field (line, _("name"), name_width);
  line_field (line, _("inst"), W_INST);
  line_field (line, _("pid"), W_PID);
  line_field (line, _("uptime"), W_UPTIME);
  line_field (line, utf8 ? "↺" : "rst", W_RESTARTS);
  line_field (line, _("state"), W_STATE);
  line_field (line, _("cpu"), W_CPU);
  if (sparks)
    line_field (line, "", SPARK_WIDTH);
  line_field (line, _("memory"), W_MEM);
}

/* A title bar: "── TITLE ───────". */
static void
draw_rule (Line *line, gboolean color, const char *title)
{
  line_escape (line, color, ESC_BOLD);
  line_text (line, utf8 ? "── " : "-- ");
  line_text (line, title);
  line_text (line, " ");
  while (line->used < line->width) {
    g_string_append (line->out, utf8 ? "─" : "-");
    line->used++;
  }
}

static void
draw_detail (Line *line, const char *label, const char *value)
{
  g_autofree char *label_text = g_strdup_printf (" %-13s", label);

  line_text (line, label_text);
  line_text (line, value != NULL && value[0] != '\0' ? value : "-");
}

static void
redraw (Monit *m)
{
  g_autoptr (GString) screen = g_string_new ("\033[H");
  g_autoptr (GPtrArray) visible = visible_rows (m);
  gboolean color = g_getenv ("NO_COLOR") == NULL;
  Line line = { g_string_new (NULL), 0, m->width };
  int name_width = 4;
  int fixed = 1 + W_ID + W_INST + W_PID + W_UPTIME + W_RESTARTS + W_STATE + W_CPU + W_MEM + 9;
  gboolean sparks;
  int table_height, detail_height = 4, log_height, lines_left = m->height;
  int selected_pos = -1;
  Row *selected = selected_row (m);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *clock = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *title = NULL;

  /* below a title, a header, a row and the keys there is nothing to show: say so on one line */
  if (m->height < 4) {
    line_text (&line, _("tend monit: the terminal is too small"));
    line_end (&line, screen, TRUE);
    g_string_free (line.out, TRUE);
    write_all (screen->str, screen->len);
    return;
  }
  for (guint i = 0; i < visible->len; i++) {
    Row *row = g_ptr_array_index (visible, i);
    name_width = MAX (name_width, (int) g_utf8_strlen (row->name, -1));
    if (row == selected)
      selected_pos = (int) i;
  }
  name_width = MIN (name_width, 24);
  sparks = !m->history_absent && m->width >= fixed + name_width + 2 * (SPARK_WIDTH + 1);

  /* title */
  title = g_strdup_printf (" tend monit  %s  %s", m->cli->home, clock);
  line_escape (&line, color, ESC_REVERSE);
  line_text (&line, title);
  while (line.used < line.width) {
    g_string_append_c (line.out, ' ');
    line.used++;
  }
  line_end (&line, screen, FALSE);
  lines_left--;

  /* the table: up to half the screen, scrolled to keep the selection in view */
  draw_header (&line, color, name_width, sparks);
  line_end (&line, screen, FALSE);
  lines_left--;
  table_height = MAX (1, MIN ((int) MAX (visible->len, 1), (m->height - 3) / 2 - 1));
  table_height = MIN (table_height, m->height - 3);
  if (selected_pos >= 0) {
    if ((guint) selected_pos < m->scroll)
      m->scroll = (guint) selected_pos;
    if (selected_pos >= (int) m->scroll + table_height)
      m->scroll = (guint) (selected_pos - table_height + 1);
  }
  if (m->scroll + (guint) table_height > visible->len)
    m->scroll = visible->len > (guint) table_height ? visible->len - (guint) table_height : 0;
  for (int i = 0; i < table_height; i++) {
    guint k = m->scroll + (guint) i;
    if (k < visible->len)
      draw_row (m, &line, g_ptr_array_index (visible, k), (int) k == selected_pos, color, name_width, sparks);
    else if (i == 0)
      line_text (&line, m->rows->len == 0 ? _("  no services yet") : _("  no service matches the filter"));
    line_end (&line, screen, FALSE);
    lines_left--;
  }

  /* the selected service */
  if (selected != NULL && lines_left > detail_height + 3) {
    g_autofree char *status_message = m->describe ? lookup_string (m->describe, "status-message") : NULL;
    g_autofree char *last_exit = m->describe ? lookup_string (m->describe, "last-exit") : NULL;
    g_autofree char *reason = m->describe ? lookup_string (m->describe, "last-restart-reason") : NULL;
    g_autofree char *log_error = m->describe ? lookup_string (m->describe, "log-error") : NULL;
    g_autofree char *rule = selected->instances > 1 ? g_strdup_printf ("%s-%u", selected->name, selected->index)
                                                    : g_strdup (selected->name);

    draw_rule (&line, color, rule);
    line_end (&line, screen, FALSE);
    draw_detail (&line, _("status"), status_message);
    line_end (&line, screen, FALSE);
    draw_detail (&line, _("last exit"), last_exit);
    line_end (&line, screen, FALSE);
    draw_detail (&line, _("last restart"), reason);
    line_end (&line, screen, FALSE);
    {
      g_autofree char *paths = g_strdup_printf ("%s  %s", selected->out_log, selected->err_log);
      draw_detail (&line, _("logs"), paths);
    }
    if (log_error != NULL && log_error[0] != '\0') {
      line_text (&line, "  ");
      line_escape (&line, color, ESC_RED);
      line_text (&line, log_error);
    }
    line_end (&line, screen, FALSE);
    lines_left -= detail_height + 1;

    /* its log */
    {
      draw_rule (&line, color, m->show_err ? _("error log (l: output)") : _("output (l: error log)"));
      line_end (&line, screen, FALSE);
      lines_left--;
    }
    log_height = lines_left - 1;
    if (m->log.problem != NULL && log_height > 0) {
      line_escape (&line, color, ESC_DIM);
      line_text (&line, " ");
      line_text (&line, m->log.problem);
      line_end (&line, screen, FALSE);
      log_height--;
      lines_left--;
    }
    for (int i = 0; i < log_height; i++) {
      int k = (int) m->log.lines->len - log_height + i;
      if (k >= 0)
        line_text (&line, g_ptr_array_index (m->log.lines, k));
      line_end (&line, screen, FALSE);
      lines_left--;
    }
  }
  while (lines_left > 1) {
    line_end (&line, screen, FALSE);
    lines_left--;
  }

  /* the bottom line: the filter being typed, an action's outcome, or the keys */
  if (m->filter_edit != NULL) {
    line_escape (&line, color, ESC_BOLD);
    line_text (&line, "/");
    line_text (&line, m->filter_edit->str);
    line_escape (&line, color, ESC_RESET);
    line_text (&line, _("   (Enter: keep, Esc: clear)"));
  } else {
    if (m->message != NULL) {
      line_escape (&line, color, ESC_BOLD);
      line_text (&line, m->message);
      line_escape (&line, color, ESC_RESET);
      line_text (&line, "   ");
    }
    if (m->filter != NULL && m->filter[0] != '\0') {
      g_autofree char *shown = g_strdup_printf (_("filter: %s   "), m->filter);
      line_text (&line, shown);
    }
    line_escape (&line, color, ESC_DIM);
    line_text (&line, utf8 ? _("↑↓/jk select  r restart  s stop/start  l out/err  / filter  q quit")
                           : _("up/down/jk select  r restart  s stop/start  l out/err  / filter  q quit"));
  }
  line_end (&line, screen, TRUE);
  g_string_free (line.out, TRUE);
  write_all (screen->str, screen->len);
}

static gboolean
redraw_cb (gpointer user_data)
{
  Monit *m = user_data;

  m->redraw_id = 0;
  redraw (m);
  return G_SOURCE_REMOVE;
}

/* Draws once the main loop is idle: a burst of events draws once. */
static void
queue_redraw (Monit *m)
{
  if (m->redraw_id == 0)
    m->redraw_id = g_idle_add (redraw_cb, m);
}

static void set_message (Monit *m, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
set_message (Monit *m, const char *format, ...)
{
  va_list args;

  g_free (m->message);
  va_start (args, format);
  m->message = g_strdup_vprintf (format, args);
  va_end (args);
  queue_redraw (m);
}

/* --- the log of the selected instance ----------------------------------- */

static void
log_add_line (LogView *log, const char *text, gsize length)
{
  g_ptr_array_add (log->lines, g_strndup (text, length));
  if (log->lines->len > LOG_KEEP)
    g_ptr_array_remove_range (log->lines, 0, log->lines->len - LOG_KEEP);
}

static void
log_close (Monit *m)
{
  LogView *log = &m->log;

  if (log->fd >= 0)
    close (log->fd);
  log->fd = -1;
  if (log->watch >= 0 && m->inotify_fd >= 0)
    inotify_rm_watch (m->inotify_fd, log->watch);
  log->watch = -1;
  g_clear_pointer (&log->path, g_free);
  g_clear_pointer (&log->problem, g_free);
  g_string_truncate (log->partial, 0);
  g_ptr_array_set_size (log->lines, 0);
  log->offset = 0;
}

/* As tend logs: never through a symbolic link, only a regular file. */
static int
log_open (LogView *log, struct stat *st)
{
  int fd = open (log->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);

  g_clear_pointer (&log->problem, g_free);
  if (fd < 0) {
    if (errno == ELOOP)
      log->problem = g_strdup_printf (_("not showing %s: it is a symbolic link"), log->path);
    else if (errno == ENOENT)
      log->problem = g_strdup_printf (_("%s: nothing written yet"), log->path);
    else
      log->problem = g_strdup_printf (_("not showing %s: %s"), log->path, g_strerror (errno));
    return -1;
  }
  if (fstat (fd, st) < 0 || !S_ISREG (st->st_mode)) {
    log->problem = g_strdup_printf (_("not showing %s: it is not a regular file"), log->path);
    close (fd);
    return -1;
  }
  return fd;
}

/* Reads what was appended since; follows a rotation (new inode) and a flush (a shorter file). */
static void
log_follow (Monit *m)
{
  LogView *log = &m->log;
  struct stat st;
  char buf[65536];
  ssize_t n;

  if (log->path == NULL)
    return;
  if (log->fd >= 0 && g_lstat (log->path, &st) == 0 && (st.st_dev != log->dev || st.st_ino != log->ino)) {
    close (log->fd);
    log->fd = -1;
    log->offset = 0;
  }
  if (log->fd < 0) {
    log->fd = log_open (log, &st);
    if (log->fd < 0)
      return;
    log->dev = st.st_dev;
    log->ino = st.st_ino;
    /* a file just opened: its end is enough to fill the screen */
    log->offset = MAX ((off_t) 0, st.st_size - (off_t) sizeof buf);
  }
  if (fstat (log->fd, &st) == 0 && st.st_size < log->offset) {
    log->offset = 0;
    g_string_truncate (log->partial, 0);
    g_ptr_array_set_size (log->lines, 0);
  }
  while ((n = pread (log->fd, buf, sizeof buf, log->offset)) > 0) {
    const char *p = buf;
    const char *end = buf + n;

    log->offset += n;
    while (p < end) {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      if (nl == NULL) {
        g_string_append_len (log->partial, p, end - p);
        break;
      }
      g_string_append_len (log->partial, p, nl - p);
      log_add_line (log, log->partial->str, log->partial->len);
      g_string_truncate (log->partial, 0);
      p = nl + 1;
    }
  }
  queue_redraw (m);
}

/* Shows the log the selection and `l` ask for, when it is another file than the one shown. */
static void
log_select (Monit *m)
{
  Row *row = selected_row (m);
  const char *path = row == NULL ? NULL : m->show_err ? row->err_log : row->out_log;

  if (path == NULL || path[0] == '\0') {
    log_close (m);
    return;
  }
  if (g_strcmp0 (path, m->log.path) == 0)
    return;
  log_close (m);
  m->log.path = g_strdup (path);
  if (m->inotify_fd >= 0) {
    g_autofree char *folder = g_path_get_dirname (path);
    m->log.watch = inotify_add_watch (m->inotify_fd, folder, LOG_EVENTS | IN_ONLYDIR);
  }
  /* the beginning of a first read may be the end of a line cut by the block boundary: dropped */
  log_follow (m);
  if (m->log.lines->len > 0 && m->log.offset > (off_t) 65536)
    g_ptr_array_remove_index (m->log.lines, 0);
}

static gboolean
inotify_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Monit *m = user_data;
  char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));

  while (read (fd, buf, sizeof buf) > 0)
    ;
  log_follow (m);
  return G_SOURCE_CONTINUE;
}

/* --- the daemon --------------------------------------------------------- */

static void
describe_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Monit *m = user_data;
  g_autoptr (GVariant) service = NULL;
  g_autoptr (GError) error = NULL;

  if (!tend_dbus_manager1_call_describe_finish (TEND_DBUS_MANAGER1 (source), &service, result, &error)) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      g_debug ("describe: %s", error->message);
    return;
  }
  /* an answer for a service that is no longer the selected one is of no use */
  {
    g_autofree char *name = lookup_string (service, "name");
    if (g_strcmp0 (name, m->selected_name) != 0)
      return;
  }
  g_clear_pointer (&m->describe, g_variant_unref);
  m->describe = g_steal_pointer (&service);
  queue_redraw (m);
}

static void
ask_describe (Monit *m)
{
  if (m->selected_name == NULL)
    return;
  tend_dbus_manager1_call_describe (m->cli->manager, m->selected_name, G_DBUS_CALL_FLAGS_NONE, -1, m->cancellable,
                                    describe_cb, m);
}

/* Keeps the selection on a row that exists and is visible. */
static void
fix_selection (Monit *m)
{
  g_autoptr (GPtrArray) visible = visible_rows (m);
  Row *row = selected_row (m);
  gboolean changed;

  if (row != NULL && g_ptr_array_find (visible, row, NULL))
    return;
  changed = TRUE;
  if (row == NULL && m->selected_name != NULL) {
    /* the same service with fewer instances: its first */
    for (guint i = 0; i < visible->len && changed; i++) {
      Row *other = g_ptr_array_index (visible, i);
      if (g_str_equal (other->name, m->selected_name)) {
        m->selected_index = other->index;
        changed = FALSE;
      }
    }
  }
  if (changed) {
    Row *first = visible->len > 0 ? g_ptr_array_index (visible, 0) : NULL;
    g_free (m->selected_name);
    m->selected_name = first != NULL ? g_strdup (first->name) : NULL;
    m->selected_index = first != NULL ? first->index : 0;
    g_clear_pointer (&m->describe, g_variant_unref);
    ask_describe (m);
  }
  log_select (m);
}

static void
take_list (Monit *m, GVariant *list)
{
  g_ptr_array_set_size (m->rows, 0);
  for (gsize i = 0; i < g_variant_n_children (list); i++) {
    g_autoptr (GVariant) dict = g_variant_get_child_value (list, i);
    g_ptr_array_add (m->rows, row_from_dict (dict));
  }
  fix_selection (m);
  queue_redraw (m);
}

/* The reply of GetHistory for one service. */
typedef struct {
  Monit *m;
  char *name;
} HistoryCall;

static void
history_call_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  HistoryCall *call = user_data;
  Monit *m = call->m;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  GArray *history;
  GVariantIter iter;
  GVariant *dict;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);
      /* a daemon without history: no sparklines, and no more asking */
      if (!m->history_known && (g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0 ||
                                g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownInterface") == 0)) {
        m->history_absent = TRUE;
        queue_redraw (m);
      }
      g_debug ("history of %s: %s", call->name, error->message);
    }
    goto out;
  }
  m->history_known = TRUE;
  history = g_hash_table_lookup (m->histories, call->name);
  if (history == NULL) {
    history = g_array_new (FALSE, TRUE, sizeof (Sample));
    g_hash_table_insert (m->histories, g_strdup (call->name), history);
  }
  {
    g_autoptr (GVariant) samples = g_variant_get_child_value (reply, 0);
    g_variant_iter_init (&iter, samples);
  }
  while ((dict = g_variant_iter_next_value (&iter)) != NULL) {
    Sample s = { 0 };
    g_variant_lookup (dict, "time", "x", &s.time);
    s.cpu_known = g_variant_lookup (dict, "cpu-percent", "d", &s.cpu);
    s.rss_known = g_variant_lookup (dict, "memory-rss", "t", &s.rss);
    /* only what is newer than what we hold: the since of the request is inclusive or not, either way */
    if (history->len == 0 || s.time > g_array_index (history, Sample, history->len - 1).time)
      g_array_append_val (history, s);
    g_variant_unref (dict);
  }
  if (history->len > HISTORY_KEEP)
    g_array_remove_range (history, 0, history->len - HISTORY_KEEP);
  queue_redraw (m);
out:
  g_free (call->name);
  g_free (call);
}

static void
ask_histories (Monit *m)
{
  g_autoptr (GHashTable) asked = NULL;

  if (m->history_absent)
    return;
  asked = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < m->rows->len; i++) {
    Row *row = g_ptr_array_index (m->rows, i);
    GArray *history = g_hash_table_lookup (m->histories, row->name);
    gint64 since = history != NULL && history->len > 0
                       ? g_array_index (history, Sample, history->len - 1).time + 1
                       : g_get_real_time () - (gint64) HISTORY_KEEP * m->figures_ms * 1000;
    g_autofree char *escaped = NULL;
    g_autofree char *path = NULL;
    HistoryCall *call;

    if (!g_hash_table_add (asked, row->name))
      continue;
    escaped = g_dbus_escape_object_path (row->name);
    path = g_strconcat (SERVICE_PATH_PREFIX, escaped, NULL);
    call = g_new0 (HistoryCall, 1);
    call->m = m;
    call->name = g_strdup (row->name);
    g_dbus_connection_call (m->cli->connection, NULL, path, SERVICE1_INTERFACE, "GetHistory",
                            g_variant_new ("(x)", since), G_VARIANT_TYPE ("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, -1,
                            m->cancellable, history_call_cb, call);
  }
}

static void
list_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Monit *m = user_data;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GError) error = NULL;

  if (!tend_dbus_manager1_call_list_services_finish (TEND_DBUS_MANAGER1 (source), &list, result, &error)) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      set_message (m, _("cannot list the services: %s"), error->message);
    return;
  }
  take_list (m, list);
}

static void
ask_list (Monit *m)
{
  tend_dbus_manager1_call_list_services (m->cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, m->cancellable, list_cb, m);
}

static gboolean
settle_cb (gpointer user_data)
{
  Monit *m = user_data;

  m->settle_id = 0;
  ask_list (m);
  ask_describe (m);
  return G_SOURCE_REMOVE;
}

/* After a state change, the figures a signal does not carry (restarts, new instances), once. */
static void
queue_settle (Monit *m)
{
  if (m->settle_id == 0)
    m->settle_id = g_timeout_add (SETTLE_MS, settle_cb, m);
}

static gboolean figures_cb (gpointer user_data);

/* Figures are asked for as often as the health plugin measures them. */
static void
set_figures_interval (Monit *m, guint ms)
{
  if (ms == m->figures_ms && m->figures_id != 0)
    return;
  m->figures_ms = ms;
  g_clear_handle_id (&m->figures_id, g_source_remove);
  m->figures_id = g_timeout_add (ms, figures_cb, m);
}

static void
plugins_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Monit *m = user_data;
  g_autoptr (GVariant) plugins = NULL;
  g_autoptr (GError) error = NULL;
  gboolean loaded = FALSE;

  if (!tend_dbus_manager1_call_list_plugins_finish (TEND_DBUS_MANAGER1 (source), &plugins, result, &error))
    return;
  for (gsize i = 0; i < g_variant_n_children (plugins); i++) {
    g_autoptr (GVariant) dict = g_variant_get_child_value (plugins, i);
    const char *name = NULL;
    gboolean plugin_loaded = FALSE;

    g_variant_lookup (dict, "name", "&s", &name);
    g_variant_lookup (dict, "loaded", "b", &plugin_loaded);
    if (g_strcmp0 (name, "health") == 0) {
      g_autoptr (GVariant) status = g_variant_lookup_value (dict, "status", G_VARIANT_TYPE_VARDICT);
      guint64 interval_ms = 0;

      loaded = plugin_loaded;
      if (status != NULL && g_variant_lookup (status, "sample-interval-ms", "t", &interval_ms))
        set_figures_interval (m, (guint) CLAMP (interval_ms, FIGURES_MIN_MS, FIGURES_MAX_MS));
    }
  }
  if (loaded != m->health_loaded) {
    m->health_loaded = loaded;
    queue_redraw (m);
  }
}

/*
 * A daemon that does not say whether it measured the figures (no
 * "figures-known") measured them when its health plugin is loaded; it may
 * be enabled or disabled by a reload, hence asked at each look.
 */
static void
ask_plugins (Monit *m, gboolean always)
{
  for (guint i = 0; i < m->rows->len && !always; i++) {
    if (((Row *) g_ptr_array_index (m->rows, i))->says_known)
      return;
  }
  tend_dbus_manager1_call_list_plugins (m->cli->manager, G_DBUS_CALL_FLAGS_NONE, -1, m->cancellable, plugins_cb, m);
}

static gboolean
figures_cb (gpointer user_data)
{
  Monit *m = user_data;

  ask_plugins (m, FALSE);
  ask_list (m);
  ask_histories (m);
  /* also a safety net for a log folder that could not be watched */
  log_follow (m);
  return G_SOURCE_CONTINUE;
}

static void
service_state_changed_cb (TendDbusManager1 *manager, const char *name, const char *state, gpointer user_data)
{
  Monit *m = user_data;
  gboolean known = FALSE;

  for (guint i = 0; i < m->rows->len && !known; i++)
    known = g_str_equal (((Row *) g_ptr_array_index (m->rows, i))->name, name);
  /* a service we have not seen: its rows come with the list */
  if (!known)
    queue_settle (m);
}

static void
instance_state_changed_cb (TendDbusManager1 *manager,
                           const char *name,
                           guint index,
                           const char *old_state,
                           const char *new_state,
                           int pid,
                           const char *reason,
                           gint64 time,
                           gpointer user_data)
{
  Monit *m = user_data;
  gboolean found = FALSE;

  for (guint i = 0; i < m->rows->len; i++) {
    Row *row = g_ptr_array_index (m->rows, i);
    if (!g_str_equal (row->name, name) || row->index != index)
      continue;
    found = TRUE;
    g_free (row->state);
    row->state = g_strdup (new_state);
    if (pid != row->pid)
      row->start_time = pid > 0 ? time : 0;
    row->pid = pid;
    if (!state_is_running (new_state))
      row->figures_known = FALSE;
  }
  if (!found || g_strcmp0 (name, m->selected_name) == 0 || !state_is_running (new_state) ||
      g_str_equal (new_state, "launching"))
    queue_settle (m);
  queue_redraw (m);
}

static void
service_removed_cb (TendDbusManager1 *manager, const char *name, gpointer user_data)
{
  Monit *m = user_data;

  for (guint i = m->rows->len; i > 0; i--) {
    if (g_str_equal (((Row *) g_ptr_array_index (m->rows, i - 1))->name, name))
      g_ptr_array_remove_index (m->rows, i - 1);
  }
  g_hash_table_remove (m->histories, name);
  fix_selection (m);
  queue_redraw (m);
}

static void
connection_closed_cb (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error, gpointer user_data)
{
  Monit *m = user_data;

  m->status = TEND_CLI_EXIT_UNREACHABLE;
  g_main_loop_quit (m->loop);
}

/* --- keys --------------------------------------------------------------- */

static void
action_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Monit *m = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_dbus_error_strip_remote_error (error);
    set_message (m, "%s", error->message);
  }
}

/* @doing: what the bottom line says meanwhile */
static void
act (Monit *m, const char *method, char *doing)
{
  g_free (m->message);
  m->message = doing;
  queue_redraw (m);
  g_dbus_proxy_call (G_DBUS_PROXY (m->cli->manager), method, g_variant_new ("(s)", m->selected_name),
                     G_DBUS_CALL_FLAGS_NONE, -1, m->cancellable, action_cb, m);
}

static void
move_selection (Monit *m, int delta)
{
  g_autoptr (GPtrArray) visible = visible_rows (m);
  Row *row = selected_row (m);
  guint pos = 0;
  Row *next;

  if (visible->len == 0)
    return;
  if (row != NULL)
    g_ptr_array_find (visible, row, &pos);
  pos = (guint) CLAMP ((int) pos + delta, 0, (int) visible->len - 1);
  next = g_ptr_array_index (visible, pos);
  if (g_strcmp0 (next->name, m->selected_name) != 0) {
    g_free (m->selected_name);
    m->selected_name = g_strdup (next->name);
    g_clear_pointer (&m->describe, g_variant_unref);
    ask_describe (m);
  }
  m->selected_index = next->index;
  log_select (m);
  queue_redraw (m);
}

static void
key_filter (Monit *m, int key)
{
  if (key == '\r' || key == '\n') {
    g_free (m->filter);
    m->filter = g_string_free (g_steal_pointer (&m->filter_edit), FALSE);
  } else if (key == 27) {
    g_clear_pointer (&m->filter, g_free);
    g_string_free (g_steal_pointer (&m->filter_edit), TRUE);
  } else if (key == 127 || key == 8) {
    if (m->filter_edit->len > 0) {
      /* one character back, which may be several bytes */
      const char *last = g_utf8_find_prev_char (m->filter_edit->str, m->filter_edit->str + m->filter_edit->len);
      g_string_truncate (m->filter_edit, last != NULL ? (gsize) (last - m->filter_edit->str) : 0);
    }
  } else if (key >= 0x20 && key != 0x7f) {
    g_string_append_c (m->filter_edit, (char) key);
  }
  /* the list narrows as one types */
  if (m->filter_edit != NULL) {
    g_free (m->filter);
    m->filter = g_strdup (m->filter_edit->str);
  }
  fix_selection (m);
  queue_redraw (m);
}

enum {
  KEY_UP = 0x1000,
  KEY_DOWN,
  KEY_PAGE_UP,
  KEY_PAGE_DOWN,
  KEY_HOME,
  KEY_END
};

static void
key (Monit *m, int k)
{
  Row *row;

  if (m->filter_edit != NULL) {
    if (k == KEY_UP || k == KEY_DOWN)
      move_selection (m, k == KEY_UP ? -1 : 1);
    else if (k < 0x1000)
      key_filter (m, k);
    return;
  }
  g_clear_pointer (&m->message, g_free);
  switch (k) {
  case 'q':
  case 'Q':
  case 3: /* ^C, when it is not a signal */
    g_main_loop_quit (m->loop);
    return;
  case 'j':
  case KEY_DOWN:
    move_selection (m, 1);
    return;
  case 'k':
  case KEY_UP:
    move_selection (m, -1);
    return;
  case KEY_PAGE_DOWN:
    move_selection (m, 10);
    return;
  case KEY_PAGE_UP:
    move_selection (m, -10);
    return;
  case 'g':
  case KEY_HOME:
    move_selection (m, -100000);
    return;
  case 'G':
  case KEY_END:
    move_selection (m, 100000);
    return;
  case 'r':
    row = selected_row (m);
    if (row != NULL)
      act (m, "Restart", g_strdup_printf (_("restarting %s…"), row->name));
    return;
  case 's':
    row = selected_row (m);
    if (row == NULL)
      return;
    if (state_is_running (row->state))
      act (m, "Stop", g_strdup_printf (_("stopping %s…"), row->name));
    else
      act (m, "Start", g_strdup_printf (_("starting %s…"), row->name));
    return;
  case 'l':
    m->show_err = !m->show_err;
    log_select (m);
    queue_redraw (m);
    return;
  case '/':
    m->filter_edit = g_string_new (m->filter != NULL ? m->filter : "");
    queue_redraw (m);
    return;
  case 27:
    g_clear_pointer (&m->filter, g_free);
    fix_selection (m);
    queue_redraw (m);
    return;
  case 12: /* ^L: draw everything again */
    write_all ("\033[2J", 4);
    queue_redraw (m);
    return;
  default:
    queue_redraw (m);
    return;
  }
}

/* Splits what was read into keys: bytes, and the escape sequences of the arrows and page keys. */
static void
keys (Monit *m, const unsigned char *buf, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    if (buf[i] == 27 && i + 2 < n && (buf[i + 1] == '[' || buf[i + 1] == 'O')) {
      gsize j = i + 2;
      /* a CSI sequence ends with a byte in @..~ */
      while (j < n && (buf[j] < 0x40 || buf[j] > 0x7e))
        j++;
      if (j >= n)
        return;
      switch (buf[j]) {
      case 'A':
        key (m, KEY_UP);
        break;
      case 'B':
        key (m, KEY_DOWN);
        break;
      case 'H':
        key (m, KEY_HOME);
        break;
      case 'F':
        key (m, KEY_END);
        break;
      case '~':
        if (j == i + 3 && buf[i + 2] == '5')
          key (m, KEY_PAGE_UP);
        else if (j == i + 3 && buf[i + 2] == '6')
          key (m, KEY_PAGE_DOWN);
        break;
      default:
        break;
      }
      i = j;
      continue;
    }
    key (m, buf[i]);
  }
}

static gboolean
stdin_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Monit *m = user_data;
  unsigned char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n > 0)
    keys (m, buf, (gsize) n);
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    /* the terminal is gone */
    if (condition & (G_IO_HUP | G_IO_ERR)) {
      g_main_loop_quit (m->loop);
      return G_SOURCE_REMOVE;
    }
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_signal_cb (gpointer user_data)
{
  Monit *m = user_data;

  g_main_loop_quit (m->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
resize_cb (gpointer user_data)
{
  Monit *m = user_data;

  terminal_size (m);
  /* everything again: the old picture's wrapped lines are meaningless */
  write_all ("\033[2J", 4);
  queue_redraw (m);
  return G_SOURCE_CONTINUE;
}

/* --- the command -------------------------------------------------------- */

static int
snapshot (TendCli *cli)
{
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GError) error = NULL;

  list = tend_cli_list_services (cli, &error);
  if (list == NULL)
    return tend_cli_report_error (error);
  tend_cli_print_status (list);
  return TEND_CLI_EXIT_OK;
}

int
tend_cli_cmd_monit (TendCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) positional = NULL;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GError) error = NULL;
  Monit m = { 0 };
  guint sources[5] = { 0 };
  gulong handlers[4] = { 0 };
  int status;

  status = tend_cli_parse_options (
      "monit", "",
      _("a live full-screen view of the services, their figures and the selected one's log; on a terminal that is "
         "not one, the status table once"),
      NULL, NULL, argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 0)
    return tend_cli_usage_error (_("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 0));
  status = tend_cli_connect (cli, TRUE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  /* a pipe, a file, a cron job: the table, once */
  if (!isatty (STDOUT_FILENO) || !isatty (STDIN_FILENO))
    return snapshot (cli);

  m.cli = cli;
  utf8 = g_get_charset (NULL);
  m.status = TEND_CLI_EXIT_OK;
  m.figures_ms = FIGURES_MS;
  m.loop = g_main_loop_new (NULL, FALSE);
  m.rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  m.histories = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  m.cancellable = g_cancellable_new ();
  m.log.fd = -1;
  m.log.watch = -1;
  m.log.partial = g_string_new (NULL);
  m.log.lines = g_ptr_array_new_with_free_func (g_free);
  m.inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);

  /* subscribed before the first list: no change can fall between the two */
  handlers[0] = g_signal_connect (cli->manager, "service-state-changed", G_CALLBACK (service_state_changed_cb), &m);
  handlers[1] = g_signal_connect (cli->manager, "instance-state-changed", G_CALLBACK (instance_state_changed_cb), &m);
  handlers[2] = g_signal_connect (cli->manager, "service-removed", G_CALLBACK (service_removed_cb), &m);
  handlers[3] = g_signal_connect (cli->connection, "closed", G_CALLBACK (connection_closed_cb), &m);
  list = tend_cli_list_services (cli, &error);
  if (list == NULL) {
    status = tend_cli_report_error (error);
    goto out;
  }
  if (!terminal_enter (&m, &error)) {
    status = tend_cli_fail ("%s", error->message);
    goto out;
  }
  terminal_size (&m);
  take_list (&m, list);
  ask_plugins (&m, TRUE);
  ask_histories (&m);

  sources[0] = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, stdin_cb, &m);
  sources[1] = g_unix_signal_add (SIGINT, quit_signal_cb, &m);
  sources[2] = g_unix_signal_add (SIGTERM, quit_signal_cb, &m);
  sources[3] = g_unix_signal_add (SIGHUP, quit_signal_cb, &m);
  sources[4] = g_unix_signal_add (SIGWINCH, resize_cb, &m);
  set_figures_interval (&m, FIGURES_MS);
  if (m.inotify_fd >= 0)
    g_unix_fd_add (m.inotify_fd, G_IO_IN, inotify_cb, &m);
  redraw (&m);

  g_main_loop_run (m.loop);
  terminal_leave (&m);
  status = m.status;
  if (status == TEND_CLI_EXIT_UNREACHABLE)
    g_printerr ("%s\n", _("tend: the daemon went away"));

out:
  g_cancellable_cancel (m.cancellable);
  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++) {
    if (handlers[i] != 0)
      g_signal_handler_disconnect (i < 3 ? (gpointer) cli->manager : (gpointer) cli->connection, handlers[i]);
  }
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++) {
    if (sources[i] != 0)
      g_source_remove (sources[i]);
  }
  g_clear_handle_id (&m.redraw_id, g_source_remove);
  g_clear_handle_id (&m.settle_id, g_source_remove);
  g_clear_handle_id (&m.figures_id, g_source_remove);
  log_close (&m);
  if (m.inotify_fd >= 0) {
    /* the fd's source (and any other left) is found by its data and removed before the fd closes */
    while (g_source_remove_by_user_data (&m))
      ;
    close (m.inotify_fd);
  }
  g_ptr_array_unref (m.log.lines);
  g_string_free (m.log.partial, TRUE);
  g_ptr_array_unref (m.rows);
  g_hash_table_unref (m.histories);
  g_clear_pointer (&m.describe, g_variant_unref);
  g_free (m.selected_name);
  g_free (m.filter);
  if (m.filter_edit != NULL)
    g_string_free (m.filter_edit, TRUE);
  g_free (m.message);
  g_object_unref (m.cancellable);
  g_main_loop_unref (m.loop);
  return status;
}
