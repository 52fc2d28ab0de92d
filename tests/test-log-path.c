/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opening log files safely (core/tend-log-path.c): what is refused, what is followed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-log-path.h"

#define NOBODY 65534
#define SOMEONE 4242

typedef struct {
  char *dir;
  char *secret; /* a root file the attacker wants written */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("tend-log-path-XXXXXX", &error);
  g_assert_no_error (error);
  f->secret = g_build_filename (f->dir, "secret", NULL);
  g_file_set_contents (f->secret, "root only\n", -1, &error);
  g_assert_no_error (error);
  g_chmod (f->secret, 0600);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  const char *argv[] = { "rm", "-rf", f->dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (f->secret);
  g_free (f->dir);
}

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
assert_secret_intact (Fixture *f)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (f->secret, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "root only\n");
}

static gboolean
need_root (void)
{
  if (geteuid () == 0)
    return TRUE;
  g_test_skip ("needs root (files of other users)");
  return FALSE;
}

/* Opens @path for appending as the daemon does, for a service running as @owner. */
static int
open_log (const char *path, uid_t owner, GError **error)
{
  return tend_log_path_open (path, O_WRONLY | O_CREAT | O_APPEND, owner, error);
}

static void
test_creates_file_and_folders (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "a/b/app.log");
  g_autoptr(GError) error = NULL;
  struct stat st;
  int fd = open_log (path, geteuid (), &error);

  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "x\n", 2), ==, 2);
  /* in blocking mode, like any log file */
  g_assert_cmpint (fcntl (fd, F_GETFL) & O_NONBLOCK, ==, 0);
  g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
  close (fd);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);

  /* again: the existing file is appended to */
  fd = open_log (path, geteuid (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, "y\n", 2), ==, 2);
  close (fd);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4);
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "no/such/app.log");
  g_autoptr(GError) error = NULL;

  /* without O_CREAT nothing is made, and a missing folder is "not found" like a missing file */
  g_assert_cmpint (tend_log_path_open (path, O_WRONLY, geteuid (), &error), <, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_symlink_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "app.log");
  g_autofree char *dangling = path_in (f, "dangling.log");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (symlink (f->secret, path), ==, 0);
  g_assert_cmpint (open_log (path, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);
  /* reading too */
  g_assert_cmpint (tend_log_path_open (path, O_RDONLY, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  assert_secret_intact (f);

  /* a dangling link: O_CREAT would create its target */
  g_assert_cmpint (symlink ("created-by-the-link", dangling), ==, 0);
  g_assert_cmpint (open_log (dangling, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  {
    g_autofree char *target = path_in (f, "created-by-the-link");
    g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  }
}

static void
test_fifo_refused_without_blocking (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "app.log");
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_assert_cmpint (mkfifo (path, 0666), ==, 0);
  start = g_get_monotonic_time ();
  /* with no reader, open(O_WRONLY) of a FIFO would wait forever: it must not be tried */
  g_assert_cmpint (open_log (path, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  g_assert_cmpint (tend_log_path_open (path, O_RDONLY, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

static void
test_device_and_folder_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = path_in (f, "app.log");
  g_autoptr(GError) error = NULL;
  int dir_fd;

  g_mkdir (folder, 0755);
  g_assert_cmpint (open_log (folder, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  dir_fd = tend_log_path_open_folder ("/dev", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tend_log_path_openat (dir_fd, "null", "/dev/null", O_WRONLY | O_APPEND, geteuid (), &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "character device"));
  close (dir_fd);
}

static void
test_hard_link (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "app.log");
  g_autofree char *own = path_in (f, "own.log");
  g_autofree char *own_link = path_in (f, "own-link.log");
  g_autoptr(GError) error = NULL;
  int fd;

  if (!need_root ())
    return;
  /* a root file under a second name (what fs.protected_hardlinks=0 lets the folder's owner make) */
  g_assert_cmpint (link (f->secret, path), ==, 0);
  g_assert_cmpint (open_log (path, NOBODY, &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "hard links"));
  g_clear_error (&error);
  /* refused for a service running as root as well: the folder may be someone else's */
  g_assert_cmpint (open_log (path, 0, &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  assert_secret_intact (f);

  /* the service user's own file with two names harms nobody but that user: accepted */
  g_file_set_contents (own, "", 0, NULL);
  g_assert_cmpint (chown (own, NOBODY, NOBODY), ==, 0);
  g_assert_cmpint (link (own, own_link), ==, 0);
  fd = open_log (own, NOBODY, &error);
  g_assert_no_error (error);
  close (fd);
}

static void
test_owner (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "app.log");
  g_autoptr(GError) error = NULL;
  int fd;

  if (!need_root ())
    return;
  g_file_set_contents (path, "", 0, NULL);
  g_assert_cmpint (chown (path, SOMEONE, SOMEONE), ==, 0);
  /* another user's file: not for a nobody service */
  g_assert_cmpint (open_log (path, NOBODY, &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "4242"));
  g_clear_error (&error);
  g_assert_cmpint (open_log (path, TEND_LOG_OWNER_NONE, &error), <, 0);
  g_clear_error (&error);
  /* the service's own, and root's, are */
  fd = open_log (path, SOMEONE, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_cmpint (chown (path, 0, 0), ==, 0);
  fd = open_log (path, NOBODY, &error);
  g_assert_no_error (error);
  close (fd);
}

static void
test_folder_links (Fixture *f, gconstpointer data)
{
  g_autofree char *real = path_in (f, "real");
  g_autofree char *via_root = path_in (f, "via-root");
  g_autofree char *via_dotdot = path_in (f, "sub");
  g_autofree char *nobody_dir = path_in (f, "nobody");
  g_autofree char *swapped = NULL;
  g_autofree char *rooted = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int fd;

  g_mkdir (real, 0755);
  /* links owned by root (or tendd's user) on the way are followed, relative or absolute, ".." included */
  g_assert_cmpint (symlink (real, via_root), ==, 0);
  path = g_build_filename (via_root, "app.log", NULL);
  fd = open_log (path, geteuid (), &error);
  g_assert_no_error (error);
  close (fd);
  g_free (path);
  g_mkdir (via_dotdot, 0755);
  {
    g_autofree char *up = g_build_filename (via_dotdot, "up", NULL);
    g_assert_cmpint (symlink ("../real", up), ==, 0);
    path = g_build_filename (up, "other.log", NULL);
  }
  fd = open_log (path, geteuid (), &error);
  g_assert_no_error (error);
  close (fd);
  {
    g_autofree char *there = g_build_filename (real, "other.log", NULL);
    g_assert_true (g_file_test (there, G_FILE_TEST_IS_REGULAR));
  }

  if (!need_root ())
    return;
  /* a folder swapped for a link by the user who owns the folder above it: refused */
  g_mkdir (nobody_dir, 0755);
  g_assert_cmpint (chown (nobody_dir, NOBODY, NOBODY), ==, 0);
  swapped = g_build_filename (nobody_dir, "logs", NULL);
  g_assert_cmpint (symlink (f->dir, swapped), ==, 0);
  g_assert_cmpint (lchown (swapped, NOBODY, NOBODY), ==, 0);
  rooted = g_build_filename (swapped, "secret", NULL);
  g_assert_cmpint (open_log (rooted, NOBODY, &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "symbolic link owned by uid 65534"));
  g_clear_error (&error);
  g_assert_cmpint (tend_log_path_open_folder (swapped, FALSE, &error), <, 0);
  g_assert_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED);
  assert_secret_intact (f);
}

static void
test_link_loop (Fixture *f, gconstpointer data)
{
  g_autofree char *a = path_in (f, "a");
  g_autofree char *b = path_in (f, "b");
  g_autofree char *path = g_build_filename (a, "app.log", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (symlink ("b", a), ==, 0);
  g_assert_cmpint (symlink ("a", b), ==, 0);
  g_assert_cmpint (open_log (path, geteuid (), &error), <, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS);
}

static void
test_list (Fixture *f, gconstpointer data)
{
  g_autofree char *one = path_in (f, "one");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  int dir_fd;

  g_file_set_contents (one, "", 0, NULL);
  dir_fd = tend_log_path_open_folder (f->dir, FALSE, &error);
  g_assert_no_error (error);
  names = tend_log_path_list (dir_fd, &error);
  close (dir_fd);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) names, "one"));
  g_assert_true (g_strv_contains ((const char *const *) names, "secret"));
}

static void
test_owner_for_user (void)
{
  g_assert_cmpuint (tend_log_path_owner_for_user (NULL), ==, geteuid ());
  g_assert_cmpuint (tend_log_path_owner_for_user ("root"), ==, 0);
  g_assert_cmpuint (tend_log_path_owner_for_user ("no-such-user-for-tend"), ==, TEND_LOG_OWNER_NONE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add ("/log-path/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("creates-file-and-folders", test_creates_file_and_folders);
  ADD ("missing", test_missing);
  ADD ("symlink-refused", test_symlink_refused);
  ADD ("fifo-refused-without-blocking", test_fifo_refused_without_blocking);
  ADD ("device-and-folder-refused", test_device_and_folder_refused);
  ADD ("hard-link", test_hard_link);
  ADD ("owner", test_owner);
  ADD ("folder-links", test_folder_links);
  ADD ("link-loop", test_link_loop);
  ADD ("list", test_list);
#undef ADD
  g_test_add_func ("/log-path/owner-for-user", test_owner_for_user);
  return g_test_run ();
}
