/* loggen: log-throughput generator for bench/log-throughput.py.
 *
 *   loggen BYTES [STAMPFILE [GOFIFO]]
 *
 * Writes BYTES (a multiple of 100) bytes to stdout as fast as it can, as
 * BYTES/100 numbered lines of exactly 100 bytes:
 *
 *   "%010llu " + 88 padding bytes + "\n"     (numbers 0 .. BYTES/100 - 1)
 *
 * then exits 0 (1 on a write error, 2 on a usage error).  The padding is
 * PAD below: the harness checks every line against it.
 *
 * With STAMPFILE, appends "S REALTIME_NS\n" to it just before the first write
 * and "E REALTIME_NS\n" once the last byte has been written (CLOCK_REALTIME,
 * so the harness can compare with time.time_ns()).
 *
 * With GOFIFO, first waits (open + read of one byte) until the harness writes
 * to that FIFO: the supervisor's start-up and its CLI are then out of the
 * measurement, which begins at the "S" stamp.
 *
 * No stdio on the hot path: the number is a decimal counter incremented in
 * place, lines are assembled in a 64000-byte buffer (640 whole lines) and
 * written with write(2) until everything is out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE 100
#define DIGITS 10
#define LINES_PER_BUF 640
/* 88 bytes: LINE - DIGITS - 1 (space) - 1 (newline) */
static const char PAD[] =
  "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
stamp (const char *path, char kind)
{
  struct timespec ts;
  char line[64], tmp[24], *p = line;
  unsigned long long v;
  int n = 0, fd;

  clock_gettime (CLOCK_REALTIME, &ts);
  v = (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec;
  *p++ = kind;
  *p++ = ' ';
  do { tmp[n++] = (char) ('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  *p++ = '\n';
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0)
    {
      (void) !write (fd, line, (size_t) (p - line));
      close (fd);
    }
}

static int
write_all (const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (STDOUT_FILENO, buf, len);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      buf += w;
      len -= (size_t) w;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  static char buf[LINES_PER_BUF * LINE];
  char counter[DIGITS];
  unsigned long long bytes, lines, done = 0;
  char *end;

  if (argc < 2 || sizeof PAD - 1 != LINE - DIGITS - 2)
    return 2;
  errno = 0;
  bytes = strtoull (argv[1], &end, 10);
  if (errno != 0 || *end != '\0' || bytes % LINE != 0)
    return 2;
  lines = bytes / LINE;

  if (argc > 3)
    {
      char go;
      int fd = open (argv[3], O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return 2;
      while (read (fd, &go, 1) < 0 && errno == EINTR)
        ;
      close (fd);
    }
  if (argc > 2)
    stamp (argv[2], 'S');

  for (int i = 0; i < LINES_PER_BUF; i++)
    {
      char *l = buf + i * LINE;
      l[DIGITS] = ' ';
      memcpy (l + DIGITS + 1, PAD, sizeof PAD - 1);
      l[LINE - 1] = '\n';
    }
  memset (counter, '0', DIGITS);

  while (done < lines)
    {
      unsigned long long n = lines - done;
      if (n > LINES_PER_BUF)
        n = LINES_PER_BUF;
      for (unsigned long long i = 0; i < n; i++)
        {
          int d = DIGITS - 1;
          memcpy (buf + i * LINE, counter, DIGITS);
          /* increment the decimal counter in place */
          while (d >= 0 && counter[d] == '9')
            counter[d--] = '0';
          if (d >= 0)
            counter[d]++;
        }
      if (write_all (buf, (size_t) (n * LINE)) < 0)
        return 1;
      done += n;
    }

  if (argc > 2)
    stamp (argv[2], 'E');
  return 0;
}
