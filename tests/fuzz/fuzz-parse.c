/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The value parsers of tend-parse.c on arbitrary text: the first byte picks
 * the parser, the rest is its input. Besides crashes, it checks that what
 * the parsers promise holds: a formatted duration or size reads back as the
 * same number, a range is kept, an env list holds only KEY=VALUE with valid
 * names, a quoted text is short, printable UTF-8, and a command line (an ad
 * hoc service's argv) survives `tend save` and `tend resurrect`.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "tend-config.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-config-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_error (const GError *error)
{
  if (!g_error_matches (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT) && error->domain != G_FILE_ERROR)
    g_error ("unexpected error domain: %s", error->message);
  if (!g_utf8_validate (error->message, -1, NULL))
    g_error ("not UTF-8: %s", error->message);
  for (const char *p = error->message; *p != '\0'; p++) {
    if ((guchar) *p < 0x20 || *p == 0x7f)
      g_error ("a control character in: %s", error->message);
  }
  if (strlen (error->message) > 1024)
    g_error ("a message of %zu bytes", strlen (error->message));
}

static void
fuzz_duration (const char *text)
{
  g_autoptr(GError) error = NULL;
  guint64 ms, again, ranged;

  if (!tend_parse_duration (text, &ms, &error)) {
    check_error (error);
    return;
  }
  {
    g_autofree char *formatted = tend_format_duration (ms);
    if (!tend_parse_duration (formatted, &again, NULL) || again != ms)
      g_error ("%s is %" G_GUINT64_FORMAT " ms, formatted %s", text, ms, formatted);
  }
  if (tend_parse_duration_in_range (text, 100, TEND_DURATION_MAX_MS, &ranged, &error)) {
    if (ranged != ms || ranged < 100 || ranged > TEND_DURATION_MAX_MS)
      g_error ("%s out of its range", text);
  } else {
    check_error (error);
    if (ms >= 100 && ms <= TEND_DURATION_MAX_MS)
      g_error ("%s refused within its range", text);
  }
}

static void
fuzz_size (const char *text)
{
  g_autoptr(GError) error = NULL;
  guint64 bytes, again, ranged;

  if (!tend_parse_size (text, &bytes, &error)) {
    check_error (error);
    return;
  }
  {
    g_autofree char *formatted = tend_format_size (bytes);
    if (!tend_parse_size (formatted, &again, NULL) || again != bytes)
      g_error ("%s is %" G_GUINT64_FORMAT " bytes, formatted %s", text, bytes, formatted);
  }
  if (tend_parse_size_in_range (text, 0, TEND_SIZE_MAX, &ranged, &error)) {
    if (ranged != bytes || ranged > TEND_SIZE_MAX)
      g_error ("%s out of its range", text);
  } else {
    check_error (error);
  }
}

static void
fuzz_scalars (const char *text)
{
  g_autoptr(GError) error = NULL;
  gboolean b;
  guint64 v;
  int signum;

  if (!tend_parse_bool (text, &b, &error))
    check_error (error);
  g_clear_error (&error);
  if (tend_parse_uint (text, 1, 65535, &v, &error)) {
    if (v < 1 || v > 65535)
      g_error ("%s out of its range", text);
  } else {
    check_error (error);
  }
  g_clear_error (&error);
  if (tend_parse_signal (text, &signum, &error)) {
    const char *name = tend_signal_to_string (signum);
    int again;
    if (!tend_parse_signal (name, &again, NULL) || again != signum)
      g_error ("signal %s is %d, named %s", text, signum, name);
  } else {
    check_error (error);
  }
  g_clear_error (&error);
  if (!tend_parse_listen_address (text, NULL, NULL, &error))
    check_error (error);
  (void) tend_service_name_is_valid (text);
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

static void
check_env (GStrv env)
{
  for (guint i = 0; env[i] != NULL; i++) {
    const char *eq = strchr (env[i], '=');
    g_autofree char *name = eq != NULL ? g_strndup (env[i], (gsize) (eq - env[i])) : NULL;

    if (name == NULL || !env_name_is_valid (name))
      g_error ("not KEY=VALUE: %s", env[i]);
  }
}

static void
fuzz_lists (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = NULL;
  g_auto(GStrv) names = tend_parse_name_list (text);

  if (tend_parse_env_list (text, &env, &error))
    check_env (env);
  else
    check_error (error);
  for (guint i = 0; names[i] != NULL; i++) {
    if (names[i][0] == '\0' || strpbrk (names[i], ",; \t") != NULL)
      g_error ("a bad list item: \"%s\"", names[i]);
  }
}

/* an env-file, from a memory file so that nothing touches the disk */
static void
fuzz_env_file (const guint8 *data, size_t size)
{
  static int fd = -1;
  static char path[64];
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = NULL;

  if (fd < 0) {
    fd = memfd_create ("fuzz.env", MFD_CLOEXEC);
    if (fd < 0)
      g_error ("memfd_create: %s", g_strerror (errno));
    g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate (fd, 0) < 0 || pwrite (fd, data, size, 0) != (ssize_t) size)
    g_error ("cannot write the memory file: %s", g_strerror (errno));
  if (tend_parse_env_file (path, &env, &error))
    check_env (env);
  else
    check_error (error);
}

static void
fuzz_quote (const guint8 *data, size_t size)
{
  g_autofree char *quoted = tend_quote_for_message ((const char *) data, (gssize) size);
  g_autofree char *shortened = tend_shorten_for_message ((const char *) data, (gssize) size);
  const char *parts[] = { quoted, shortened };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
    if (!g_utf8_validate (parts[i], -1, NULL))
      g_error ("not UTF-8");
    for (const char *p = parts[i]; *p != '\0'; p++) {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        g_error ("a control character left in %s", parts[i]);
    }
    /* 80 columns of at most 10 bytes (\UXXXXXXXX) or 4 (one character), an ellipsis, a length */
    if (strlen (parts[i]) > TEND_MESSAGE_QUOTE_MAX * 4 + 64)
      g_error ("%zu bytes for a quote", strlen (parts[i]));
  }
}

/*
 * An ad hoc service's argv (NUL-separated words): `tend save` quotes it into
 * exec=, `tend resurrect` reads and splits it again; the words must come back.
 */
static void
fuzz_argv (const guint8 *data, size_t size)
{
  g_autofree char *copy = g_malloc (size + 1);
  g_autoptr(GPtrArray) words = g_ptr_array_new ();
  g_autoptr(TendServiceConfig) svc = tend_service_config_new ("adhoc");
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(TendConfig) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  TendServiceConfig *read;

  memcpy (copy, data, size);
  copy[size] = '\0';
  for (char *p = copy; p <= copy + size; p += strlen (p) + 1) {
    /* what AddService accepts: UTF-8 (D-Bus strings), no line break */
    if (!g_utf8_validate (p, -1, NULL) || strpbrk (p, "\n\r") != NULL)
      return;
    g_ptr_array_add (words, p);
  }
  g_ptr_array_add (words, NULL);
  svc->argv = g_strdupv ((char **) words->pdata);
  tend_service_config_to_key_file (svc, kf);
  text = g_key_file_to_data (kf, NULL, NULL);
  back = tend_config_new_from_data_full (text, -1, "dump.conf", "/", TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES,
                                         fuzz_registry (), &error);
  if (back == NULL)
    g_error ("a saved command line does not read back: %s\n%s", error->message, text);
  read = tend_config_lookup_service (back, "adhoc");
  if (!g_strv_equal ((const char *const *) read->argv, (const char *const *) svc->argv))
    g_error ("the command line changed on its way through a save:\n%s", text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;

  if (size == 0)
    return 0;
  fuzz_registry ();
  text = g_strndup ((const char *) data + 1, size - 1);
  switch (data[0] % 8) {
  case 0:
    fuzz_duration (text);
    break;
  case 1:
    fuzz_size (text);
    break;
  case 2:
    fuzz_scalars (text);
    break;
  case 3:
    fuzz_lists (text);
    break;
  case 4:
    fuzz_env_file (data + 1, size - 1);
    break;
  case 5:
    fuzz_quote (data + 1, size - 1);
    break;
  case 6:
    fuzz_argv (data + 1, size - 1);
    break;
  default: {
    /* exec= word splitting as the reader does it */
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) error = NULL;
    if (!g_shell_parse_argv (text, NULL, &argv, &error) && error == NULL)
      g_error ("g_shell_parse_argv failed without an error");
    break;
  }
  }
  return 0;
}
