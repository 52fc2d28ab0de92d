/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The logrotate plugin's pure parts: rotated names, period ends, retain; and its compressor on real files. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "tend-logrotate-compress.h"
#include "tend-logrotate-policy.h"

static GDateTime *
utc (int y, int mo, int d, int h, int mi, double s)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_utc ();
  return g_date_time_new (tz, y, mo, d, h, mi, s);
}

static void
assert_same_time (GDateTime *got, GDateTime *want)
{
  g_autofree char *g = got != NULL ? g_date_time_format_iso8601 (got) : g_strdup ("(null)");
  g_autofree char *w = g_date_time_format_iso8601 (want);

  g_assert_cmpstr (g, ==, w);
  g_assert_true (g_date_time_equal (got, want));
}

static void
test_stem (void)
{
  const struct {
    const char *path;
    const char *stem;
  } cases[] = {
    { "/home/u/.tend/logs/gateway-3333-out.log", "gateway-3333-out" },
    { "/var/lib/tend/tendd.log", "tendd" },
    { "relative/app-error-2.log", "app-error-2" },
    { "/x/notes.txt", "notes.txt" },
    { "/x/archive.log.old", "archive.log.old" },
    { "/x/.log", ".log" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *stem = tend_logrotate_stem (cases[i].path);
    g_assert_cmpstr (stem, ==, cases[i].stem);
  }
}

static void
test_rotated_path (void)
{
  g_autoptr(GDateTime) when = utc (2024, 3, 5, 7, 8, 9.75);
  g_autofree char *plain = tend_logrotate_rotated_path ("/logs/api-out.log", when, 0);
  g_autofree char *second = tend_logrotate_rotated_path ("/logs/api-out.log", when, 1);
  g_autofree char *tenth = tend_logrotate_rotated_path ("/logs/api-out.log", when, 10);
  g_autofree char *no_ext = tend_logrotate_rotated_path ("/logs/notes.txt", when, 0);

  g_assert_cmpstr (plain, ==, "/logs/api-out__2024-03-05_07-08-09.log");
  g_assert_cmpstr (second, ==, "/logs/api-out__2024-03-05_07-08-09-1.log");
  g_assert_cmpstr (tenth, ==, "/logs/api-out__2024-03-05_07-08-09-10.log");
  g_assert_cmpstr (no_ext, ==, "/logs/notes.txt__2024-03-05_07-08-09.log");
}

static gboolean
in_set (const char *path, gpointer user_data)
{
  return g_hash_table_contains (user_data, path);
}

static void
test_collision_counter (void)
{
  g_autoptr(GDateTime) when = utc (2024, 3, 5, 7, 8, 9);
  g_autoptr(GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
  guint counter = 99;
  char *picked;

  picked = tend_logrotate_pick_rotated_path ("/l/a-out.log", when, 0, 100, in_set, taken, &counter);
  g_assert_cmpstr (picked, ==, "/l/a-out__2024-03-05_07-08-09.log");
  g_assert_cmpuint (counter, ==, 0);
  g_free (picked);

  /* the plain name is taken: the first counter */
  g_hash_table_add (taken, (gpointer) "/l/a-out__2024-03-05_07-08-09.log");
  picked = tend_logrotate_pick_rotated_path ("/l/a-out.log", when, 0, 100, in_set, taken, &counter);
  g_assert_cmpstr (picked, ==, "/l/a-out__2024-03-05_07-08-09-1.log");
  g_assert_cmpuint (counter, ==, 1);
  g_free (picked);

  /* only the compressed form of -1 exists: it is taken all the same */
  g_hash_table_add (taken, (gpointer) "/l/a-out__2024-03-05_07-08-09-1.log.gz");
  picked = tend_logrotate_pick_rotated_path ("/l/a-out.log", when, 0, 100, in_set, taken, &counter);
  g_assert_cmpstr (picked, ==, "/l/a-out__2024-03-05_07-08-09-2.log");
  g_assert_cmpuint (counter, ==, 2);
  g_free (picked);

  /* starting from a later counter (the plugin remembers its last one) */
  picked = tend_logrotate_pick_rotated_path ("/l/a-out.log", when, 5, 100, in_set, taken, &counter);
  g_assert_cmpstr (picked, ==, "/l/a-out__2024-03-05_07-08-09-5.log");
  g_free (picked);

  /* every name up to the bound taken */
  picked = tend_logrotate_pick_rotated_path ("/l/a-out.log", when, 0, 2, in_set, taken, &counter);
  g_assert_null (picked);
}

static void
test_parse_rotated (void)
{
  const struct {
    const char *name;
    gboolean ok;
    gboolean compressed;
  } cases[] = {
    { "web-out__2024-03-05_07-08-09.log", TRUE, FALSE },
    { "web-out__2024-03-05_07-08-09.log.gz", TRUE, TRUE },
    { "web-out__2024-03-05_07-08-09-12.log", TRUE, FALSE },
    { "web-out__2024-03-05_07-08-09-12.log.gz", TRUE, TRUE },
    { "web-out.log", FALSE },
    { "web-out__2024-03-05_07-08-09.log.gz.tmp", FALSE },
    { "web-out__2024-03-05_07-08-09.txt", FALSE },
    { "web-out__2024-03-05_07-08.log", FALSE },
    { "web-out__2024-03-05_07-08-0x.log", FALSE },
    { "web-out__2024-03-05_07-08-09-.log", FALSE },
    { "web-out__2024-03-05_07-08-09-01.log", FALSE },
    { "web-out__2024-03-05_07-08-09-1234567890.log", FALSE },
    { "web-out_2024-03-05_07-08-09.log", FALSE },
    /* other logs in the same folder */
    { "web-out-1__2024-03-05_07-08-09.log", FALSE },
    { "web-error__2024-03-05_07-08-09.log", FALSE },
    { "web-out__x__2024-03-05_07-08-09.log", FALSE },
    { ".web-out__2024-03-05_07-08-09.log.gz.AbC123", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gboolean compressed = !cases[i].compressed;
    g_test_message ("%s", cases[i].name);
    g_assert_cmpint (tend_logrotate_parse_rotated ("web-out", cases[i].name, NULL, &compressed), ==, cases[i].ok);
    if (cases[i].ok)
      g_assert_cmpint (compressed, ==, cases[i].compressed);
  }
}

static void
test_rotation_order (void)
{
  /* oldest first: by time, then the plain name, then counters in numeric order */
  const char *const ordered[] = {
    "a__2023-12-31_23-59-59-3.log",
    "a__2024-01-01_00-00-00.log.gz",
    "a__2024-01-01_00-00-00-1.log",
    "a__2024-01-01_00-00-00-2.log.gz",
    "a__2024-01-01_00-00-00-9.log",
    "a__2024-01-01_00-00-00-10.log",
    "a__2024-01-01_00-00-00-11.log.gz",
    "a__2024-01-01_00-00-01.log",
  };
  g_autofree char *plain = NULL;
  g_autofree char *gz = NULL;

  for (guint i = 1; i < G_N_ELEMENTS (ordered); i++) {
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_assert_true (tend_logrotate_parse_rotated ("a", ordered[i - 1], &before, NULL));
    g_assert_true (tend_logrotate_parse_rotated ("a", ordered[i], &after, NULL));
    g_assert_cmpstr (before, <, after);
  }
  /* both files of one rotation share a key */
  g_assert_true (tend_logrotate_parse_rotated ("a", "a__2024-01-01_00-00-00-4.log", &plain, NULL));
  g_assert_true (tend_logrotate_parse_rotated ("a", "a__2024-01-01_00-00-00-4.log.gz", &gz, NULL));
  g_assert_cmpstr (plain, ==, gz);
}

static void
test_temp_names (void)
{
  g_autofree char *template = tend_logrotate_temp_template ("/logs/web-out__2024-03-05_07-08-09-2.log.gz");
  g_autofree char *made = NULL;

  g_assert_cmpstr (template, ==, "/logs/.web-out__2024-03-05_07-08-09-2.log.gz.XXXXXX");
  g_assert_true (tend_logrotate_is_temp_name ("web-out", ".web-out__2024-03-05_07-08-09-2.log.gz.aB3xYz"));
  g_assert_false (tend_logrotate_is_temp_name ("web-out", "web-out__2024-03-05_07-08-09-2.log.gz"));
  g_assert_false (tend_logrotate_is_temp_name ("web-out", ".web-out__2024-03-05_07-08-09-2.log.aB3xYz"));
  g_assert_false (tend_logrotate_is_temp_name ("web-error", ".web-out__2024-03-05_07-08-09.log.gz.aB3xYz"));
  g_assert_false (tend_logrotate_is_temp_name ("web-out", ".goutputstream-aB3xYz"));
  g_assert_false (tend_logrotate_is_temp_name ("web-out", ".web-out__2024-03-05_07-08-09.log.gz.aB3x"));
  made = g_path_get_basename (template);
  g_assert_true (tend_logrotate_is_temp_name ("web-out", made));
}

static void
test_interval_names (void)
{
  TendLogrotateInterval interval = TEND_LOGROTATE_INTERVAL_NEVER;

  g_assert_true (tend_logrotate_interval_from_string ("weekly", &interval));
  g_assert_cmpint (interval, ==, TEND_LOGROTATE_INTERVAL_WEEKLY);
  g_assert_true (tend_logrotate_interval_from_string ("hourly", &interval));
  g_assert_cmpint (interval, ==, TEND_LOGROTATE_INTERVAL_HOURLY);
  g_assert_true (tend_logrotate_interval_from_string ("daily", &interval));
  g_assert_cmpint (interval, ==, TEND_LOGROTATE_INTERVAL_DAILY);
  g_assert_true (tend_logrotate_interval_from_string ("never", &interval));
  g_assert_cmpint (interval, ==, TEND_LOGROTATE_INTERVAL_NEVER);
  g_assert_false (tend_logrotate_interval_from_string ("monthly", &interval));
}

static void
check_end (TendLogrotateInterval interval, GDateTime *opened, GDateTime *want)
{
  g_autoptr(GDateTime) end = tend_logrotate_period_end (interval, opened);
  assert_same_time (end, want);
}

static void
test_period_hourly (void)
{
  g_autoptr(GDateTime) a = utc (2024, 3, 5, 7, 8, 9.5);
  g_autoptr(GDateTime) a_end = utc (2024, 3, 5, 8, 0, 0);
  g_autoptr(GDateTime) b = utc (2024, 3, 5, 8, 0, 0);
  g_autoptr(GDateTime) b_end = utc (2024, 3, 5, 9, 0, 0);
  g_autoptr(GDateTime) c = utc (2024, 12, 31, 23, 59, 59.999);
  g_autoptr(GDateTime) c_end = utc (2025, 1, 1, 0, 0, 0);

  check_end (TEND_LOGROTATE_INTERVAL_HOURLY, a, a_end);
  /* opened exactly on a boundary: that hour is its period */
  check_end (TEND_LOGROTATE_INTERVAL_HOURLY, b, b_end);
  check_end (TEND_LOGROTATE_INTERVAL_HOURLY, c, c_end);
  g_assert_null (tend_logrotate_period_end (TEND_LOGROTATE_INTERVAL_NEVER, a));
}

static void
test_period_daily (void)
{
  g_autoptr(GDateTime) a = utc (2024, 3, 5, 7, 8, 9);
  g_autoptr(GDateTime) a_end = utc (2024, 3, 6, 0, 0, 0);
  g_autoptr(GDateTime) b = utc (2024, 2, 29, 23, 59, 59);
  g_autoptr(GDateTime) b_end = utc (2024, 3, 1, 0, 0, 0);
  g_autoptr(GDateTime) c = utc (2024, 12, 31, 0, 0, 0);
  g_autoptr(GDateTime) c_end = utc (2025, 1, 1, 0, 0, 0);

  check_end (TEND_LOGROTATE_INTERVAL_DAILY, a, a_end);
  check_end (TEND_LOGROTATE_INTERVAL_DAILY, b, b_end);
  check_end (TEND_LOGROTATE_INTERVAL_DAILY, c, c_end);
}

static void
test_period_weekly (void)
{
  /* 2024-03-05 is a Tuesday, 2024-03-10 a Sunday, 2024-03-11 a Monday */
  g_autoptr(GDateTime) tue = utc (2024, 3, 5, 7, 8, 9);
  g_autoptr(GDateTime) sun = utc (2024, 3, 10, 23, 59, 59);
  g_autoptr(GDateTime) mon = utc (2024, 3, 11, 0, 0, 0);
  g_autoptr(GDateTime) next_mon = utc (2024, 3, 11, 0, 0, 0);
  g_autoptr(GDateTime) mon_after = utc (2024, 3, 18, 0, 0, 0);
  g_autoptr(GDateTime) dec = utc (2024, 12, 28, 12, 0, 0);
  g_autoptr(GDateTime) dec_end = utc (2024, 12, 30, 0, 0, 0);

  g_assert_cmpint (g_date_time_get_day_of_week (tue), ==, 2);
  check_end (TEND_LOGROTATE_INTERVAL_WEEKLY, tue, next_mon);
  check_end (TEND_LOGROTATE_INTERVAL_WEEKLY, sun, next_mon);
  check_end (TEND_LOGROTATE_INTERVAL_WEEKLY, mon, mon_after);
  check_end (TEND_LOGROTATE_INTERVAL_WEEKLY, dec, dec_end);
}

static void
test_period_local_dst (void)
{
  g_autoptr(GTimeZone) paris = g_time_zone_new_identifier ("Europe/Paris");
  g_autoptr(GDateTime) opened = NULL;
  g_autoptr(GDateTime) day_end = NULL;
  g_autoptr(GDateTime) hour_end = NULL;
  g_autoptr(GDateTime) want = NULL;

  if (paris == NULL) {
    g_test_skip ("no tzdata for Europe/Paris");
    return;
  }
  /* 2024-03-31: clocks go from 02:00 CET to 03:00 CEST, a day of 23 hours */
  opened = g_date_time_new (paris, 2024, 3, 31, 0, 30, 0);
  day_end = tend_logrotate_period_end (TEND_LOGROTATE_INTERVAL_DAILY, opened);
  want = g_date_time_new (paris, 2024, 4, 1, 0, 0, 0);
  assert_same_time (day_end, want);
  g_assert_cmpint (g_date_time_difference (day_end, opened), ==, (22 * 60 + 30) * G_TIME_SPAN_MINUTE);
  g_assert_cmpint (g_date_time_get_hour (day_end), ==, 0);

  /* 01:30 CET: the next hour boundary is 03:00 CEST, 30 minutes later */
  g_clear_pointer (&opened, g_date_time_unref);
  g_clear_pointer (&want, g_date_time_unref);
  opened = g_date_time_new (paris, 2024, 3, 31, 1, 30, 0);
  hour_end = tend_logrotate_period_end (TEND_LOGROTATE_INTERVAL_HOURLY, opened);
  want = g_date_time_new (paris, 2024, 3, 31, 3, 0, 0);
  assert_same_time (hour_end, want);
  g_assert_cmpint (g_date_time_difference (hour_end, opened), ==, 30 * G_TIME_SPAN_MINUTE);
}

static GPtrArray *
expired (const char *const *names, guint retain)
{
  return tend_logrotate_select_expired ("api-out", names, retain);
}

static void
assert_names (GPtrArray *got, const char *const *want)
{
  g_assert_cmpuint (got->len, ==, g_strv_length ((char **) want));
  for (guint i = 0; i < got->len; i++)
    g_assert_cmpstr (g_ptr_array_index (got, i), ==, want[i]);
}

static void
test_retain (void)
{
  /* in folder order, not time order; other files mixed in */
  const char *const names[] = {
    "api-out__2024-03-05_10-00-00.log.gz",
    "api-out.log",
    "api-error__2024-03-01_00-00-00.log.gz",
    "api-out__2024-03-05_09-00-00-10.log.gz",
    "api-out__2024-03-05_09-00-00-2.log.gz",
    ".api-out__2024-03-05_11-00-00.log.gz.Xy12Zq",
    "api-out__2024-03-05_11-00-00.log",
    "api-out__2024-03-05_09-00-00.log",
    "api-out__2024-03-05_09-00-00.log.gz",
    "api-out-1__2024-03-01_00-00-00.log",
    "README",
    NULL,
  };
  const char *const keep_2[] = {
    "api-out__2024-03-05_09-00-00.log",
    "api-out__2024-03-05_09-00-00.log.gz",
    "api-out__2024-03-05_09-00-00-2.log.gz",
    "api-out__2024-03-05_09-00-00-10.log.gz",
    NULL,
  };
  const char *const keep_4[] = {
    "api-out__2024-03-05_09-00-00.log",
    "api-out__2024-03-05_09-00-00.log.gz",
    NULL,
  };
  const char *const keep_0[] = {
    "api-out__2024-03-05_09-00-00.log",
    "api-out__2024-03-05_09-00-00.log.gz",
    "api-out__2024-03-05_09-00-00-2.log.gz",
    "api-out__2024-03-05_09-00-00-10.log.gz",
    "api-out__2024-03-05_10-00-00.log.gz",
    "api-out__2024-03-05_11-00-00.log",
    NULL,
  };
  const char *const none[] = { NULL };
  g_autoptr(GPtrArray) e2 = expired (names, 2);
  g_autoptr(GPtrArray) e4 = expired (names, 4);
  g_autoptr(GPtrArray) e5 = expired (names, 5);
  g_autoptr(GPtrArray) e0 = expired (names, 0);
  g_autoptr(GPtrArray) empty = expired (none, 3);

  /* five rotations: 09:00 (.log and .log.gz), 09:00-2, 09:00-10, 10:00, 11:00 */
  assert_names (e2, keep_2);
  assert_names (e4, keep_4);
  assert_names (e5, none);
  assert_names (e0, keep_0);
  assert_names (empty, none);
}

static char *
gunzip (const char *path, char **out_header_name)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = G_INPUT_STREAM (g_file_read (file, NULL, &error));
  g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) conv = NULL;
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  GFileInfo *info;

  g_assert_no_error (error);
  conv = g_converter_input_stream_new (in, G_CONVERTER (decompressor));
  g_output_stream_splice (out, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  info = g_zlib_decompressor_get_file_info (decompressor);
  if (out_header_name != NULL)
    *out_header_name = info != NULL ? g_strdup (g_file_info_get_name (info)) : NULL;
  g_output_stream_write (out, "", 1, NULL, NULL);
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));
}

static void
test_compress_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tend-logrotate-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *gz = NULL;
  g_autofree char *back = NULL;
  g_autofree char *header_name = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GDir) d = NULL;
  guint64 read_bytes = 0, written = 0;

  g_assert_no_error (error);
  path = g_build_filename (dir, "web-out__2024-03-05_07-08-09.log", NULL);
  gz = g_strconcat (path, ".gz", NULL);
  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (text, "%08u line of the web service\n", i);
  g_file_set_contents (path, text->str, (gssize) text->len, &error);
  g_assert_no_error (error);

  g_assert_true (tend_logrotate_compress_file (path, geteuid (), NULL, &read_bytes, &written, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (read_bytes, ==, text->len);
  g_assert_cmpuint (written, >, 0);
  g_assert_cmpuint (written, <, text->len / 4);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (gz, G_FILE_TEST_IS_REGULAR));
  back = gunzip (gz, &header_name);
  g_assert_cmpstr (back, ==, text->str);
  g_assert_cmpstr (header_name, ==, "web-out__2024-03-05_07-08-09.log");

  /* a missing source: an error, and nothing left behind */
  g_assert_false (tend_logrotate_compress_file (path, geteuid (), NULL, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  d = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "web-out__2024-03-05_07-08-09.log.gz");
  g_assert_null (g_dir_read_name (d));
  g_unlink (gz);
  g_rmdir (dir);
}

static void
test_compress_cancelled (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tend-logrotate-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GDir) d = NULL;

  g_assert_no_error (error);
  path = g_build_filename (dir, "w-out__2024-03-05_07-08-09.log", NULL);
  g_file_set_contents (path, "one\ntwo\n", -1, &error);
  g_assert_no_error (error);

  /* cancelled: no .gz, no temp file, the rotated file kept for a later try */
  g_cancellable_cancel (cancellable);
  g_assert_false (tend_logrotate_compress_file (path, geteuid (), cancellable, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  d = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "w-out__2024-03-05_07-08-09.log");
  g_assert_null (g_dir_read_name (d));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_compress_disk_full (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tend-logrotate-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GDir) d = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  gsize len = 48 * 1024, after_len = 0;

  g_assert_no_error (error);
  if (geteuid () != 0 || mount ("tmpfs", dir, "tmpfs", 0, "size=64k") < 0) {
    g_test_skip ("a small tmpfs needs root");
    g_rmdir (dir);
    return;
  }
  /* random bytes do not compress: the .gz needs as much room again, and the disk has not got it */
  path = g_build_filename (dir, "w-out__2024-03-05_07-08-09.log", NULL);
  before = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    before[i] = (char) g_rand_int_range (rand, 0, 256);
  g_file_set_contents (path, before, (gssize) len, &error);
  g_assert_no_error (error);

  g_assert_false (tend_logrotate_compress_file (path, geteuid (), NULL, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  /* the rotated file is intact and alone: no .gz, no temp file */
  g_file_get_contents (path, &after, &after_len, NULL);
  g_assert_cmpmem (after, after_len, before, len);
  d = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "w-out__2024-03-05_07-08-09.log");
  g_assert_null (g_dir_read_name (d));
  umount2 (dir, MNT_DETACH);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/tend/logrotate/policy/stem", test_stem);
  g_test_add_func ("/tend/logrotate/policy/rotated-path", test_rotated_path);
  g_test_add_func ("/tend/logrotate/policy/collision-counter", test_collision_counter);
  g_test_add_func ("/tend/logrotate/policy/parse-rotated", test_parse_rotated);
  g_test_add_func ("/tend/logrotate/policy/rotation-order", test_rotation_order);
  g_test_add_func ("/tend/logrotate/policy/temp-names", test_temp_names);
  g_test_add_func ("/tend/logrotate/policy/interval-names", test_interval_names);
  g_test_add_func ("/tend/logrotate/policy/period/hourly", test_period_hourly);
  g_test_add_func ("/tend/logrotate/policy/period/daily", test_period_daily);
  g_test_add_func ("/tend/logrotate/policy/period/weekly", test_period_weekly);
  g_test_add_func ("/tend/logrotate/policy/period/local-dst", test_period_local_dst);
  g_test_add_func ("/tend/logrotate/policy/retain", test_retain);
  g_test_add_func ("/tend/logrotate/compress/file", test_compress_file);
  g_test_add_func ("/tend/logrotate/compress/cancelled", test_compress_cancelled);
  g_test_add_func ("/tend/logrotate/compress/disk-full", test_compress_disk_full);
  return g_test_run ();
}
