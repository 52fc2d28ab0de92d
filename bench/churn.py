#!/usr/bin/env python3
"""Churn: does tendd give back what it takes?  RSS and open fds before and after.

One tendd --foreground (process, logrotate, health and http plugins, the http plugin
on 127.0.0.1:0) with three services, each churned in turn:

1. crash-restarts: `crasher` runs /bin/false (min-uptime=0, so it never gives up,
   restart-delay=0; Tend's spin guard spaces quick exits by 100 ms, so --instances
   (10) instances crash in parallel) until it has restarted --crashes (10,000) times;
2. CLI: `tend start sleeper` / `tend stop sleeper`, --cycles (1,000) times, each
   command waiting for its outcome as a user's would;
3. HTTP: POST /api/control/start/web and .../stop/web with the bearer token, --cycles
   times, each start followed by polling GET /api/components/web until online
   (and each stop until stopped).

Before each part a warm-up (--warmup, 20 % of the part) lets caches, pools and the
allocator's heap reach their steady size (the brk heap keeps growing by fragmentation
for the first few thousand crash-restarts while the bytes in use stay flat); then tendd's RSS (VmRSS) and open fds (/proc/PID/fd) are read with every
service stopped and --settle seconds of quiet, the part runs, and they are read again
the same way.  A part passes when RSS comes back within --tolerance (5 %) and the fds
within max(2, 5 %).  The report gives the figures and samples taken along the way;
the exit status is 1 when a part did not come back.

Not part of CI: it takes about ten minutes.  Everything lives under one mktemp -d;
processes are stopped by pid (see benchlib.py).  python3 only, no pip packages.
See bench/README.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402
    REPO, BenchError, log, poll, rss_kb, status_kb, install_signal_handlers, machine_facts, Svc, Session,
    TendDaemon)


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


class Bench(Session):
    def __init__(self, args):
        super().__init__(prefix="tend-churn.", keep=args.keep)
        self.args = args
        self.d = None
        self.base = None
        self.token = None

    # ---- talking to tendd

    def status(self):
        r = self.d.cli("status", "--json", timeout=30)
        if r.returncode != 0:
            raise BenchError("tend status failed (%s): %s" % (r.returncode, r.stdout[-500:]))
        return json.loads(r.stdout)

    def rows(self, name):
        return [s for s in self.status() if s.get("name") == name]

    def restarts(self, name):
        return sum(s.get("restarts", 0) for s in self.rows(name))

    def all_in(self, name, state):
        rows = self.rows(name)
        return bool(rows) and all(s.get("state") == state for s in rows)

    def cli_ok(self, *args):
        r = self.d.cli(*args, timeout=60)
        if r.returncode != 0:
            raise BenchError("tend %s failed (%s): %s" % (" ".join(args), r.returncode, r.stdout[-500:]))

    def http(self, method, path):
        req = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    def http_state(self, name):
        status, doc = self.http("GET", "/api/components/" + name)
        if status != 200 or not isinstance(doc, dict):
            raise BenchError("GET /api/components/%s: %s" % (name, status))
        return doc.get("state")

    def http_address(self):
        r = self.d.cli("plugins", "--json", timeout=10)
        if r.returncode != 0:
            return None
        for p in json.loads(r.stdout):
            if p.get("name") == "http" and p.get("status", {}).get("listen"):
                return p["status"]["listen"][0]
        return None

    # ---- measuring

    def heap_in_use(self):
        """glibc's "in use bytes" of tendd's heap (all arenas and mmap), through gdb calling
        malloc_stats() in it (it prints to tendd's stderr); None when that fails."""
        r = subprocess.run(["gdb", "-p", str(self.d.daemon_pid), "-batch", "-nx",
                            "-ex", "call (void) malloc_stats()"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        if r.returncode != 0:
            return None
        time.sleep(0.2)
        with open(self.d.out, errors="replace") as f:
            text = f.read()
        total = text.rfind("Total (incl. mmap):")
        if total < 0:
            return None
        for line in text[total:].splitlines():
            if line.startswith("in use bytes"):
                return int(line.split("=")[1])
        return None

    def sample(self):
        """(rss kB, open fds, heap bytes in use or None, fd targets, anonymous rss kB) of tendd
        after --settle s of quiet."""
        time.sleep(self.args.settle)
        self.d.check_alive()
        heap = self.heap_in_use() if self.args.heap else None
        fds = sorted(os.readlink("/proc/%d/fd/%s" % (self.d.daemon_pid, fd))
                     for fd in os.listdir("/proc/%d/fd" % self.d.daemon_pid))
        return rss_kb(self.d.daemon_pid), len(fds), heap, fds, status_kb(self.d.daemon_pid, "RssAnon")

    # ---- the three parts; each returns after stopping its service

    def crash(self, count):
        target = self.restarts("crasher") + count
        # its outcome is not "online" for long: whatever the CLI says, the count below tells
        self.d.cli("start", "crasher", "--wait", "1", timeout=60)
        samples = []
        step = max(count // 10, 1)
        next_sample = self.restarts("crasher") + step
        deadline = time.monotonic() + self.args.timeout
        while True:
            n = self.restarts("crasher")
            if n >= next_sample and count >= 1000:
                samples.append((n, rss_kb(self.d.daemon_pid), open_fds(self.d.daemon_pid)))
                next_sample += step
            if n >= target:
                break
            if time.monotonic() > deadline:
                raise BenchError("crasher: %d restarts of %d after %d s" % (n, target, self.args.timeout))
            time.sleep(0.5)
        self.cli_ok("stop", "crasher")
        return samples

    def cli_cycles(self, count):
        samples = []
        step = max(count // 10, 1)
        for i in range(count):
            self.cli_ok("start", "sleeper")
            self.cli_ok("stop", "sleeper")
            if count >= 100 and (i + 1) % step == 0:
                samples.append((i + 1, rss_kb(self.d.daemon_pid), open_fds(self.d.daemon_pid)))
        return samples

    def http_cycles(self, count):
        samples = []
        step = max(count // 10, 1)
        for i in range(count):
            for action, state in (("start", "online"), ("stop", "stopped")):
                status, _ = self.http("POST", "/api/control/%s/web" % action)
                if status != 200:
                    raise BenchError("POST /api/control/%s/web: %s" % (action, status))
                if not poll(lambda: self.http_state("web") == state, 30, 0.005):
                    raise BenchError("web did not become %s after %s over HTTP" % (state, action))
            if count >= 100 and (i + 1) % step == 0:
                samples.append((i + 1, rss_kb(self.d.daemon_pid), open_fds(self.d.daemon_pid)))
        return samples

    def part(self, title, unit, fn, count):
        warm = max(int(count * self.args.warmup), 1)
        log("%s: warm-up, %d %s" % (title, warm, unit))
        fn(warm)
        before = self.sample()
        log("%s: before: RSS %s kB, %s fds, heap %s; now %d %s" % (title, before[0], before[1], before[2], count,
                                                                    unit))
        t0 = time.monotonic()
        samples = fn(count)
        elapsed = time.monotonic() - t0
        after = self.sample()
        log("%s: after: RSS %s kB, %s fds, heap %s (%.0f s)" % (title, after[0], after[1], after[2], elapsed))
        if after[1] != before[1]:
            self.note("%s: fds before %s, after %s" % (title, before[3], after[3]))
        return {"title": title, "unit": unit, "count": count, "before": before, "after": after,
                "samples": samples, "elapsed": elapsed}

    def run(self):
        a = self.args
        self.d = TendDaemon(self, a.tendd, a.plugin_dir)
        ok, why = self.d.available()
        if not ok:
            raise BenchError(why)
        self.version = why
        services = [
            Svc("crasher", ["/bin/false"], tend={"instances": a.instances, "min-uptime": "0",
                                                 "restart-delay": "0", "start": "false"}),
            Svc("sleeper", ["sleep", "100000"], tend={"start": "false"}),
            Svc("web", ["sleep", "100000"], tend={"start": "false"}),
        ]
        plugins = {"logrotate": {"enabled": "true"}, "health": {"enabled": "true"},
                   "http": {"enabled": "true", "listen": "127.0.0.1:0"}}
        self.active.append(self.d)
        self.d.start(self.tmp, services, plugins)
        address = poll(self.http_address, 10, 0.1)
        if not address:
            raise BenchError("no address for the http plugin:\n%s" % open(self.d.out).read()[-2000:])
        self.base = "http://" + address
        with open(os.path.join(self.d.home, "api-token")) as f:
            self.token = f.read().strip()

        parts = []
        if "crash" in a.parts:
            parts.append(self.part("crash-restarts of one service (%d instances)" % a.instances, "restarts",
                                   self.crash, a.crashes))
        if "cli" in a.parts:
            parts.append(self.part("start/stop over the CLI", "cycles", self.cli_cycles, a.cycles))
        if "http" in a.parts:
            parts.append(self.part("start/stop over HTTP", "cycles", self.http_cycles, a.cycles))
        self.d.stop()
        self.active.remove(self.d)
        return parts


def verdict(before, after, tolerance):
    """(rss ok, fds ok)"""
    rss_ok = after[0] is not None and before[0] is not None and after[0] <= before[0] * (1 + tolerance)
    fd_ok = after[1] is not None and before[1] is not None and after[1] <= before[1] + max(2, before[1] * tolerance)
    return rss_ok, fd_ok


def report(bench, parts, tolerance):
    out = ["# tendd under churn", ""]
    for k, v in machine_facts() + [("tendd", bench.version)]:
        out.append("- %s: %s" % (k, v))
    out += ["", "| part | count | time | RSS before | RSS after | change | anonymous RSS before → after | "
            "heap in use before → after | fds before | fds after | |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    all_ok = True
    for p in parts:
        (rb, fb, hb, _, ab), (ra, fa, ha, _, aa) = p["before"], p["after"]
        rss_ok, fd_ok = verdict(p["before"], p["after"], tolerance)
        all_ok = all_ok and rss_ok and fd_ok
        change = "%+.1f %%" % (100.0 * (ra - rb) / rb) if ra and rb else "?"
        heap = "%d → %d B (%+d)" % (hb, ha, ha - hb) if hb is not None and ha is not None else "—"
        anon = "%s → %s kB" % (ab, aa)
        out.append("| %s | %d %s | %.0f s | %s kB | %s kB | %s | %s | %s | %s | %s | %s |" % (
            p["title"], p["count"], p["unit"], p["elapsed"], rb, ra, change, anon, heap, fb, fa,
            "ok" if rss_ok and fd_ok else "**did not come back**"))
    out += ["", "Samples along the way (%s, RSS kB, fds), services running:" % "count", ""]
    for p in parts:
        if p["samples"]:
            out.append("- %s: %s" % (p["title"], ", ".join("%d: %s/%s" % s for s in p["samples"])))
    out += ["", "Passes when RSS after ≤ before × %.2f and fds after ≤ before + max(2, %.0f %%)."
            % (1 + tolerance, 100 * tolerance)]
    if bench.notes:
        out += ["", "Notes:", ""] + ["- " + n for n in bench.notes]
    return "\n".join(out) + "\n", all_ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crashes", type=int, default=10000, help="crash-restarts (default 10000)")
    ap.add_argument("--instances", type=int, default=10, help="instances of the crashing service (default 10)")
    ap.add_argument("--cycles", type=int, default=1000, help="start/stop cycles over the CLI and HTTP (default 1000)")
    ap.add_argument("--parts", default="crash,cli,http", help="parts to run (default crash,cli,http)")
    ap.add_argument("--warmup", type=float, default=0.2, help="warm-up, a fraction of each part (default 0.2)")
    ap.add_argument("--settle", type=float, default=3.0, help="quiet seconds before each reading (default 3)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="allowed growth (default 0.05: 5 %%)")
    ap.add_argument("--timeout", type=int, default=1800, help="longest crash part, seconds (default 1800)")
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.environ.get("TEND_PLUGIN_DIR", os.path.join(REPO, "build", "plugins")))
    ap.add_argument("--heap", action="store_true",
                    help="also read glibc's heap bytes in use (gdb attaches to tendd to call malloc_stats())")
    ap.add_argument("--out", help="also write the Markdown report there")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for p in args.parts:
        if p not in ("crash", "cli", "http"):
            ap.error("unknown part %s" % p)

    install_signal_handlers()
    bench = Bench(args)
    try:
        parts = bench.run()
        text, ok = report(bench, parts, args.tolerance)
    except (BenchError, subprocess.SubprocessError, OSError, ValueError) as e:
        log("failed: %s" % e)
        if bench.d is not None and bench.d.out:
            log("tendd's output ends with:\n" + "".join(open(bench.d.out, errors="replace").readlines()[-20:]))
        return 2
    finally:
        bench.cleanup()
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
