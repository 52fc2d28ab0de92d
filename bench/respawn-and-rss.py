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
any process whose executable is this run's own stamp binary.

python3 only, no pip packages.  See bench/README.md.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEMS = ("tend", "pm2", "supervisord")
LABEL = {"tend": "Tend", "pm2": "PM2", "supervisord": "supervisord", "floor": "floor"}


class BenchError(Exception):
    pass


def log(msg):
    print("[bench] " + msg, file=sys.stderr, flush=True)


def poll(cond, timeout, interval=0.01):
    """Call cond() until it returns a truthy value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    # a zombie is not alive for our purposes
    return st[st.rindex(")") + 2] != "Z"


def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return int(st[st.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


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


def run(cmd, env=None, timeout=60):
    return subprocess.run(cmd, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no %s)" % path


def stop_popen(p, sig=signal.SIGTERM, timeout=20):
    """Signal a daemon we started, wait (bounded), then SIGKILL its process group."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log("pid %d did not exit within %ds after %s: SIGKILL" % (p.pid, timeout, sig.name))
    # it was started with start_new_session=True: its pgid is its pid
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    return p.returncode


# --------------------------------------------------------------------------- systems

class System:
    key = None

    def __init__(self, bench):
        self.bench = bench
        self.daemon_pid = None

    def available(self):
        """(True, version) or (False, reason)."""
        raise NotImplementedError

    def start(self, workdir, services):
        """Start the daemon with services [(name, log_path)]; return the daemon pid."""
        raise NotImplementedError

    def stop(self):
        """Stop the daemon and its services; bounded; never raises."""
        raise NotImplementedError

    def check_alive(self):
        if self.daemon_pid is None or not pid_alive(self.daemon_pid):
            raise BenchError("%s daemon (pid %s) is not running" % (LABEL[self.key], self.daemon_pid))


class Tend(System):
    key = "tend"

    def __init__(self, bench):
        super().__init__(bench)
        self.proc = None
        self.out = None

    def available(self):
        t = self.bench.args.tendd
        if not (os.path.isfile(t) and os.access(t, os.X_OK)):
            return False, "not installed (%s missing; build with ninja -C build)" % t
        return True, tend_version(t)

    def start(self, workdir, services):
        home = os.path.join(workdir, "tend-home")
        os.makedirs(home, exist_ok=True)
        conf = os.path.join(workdir, "tend.conf")
        with open(conf, "w") as f:
            f.write("[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n")
            for name, lp in services:
                f.write("[service:%s]\nexec=%s %s\nrestart-delay=0\n\n" % (name, self.bench.stamp, lp))
        env = dict(os.environ, TEND_HOME=home, TEND_PLUGIN_DIR=self.bench.args.plugin_dir)
        self.out = os.path.join(workdir, "tendd.out")
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(
                [self.bench.args.tendd, "--foreground", "--home", home, "--config", conf],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=workdir)
        self.daemon_pid = self.proc.pid
        self.bench.register_pgid(self.proc.pid)
        # ready = its pidfile or control socket exists (services are waited for by the caller)
        ok = poll(lambda: self.proc.poll() is not None
                  or os.path.exists(os.path.join(home, "tendd.pid"))
                  or os.path.exists(os.path.join(home, "tendd.sock")), 10)
        if self.proc.poll() is not None:
            raise BenchError("tendd exited with %s:\n%s" % (self.proc.returncode, tail(self.out)))
        if not ok:
            log("tendd: no tendd.pid/tendd.sock after 10 s; going on")
        return self.daemon_pid

    def stop(self):
        rc = stop_popen(self.proc, signal.SIGTERM, 20)
        if self.proc is not None and rc not in (0, None):
            self.bench.note("tendd exited with status %s after SIGTERM (expected 0)" % rc)
        self.proc = None
        self.daemon_pid = None


class PM2(System):
    key = "pm2"

    def __init__(self, bench):
        super().__init__(bench)
        self.home = None
        self.env = None

    def available(self):
        exe = shutil.which("pm2")
        if not exe:
            return False, "not installed"
        # Never run `pm2 --version`: it spawns a God daemon in ~/.pm2.
        pkg = os.path.join(os.path.dirname(os.path.realpath(exe)), "..", "package.json")
        try:
            with open(pkg) as f:
                ver = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            ver = "?"
        node = shutil.which("node")
        nv = run([node, "--version"]).stdout.strip() if node else "?"
        return True, "PM2 %s (node %s)" % (ver, nv)

    def start(self, workdir, services):
        self.home = os.path.join(workdir, "pm2-home")
        os.makedirs(self.home, exist_ok=True)
        self.env = dict(os.environ, PM2_HOME=self.home)
        if services:
            eco = os.path.join(workdir, "ecosystem.json")
            apps = [{
                "name": name, "script": self.bench.stamp, "args": [lp],
                "interpreter": "none", "exec_mode": "fork", "instances": 1,
                "autorestart": True, "restart_delay": 0, "watch": False,
            } for name, lp in services]
            with open(eco, "w") as f:
                json.dump({"apps": apps}, f, indent=1)
            cmd = ["pm2", "start", eco]
        else:
            cmd = ["pm2", "ping"]   # spawns the God daemon with no app
        r = run(cmd, env=self.env, timeout=180)
        pidfile = os.path.join(self.home, "pm2.pid")
        pid = poll(lambda: _read_int(pidfile), 10)
        if pid:
            self.daemon_pid = pid
        if r.returncode != 0 or not pid:
            raise BenchError("`%s` failed (%s):\n%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:]))
        return self.daemon_pid

    def stop(self):
        if self.home is None:
            return
        pid = self.daemon_pid or _read_int(os.path.join(self.home, "pm2.pid"))
        try:
            run(["pm2", "kill"], env=self.env, timeout=60)   # PM2_HOME is ours: kills only our daemon
        except subprocess.TimeoutExpired:
            log("pm2 kill timed out")
        if pid and not poll(lambda: not pid_alive(pid), 10):
            log("PM2 God daemon %d still alive after pm2 kill: SIGKILL" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            poll(lambda: not pid_alive(pid), 5)
        if pid and pid_alive(pid):
            self.bench.note("PM2 God daemon %d could not be stopped" % pid)
        self.home = None
        self.daemon_pid = None


class Supervisord(System):
    key = "supervisord"

    def __init__(self, bench):
        super().__init__(bench)
        self.proc = None
        self.dir = None

    def available(self):
        exe = shutil.which("supervisord")
        if not exe:
            return False, "not installed"
        r = run([exe, "--version"])
        return True, "supervisord %s" % r.stdout.strip()

    def start(self, workdir, services):
        d = self.dir = os.path.join(workdir, "supervisor")
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        conf = os.path.join(d, "supervisord.conf")
        lines = [
            "[unix_http_server]", "file=%s/supervisor.sock" % d, "chmod=0700", "",
            "[supervisord]", "logfile=%s/supervisord.log" % d, "pidfile=%s/supervisord.pid" % d,
            "childlogdir=%s/logs" % d, "nodaemon=true", "loglevel=info",
        ]
        if os.geteuid() == 0:
            lines.append("user=root")   # silences the "running as root" warning; no privilege change
        lines += ["", "[rpcinterface:supervisor]",
                  "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
                  "[supervisorctl]", "serverurl=unix://%s/supervisor.sock" % d, ""]
        for name, lp in services:
            lines += ["[program:%s]" % name, "command=%s %s" % (self.bench.stamp, lp),
                      "autostart=true", "autorestart=true", "startsecs=0", "startretries=1000000",
                      "stopsignal=TERM", "stopwaitsecs=10", ""]
        with open(conf, "w") as f:
            f.write("\n".join(lines))
        out = os.path.join(d, "supervisord.out")
        with open(out, "w") as o:
            self.proc = subprocess.Popen(["supervisord", "-n", "-c", conf], stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd=d)
        self.daemon_pid = self.proc.pid
        self.bench.register_pgid(self.proc.pid)
        poll(lambda: self.proc.poll() is not None or os.path.exists(os.path.join(d, "supervisor.sock")), 10)
        if self.proc.poll() is not None:
            raise BenchError("supervisord exited with %s:\n%s%s" % (
                self.proc.returncode, tail(out), tail(os.path.join(d, "supervisord.log"))))
        return self.daemon_pid

    def stop(self):
        stop_popen(self.proc, signal.SIGTERM, 30)
        self.proc = None
        self.daemon_pid = None


class Floor(System):
    """A shell loop respawning the helper: what fork+exec+wait costs on this machine."""
    key = "floor"

    def __init__(self, bench):
        super().__init__(bench)
        self.proc = None

    def available(self):
        return True, "/bin/sh loop"

    def start(self, workdir, services):
        assert len(services) == 1
        self.proc = subprocess.Popen(["/bin/sh", "-c", 'while :; do "$0" "$1"; done',
                                      self.bench.stamp, services[0][1]],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.daemon_pid = self.proc.pid
        self.bench.register_pgid(self.proc.pid)
        return self.daemon_pid

    def stop(self):
        stop_popen(self.proc, signal.SIGKILL, 5)   # the loop and its helper share the group
        self.proc = None
        self.daemon_pid = None


def _read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def tend_version(tendd):
    rev = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    rev = rev.stdout.strip() if rev.returncode == 0 else "no commit yet"
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    if rev != "no commit yet" and dirty.stdout.strip():
        rev += "+dirty"
    h = hashlib.sha256()
    with open(tendd, "rb") as f:
        h.update(f.read())
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(tendd), datetime.timezone.utc)
    return "tendd git %s, binary sha256 %s, built %s" % (rev, h.hexdigest()[:12],
                                                         mtime.strftime("%Y-%m-%d %H:%M UTC"))


# --------------------------------------------------------------------------- bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="tend-bench.")
        self.pgids = []
        self.notes = []
        self.active = None
        self.stamp = None
        self.stamp_build = None

    def note(self, msg):
        log("note: " + msg)
        self.notes.append(msg)

    def register_pgid(self, pgid):
        self.pgids.append(pgid)

    # -- helper ----------------------------------------------------------------
    def build_stamp(self):
        src = os.path.join(REPO, "bench", "helpers", "stamp.c")
        dst = os.path.join(self.tmp, "stamp")
        cc = os.environ.get("CC", "cc")
        for extra in (["-static"], []):
            r = run([cc, "-O2"] + extra + ["-o", dst, src], timeout=120)
            if r.returncode == 0:
                self.stamp = dst
                self.stamp_build = "%s -O2 %s" % (cc, " ".join(extra))
                return
        raise BenchError("cannot compile %s:\n%s" % (src, r.stdout))

    def stamp_pids(self):
        """Pids of live processes running this run's stamp binary."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % d) == self.stamp:
                    out.append(int(d))
            except OSError:
                pass
        return [p for p in out if pid_alive(p)]

    def sweep(self, context):
        """Kill (by pid) every helper of this run that is still alive; return how many."""
        if not self.stamp:
            return 0
        left = self.stamp_pids()
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            poll(lambda: not self.stamp_pids(), 5)
            self.note("%d service process(es) left running after %s; killed" % (len(left), context))
        return len(left)

    def cleanup(self):
        if self.active is not None:
            try:
                self.active.stop()
            except Exception as e:  # noqa: BLE001 - cleanup must go on
                log("stop during cleanup failed: %r" % e)
            self.active = None
        for g in self.pgids:
            try:
                os.killpg(g, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.sweep("the end of the run")
        if self.stamp:
            ps = run(["ps", "-eo", "pid,args"]).stdout
            left = [l for l in ps.splitlines() if self.stamp in l]
            if left:
                self.note("ps still shows helpers: %s" % left)
        if self.args.keep:
            log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- phases ----------------------------------------------------------------
    def start_system(self, sysobj, workdir, services):
        os.makedirs(workdir, exist_ok=True)
        self.active = sysobj
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
        self.active = None
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

def pct(xs, q):
    s = sorted(xs)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def fmt_ms(v):
    if v is None:
        return None
    return "%.2f" % v if v < 100 else "%.0f" % v


def fmt_ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0:
        r = a / b
        if r < 1:
            return "%.2g×" % r
        return ("%.1f×" % r) if r < 10 else ("%.0f×" % r)
    return "—"


def machine_facts(args, bench, versions):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/etc/debian_version") as f:
            deb = "Debian " + f.read().strip()
    except OSError:
        deb = platform.platform()
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except OSError:
        pass
    facts = [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("machine", "%d CPUs (nproc), %s, RAM %s" % (len(os.sched_getaffinity(0)), cpu, mem)),
        ("system", "%s, kernel %s" % (deb, platform.release())),
        ("python", platform.python_version()),
    ]
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
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "tendd"))
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

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

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
