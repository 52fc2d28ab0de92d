/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend_fd_limit_count_open(), which the process plugin calls before every
 * spawn: it counts right past one read of the folder, and it takes nothing
 * from the heap. An opendir() there mallocs 32 KB and writes a record per
 * open descriptor into it; the log buffers of the service being started are
 * carved from the same memory next and keep those pages resident, which
 * grew tendd's RSS by ~9 KB per service (bench/respawn-and-rss.py).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tend-fd-limit.h"

/* Sanitizers bring their own malloc: counting through glibc's would break theirs. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define COUNT_MALLOC 0
#endif
#endif
#ifndef COUNT_MALLOC
#define COUNT_MALLOC 1
#endif

#if COUNT_MALLOC
/* glibc lets a program replace malloc by defining it (libc's own calls, opendir's included, come here) */
extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *ptr, size_t size);

static volatile int counting;
static volatile guint allocations;

void *
malloc (size_t size)
{
  if (counting)
    allocations++;
  return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  if (counting)
    allocations++;
  return __libc_calloc (n, size);
}

void *
realloc (void *ptr, size_t size)
{
  if (counting)
    allocations++;
  return __libc_realloc (ptr, size);
}
#endif

/* Enough descriptors that the listing of /proc/self/fd takes several reads. */
#define N_PIPES 300

static guint
count_with_gdir (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  /* the GDir's own descriptor */
  return n - 1;
}

static void
open_pipes (int fds[N_PIPES][2])
{
  struct rlimit limit;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  if (limit.rlim_cur < 4 * N_PIPES && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = MIN (limit.rlim_max, (rlim_t) 4 * N_PIPES);
    g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  }
  for (guint i = 0; i < N_PIPES; i++)
    g_assert_cmpint (pipe2 (fds[i], O_CLOEXEC), ==, 0);
}

static void
close_pipes (int fds[N_PIPES][2])
{
  for (guint i = 0; i < N_PIPES; i++) {
    close (fds[i][0]);
    close (fds[i][1]);
  }
}

static void
test_count (void)
{
  int fds[N_PIPES][2];
  guint before = tend_fd_limit_count_open ();

  g_assert_cmpuint (before, ==, count_with_gdir ());
  open_pipes (fds);
  g_assert_cmpuint (tend_fd_limit_count_open (), ==, before + 2 * N_PIPES);
  g_assert_cmpuint (tend_fd_limit_count_open (), ==, count_with_gdir ());
  close_pipes (fds);
  g_assert_cmpuint (tend_fd_limit_count_open (), ==, before);
}

static void
test_no_heap (void)
{
#if COUNT_MALLOC
  int fds[N_PIPES][2];
  guint n;

  /* the counter sees allocations at all: else this test could not fail */
  allocations = 0;
  counting = 1;
  g_free (g_malloc (64));
  counting = 0;
  g_assert_cmpuint (allocations, >=, 1);

  open_pipes (fds);
  allocations = 0;
  counting = 1;
  n = tend_fd_limit_count_open ();
  counting = 0;
  g_assert_cmpuint (n, >=, 2 * N_PIPES);
  g_assert_cmpuint (allocations, ==, 0);
  close_pipes (fds);
#else
  g_test_skip ("a sanitizer replaces malloc in this build");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fd-limit/count", test_count);
  g_test_add_func ("/fd-limit/no-heap", test_no_heap);
  return g_test_run ();
}
