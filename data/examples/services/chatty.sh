#!/bin/sh
# Demo service: a chatty logger. One line every 0.2 s on stdout, and now and
# then a warning on stderr. On SIGTERM it takes half a second to "flush"
# before it exits, to show a graceful stop within kill-timeout.
n=0
running=1
trap 'running=0' TERM INT
echo "chatty: started, pid $$"
while [ "$running" -eq 1 ]; do
  n=$((n + 1))
  echo "chatty: line $n"
  if [ $((n % 17)) -eq 0 ]; then
    echo "chatty: warning: line $n is divisible by 17" >&2
  fi
  sleep 0.2
done
echo "chatty: got SIGTERM after $n lines, flushing"
sleep 0.5
echo "chatty: bye"
exit 0
