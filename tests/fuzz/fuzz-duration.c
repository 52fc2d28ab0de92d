/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: durations and sizes (core/tend-parse.h), the values of every
 * *-delay, *-timeout, *-interval, max-memory-restart and max-size key.
 * Besides not crashing, a value that parses must survive its own formatted
 * form (what dumps and messages print) unchanged, and a failure must say why.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "tend-fuzz.h"
#include "tend-parse.h"

static void
check_duration (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autofree char *formatted = NULL;
  guint64 ms = 0, again = 0;

  if (!tend_parse_duration (text, &ms, &error)) {
    g_assert_nonnull (error);
    g_assert_cmpstr (error->message, !=, "");
    return;
  }
  g_assert_no_error (error);
  formatted = tend_format_duration (ms);
  if (!tend_parse_duration (formatted, &again, &again_error))
    g_error ("\"%s\" parsed as %" G_GUINT64_FORMAT " ms, formatted as \"%s\", which does not parse: %s", text, ms,
             formatted, again_error->message);
  g_assert_cmpuint (again, ==, ms);
}

static void
check_size (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autofree char *formatted = NULL;
  guint64 bytes = 0, again = 0;

  if (!tend_parse_size (text, &bytes, &error)) {
    g_assert_nonnull (error);
    g_assert_cmpstr (error->message, !=, "");
    return;
  }
  g_assert_no_error (error);
  formatted = tend_format_size (bytes);
  if (!tend_parse_size (formatted, &again, &again_error))
    g_error ("\"%s\" parsed as %" G_GUINT64_FORMAT " bytes, formatted as \"%s\", which does not parse: %s", text,
             bytes, formatted, again_error->message);
  g_assert_cmpuint (again, ==, bytes);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* the readers see C strings: the input up to its first NUL */
  g_autofree char *text = g_malloc (size + 1);

  memcpy (text, data, size);
  text[size] = '\0';

  check_duration (text);
  check_size (text);
  return 0;
}
