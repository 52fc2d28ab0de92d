/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>

G_BEGIN_DECLS

/**
 * tend_date_format_check:
 * Checks a `log-date-format`: a strftime format with at least one
 * conversion, each one that glibc knows. PM2's moment.js tokens
 * (`YYYY-MM-DD HH:mm:ss Z`) are refused with the strftime format that says
 * the same, rather than printed literally before every line.
 */
TEND_API gboolean tend_date_format_check (const char *format, GError **error);

/**
 * tend_date_format_from_moment:
 * The strftime format for a moment.js format (PM2's `log_date_format`),
 * e.g. `%Y-%m-%d %H:%M:%S %z` for `YYYY-MM-DD HH:mm:ss Z`. Tokens strftime
 * has no equal for (fractions of a second, ordinals) are left out and named
 * in *@out_dropped (NULL when none; may be NULL). Text in [brackets] stays
 * literal.
 */
TEND_API char *tend_date_format_from_moment (const char *moment, char **out_dropped);

G_END_DECLS
