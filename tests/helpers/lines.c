/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend-test-lines COUNT [DONE-FILE]: prints COUNT numbered lines of 100
 * bytes ("%08d", a space, 90 times the letter 'a' + n % 26, a newline) as
 * fast as it can, then creates DONE-FILE and exits 0. COUNT 0: forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD 90

int
main (int argc, char **argv)
{
  static char buffer[1 << 16];
  unsigned long count;
  char line[8 + 1 + PAD + 2];

  if (argc < 2) {
    fprintf (stderr, "usage: %s COUNT [DONE-FILE]\n", argv[0]);
    return 2;
  }
  count = strtoul (argv[1], NULL, 10);
  setvbuf (stdout, buffer, _IOFBF, sizeof buffer);
  for (unsigned long n = 0; count == 0 || n < count; n++) {
    snprintf (line, 10, "%08lu ", n % 100000000);
    memset (line + 9, 'a' + (int) (n % 26), PAD);
    line[9 + PAD] = '\n';
    if (fwrite (line, 1, 9 + PAD + 1, stdout) != 9 + PAD + 1)
      return 1;
  }
  if (fflush (stdout) != 0)
    return 1;
  if (argc > 2) {
    FILE *done = fopen (argv[2], "w");
    if (done == NULL)
      return 1;
    fclose (done);
  }
  return 0;
}
