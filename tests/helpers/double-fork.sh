#!/bin/sh
# Leaves a grandchild that escapes to a session of its own, as a daemon does:
# the subshell exits at once, so the grandchild is orphaned (and comes back to
# tendd, the subreaper). Records its pid in $RECORD.grandchild, then waits.
( setsid sh -c 'echo $$ >> "$RECORD.grandchild"; exec sleep 100000' & )
echo "$$ $(date +%s%N)" >> "$RECORD"
exec sleep 100000
