#!/usr/bin/env python3
# Appends "PID START_NS" to $RECORD (when set), then allocates $STEP_MB MB of touched memory
# every $STEP_MS ms until it holds $MAX_MB MB, and then waits forever.
import os
import time

if os.environ.get("RECORD"):
    with open(os.environ["RECORD"], "a") as f:
        f.write("%d %d\n" % (os.getpid(), time.time_ns()))
step = int(os.environ.get("STEP_MB", "8")) << 20
interval = int(os.environ.get("STEP_MS", "100")) / 1000
limit = int(os.environ.get("MAX_MB", "400")) << 20
chunks = []
while sum(map(len, chunks)) < limit:
    chunks.append(bytearray(b"\x01") * step)  # written, so resident
    time.sleep(interval)
while True:
    time.sleep(3600)
