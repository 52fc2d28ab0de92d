/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>

G_BEGIN_DECLS

/*
 * Value parsers shared by the configuration reader, the CLI and plugins.
 * Each returns FALSE and sets a short, lower-case reason in @error
 * (TEND_ERROR_INVALID_ARGUMENT) without any file/line prefix; the caller adds
 * context.
 */

/**
 * The largest duration and size any key takes, unless its own range is
 * smaller: 24 h (timers take milliseconds in a guint, 49 days, and a signed
 * int in places, 24 days) and 1024G.
 */
#define TEND_DURATION_MAX_MS (G_GUINT64_CONSTANT (24) * 60 * 60 * 1000)
#define TEND_SIZE_MAX (G_GUINT64_CONSTANT (1024) << 30)

/** tend_parse_duration: "250ms", "10s", "5m", "1h", "1.5s"; a bare number is milliseconds. */
TEND_API gboolean tend_parse_duration (const char *text, guint64 *out_ms, GError **error);
/** tend_parse_duration_in_range: tend_parse_duration(), then "out of range: TEXT (use MIN to MAX)" */
TEND_API gboolean tend_parse_duration_in_range (const char *text, guint64 min_ms, guint64 max_ms, guint64 *out_ms, GError **error);
/** tend_parse_size: "512", "64K", "50M", "1G" (powers of 1024, case-insensitive, optional trailing "B"). */
TEND_API gboolean tend_parse_size (const char *text, guint64 *out_bytes, GError **error);
/** tend_parse_size_in_range: tend_parse_size(), then "out of range: TEXT (use MIN to MAX)" */
TEND_API gboolean tend_parse_size_in_range (const char *text, guint64 min, guint64 max, guint64 *out_bytes, GError **error);
/** tend_parse_bool: exactly "true" or "false" (also "1"/"0", as GKeyFile). */
TEND_API gboolean tend_parse_bool (const char *text, gboolean *out, GError **error);
/** tend_parse_uint: a decimal number within [min, max]. */
TEND_API gboolean tend_parse_uint (const char *text, guint64 min, guint64 max, guint64 *out, GError **error);
/** tend_parse_signal: "SIGTERM", "TERM", "term" or a number; returns the signal number. */
TEND_API gboolean tend_parse_signal (const char *text, int *out_signum, GError **error);
/** tend_signal_to_string: "SIGTERM" for 15; a number as text for unknown ones (static or interned). */
TEND_API const char *tend_signal_to_string (int signum);
/** tend_parse_env_list: "K=V;K2=V2" into a KEY=VALUE vector, items trimmed, empty items skipped. */
TEND_API gboolean tend_parse_env_list (const char *text, GStrv *out_env, GError **error);
/** tend_parse_name_list: "a, b;c" (comma, semicolon or space separated) into a trimmed vector. */
TEND_API GStrv tend_parse_name_list (const char *text);
/**
 * tend_parse_env_file:
 * KEY=VALUE lines (# comments, blank lines, optional "export ", quotes
 * stripped), read with the calling thread's rights (tend_env_file_read()
 * picks them for a service). An error names PATH:LINE and what is wrong,
 * never the line's text: it may reach every local user (a service's status
 * message) while the file's content is the file owner's.
 */
TEND_API gboolean tend_parse_env_file (const char *path, GStrv *out_env, GError **error);
/**
 * tend_read_text_file:
 * The whole of @path (a directory is an error), with a lower-case message
 * "PATH: cannot read: REASON" in G_FILE_ERROR. Only a regular file is read
 * (symlinks followed): a FIFO, device or socket is refused without waiting
 * ("PATH: not a regular file but a FIFO"; the open does not block), as is a
 * file past TEND_TEXT_FILE_MAX bytes ("not a text file of at most 64 MiB").
 */
#define TEND_TEXT_FILE_MAX ((gsize) 64 << 20)
TEND_API gboolean tend_read_text_file (const char *path, char **out_text, gsize *out_len, GError **error);
/**
 * tend_parse_check:
 * Checks a probe: http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND.
 * *@out_needs_port is set for "tcp://HOST", which takes the service's port.
 */
TEND_API gboolean tend_parse_check (const char *value, gboolean *out_needs_port, GError **error);

/**
 * TendMatchKind:
 * What a service's `match=` names: a regular expression searched in the
 * command line (its words joined by single spaces), or a file holding a pid.
 */
typedef enum {
  TEND_MATCH_CMDLINE,
  TEND_MATCH_PIDFILE,
} TendMatchKind;

/**
 * tend_parse_match:
 * @out_kind: (out) (optional):
 * @out_text: (out) (optional) (transfer full): the regular expression or the path
 * Parses a `match=` value: `cmdline:REGEX`, `pidfile:/ABSOLUTE/PATH`, or a
 * bare REGEX (the same as `cmdline:REGEX`). The expression must compile
 * (GRegex, PCRE syntax) and not be empty.
 */
TEND_API gboolean tend_parse_match (const char *value, TendMatchKind *out_kind, char **out_text, GError **error);
/** tend_parse_listen_address: "HOST:PORT" or "[V6]:PORT". */
TEND_API gboolean tend_parse_listen_address (const char *text, char **out_host, guint16 *out_port, GError **error);
/** tend_service_name_is_valid: letters, digits, '-', '_', '.'; not empty, not "." or "..", at most 64 bytes, not "all". */
TEND_API gboolean tend_service_name_is_valid (const char *name);
/**
 * tend_quote_for_message:
 * @text as it may be echoed in an error message: in double quotes, control
 * characters, invisible Unicode and bytes that are not UTF-8 escaped (\n,
 * \r, \t, \xHH, \uHHHH), and cut after TEND_MESSAGE_QUOTE_MAX characters
 * with an ellipsis and the full length: "aaa…" (1048576 bytes). Backslashes
 * and quotes are kept as written, so the text reads as it was typed.
 * @length: bytes of @text, or -1 when NUL-terminated
 */
#define TEND_MESSAGE_QUOTE_MAX 80
TEND_API char *tend_quote_for_message (const char *text, gssize length);
/** tend_shorten_for_message: as tend_quote_for_message(), without the quotes and the length (for names) */
TEND_API char *tend_shorten_for_message (const char *text, gssize length);

/** tend_format_duration: "1600ms", "2s", "5m" — the shortest exact form, for messages and dumps. */
TEND_API char *tend_format_duration (guint64 ms);
/** tend_format_size: "200M", "64K", "123" — the shortest exact form. */
TEND_API char *tend_format_size (guint64 bytes);

G_END_DECLS
