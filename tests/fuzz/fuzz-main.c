/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays fuzz inputs through a target without libFuzzer, with any compiler:
 *   NAME-replay FILE|DIR ...
 * Each file (a directory: each regular file in it, in name order) is passed
 * once to LLVMFuzzerTestOneInput. Registered as a meson test per corpus, so a
 * bug the corpus once found stays fixed in every build, sanitized or not.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tend-fuzz.h"

/* optional in a target, as in libFuzzer */
__attribute__ ((weak)) int LLVMFuzzerInitialize (int *argc, char ***argv);

static gboolean
replay_file (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error)) {
    fprintf (stderr, "fuzz-main: %s\n", error->message);
    return FALSE;
  }
  /* a copy of exactly @len bytes (never NULL, as libFuzzer's), so that reading past it is a sanitizer report */
  {
    g_autofree guint8 *data = g_malloc (MAX (len, 1));
    memcpy (data, contents, len);
    LLVMFuzzerTestOneInput (data, len);
  }
  return TRUE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* the regular files of @dir, sorted, so that runs are reproducible */
static GPtrArray *
list_dir (const char *dir, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (files, g_steal_pointer (&path));
  }
  g_ptr_array_sort (files, compare_names);
  return g_steal_pointer (&files);
}

int
main (int argc, char **argv)
{
  guint replayed = 0;
  gboolean ok = TRUE;

  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE|DIR ...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) files = list_dir (argv[i], &error);

      if (files == NULL) {
        fprintf (stderr, "fuzz-main: %s\n", error->message);
        ok = FALSE;
        continue;
      }
      for (guint j = 0; j < files->len; j++) {
        if (replay_file (g_ptr_array_index (files, j)))
          replayed++;
        else
          ok = FALSE;
      }
    } else if (replay_file (argv[i])) {
      replayed++;
    } else {
      ok = FALSE;
    }
  }
  printf ("fuzz-main: replayed %u input(s)\n", replayed);
  /* an empty corpus tests nothing: that is a failure, not a pass */
  if (replayed == 0) {
    fprintf (stderr, "fuzz-main: no input found\n");
    return 1;
  }
  return ok ? 0 : 1;
}
