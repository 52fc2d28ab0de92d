#!/bin/sh
# A service as the seed ran some: the script leaves a grandchild in a session
# of its own that listens on 127.0.0.1:$PORT (listener.py, which appends
# "PID NS" to $RECORD and $LISTENED), then waits with a child of its own.
# Appends its own pid to $RECORD.parent.
( setsid python3 "$(dirname "$0")/listener.py" & )
echo "$$" >> "$RECORD.parent"
sleep 100000 &
wait
