#!/bin/sh
# Appends "PID START_NS" to $RECORD and prints one line, then idles without a
# sound. On SIGTERM it creates $RECORD.term and stops only once the test has
# created $RECORD.release: a stop that lasts as long as the test wants. It
# gives up waiting after 60 s, or once the test ($TEST_PID) is gone: one that
# aborted leaves nothing behind.
slow_stop () {
  touch "$RECORD.term"
  n=0
  while [ ! -e "$RECORD.release" ] && [ $n -lt 1200 ] && kill -0 "$TEST_PID" 2>/dev/null; do
    sleep 0.05
    n=$((n + 1))
  done
  exit 0
}
trap slow_stop TERM
echo "$$ $(date +%s%N)" >> "$RECORD"
echo "slow-stop is up"
# a builtin wait, so that the trap runs as soon as the signal comes
while :; do
  sleep 1000 &
  wait $!
done
