#!/bin/sh
# A service as the seed ran some: the script leaves a grandchild in a session
# of its own that listens on 127.0.0.1:$PORT (listener.py, which appends
# "PID NS" to $RECORD and $LISTENED), then waits with a child of its own.
# Appends its own pid to $RECORD.parent. It also leaves an orphan in its own
# session and process group (pid appended to $RECORD.orphan), which only the
# session tells apart from a stranger.
( setsid python3 "$(dirname "$0")/listener.py" & )
( sleep 100001 & echo $! >> "$RECORD.orphan" )
echo "$$" >> "$RECORD.parent"
sleep 100000 &
wait
