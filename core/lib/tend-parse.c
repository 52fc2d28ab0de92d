/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-parse.h"

#define DURATION_HINT "use a number with ms, s, m or h"
#define SIZE_HINT "use a number with K, M or G"

/*
 * Splits "12.345" into 12, 345 and 3 digits. The fraction is kept as an
 * integer so that "1.5s" becomes exactly 1500 ms, with no floating point
 * rounding.
 */
static gboolean
parse_decimal (const char *text,
               guint64 *int_part,
               guint64 *frac,
               guint *frac_digits,
               const char **end,
               gboolean *overflow)
{
  const char *p = text;
  guint64 v = 0;

  *overflow = FALSE;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++) {
    guint d = (guint) (*p - '0');
    if (v > (G_MAXUINT64 - d) / 10)
      *overflow = TRUE;
    else
      v = v * 10 + d;
  }
  *int_part = v;
  *frac = 0;
  *frac_digits = 0;
  if (*p == '.') {
    p++;
    if (!g_ascii_isdigit (*p))
      return FALSE;
    for (; g_ascii_isdigit (*p); p++) {
      /* beyond 9 digits only zeros can still be exact; drop them */
      if (*frac_digits < 9) {
        *frac = *frac * 10 + (guint64) (*p - '0');
        (*frac_digits)++;
      } else if (*p != '0') {
        /* a non-zero digit this far down cannot give a whole result */
        *frac_digits = G_MAXUINT;
        break;
      }
    }
    while (g_ascii_isdigit (*p))
      p++;
  }
  *end = p;
  return TRUE;
}

/* int_part.frac * mult; FALSE with *inexact or *overflow when not a whole number */
static gboolean
scale_decimal (guint64 int_part,
               guint64 frac,
               guint frac_digits,
               guint64 mult,
               guint64 *out,
               gboolean *inexact,
               gboolean *overflow)
{
  guint64 pow10 = 1;
  guint64 frac_scaled;

  *inexact = FALSE;
  if (frac_digits == G_MAXUINT) {
    *inexact = TRUE;
    return FALSE;
  }
  for (guint i = 0; i < frac_digits; i++)
    pow10 *= 10;
  /* frac < 10^9 and mult <= 2^30, so this cannot overflow */
  frac_scaled = frac * mult;
  if (frac_scaled % pow10 != 0) {
    *inexact = TRUE;
    return FALSE;
  }
  frac_scaled /= pow10;
  if (int_part > (G_MAXUINT64 - frac_scaled) / mult) {
    *overflow = TRUE;
    return FALSE;
  }
  *out = int_part * mult + frac_scaled;
  return TRUE;
}

gboolean
tend_parse_duration (const char *text, guint64 *out_ms, GError **error)
{
  static const struct {
    const char *suffix;
    guint64 mult;
  } units[] = {
    { "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 60 * 60 * 1000 },
  };
  g_autofree char *quoted = NULL;
  guint64 int_part, frac, ms = 0;
  guint frac_digits;
  const char *end;
  gboolean overflow, inexact;

  g_return_val_if_fail (text != NULL, FALSE);

  if (text[0] == '-') {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a duration: %s (must not be negative)", quoted);
    return FALSE;
  }
  if (!parse_decimal (text, &int_part, &frac, &frac_digits, &end, &overflow)) {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a duration: %s (" DURATION_HINT ")", quoted);
    return FALSE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
    if (strcmp (end, units[i].suffix) != 0)
      continue;
    if (!overflow &&
        !scale_decimal (int_part, frac, frac_digits, units[i].mult, &ms, &inexact, &overflow) &&
        inexact) {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a duration: %s (finer than a millisecond)", quoted);
      return FALSE;
    }
    if (overflow) {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "duration too large: %s", quoted);
      return FALSE;
    }
    *out_ms = ms;
    return TRUE;
  }
  quoted = tend_quote_for_message (text, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
               "not a duration: %s (" DURATION_HINT ")", quoted);
  return FALSE;
}

gboolean
tend_parse_duration_in_range (const char *text, guint64 min_ms, guint64 max_ms, guint64 *out_ms, GError **error)
{
  g_autofree char *quoted = NULL;
  guint64 ms;

  if (!tend_parse_duration (text, &ms, error))
    return FALSE;
  if (ms < min_ms || ms > max_ms) {
    g_autofree char *min_text = tend_format_duration (min_ms);
    g_autofree char *max_text = tend_format_duration (max_ms);
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "out of range: %s (use %s to %s)", quoted,
                 min_ms == 0 ? "0" : min_text, max_text);
    return FALSE;
  }
  *out_ms = ms;
  return TRUE;
}

static gboolean
size_suffix (const char *suffix, guint64 *mult)
{
  const char *p = suffix;

  switch (g_ascii_tolower (*p)) {
  case 'k':
    *mult = G_GUINT64_CONSTANT (1) << 10;
    p++;
    break;
  case 'm':
    *mult = G_GUINT64_CONSTANT (1) << 20;
    p++;
    break;
  case 'g':
    *mult = G_GUINT64_CONSTANT (1) << 30;
    p++;
    break;
  default:
    *mult = 1;
    break;
  }
  if (g_ascii_tolower (*p) == 'b')
    p++;
  return *p == '\0';
}

gboolean
tend_parse_size (const char *text, guint64 *out_bytes, GError **error)
{
  g_autofree char *quoted = NULL;
  guint64 int_part, frac, bytes = 0, mult;
  guint frac_digits;
  const char *end;
  gboolean overflow, inexact = FALSE;

  g_return_val_if_fail (text != NULL, FALSE);

  if (text[0] == '-') {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a size: %s (must not be negative)", quoted);
    return FALSE;
  }
  if (!parse_decimal (text, &int_part, &frac, &frac_digits, &end, &overflow) ||
      !size_suffix (end, &mult)) {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a size: %s (" SIZE_HINT ")", quoted);
    return FALSE;
  }
  if (!overflow)
    scale_decimal (int_part, frac, frac_digits, mult, &bytes, &inexact, &overflow);
  if (inexact) {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a size: %s (not a whole number of bytes)", quoted);
    return FALSE;
  }
  if (overflow) {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "size too large: %s", quoted);
    return FALSE;
  }
  *out_bytes = bytes;
  return TRUE;
}

gboolean
tend_parse_size_in_range (const char *text, guint64 min, guint64 max, guint64 *out_bytes, GError **error)
{
  g_autofree char *quoted = NULL;
  guint64 bytes;

  if (!tend_parse_size (text, &bytes, error))
    return FALSE;
  if (bytes < min || bytes > max) {
    g_autofree char *min_text = tend_format_size (min);
    g_autofree char *max_text = tend_format_size (max);
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "out of range: %s (use %s to %s)", quoted,
                 min_text, max_text);
    return FALSE;
  }
  *out_bytes = bytes;
  return TRUE;
}

gboolean
tend_parse_bool (const char *text, gboolean *out, GError **error)
{
  g_autofree char *quoted = NULL;

  g_return_val_if_fail (text != NULL, FALSE);

  if (strcmp (text, "true") == 0 || strcmp (text, "1") == 0) {
    *out = TRUE;
    return TRUE;
  }
  if (strcmp (text, "false") == 0 || strcmp (text, "0") == 0) {
    *out = FALSE;
    return TRUE;
  }
  quoted = tend_quote_for_message (text, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
               "not a boolean: %s (use true or false)", quoted);
  return FALSE;
}

gboolean
tend_parse_uint (const char *text, guint64 min, guint64 max, guint64 *out, GError **error)
{
  g_autofree char *quoted = NULL;
  guint64 v = 0;
  gboolean overflow = FALSE;

  g_return_val_if_fail (text != NULL, FALSE);

  /* digits only: strtoull would take "+5", " 5" and "-1" (as a huge number) */
  if (text[0] == '\0') {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a number: %s", quoted);
    return FALSE;
  }
  for (const char *p = text; *p != '\0'; p++) {
    guint d;
    if (!g_ascii_isdigit (*p)) {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a number: %s", quoted);
      return FALSE;
    }
    d = (guint) (*p - '0');
    if (v > (G_MAXUINT64 - d) / 10)
      overflow = TRUE;
    else
      v = v * 10 + d;
  }
  if (overflow || v < min || v > max) {
    /* digits only, but maybe a megabyte of them */
    g_autofree char *digits = tend_shorten_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "out of range: %s (use %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ")",
                 digits, min, max);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static const struct {
  int signum;
  const char *name;
} signal_names[] = {
  { SIGHUP, "SIGHUP" },
  { SIGINT, "SIGINT" },
  { SIGQUIT, "SIGQUIT" },
  { SIGILL, "SIGILL" },
  { SIGTRAP, "SIGTRAP" },
  { SIGABRT, "SIGABRT" },
  { SIGBUS, "SIGBUS" },
  { SIGFPE, "SIGFPE" },
  { SIGKILL, "SIGKILL" },
  { SIGUSR1, "SIGUSR1" },
  { SIGSEGV, "SIGSEGV" },
  { SIGUSR2, "SIGUSR2" },
  { SIGPIPE, "SIGPIPE" },
  { SIGALRM, "SIGALRM" },
  { SIGTERM, "SIGTERM" },
  { SIGCHLD, "SIGCHLD" },
  { SIGCONT, "SIGCONT" },
  { SIGSTOP, "SIGSTOP" },
  { SIGTSTP, "SIGTSTP" },
  { SIGTTIN, "SIGTTIN" },
  { SIGTTOU, "SIGTTOU" },
  { SIGURG, "SIGURG" },
  { SIGXCPU, "SIGXCPU" },
  { SIGXFSZ, "SIGXFSZ" },
  { SIGVTALRM, "SIGVTALRM" },
  { SIGPROF, "SIGPROF" },
  { SIGWINCH, "SIGWINCH" },
  { SIGIO, "SIGIO" },
  { SIGPWR, "SIGPWR" },
  { SIGSYS, "SIGSYS" },
};

gboolean
tend_parse_signal (const char *text, int *out_signum, GError **error)
{
  g_autofree char *quoted = NULL;
  const char *name = text;

  g_return_val_if_fail (text != NULL, FALSE);

  if (g_ascii_isdigit (text[0])) {
    guint64 v;
    /* kill(2) takes 1..SIGRTMAX; SIGRTMAX is not a constant */
    if (tend_parse_uint (text, 1, (guint64) SIGRTMAX, &v, NULL)) {
      *out_signum = (int) v;
      return TRUE;
    }
  } else {
    if (g_ascii_strncasecmp (name, "SIG", 3) == 0)
      name += 3;
    for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++) {
      if (g_ascii_strcasecmp (name, signal_names[i].name + 3) == 0) {
        *out_signum = signal_names[i].signum;
        return TRUE;
      }
    }
  }
  quoted = tend_quote_for_message (text, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
               "not a signal: %s (use a name such as SIGTERM or SIGINT, or a number)", quoted);
  return FALSE;
}

const char *
tend_signal_to_string (int signum)
{
  g_autofree char *num = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++) {
    if (signal_names[i].signum == signum)
      return signal_names[i].name;
  }
  num = g_strdup_printf ("%d", signum);
  return g_intern_string (num);
}

static gboolean
env_name_is_valid (const char *name)
{
  if (!g_ascii_isalpha (name[0]) && name[0] != '_')
    return FALSE;
  for (const char *p = name + 1; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  }
  return TRUE;
}

/* "KEY=VALUE" with key and value trimmed into "KEY=VALUE"; NULL on a bad item */
static char *
parse_env_item (const char *item, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *quoted_key = NULL;
  const char *eq = strchr (item, '=');
  g_autofree char *key = NULL;
  g_autofree char *value = NULL;

  if (eq == NULL) {
    quoted = tend_quote_for_message (item, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not KEY=VALUE: %s", quoted);
    return NULL;
  }
  key = g_strstrip (g_strndup (item, (gsize) (eq - item)));
  value = g_strstrip (g_strdup (eq + 1));
  if (!env_name_is_valid (key)) {
    quoted_key = tend_quote_for_message (key, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not a variable name: %s (use letters, digits and _, not starting with a digit)",
                 quoted_key);
    return NULL;
  }
  return g_strconcat (key, "=", value, NULL);
}

/*
 * Items are split on ';'. As in GKeyFile lists, "\;" is a literal ';' and
 * "\\" a literal backslash, so any value can be written; other backslashes
 * are kept as they are.
 */
gboolean
tend_parse_env_list (const char *text, GStrv *out_env, GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GString) item = g_string_new (NULL);

  g_return_val_if_fail (text != NULL, FALSE);

  for (const char *p = text;; p++) {
    if (*p == '\\' && (p[1] == ';' || p[1] == '\\')) {
      g_string_append_c (item, p[1]);
      p++;
      continue;
    }
    if (*p == ';' || *p == '\0') {
      g_strstrip (item->str);
      item->len = strlen (item->str);
      if (item->len > 0) {
        g_autofree char *parsed = parse_env_item (item->str, error);
        if (parsed == NULL)
          return FALSE;
        g_strv_builder_add (builder, parsed);
      }
      g_string_truncate (item, 0);
      if (*p == '\0')
        break;
      continue;
    }
    g_string_append_c (item, *p);
  }
  *out_env = g_strv_builder_end (builder);
  return TRUE;
}

GStrv
tend_parse_name_list (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = NULL;

  if (text == NULL)
    return g_strv_builder_end (builder);
  parts = g_strsplit_set (text, ",; \t", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] != '\0')
      g_strv_builder_add (builder, parts[i]);
  }
  return g_strv_builder_end (builder);
}

/* what a file that is not a regular one is, for the message */
static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device";
  return "not a regular file";
}

gboolean
tend_read_text_file (const char *path, char **out_text, gsize *out_len, GError **error)
{
  /*
   * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer,
   * and tendd's main thread with it. O_NOCTTY: a terminal never becomes ours.
   * Once fstat() has shown a regular file, the flag changes nothing.
   */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  int saved_errno = 0;
  gboolean too_large = FALSE;
  const char *not_regular = NULL;
  struct stat st;
  g_autoptr(GString) buf = g_string_new (NULL);

  if (fd < 0) {
    saved_errno = errno;
  } else if (fstat (fd, &st) < 0) {
    saved_errno = errno;
  } else if (S_ISDIR (st.st_mode)) {
    saved_errno = EISDIR;
  } else if (!S_ISREG (st.st_mode)) {
    /* a FIFO would wait for a writer, /dev/zero would be read for ever */
    not_regular = file_kind (st.st_mode);
  } else {
    char chunk[4096];
    int flags = fcntl (fd, F_GETFL);
    if (flags >= 0)
      fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
    for (;;) {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        saved_errno = errno;
        break;
      }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > TEND_TEXT_FILE_MAX) {
        too_large = TRUE;
        break;
      }
      g_string_append_len (buf, chunk, n);
    }
  }
  if (fd >= 0)
    close (fd);
  if (saved_errno != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 "%s: cannot read: %s", path, g_strerror (saved_errno));
    return FALSE;
  }
  if (not_regular != NULL) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: not a regular file but %s", path, not_regular);
    return FALSE;
  }
  if (too_large) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: not a text file of at most %u MiB", path,
                 (guint) (TEND_TEXT_FILE_MAX >> 20));
    return FALSE;
  }
  if (out_len != NULL)
    *out_len = buf->len;
  *out_text = g_string_free (g_steal_pointer (&buf), FALSE);
  return TRUE;
}

gboolean
tend_parse_env_file (const char *path, GStrv *out_env, GError **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (path != NULL, FALSE);

  if (!tend_read_text_file (path, &text, NULL, error))
    return FALSE;
  /* as in a configuration file: a leading byte-order mark is not text; "\r\n" is stripped with the blanks */
  lines = g_strsplit (g_str_has_prefix (text, "\xef\xbb\xbf") ? text + 3 : text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    char *line = g_strstrip (lines[i]);
    char *eq;
    g_autofree char *key = NULL;
    char *value;
    gsize len;

    if (line[0] == '\0' || line[0] == '#')
      continue;
    if (g_str_has_prefix (line, "export") && g_ascii_isspace (line[6]))
      line = g_strchug (line + 6);
    eq = strchr (line, '=');
    if (eq == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "%s:%u: not KEY=VALUE", path, i + 1);
      return FALSE;
    }
    key = g_strstrip (g_strndup (line, (gsize) (eq - line)));
    if (!env_name_is_valid (key)) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "%s:%u: not a variable name before =", path,
                   i + 1);
      return FALSE;
    }
    value = g_strstrip (eq + 1);
    len = strlen (value);
    if (len > 0 && (value[0] == '"' || value[0] == '\'')) {
      /* quotes only group; no escapes are processed inside them */
      if (len < 2 || value[len - 1] != value[0]) {
        g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "%s:%u: unmatched quote", path, i + 1);
        return FALSE;
      }
      value[len - 1] = '\0';
      value++;
    }
    {
      g_autofree char *item = g_strconcat (key, "=", value, NULL);
      g_strv_builder_add (builder, item);
    }
  }
  *out_env = g_strv_builder_end (builder);
  return TRUE;
}

gboolean
tend_parse_listen_address (const char *text, char **out_host, guint16 *out_port, GError **error)
{
  g_autofree char *quoted = NULL;
  const char *colon;
  g_autofree char *host = NULL;
  guint64 port;

  g_return_val_if_fail (text != NULL, FALSE);

  if (text[0] == '[') {
    const char *close = strchr (text, ']');
    if (close == NULL || close == text + 1 || close[1] != ':') {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not HOST:PORT: %s (an IPv6 address is written [ADDRESS]:PORT)", quoted);
      return FALSE;
    }
    host = g_strndup (text + 1, (gsize) (close - text - 1));
    colon = close + 1;
  } else {
    colon = strrchr (text, ':');
    if (colon == NULL || colon == text) {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not HOST:PORT: %s", quoted);
      return FALSE;
    }
    host = g_strndup (text, (gsize) (colon - text));
    if (strchr (host, ':') != NULL) {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not HOST:PORT: %s (an IPv6 address is written [ADDRESS]:PORT)", quoted);
      return FALSE;
    }
  }
  for (const char *p = host; *p != '\0'; p++) {
    if (g_ascii_isspace (*p) || *p == '/' || *p == '[' || *p == ']' || *p == '@') {
      quoted = tend_quote_for_message (text, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not HOST:PORT: %s (bad host name)", quoted);
      return FALSE;
    }
  }
  if (!tend_parse_uint (colon + 1, 0, 65535, &port, NULL)) {
    quoted = tend_quote_for_message (text, -1);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "not HOST:PORT: %s (the port is a number from 0 to 65535)", quoted);
    return FALSE;
  }
  if (out_host != NULL)
    *out_host = g_steal_pointer (&host);
  if (out_port != NULL)
    *out_port = (guint16) port;
  return TRUE;
}

gboolean
tend_service_name_is_valid (const char *name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  if (len == 0 || len > 64 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 ||
      strcmp (name, "all") == 0)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  }
  return TRUE;
}

/*
 * Escapes @text into @out up to @max columns; TRUE when all of it fit. A
 * message goes to a terminal, a log or a D-Bus string: nothing in it may
 * move the cursor, hide text or be invalid UTF-8.
 */
static gboolean
append_escaped (GString *out, const char *text, gsize length, guint max)
{
  const char *p = text;
  const char *end = text + length;
  guint columns = 0;

  while (p < end) {
    gunichar c = g_utf8_get_char_validated (p, (gssize) (end - p));
    char escaped[16];
    gsize step;
    guint width;

    if (c == (gunichar) -1 || c == (gunichar) -2) {
      g_snprintf (escaped, sizeof escaped, "\\x%02x", (guint) (guchar) *p);
      step = 1;
    } else {
      step = (gsize) (g_utf8_next_char (p) - p);
      if (c == '\n')
        strcpy (escaped, "\\n");
      else if (c == '\r')
        strcpy (escaped, "\\r");
      else if (c == '\t')
        strcpy (escaped, "\\t");
      else if (c < 0x20 || c == 0x7f)
        g_snprintf (escaped, sizeof escaped, "\\x%02x", c);
      else if (c >= 0x80 && (!g_unichar_isprint (c) || g_unichar_type (c) == G_UNICODE_FORMAT))
        g_snprintf (escaped, sizeof escaped, c > 0xffff ? "\\U%08x" : "\\u%04x", c);
      else
        escaped[0] = '\0';
    }
    width = escaped[0] != '\0' ? (guint) strlen (escaped) : 1;
    if (columns + width > max)
      return FALSE;
    if (escaped[0] != '\0')
      g_string_append (out, escaped);
    else
      g_string_append_len (out, p, (gssize) step);
    columns += width;
    p += step;
  }
  return TRUE;
}

char *
tend_quote_for_message (const char *text, gssize length)
{
  GString *out = g_string_new ("\"");
  gsize len;

  if (text == NULL)
    text = "";
  len = length < 0 ? strlen (text) : (gsize) length;
  if (append_escaped (out, text, len, TEND_MESSAGE_QUOTE_MAX))
    g_string_append_c (out, '"');
  else
    g_string_append_printf (out, "\u2026\" (%" G_GSIZE_FORMAT " bytes)", len);
  return g_string_free (out, FALSE);
}

char *
tend_shorten_for_message (const char *text, gssize length)
{
  GString *out = g_string_new (NULL);
  gsize len;

  if (text == NULL)
    text = "";
  len = length < 0 ? strlen (text) : (gsize) length;
  if (!append_escaped (out, text, len, TEND_MESSAGE_QUOTE_MAX))
    g_string_append (out, "\u2026");
  return g_string_free (out, FALSE);
}

char *
tend_format_duration (guint64 ms)
{
  if (ms == 0)
    return g_strdup ("0");
  if (ms % (60 * 60 * 1000) == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "h", ms / (60 * 60 * 1000));
  if (ms % (60 * 1000) == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "m", ms / (60 * 1000));
  if (ms % 1000 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "s", ms / 1000);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "ms", ms);
}

char *
tend_format_size (guint64 bytes)
{
  static const char units[] = { 'G', 'M', 'K' };

  for (guint i = 0; bytes != 0 && i < G_N_ELEMENTS (units); i++) {
    guint shift = 10 * (3 - i);
    guint64 mult = G_GUINT64_CONSTANT (1) << shift;
    if (bytes % mult == 0)
      return g_strdup_printf ("%" G_GUINT64_FORMAT "%c", bytes / mult, units[i]);
  }
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

/* GLib's message about a command line quotes the whole line: echo it shortened and escaped too */
static char *
check_shell_error_text (const GError *error, const char *command)
{
  g_autoptr(GString) text = g_string_new (error->message);
  g_autofree char *shortened = tend_shorten_for_message (command, -1);

  if (command[0] != '\0' && strcmp (shortened, command) != 0)
    g_string_replace (text, command, shortened, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/*
 * Checks a health or ready check. *out_needs_port is set for "tcp://HOST",
 * which SPEC lets fall back to the service's port.
 */
gboolean
tend_parse_check (const char *value, gboolean *out_needs_port, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *quoted_value = NULL;

  *out_needs_port = FALSE;
  if (g_str_has_prefix (value, "exec:")) {
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) local = NULL;
    const char *command = value + strlen ("exec:");

    while (g_ascii_isspace (*command))
      command++;
    if (*command == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                           "exec: needs a command (e.g. exec:curl -sf http://127.0.0.1:8080/)");
      return FALSE;
    }
    if (!g_shell_parse_argv (command, NULL, &argv, &local)) {
      g_autofree char *reason = check_shell_error_text (local, command);

      quoted = tend_quote_for_message (command, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "cannot split the command %s: %s", quoted, reason);
      return FALSE;
    }
    return TRUE;
  }
  if (g_str_has_prefix (value, "http://")) {
    g_autoptr(GUri) uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
    const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

    if (host == NULL || host[0] == '\0' || g_uri_get_port (uri) == 0) {
      quoted_value = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a URL: %s (use http://HOST:PORT/PATH)", quoted_value);
      return FALSE;
    }
    return TRUE;
  }
  if (g_str_has_prefix (value, "tcp://")) {
    const char *address = value + strlen ("tcp://");
    guint16 port = 0;

    if (address[0] == '\0' || strchr (address, '/') != NULL) {
      quoted_value = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a TCP address: %s (use tcp://HOST:PORT)", quoted_value);
      return FALSE;
    }
    if (strchr (address, ':') == NULL) {
      *out_needs_port = TRUE;
      return TRUE;
    }
    if (!tend_parse_listen_address (address, NULL, &port, NULL) || port == 0) {
      quoted_value = tend_quote_for_message (value, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "not a TCP address: %s (use tcp://HOST:PORT, port 1 to 65535)", quoted_value);
      return FALSE;
    }
    return TRUE;
  }
  quoted_value = tend_quote_for_message (value, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
               "not a check: %s (use http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND)", quoted_value);
  return FALSE;
}


gboolean
tend_parse_match (const char *value, TendMatchKind *out_kind, char **out_text, GError **error)
{
  TendMatchKind kind = TEND_MATCH_CMDLINE;
  const char *text = value;

  if (g_str_has_prefix (value, "pidfile:")) {
    kind = TEND_MATCH_PIDFILE;
    text = value + strlen ("pidfile:");
    if (!g_path_is_absolute (text)) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "pidfile: needs an absolute path, not \"%s\"", text);
      return FALSE;
    }
  } else {
    g_autoptr(GRegex) regex = NULL;
    g_autoptr(GError) local = NULL;

    if (g_str_has_prefix (value, "cmdline:"))
      text = value + strlen ("cmdline:");
    if (text[0] == '\0') {
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                           "empty match: use cmdline:REGEX or pidfile:PATH");
      return FALSE;
    }
    regex = g_regex_new (text, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, &local);
    if (regex == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "bad regular expression: %s", local->message);
      return FALSE;
    }
  }
  if (out_kind != NULL)
    *out_kind = kind;
  if (out_text != NULL)
    *out_text = g_strdup (text);
  return TRUE;
}
