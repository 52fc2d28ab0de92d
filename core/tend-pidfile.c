/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-pidfile.h"

static int
lock_owner (int fd)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

  if (fcntl (fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
    return 0;
  return (int) fl.l_pid;
}

int
tend_pidfile_acquire (const char *path, GError **error)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  g_autofree char *text = NULL;
  int fd;

  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot open %s: %s", path, g_strerror (saved));
    return -1;
  }
  if (fcntl (fd, F_SETLK, &fl) < 0) {
    int owner = lock_owner (fd);
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_ALREADY_RUNNING,
                 "another tendd (pid %d) is already running with this home (%s)", owner, path);
    return -1;
  }
  text = g_strdup_printf ("%d\n", (int) getpid ());
  if (ftruncate (fd, 0) < 0 || pwrite (fd, text, strlen (text), 0) < 0) {
    int saved = errno;
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (saved));
    return -1;
  }
  return fd;
}

void
tend_pidfile_release (const char *path, int fd)
{
  if (fd < 0)
    return;
  unlink (path);
  close (fd);
}

