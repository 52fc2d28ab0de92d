/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend migrate's command matching: the argv words tendd would run, argv[0]
 * by name or by what it resolves to, the other words exactly; a script run
 * directly in its shebang form.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "tend-migrate-find.h"

static gboolean
matches (const char *want, const char *want_cwd, const char *have, const char *have_cwd)
{
  g_auto (GStrv) w = NULL;
  g_auto (GStrv) h = NULL;

  g_assert_true (g_shell_parse_argv (want, NULL, &w, NULL));
  g_assert_true (g_shell_parse_argv (have, NULL, &h, NULL));
  return tend_migrate_argv_matches ((const char *const *) w, want_cwd, (const char *const *) h, have_cwd);
}

static void
test_program_name (void)
{
  g_autofree char *sh = g_find_program_in_path ("sh");

  g_assert_nonnull (sh);
  /* `node app.js` is node by name, wherever it lives */
  g_assert_true (matches ("node app.js", "/srv", "node app.js", "/srv"));
  g_assert_true (matches ("node app.js", "/srv", "/usr/bin/node app.js", "/srv"));
  g_assert_true (matches ("node app.js", "/srv", "/opt/node-18/bin/node app.js", "/srv"));
  /* the other words exactly */
  g_assert_false (matches ("node app.js", "/srv", "node app.js --inspect", "/srv"));
  g_assert_false (matches ("node app.js", "/srv", "node other.js", "/srv"));
  g_assert_false (matches ("node app.js", "/srv", "node", "/srv"));
  g_assert_false (matches ("node app.js", "/srv", "nodejs app.js", "/srv"));
  /* a path in exec: compared by what it resolves to */
  {
    g_autofree char *want = g_strdup_printf ("%s -c true", sh);
    g_assert_true (matches (want, "/", "sh -c true", "/"));
  }
  g_assert_false (matches ("/usr/bin/node app.js", "/srv", "/usr/local/bin/node app.js", "/srv"));
}

static void
test_relative_and_script (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tend-migrate-find-XXXXXX", NULL);
  g_autofree char *other = g_dir_make_tmp ("tend-migrate-find-XXXXXX", NULL);
  g_autofree char *script = g_build_filename (dir, "server.sh", NULL);
  g_autofree char *have = NULL;

  g_assert_true (g_file_set_contents (script, "#!/bin/sh\nexec sleep 1\n", -1, NULL));
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  /* ./server.sh of exec is relative to the service's folder, the process's to its own */
  have = g_strdup_printf ("%s/server.sh --port 1", dir);
  g_assert_true (matches ("./server.sh --port 1", dir, have, "/"));
  g_assert_true (matches ("./server.sh --port 1", dir, "./server.sh --port 1", dir));
  g_assert_false (matches ("./server.sh --port 1", dir, "./server.sh --port 1", other));
  /* the kernel shows a script as INTERPRETER SCRIPT ARGS */
  g_clear_pointer (&have, g_free);
  have = g_strdup_printf ("/bin/sh %s/server.sh --port 1", dir);
  g_assert_true (matches ("./server.sh --port 1", dir, have, "/"));
  g_clear_pointer (&have, g_free);
  have = g_strdup_printf ("/bin/sh %s/server.sh --port 2", dir);
  g_assert_false (matches ("./server.sh --port 1", dir, have, "/"));
  /* not for a program that is no script */
  g_assert_false (matches ("node app.js", dir, "/usr/bin/env node app.js", dir));

  g_unlink (script);
  g_rmdir (dir);
  g_rmdir (other);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/migrate-find/program-name", test_program_name);
  g_test_add_func ("/migrate-find/relative-and-script", test_relative_and_script);
  return g_test_run ();
}
