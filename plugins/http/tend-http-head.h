/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The head of an HTTP/1 request (request line and header lines), checked
 * before libsoup parses it. libsoup 3.2 lets the last of two Content-Length
 * headers win, takes "-1" and "+5" as lengths, prefers Transfer-Encoding over
 * Content-Length, ignores header lines it cannot parse ("Transfer-Encoding :
 * chunked") and joins folded ones. A proxy in front that reads the same bytes
 * differently would see another body length, and the rest of the body would
 * be taken here as a second request (request smuggling). A head is therefore
 * accepted only when its framing cannot be read two ways. Pure functions, so
 * a unit test and a fuzzer can call them.
 */

/* Longer heads are refused (431); libsoup's own limit is 64 KiB. */
#define TEND_HTTP_HEAD_MAX (32 * 1024)

typedef enum {
  TEND_HTTP_HEAD_INCOMPLETE, /* no end of head yet: more bytes are needed */
  TEND_HTTP_HEAD_OK,
  TEND_HTTP_HEAD_REFUSED,
} TendHttpHeadResult;

typedef enum {
  TEND_HTTP_BODY_NONE,
  TEND_HTTP_BODY_LENGTH,  /* Content-Length bytes follow */
  TEND_HTTP_BODY_CHUNKED, /* a chunked body follows */
} TendHttpBodyKind;

typedef struct {
  gsize length;          /* OK: bytes of the head, its empty line included */
  TendHttpBodyKind body; /* OK: what follows it */
  guint64 body_length;   /* OK, TEND_HTTP_BODY_LENGTH: the Content-Length */
  guint status;          /* REFUSED: 400, 431 or 505 */
  const char *message;   /* REFUSED: the answer's JSON message (static) */
} TendHttpHead;

/**
 * tend_http_head_scan:
 * Looks for a complete head at the start of @data, where libsoup would find
 * its end, and checks it. Leading empty lines are skipped as libsoup skips
 * them. A head that grows past TEND_HTTP_HEAD_MAX is refused even before it
 * is complete. @resume: (nullable) where to go on looking for the end when
 * more bytes of the same head came: 0 for a new head, then left as the scan
 * leaves it (so a head arriving a byte at a time is not scanned again and
 * again from its start).
 */
TendHttpHeadResult tend_http_head_scan (const char *data, gsize length, gsize *resume, TendHttpHead *out);

G_END_DECLS
