#!/bin/sh
# Ignores SIGTERM, so only SIGKILL ends it.
trap '' TERM
echo "$$ $(date +%s%N)" >> "$RECORD"
while :; do sleep 1; done
