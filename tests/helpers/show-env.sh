#!/bin/sh
# Writes what the service sees into $OUT_DIR/env-$TEND_INSTANCE, then waits.
f="$OUT_DIR/env-$TEND_INSTANCE"
{
  echo "pwd=$(pwd)"
  echo "uid=$(id -u)"
  echo "TEND_INSTANCE=$TEND_INSTANCE"
  echo "NODE_APP_INSTANCE=$NODE_APP_INSTANCE"
  echo "PORT=$PORT"
  echo "FOO=$FOO"
  echo "FROM_FILE=$FROM_FILE"
  echo "NOTIFY_SOCKET=${NOTIFY_SOCKET:-unset}"
  echo "args=$*"
} > "$f.tmp"
mv "$f.tmp" "$f"
exec sleep 100000
