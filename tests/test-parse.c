/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <unistd.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "tend-error.h"
#include "tend-date-format.h"
#include "tend-parse.h"
#include "tend-proc.h"

static void
test_duration_good (void)
{
  static const struct {
    const char *text;
    guint64 ms;
  } cases[] = {
    { "0", 0 },
    { "250", 250 },
    { "250ms", 250 },
    { "10s", 10000 },
    { "5m", 300000 },
    { "1h", 3600000 },
    { "1.5s", 1500 },
    { "0.5m", 30000 },
    { "1.25h", 4500000 },
    { "1600ms", 1600 },
    { "2.000s", 2000 },
    { "1.0000000000s", 1000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    guint64 ms = G_MAXUINT64;

    g_assert_true (tend_parse_duration (cases[i].text, &ms, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (ms, ==, cases[i].ms);
  }
}

static void
test_duration_bad (void)
{
  static const struct {
    const char *text;
    const char *reason;
  } cases[] = {
    { "", "not a duration: \"\" (use a number with ms, s, m or h)" },
    { "10x", "not a duration: \"10x\" (use a number with ms, s, m or h)" },
    { "s", "not a duration" },
    { "-1s", "must not be negative" },
    { "1.s", "not a duration" },
    { ".5s", "not a duration" },
    { "10 s", "not a duration" },
    { " 10s", "not a duration" },
    { "10S", "not a duration" },
    { "1.5", "finer than a millisecond" },
    { "1.0005s", "finer than a millisecond" },
    { "1.00000000001s", "finer than a millisecond" },
    { "99999999999999999999", "duration too large" },
    { "18446744073709551615h", "duration too large" },
    { "10s5", "not a duration" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    guint64 ms = 42;

    g_assert_false (tend_parse_duration (cases[i].text, &ms, &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, cases[i].reason));
    g_assert_cmpuint (ms, ==, 42);
  }
}

static void
test_size_good (void)
{
  static const struct {
    const char *text;
    guint64 bytes;
  } cases[] = {
    { "0", 0 },
    { "512", 512 },
    { "512B", 512 },
    { "64K", 65536 },
    { "64k", 65536 },
    { "64KB", 65536 },
    { "50M", 50 * 1024 * 1024 },
    { "50MB", 50 * 1024 * 1024 },
    { "50mb", 50 * 1024 * 1024 },
    { "1G", G_GUINT64_CONSTANT (1) << 30 },
    { "1.5G", (G_GUINT64_CONSTANT (3) << 30) / 2 },
    { "0.5K", 512 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    guint64 bytes = G_MAXUINT64;

    g_assert_true (tend_parse_size (cases[i].text, &bytes, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (bytes, ==, cases[i].bytes);
  }
}

static void
test_size_bad (void)
{
  static const struct {
    const char *text;
    const char *reason;
  } cases[] = {
    { "", "not a size: \"\" (use a number with K, M or G)" },
    { "50X", "not a size: \"50X\" (use a number with K, M or G)" },
    { "M", "not a size" },
    { "-5M", "must not be negative" },
    { "50MBB", "not a size" },
    { "50 M", "not a size" },
    { "1.3", "not a whole number of bytes" },
    { "99999999999999999999", "size too large" },
    { "17179869184G", "size too large" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    guint64 bytes = 42;

    g_assert_false (tend_parse_size (cases[i].text, &bytes, &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, cases[i].reason));
    g_assert_cmpuint (bytes, ==, 42);
  }
}

static void
test_bool (void)
{
  const char *bad[] = { "yes", "True", "TRUE", "no", "", "2", "on" };
  gboolean b = FALSE;

  g_assert_true (tend_parse_bool ("true", &b, NULL));
  g_assert_true (b);
  g_assert_true (tend_parse_bool ("false", &b, NULL));
  g_assert_false (b);
  g_assert_true (tend_parse_bool ("1", &b, NULL));
  g_assert_true (b);
  g_assert_true (tend_parse_bool ("0", &b, NULL));
  g_assert_false (b);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *expected = g_strdup_printf ("not a boolean: \"%s\" (use true or false)", bad[i]);

    g_assert_false (tend_parse_bool (bad[i], &b, &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
    g_assert_cmpstr (error->message, ==, expected);
  }
}

static void
test_uint (void)
{
  g_autoptr(GError) error = NULL;
  guint64 v = 0;

  g_assert_true (tend_parse_uint ("7", 1, 10, &v, NULL));
  g_assert_cmpuint (v, ==, 7);
  g_assert_true (tend_parse_uint ("18446744073709551615", 0, G_MAXUINT64, &v, NULL));
  g_assert_cmpuint (v, ==, G_MAXUINT64);

  g_assert_false (tend_parse_uint ("0", 1, 1024, &v, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "out of range: 0 (use 1 to 1024)");
  g_clear_error (&error);

  g_assert_false (tend_parse_uint ("1025", 1, 1024, &v, &error));
  g_assert_cmpstr (error->message, ==, "out of range: 1025 (use 1 to 1024)");
  g_clear_error (&error);

  g_assert_false (tend_parse_uint ("18446744073709551616", 0, G_MAXUINT64, &v, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  for (guint i = 0; i < 6; i++) {
    const char *bad[] = { "", "abc", "-1", "+1", " 1", "1.0" };
    g_autofree char *expected = g_strdup_printf ("not a number: \"%s\"", bad[i]);

    g_assert_false (tend_parse_uint (bad[i], 0, 100, &v, &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
    g_assert_cmpstr (error->message, ==, expected);
    g_clear_error (&error);
  }
}

static void
test_signal (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *rt = NULL;
  int sig = 0;

  g_assert_true (tend_parse_signal ("SIGTERM", &sig, NULL));
  g_assert_cmpint (sig, ==, SIGTERM);
  g_assert_true (tend_parse_signal ("INT", &sig, NULL));
  g_assert_cmpint (sig, ==, SIGINT);
  g_assert_true (tend_parse_signal ("hup", &sig, NULL));
  g_assert_cmpint (sig, ==, SIGHUP);
  g_assert_true (tend_parse_signal ("sigusr2", &sig, NULL));
  g_assert_cmpint (sig, ==, SIGUSR2);
  g_assert_true (tend_parse_signal ("9", &sig, NULL));
  g_assert_cmpint (sig, ==, SIGKILL);

  for (guint i = 0; i < 5; i++) {
    const char *bad[] = { "SIGFOO", "", "0", "1000", "SIG" };
    g_assert_false (tend_parse_signal (bad[i], &sig, &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_prefix (error->message, "not a signal: "));
    g_clear_error (&error);
  }

  g_assert_cmpstr (tend_signal_to_string (SIGTERM), ==, "SIGTERM");
  g_assert_cmpstr (tend_signal_to_string (SIGKILL), ==, "SIGKILL");
  rt = g_strdup_printf ("%d", SIGRTMIN + 1);
  g_assert_cmpstr (tend_signal_to_string (SIGRTMIN + 1), ==, rt);
  /* what it prints, it parses */
  for (int s = 1; s < 32; s++) {
    g_assert_true (tend_parse_signal (tend_signal_to_string (s), &sig, NULL));
    g_assert_cmpint (sig, ==, s);
  }
}

static void
test_env_list (void)
{
  g_auto(GStrv) env = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (tend_parse_env_list ("NODE_ENV=production;PORT=7777;EXTENSION=3333", &env, &error));
  g_assert_no_error (error);
  g_assert_cmpstrv (env, ((const char *[]) { "NODE_ENV=production", "PORT=7777", "EXTENSION=3333", NULL }));
  g_clear_pointer (&env, g_strfreev);

  g_assert_true (tend_parse_env_list (" A = 1 ; ;B=x=y;_C=;", &env, &error));
  g_assert_cmpstrv (env, ((const char *[]) { "A=1", "B=x=y", "_C=", NULL }));
  g_clear_pointer (&env, g_strfreev);

  g_assert_true (tend_parse_env_list ("PATHS=/a\\;/b;BS=c:\\\\;X=\\n", &env, &error));
  g_assert_cmpstrv (env, ((const char *[]) { "PATHS=/a;/b", "BS=c:\\", "X=\\n", NULL }));
  g_clear_pointer (&env, g_strfreev);

  g_assert_true (tend_parse_env_list ("", &env, &error));
  g_assert_nonnull (env);
  g_assert_cmpuint (g_strv_length (env), ==, 0);
  g_clear_pointer (&env, g_strfreev);

  g_assert_false (tend_parse_env_list ("A=1;NOVALUE", &env, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "not KEY=VALUE: \"NOVALUE\"");
  g_assert_null (env);
  g_clear_error (&error);

  g_assert_false (tend_parse_env_list ("1A=1", &env, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "not a variable name: \"1A\""));
  g_clear_error (&error);

  g_assert_false (tend_parse_env_list ("A-B=1", &env, &error));
  g_assert_true (g_str_has_prefix (error->message, "not a variable name: \"A-B\""));
  g_clear_error (&error);

  g_assert_false (tend_parse_env_list ("=1", &env, &error));
  g_assert_true (g_str_has_prefix (error->message, "not a variable name: \"\""));
}

static void
test_name_list (void)
{
  g_auto(GStrv) a = tend_parse_name_list ("a, b;c  d,,");
  g_auto(GStrv) b = tend_parse_name_list ("");
  g_auto(GStrv) c = tend_parse_name_list (NULL);

  g_assert_cmpstrv (a, ((const char *[]) { "a", "b", "c", "d", NULL }));
  g_assert_cmpuint (g_strv_length (b), ==, 0);
  g_assert_nonnull (c);
  g_assert_cmpuint (g_strv_length (c), ==, 0);
}

typedef struct {
  char *dir;
} TmpFixture;

static void
tmp_setup (TmpFixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("tend-test-parse-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
tmp_teardown (TmpFixture *fx, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (fx->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (fx->dir, name, NULL);
    g_assert_cmpint (g_remove (path), ==, 0);
  }
  g_assert_cmpint (g_rmdir (fx->dir), ==, 0);
  g_free (fx->dir);
}

static char *
write_tmp (TmpFixture *fx, const char *name, const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (fx->dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_env_file_good (TmpFixture *fx, gconstpointer data)
{
  g_autofree char *path = write_tmp (fx, "app.env",
                                     "# comment\n"
                                     "\n"
                                     "NODE_ENV=production\n"
                                     "  export PORT = 7777  \n"
                                     "DQ=\"hello world\"\n"
                                     "SQ='a \"b\" c'\r\n"
                                     "EMPTY=\n"
                                     "URL=http://x/?a=b#frag\n"
                                     "exportX=1\n");
  g_auto(GStrv) env = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (tend_parse_env_file (path, &env, &error));
  g_assert_no_error (error);
  g_assert_cmpstrv (env, ((const char *[]) { "NODE_ENV=production", "PORT=7777", "DQ=hello world",
                                             "SQ=a \"b\" c", "EMPTY=", "URL=http://x/?a=b#frag",
                                             "exportX=1", NULL }));
}

static void
test_env_file_bad (TmpFixture *fx, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (fx->dir, "missing.env", NULL);
  g_autofree char *bad_line = write_tmp (fx, "bad.env", "A=1\n\njust words\n");
  g_autofree char *bad_name = write_tmp (fx, "name.env", "A=1\n1X=2\n");
  g_autofree char *bad_quote = write_tmp (fx, "quote.env", "A=1\nB='x\"\n");
  g_auto(GStrv) env = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;

  g_assert_false (tend_parse_env_file (missing, &env, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  expected = g_strdup_printf ("%s: cannot read: %s", missing, g_strerror (ENOENT));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  g_assert_false (tend_parse_env_file (fx->dir, &env, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
  g_clear_error (&error);

  g_assert_false (tend_parse_env_file (bad_line, &env, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  expected = g_strdup_printf ("%s:3: not KEY=VALUE", bad_line);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  g_assert_false (tend_parse_env_file (bad_name, &env, &error));
  expected = g_strdup_printf ("%s:2: not a variable name before =", bad_name);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_null (env);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  g_assert_false (tend_parse_env_file (bad_quote, &env, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  expected = g_strdup_printf ("%s:2: unmatched quote", bad_quote);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  /* a FIFO is refused at once: opening it for reading would wait for a writer */
  {
    g_autofree char *fifo = g_build_filename (fx->dir, "fifo.env", NULL);
    g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
    g_assert_false (tend_parse_env_file (fifo, &env, &error));
    expected = g_strdup_printf ("%s: not a regular file but a FIFO", fifo);
    g_assert_cmpstr (error->message, ==, expected);
    g_clear_error (&error);
    g_clear_pointer (&expected, g_free);
    g_unlink (fifo);
  }
}

static void
test_listen_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  guint16 port = 1;

  g_assert_true (tend_parse_listen_address ("127.0.0.1:9615", &host, &port, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (host, ==, "127.0.0.1");
  g_assert_cmpuint (port, ==, 9615);
  g_clear_pointer (&host, g_free);

  g_assert_true (tend_parse_listen_address ("[::1]:0", &host, &port, &error));
  g_assert_cmpstr (host, ==, "::1");
  g_assert_cmpuint (port, ==, 0);
  g_clear_pointer (&host, g_free);

  g_assert_true (tend_parse_listen_address ("localhost:65535", &host, &port, &error));
  g_assert_cmpstr (host, ==, "localhost");
  g_assert_cmpuint (port, ==, 65535);
  g_clear_pointer (&host, g_free);

  for (guint i = 0; i < 9; i++) {
    const char *bad[] = { "", "9615", ":9615", "host:", "host:65536", "host:x", "::1:80", "[::1]80", "a b:1" };
    g_assert_false (tend_parse_listen_address (bad[i], &host, &port, &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_prefix (error->message, "not HOST:PORT: "));
    g_assert_null (host);
    g_clear_error (&error);
  }
}

static void
test_service_name (void)
{
  const char *good[] = { "a", "gateway-3333", "my_app.v2", "A1", "..a", "all2" };
  const char *bad[] = { "", ".", "..", "all", "a b", "a/b", "a:b", "é", NULL };
  g_autofree char *long_name = g_strnfill (65, 'x');
  g_autofree char *max_name = g_strnfill (64, 'x');

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (tend_service_name_is_valid (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (tend_service_name_is_valid (bad[i]));
  g_assert_true (tend_service_name_is_valid (max_name));
  g_assert_false (tend_service_name_is_valid (long_name));
}

static void
test_ranges (void)
{
  g_autoptr(GError) error = NULL;
  guint64 v = 7;

  g_assert_true (tend_parse_duration_in_range ("24h", 0, TEND_DURATION_MAX_MS, &v, &error));
  g_assert_cmpuint (v, ==, 86400000);
  g_assert_false (tend_parse_duration_in_range ("4294967296s", 0, TEND_DURATION_MAX_MS, &v, &error));
  g_assert_cmpstr (error->message, ==, "out of range: \"4294967296s\" (use 0 to 24h)");
  g_clear_error (&error);
  g_assert_false (tend_parse_duration_in_range ("4294967297ms", 0, TEND_DURATION_MAX_MS, &v, &error));
  g_assert_cmpstr (error->message, ==, "out of range: \"4294967297ms\" (use 0 to 24h)");
  g_clear_error (&error);
  g_assert_false (tend_parse_duration_in_range ("99ms", 100, 3600000, &v, &error));
  g_assert_cmpstr (error->message, ==, "out of range: \"99ms\" (use 100ms to 1h)");
  g_clear_error (&error);
  g_assert_false (tend_parse_duration_in_range ("5x", 0, 10, &v, &error));
  g_assert_cmpstr (error->message, ==, "not a duration: \"5x\" (use a number with ms, s, m or h)");
  g_clear_error (&error);
  g_assert_cmpuint (v, ==, 86400000);

  g_assert_true (tend_parse_size_in_range ("1024G", 0, TEND_SIZE_MAX, &v, &error));
  g_assert_cmpuint (v, ==, TEND_SIZE_MAX);
  g_assert_false (tend_parse_size_in_range ("1025G", 0, TEND_SIZE_MAX, &v, &error));
  g_assert_cmpstr (error->message, ==, "out of range: \"1025G\" (use 0 to 1024G)");
  g_clear_error (&error);
  g_assert_false (tend_parse_size_in_range ("1", 1024, 2048, &v, &error));
  g_assert_cmpstr (error->message, ==, "out of range: \"1\" (use 1K to 2K)");
  g_clear_error (&error);
}

static void
test_quote_for_message (void)
{
  static const struct {
    const char *text;
    gssize length;
    const char *quoted;
  } cases[] = {
    { "plain", -1, "\"plain\"" },
    { "", -1, "\"\"" },
    { "tab\there", -1, "\"tab\\there\"" },
    { "a\r\nb", -1, "\"a\\r\\nb\"" },
    { "\x1b[31mred", -1, "\"\\x1b[31mred\"" },
    { "del\x7f", -1, "\"del\\x7f\"" },
    { "nul\0after", 9, "\"nul\\x00after\"" },
    /* not UTF-8: byte by byte */
    { "bad\xff\xfe", -1, "\"bad\\xff\\xfe\"" },
    { "cut\xe2\x82", -1, "\"cut\\xe2\\x82\"" },
    /* printable Unicode stays, invisible and control Unicode is shown */
    { "caf\xc3\xa9 \xe2\x82\xac", -1, "\"caf\xc3\xa9 \xe2\x82\xac\"" },
    { "\xe2\x80\xaertl", -1, "\"\\u202ertl\"" },
    { "\xef\xbb\xbf" "bom", -1, "\"\\ufeffbom\"" },
    { "\xc2\x85next", -1, "\"\\u0085next\"" },
    /* backslashes and quotes read as typed */
    { "a\\qb \"x\"", -1, "\"a\\qb \"x\"\"" },
  };
  g_autofree char *long_text = g_strnfill (1024 * 1024, 'k');
  g_autofree char *eighty = g_strnfill (80, 'k');
  g_autofree char *seventy_nine = g_strnfill (79, 'k');
  g_autofree char *quoted = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *controls = g_strnfill (100, '\x01');

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *q = tend_quote_for_message (cases[i].text, cases[i].length);
    g_assert_cmpstr (q, ==, cases[i].quoted);
    g_assert_true (g_utf8_validate (q, -1, NULL));
  }

  /* a megabyte: 80 characters, an ellipsis and the length */
  quoted = tend_quote_for_message (long_text, -1);
  expected = g_strdup_printf ("\"%s\u2026\" (1048576 bytes)", eighty);
  g_assert_cmpstr (quoted, ==, expected);
  g_clear_pointer (&quoted, g_free);
  g_clear_pointer (&expected, g_free);
  /* exactly 80 fit */
  quoted = tend_quote_for_message (long_text, 80);
  expected = g_strdup_printf ("\"%s\"", eighty);
  g_assert_cmpstr (quoted, ==, expected);
  g_clear_pointer (&quoted, g_free);
  g_clear_pointer (&expected, g_free);
  /* an escape counts with its length and is never cut in half */
  quoted = tend_quote_for_message (controls, -1);
  g_assert_true (g_str_has_prefix (quoted, "\"\\x01\\x01"));
  g_assert_true (g_str_has_suffix (quoted, "\\x01\u2026\" (100 bytes)"));
  g_assert_cmpuint (strlen (quoted), ==, 1 + 20 * 4 + strlen ("\u2026\" (100 bytes)"));
  g_clear_pointer (&quoted, g_free);

  /* without quotes, for names */
  quoted = tend_shorten_for_message (long_text, -1);
  expected = g_strdup_printf ("%s\u2026", eighty);
  g_assert_cmpstr (quoted, ==, expected);
  g_clear_pointer (&quoted, g_free);
  quoted = tend_shorten_for_message (seventy_nine, -1);
  g_assert_cmpstr (quoted, ==, seventy_nine);
  g_clear_pointer (&quoted, g_free);
  quoted = tend_shorten_for_message ("a\nb", -1);
  g_assert_cmpstr (quoted, ==, "a\\nb");
}

static void
test_format (void)
{
  static const struct {
    guint64 ms;
    const char *text;
  } durations[] = {
    { 0, "0" }, { 1, "1ms" }, { 1600, "1600ms" }, { 2000, "2s" }, { 90000, "90s" },
    { 300000, "5m" }, { 3600000, "1h" }, { 5400000, "90m" }, { 1500, "1500ms" },
  };
  static const struct {
    guint64 bytes;
    const char *text;
  } sizes[] = {
    { 0, "0" }, { 123, "123" }, { 1024, "1K" }, { 65536, "64K" }, { 1536, "1536" },
    { 200 * 1024 * 1024, "200M" }, { G_GUINT64_CONSTANT (1) << 30, "1G" },
    { G_GUINT64_CONSTANT (3) << 29, "1536M" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (durations); i++) {
    g_autofree char *text = tend_format_duration (durations[i].ms);
    guint64 back;

    g_assert_cmpstr (text, ==, durations[i].text);
    g_assert_true (tend_parse_duration (text, &back, NULL));
    g_assert_cmpuint (back, ==, durations[i].ms);
  }
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    g_autofree char *text = tend_format_size (sizes[i].bytes);
    guint64 back;

    g_assert_cmpstr (text, ==, sizes[i].text);
    g_assert_true (tend_parse_size (text, &back, NULL));
    g_assert_cmpuint (back, ==, sizes[i].bytes);
  }
}

static void
test_proc_stat (void)
{
  /* comm may hold spaces and ')': the fields are counted from the last ')' */
  const char *text = "4242 (my (odd) prog) S 1 4242 4200 0 -1 4194560 100 0 0 0 "
                     "250 75 0 0 20 0 3 0 987654 123456789 2048 18446744073709551615\n";
  TendProcInfo info;

  g_assert_true (tend_proc_parse_stat (4242, text, &info));
  g_assert_cmpint (info.pid, ==, 4242);
  g_assert_cmpint (info.state, ==, 'S');
  g_assert_cmpint (info.ppid, ==, 1);
  g_assert_cmpint (info.pgid, ==, 4242);
  g_assert_cmpint (info.sid, ==, 4200);
  g_assert_cmpuint (info.utime, ==, 250);
  g_assert_cmpuint (info.stime, ==, 75);
  g_assert_cmpuint (info.start_time, ==, 987654);
  g_assert_cmpint (info.rss_pages, ==, 2048);
  g_assert_false (tend_proc_parse_stat (1, "1 (truncated", &info));
  g_assert_false (tend_proc_parse_stat (1, "1 (x) S 1 2", &info));
  /* and the live one of this very process */
  g_assert_true (tend_proc_read_stat (getpid (), &info));
  g_assert_cmpint (info.ppid, ==, getppid ());
}

/* PM2's moment.js formats become strftime's (tend import and the reader's hint), and the checks */
static void
test_date_format (void)
{
  static const struct {
    const char *moment, *strftime, *dropped;
  } cases[] = {
    { "YYYY-MM-DD HH:mm:ss Z", "%Y-%m-%d %H:%M:%S %z", NULL },
    { "YYYY-MM-DDTHH:mm:ss.SSSZZ", "%Y-%m-%dT%H:%M:%S%z", "SSS" },
    { "DD/MM/YY hh:mm A", "%d/%m/%y %I:%M %p", NULL },
    { "dddd D MMMM YYYY [at] H:m", "%A %-d %B %Y at %-H:%-M", NULL },
    { "Do MMM", " %b", "Do" },
    { "[100%] X", "100%% %s", NULL },
  };
  static const char *const good[] = { "%Y-%m-%d %H:%M:%S %z", "%F %T", "[%-d/%_m %H:%M]", "%Ey", "%s", "%10Y" };
  static const char *const bad[] = { "", "YYYY", "plain", "%%", "%Y%", "%Y %K", "%n%t" };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *dropped = NULL;
    g_autofree char *out = tend_date_format_from_moment (cases[i].moment, &dropped);
    g_autoptr(GError) error = NULL;

    g_assert_cmpstr (out, ==, cases[i].strftime);
    g_assert_cmpstr (dropped, ==, cases[i].dropped);
    if (strchr (out, '%') != NULL && strcmp (out, "100%% %s") != 0) {
      g_assert_true (tend_date_format_check (out, &error));
      g_assert_no_error (error);
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr(GError) error = NULL;
    g_assert_true (tend_date_format_check (good[i], &error));
    g_assert_no_error (error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    g_assert_false (tend_date_format_check (bad[i], &error));
    g_assert_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/tend/parse/duration/good", test_duration_good);
  g_test_add_func ("/tend/parse/duration/bad", test_duration_bad);
  g_test_add_func ("/tend/parse/size/good", test_size_good);
  g_test_add_func ("/tend/parse/size/bad", test_size_bad);
  g_test_add_func ("/tend/parse/ranges", test_ranges);
  g_test_add_func ("/tend/parse/quote-for-message", test_quote_for_message);
  g_test_add_func ("/tend/parse/bool", test_bool);
  g_test_add_func ("/tend/parse/uint", test_uint);
  g_test_add_func ("/tend/parse/signal", test_signal);
  g_test_add_func ("/tend/parse/env-list", test_env_list);
  g_test_add_func ("/tend/parse/name-list", test_name_list);
  g_test_add ("/tend/parse/env-file/good", TmpFixture, NULL, tmp_setup, test_env_file_good, tmp_teardown);
  g_test_add ("/tend/parse/env-file/bad", TmpFixture, NULL, tmp_setup, test_env_file_bad, tmp_teardown);
  g_test_add_func ("/tend/parse/listen-address", test_listen_address);
  g_test_add_func ("/tend/parse/service-name", test_service_name);
  g_test_add_func ("/tend/parse/format", test_format);
  g_test_add_func ("/tend/parse/date-format", test_date_format);

  g_test_add_func ("/parse/proc-stat", test_proc_stat);
  return g_test_run ();
}
