/* stamp: benchmark service program for bench/respawn-and-rss.py.
 *
 * As its very first act it appends one line "PID REALTIME_NS\n" to the file
 * named by argv[1] (CLOCK_REALTIME, so the harness can compare it with
 * time.time_ns() taken in another process), then sleeps until killed.
 * No stdio, no allocation: the work between exec and the timestamp is the
 * dynamic loader (nothing when built -static) and one clock_gettime().
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static char *
put_u64 (char *p, unsigned long long v)
{
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char) ('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

int
main (int argc, char **argv)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);

  if (argc > 1)
    {
      char line[64], *p = line;
      int fd;

      p = put_u64 (p, (unsigned long long) getpid ());
      *p++ = ' ';
      p = put_u64 (p, (unsigned long long) ts.tv_sec * 1000000000ULL
                      + (unsigned long long) ts.tv_nsec);
      *p++ = '\n';
      /* O_APPEND + one short write: atomic, lines never interleave. */
      fd = open (argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0)
        {
          (void) !write (fd, line, (size_t) (p - line));
          close (fd);
        }
    }

  for (;;)
    pause ();
}
