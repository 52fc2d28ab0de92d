/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-pidfile.h"

struct _TendPidfile {
  char *path;
  int home_fd; /* flock()ed: the lock that counts */
  int file_fd; /* fcntl()-locked too, for daemons of older versions that only look there */
};

/* The holder of the flock on the directory @fd, from /proc/locks (0 when unknown). */
static int
flock_owner (int fd)
{
  g_autofree char *locks = NULL;
  g_autofree char *needle = NULL;
  g_auto(GStrv) lines = NULL;
  struct stat st;

  if (fstat (fd, &st) < 0 || !g_file_get_contents ("/proc/locks", &locks, NULL, NULL))
    return 0;
  /* "1: FLOCK  ADVISORY  WRITE 4242 00:2d:1234 0 EOF"; the device in hex */
  needle = g_strdup_printf (" %02x:%02x:%lu ", major (st.st_dev), minor (st.st_dev), (unsigned long) st.st_ino);
  lines = g_strsplit (locks, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_auto(GStrv) fields = NULL;
    if (strstr (lines[i], "FLOCK") == NULL || strstr (lines[i], needle) == NULL)
      continue;
    fields = g_strsplit_set (lines[i], " ", -1);
    for (guint j = 0; fields[j] != NULL; j++) {
      if (g_str_equal (fields[j], "WRITE") || g_str_equal (fields[j], "READ")) {
        for (guint k = j + 1; fields[k] != NULL; k++) {
          if (fields[k][0] != '\0')
            return atoi (fields[k]);
        }
      }
    }
  }
  return 0;
}

static int
fcntl_owner (int fd)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

  if (fcntl (fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
    return 0;
  return (int) fl.l_pid;
}

static void
set_already_running (GError **error, int owner, const char *home)
{
  if (owner > 0)
    g_set_error (error, TEND_ERROR, TEND_ERROR_ALREADY_RUNNING,
                 "another tendd (pid %d) is already running with this home (%s)", owner, home);
  else
    g_set_error (error, TEND_ERROR, TEND_ERROR_ALREADY_RUNNING,
                 "another tendd is already running with this home (%s)", home);
}

TendPidfile *
tend_pidfile_acquire (const char *home, GError **error)
{
  g_autoptr(TendPidfile) self = g_new0 (TendPidfile, 1);
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  g_autofree char *text = NULL;

  self->home_fd = -1;
  self->file_fd = -1;
  self->path = g_build_filename (home, "tendd.pid", NULL);
  /* A lock on tendd.pid alone dies with the file: delete it and a second daemon would get a new
   * file and a new lock. The home directory cannot be unlinked from under us while in use. */
  self->home_fd = open (home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (self->home_fd < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot open %s: %s", home, g_strerror (saved));
    return NULL;
  }
  if (flock (self->home_fd, LOCK_EX | LOCK_NB) < 0) {
    int saved = errno;
    if (saved != EWOULDBLOCK) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot lock %s: %s", home, g_strerror (saved));
      return NULL;
    }
    set_already_running (error, flock_owner (self->home_fd), home);
    return NULL;
  }

  self->file_fd = open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (self->file_fd < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot open %s: %s", self->path, g_strerror (saved));
    return NULL;
  }
  if (fcntl (self->file_fd, F_SETLK, &fl) < 0) {
    set_already_running (error, fcntl_owner (self->file_fd), home);
    return NULL;
  }
  text = g_strdup_printf ("%d\n", (int) getpid ());
  if (ftruncate (self->file_fd, 0) < 0 || pwrite (self->file_fd, text, strlen (text), 0) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot write %s: %s", self->path, g_strerror (saved));
    return NULL;
  }
  return g_steal_pointer (&self);
}

TendPidfile *
tend_pidfile_adopt (const char *home, int home_fd, int file_fd)
{
  TendPidfile *self = g_new0 (TendPidfile, 1);

  self->path = g_build_filename (home, "tendd.pid", NULL);
  self->home_fd = home_fd;
  self->file_fd = file_fd;
  return self;
}

void
tend_pidfile_get_fds (TendPidfile *self, int *out_home_fd, int *out_file_fd)
{
  *out_home_fd = self->home_fd;
  *out_file_fd = self->file_fd;
}

void
tend_pidfile_free (TendPidfile *self)
{
  if (self->file_fd >= 0)
    close (self->file_fd);
  if (self->home_fd >= 0)
    close (self->home_fd);
  g_free (self->path);
  g_free (self);
}

void
tend_pidfile_release (TendPidfile *self)
{
  /* while we still hold the lock, so the file we remove is ours */
  unlink (self->path);
  tend_pidfile_free (self);
}
