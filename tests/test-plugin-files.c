/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A root tendd loads only plugin files that nobody but root could have written. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-plugin-registry.h"
#include "tend-test-daemon.h"

static char *
make_file (const char *dir, const char *name, mode_t mode)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
  g_assert_cmpint (chmod (path, mode), ==, 0);
  return path;
}

static void
assert_refused (const char *path, const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *real = tend_plugin_registry_check_file (path, 0, &error);

  g_assert_null (real);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PLUGIN);
  if (strstr (error->message, reason) == NULL)
    g_error ("%s: expected “%s” in “%s”", path, reason, error->message);
}

/* The rule itself, for a root daemon and for an unprivileged one. */
static void
test_check_file_rules (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tend-plugin-files-XXXXXX", NULL);
  g_autofree char *open_dir = g_build_filename (dir, "open", NULL);
  g_autofree char *sticky_dir = g_build_filename (dir, "sticky", NULL);
  g_autofree char *good = make_file (dir, "good.so", 0644);
  g_autofree char *group_writable = make_file (dir, "group.so", 0664);
  g_autofree char *world_writable = make_file (dir, "world.so", 0646);
  g_autofree char *link = g_build_filename (dir, "link.so", NULL);
  g_autofree char *in_open = NULL;
  g_autofree char *in_sticky = NULL;
  g_autofree char *real = NULL;
  g_autoptr(GError) error = NULL;
  uid_t me = geteuid ();

  g_assert_cmpint (g_mkdir (open_dir, 0777), ==, 0);
  g_assert_cmpint (chmod (open_dir, 0777), ==, 0);
  g_assert_cmpint (g_mkdir (sticky_dir, 0777), ==, 0);
  g_assert_cmpint (chmod (sticky_dir, 01777), ==, 0);
  in_open = make_file (open_dir, "a.so", 0644);
  in_sticky = make_file (sticky_dir, "b.so", 0644);
  g_assert_cmpint (symlink (good, link), ==, 0);

  /* an unprivileged daemon only runs code with its own rights: any file */
  real = tend_plugin_registry_check_file (world_writable, me == 0 ? 1000 : me, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (real, ==, world_writable);
  g_clear_pointer (&real, g_free);

  if (me != 0) {
    /* the test's own files are not root's */
    assert_refused (good, "is owned by uid");
  } else {
    real = tend_plugin_registry_check_file (good, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (real, ==, good);
    g_clear_pointer (&real, g_free);

    /* a symlink is followed: the target is what is checked and loaded */
    real = tend_plugin_registry_check_file (link, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (real, ==, good);
    g_clear_pointer (&real, g_free);

    assert_refused (group_writable, "is writable by its group (mode 0664)");
    assert_refused (world_writable, "is writable by others (mode 0646)");
    /* a root file in a folder anyone may write can be swapped for another */
    assert_refused (in_open, "open is writable by others (mode 0777)");
    /* in a sticky folder only root may replace root's file */
    real = tend_plugin_registry_check_file (in_sticky, 0, &error);
    g_assert_no_error (error);
    g_clear_pointer (&real, g_free);

    g_assert_cmpint (chown (good, 65534, 0), ==, 0);
    assert_refused (good, "is owned by uid 65534, not root");
    assert_refused (link, "is owned by uid 65534, not root");
  }
  assert_refused (dir, "is not a regular file");

  g_unlink (link);
  g_unlink (in_open);
  g_unlink (in_sticky);
  g_rmdir (open_dir);
  g_rmdir (sticky_dir);
  g_unlink (good);
  g_unlink (group_writable);
  g_unlink (world_writable);
  g_rmdir (dir);
}

static void
copy_plugin (const char *to_dir, const char *name, uid_t owner, mode_t mode)
{
  g_autofree char *from = g_build_filename (g_getenv ("TEND_PLUGIN_DIR"), name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (to, contents, length, NULL));
  g_assert_cmpint (chown (to, owner, (gid_t) -1), ==, 0);
  g_assert_cmpint (chmod (to, mode), ==, 0);
}

/*
 * As root, a tendd whose plugin folder holds a module another user owns, or
 * one writable by others, refuses them by name and keeps running with the
 * modules it may trust (the installed ones, found later in the path).
 */
static void
test_daemon_refuses_untrusted_modules (void)
{
  g_autoptr(TendTestDaemon) d = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *dirs = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("TEND_PLUGIN_DIR"));
  g_autofree char *want_owner = NULL;
  g_autofree char *want_mode = NULL;
  g_autofree char *out = NULL;

  if (geteuid () != 0) {
    g_test_skip ("the ownership check applies to a tendd running as root");
    return;
  }
  d = tend_test_daemon_new ();
  dir = tend_test_daemon_path (d, "untrusted-plugins");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  copy_plugin (dir, "tend-logrotate.so", 65534, 0644);
  copy_plugin (dir, "tend-health.so", 0, 0666);
  dirs = g_strconcat (dir, ":", saved, NULL);
  g_setenv ("TEND_PLUGIN_DIR", dirs, TRUE);

  tend_test_daemon_write_config (d, "[tend]\ndbus=none\n\n[plugin:logrotate]\nenabled=true\n\n"
                                    "[service:s]\nexec=sleep 1000\n");
  tend_test_daemon_start (d);
  want_owner = g_strdup_printf ("skipping plugin %s/tend-logrotate.so: refused: tendd runs as root and "
                                "%s/tend-logrotate.so is owned by uid 65534, not root", dir, dir);
  want_mode = g_strdup_printf ("skipping plugin %s/tend-health.so: refused: tendd runs as root and "
                               "%s/tend-health.so is writable by others (mode 0666)", dir, dir);
  g_assert_true (tend_test_daemon_log_contains (d, want_owner));
  g_assert_true (tend_test_daemon_log_contains (d, want_mode));

  /* the trusted copies further down the path were taken instead */
  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "plugins", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "logrotate"));
  {
    g_autofree char *maps_path = g_strdup_printf ("/proc/%d/maps", (int) d->pid);
    g_autofree char *maps = NULL;
    g_assert_true (g_file_get_contents (maps_path, &maps, NULL, NULL));
    g_assert_null (strstr (maps, dir));
    g_assert_nonnull (strstr (maps, "tend-logrotate.so"));
  }
  g_assert_cmpint (tend_test_daemon_stop (d), ==, 0);
  g_setenv ("TEND_PLUGIN_DIR", saved, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin-files/check-rules", test_check_file_rules);
  g_test_add_func ("/plugin-files/daemon-refuses-untrusted", test_daemon_refuses_untrusted_modules);
  return g_test_run ();
}
