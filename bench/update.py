#!/usr/bin/env python3
"""tend update with many services: how long `tend update` takes, end to end.

tendd supervises --services (100) idle services (`sleep 100000`, from a copy of
sleep(1) in the temp dir so that leftovers can be found by executable). Once
every service is online, `tend update` is run --rounds (10) times in a row and
timed end to end (fork + exec of the client, Update call, the self-check of the
new program, the handover, the exec, until the client reads the new
Generation). After every round each service must still have its pid, its
restart count 0, and be online: an update that restarted anything is a
failure, not a figure.

Everything lives under one mktemp -d; tendd is stopped by pid (see benchlib.py).
python3 only, no pip packages.  See bench/README.md.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402
    REPO, BenchError, log, poll, pct, loadavg, install_signal_handlers, Svc, Session, TendDaemon)


def snapshot(d):
    r = d.cli("status", "--json", timeout=30)
    if r.returncode != 0:
        raise BenchError("tend status failed (%d): %s" % (r.returncode, r.stdout))
    return {s["name"]: (s["pid"], s["restarts"], s["state"]) for s in json.loads(r.stdout)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=100, help="idle services (default 100)")
    ap.add_argument("--rounds", type=int, default=10, help="tend update calls (default 10)")
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.environ.get("TEND_PLUGIN_DIR",
                                                          os.path.join(REPO, "build", "plugins")))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    install_signal_handlers()

    s = Session(prefix="tend-bench-update.", keep=args.keep)
    load_before = loadavg()
    times = []
    try:
        sleep = os.path.join(s.tmp, "sleep")
        shutil.copy2(shutil.which("sleep"), sleep)
        s.helpers.append(sleep)
        services = [Svc("idle%d" % i, [sleep, "100000"]) for i in range(args.services)]
        d = TendDaemon(s, args.tendd, args.plugin_dir)
        ok, info = d.available()
        if not ok:
            raise BenchError("tendd: " + info)
        workdir = os.path.join(s.tmp, "tend")
        os.makedirs(workdir)
        s.active.append(d)
        log("starting tendd with %d services" % args.services)
        d.start(workdir, services, plugins={"http": {"listen": "127.0.0.1:0"}})
        if not poll(lambda: sum(1 for v in snapshot(d).values() if v[2] == "online") == args.services, 120, 0.5):
            raise BenchError("the %d services are not all online after 120 s" % args.services)
        before = snapshot(d)
        for rnd in range(args.rounds):
            t0 = time.perf_counter_ns()
            r = d.cli("update", timeout=120)
            dt = (time.perf_counter_ns() - t0) / 1e6
            if r.returncode != 0:
                raise BenchError("tend update failed (%d): %s" % (r.returncode, r.stdout))
            after = snapshot(d)
            if after != before:
                changed = [n for n in before if after.get(n) != before[n]]
                raise BenchError("round %d: services changed across the update: %s" % (rnd + 1, changed[:5]))
            times.append(dt)
            log("round %d: %.0f ms" % (rnd + 1, dt))
    finally:
        s.cleanup()
    load_after = loadavg()
    print("# tend update with %d services (%d rounds)\n" % (args.services, args.rounds))
    print("tendd: %s; load average %s before, %s after\n" % (info, load_before, load_after))
    print("| median ms | p90 ms | min ms | max ms |")
    print("|---:|---:|---:|---:|")
    print("| %.0f | %.0f | %.0f | %.0f |" % (statistics.median(times), pct(times, 0.9), min(times), max(times)))
    print("\nEvery service kept its pid, its restart count (0) and its state across every update.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("error: %s" % e)
        sys.exit(1)
