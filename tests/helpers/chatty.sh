#!/bin/sh
# Prints $LINES numbered lines on stdout, one on stderr, a last line without a
# newline, then exits 0.
i=1
while [ "$i" -le "${LINES:-100}" ]; do
  echo "line $i"
  i=$((i + 1))
done
echo "to stderr" >&2
printf 'partial-last-line'
