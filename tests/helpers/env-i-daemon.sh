#!/bin/sh
# Daemonises as some tools do: a cleared environment (env -i), a session of its
# own (setsid) and a double fork, so the daemon keeps neither the service's
# session nor its environment, and its parent is gone. The daemon's pid goes to
# $RECORD.daemon; then the service's own process records itself and waits.
case "$1" in
--daemon)
  echo $$ >> "$2"
  exec sleep 100000
  ;;
--fork)
  ( "$0" --daemon "$2" & )
  exit 0
  ;;
esac
env -i setsid "$0" --fork "$RECORD.daemon"
echo "$$ $(date +%s%N)" >> "$RECORD"
exec sleep 100000
