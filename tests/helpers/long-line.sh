#!/bin/sh
# Prints one line of $LENGTH 'x' characters, a newline, then "after", then exits.
head -c "${LENGTH:-150000}" /dev/zero | tr '\0' 'x'
printf '\nafter\n'
