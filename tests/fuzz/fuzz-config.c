/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration reader on arbitrary bytes. Besides "no crash, no leak,
 * no undefined behaviour", it checks what the reader promises:
 * - a refusal is TEND_ERROR_CONFIG, one line of valid UTF-8 without control
 *   characters, of bounded length, starting with FILE:LINE;
 * - a configuration read, written back as `tend save` writes services and
 *   read again, gives the same services.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-common.h"
#include "tend-config.h"
#include "tend-error.h"
#include "tend-config-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define DISPLAY_NAME "fuzz.conf"

static void
check_message (const GError *error)
{
  const char *m = error->message;
  unsigned line = 0;
  int consumed = 0;

  if (!g_utf8_validate (m, -1, NULL))
    g_error ("not UTF-8: %s", m);
  for (const char *p = m; *p != '\0'; p++) {
    if ((guchar) *p < 0x20 || *p == 0x7f)
      g_error ("a control character (0x%02x) in: %s", (guint) (guchar) *p, m);
  }
  if (strlen (m) > 4096)
    g_error ("a message of %zu bytes: %.200s", strlen (m), m);
  if (sscanf (m, DISPLAY_NAME ":%u: %n", &line, &consumed) < 1 || consumed == 0 || line == 0)
    g_error ("no FILE:LINE in: %s", m);
}

/* tendd --check-config's form: every line a message as above, the first one the error of a plain read */
static void
check_all_errors (const uint8_t *data, size_t size, TendConfigFlags flags, const GError *first)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config = tend_config_new_from_data_full ((const char *) data, (gssize) size, DISPLAY_NAME,
                                                                 "/srv/fuzz", flags | TEND_CONFIG_FLAGS_ALL_ERRORS,
                                                                 fuzz_registry (), &error);
  g_auto(GStrv) lines = NULL;

  if (config != NULL)
    g_error ("read with every error, but refused alone: %s", first->message);
  if (!g_error_matches (error, TEND_ERROR, TEND_ERROR_CONFIG))
    g_error ("not a config error: %s", error->message);
  lines = g_strsplit (error->message, "\n", -1);
  if (g_strv_length (lines) > 101)
    g_error ("%u lines of errors", g_strv_length (lines));
  if (g_strcmp0 (lines[0], first->message) != 0)
    g_error ("the first of every error is not the error: %s\nvs %s", lines[0], first->message);
  for (guint i = 0; lines[i] != NULL; i++) {
    GError line = { TEND_ERROR, TEND_ERROR_CONFIG, lines[i] };
    check_message (&line);
  }
}

static TendServiceConfig *
no_daemon (const char *name, gpointer data)
{
  return NULL;
}

/* what tend save writes and tend resurrect reads must be the same services */
static void
check_round_trip (TendConfig *config)
{
  GPtrArray *services = tend_config_get_services (config);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(TendConfig) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (services->len == 0)
    return;
  for (guint i = 0; i < services->len; i++)
    tend_service_config_to_key_file (g_ptr_array_index (services, i), kf);
  text = g_key_file_to_data (kf, NULL, NULL);
  again = tend_config_new_from_data_full (text, -1, DISPLAY_NAME, "/srv/fuzz", TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES,
                                          fuzz_registry (), &error);
  if (again == NULL)
    g_error ("a saved configuration does not read back: %s\n%s", error->message, text);
  if (tend_config_get_services (again)->len != services->len)
    g_error ("%u services saved, %u read back", services->len, tend_config_get_services (again)->len);
  for (guint i = 0; i < services->len; i++) {
    TendServiceConfig *a = g_ptr_array_index (services, i);
    TendServiceConfig *b = tend_config_lookup_service (again, a->name);

    if (b == NULL || !tend_service_config_equal (a, b))
      g_error ("service %s changed on its way through a save:\n%s", a->name, text);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const TendConfigFlags flags[] = { TEND_CONFIG_FLAGS_NONE, TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES };

  if (fuzz_reaches_outside (data, size))
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (flags); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(TendConfig) config = tend_config_new_from_data_full ((const char *) data, (gssize) size, DISPLAY_NAME,
                                                                   "/srv/fuzz", flags[i], fuzz_registry (), &error);

    if (config == NULL) {
      if (!g_error_matches (error, TEND_ERROR, TEND_ERROR_CONFIG))
        g_error ("not a config error: %s", error->message);
      check_message (error);
      check_all_errors (data, size, flags[i], error);
      continue;
    }
    g_assert_no_error (error);
    if (flags[i] == TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES) {
      /* against an empty daemon: what the file depends on must be in it */
      g_auto(GStrv) names = tend_config_select_services (config, NULL, no_daemon, NULL, &error);
      if (names == NULL)
        check_message (error);
    } else {
      check_round_trip (config);
    }
  }
  return 0;
}
