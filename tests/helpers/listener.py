#!/usr/bin/env python3
# Appends "PID START_NS" to $RECORD. When $PORT is set: after $DELAY_MS ms, listens on
# 127.0.0.1:$PORT, appends "PID NS" to $LISTENED (when set), and accepts (and closes)
# connections. On SIGTERM appends "PID NS" to $STOPS (when set) and exits 0.
import os
import signal
import socket
import sys
import time


def stamp(var):
    if os.environ.get(var):
        with open(os.environ[var], "a") as f:
            f.write("%d %d\n" % (os.getpid(), time.time_ns()))


def on_term(signum, frame):
    stamp("STOPS")
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
stamp("RECORD")
if not os.environ.get("PORT"):
    while True:
        time.sleep(3600)
time.sleep(int(os.environ.get("DELAY_MS", "0")) / 1000)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(16)
stamp("LISTENED")
while True:
    c, _ = s.accept()
    c.close()
