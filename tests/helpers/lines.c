/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend-test-lines COUNT [DONE-FILE [RATE]]: prints COUNT numbered lines of 100
 * bytes ("%08d", a space, 90 times the letter 'a' + n % 26, a newline) as
 * fast as it can (or RATE lines a second, in bursts every 10 ms), then
 * creates DONE-FILE and exits 0. COUNT 0: forever. DONE-FILE "-": none.
 * Writes go out in 64 KiB blocks, so lines are cut across writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#define PAD 90

int
main (int argc, char **argv)
{
  static char buffer[1 << 16];
  unsigned long count;
  unsigned long rate;
  double start;
  char line[8 + 1 + PAD + 2];

  if (argc < 2) {
    fprintf (stderr, "usage: %s COUNT [DONE-FILE]\n", argv[0]);
    return 2;
  }
  rate = argc > 3 ? strtoul (argv[3], NULL, 10) : 0;
  start = now_s ();
  count = strtoul (argv[1], NULL, 10);
  setvbuf (stdout, buffer, _IOFBF, sizeof buffer);
  for (unsigned long n = 0; count == 0 || n < count; n++) {
    /* paced: ahead of the rate, sleep until the time for line n */
    if (rate > 0 && n % (rate / 100 + 1) == 0) {
      double due = start + (double) n / (double) rate;
      double wait = due - now_s ();
      if (wait > 0) {
        struct timespec ts = { (time_t) wait, (long) ((wait - (double) (time_t) wait) * 1e9) };
        nanosleep (&ts, NULL);
      }
    }
    snprintf (line, 10, "%08lu ", n % 100000000);
    memset (line + 9, 'a' + (int) (n % 26), PAD);
    line[9 + PAD] = '\n';
    if (fwrite (line, 1, 9 + PAD + 1, stdout) != 9 + PAD + 1)
      return 1;
  }
  if (fflush (stdout) != 0)
    return 1;
  if (argc > 2 && strcmp (argv[2], "-") != 0) {
    FILE *done = fopen (argv[2], "w");
    if (done == NULL)
      return 1;
    fclose (done);
  }
  return 0;
}
