/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tend logs and tend flush. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-cli.h"

#define DEFAULT_LINES 15
/*
 * Following wakes on inotify events of the folders of the followed files
 * (appends, a flush's truncation, a rotation's rename and new file). At this
 * pace it also asks the daemon for services added meanwhile, and looks at
 * every file anyway: a safety net for a folder it could not watch.
 */
#define FOLLOW_REFRESH_MS 2000
#define FOLLOW_EVENTS (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)

/* One log file followed: who writes it and where we are in it. */
typedef struct {
  char *label; /* "web" or "web-1", with "[err]" for the error stream */
  char *path;
  gboolean is_err;
  int fd;
  dev_t dev;
  ino_t ino;
  off_t offset;
  off_t stamp_from; /* lines that end before this were in the file when we first looked: not stamped */
  GString *partial;
  gboolean warned; /* the file was refused, and we said so */
} LogSource;

typedef struct {
  gboolean follow;
  gboolean only_err;
  gboolean only_out;
  gboolean timestamps;
  gboolean color;
  guint lines;
} LogOptions;

static void
log_source_free (LogSource *source)
{
  if (source->fd >= 0)
    close (source->fd);
  g_free (source->label);
  g_free (source->path);
  g_string_free (source->partial, TRUE);
  g_free (source);
}

static LogSource *
log_source_new (const char *label, const char *path, gboolean is_err)
{
  LogSource *source = g_new0 (LogSource, 1);

  source->label = g_strdup (label);
  source->path = g_strdup (path);
  source->is_err = is_err;
  source->fd = -1;
  source->partial = g_string_new (NULL);
  return source;
}

/*
 * Prints one line. --timestamps stamps only lines that arrive while
 * following (@arrived), with the time we read them: a line that was already
 * in the file has no known time (unless log-date-format wrote one into it),
 * and the time of display would be a lie.
 */
static void
print_line (const LogOptions *options, const LogSource *source, const char *line, gsize length, gboolean arrived)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (options->timestamps && arrived) {
    g_autoptr(GDateTime) now = g_date_time_new_now_local ();
    g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");
    g_string_append_printf (out, "%s ", stamp);
  }
  /* green names for stdout, red for stderr, as pm2 logs does */
  if (options->color)
    g_string_append_printf (out, "\033[%sm%s |\033[0m ", source->is_err ? "31" : "32", source->label);
  else
    g_string_append_printf (out, "%s | ", source->label);
  g_string_append_len (out, line, (gssize) length);
  g_string_append_c (out, '\n');
  fwrite (out->str, 1, out->len, stdout);
}

/*
 * Opens a log file for reading: never through a symbolic link at its end,
 * and only a regular file (O_NONBLOCK so a FIFO put in its place cannot hang
 * us; reads of a regular file ignore it). -1 when it is missing (errno
 * ENOENT) or refused (said once on stderr).
 */
static int
open_log (LogSource *source, struct stat *st)
{
  int fd = open (source->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
  const char *why = NULL;

  if (fd < 0 && errno == ELOOP)
    why = _("it is a symbolic link");
  else if (fd < 0 && errno != ENOENT)
    why = g_strerror (errno);
  else if (fd >= 0 && fstat (fd, st) < 0)
    why = g_strerror (errno);
  else if (fd >= 0 && !S_ISREG (st->st_mode))
    why = _("it is not a regular file");
  if (why == NULL)
    return fd;
  if (fd >= 0)
    close (fd);
  if (!source->warned)
    g_printerr (_("tend: not showing %s: %s\n"), source->path, why);
  source->warned = TRUE;
  errno = EPERM;
  return -1;
}

/* The last @n lines of @source's file, read backwards in blocks so a huge log costs little. */
static GPtrArray *
tail_lines (LogSource *source, guint n, off_t *out_size)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) collected = g_string_new (NULL);
  char block[8192];
  struct stat st;
  off_t pos;
  guint newlines = 0;
  int fd = open_log (source, &st);

  *out_size = 0;
  if (fd < 0)
    return lines;
  *out_size = st.st_size;
  pos = st.st_size;
  while (pos > 0 && newlines <= n) {
    size_t chunk = (size_t) MIN ((off_t) sizeof block, pos);
    ssize_t got;
    pos -= (off_t) chunk;
    got = pread (fd, block, chunk, pos);
    if (got <= 0)
      break;
    for (ssize_t i = 0; i < got; i++)
      newlines += block[i] == '\n';
    g_string_prepend_len (collected, block, got);
  }
  close (fd);
  {
    g_auto(GStrv) split = g_strsplit (collected->str, "\n", -1);
    guint total = g_strv_length (split);
    /* a final newline leaves an empty last piece: it is no line */
    if (total > 0 && split[total - 1][0] == '\0')
      total--;
    /* the first piece may be the end of a line cut by the block boundary */
    for (guint i = total > n ? total - n : (pos > 0 ? 1 : 0); i < total; i++)
      g_ptr_array_add (lines, g_strdup (split[i]));
  }
  return lines;
}

static gboolean
wanted_stream (const LogOptions *options, gboolean is_err)
{
  if (options->only_err)
    return is_err;
  if (options->only_out)
    return !is_err;
  return TRUE;
}

static void
add_source (GPtrArray *sources, GHashTable *seen, const LogOptions *options, const char *label, const char *path,
            gboolean is_err)
{
  /* merged instances share one file: show it once */
  if (path == NULL || path[0] == '\0' || !wanted_stream (options, is_err) || !g_hash_table_add (seen, g_strdup (path)))
    return;
  g_ptr_array_add (sources, log_source_new (label, path, is_err));
}

/* The files of @name (NULL: every service), from the daemon. */
static GPtrArray *
sources_from_daemon (TendCli *cli, const char *name, const LogOptions *options, GError **error)
{
  g_autoptr(GVariant) rows = tend_cli_list_services (cli, error);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *sources = g_ptr_array_new_with_free_func ((GDestroyNotify) log_source_free);
  gboolean found = FALSE;
  GVariantIter iter;

  if (rows == NULL) {
    g_ptr_array_unref (sources);
    return NULL;
  }
  g_variant_iter_init (&iter, rows);
  for (;;) {
    g_autoptr(GVariant) row = g_variant_iter_next_value (&iter);
    const char *service = "", *out_log = NULL, *err_log = NULL;
    guint32 index = 0, instances = 1;
    g_autofree char *label = NULL;
    g_autofree char *err_label = NULL;

    if (row == NULL)
      break;
    g_variant_lookup (row, "name", "&s", &service);
    if (name != NULL && g_strcmp0 (name, "all") != 0 && g_strcmp0 (name, service) != 0)
      continue;
    found = TRUE;
    g_variant_lookup (row, "index", "u", &index);
    g_variant_lookup (row, "instances", "u", &instances);
    g_variant_lookup (row, "out-log", "&s", &out_log);
    g_variant_lookup (row, "error-log", "&s", &err_log);
    label = instances > 1 ? g_strdup_printf ("%s-%u", service, index) : g_strdup (service);
    err_label = g_strdup_printf ("%s[err]", label);
    add_source (sources, seen, options, label, out_log, FALSE);
    add_source (sources, seen, options, err_label, err_log, TRUE);
  }
  if (name != NULL && g_strcmp0 (name, "all") != 0 && !found) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no service named %s"), name);
    g_ptr_array_unref (sources);
    return NULL;
  }
  return sources;
}

/* Without a daemon, the default log folder still tells what there is. */
static GPtrArray *
sources_from_folder (TendCli *cli, const char *name, const LogOptions *options)
{
  g_autofree char *folder = g_build_filename (cli->home, "logs", NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *sources = g_ptr_array_new_with_free_func ((GDestroyNotify) log_source_free);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL) {
    /* current files only: rotated ones have "__" before their time stamp */
    if (g_str_has_suffix (entry, ".log") && strstr (entry, "__") == NULL)
      g_ptr_array_add (names, g_strdup (entry));
  }
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++) {
    const char *file = g_ptr_array_index (names, i);
    gboolean is_err = strstr (file, "-error") != NULL;
    const char *cut = strstr (file, is_err ? "-error" : "-out");
    g_autofree char *service = cut != NULL ? g_strndup (file, (gsize) (cut - file)) : NULL;
    g_autofree char *path = g_build_filename (folder, file, NULL);
    g_autofree char *label = NULL;

    if (service == NULL || (name != NULL && g_strcmp0 (name, "all") != 0 && g_strcmp0 (name, service) != 0))
      continue;
    label = is_err ? g_strdup_printf ("%s[err]", service) : g_strdup (service);
    add_source (sources, seen, options, label, path, is_err);
  }
  return sources;
}

static void
print_tails (GPtrArray *sources, const LogOptions *options)
{
  for (guint i = 0; i < sources->len; i++) {
    LogSource *source = g_ptr_array_index (sources, i);
    g_autoptr(GPtrArray) lines = tail_lines (source, options->lines, &source->offset);
    for (guint j = 0; j < lines->len; j++) {
      const char *line = g_ptr_array_index (lines, j);
      print_line (options, source, line, strlen (line), FALSE);
    }
  }
  fflush (stdout);
}

static void
drain (LogSource *source, const LogOptions *options)
{
  char buf[65536];
  ssize_t n;

  while ((n = pread (source->fd, buf, sizeof buf, source->offset)) > 0) {
    const char *p = buf;
    const char *end = buf + n;
    off_t base = source->offset;
    source->offset += n;
    while (p < end) {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      if (nl == NULL) {
        g_string_append_len (source->partial, p, end - p);
        break;
      }
      g_string_append_len (source->partial, p, nl - p);
      print_line (options, source, source->partial->str, source->partial->len,
                  base + (nl - buf) >= source->stamp_from);
      g_string_truncate (source->partial, 0);
      p = nl + 1;
    }
  }
}

/* Reads what was appended; follows a rotation (new inode) and a flush (shorter file). */
static void
follow_once (LogSource *source, const LogOptions *options)
{
  struct stat st;
  /* lstat: a link put in the file's place is a change of file too (and then refused) */
  gboolean exists = g_lstat (source->path, &st) == 0;

  if (source->fd >= 0 && exists && (st.st_dev != source->dev || st.st_ino != source->ino)) {
    /* rotated: finish the old file, then the new one from its start */
    drain (source, options);
    close (source->fd);
    source->fd = -1;
    source->offset = 0;
    /* the new file was started while we follow: all of it is new */
    source->stamp_from = 0;
  }
  if (source->fd < 0) {
    if (!exists)
      return;
    source->fd = open_log (source, &st);
    if (source->fd < 0)
      return;
    source->dev = st.st_dev;
    source->ino = st.st_ino;
  }
  if (fstat (source->fd, &st) == 0 && st.st_size < source->offset) {
    /* flushed: start again at the top */
    source->offset = 0;
    source->stamp_from = 0;
    g_string_truncate (source->partial, 0);
  }
  drain (source, options);
}

static void
merge_new_sources (GPtrArray *sources, GPtrArray *fresh)
{
  for (guint i = 0; i < fresh->len; i++) {
    LogSource *candidate = g_ptr_array_index (fresh, i);
    gboolean known = FALSE;
    for (guint j = 0; j < sources->len && !known; j++)
      known = g_str_equal (((LogSource *) g_ptr_array_index (sources, j))->path, candidate->path);
    if (!known) {
      /* a service that appeared while following: from its start, stamped from what is there now on */
      LogSource *added = log_source_new (candidate->label, candidate->path, candidate->is_err);
      struct stat st;
      added->stamp_from = g_lstat (added->path, &st) == 0 ? st.st_size : 0;
      g_ptr_array_add (sources, added);
    }
  }
}

static gboolean
lines_option_cb (const char *option_name, const char *text, gpointer data, GError **error)
{
  LogOptions *options = data;
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, 1000000, &value, NULL)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("--lines takes a number, not \"%s\""), text);
    return FALSE;
  }
  options->lines = (guint) value;
  return TRUE;
}

typedef struct {
  int inotify_fd;           /* -1: no inotify, the timer alone */
  GHashTable *folders;      /* the folders watched */
  gboolean dirty;           /* something changed in a watched folder */
  gboolean refresh;         /* time for the safety net */
} Follow;

/* Watches the folder of every source not watched yet (a folder that does not exist yet is tried again later). */
static void
watch_folders (Follow *follow, GPtrArray *sources)
{
  for (guint i = 0; follow->inotify_fd >= 0 && i < sources->len; i++) {
    LogSource *source = g_ptr_array_index (sources, i);
    g_autofree char *folder = g_path_get_dirname (source->path);

    if (g_hash_table_contains (follow->folders, folder))
      continue;
    if (inotify_add_watch (follow->inotify_fd, folder, FOLLOW_EVENTS | IN_ONLYDIR) < 0) {
      g_debug ("cannot watch %s: %s", folder, g_strerror (errno));
      continue;
    }
    g_hash_table_add (follow->folders, g_steal_pointer (&folder));
  }
}

static gboolean
inotify_ready_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Follow *follow = user_data;
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));

  /* which file does not matter: every followed file is looked at (an lstat and an fstat each) */
  while (read (fd, buf, sizeof buf) > 0)
    ;
  follow->dirty = TRUE;
  return G_SOURCE_CONTINUE;
}

static gboolean
refresh_cb (gpointer user_data)
{
  Follow *follow = user_data;

  follow->refresh = TRUE;
  return G_SOURCE_CONTINUE;
}

/* Prints what is appended to @sources until interrupted. */
static int
follow (TendCli *cli, const char *name, const LogOptions *options, GPtrArray *sources, gboolean have_daemon)
{
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Follow state = { inotify_init1 (IN_NONBLOCK | IN_CLOEXEC), folders, TRUE, FALSE };

  if (state.inotify_fd < 0)
    g_debug ("no inotify (%s): looking every %d ms", g_strerror (errno), FOLLOW_REFRESH_MS);
  else
    g_unix_fd_add (state.inotify_fd, G_IO_IN, inotify_ready_cb, &state);
  g_timeout_add (FOLLOW_REFRESH_MS, refresh_cb, &state);
  watch_folders (&state, sources);

  for (;;) {
    if (state.refresh) {
      g_autoptr(GPtrArray) fresh = NULL;
      g_autoptr(GError) refresh_error = NULL;

      state.refresh = FALSE;
      state.dirty = TRUE;
      if (have_daemon || tend_cli_try_connect (cli, NULL)) {
        have_daemon = TRUE;
        fresh = sources_from_daemon (cli, name, options, &refresh_error);
      }
      if (fresh != NULL) {
        merge_new_sources (sources, fresh);
        watch_folders (&state, sources);
      }
    }
    if (state.dirty) {
      state.dirty = FALSE;
      for (guint i = 0; i < sources->len; i++)
        follow_once (g_ptr_array_index (sources, i), options);
      fflush (stdout);
    }
    g_main_context_iteration (NULL, TRUE);
  }
  return TEND_CLI_EXIT_OK;
}

int
tend_cli_cmd_logs (TendCli *cli, int argc, char **argv)
{
  LogOptions options = { .lines = DEFAULT_LINES, .color = tend_cli_use_color () };
  g_autoptr(GPtrArray) sources = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) positional = NULL;
  const char *name = NULL;
  gboolean have_daemon;
  int status;
  const GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_CALLBACK, (gpointer) lines_option_cb,
      N_("Show the last N lines of each file (default 15)"), N_("N") },
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &options.follow, N_("Go on showing what is written, until interrupted"),
      NULL },
    { "err", 0, 0, G_OPTION_ARG_NONE, &options.only_err, N_("Only the error stream"), NULL },
    { "out", 0, 0, G_OPTION_ARG_NONE, &options.only_out, N_("Only the output stream"), NULL },
    { "timestamps", 0, 0, G_OPTION_ARG_NONE, &options.timestamps,
      N_("Prefix the time of reading to lines that arrive while following"), NULL },
    { "no-timestamps", 0, G_OPTION_FLAG_REVERSE | G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &options.timestamps, NULL,
      NULL },
    { NULL },
  };

  status = tend_cli_parse_options ("logs", "[NAME|all]", _("show the last lines of the logs, and follow them with --follow"),
                                   entries, &options, argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 1)
    return tend_cli_usage_error ("%s", _("logs takes one service name"));
  name = positional->len > 0 ? g_ptr_array_index (positional, 0) : NULL;
  if (options.only_err && options.only_out)
    return tend_cli_usage_error ("%s", _("--err and --out exclude each other"));

  have_daemon = tend_cli_try_connect (cli, &error);
  if (have_daemon) {
    sources = sources_from_daemon (cli, name, &options, &error);
    if (sources == NULL)
      return tend_cli_fail ("%s", error->message);
  } else {
    /* the files outlive the daemon: show them anyway */
    g_clear_error (&error);
    sources = sources_from_folder (cli, name, &options);
    if (sources->len == 0 && name != NULL)
      return tend_cli_fail (_("no logs for %s in %s/logs (and tendd is not running)"), name, cli->home);
  }
  if (options.timestamps && !options.follow)
    g_printerr ("%s\n", _("tend: --timestamps stamps the lines that arrive while following (--follow); the lines "
                          "already in a file carry a time only when the service has log-date-format"));
  /* following goes on from where the tail ended: whatever comes from there on has arrived since */
  print_tails (sources, &options);
  if (!options.follow)
    return TEND_CLI_EXIT_OK;

  return follow (cli, name, &options, sources, have_daemon);
}

int
tend_cli_cmd_flush (TendCli *cli, int argc, char **argv)
{
  g_autoptr(GPtrArray) positional = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  int status;

  status = tend_cli_parse_options ("flush", "[NAME|all]", _("empty the log files of one or every service"), NULL, NULL,
                                   argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len > 1)
    return tend_cli_usage_error ("%s", _("flush takes at most one service name"));
  name = positional->len > 0 ? g_ptr_array_index (positional, 0) : "all";
  status = tend_cli_connect (cli, FALSE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (!tend_dbus_manager1_call_flush_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return tend_cli_report_error (error);
  if (g_str_equal (name, "all"))
    g_print ("%s\n", _("emptied the logs of every service"));
  else
    g_print (_("emptied the logs of %s\n"), name);
  return TEND_CLI_EXIT_OK;
}
