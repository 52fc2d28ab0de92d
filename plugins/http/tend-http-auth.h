/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The HTTP API's bearer token: the file that holds it, and the check of a
 * request's Authorization header. Pure functions, so a unit test can call them.
 */

#define TEND_HTTP_TOKEN_DIGEST_SIZE 32

typedef struct {
  guint8 digest[TEND_HTTP_TOKEN_DIGEST_SIZE]; /* SHA-256 of the token; the token itself is not kept */
  gboolean set;
} TendHttpToken;

/**
 * tend_http_token_load:
 * Reads the token in @path (surrounding whitespace stripped). A missing file
 * is created first: 32 random bytes as 64 hex digits and a newline, mode
 * 0600. Refused with TEND_ERROR_PERMISSION_DENIED: a symbolic link, anything
 * but a regular file (a FIFO is never waited on), a file owned by another
 * user than ours, one that group or others may read or write. Refused with
 * TEND_ERROR_FAILED: an unreadable or empty file. @out_created: (nullable)
 * TRUE when the file was just written.
 */
gboolean tend_http_token_load (const char *path, TendHttpToken *out, gboolean *out_created, GError **error);

typedef enum {
  TEND_HTTP_AUTH_OK,
  TEND_HTTP_AUTH_MISSING,   /* no Authorization header */
  TEND_HTTP_AUTH_MALFORMED, /* not "Bearer TOKEN" */
  TEND_HTTP_AUTH_WRONG,     /* a bearer token, not ours */
} TendHttpAuthResult;

/**
 * tend_http_token_check:
 * Checks an Authorization header value (NULL when absent) against @token in
 * time that does not depend on how much of it matches. A token that is not
 * set accepts nothing.
 */
TendHttpAuthResult tend_http_token_check (const TendHttpToken *token, const char *authorization);

G_END_DECLS
