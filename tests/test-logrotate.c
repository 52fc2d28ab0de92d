/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The logrotate plugin with a real tendd and a service flooding its log: no line lost, retain, gzip, crashes. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tend-test-daemon.h"

#define PAD 90             /* as tests/helpers/lines.c */
#define LINE_LEN (8 + 1 + PAD)
#define STAMP_LEN 19

static const char *
lines_helper (void)
{
  const char *path = g_getenv ("TEND_TEST_LINES_HELPER");
  g_assert_nonnull (path);
  return path;
}

static char *
logs_dir (TendTestDaemon *d)
{
  return g_build_filename (d->home, "logs", NULL);
}

/* A config with the plugin group @plugin and one service "flood" printing @count lines, then creating @done. */
static void
write_flood_config (TendTestDaemon *d, const char *plugin, guint count, const char *done)
{
  g_autofree char *conf = g_strdup_printf ("[plugin:logrotate]\n%s\n"
                                           "[service:flood]\nexec=%s %u %s\nautorestart=false\n",
                                           plugin, lines_helper (), count, done);
  tend_test_daemon_write_config (d, conf);
}

/* ---- the files next to flood-out.log ---- */

typedef struct {
  char *name;
  char stamp[STAMP_LEN + 1];
  guint counter;
  gboolean gz;
} Rotated;

static void
rotated_clear (gpointer data)
{
  g_free (((Rotated *) data)->name);
}

static gboolean
parse_rotated (const char *name, Rotated *r)
{
  const char *prefix = "flood-out__";
  const char *p;

  if (!g_str_has_prefix (name, prefix))
    return FALSE;
  p = name + strlen (prefix);
  if (strlen (p) < STAMP_LEN)
    return FALSE;
  memcpy (r->stamp, p, STAMP_LEN);
  r->stamp[STAMP_LEN] = '\0';
  p += STAMP_LEN;
  r->counter = 0;
  if (*p == '-')
    r->counter = (guint) strtoul (p + 1, (char **) &p, 10);
  if (strcmp (p, ".log") == 0)
    r->gz = FALSE;
  else if (strcmp (p, ".log.gz") == 0)
    r->gz = TRUE;
  else
    return FALSE;
  r->name = g_strdup (name);
  return TRUE;
}

static int
rotated_compare (gconstpointer a, gconstpointer b)
{
  const Rotated *ra = a, *rb = b;
  int c = strcmp (ra->stamp, rb->stamp);

  if (c != 0)
    return c;
  return ra->counter < rb->counter ? -1 : ra->counter > rb->counter;
}

/* The rotated files of flood-out.log, oldest first. */
static GArray *
list_rotated (TendTestDaemon *d)
{
  g_autofree char *dir = logs_dir (d);
  g_autoptr(GDir) gdir = g_dir_open (dir, 0, NULL);
  GArray *found = g_array_new (FALSE, FALSE, sizeof (Rotated));
  const char *name;

  g_array_set_clear_func (found, rotated_clear);
  while (gdir != NULL && (name = g_dir_read_name (gdir)) != NULL) {
    Rotated r;
    if (parse_rotated (name, &r))
      g_array_append_val (found, r);
  }
  g_array_sort (found, rotated_compare);
  return found;
}

/* Temp files of compressions in progress (".flood-out__….log.gz.XXXXXX") */
static guint
count_temp_files (TendTestDaemon *d)
{
  g_autofree char *dir = logs_dir (d);
  g_autoptr(GDir) gdir = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (gdir != NULL && (name = g_dir_read_name (gdir)) != NULL) {
    if (g_str_has_prefix (name, ".flood-out__") && strstr (name, ".log.gz.") != NULL)
      n++;
  }
  return n;
}

static guint
count_uncompressed (GArray *rotated)
{
  guint n = 0;

  for (guint i = 0; i < rotated->len; i++)
    n += !g_array_index (rotated, Rotated, i).gz;
  return n;
}

static gboolean
gzip_test (const char *path)
{
  const char *argv[] = { "gzip", "-t", path, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_test_message ("gzip -t %s: %s", path, err);
    return FALSE;
  }
  return TRUE;
}

/* The whole content of @path, decompressed when it ends in .gz (zlib checks the CRC and length too). */
static GBytes *
read_log (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = G_INPUT_STREAM (g_file_read (file, NULL, &error));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

  g_assert_no_error (error);
  if (g_str_has_suffix (path, ".gz")) {
    g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
    g_autoptr(GInputStream) conv = g_converter_input_stream_new (in, G_CONVERTER (decompressor));
    g_output_stream_splice (out, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  } else {
    g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  }
  if (error != NULL)
    g_error ("cannot read %s: %s", path, error->message);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/*
 * Checks that @data holds whole, intact lines numbered from *@next on,
 * with no gap and no repeat, and advances *@next. Returns the number of
 * lines.
 */
static guint
check_lines (const char *what, GBytes *data, guint *next)
{
  gsize size;
  const char *p = g_bytes_get_data (data, &size);
  const char *end = p + size;
  char want[LINE_LEN + 2];
  guint n = 0;

  if (size % (LINE_LEN + 1) != 0)
    g_error ("%s: %" G_GSIZE_FORMAT " bytes, not a whole number of lines", what, size);
  for (; p < end; p += LINE_LEN + 1, n++) {
    g_snprintf (want, 10, "%08u ", *next);
    memset (want + 9, 'a' + (int) (*next % 26), PAD);
    want[LINE_LEN] = '\n';
    if (memcmp (p, want, LINE_LEN + 1) != 0)
      g_error ("%s, line %u: expected line %u, got \"%.*s\"", what, n, *next, 20, p);
    (*next)++;
  }
  return n;
}

/* Every rotated file then the current one, in order: lines @first … @count-1, each exactly once. */
static void
check_all_lines (TendTestDaemon *d, guint first, guint count)
{
  g_autoptr(GArray) rotated = list_rotated (d);
  g_autofree char *dir = logs_dir (d);
  g_autofree char *current = g_build_filename (dir, "flood-out.log", NULL);
  g_autoptr(GBytes) last = NULL;
  guint next = first;

  for (guint i = 0; i < rotated->len; i++) {
    Rotated *r = &g_array_index (rotated, Rotated, i);
    g_autofree char *path = g_build_filename (dir, r->name, NULL);
    g_autoptr(GBytes) data = read_log (path);
    check_lines (r->name, data, &next);
  }
  last = read_log (current);
  check_lines ("flood-out.log", last, &next);
  g_assert_cmpuint (next, ==, count);
}

static guint64
dir_fingerprint (TendTestDaemon *d)
{
  g_autofree char *dir = logs_dir (d);
  g_autoptr(GDir) gdir = g_dir_open (dir, 0, NULL);
  const char *name;
  guint64 sum = 0;

  while (gdir != NULL && (name = g_dir_read_name (gdir)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    GStatBuf st;
    if (g_stat (path, &st) == 0)
      sum += (guint64) st.st_size * 31 + g_str_hash (name);
  }
  return sum;
}

typedef struct {
  TendTestDaemon *d;
  const char *done;
  gboolean compress;
  guint64 fingerprint;
  gint64 stable_since;
} Quiet;

/* The service is done, nothing waits for compression, and the folder has not changed for 1.5 s. */
static gboolean
is_quiet (gpointer data)
{
  Quiet *q = data;
  g_autoptr(GArray) rotated = NULL;
  guint64 fingerprint;

  if (!g_file_test (q->done, G_FILE_TEST_EXISTS))
    return FALSE;
  rotated = list_rotated (q->d);
  if ((q->compress && count_uncompressed (rotated) > 0) || count_temp_files (q->d) > 0) {
    q->stable_since = 0;
    return FALSE;
  }
  fingerprint = dir_fingerprint (q->d);
  if (q->stable_since == 0 || fingerprint != q->fingerprint) {
    q->fingerprint = fingerprint;
    q->stable_since = g_get_monotonic_time ();
    return FALSE;
  }
  return g_get_monotonic_time () - q->stable_since > 1500 * 1000;
}

static void
wait_quiet (TendTestDaemon *d, const char *done, gboolean compress)
{
  Quiet q = { d, done, compress, 0, 0 };

  if (!tend_test_wait (is_quiet, &q, 120000))
    g_error ("the logs did not settle within 120 s");
}

static guint
check_gz_valid (TendTestDaemon *d, GArray *rotated)
{
  g_autofree char *dir = logs_dir (d);
  guint n = 0;

  for (guint i = 0; i < rotated->len; i++) {
    Rotated *r = &g_array_index (rotated, Rotated, i);
    g_autofree char *path = NULL;
    if (!r->gz)
      continue;
    path = g_build_filename (dir, r->name, NULL);
    if (!gzip_test (path))
      g_error ("%s is not a valid gzip file", r->name);
    n++;
  }
  return n;
}

static void
test_no_line_lost (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *done = tend_test_daemon_path (d, "done");
  g_autoptr(GArray) rotated = NULL;
  const guint count = 300000;
  gint64 start;
  guint gz;

  write_flood_config (d, "enabled=true\nmax-size=64K\nretain=1000\ncompress=true\ninterval=never\n", count, done);
  start = g_get_monotonic_time ();
  tend_test_daemon_start (d);
  wait_quiet (d, done, TRUE);

  rotated = list_rotated (d);
  gz = check_gz_valid (d, rotated);
  g_test_message ("%u lines (%u bytes) in %.1f s: %u rotated files, %u compressed", count, count * (LINE_LEN + 1),
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC, rotated->len, gz);
  g_assert_cmpuint (rotated->len, >=, 10);
  g_assert_cmpuint (gz, ==, rotated->len);
  check_all_lines (d, 0, count);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_retain (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *done = tend_test_daemon_path (d, "done");
  g_autoptr(GArray) rotated = NULL;
  g_autofree char *dir = NULL;
  const guint count = 100000;
  guint next = 0;

  write_flood_config (d, "enabled=true\nmax-size=64K\nretain=3\ncompress=true\ninterval=never\n", count, done);
  tend_test_daemon_start (d);
  wait_quiet (d, done, TRUE);

  rotated = list_rotated (d);
  g_assert_cmpuint (rotated->len, ==, 3);
  g_assert_cmpuint (check_gz_valid (d, rotated), ==, 3);
  /* the newest three were kept: they and the current file end the sequence without a gap */
  dir = logs_dir (d);
  {
    g_autofree char *first = g_build_filename (dir, g_array_index (rotated, Rotated, 0).name, NULL);
    g_autoptr(GBytes) data = read_log (first);
    const char *p = g_bytes_get_data (data, NULL);
    next = (guint) strtoul (p, NULL, 10);
  }
  g_assert_cmpuint (next, >, 0);
  check_all_lines (d, next, count);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_no_compress (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *done = tend_test_daemon_path (d, "done");
  g_autoptr(GArray) rotated = NULL;
  g_autofree char *dir = NULL;
  const guint count = 50000;

  write_flood_config (d, "enabled=true\nmax-size=64K\nretain=1000\ncompress=false\ninterval=never\n", count, done);
  tend_test_daemon_start (d);
  wait_quiet (d, done, FALSE);

  rotated = list_rotated (d);
  /* 50 000 lines of 100 bytes at 64 KiB a file: about 76 files, each cut at a line within the limit */
  g_assert_cmpuint (rotated->len, >=, 70);
  g_assert_cmpuint (count_uncompressed (rotated), ==, rotated->len);
  dir = logs_dir (d);
  for (guint i = 0; i < rotated->len; i++) {
    g_autofree char *path = g_build_filename (dir, g_array_index (rotated, Rotated, i).name, NULL);
    GStatBuf st;
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_size, <=, 64 * 1024);
    g_assert_cmpint (st.st_size, >, 64 * 1024 - 100);
  }
  check_all_lines (d, 0, count);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_disabled (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *done = tend_test_daemon_path (d, "done");
  g_autofree char *dir = NULL;
  g_autofree char *current = NULL;
  g_autoptr(GArray) rotated = NULL;
  GStatBuf st;
  const guint count = 5000;

  write_flood_config (d, "enabled=false\nmax-size=64K\n", count, done);
  tend_test_daemon_start (d);
  wait_quiet (d, done, FALSE);

  rotated = list_rotated (d);
  g_assert_cmpuint (rotated->len, ==, 0);
  dir = logs_dir (d);
  current = g_build_filename (dir, "flood-out.log", NULL);
  g_assert_cmpint (g_stat (current, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 64 * 1024);
  check_all_lines (d, 0, count);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* A compression in progress, with a few finished ones next to it. */
static gboolean
compression_running (gpointer data)
{
  g_autoptr(GArray) rotated = NULL;

  if (count_temp_files (data) == 0)
    return FALSE;
  rotated = list_rotated (data);
  /* under this flood rotations outrun gzip, and retain drops the oldest: one finished is enough */
  return rotated->len - count_uncompressed (rotated) >= 1;
}

static gboolean
leftovers_finished (gpointer data)
{
  TendTestDaemon *d = data;
  g_autoptr(GArray) rotated = list_rotated (d);

  return count_uncompressed (rotated) == 0 && count_temp_files (d) == 0;
}

static void
test_killed_mid_compression (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *done = tend_test_daemon_path (d, "done");
  g_autofree char *done2 = tend_test_daemon_path (d, "done2");
  g_autofree char *dir = NULL;
  g_autoptr(GArray) rotated = NULL;
  g_autoptr(GArray) after = NULL;
  guint temps, uncompressed;
  /* big files, so compressing one takes long enough to be caught at it; retain bounds the disk used */
  const char *plugin = "enabled=true\nmax-size=4M\nretain=60\ncompress=true\ninterval=never\n";

  write_flood_config (d, plugin, 0, done);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (compression_running, d, 60000));
  kill (d->pid, SIGKILL);
  g_assert_true (tend_test_daemon_wait_exit (d, 10000));

  /* whatever the moment: every .gz under its final name is complete */
  rotated = list_rotated (d);
  temps = count_temp_files (d);
  uncompressed = count_uncompressed (rotated);
  g_test_message ("after SIGKILL: %u rotated files, %u uncompressed, %u temp files", rotated->len, uncompressed, temps);
  check_gz_valid (d, rotated);
  dir = logs_dir (d);
  if (uncompressed == 0) {
    /* the kill came between two compressions: leave one to finish, so the restart has work */
    g_autofree char *fake = g_build_filename (dir, "flood-out__2000-01-01_00-00-00.log", NULL);
    g_autoptr(GError) error = NULL;
    g_file_set_contents (fake, "00000000 left over\n", -1, &error);
    g_assert_no_error (error);
  }

  /* the same home again, a short run of the service: its log is tracked, the leftovers are finished */
  write_flood_config (d, plugin, 10, done2);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait (leftovers_finished, d, 60000));
  if (temps > 0)
    g_assert_true (tend_test_daemon_log_contains (d, "an unfinished compression of a previous run"));
  g_assert_true (tend_test_daemon_log_contains (d, "left uncompressed by a previous run"));
  after = list_rotated (d);
  g_assert_cmpuint (after->len, >, 0);
  g_assert_cmpuint (after->len, <=, 60);
  g_assert_cmpuint (check_gz_valid (d, after), ==, after->len);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static guint
count_rotated (gpointer data)
{
  g_autoptr(GArray) rotated = list_rotated (data);
  return rotated->len;
}

static gboolean
has_rotated (gpointer data)
{
  return count_rotated (data) > 0;
}

typedef struct {
  const char *path;
  goffset size;
} SizeWait;

static gboolean
file_larger (gpointer data)
{
  SizeWait *w = data;
  GStatBuf st;

  return g_stat (w->path, &st) == 0 && st.st_size > w->size;
}

static gboolean
log_has_reloaded (gpointer data)
{
  return tend_test_daemon_log_contains (data, "plugin logrotate reloaded");
}

/* A steady writer; the plugin is enabled, then changed, by SIGHUP. */
static void
write_steady_config (TendTestDaemon *d, const char *plugin)
{
  g_autofree char *conf = g_strdup_printf ("[plugin:logrotate]\n%s\n"
                                           "[service:flood]\nshell=true\n"
                                           "exec=while :; do %s 100; sleep 0.05; done\n",
                                           plugin, lines_helper ());
  tend_test_daemon_write_config (d, conf);
}

static void
test_reload (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *dir = NULL;
  g_autofree char *current = NULL;
  SizeWait w;
  guint before;

  write_steady_config (d, "enabled=false\nmax-size=8K\n");
  tend_test_daemon_start (d);
  dir = logs_dir (d);
  current = g_build_filename (dir, "flood-out.log", NULL);
  w = (SizeWait) { current, 16 * 1024 };
  g_assert_true (tend_test_wait (file_larger, &w, 10000));
  g_assert_cmpuint (count_rotated (d), ==, 0);

  /* enabled by a reload: the file, already open and past max-size, is rotated */
  write_steady_config (d, "enabled=true\nmax-size=8K\ncompress=false\ninterval=never\n");
  kill (d->pid, SIGHUP);
  g_assert_true (tend_test_wait (has_rotated, d, 10000));

  /* a changed key is applied in place, not by loading the plugin anew */
  write_steady_config (d, "enabled=true\nmax-size=1M\ncompress=false\ninterval=never\n");
  kill (d->pid, SIGHUP);
  g_assert_true (tend_test_wait (log_has_reloaded, d, 10000));
  before = count_rotated (d);
  w.size = 64 * 1024;
  g_assert_true (tend_test_wait (file_larger, &w, 10000));
  g_assert_cmpuint (count_rotated (d), ==, before);
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
daemon_log_rotated (gpointer data)
{
  TendTestDaemon *d = data;
  g_autoptr(GDir) dir = g_dir_open (d->home, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    if (g_str_has_prefix (name, "tendd__") && g_str_has_suffix (name, ".log"))
      return TRUE;
  }
  return FALSE;
}

/* Detached, tendd writes its own log to HOME/tendd.log: the plugin rotates it like the others. */
static void
test_daemon_log (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tendd = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "daemon", "tendd", NULL);
  g_autofree char *pidfile = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *own_log = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;
  pid_t pid;

  /* a crash loop makes tendd log a line or two per restart */
  tend_test_daemon_write_config (d, "[plugin:logrotate]\nenabled=true\nmax-size=2K\ncompress=false\n"
                                    "interval=never\n\n"
                                    "[service:crasher]\nexec=/bin/false\nmin-uptime=0\nrestart-delay=20ms\n");
  {
    const char *argv[] = { tendd, "--home", d->home, "--config", d->config, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_assert_cmpint (status, ==, 0);
  }
  pidfile = g_build_filename (d->home, "tendd.pid", NULL);
  g_assert_true (g_file_get_contents (pidfile, &pid_text, NULL, NULL));
  pid = atoi (pid_text);
  tend_test_track_pid (pid);
  g_assert_true (tend_test_wait (daemon_log_rotated, d, 20000));
  /* and tendd goes on logging into the new file */
  own_log = g_build_filename (d->home, "tendd.log", NULL);
  g_assert_true (tend_test_wait_lines (own_log, 2, 10000));
  kill (pid, SIGTERM);
  g_assert_true (tend_test_wait_pid_gone (pid, 15000));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tend/logrotate/no-line-lost", test_no_line_lost);
  g_test_add_func ("/tend/logrotate/retain", test_retain);
  g_test_add_func ("/tend/logrotate/no-compress", test_no_compress);
  g_test_add_func ("/tend/logrotate/killed-mid-compression", test_killed_mid_compression);
  g_test_add_func ("/tend/logrotate/disabled", test_disabled);
  g_test_add_func ("/tend/logrotate/reload", test_reload);
  g_test_add_func ("/tend/logrotate/daemon-log", test_daemon_log);
  return g_test_run ();
}
