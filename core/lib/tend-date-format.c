/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-date-format.h"
#include "tend-error.h"

/* moment.js tokens, longest first at each letter so that "YYYY" is not read as "YY" twice */
static const struct {
  const char *token;
  const char *strftime; /* NULL: strftime has nothing like it */
} moment_tokens[] = {
  { "YYYY", "%Y" }, { "YY", "%y" },   { "MMMM", "%B" }, { "MMM", "%b" },  { "MM", "%m" },   { "M", "%-m" },
  { "DDDD", "%j" }, { "Do", NULL },   { "DD", "%d" },   { "D", "%-d" },   { "dddd", "%A" }, { "ddd", "%a" },
  { "HH", "%H" },   { "H", "%-H" },   { "hh", "%I" },   { "h", "%-I" },   { "mm", "%M" },   { "m", "%-M" },
  { "ss", "%S" },   { "s", "%-S" },   { "SSS", NULL },  { "SS", NULL },   { "S", NULL },    { "ZZ", "%z" },
  { "Z", "%z" },    { "A", "%p" },    { "a", "%P" },    { "X", "%s" },    { "x", NULL },    { "ww", "%V" },
  { "E", "%u" },    { "Q", NULL },
};

/* Tokens that make a format without any '%' unmistakably moment.js */
static const char *const moment_markers[] = { "YYYY", "YY", "MM", "DD", "HH", "hh", "mm", "ss" };

/* glibc's conversions (strftime(3)); anything else would be printed as it is */
#define STRFTIME_CONVERSIONS "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%+"

static const char *
match_moment_token (const char *p, guint *out_len)
{
  for (guint i = 0; i < G_N_ELEMENTS (moment_tokens); i++) {
    gsize len = strlen (moment_tokens[i].token);
    if (strncmp (p, moment_tokens[i].token, len) == 0) {
      *out_len = (guint) len;
      return moment_tokens[i].token;
    }
  }
  return NULL;
}

char *
tend_date_format_from_moment (const char *moment, char **out_dropped)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) dropped = g_string_new (NULL);

  for (const char *p = moment; *p != '\0';) {
    guint len = 0;
    const char *token;

    if (*p == '[') {
      /* moment's escaped text */
      const char *close = strchr (p + 1, ']');
      if (close != NULL) {
        for (const char *q = p + 1; q < close; q++) {
          if (*q == '%')
            g_string_append_c (out, '%');
          g_string_append_c (out, *q);
        }
        p = close + 1;
        continue;
      }
    }
    token = match_moment_token (p, &len);
    if (token == NULL) {
      if (*p == '%')
        g_string_append_c (out, '%');
      g_string_append_c (out, *p);
      p++;
      continue;
    }
    for (guint i = 0; i < G_N_ELEMENTS (moment_tokens); i++) {
      if (moment_tokens[i].token != token)
        continue;
      if (moment_tokens[i].strftime != NULL) {
        g_string_append (out, moment_tokens[i].strftime);
      } else {
        if (dropped->len > 0)
          g_string_append (dropped, ", ");
        g_string_append (dropped, token);
        /* the separator before a dropped fraction (the "." of "ss.SSS") goes with it */
        if (token[0] == 'S' && out->len > 0 && (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ','))
          g_string_truncate (out, out->len - 1);
      }
    }
    p += len;
  }
  if (out_dropped != NULL)
    *out_dropped = dropped->len > 0 ? g_strdup (dropped->str) : NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
looks_like_moment (const char *format)
{
  for (guint i = 0; i < G_N_ELEMENTS (moment_markers); i++) {
    if (strstr (format, moment_markers[i]) != NULL)
      return TRUE;
  }
  return FALSE;
}

gboolean
tend_date_format_check (const char *format, GError **error)
{
  guint conversions = 0;

  if (format[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty value");
    return FALSE;
  }
  if (strchr (format, '%') == NULL && looks_like_moment (format)) {
    g_autofree char *dropped = NULL;
    g_autofree char *hint = tend_date_format_from_moment (format, &dropped);
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "\"%s\" is a PM2 (moment.js) date format; Tend takes a strftime format: use \"%s\"%s%s%s", format,
                 hint, dropped != NULL ? " (strftime has no " : "", dropped != NULL ? dropped : "",
                 dropped != NULL ? ")" : "");
    return FALSE;
  }
  for (const char *p = format; *p != '\0'; p++) {
    if (*p != '%')
      continue;
    p++;
    /* glibc's flags, a width, and the E and O modifiers */
    while (*p != '\0' && strchr ("_-0^#", *p) != NULL)
      p++;
    while (g_ascii_isdigit (*p))
      p++;
    if (*p == 'E' || *p == 'O')
      p++;
    if (*p == '\0') {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "a %% at the end of \"%s\" starts no conversion",
                   format);
      return FALSE;
    }
    if (strchr (STRFTIME_CONVERSIONS, *p) == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                   "\"%s\" has a conversion strftime does not know (%%%c)", format, *p);
      return FALSE;
    }
    /* a literal %, newline or tab tells no time */
    if (strchr ("%nt", *p) == NULL)
      conversions++;
  }
  if (conversions == 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "\"%s\" has no strftime conversion (such as %%Y-%%m-%%d %%H:%%M:%%S): it would print the same text "
                 "before every line",
                 format);
    return FALSE;
  }
  return TRUE;
}
