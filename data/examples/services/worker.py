#!/usr/bin/env python3
# Demo service: a worker that processes "jobs" and crashes now and then
# (exit status 1 at a random moment 10 to 30 s after it starts), to show
# Tend's restart policy. Run with instances=2 and increment-var=PORT, each
# instance sees its own TEND_INSTANCE and PORT (it only prints them).
import hashlib
import os
import random
import signal
import sys
import time

instance = os.environ.get("TEND_INSTANCE", "0")
port = os.environ.get("PORT", "-")
queue = os.environ.get("QUEUE", "default")
crash_after = random.uniform(10, 30)
started = time.monotonic()


def on_term(signum, frame):
    print(f"worker[{instance}]: signal {signum}, finishing the current job and leaving", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
print(f"worker[{instance}]: pid {os.getpid()}, queue {queue}, PORT={port}; "
      f"will crash in {crash_after:.0f} s", flush=True)

job = 0
while True:
    job += 1
    digest = hashlib.sha256()
    for i in range(20000):
        digest.update(str(i * job).encode())
    print(f"worker[{instance}]: job {job} done ({digest.hexdigest()[:12]})", flush=True)
    if time.monotonic() - started >= crash_after:
        print(f"worker[{instance}]: something went wrong in job {job}, exiting with status 1",
              file=sys.stderr, flush=True)
        sys.exit(1)
    time.sleep(1)
