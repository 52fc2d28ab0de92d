/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-http-head.h"

/*
 * Where libsoup 3.2's header reader (soup_message_io_data_read_headers) stops:
 * it reads lines up to '\n' and stops at a line "\n" or "\r\n" that follows
 * a '\n' at least two or three bytes into the head. Returns the bytes it
 * consumes, 0 when it would read on; @text_length: the head it then parses
 * (the last empty line left out). Starts at @resume, a line start, and
 * leaves there the start of the line it could not finish.
 */
static gsize
find_end (const char *data, gsize length, gsize *resume, gsize *text_length)
{
  gsize pos = *resume;

  while (pos < length) {
    const char *nl = memchr (data + pos, '\n', length - pos);
    gsize line;

    if (nl == NULL)
      break;
    line = (gsize) (nl - (data + pos)) + 1;
    if (line == 1 && pos >= 2 && data[pos - 1] == '\n') {
      *text_length = pos;
      return pos + 1;
    }
    if (line == 2 && data[pos] == '\r' && pos >= 3 && data[pos - 1] == '\n') {
      *text_length = pos;
      return pos + 2;
    }
    pos += line;
  }
  /* a line start: the next bytes cannot change what came before it */
  *resume = pos;
  return 0;
}

/* RFC 9110 token characters: method and header names */
static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
is_token (const char *start, const char *end)
{
  if (start == end)
    return FALSE;
  for (const char *p = start; p < end; p++) {
    if (!is_tchar ((guchar) *p))
      return FALSE;
  }
  return TRUE;
}

static gboolean
equal_nocase (const char *start, const char *end, const char *word)
{
  gsize len = strlen (word);
  return (gsize) (end - start) == len && g_ascii_strncasecmp (start, word, len) == 0;
}

static TendHttpHeadResult
refuse (TendHttpHead *out, guint status, const char *message)
{
  out->status = status;
  out->message = message;
  return TEND_HTTP_HEAD_REFUSED;
}

/* Digits only: no sign, no space, no list ("5, 5"), nothing over a goffset. */
static gboolean
parse_length (const char *start, const char *end, guint64 *out)
{
  guint64 v = 0;

  if (start == end)
    return FALSE;
  for (const char *p = start; p < end; p++) {
    if (!g_ascii_isdigit (*p))
      return FALSE;
    if (v > ((guint64) G_MAXINT64 - (guint64) (*p - '0')) / 10)
      return FALSE;
    v = v * 10 + (guint64) (*p - '0');
  }
  *out = v;
  return TRUE;
}

/* METHOD SP TARGET SP HTTP/1.x, nothing else; @http10: the version is 1.0 */
static TendHttpHeadResult
check_request_line (const char *line, const char *end, gboolean *http10, TendHttpHead *out)
{
  const char *sp1 = memchr (line, ' ', (gsize) (end - line));
  const char *sp2 = sp1 != NULL ? memchr (sp1 + 1, ' ', (gsize) (end - sp1 - 1)) : NULL;
  const char *version = sp2 != NULL ? sp2 + 1 : NULL;

  if (sp2 == NULL || !is_token (line, sp1) || sp2 == sp1 + 1)
    return refuse (out, 400, "Bad request: malformed request line");
  for (const char *p = sp1 + 1; p < sp2; p++) {
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      return refuse (out, 400, "Bad request: malformed request line");
  }
  if (end - version == 8 && memcmp (version, "HTTP/", 5) == 0 && g_ascii_isdigit (version[5]) && version[6] == '.' &&
      g_ascii_isdigit (version[7])) {
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
      return refuse (out, 505, "HTTP version not supported");
    *http10 = version[7] == '0';
    return TEND_HTTP_HEAD_OK;
  }
  return refuse (out, 400, "Bad request: malformed request line");
}

static TendHttpHeadResult
check_head (const char *p, const char *end, TendHttpHead *out)
{
  const char *nl;
  const char *line_end;
  gboolean http10 = FALSE;
  guint n_length = 0, n_encoding = 0;
  guint64 length = 0;

  /* as libsoup: empty lines before the request line are skipped */
  while (p < end && (*p == '\r' || *p == '\n'))
    p++;
  if (p == end)
    return refuse (out, 400, "Bad request: no request line");
  /* the head text always ends with a line's '\n' */
  nl = memchr (p, '\n', (gsize) (end - p));
  line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
  if (check_request_line (p, line_end, &http10, out) != TEND_HTTP_HEAD_OK)
    return TEND_HTTP_HEAD_REFUSED;

  for (p = nl + 1; p < end; p = nl + 1) {
    const char *colon;
    const char *value;
    const char *value_end;

    nl = memchr (p, '\n', (gsize) (end - p));
    line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    /* obs-fold: libsoup joins it to the line before, others may not */
    if (*p == ' ' || *p == '\t')
      return refuse (out, 400, "Bad request: folded header line");
    colon = memchr (p, ':', (gsize) (line_end - p));
    /* libsoup skips such lines silently; a proxy may not ("Transfer-Encoding : chunked") */
    if (colon == NULL)
      return refuse (out, 400, "Bad request: header line without a colon");
    if (!is_token (p, colon))
      return refuse (out, 400, "Bad request: invalid header name");
    value = colon + 1;
    value_end = line_end;
    while (value < value_end && (*value == ' ' || *value == '\t'))
      value++;
    while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
      value_end--;
    /* NUL, bare CR and the like: libsoup drops or changes them, others read them otherwise */
    for (const char *q = value; q < value_end; q++) {
      if (((guchar) *q < 0x20 && *q != '\t') || (guchar) *q == 0x7f)
        return refuse (out, 400, "Bad request: control character in a header value");
    }
    if (equal_nocase (p, colon, "Content-Length")) {
      if (++n_length > 1)
        return refuse (out, 400, "Bad request: more than one Content-Length");
      if (!parse_length (value, value_end, &length))
        return refuse (out, 400, "Bad request: invalid Content-Length");
    } else if (equal_nocase (p, colon, "Transfer-Encoding")) {
      if (++n_encoding > 1)
        return refuse (out, 400, "Bad request: more than one Transfer-Encoding");
      if (!equal_nocase (value, value_end, "chunked"))
        return refuse (out, 400, "Bad request: Transfer-Encoding other than chunked");
    }
  }
  if (n_encoding > 0 && n_length > 0)
    return refuse (out, 400, "Bad request: both Transfer-Encoding and Content-Length");
  if (n_encoding > 0 && http10)
    return refuse (out, 400, "Bad request: Transfer-Encoding in an HTTP/1.0 request");
  if (n_encoding > 0)
    out->body = TEND_HTTP_BODY_CHUNKED;
  else if (length > 0)
    out->body = TEND_HTTP_BODY_LENGTH;
  out->body_length = length;
  return TEND_HTTP_HEAD_OK;
}

TendHttpHeadResult
tend_http_head_scan (const char *data, gsize length, gsize *resume, TendHttpHead *out)
{
  gsize from = resume != NULL ? *resume : 0;
  gsize text_length = 0;
  gsize consumed;

  memset (out, 0, sizeof *out);
  consumed = find_end (data, MIN (length, TEND_HTTP_HEAD_MAX), &from, &text_length);
  if (resume != NULL)
    *resume = from;
  if (consumed == 0)
    return length >= TEND_HTTP_HEAD_MAX ? refuse (out, 431, "Request header too large") : TEND_HTTP_HEAD_INCOMPLETE;
  if (check_head (data, data + text_length, out) != TEND_HTTP_HEAD_OK)
    return TEND_HTTP_HEAD_REFUSED;
  out->length = consumed;
  return TEND_HTTP_HEAD_OK;
}
