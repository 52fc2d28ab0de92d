#!/bin/sh
# Prints $COUNT (default 1) lines of $LENGTH 'x' characters, then "after", then exits.
i=0
while [ "$i" -lt "${COUNT:-1}" ]; do
  head -c "${LENGTH:-150000}" /dev/zero | tr '\0' 'x'
  printf '\n'
  i=$((i + 1))
done
printf 'after\n'
