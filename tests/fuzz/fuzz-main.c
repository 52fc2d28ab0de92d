/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzz target without libFuzzer, with any compiler:
 *   TARGET-replay FILE|DIR ...
 * Each file (for a folder: each regular file in it, in name order) is given
 * once to LLVMFuzzerTestOneInput, as an exact-size copy so that a read past
 * its end is caught under a sanitizer. Registered as a meson test per corpus,
 * so an input that once found a bug keeps being tried in every build.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
replay (const char *path)
{
  g_autofree char *contents = NULL;
  g_autofree guint8 *copy = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return FALSE;
  }
  copy = g_memdup2 (contents, MAX (length, 1));
  LLVMFuzzerTestOneInput (copy, length);
  return TRUE;
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  guint n = 0;
  gboolean ok = TRUE;

  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE|DIR ...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
      const char *name;

      if (dir == NULL) {
        fprintf (stderr, "%s\n", error->message);
        ok = FALSE;
        continue;
      }
      while ((name = g_dir_read_name (dir)) != NULL) {
        char *path = g_build_filename (argv[i], name, NULL);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
          g_ptr_array_add (files, path);
        else
          g_free (path);
      }
      g_ptr_array_sort (files, by_name);
    } else {
      g_ptr_array_add (files, g_strdup (argv[i]));
    }
    for (guint j = 0; j < files->len; j++) {
      if (replay (g_ptr_array_index (files, j)))
        n++;
      else
        ok = FALSE;
    }
  }
  printf ("replayed %u input(s)\n", n);
  /* an empty corpus tests nothing */
  return ok && n > 0 ? 0 : 1;
}
