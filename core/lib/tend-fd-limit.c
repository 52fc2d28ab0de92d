/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-fd-limit.h"

static struct rlimit original = { RLIM_INFINITY, RLIM_INFINITY };
static gboolean original_known;

void
tend_fd_limit_raise (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) < 0)
    return;
  original = limit;
  original_known = TRUE;
  if (limit.rlim_cur == limit.rlim_max) {
    g_debug ("open-file limit: %lu, the hard limit", (unsigned long) limit.rlim_cur);
    return;
  }
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &limit) < 0) {
    g_warning (_("cannot raise the open-file limit from %lu to %lu: %s"), (unsigned long) original.rlim_cur,
               (unsigned long) limit.rlim_max, g_strerror (errno));
    return;
  }
  g_message (_("open-file limit raised from %lu to %lu (services keep %lu)"), (unsigned long) original.rlim_cur,
             (unsigned long) limit.rlim_cur, (unsigned long) original.rlim_cur);
}

struct rlimit
tend_fd_limit_get_original (void)
{
  struct rlimit limit = original;

  if (!original_known)
    getrlimit (RLIMIT_NOFILE, &limit);
  return limit;
}

guint
tend_fd_limit_count_open (void)
{
  /*
   * Read into the stack, not through opendir(): that mallocs 32 KB on every
   * spawn and writes a record per open descriptor into it; the log buffers
   * of the service being started are carved from those pages next and keep
   * them resident (~9 KB of RSS per service with 100 services).
   */
  guint64 buf[512]; /* dirent64 records are 8-byte aligned */
  int fd = open ("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  guint n = 0;
  ssize_t got;

  /* unknown: assume nothing is open rather than refuse everything */
  if (fd < 0)
    return 0;
  while ((got = getdents64 (fd, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < got;) {
      const struct dirent64 *entry = (const struct dirent64 *) ((const char *) buf + off);
      if (entry->d_name[0] != '.')
        n++;
      off += entry->d_reclen;
    }
  }
  close (fd);
  /* not the one the listing itself used */
  return n > 0 ? n - 1 : 0;
}

static rlim_t
current_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY)
    return G_MAXUINT;
  return MIN (limit.rlim_cur, (rlim_t) G_MAXUINT);
}

guint
tend_fd_limit_get_reserve (void)
{
  return CLAMP ((guint) (current_limit () / 16), 16, 256);
}

guint
tend_fd_limit_get_spare (void)
{
  guint limit = (guint) current_limit ();
  guint used = tend_fd_limit_count_open () + tend_fd_limit_get_reserve ();

  return limit > used ? limit - used : 0;
}

gboolean
tend_fd_limit_check_room (guint needed, GError **error)
{
  guint limit = (guint) current_limit ();
  guint open = tend_fd_limit_count_open ();
  guint reserve = tend_fd_limit_get_reserve ();

  if ((guint64) open + reserve + needed <= limit)
    return TRUE;
  g_set_error (error, TEND_ERROR, TEND_ERROR_RESOURCE,
               "open-file limit reached: tendd has %u of %u file descriptors open (%u are kept free for clients "
               "and log files); raise LimitNOFILE / ulimit -n, or run fewer processes",
               open, limit, reserve);
  return FALSE;
}
