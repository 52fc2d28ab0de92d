#!/usr/bin/env python3
"""Crash -> respawn latency and daemon RSS: Tend vs PM2 vs supervisord.

One run measures, one system after the other (only one daemon alive at a time):

1. crash -> respawn latency, restart delay 0.  The service is bench/helpers/stamp.c
   (compiled here with cc -O2, static when possible): as its first act it appends
   "PID CLOCK_REALTIME_NS" to a log, then sleeps.  The harness reads the current pid
   from that log, takes t0 = time.time_ns() right before kill -9, and polls (bounded)
   for the next record; latency = record time - t0.  Before each kill it waits
   --gap seconds so that the service counts as stable (PM2's and Tend's min-uptime
   is 1 s; an unstable restart would count towards max-restarts).
   The floor is a `while :; do stamp LOG; done` shell loop measured the same way.
2. daemon RSS (VmRSS of the daemon process only: tendd, PM2's God daemon, supervisord)
   with 0, 10 and 100 services running the same helper, after every service has
   written its start record and --settle seconds have passed.  A fresh daemon for
   every count.

Everything runs under one mktemp -d (TEND_HOME, PM2_HOME, supervisord's files);
processes are stopped by pid / process group only, and a final sweep kills (by pid)
any process whose executable is this run's own stamp binary or whose environment
carries this run's tag (benchlib.py, shared with the other harnesses).

python3 only, no pip packages.  See bench/README.md.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no bench/__pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402  (shared with bench/cli-status.py and bench/log-throughput.py)
    REPO, SYSTEMS, LABEL, BenchError, log, poll, pid_alive, proc_ppid, rss_kb,
    stop_popen, install_signal_handlers, pct, fmt_ms, fmt_ratio, Svc, Session,
    TendDaemon, PM2Daemon, SupervisordDaemon)
import benchlib  # noqa: E402


def read_records(path):
    """[(pid, realtime_ns), ...] from a stamp log (missing file: [])."""
    try:
        with open(path) as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((int(parts[0]), int(parts[1])))
    return out


# --------------------------------------------------------------------------- systems
#
# The daemons themselves live in benchlib.py; here each service is the stamp helper
# with restart delay 0 and restart always.

def stamp_services(bench, services):
    """[(name, stamp_log)] -> [Svc] running `stamp LOG`, restart always, delay 0."""
    return [Svc(name, [bench.stamp, lp],
                tend={"restart-delay": "0"},
                pm2={"autorestart": True, "restart_delay": 0, "watch": False},
                supervisord={"autostart": "true", "autorestart": "true", "startsecs": "0",
                             "startretries": "1000000", "stopsignal": "TERM", "stopwaitsecs": "10"})
            for name, lp in services]


class Tend(TendDaemon):
    def __init__(self, bench):
        super().__init__(bench, bench.args.tendd, bench.args.plugin_dir)
        self.bench = bench

    def start(self, workdir, services):
        return super().start(workdir, stamp_services(self.bench, services))


class PM2(PM2Daemon):
    def __init__(self, bench):
        super().__init__(bench)
        self.bench = bench

    def start(self, workdir, services):
        return super().start(workdir, stamp_services(self.bench, services))


class Supervisord(SupervisordDaemon):
    def __init__(self, bench):
        super().__init__(bench)
        self.bench = bench

    def start(self, workdir, services):
        return super().start(workdir, stamp_services(self.bench, services))


class Floor(benchlib.Daemon):
    """A shell loop respawning the helper: what fork+exec+wait costs on this machine."""
    key = "floor"

    def __init__(self, bench):
        super().__init__(bench)
        self.bench = bench
        self.proc = None

    def available(self):
        return True, "/bin/sh loop"

    def start(self, workdir, services):
        assert len(services) == 1
        self.proc = subprocess.Popen(["/bin/sh", "-c", 'while :; do "$0" "$1"; done',
                                      self.bench.stamp, services[0][1]],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     env=self.bench.env())
        self.daemon_pid = self.proc.pid
        self.bench.register_pgid(self.proc.pid)
        return self.daemon_pid

    def stop(self):
        stop_popen(self.proc, signal.SIGKILL, 5)   # the loop and its helper share the group
        self.proc = None
        self.daemon_pid = None


# --------------------------------------------------------------------------- bench

class Bench(Session):
    """benchlib.Session (temp dir, process groups, notes, cleanup) + the stamp helper."""

    def __init__(self, args):
        super().__init__(prefix="tend-bench.", keep=args.keep)
        self.args = args
        self.stamp = None
        self.stamp_build = None

    def build_stamp(self):
        self.stamp, self.stamp_build = self.build_helper("stamp")

    def stamp_pids(self):
        """Pids of live processes running this run's stamp binary."""
        return self.helper_pids()

    # -- phases ----------------------------------------------------------------
    def start_system(self, sysobj, workdir, services):
        os.makedirs(workdir, exist_ok=True)
        self.active = [sysobj]
        sysobj.start(workdir, services)
        n = len(services)
        logs = [lp for _, lp in services]
        ok = poll(lambda: all(read_records(lp) for lp in logs), max(15, n * 0.5), 0.05)
        sysobj.check_alive()
        if not ok:
            up = sum(1 for lp in logs if read_records(lp))
            raise BenchError("only %d of %d services started" % (up, n))

    def stop_system(self, sysobj, context):
        sysobj.stop()
        self.active = []
        return self.sweep(context)

    def respawn(self, sysobj):
        name = LABEL[sysobj.key]
        workdir = os.path.join(self.tmp, sysobj.key + "-respawn")
        lp = os.path.join(workdir, "s1.stamps")
        os.makedirs(workdir, exist_ok=True)
        lat, misses, wrong_parent = [], 0, 0
        try:
            self.start_system(sysobj, workdir, [("s1", lp)])
            for i in range(self.args.runs):
                recs = read_records(lp)
                pid = recs[-1][0]
                if not pid_alive(pid):
                    # the previous kill was not followed by a start yet: wait for it (bounded)
                    if not poll(lambda: len(read_records(lp)) > len(recs), self.args.timeout):
                        raise BenchError("%s: service pid %d is dead and was not respawned" % (name, pid))
                    recs = read_records(lp)
                    pid = recs[-1][0]
                if proc_ppid(pid) != sysobj.daemon_pid:
                    wrong_parent += 1
                time.sleep(self.args.gap)
                n = len(recs)
                t0 = time.time_ns()
                os.kill(pid, signal.SIGKILL)
                new = poll(lambda: read_records(lp)[n:], self.args.timeout, 0.001)
                if not new:
                    misses += 1
                    log("%s: run %d: no respawn within %.1f s" % (name, i + 1, self.args.timeout))
                    if misses >= 3:
                        raise BenchError("%s: %d respawns missed" % (name, misses))
                    continue
                lat.append((new[0][1] - t0) / 1e6)
            if wrong_parent:
                self.note("%s: in %d of %d runs the killed pid was not a direct child of the daemon"
                          % (name, wrong_parent, self.args.runs))
        finally:
            self.stop_system(sysobj, "%s's respawn phase" % name)
        if misses:
            self.note("%s: %d of %d kills not followed by a respawn within %.1f s"
                      % (name, misses, self.args.runs, self.args.timeout))
        log("%s respawn: %s" % (name, " ".join("%.2f" % x for x in lat)))
        return lat

    def rss(self, sysobj, n):
        name = LABEL[sysobj.key]
        workdir = os.path.join(self.tmp, "%s-rss-%d" % (sysobj.key, n))
        services = [("s%d" % i, os.path.join(workdir, "s%d.stamps" % i)) for i in range(n)]
        try:
            self.start_system(sysobj, workdir, services)
            time.sleep(self.args.settle)
            sysobj.check_alive()
            kb = rss_kb(sysobj.daemon_pid)
            alive = len(self.stamp_pids())
            if alive != n:
                self.note("%s RSS with %d services: %d service processes alive at sampling"
                          % (name, n, alive))
        finally:
            self.stop_system(sysobj, "%s stopped with %d services" % (name, n))
        log("%s RSS with %d services: %s kB" % (name, n, kb))
        return kb / 1024.0 if kb is not None else None



# --------------------------------------------------------------------------- report

def machine_facts(args, bench, versions):
    facts = benchlib.machine_facts()
    for k in SYSTEMS:
        facts.append((LABEL[k], versions.get(k, "not selected")))
    facts.append(("helper", "bench/helpers/stamp.c built with `%s`" % bench.stamp_build))
    facts.append(("settings", "--runs %d, --gap %.1f s before each kill, --settle %.1f s before RSS, "
                  "respawn timeout %.1f s" % (args.runs, args.gap, args.settle, args.timeout)))
    return facts


def render(args, bench, versions, res, floor):
    cmd = "python3 bench/respawn-and-rss.py " + " ".join(sys.argv[1:])
    out = ["# Tend vs PM2 vs supervisord: crash → respawn and daemon RSS", "",
           "Command: `%s`" % cmd.strip(), ""]
    for k, v in machine_facts(args, bench, versions):
        out.append("- %s: %s" % (k, v))
    out += ["", "| figure | Tend | PM2 | supervisord | Tend/PM2 | Tend/supervisord |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]

    def cell(k, fig):
        v = res.get(k, {}).get(fig)
        if isinstance(v, float):
            return fmt_ms(v) if fig.startswith("respawn") else "%.1f" % v
        return v if v is not None else "—"

    rows = []
    if not args.no_respawn:
        rows += [("respawn_median", "crash → respawn, median (ms)"),
                 ("respawn_p90", "crash → respawn, p90 (ms)")]
    if not args.no_rss:
        rows += [("rss_%d" % n, "daemon RSS, %d services (MB)" % n) for n in args.counts]
    for fig, title in rows:
        t = res.get("tend", {}).get(fig)
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            title, cell("tend", fig), cell("pm2", fig), cell("supervisord", fig),
            fmt_ratio(t, res.get("pm2", {}).get(fig)), fmt_ratio(t, res.get("supervisord", {}).get(fig))))
    out.append("")
    if floor:
        out.append("Floor (`while :; do stamp LOG; done` under /bin/sh, same kill/poll): "
                   "median %s ms, p90 %s ms, n=%d." % (fmt_ms(statistics.median(floor)),
                                                       fmt_ms(pct(floor, 0.9)), len(floor)))
    else:
        out.append("Floor: not measured.")
    out += ["", "Respawn: t0 = time.time_ns() right before kill -9, t1 = CLOCK_REALTIME written by the new "
            "process as its first act; n = runs that respawned. RSS: VmRSS of the daemon process alone "
            "(tendd, PM2 God daemon, supervisord), MB = 1024² bytes, services not counted."]
    n_line = []
    for k in SYSTEMS:
        if "n" in res.get(k, {}):
            n_line.append("%s n=%d" % (LABEL[k], res[k]["n"]))
    if n_line:
        out.append("Respawn samples: " + ", ".join(n_line) + ".")
    if bench.notes:
        out += ["", "Notes:"] + ["- " + n for n in bench.notes]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(SYSTEMS), help="comma list of tend,pm2,supervisord")
    ap.add_argument("--runs", type=int, default=20, help="kills per system (default 20)")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--counts", default="0,10,100", help="service counts for RSS (default 0,10,100)")
    ap.add_argument("--gap", type=float, default=1.5,
                    help="seconds a service runs before it is killed (default 1.5 > min-uptime 1 s)")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds before sampling RSS (default 3)")
    ap.add_argument("--timeout", type=float, default=5.0, help="max seconds to wait for a respawn (default 5)")
    ap.add_argument("--no-floor", action="store_true", help="skip the shell-loop floor")
    ap.add_argument("--no-rss", action="store_true", help="skip the RSS phase")
    ap.add_argument("--no-respawn", action="store_true", help="skip the respawn phase")
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.environ.get("TEND_PLUGIN_DIR",
                                                          os.path.join(REPO, "build", "plugins")))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SYSTEMS]
    if bad:
        ap.error("unknown system(s) %s; choose from %s" % (",".join(bad), ",".join(SYSTEMS)))
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    args.counts = [int(x) for x in args.counts.split(",") if x.strip()]

    install_signal_handlers()

    bench = Bench(args)
    res, versions, floor = {}, {}, []
    try:
        bench.build_stamp()
        log("temp dir %s, helper %s (%s)" % (bench.tmp, bench.stamp, bench.stamp_build))
        if not args.no_floor and not args.no_respawn:
            try:
                floor = bench.respawn(Floor(bench))
            except BenchError as e:
                bench.note("floor: %s" % e)
        classes = {"tend": Tend, "pm2": PM2, "supervisord": Supervisord}
        for key in only:
            sysobj = classes[key](bench)
            ok, info = sysobj.available()
            versions[key] = info
            r = res[key] = {}
            if not ok:
                for fig in ["respawn_median", "respawn_p90"] + ["rss_%d" % n for n in args.counts]:
                    r[fig] = "not installed"
                continue
            if not args.no_respawn:
                log("%s: respawn, %d runs" % (LABEL[key], args.runs))
                try:
                    lat = bench.respawn(sysobj)
                    if lat:
                        r["respawn_median"] = statistics.median(lat)
                        r["respawn_p90"] = pct(lat, 0.9)
                        r["n"] = len(lat)
                except (BenchError, OSError, subprocess.SubprocessError) as e:
                    bench.note("%s respawn failed: %s" % (LABEL[key], e))
                    r["respawn_median"] = r["respawn_p90"] = "failed"
            if not args.no_rss:
                for n in args.counts:
                    log("%s: RSS with %d services" % (LABEL[key], n))
                    try:
                        r["rss_%d" % n] = bench.rss(sysobj, n)
                    except (BenchError, OSError, subprocess.SubprocessError) as e:
                        bench.note("%s RSS with %d services failed: %s" % (LABEL[key], n, e))
                        r["rss_%d" % n] = "failed"
    finally:
        bench.cleanup()

    for k in SYSTEMS:
        versions.setdefault(k, "not selected")
    report = render(args, bench, versions, res, floor)
    sys.stdout.write(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
        log("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
