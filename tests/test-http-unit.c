/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The http plugin's pure parts, compiled in: log tails, the token, label escaping, times. */
#include "config.h"

#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-http-api.h"
#include "tend-http-auth.h"
#include "tend-http-head.h"

static char *
write_temp (const char *name, const char *contents, gssize length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tend-http-unit-XXXXXX", &error);
  char *path;

  g_assert_no_error (error);
  path = g_build_filename (dir, name, NULL);
  if (contents != NULL) {
    g_file_set_contents (path, contents, length, &error);
    g_assert_no_error (error);
  }
  return path;
}

static void
remove_temp (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
}

static GStrv
tail (const char *contents, gssize length, guint n, gsize max_bytes)
{
  g_autofree char *path = write_temp ("log", contents, length);
  g_autoptr(GError) error = NULL;
  GStrv lines = tend_http_tail_lines (path, geteuid (), n, max_bytes, &error);

  g_assert_no_error (error);
  remove_temp (path);
  return lines;
}

static void
test_tail_small (void)
{
  g_auto(GStrv) a = tail ("l1\nl2\nl3\nl4\nl5\n", -1, 3, 1 << 20);
  g_auto(GStrv) b = tail ("l1\nl2\nl3\nl4\nl5\n", -1, 50, 1 << 20);
  g_auto(GStrv) c = tail ("l1\nl2\nl3", -1, 2, 1 << 20);
  g_auto(GStrv) d = tail ("", 0, 5, 1 << 20);
  g_auto(GStrv) e = tail ("\n", -1, 5, 1 << 20);
  g_auto(GStrv) f = tail ("a\n\nb\n\n", -1, 3, 1 << 20);
  g_auto(GStrv) g = tail ("x\xff\xfey\n", -1, 1, 1 << 20);

  g_assert_cmpstrv (a, ((const char *[]) { "l3", "l4", "l5", NULL }));
  g_assert_cmpstrv (b, ((const char *[]) { "l1", "l2", "l3", "l4", "l5", NULL }));
  /* no final newline: the last line counts all the same */
  g_assert_cmpstrv (c, ((const char *[]) { "l2", "l3", NULL }));
  g_assert_cmpstrv (d, ((const char *[]) { NULL }));
  g_assert_cmpstrv (e, ((const char *[]) { "", NULL }));
  g_assert_cmpstrv (f, ((const char *[]) { "", "b", "", NULL }));
  /* JSON needs UTF-8 */
  g_assert_true (g_utf8_validate (g[0], -1, NULL));
  g_assert_true (g_str_has_prefix (g[0], "x"));
  g_assert_true (g_str_has_suffix (g[0], "y"));
}

static void
test_tail_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = tend_http_tail_lines ("/nonexistent/tend/log", geteuid (), 10, 1 << 20, &error);

  g_assert_no_error (error);
  g_assert_cmpstrv (lines, ((const char *[]) { NULL }));
}

/* The daemon reads as root: a link put in place of the log (to a root-only file, say) is refused, not read. */
static void
test_tail_refuses_link (void)
{
  g_autofree char *secret = write_temp ("secret", "root only\n", -1);
  g_autofree char *dir = g_path_get_dirname (secret);
  g_autofree char *link = g_build_filename (dir, "app.log", NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_cmpint (symlink (secret, link), ==, 0);
  lines = tend_http_tail_lines (link, geteuid (), 10, 1 << 20, &error);
  g_assert_null (lines);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_unlink (link);
  remove_temp (secret);
}

/* A file of several 64 KiB blocks: the tail is read across block boundaries, and only the end is read. */
static void
test_tail_large (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_auto(GStrv) last = NULL;
  g_auto(GStrv) many = NULL;
  g_auto(GStrv) capped = NULL;

  for (guint i = 0; i < 200000; i++)
    g_string_append_printf (text, "line %u of the log\n", i);
  last = tail (text->str, (gssize) text->len, 5, 8 << 20);
  g_assert_cmpuint (g_strv_length (last), ==, 5);
  g_assert_cmpstr (last[0], ==, "line 199995 of the log");
  g_assert_cmpstr (last[4], ==, "line 199999 of the log");
  many = tail (text->str, (gssize) text->len, 10000, 8 << 20);
  g_assert_cmpuint (g_strv_length (many), ==, 10000);
  g_assert_cmpstr (many[0], ==, "line 190000 of the log");
  /* a byte cap: whole lines only, the partial first one dropped */
  capped = tail (text->str, (gssize) text->len, 10000, 1000);
  g_assert_cmpuint (g_strv_length (capped), >, 0);
  g_assert_cmpuint (g_strv_length (capped), <, 60);
  for (guint i = 0; capped[i] != NULL; i++)
    g_assert_true (g_str_has_prefix (capped[i], "line "));
  g_assert_cmpstr (capped[g_strv_length (capped) - 1], ==, "line 199999 of the log");
}

static void
test_token (void)
{
  g_autofree char *path = write_temp ("token", NULL, 0);
  g_autofree char *contents = NULL;
  g_autofree char *header = NULL;
  g_autoptr(GError) error = NULL;
  TendHttpToken token;
  gboolean created = FALSE;
  struct stat st;

  /* missing: created, 64 hex digits and a newline, 0600 */
  g_assert_true (tend_http_token_load (path, &token, &created, &error));
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_true (token.set);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpuint (strlen (contents), ==, 65);
  g_strstrip (contents);

  header = g_strdup_printf ("Bearer %s", contents);
  g_assert_cmpint (tend_http_token_check (&token, header), ==, TEND_HTTP_AUTH_OK);
  g_clear_pointer (&header, g_free);
  header = g_strdup_printf ("bearer   %s  ", contents);
  g_assert_cmpint (tend_http_token_check (&token, header), ==, TEND_HTTP_AUTH_OK);
  g_clear_pointer (&header, g_free);
  header = g_strdup_printf ("Bearer %.63s", contents);
  g_assert_cmpint (tend_http_token_check (&token, header), ==, TEND_HTTP_AUTH_WRONG);
  g_clear_pointer (&header, g_free);
  header = g_strdup_printf ("Bearer %sa", contents);
  g_assert_cmpint (tend_http_token_check (&token, header), ==, TEND_HTTP_AUTH_WRONG);
  g_assert_cmpint (tend_http_token_check (&token, NULL), ==, TEND_HTTP_AUTH_MISSING);
  g_assert_cmpint (tend_http_token_check (&token, "Bearer"), ==, TEND_HTTP_AUTH_MALFORMED);
  g_assert_cmpint (tend_http_token_check (&token, "Bearer "), ==, TEND_HTTP_AUTH_MALFORMED);
  g_assert_cmpint (tend_http_token_check (&token, "Basic abc"), ==, TEND_HTTP_AUTH_MALFORMED);
  g_assert_cmpint (tend_http_token_check (&token, "Bearerabc"), ==, TEND_HTTP_AUTH_MALFORMED);
  g_assert_cmpint (tend_http_token_check (&token, "Bearer a b"), ==, TEND_HTTP_AUTH_MALFORMED);
  g_assert_cmpint (tend_http_token_check (&token, "Bearer a,realm=x"), ==, TEND_HTTP_AUTH_MALFORMED);

  /* read again, whitespace stripped */
  g_assert_true (g_file_set_contents (path, "  s3cr3t-T0ken.x~+/=  \n\n", -1, NULL));
  g_assert_cmpint (chmod (path, 0600), ==, 0);
  g_assert_true (tend_http_token_load (path, &token, &created, &error));
  g_assert_false (created);
  g_assert_cmpint (tend_http_token_check (&token, "Bearer s3cr3t-T0ken.x~+/="), ==, TEND_HTTP_AUTH_OK);

  /* readable by group: refused */
  g_assert_cmpint (chmod (path, 0640), ==, 0);
  g_assert_false (tend_http_token_load (path, &token, NULL, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_false (token.set);
  g_clear_error (&error);

  /* empty: no token, which accepts nothing */
  g_assert_true (g_file_set_contents (path, " \n", -1, NULL));
  g_assert_cmpint (chmod (path, 0600), ==, 0);
  g_assert_false (tend_http_token_load (path, &token, NULL, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_FAILED);
  g_assert_cmpint (tend_http_token_check (&token, "Bearer x"), ==, TEND_HTTP_AUTH_WRONG);
  remove_temp (path);
}

/* Loads @path, expects the refusal @code with a message naming the file and saying @reason. */
static void
assert_token_refused (const char *path, int code, const char *reason)
{
  TendHttpToken token;
  g_autoptr(GError) error = NULL;

  g_assert_false (tend_http_token_load (path, &token, NULL, &error));
  g_assert_error (error, TEND_ERROR, code);
  g_assert_false (token.set);
  if (strstr (error->message, path) == NULL || strstr (error->message, reason) == NULL)
    g_error ("expected \"%s\" and \"%s\" in: %s", path, reason, error->message);
}

/* A FIFO would block an open() for reading until a writer comes: never. */
static void
test_token_fifo (void)
{
  if (g_test_subprocess ()) {
    g_autofree char *path = write_temp ("token", NULL, 0);
    g_assert_cmpint (mkfifo (path, 0600), ==, 0);
    assert_token_refused (path, TEND_ERROR_PERMISSION_DENIED, "is not a regular file (a FIFO)");
    remove_temp (path);
    return;
  }
  /* in a child with a deadline, so that a hang fails the test instead of stalling it */
  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_token_not_regular (void)
{
  g_autofree char *path = write_temp ("real", "s3cr3t\n", -1);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_autofree char *subdir = g_build_filename (dir, "sub", NULL);
  g_autofree char *dangling = g_build_filename (dir, "dangling", NULL);
  TendHttpToken token;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (chmod (path, 0600), ==, 0);
  g_assert_true (tend_http_token_load (path, &token, NULL, &error));
  g_assert_no_error (error);

  /* a symbolic link, even to a good file: whoever can change the link chooses the token */
  g_assert_cmpint (symlink (path, link), ==, 0);
  assert_token_refused (link, TEND_ERROR_PERMISSION_DENIED, "is a symbolic link");
  /* a dangling one is not "missing": nothing is created through it */
  g_assert_cmpint (symlink ("/nonexistent/token", dangling), ==, 0);
  assert_token_refused (dangling, TEND_ERROR_PERMISSION_DENIED, "is a symbolic link");
  g_assert_false (g_file_test ("/nonexistent/token", G_FILE_TEST_EXISTS));

  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);
  assert_token_refused (subdir, TEND_ERROR_PERMISSION_DENIED, "is not a regular file (a directory)");

  /* readable by everyone */
  g_assert_cmpint (chmod (path, 0604), ==, 0);
  assert_token_refused (path, TEND_ERROR_PERMISSION_DENIED, "readable or writable by group or others (mode 0604)");

  g_unlink (link);
  g_unlink (dangling);
  g_rmdir (subdir);
  remove_temp (path);
}

/* Mode 0600 is not enough: the file must be ours, or its owner can change the token. */
static void
test_token_other_owner (void)
{
  g_autofree char *path = NULL;
  struct passwd *nobody = getpwnam ("nobody");

  if (geteuid () != 0 || nobody == NULL) {
    g_test_skip ("giving a file to nobody needs root (CI runs as root)");
    return;
  }
  path = write_temp ("token", "s3cr3t\n", -1);
  g_assert_cmpint (chmod (path, 0600), ==, 0);
  g_assert_cmpint (chown (path, nobody->pw_uid, nobody->pw_gid), ==, 0);
  assert_token_refused (path, TEND_ERROR_PERMISSION_DENIED, "is owned by nobody");
  remove_temp (path);
}

static void
test_escape_and_time (void)
{
  g_autofree char *plain = tend_http_escape_label ("gateway-3333");
  g_autofree char *odd = tend_http_escape_label ("a\\b\"c\nd");
  g_autofree char *epoch = tend_http_format_time (0);
  g_autofree char *when = tend_http_format_time (G_GINT64_CONSTANT (1796032800123456));

  g_assert_cmpstr (plain, ==, "gateway-3333");
  g_assert_cmpstr (odd, ==, "a\\\\b\\\"c\\nd");
  g_assert_cmpstr (epoch, ==, "1970-01-01T00:00:00Z");
  g_assert_cmpstr (when, ==, "2026-11-30T10:00:00Z");
}

static TendHttpHeadResult
scan (const char *data, TendHttpHead *head)
{
  return tend_http_head_scan (data, strlen (data), NULL, head);
}

/* Where a head ends (as libsoup finds it) and what follows it. */
static void
test_head_ok (void)
{
  static const char get[] = "GET /api/tunnel HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
  static const char lf[] = "GET / HTTP/1.0\nHost: x\n\nrest";
  static const char leading[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
  TendHttpHead head;

  g_assert_cmpint (scan (get, &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpuint (head.length, ==, strlen (get) - strlen ("GET /next"));
  g_assert_cmpint (head.body, ==, TEND_HTTP_BODY_NONE);
  g_assert_cmpint (scan (lf, &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpuint (head.length, ==, strlen (lf) - 4);
  /* empty lines before the request line are skipped, as libsoup does */
  g_assert_cmpint (scan (leading, &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpuint (head.length, ==, strlen (leading));

  g_assert_cmpint (scan ("POST /x HTTP/1.1\r\ncontent-LENGTH:\t 0012 \t\r\n\r\n", &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpint (head.body, ==, TEND_HTTP_BODY_LENGTH);
  g_assert_cmpuint (head.body_length, ==, 12);
  g_assert_cmpint (scan ("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpint (head.body, ==, TEND_HTTP_BODY_NONE);
  g_assert_cmpint (scan ("POST /x HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", &head), ==,
                   TEND_HTTP_HEAD_OK);
  g_assert_cmpuint (head.body_length, ==, G_MAXINT64);
  g_assert_cmpint (scan ("POST /x HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n", &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpint (head.body, ==, TEND_HTTP_BODY_CHUNKED);
  /* header values may hold obs-text and tabs */
  g_assert_cmpint (scan ("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\tok\r\nX-Empty:\r\n\r\n", &head), ==, TEND_HTTP_HEAD_OK);
}

static void
test_head_incomplete (void)
{
  static const char whole[] = "GET /api/health/system HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n";
  g_autofree char *huge = NULL;
  TendHttpHead head;
  gsize resume = 0;

  g_assert_cmpint (scan ("", &head), ==, TEND_HTTP_HEAD_INCOMPLETE);
  g_assert_cmpint (scan ("GET / HTTP/1.1\r\nHost: x\r\n", &head), ==, TEND_HTTP_HEAD_INCOMPLETE);
  g_assert_cmpint (scan ("GET / HTTP/1.1\r\nHost: x\r\n\r", &head), ==, TEND_HTTP_HEAD_INCOMPLETE);
  /* libsoup reads on after "\r\n\r\n" at the very start: so do we */
  g_assert_cmpint (scan ("\r\n\r\n", &head), ==, TEND_HTTP_HEAD_INCOMPLETE);
  g_assert_cmpint (scan ("\n\n", &head), ==, TEND_HTTP_HEAD_INCOMPLETE);

  /* a byte at a time, going on where the last scan stopped: the same end */
  for (gsize n = 1; n < sizeof whole - 1; n++)
    g_assert_cmpint (tend_http_head_scan (whole, n, &resume, &head), ==, TEND_HTTP_HEAD_INCOMPLETE);
  g_assert_cmpint (tend_http_head_scan (whole, sizeof whole - 1, &resume, &head), ==, TEND_HTTP_HEAD_OK);
  g_assert_cmpuint (head.length, ==, sizeof whole - 1);

  /* too long, complete or not */
  huge = g_strnfill (TEND_HTTP_HEAD_MAX, 'a');
  memcpy (huge, "GET / HTTP/1.1\r\nX: ", 19);
  g_assert_cmpint (scan (huge, &head), ==, TEND_HTTP_HEAD_REFUSED);
  g_assert_cmpuint (head.status, ==, 431);
  g_assert_cmpstr (head.message, ==, "Request header too large");
}

static void
test_head_refused (void)
{
  static const char *const cases[][2] = {
    { "\r\n\r\n\r\n", "Bad request: no request line" },
    { "GET /\r\n\r\n", "Bad request: malformed request line" },
    { "GET  / HTTP/1.1\r\n\r\n", "Bad request: malformed request line" },
    { "GET / HTTP/1.1 \r\n\r\n", "Bad request: malformed request line" },
    { "GET\t/ HTTP/1.1\r\n\r\n", "Bad request: malformed request line" },
    { "G(T / HTTP/1.1\r\n\r\n", "Bad request: malformed request line" },
    { "GET /\x7f HTTP/1.1\r\n\r\n", "Bad request: malformed request line" },
    { "GET / http/1.1\r\n\r\n", "Bad request: malformed request line" },
    { "GET / HTTP/1.1\rX\r\n\r\n", "Bad request: malformed request line" },
    { "GET / HTTP/2.0\r\n\r\n", "HTTP version not supported" },
    { "GET / HTTP/1.2\r\n\r\n", "HTTP version not supported" },
    { "GET / HTTP/1.1\r\n Host: x\r\n\r\n", "Bad request: folded header line" },
    { "GET / HTTP/1.1\r\nHost x\r\n\r\n", "Bad request: header line without a colon" },
    { "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "Bad request: invalid header name" },
    { "GET / HTTP/1.1\r\n: x\r\n\r\n", "Bad request: invalid header name" },
    { "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", "Bad request: control character in a header value" },
    { "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", "Bad request: control character in a header value" },
    { "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", "Bad request: more than one Content-Length" },
    { "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", "Bad request: invalid Content-Length" },
    { "GET / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", "Bad request: invalid Content-Length" },
    { "GET / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", "Bad request: invalid Content-Length" },
    { "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n",
      "Bad request: more than one Transfer-Encoding" },
    { "GET / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", "Bad request: Transfer-Encoding other than chunked" },
    { "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
      "Bad request: both Transfer-Encoding and Content-Length" },
    { "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Bad request: Transfer-Encoding in an HTTP/1.0 request" },
  };
  TendHttpHead head;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    if (scan (cases[i][0], &head) != TEND_HTTP_HEAD_REFUSED)
      g_error ("not refused: %s", cases[i][0]);
    g_assert_cmpstr (head.message, ==, cases[i][1]);
    g_assert_cmpuint (head.status, ==, g_str_has_prefix (cases[i][1], "HTTP version") ? 505 : 400);
  }
  /* a NUL, which libsoup would drop from the name */
  g_assert_cmpint (tend_http_head_scan ("GET / HTTP/1.1\r\nTransfer-En\0coding: chunked\r\n\r\n", 47, NULL, &head), ==,
                   TEND_HTTP_HEAD_REFUSED);
  g_assert_cmpstr (head.message, ==, "Bad request: invalid header name");
}

static char *
to_json (JsonNode *node)
{
  gsize length = 0;
  char *text = tend_http_json_to_data (node, &length);

  g_assert_cmpuint (length, ==, strlen (text));
  return text;
}

/* Figures are written to the millisecond, in the shortest form that reads back the same. */
static void
test_json_numbers (void)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "uptime_seconds");
  /* what rounding to milliseconds by multiplying gives: 51.048000000000002 */
  json_builder_add_double_value (b, 51048 * 0.001);
  json_builder_set_member_name (b, "cpu_percent");
  json_builder_add_double_value (b, 0.1 + 0.2);
  json_builder_set_member_name (b, "whole");
  json_builder_add_double_value (b, 2.0);
  json_builder_set_member_name (b, "tiny");
  json_builder_add_double_value (b, -0.0001);
  json_builder_set_member_name (b, "fine");
  json_builder_add_double_value (b, 1.23456);
  json_builder_set_member_name (b, "big");
  json_builder_add_double_value (b, 1796032800.1234567);
  json_builder_set_member_name (b, "int");
  json_builder_add_int_value (b, -42);
  json_builder_set_member_name (b, "s");
  json_builder_add_string_value (b, "a\"b\\c\n\x01\xc3\xa9");
  json_builder_set_member_name (b, "list");
  json_builder_begin_array (b);
  json_builder_add_boolean_value (b, TRUE);
  json_builder_add_null_value (b);
  json_builder_begin_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = to_json (root);
  g_assert_cmpstr (text, ==,
                   "{\"uptime_seconds\":51.048,\"cpu_percent\":0.3,\"whole\":2.0,\"tiny\":0.0,\"fine\":1.235,"
                   "\"big\":1796032800.123,\"int\":-42,\"s\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\",\"list\":[true,null,{}]}");
  /* and it is JSON */
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tend/http/unit/tail-small", test_tail_small);
  g_test_add_func ("/tend/http/unit/tail-missing", test_tail_missing);
  g_test_add_func ("/tend/http/unit/tail-refuses-link", test_tail_refuses_link);
  g_test_add_func ("/tend/http/unit/tail-large", test_tail_large);
  g_test_add_func ("/tend/http/unit/token", test_token);
  g_test_add_func ("/tend/http/unit/token-fifo", test_token_fifo);
  g_test_add_func ("/tend/http/unit/token-not-regular", test_token_not_regular);
  g_test_add_func ("/tend/http/unit/token-other-owner", test_token_other_owner);
  g_test_add_func ("/tend/http/unit/escape-and-time", test_escape_and_time);
  g_test_add_func ("/tend/http/unit/json-numbers", test_json_numbers);
  g_test_add_func ("/tend/http/unit/head-ok", test_head_ok);
  g_test_add_func ("/tend/http/unit/head-incomplete", test_head_incomplete);
  g_test_add_func ("/tend/http/unit/head-refused", test_head_refused);
  return g_test_run ();
}
