/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Log capture with real services: timestamps, long lines, instances, flush, a full disk. */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-test-daemon.h"

static char *
log_path (TendTestDaemon *d, const char *name)
{
  return g_build_filename (d->home, "logs", name, NULL);
}

/* gdbus on GLib 2.74 treats --address as a bus, hence --dest (the socket answers as if it were one) */
static char *
gdbus_call (TendTestDaemon *d, const char *path, const char *method, const char *arg)
{
  g_autofree char *address = g_strdup_printf ("unix:path=%s/tendd.sock", d->home);
  const char *argv[] = { "gdbus", "call", "--address", address, "--dest", "org.tend.Tend1", "--object-path", path,
                         "--method", method, arg, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("gdbus call %s failed: %s", method, err);
  return g_steal_pointer (&out);
}

static void
test_timestamps (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GRegex) re = g_regex_new ("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}: line \\d+$", 0, 0, NULL);

  tend_test_daemon_write_config (d, "[service:chatty]\nexec=@HELPERS@/chatty.sh\nenv=LINES=50\nautorestart=false\n"
                                    "log-date-format=%Y-%m-%d %H:%M:%S %z\n");
  tend_test_daemon_start (d);
  out = log_path (d, "chatty-out.log");
  g_assert_true (tend_test_wait_lines (out, 51, 10000));
  lines = tend_test_read_lines (out);
  for (guint i = 0; i < 50; i++) {
    if (!g_regex_match (re, lines[i], 0, NULL))
      g_error ("line %u has no timestamp in the format: %s", i, lines[i]);
  }
  /* the unfinished last line is kept, stamped too */
  g_assert_true (g_str_has_suffix (lines[50], ": partial-last-line"));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_long_line_split (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  gsize total = 0;
  guint n;

  tend_test_daemon_write_config (d, "[service:long]\nexec=@HELPERS@/long-line.sh\nenv=LENGTH=150000\n"
                                    "autorestart=false\n");
  tend_test_daemon_start (d);
  out = log_path (d, "long-out.log");
  g_assert_true (tend_test_wait_lines (out, 4, 10000));
  lines = tend_test_read_lines (out);
  n = g_strv_length (lines);
  g_assert_cmpuint (n, ==, 4);
  /* 150000 bytes: two marked 64 KiB pieces, then the rest; nothing lost */
  for (guint i = 0; i < 3; i++) {
    gsize len = strlen (lines[i]);
    if (i < 2) {
      g_assert_true (g_str_has_suffix (lines[i], " [...]"));
      len -= strlen (" [...]");
    }
    for (gsize j = 0; j < len; j++)
      g_assert_cmpint (lines[i][j], ==, 'x');
    total += len;
  }
  g_assert_cmpuint (total, ==, 150000);
  g_assert_cmpstr (lines[3], ==, "after");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* Once reads have grown, a long line often arrives whole with its newline: it must be split all the same. */
static void
test_many_long_lines (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  gsize total = 0;
  guint n;

  tend_test_daemon_write_config (d, "[service:long]\nexec=@HELPERS@/long-line.sh\nenv=LENGTH=100000;COUNT=30\n"
                                    "autorestart=false\n");
  tend_test_daemon_start (d);
  out = log_path (d, "long-out.log");
  /* each 100000-byte line is a marked 64 KiB piece and the rest: 60 lines, then "after" */
  g_assert_true (tend_test_wait_lines (out, 61, 20000));
  lines = tend_test_read_lines (out);
  n = g_strv_length (lines);
  g_assert_cmpuint (n, ==, 61);
  for (guint i = 0; i < 60; i++) {
    gsize len = strlen (lines[i]);
    g_assert_cmpuint (len, <=, 65536 + strlen (" [...]"));
    if (i % 2 == 0) {
      g_assert_true (g_str_has_suffix (lines[i], " [...]"));
      len -= strlen (" [...]");
    }
    total += len;
  }
  g_assert_cmpuint (total, ==, 30 * 100000);
  g_assert_cmpstr (lines[60], ==, "after");
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static void
test_instances_and_merge (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *split0 = NULL, *split1 = NULL, *merged = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *never = NULL;

  tend_test_daemon_write_config (d, "[service:split]\nexec=@HELPERS@/instance-lines.sh\ninstances=2\n\n"
                                    "[service:merged]\nexec=@HELPERS@/instance-lines.sh\ninstances=2\nmerge-logs=true\n");
  tend_test_daemon_start (d);
  split0 = log_path (d, "split-out-0.log");
  split1 = log_path (d, "split-out-1.log");
  merged = log_path (d, "merged-out.log");
  g_assert_true (tend_test_wait_lines (split0, 3, 10000));
  g_assert_true (tend_test_wait_lines (split1, 3, 10000));
  g_assert_true (tend_test_wait_lines (merged, 6, 10000));
  g_file_get_contents (split1, &contents, NULL, NULL);
  g_assert_cmpstr (contents, ==, "instance 1 line 1\ninstance 1 line 2\ninstance 1 line 3\n");
  g_free (contents);
  g_file_get_contents (merged, &contents, NULL, NULL);
  g_assert_nonnull (strstr (contents, "instance 0 line 3\n"));
  g_assert_nonnull (strstr (contents, "instance 1 line 3\n"));
  never = log_path (d, "merged-out-0.log");
  g_assert_false (g_file_test (never, G_FILE_TEST_EXISTS));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static gboolean
file_has_text (gpointer data)
{
  const char *const *args = data;
  g_autofree char *contents = NULL;

  return g_file_get_contents (args[0], &contents, NULL, NULL) && strstr (contents, args[1]) != NULL;
}

static void
test_flush (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *conf = NULL;
  g_autofree char *out = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *contents = NULL;

  conf = g_strdup_printf ("[service:ticker]\nexec=@HELPERS@/ticker.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  out = log_path (d, "ticker-out.log");
  g_assert_true (tend_test_wait_lines (out, 20, 10000));
  reply = gdbus_call (d, "/org/tend/Tend1", "org.tend.Manager1.Flush", "ticker");
  /* the file is emptied in place and keeps growing from where the service is now */
  g_file_get_contents (out, &contents, NULL, NULL);
  g_assert_false (g_str_has_prefix (contents, "tick 1\n"));
  g_assert_null (strstr (contents, "\ntick 1\n"));
  g_assert_true (tend_test_wait_lines (out, 5, 10000));
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (record, 0)));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

static guint64
dropped_bytes (TendTestDaemon *d, const char *name)
{
  g_autofree char *reply = gdbus_call (d, "/org/tend/Tend1", "org.tend.Manager1.Describe", name);
  const char *at = strstr (reply, "'log-dropped-bytes': <uint64 ");

  g_assert_nonnull (at);
  return g_ascii_strtoull (at + strlen ("'log-dropped-bytes': <uint64 "), NULL, 10);
}

typedef struct {
  TendTestDaemon *d;
  const char *needle;
} LogWait;

static gboolean
daemon_log_has (gpointer data)
{
  LogWait *w = data;
  return tend_test_daemon_log_contains (w->d, w->needle);
}

static void
test_full_disk (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *disk = tend_test_daemon_path (d, "small-disk");
  g_autofree char *filler = NULL;
  g_autofree char *out = NULL;
  g_autofree char *conf = NULL;
  LogWait dropping = { d, "dropping output until it works again" };
  LogWait resumed = { d, "ticker-out.log again" };
  const char *after[2];
  guint lines_before;

  if (geteuid () != 0) {
    g_test_skip ("mounting a small tmpfs needs root");
    return;
  }
  g_mkdir (disk, 0755);
  if (mount ("tmpfs", disk, "tmpfs", 0, "size=128k") < 0) {
    g_test_skip ("cannot mount a tmpfs here");
    return;
  }
  out = g_build_filename (disk, "ticker-out.log", NULL);
  filler = g_build_filename (disk, "filler", NULL);
  /* long lines, so the last partly used page of the file fills quickly too */
  conf = g_strdup_printf ("[service:ticker]\nexec=@HELPERS@/ticker.sh\nenv=RECORD=%s;PAD=%0200d\nout-file=%s\n",
                          record, 0, out);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  g_assert_true (tend_test_wait_lines (out, 5, 10000));

  {
    /* fill the disk to the last block */
    g_autofree char *of = g_strdup_printf ("of=%s", filler);
    const char *argv[] = { "dd", "if=/dev/zero", of, "bs=4k", NULL };
    int status;
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
                  NULL, &status, NULL);
  }
  g_assert_true (tend_test_wait (daemon_log_has, &dropping, 10000));
  g_assert_cmpuint (dropped_bytes (d, "ticker"), >, 0);
  /* supervision goes on: the same process, still running */
  g_assert_true (tend_test_pid_alive (tend_test_record_pid (record, 0)));
  g_assert_cmpuint (tend_test_count_lines (record), ==, 1);

  lines_before = tend_test_count_lines (out);
  g_unlink (filler);
  g_assert_true (tend_test_wait (daemon_log_has, &resumed, 10000));
  g_assert_true (tend_test_wait_lines (out, lines_before + 5, 10000));
  after[0] = out;
  after[1] = "tick";
  g_assert_true (tend_test_wait (file_has_text, after, 1000));
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  {
    /* whole lines only: the line the disk had room for in part is gone, not glued to the first one after */
    g_autoptr(GRegex) whole = g_regex_new ("^tick \\d+ 0{200}$", 0, 0, NULL);
    g_auto(GStrv) lines = tend_test_read_lines (out);
    g_autofree char *contents = NULL;
    gsize length = 0;

    g_assert_true (g_file_get_contents (out, &contents, &length, NULL));
    /* read into memory: the small disk goes away before any check can fail and leave it mounted */
    umount2 (disk, MNT_DETACH);
    g_assert_cmpuint (length, >, 0);
    g_assert_cmpint (contents[length - 1], ==, '\n');
    for (guint i = 0; lines[i] != NULL; i++) {
      if (!g_regex_match (whole, lines[i], 0, NULL))
        g_error ("line %u of %s is not a whole line of the service: \"%.80s...\" (%zu bytes)", i + 1, out, lines[i],
                 strlen (lines[i]));
    }
  }
}

static void
test_cli_logs (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *log = NULL;
  int status;

  tend_test_daemon_write_config (d, "[service:chatty]\nexec=@HELPERS@/chatty.sh\nenv=LINES=50\nautorestart=false\n");
  tend_test_daemon_start (d);
  log = log_path (d, "chatty-out.log");
  g_assert_true (tend_test_wait_lines (log, 51, 10000));

  status = tend_test_run_cli (d, &out, &err, "logs", "chatty", "--lines", "3", "--out", NULL);
  g_assert_cmpint (status, ==, 0);
  /* the last three lines, the unfinished last one included, each with the service's name */
  g_assert_cmpstr (out, ==, "chatty | line 49\nchatty | line 50\nchatty | partial-last-line\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* --timestamps does not stamp lines read back from the file with the time they are shown */
  status = tend_test_run_cli (d, &out, &err, "logs", "chatty", "--lines", "3", "--out", "--timestamps", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "chatty | line 49\nchatty | line 50\nchatty | partial-last-line\n");
  g_assert_nonnull (strstr (err, "--timestamps stamps the lines that arrive while following"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = tend_test_run_cli (d, &out, &err, "logs", "chatty", "--err", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "chatty[err] | to stderr\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = tend_test_run_cli (d, &out, &err, "logs", "nope", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "no service named nope"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = tend_test_run_cli (d, &out, &err, "logs", "--lines", "many", NULL);
  g_assert_cmpint (status, ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* tend flush empties the files in place */
  status = tend_test_run_cli (d, &out, &err, "flush", "chatty", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (tend_test_count_lines (log), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* without a daemon the files are still shown */
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_file_set_contents (log, "old line\n", -1, NULL);
  status = tend_test_run_cli (d, &out, &err, "logs", "chatty", "--out", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "chatty | old line\n");
}

typedef struct {
  const char *path;
  guint min_lines;
  const char *folder;
  guint min_rotated;
} FollowWait;

static guint
count_rotated (const char *folder)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += g_str_has_prefix (name, "ticker-out__");
  return n;
}

static gboolean
followed_enough (gpointer data)
{
  FollowWait *w = data;
  return tend_test_count_lines (w->path) >= w->min_lines && count_rotated (w->folder) >= w->min_rotated;
}

static void
test_cli_follow_across_rotation (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *followed = tend_test_daemon_path (d, "followed");
  g_autofree char *folder = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  FollowWait wait;
  GPid pid;
  int out_fd, wstatus;
  long previous = -1;

  conf = g_strdup_printf ("[plugin:logrotate]\nenabled=true\nmax-size=2K\ncompress=false\nretain=1000\n\n"
                          "[service:ticker]\nexec=@HELPERS@/ticker.sh\nenv=RECORD=%s;PAD=%040d\n", record, 0);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  folder = g_build_filename (d->home, "logs", NULL);
  out_fd = open (followed, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  {
    const char *argv[] = { tend, "--home", d->home, "logs", "ticker", "--out", "--follow", "--lines", "0", NULL };
    g_spawn_async_with_pipes_and_fds (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, NULL,
                                      NULL, -1, out_fd, -1, NULL, NULL, 0, &pid, NULL, NULL, NULL, &error);
  }
  close (out_fd);
  g_assert_no_error (error);
  tend_test_track_pid (pid);
  wait = (FollowWait) { followed, 200, folder, 5 };
  g_assert_true (tend_test_wait (followed_enough, &wait, 20000));
  kill (pid, SIGTERM);
  waitpid (pid, &wstatus, 0);

  /* every tick once, in order, although the file was rotated under the follower many times */
  lines = tend_test_read_lines (followed);
  for (guint i = 0; lines[i] != NULL; i++) {
    long tick;
    g_assert_true (g_str_has_prefix (lines[i], "ticker | tick "));
    tick = atol (lines[i] + strlen ("ticker | tick "));
    if (previous >= 0 && tick != previous + 1)
      g_error ("line %u: tick %ld after %ld", i, tick, previous);
    previous = tick;
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

/* --follow --timestamps: the lines already in the file as stored, those that arrive with the time they arrived. */
static void
test_cli_follow_timestamps (void)
{
  g_autoptr(TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *record = tend_test_daemon_path (d, "record");
  g_autofree char *followed = tend_test_daemon_path (d, "followed");
  g_autofree char *conf = NULL;
  g_autofree char *log = NULL;
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
  g_autoptr(GRegex) stamped =
      g_regex_new ("^(\\d{4})-(\\d\\d)-(\\d\\d) (\\d\\d):(\\d\\d):(\\d\\d) ticker \\| tick \\d+$", 0, 0, NULL);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  gint64 started, ended;
  GPid pid;
  int out_fd, wstatus;

  conf = g_strdup_printf ("[service:ticker]\nexec=@HELPERS@/ticker.sh\nenv=RECORD=%s\n", record);
  tend_test_daemon_write_config (d, conf);
  tend_test_daemon_start (d);
  log = log_path (d, "ticker-out.log");
  g_assert_true (tend_test_wait_lines (log, 5, 10000));
  out_fd = open (followed, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  /* whole seconds: the stamps have no finer unit */
  started = g_get_real_time () / G_USEC_PER_SEC;
  {
    const char *argv[] = { tend, "--home", d->home, "logs", "ticker", "--out", "--follow", "--timestamps",
                           "--lines", "3", NULL };
    g_spawn_async_with_pipes_and_fds (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, NULL,
                                      NULL, -1, out_fd, -1, NULL, NULL, 0, &pid, NULL, NULL, NULL, &error);
  }
  close (out_fd);
  g_assert_no_error (error);
  tend_test_track_pid (pid);
  g_assert_true (tend_test_wait_lines (followed, 13, 20000));
  kill (pid, SIGTERM);
  waitpid (pid, &wstatus, 0);
  ended = g_get_real_time () / G_USEC_PER_SEC + 1;

  lines = tend_test_read_lines (followed);
  /* the tail, as stored: no time was known for it */
  for (guint i = 0; i < 3; i++) {
    if (!g_str_has_prefix (lines[i], "ticker | tick "))
      g_error ("line %u of the tail was changed: %s", i, lines[i]);
  }
  /* what arrived while following: stamped with the time it arrived */
  for (guint i = 3; lines[i] != NULL; i++) {
    g_autoptr(GMatchInfo) match = NULL;
    g_autoptr(GDateTime) when = NULL;
    int f[6];

    if (!g_regex_match (stamped, lines[i], 0, &match))
      g_error ("line %u arrived while following but has no time stamp: %s", i, lines[i]);
    for (guint k = 0; k < 6; k++) {
      g_autofree char *field = g_match_info_fetch (match, (int) k + 1);
      f[k] = atoi (field);
    }
    when = g_date_time_new_local (f[0], f[1], f[2], f[3], f[4], f[5]);
    g_assert_cmpint (g_date_time_to_unix (when), >=, started);
    g_assert_cmpint (g_date_time_to_unix (when), <=, ended);
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/logs/timestamps", test_timestamps);
  g_test_add_func ("/logs/long-line-split", test_long_line_split);
  g_test_add_func ("/logs/many-long-lines", test_many_long_lines);
  g_test_add_func ("/logs/instances-and-merge", test_instances_and_merge);
  g_test_add_func ("/logs/flush", test_flush);
  g_test_add_func ("/logs/full-disk", test_full_disk);
  g_test_add_func ("/logs/cli-logs-and-flush", test_cli_logs);
  g_test_add_func ("/logs/cli-follow-across-rotation", test_cli_follow_across_rotation);
  g_test_add_func ("/logs/cli-follow-timestamps", test_cli_follow_timestamps);
  return g_test_run ();
}
