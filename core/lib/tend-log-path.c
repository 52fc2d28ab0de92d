/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-log-path.h"

/* as the kernel's own limit on links followed in one lookup */
#define MAX_LINKS 40

/* root and tendd's user: what they own, tendd could have written anyway */
static gboolean
privileged (uid_t uid)
{
  return uid == 0 || uid == geteuid ();
}

uid_t
tend_log_path_owner_for_user (const char *user)
{
  struct passwd pwd, *found = NULL;
  char buf[4096];

  if (user == NULL)
    return geteuid ();
  if (getpwnam_r (user, &pwd, buf, sizeof buf, &found) != 0 || found == NULL)
    return TEND_LOG_OWNER_NONE;
  return found->pw_uid;
}

static gboolean
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

static const char *
kind_of (mode_t mode)
{
  if (S_ISLNK (mode))
    return "a symbolic link";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISDIR (mode))
    return "a folder";
  return "not a regular file";
}

gboolean
tend_log_path_check (const struct stat *st, const char *path, uid_t owner, GError **error)
{
  if (!S_ISREG (st->st_mode)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "refusing the log file %s: it is %s", path,
                 kind_of (st->st_mode));
    return FALSE;
  }
  if (st->st_uid != owner && !privileged (st->st_uid)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                 "refusing the log file %s: it belongs to uid %u, neither the service's user nor root", path,
                 (guint) st->st_uid);
    return FALSE;
  }
  if (st->st_nlink > 1 && (st->st_uid != owner || st->st_uid == 0)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                 "refusing the log file %s: it has %u hard links and belongs to uid %u, so it may be another "
                 "file under a second name",
                 path, (guint) st->st_nlink, (guint) st->st_uid);
    return FALSE;
  }
  return TRUE;
}

/* The next name of @rest ("a/b/c" gives "a", @rest becomes "b/c"); NULL at the end. */
static char *
next_component (const char **rest)
{
  const char *p = *rest;
  const char *slash;

  while (*p == '/')
    p++;
  if (*p == '\0') {
    *rest = p;
    return NULL;
  }
  slash = strchr (p, '/');
  *rest = slash != NULL ? slash : p + strlen (p);
  return g_strndup (p, (gsize) (*rest - p));
}

static int
open_root (GError **error)
{
  int fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    set_errno_error (error, errno, "cannot open", "/");
  return fd;
}

/*
 * Follows the symbolic link @name in @dir_fd when its owner is trusted:
 * @todo becomes its target followed by what was left, and @dir_fd the root
 * for an absolute target. FALSE with @error set otherwise.
 */
static gboolean
follow_link (int *dir_fd,
             const char *name,
             const struct stat *st,
             const char *shown,
             GString *todo,
             guint *links,
             GError **error)
{
  char target[PATH_MAX];
  ssize_t len;

  if (!privileged (st->st_uid)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                 "refusing the log folder %s: it is a symbolic link owned by uid %u (only links owned by root are "
                 "followed on the way to a log file)",
                 shown, (guint) st->st_uid);
    return FALSE;
  }
  if (++*links > MAX_LINKS)
    return set_errno_error (error, ELOOP, "cannot open the folder", shown);
  len = readlinkat (*dir_fd, name, target, sizeof target - 1);
  if (len < 0)
    return set_errno_error (error, errno, "cannot read the link", shown);
  target[len] = '\0';
  if (target[0] == '/') {
    int root = open_root (error);
    if (root < 0)
      return FALSE;
    close (*dir_fd);
    *dir_fd = root;
  }
  g_string_prepend_c (todo, '/');
  g_string_prepend (todo, target);
  return TRUE;
}

int
tend_log_path_open_folder (const char *dir, gboolean create, GError **error)
{
  g_autofree char *absolute = g_canonicalize_filename (dir, NULL);
  g_autoptr(GString) todo = g_string_new (absolute);
  g_autoptr(GString) shown = g_string_new (NULL); /* the folder reached so far, for messages */
  guint links = 0;
  int fd = open_root (error);

  while (fd >= 0) {
    g_autofree char *rest_copy = NULL;
    const char *rest = todo->str;
    g_autofree char *name = next_component (&rest);
    struct stat st;
    int next;

    if (name == NULL)
      return fd;
    rest_copy = g_strdup (rest);
    g_string_assign (todo, rest_copy);
    if (g_str_equal (name, "."))
      continue;
    g_string_append_printf (shown, "/%s", name);

    /* ".." is never a link; the lexical clean-up above left only those that come from link targets */
    next = openat (fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat (fd, name, 0750) < 0 && errno != EEXIST) {
        set_errno_error (error, errno, "cannot create the folder", shown->str);
        break;
      }
      next = openat (fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next >= 0) {
      close (fd);
      fd = next;
      continue;
    }
    /* O_NOFOLLOW | O_DIRECTORY on a link fails with ENOTDIR or ELOOP: see what it is */
    if ((errno == ENOTDIR || errno == ELOOP) && fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK (st.st_mode)) {
      if (follow_link (&fd, name, &st, shown->str, todo, &links, error))
        continue;
      break;
    }
    set_errno_error (error, errno, "cannot open the folder", shown->str);
    break;
  }
  if (fd >= 0)
    close (fd);
  return -1;
}

int
tend_log_path_open_dir (const char *path, gboolean create, char **out_name, GError **error)
{
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  g_autofree char *dir = g_path_get_dirname (absolute);
  int fd;

  if (g_str_equal (absolute, "/")) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY, "%s is not a file", path);
    return -1;
  }
  fd = tend_log_path_open_folder (dir, create, error);
  if (fd >= 0 && out_name != NULL)
    *out_name = g_path_get_basename (absolute);
  return fd;
}

int
tend_log_path_openat (int dir_fd, const char *name, const char *path, int flags, uid_t owner, GError **error)
{
  struct stat st;
  int fd;

  /* a device or a FIFO is refused before it is opened at all: opening one can have effects of its own */
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !tend_log_path_check (&st, path, owner, error))
    return -1;
  /* O_NONBLOCK: should a FIFO take its place meanwhile, opening it must not wait for a reader */
  fd = openat (dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
  if (fd < 0) {
    int saved = errno;
    if (saved == ELOOP) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "refusing the log file %s: it is a symbolic link",
                   path);
      return -1;
    }
    set_errno_error (error, saved, "cannot open", path);
    return -1;
  }
  if (fstat (fd, &st) < 0) {
    set_errno_error (error, errno, "cannot stat", path);
    close (fd);
    return -1;
  }
  if (!tend_log_path_check (&st, path, owner, error)) {
    close (fd);
    return -1;
  }
  if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) < 0) {
    set_errno_error (error, errno, "cannot set up", path);
    close (fd);
    return -1;
  }
  return fd;
}

int
tend_log_path_open (const char *path, int flags, uid_t owner, GError **error)
{
  g_autofree char *name = NULL;
  int dir_fd = tend_log_path_open_dir (path, (flags & O_CREAT) != 0, &name, error);
  int fd;

  if (dir_fd < 0)
    return -1;
  fd = tend_log_path_openat (dir_fd, name, path, flags, owner, error);
  close (dir_fd);
  return fd;
}

GStrv
tend_log_path_list (int dir_fd, GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir;
  struct dirent *entry;

  if (fd < 0) {
    set_errno_error (error, errno, "cannot list", "the folder");
    return NULL;
  }
  dir = fdopendir (fd);
  if (dir == NULL) {
    set_errno_error (error, errno, "cannot list", "the folder");
    close (fd);
    return NULL;
  }
  while ((entry = readdir (dir)) != NULL) {
    if (!g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, ".."))
      g_strv_builder_add (builder, entry->d_name);
  }
  closedir (dir);
  return g_strv_builder_end (builder);
}
