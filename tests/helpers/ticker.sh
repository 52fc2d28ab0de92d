#!/bin/sh
# Prints "tick N" every 10 ms forever; records its pid in $RECORD first.
echo "$$ $(date +%s%N)" >> "$RECORD"
i=0
while :; do
  i=$((i + 1))
  echo "tick $i${PAD:+ $PAD}"
  sleep 0.01
done
