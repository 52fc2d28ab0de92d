#!/usr/bin/env python3
"""HTTP API throughput: `GET /api/health/system` (and `GET /metrics`) under wrk.

One tendd --foreground with --services (100) idle services (`sleep 100000`, from a copy
of sleep(1) in the temp dir), the process, health and http plugins, the http plugin on
127.0.0.1:0 (the bound port is read from `tend plugins --json`).  Once every service is
online, wrk runs against loopback, bounded: --duration (10 s) with --connections (16)
keep-alive connections on --threads (2) threads, with the bearer token header.

Reported per endpoint: requests per second, latency p50/p75/p90/p99 (wrk --latency),
non-2xx answers, the answer's size, tendd's CPU time during the run (tendd serves on one
thread, so CPU% is of one core) and its RSS before and after (it should not grow).

Everything lives under one mktemp -d; the daemon is stopped by pid (see benchlib.py).
python3 only, no pip packages; needs wrk.  See bench/README.md.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402
    REPO, BenchError, log, poll, run, loadavg, cpu_seconds, rss_kb, tend_version,
    install_signal_handlers, machine_facts, Svc, Session, TendDaemon)


def tend_online(d, n):
    try:
        r = d.cli("status", "--json", timeout=10)
        if r.returncode != 0:
            return False
        return sum(1 for s in json.loads(r.stdout) if s.get("state") == "online") == n
    except (ValueError, subprocess.SubprocessError, AttributeError):
        return False


def http_address(d):
    r = d.cli("plugins", "--json", timeout=10)
    if r.returncode != 0:
        return None
    for p in json.loads(r.stdout):
        if p.get("name") == "http" and p.get("status", {}).get("listen"):
            return p["status"]["listen"][0]
    return None


def parse_wrk(text):
    """wrk --latency output -> {rps, p50, p75, p90, p99 (ms), requests, non2xx, errors}."""
    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
    out = {"non2xx": 0, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        raise BenchError("cannot read wrk's output:\n" + text)
    out["rps"] = float(m.group(1))
    for q in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % q, text, re.M)
        out["p" + q] = ms(m.group(1), m.group(2)) if m else None
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] = sum(int(x) for x in m.groups())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=100, help="idle services (default 100)")
    ap.add_argument("--duration", type=int, default=10, help="wrk -d, seconds (default 10)")
    ap.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    ap.add_argument("--paths", default="/api/health/system,/api/components,/metrics", help="comma list of paths to load")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.environ.get("TEND_PLUGIN_DIR",
                                                          os.path.join(REPO, "build", "plugins")))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        ap.error("wrk is not installed")
    if not (1 <= args.duration <= 120 and 1 <= args.connections <= 64 and 1 <= args.threads <= 8):
        ap.error("keep it bounded: --duration 1..120, --connections 1..64, --threads 1..8")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]

    install_signal_handlers()
    s = Session(prefix="tend-bench-http.", keep=args.keep)
    results = {}
    facts = machine_facts()
    try:
        d = TendDaemon(s, args.tendd, args.plugin_dir)
        ok, version = d.available()
        if not ok:
            raise BenchError(version)
        sleep = os.path.join(s.tmp, "sleep")
        shutil.copy2(shutil.which("sleep"), sleep)
        s.helpers.append(sleep)
        services = [Svc("svc%03d" % i, [sleep, "100000"],
                        tend={"layer": "bench", "port": str(10000 + i), "critical": "true" if i % 10 == 0 else "false"})
                    for i in range(args.services)]
        workdir = os.path.join(s.tmp, "tend")
        os.makedirs(workdir)
        s.active.append(d)
        log("starting tendd with %d services" % args.services)
        d.start(workdir, services, plugins={"health": {"enabled": "true"},
                                            "http": {"listen": "127.0.0.1:0"}})
        if not poll(lambda: tend_online(d, args.services), 60, 0.5):
            raise BenchError("the %d services are not all online after 60 s" % args.services)
        address = poll(lambda: http_address(d), 10, 0.2)
        if not address:
            raise BenchError("no http address in `tend plugins --json`")
        with open(os.path.join(d.home, "api-token")) as f:
            token = f.read().strip()
        base = "http://" + address
        time.sleep(2.5)   # one health sample in: the answer carries real figures
        for path in paths:
            req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
            with urllib.request.urlopen(req, timeout=10) as resp:
                body = resp.read()
                ctype = resp.headers.get("Content-Type")
            rss0 = rss_kb(d.daemon_pid)
            cpu0 = cpu_seconds(d.daemon_pid)
            cmd = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections, "-d%ds" % args.duration,
                   "--latency", "-H", "Authorization: Bearer " + token, base + path]
            log("load %s for %d s (load average %s)" % (path, args.duration, loadavg()))
            t0 = time.monotonic()
            r = run(cmd, env=s.env(), timeout=args.duration + 60)
            wall = time.monotonic() - t0
            if r.returncode != 0:
                raise BenchError("wrk failed (%d):\n%s" % (r.returncode, r.stdout[-2000:]))
            cpu1 = cpu_seconds(d.daemon_pid)
            rss1 = rss_kb(d.daemon_pid)
            w = parse_wrk(r.stdout)
            w.update(size=len(body), ctype=ctype, cpu=(cpu1 - cpu0), wall=wall,
                     rss0=rss0, rss1=rss1, raw=r.stdout)
            results[path] = w
        d.check_alive()
    finally:
        s.cleanup()

    lines = ["### Result", ""]
    for k, v in facts:
        lines.append("- %s: %s" % (k, v))
    lines.append("- Tend: %s" % tend_version(args.tendd))
    lines.append("- wrk: `wrk -t%d -c%d -d%ds --latency -H 'Authorization: Bearer …'` on 127.0.0.1, "
                 "%d services, plugins process + health (2 s sampling) + http"
                 % (args.threads, args.connections, args.duration, args.services))
    lines += ["", "| path | requests/s | p50 (ms) | p75 (ms) | p90 (ms) | p99 (ms) | non-2xx | socket errors "
              "| answer (bytes) | tendd CPU | tendd RSS before → after (MB) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def f(v):
        return "—" if v is None else ("%.2f" % v if v < 10 else "%.1f" % v)
    for path, w in results.items():
        lines.append("| `GET %s` | %.0f | %s | %s | %s | %s | %d | %d | %d | %.0f%% of one core | %.1f → %.1f |"
                     % (path, w["rps"], f(w["p50"]), f(w["p75"]), f(w["p90"]), f(w["p99"]), w["non2xx"],
                        w["errors"], w["size"], 100.0 * w["cpu"] / w["wall"],
                        (w["rss0"] or 0) / 1024.0, (w["rss1"] or 0) / 1024.0))
    lines.append("")
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(report + "\n")
    for path, w in results.items():
        if w["non2xx"] or w["errors"]:
            log("warning: %s had %d non-2xx answers and %d socket errors" % (path, w["non2xx"], w["errors"]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("error: %s" % e)
        sys.exit(1)
