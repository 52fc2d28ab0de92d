#!/bin/sh
# Appends "PID START_NS" to $RECORD and exits 1 at once, unless $STAY_FILE exists,
# in which case it waits forever (so a test can let a crash loop settle).
echo "$$ $(date +%s%N)" >> "$RECORD"
if [ -n "$STAY_FILE" ] && [ -e "$STAY_FILE" ]; then
  exec sleep 100000
fi
exit "${EXIT_CODE:-1}"
