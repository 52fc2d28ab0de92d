"""Shared pieces of Tend's benchmark harnesses (bench/*.py).

- small /proc and polling helpers (every wait is bounded);
- the three supervisors, each run privately under one temp dir:
  TendDaemon (tendd --foreground with its own --home and config),
  PM2Daemon (its own PM2_HOME; `pm2 kill` only ever with that PM2_HOME),
  SupervisordDaemon (its own config, unix socket, pidfile, log dir; nodaemon);
- Session: the temp dir, the process groups we started, notes, helper builds,
  and the cleanup (stop the active daemon, SIGKILL our process groups, then kill
  by pid any process that carries this run's tag in its environment or runs one
  of this run's helper binaries).  Nothing is ever killed by name.

Every daemon and every process we start gets TEND_BENCH_TAG=<unique> in its
environment; services inherit it, which is how leftovers are found.

python3 only, no pip packages.
"""

import datetime
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEMS = ("tend", "pm2", "supervisord")
LABEL = {"tend": "Tend", "pm2": "PM2", "supervisord": "supervisord", "floor": "floor"}
TAG_VAR = "TEND_BENCH_TAG"
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


# --------------------------------------------------------------------------- /proc

def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name: [state, ppid, ...]."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    return st[st.rindex(")") + 2:].split()


def pid_alive(pid):
    try:
        # a zombie is not alive for our purposes
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def proc_ppid(pid):
    try:
        return int(_stat_fields(pid)[1])
    except (OSError, ValueError, IndexError):
        return None


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds; None if gone."""
    try:
        f = _stat_fields(pid)
        # fields 14 and 15 of stat(5); f[0] is field 3
        return (int(f[11]) + int(f[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return None


def status_kb(pid, key):
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def rss_kb(pid):
    return status_kb(pid, "VmRSS")


def reset_hwm(pid):
    """Reset VmHWM (peak RSS) to the current RSS: `echo 5 > /proc/PID/clear_refs`. True if done."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# --------------------------------------------------------------------------- processes

def run(cmd, env=None, timeout=60, cwd=None):
    return subprocess.run(cmd, env=env, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd,
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


def install_signal_handlers():
    """SIGTERM / SIGHUP raise SystemExit, so that `finally:` cleanups run."""
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)


# --------------------------------------------------------------------------- versions

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


def pm2_version():
    """(True, "PM2 x (node y)") or (False, reason).  Never runs `pm2` (that would start a God
    daemon in ~/.pm2): reads its package.json."""
    exe = shutil.which("pm2")
    if not exe:
        return False, "not installed"
    pkg = os.path.join(os.path.dirname(os.path.realpath(exe)), "..", "package.json")
    try:
        with open(pkg) as f:
            ver = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        ver = "?"
    node = shutil.which("node")
    nv = run([node, "--version"]).stdout.strip() if node else "?"
    return True, "PM2 %s (node %s)" % (ver, nv)


def supervisord_version():
    exe = shutil.which("supervisord")
    if not exe:
        return False, "not installed"
    return True, "supervisord %s" % run([exe, "--version"]).stdout.strip()


# --------------------------------------------------------------------------- report helpers

def pct(xs, q):
    """Nearest-rank percentile."""
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


def machine_facts():
    """[(key, value)] common to every report: date, CPUs, system, python, load average."""
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
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("machine", "%d CPUs (nproc), %s, RAM %s" % (len(os.sched_getaffinity(0)), cpu, mem)),
        ("system", "%s, kernel %s" % (deb, platform.release())),
        ("python", platform.python_version()),
    ]


# --------------------------------------------------------------------------- services and daemons

class Svc:
    """One service for any of the three systems: NAME, ARGV, and per-system extra settings
    (ordered dicts of config keys: Tend `[service:NAME]` keys, PM2 app keys, supervisord
    `[program:NAME]` keys)."""

    def __init__(self, name, argv, tend=None, pm2=None, supervisord=None):
        self.name = name
        self.argv = list(argv)
        self.tend = dict(tend or {})
        self.pm2 = dict(pm2 or {})
        self.supervisord = dict(supervisord or {})


class Daemon:
    """Base of the three supervisors.  ctx: an object with register_pgid(pgid), note(msg)
    and env(extra) (a Session)."""
    key = None

    def __init__(self, ctx):
        self.ctx = ctx
        self.daemon_pid = None

    def available(self):
        """(True, version) or (False, reason)."""
        raise NotImplementedError

    def stop(self):
        """Stop the daemon and its services; bounded; never raises."""
        raise NotImplementedError

    def check_alive(self):
        if self.daemon_pid is None or not pid_alive(self.daemon_pid):
            raise BenchError("%s daemon (pid %s) is not running" % (LABEL[self.key], self.daemon_pid))


class TendDaemon(Daemon):
    key = "tend"

    def __init__(self, ctx, tendd, plugin_dir):
        super().__init__(ctx)
        self.tendd = tendd
        self.plugin_dir = plugin_dir
        # an install keeps both in one folder; the build tree has core/daemon/tendd and core/cli/tend
        beside = os.path.join(os.path.dirname(tendd), "tend")
        build_tree = os.path.join(os.path.dirname(tendd), "..", "cli", "tend")
        self.tend_cli = beside if os.path.exists(beside) else os.path.normpath(build_tree)
        self.proc = None
        self.out = None
        self.home = None
        self.conf = None

    def available(self):
        t = self.tendd
        if not (os.path.isfile(t) and os.access(t, os.X_OK)):
            return False, "not installed (%s missing; build with ninja -C build)" % t
        return True, tend_version(t)

    def write_config(self, path, services, plugins=None):
        """plugins: {name: {key: value}} groups besides [plugin:process] enabled=true."""
        with open(path, "w") as f:
            f.write("[tend]\ndbus=none\n\n[plugin:process]\nenabled=true\n\n")
            for pname, keys in (plugins or {}).items():
                f.write("[plugin:%s]\n" % pname)
                for k, v in keys.items():
                    f.write("%s=%s\n" % (k, v))
                f.write("\n")
            for s in services:
                f.write("[service:%s]\nexec=%s\n" % (s.name, shlex.join(s.argv)))
                for k, v in s.tend.items():
                    f.write("%s=%s\n" % (k, v))
                f.write("\n")

    def start(self, workdir, services, plugins=None):
        """Start `tendd --foreground` with its own home and config; return its pid once its
        pidfile or control socket exists (services are waited for by the caller)."""
        home = self.home = os.path.join(workdir, "tend-home")
        os.makedirs(home, exist_ok=True)
        conf = self.conf = os.path.join(workdir, "tend.conf")
        self.write_config(conf, services, plugins)
        env = self.ctx.env(TEND_HOME=home, TEND_PLUGIN_DIR=self.plugin_dir)
        self.out = os.path.join(workdir, "tendd.out")
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(
                [self.tendd, "--foreground", "--home", home, "--config", conf],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=workdir)
        self.daemon_pid = self.proc.pid
        self.ctx.register_pgid(self.proc.pid)
        ok = poll(lambda: self.proc.poll() is not None
                  or os.path.exists(os.path.join(home, "tendd.pid"))
                  or os.path.exists(os.path.join(home, "tendd.sock")), 10)
        if self.proc.poll() is not None:
            raise BenchError("tendd exited with %s:\n%s" % (self.proc.returncode, tail(self.out)))
        if not ok:
            log("tendd: no tendd.pid/tendd.sock after 10 s; going on")
        return self.daemon_pid

    def cli(self, *args, timeout=60):
        """Run `tend --home HOME ARGS...` (retried for a few seconds if the binary cannot be
        executed: on a shared machine someone may be relinking build/core/cli/tend)."""
        for attempt in range(10):
            try:
                return run([self.tend_cli, "--home", self.home] + list(args),
                           env=self.ctx.env(TEND_PLUGIN_DIR=self.plugin_dir), timeout=timeout)
            except OSError as e:
                if attempt == 9:
                    raise
                log("cannot run %s (%s); retrying in 1 s" % (self.tend_cli, e))
                time.sleep(1)

    def stop(self):
        rc = stop_popen(self.proc, signal.SIGTERM, 20)
        if self.proc is not None and rc not in (0, None):
            self.ctx.note("tendd exited with status %s after SIGTERM (expected 0)" % rc)
        self.proc = None
        self.daemon_pid = None


class PM2Daemon(Daemon):
    key = "pm2"

    BASE_APP = (("interpreter", "none"), ("exec_mode", "fork"), ("instances", 1))

    def __init__(self, ctx):
        super().__init__(ctx)
        self.home = None
        self.env = None
        self.eco = None

    def available(self):
        return pm2_version()

    def start(self, workdir, services, launch=True):
        """Write ecosystem.json for services; `pm2 start` it (launch and services), else
        `pm2 ping` (the God daemon with no app).  Returns the God daemon's pid."""
        self.home = os.path.join(workdir, "pm2-home")
        os.makedirs(self.home, exist_ok=True)
        self.env = self.ctx.env(PM2_HOME=self.home)
        if services:
            self.eco = os.path.join(workdir, "ecosystem.json")
            apps = []
            for s in services:
                app = {"name": s.name, "script": s.argv[0], "args": s.argv[1:]}
                app.update(self.BASE_APP)
                app.update(s.pm2)
                apps.append(app)
            with open(self.eco, "w") as f:
                json.dump({"apps": apps}, f, indent=1)
        if services and launch:
            cmd = ["pm2", "start", self.eco]
        else:
            cmd = ["pm2", "ping"]   # spawns the God daemon with no app
        r = run(cmd, env=self.env, timeout=180)
        pidfile = os.path.join(self.home, "pm2.pid")
        pid = poll(lambda: read_int(pidfile), 10)
        if pid:
            self.daemon_pid = pid
        if r.returncode != 0 or not pid:
            raise BenchError("`%s` failed (%s):\n%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:]))
        return self.daemon_pid

    def cli(self, *args, timeout=60):
        """Run `pm2 ARGS...` with our PM2_HOME."""
        return run(["pm2"] + list(args), env=self.env, timeout=timeout)

    def stop(self):
        if self.home is None:
            return
        pid = self.daemon_pid or read_int(os.path.join(self.home, "pm2.pid"))
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
            self.ctx.note("PM2 God daemon %d could not be stopped" % pid)
        self.home = None
        self.daemon_pid = None


class SupervisordDaemon(Daemon):
    key = "supervisord"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.proc = None
        self.dir = None
        self.conf = None

    def available(self):
        return supervisord_version()

    def start(self, workdir, services):
        d = self.dir = os.path.join(workdir, "supervisor")
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        conf = self.conf = os.path.join(d, "supervisord.conf")
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
        for s in services:
            lines += ["[program:%s]" % s.name, "command=%s" % shlex.join(s.argv)]
            lines += ["%s=%s" % kv for kv in s.supervisord.items()]
            lines.append("")
        with open(conf, "w") as f:
            f.write("\n".join(lines))
        out = os.path.join(d, "supervisord.out")
        with open(out, "w") as o:
            self.proc = subprocess.Popen(["supervisord", "-n", "-c", conf], stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=subprocess.STDOUT, env=self.ctx.env(),
                                         start_new_session=True, cwd=d)
        self.daemon_pid = self.proc.pid
        self.ctx.register_pgid(self.proc.pid)
        poll(lambda: self.proc.poll() is not None or os.path.exists(os.path.join(d, "supervisor.sock")), 10)
        if self.proc.poll() is not None:
            raise BenchError("supervisord exited with %s:\n%s%s" % (
                self.proc.returncode, tail(out), tail(os.path.join(d, "supervisord.log"))))
        return self.daemon_pid

    def cli(self, *args, timeout=60):
        """Run `supervisorctl -c CONF ARGS...`."""
        return run(["supervisorctl", "-c", self.conf] + list(args), env=self.ctx.env(), timeout=timeout)

    def stop(self):
        stop_popen(self.proc, signal.SIGTERM, 30)
        self.proc = None
        self.daemon_pid = None


# --------------------------------------------------------------------------- session

class Session:
    """The temp dir, what we started, notes, helper binaries and the cleanup."""

    def __init__(self, prefix="tend-bench.", keep=False):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.tag = os.path.basename(self.tmp)
        self.keep = keep
        self.pgids = []
        self.notes = []
        self.active = []        # daemons to stop at cleanup
        self.helpers = []       # absolute paths of helper binaries built by this run

    def note(self, msg):
        log("note: " + msg)
        self.notes.append(msg)

    def register_pgid(self, pgid):
        self.pgids.append(pgid)

    def env(self, **extra):
        """os.environ + this run's tag + extra: the environment of everything we start."""
        e = dict(os.environ)
        e[TAG_VAR] = self.tag
        e.update(extra)
        return e

    def build_helper(self, name, static=True):
        """Compile bench/helpers/NAME.c into the temp dir (-static when possible);
        return (path, build command)."""
        src = os.path.join(REPO, "bench", "helpers", name + ".c")
        dst = os.path.join(self.tmp, name)
        cc = os.environ.get("CC", "cc")
        r = None
        for extra in ((["-static"], []) if static else ([],)):
            r = run([cc, "-O2"] + extra + ["-o", dst, src], timeout=120)
            if r.returncode == 0:
                self.helpers.append(dst)
                return dst, "%s -O2 %s" % (cc, " ".join(extra))
        raise BenchError("cannot compile %s:\n%s" % (src, r.stdout if r else ""))

    def own_pids(self):
        """Live processes of this run: our tag in their environment, or one of our helper
        binaries as their executable.  Never this process."""
        me = os.getpid()
        tag = ("%s=%s" % (TAG_VAR, self.tag)).encode()
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            pid = int(d)
            mine = False
            try:
                if os.readlink("/proc/%s/exe" % d) in self.helpers:
                    mine = True
            except OSError:
                pass
            if not mine:
                try:
                    with open("/proc/%s/environ" % d, "rb") as f:
                        mine = tag in f.read().split(b"\0")
                except OSError:
                    pass
            if mine and pid_alive(pid):
                out.append(pid)
        return out

    def helper_pids(self):
        """Live processes running one of this run's helper binaries."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % d) in self.helpers:
                    out.append(int(d))
            except OSError:
                pass
        return [p for p in out if pid_alive(p)]

    def sweep(self, context, quiet=False):
        """Kill (by pid) every process of this run still alive; return how many."""
        left = self.own_pids()
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            poll(lambda: not self.own_pids(), 5)
            if not quiet:
                self.note("%d process(es) of this run left running after %s; killed: %s"
                          % (len(left), context, " ".join(map(str, left))))
        return len(left)

    def cleanup(self):
        for d in list(self.active):
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001 - cleanup must go on
                log("stop during cleanup failed: %r" % e)
        self.active = []
        for g in self.pgids:
            try:
                os.killpg(g, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.sweep("the end of the run")
        ps = run(["ps", "-eo", "pid,args"]).stdout
        left = [line for line in ps.splitlines() if self.tmp in line]
        if left:
            self.note("ps still shows processes of this run: %s" % left)
        if self.keep:
            log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
