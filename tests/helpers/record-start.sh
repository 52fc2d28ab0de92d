#!/bin/sh
# Appends "PID START_NS" to $RECORD, then waits forever as the same process.
echo "$$ $(date +%s%N)" >> "$RECORD"
exec sleep 100000
