#!/usr/bin/env python3
"""Daemon CPU while idle: Tend (health plugin, 2 s sampling), Tend without it, PM2, supervisord.

One run measures, one system after the other (only one daemon alive at a time):
each daemon supervises --services (100) idle services (`sleep 100000`, from a copy of
sleep(1) in the temp dir, so that leftovers can be found by executable).  Once every
service process runs, the harness waits --settle seconds (start-up work is over), then
measures the daemon process over a --window (30 s) of idleness:

- CPU: utime + stime of the daemon (all its threads) from /proc/PID/stat, before and
  after the window, in ms.  The kernel reports them in clock ticks (10 ms here), so a
  figure of 0 or 10 ms is one tick's worth of resolution.
- task-clock and context switches of the daemon's threads over the same window, from
  `perf stat -p PID` (when perf works here): the same CPU time with ns resolution, and
  how often the daemon was scheduled (its wake-ups).

Systems:
  tend           tendd, [plugin:health] enabled=true sample-interval=--sample-interval (2s)
  tend-nohealth  tendd without the health plugin
  pm2            PM2's God daemon (its own PM2_HOME)
  supervisord    supervisord -n (its own config, socket and logs)

--extra-procs N starts N more idle processes outside every supervisor first (one process
group of ours, killed at the end): what a busier host costs a daemon that scans /proc.

Nothing else talks to a daemon during its window (no status command, no HTTP).
Everything runs under one mktemp -d; daemons are stopped by pid / process group, and a
final sweep kills (by pid) what carries this run's tag (see benchlib.py).

python3 only, no pip packages.  See docs/benchmarks.md.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402
    REPO, LABEL, CLK_TCK, BenchError, log, poll, run, loadavg, fmt_ratio, install_signal_handlers,
    machine_facts, pid_alive, Svc, Session, TendDaemon, PM2Daemon, SupervisordDaemon)

KEYS = ("tend", "tend-nohealth", "pm2", "supervisord")
NAMES = {"tend": "Tend, health plugin", "tend-nohealth": "Tend, no health plugin",
         "pm2": "PM2", "supervisord": "supervisord"}


def idle_services(sleep, n):
    return [Svc("idle%d" % i, [sleep, "100000"],
                pm2={"autorestart": True},
                supervisord={"autostart": "true", "autorestart": "true"})
            for i in range(n)]


def cpu_ticks(pid):
    """utime + stime of a process (all threads), in clock ticks; None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        fields = st[st.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return None


def perf_works():
    if not shutil.which("perf"):
        return False, "perf not installed"
    r = run(["perf", "stat", "-x", ",", "-e", "task-clock", "--", "true"], timeout=30)
    if r.returncode != 0:
        return False, "perf stat fails here: %s" % r.stdout.strip()[-200:]
    return True, run(["perf", "--version"]).stdout.strip()


def perf_start(pid, window, out):
    """perf stat over the daemon's threads for `window` seconds (its own `sleep` is the window)."""
    return subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e", "task-clock,context-switches",
                             "-p", str(pid), "--", "sleep", "%g" % window],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_read(path):
    """{event: value} from perf stat -x, output (task-clock in ms)."""
    res = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) < 3 or line.startswith("#"):
                    continue
                try:
                    res[parts[2]] = float(parts[0])
                except ValueError:
                    res[parts[2]] = 0.0   # "<not counted>": the daemon never ran
    except OSError:
        pass
    return res


class Bench(Session):
    def __init__(self, args):
        super().__init__(prefix="tend-bench-idle.", keep=args.keep)
        self.args = args
        self.sleep = None
        self.perf = False

    def extra_pids(self):
        """Live processes running the copy of sleep(1) for --extra-procs."""
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.readlink("/proc/%s/exe" % d) == self.sleep + "-extra":
                        out.append(int(d))
                except OSError:
                    pass
        return [p for p in out if pid_alive(p)]

    def make_daemon(self, key):
        if key in ("tend", "tend-nohealth"):
            return TendDaemon(self, self.args.tendd, self.args.plugin_dir)
        if key == "pm2":
            return PM2Daemon(self)
        return SupervisordDaemon(self)

    def measure(self, key):
        a = self.args
        d = self.make_daemon(key)
        ok, info = d.available()
        if not ok:
            return info, None
        workdir = os.path.join(self.tmp, key)
        os.makedirs(workdir)
        services = idle_services(self.sleep, a.services)
        self.active = [d]
        try:
            if key == "tend":
                d.start(workdir, services, plugins={"health": {"enabled": "true",
                                                               "sample-interval": a.sample_interval}})
            else:
                d.start(workdir, services)
            if not poll(lambda: len(self.helper_pids()) >= a.services, max(60, a.services * 0.5), 0.1):
                raise BenchError("%s: only %d of %d services running" % (NAMES[key], len(self.helper_pids()),
                                                                        a.services))
            d.check_alive()
            log("%s: %d services up; settling %.0f s, then %d window(s) of %.0f s"
                % (NAMES[key], a.services, a.settle, a.rounds, a.window))
            time.sleep(a.settle)
            rounds = []
            for i in range(a.rounds):
                perf_out = os.path.join(workdir, "perf-%d.txt" % i)
                t0 = cpu_ticks(d.daemon_pid)
                m0 = time.monotonic()
                p = perf_start(d.daemon_pid, a.window, perf_out) if self.perf else None
                if p is not None:
                    p.wait(timeout=a.window + 60)
                else:
                    time.sleep(a.window)
                t1 = cpu_ticks(d.daemon_pid)
                elapsed = time.monotonic() - m0
                d.check_alive()
                if t0 is None or t1 is None:
                    raise BenchError("%s: the daemon went away during the window" % NAMES[key])
                pr = perf_read(perf_out) if p is not None else {}
                r = {"cpu_ms": (t1 - t0) * 1000.0 / CLK_TCK, "elapsed": elapsed,
                     "task_ms": pr.get("task-clock"), "switches": pr.get("context-switches")}
                log("%s: window %d: %.0f ms CPU (ticks), task-clock %s ms, %s context switches"
                    % (NAMES[key], i + 1, r["cpu_ms"], r["task_ms"], r["switches"]))
                rounds.append(r)
            alive = len(self.helper_pids())
            if alive != a.services:
                self.note("%s: %d of %d services alive after the measurement" % (NAMES[key], alive, a.services))
        finally:
            d.stop()
            self.active = []
            self.sweep("%s stopped" % NAMES[key])
        return info, rounds


def median_of(rounds, k):
    vals = [r[k] for r in rounds if r.get(k) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=1):
    if v is None:
        return "—"
    return "%.*f" % (digits, v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(KEYS), help="comma list of " + ",".join(KEYS))
    ap.add_argument("--services", type=int, default=100, help="idle services per system (default 100)")
    ap.add_argument("--window", type=float, default=30.0, help="seconds measured (default 30)")
    ap.add_argument("--rounds", type=int, default=1, help="windows per system, median reported (default 1)")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds between all-up and the window (default 5)")
    ap.add_argument("--sample-interval", default="2s", help="Tend's [plugin:health] sample-interval (default 2s)")
    ap.add_argument("--extra-procs", type=int, default=0,
                    help="idle processes started outside the supervisors first (default 0)")
    ap.add_argument("--no-perf", action="store_true", help="do not use perf stat")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.environ.get("TEND_PLUGIN_DIR",
                                                          os.path.join(REPO, "build", "plugins")))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in KEYS]
    if bad:
        ap.error("unknown system(s) %s; choose from %s" % (",".join(bad), ",".join(KEYS)))
    if args.rounds < 1 or args.services < 1:
        ap.error("--rounds and --services must be >= 1")
    install_signal_handlers()

    b = Bench(args)
    res, versions, status = {}, {}, {}
    load_before = loadavg()
    perf_info = "not used (--no-perf)"
    try:
        b.sleep = os.path.join(b.tmp, "sleep")
        shutil.copy2(shutil.which("sleep"), b.sleep)
        b.helpers.append(b.sleep)
        # the extra processes run another copy, so that they never count as services
        shutil.copy2(shutil.which("sleep"), b.sleep + "-extra")
        if not args.no_perf:
            b.perf, perf_info = perf_works()
        if args.extra_procs > 0:
            # one shell in a new session, N sleeps in its group: SIGKILL to the group ends them all
            p = subprocess.Popen(["/bin/sh", "-c", 'i=0; while [ $i -lt "$1" ]; do "$0" 100000 & i=$((i+1)); done; wait',
                                  b.sleep + "-extra", str(args.extra_procs)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True, env=dict(os.environ))  # untagged: no sweep ends them
            b.register_pgid(p.pid)   # cleanup() kills the group
            if not poll(lambda: len(b.extra_pids()) >= args.extra_procs, 60, 0.1):
                raise BenchError("only %d of %d extra processes started" % (len(b.extra_pids()), args.extra_procs))
            log("%d extra idle processes on the host" % args.extra_procs)
        for key in only:
            try:
                versions[key], res[key] = b.measure(key)
                if res[key] is None:
                    status[key] = "not installed"
            except (BenchError, OSError, subprocess.SubprocessError) as e:
                b.note("%s failed: %s" % (NAMES[key], e))
                res[key], status[key] = None, "failed"
    finally:
        b.cleanup()
    load_after = loadavg()

    cmd = "python3 bench/idle-cpu.py " + " ".join(sys.argv[1:])
    out = ["# Daemon CPU while idle: Tend vs PM2 vs supervisord", "",
           "Command: `%s`" % cmd.strip(), ""]
    facts = machine_facts()
    facts.append(("load average (1/5/15 min)", "%s before, %s after" % (load_before, load_after)))
    for k in KEYS:
        if k in versions:
            facts.append((NAMES[k], versions[k]))
    facts.append(("perf", perf_info))
    facts.append(("settings", "%d idle services (`sleep 100000`), %.0f s settle, %d window(s) of %.0f s, "
                  "Tend sample-interval %s, one daemon at a time, %d extra idle processes on the host"
                  % (args.services, args.settle, args.rounds, args.window, args.sample_interval,
                     args.extra_procs)))
    for k, v in facts:
        out.append("- %s: %s" % (k, v))
    ref = median_of(res.get("tend") or [], "task_ms") if b.perf else None
    ref_ticks = median_of(res.get("tend") or [], "cpu_ms")
    out += ["", "| daemon | CPU ms (utime+stime) | task-clock ms (perf) | context switches | "
            "wake-ups / s | Tend (health) / this |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for k in only:
        rounds = res.get(k)
        if not rounds:
            out.append("| %s | %s | | | | |" % (NAMES[k], status.get(k, "failed")))
            continue
        cpu = median_of(rounds, "cpu_ms")
        task = median_of(rounds, "task_ms")
        sw = median_of(rounds, "switches")
        el = median_of(rounds, "elapsed")
        ratio = fmt_ratio(ref, task) if b.perf else fmt_ratio(ref_ticks, cpu)
        out.append("| %s | %.0f | %s | %s | %s | %s |" % (
            NAMES[k], cpu, fmt(task, 2), fmt(sw, 0), fmt(sw / el if sw is not None else None, 2),
            "1×" if k == "tend" else ratio))
    if args.rounds > 1:
        out.append("")
        for k in only:
            rounds = res.get(k)
            if rounds:
                out.append("- %s, each window: %s" % (NAMES[k], ", ".join(
                    "%.0f ms (task-clock %s ms)" % (r["cpu_ms"], fmt(r["task_ms"], 1)) for r in rounds)))
    out += ["", "CPU: utime + stime of the daemon process alone (every thread; services not counted) "
            "over the window, from /proc/PID/stat, whose unit is one clock tick (%d ms here). "
            "task-clock: the same with ns resolution (`perf stat -e task-clock -p PID`); "
            "the ratio uses it when perf works. Context switches: how often the daemon's threads "
            "were scheduled in the window." % (1000 // CLK_TCK)]
    if b.notes:
        out += ["", "Notes:"] + ["- " + n for n in b.notes]
    report = "\n".join(out) + "\n"
    sys.stdout.write(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
        log("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("error: %s" % e)
        sys.exit(1)
