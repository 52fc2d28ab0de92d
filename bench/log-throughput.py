#!/usr/bin/env python3
"""Log capture throughput and rotation: Tend vs PM2 vs supervisord.

A generator (bench/helpers/loggen.c, compiled here) writes --bytes (default 200 MB =
200e6 bytes) of 100-byte numbered lines ("%010llu " + 88 padding bytes + "\\n") to its
stdout as fast as it can, then exits 0.  It is started by each system as a service
that does not restart, and blocks on a FIFO until the harness releases it, so that
neither the supervisor's CLI nor the spawn is measured.  It stamps CLOCK_REALTIME
right before its first write ("S") and after its last ("E").

1. Capture.  t = (harness sees the log file reach the expected size) - S, by polling
   the file's size every 1 ms (bounded).  MB/s (1 MB = 1e6 bytes) and lines/s from it.
   The supervisor's CPU time (utime+stime of the daemon process from /proc/PID/stat,
   all threads) before the release and at completion; its peak RSS (VmHWM, reset with
   `echo 5 > /proc/PID/clear_refs` right before the release; VmRSS also sampled every
   ~10 ms as a cross-check).  The output is compared (size + sha256) with a reference
   that was checked line by line.  --runs runs per system on one daemon (one service
   and one log file per run).
   Floors: `loggen > file` and `loggen | cat > file` under /bin/sh.
   Tend: autorestart=false, out-file in the temp dir.  PM2: autorestart false,
   merge_logs, out_file.  supervisord: stdout_logfile, maxbytes=0 (no rotation),
   autorestart=false.
2. Rotation (one run per system, a fresh daemon):
   Tend: [plugin:logrotate] max-size=1M retain=1000 compress=false.
   PM2: pm2-logrotate (`pm2 install pm2-logrotate` from the npm registry into our own
   PM2_HOME), max_size 1M, retain 1000, compress false, workerInterval 1 s (its
   default, 30 s, would not rotate at all during a run of a second or two).
   supervisord: stdout_logfile_maxbytes=1MB, stdout_logfile_backups=1000.
   Then every line of the current and rotated files (.gz are gunzipped) is read:
   each number 0..N-1 must appear exactly once, and every line must be whole.
   Done when the files hold the expected bytes, or when the generator has ended and
   the total size has not changed for --stall seconds (lost bytes), bounded.

Everything lives under one mktemp -d; daemons are stopped by pid (see benchlib.py).
python3 only, no pip packages.  See bench/README.md.
"""

import argparse
import gzip
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402
    REPO, SYSTEMS, LABEL, BenchError, log, poll, run, fmt_ratio, loadavg, cpu_seconds, status_kb,
    reset_hwm, stop_popen, install_signal_handlers, machine_facts, Svc, Session,
    TendDaemon, PM2Daemon, SupervisordDaemon)

LINE = 100
PAD = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
assert len(PAD) == LINE - 12
MiB = 1024.0 * 1024.0


def parse_bytes(s):
    s = s.strip().upper()
    mult = 1
    for suf, m in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if s.endswith(suf):
            s, mult = s[:-1], m
            break
    v = int(float(s) * mult)
    if v <= 0 or v % LINE:
        raise argparse.ArgumentTypeError("--bytes must be a positive multiple of %d" % LINE)
    return v


def read_stamps(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
    except (OSError, ValueError):
        pass
    return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def log_files(folder):
    """Every log file in folder (current and rotated), hidden temp files excepted."""
    try:
        return sorted(os.path.join(folder, n) for n in os.listdir(folder) if not n.startswith("."))
    except FileNotFoundError:
        return []


def total_size(folder):
    t = 0
    for p in log_files(folder):
        try:
            t += os.stat(p).st_size
        except FileNotFoundError:
            pass   # renamed between listdir and stat
    return t


def check_lines(paths, nlines):
    """Read every line of paths (gunzip .gz); return a dict: files, lines_ok, lost,
    duplicated, malformed (split or damaged lines), out_of_range."""
    counts = bytearray(nlines)
    ok = malformed = out_of_range = 0
    for p in paths:
        if p.endswith(".gz"):
            with gzip.open(p, "rb") as f:
                data = f.read()
        else:
            with open(p, "rb") as f:
                data = f.read()
        parts = data.split(b"\n")
        del data
        if parts[-1]:
            malformed += 1      # the file does not end with a newline: a split line
        parts.pop()
        for line in parts:
            if len(line) == LINE - 1 and line[10] == 32 and line[:10].isdigit() and line[11:] == PAD:
                n = int(line[:10])
                if n < nlines:
                    ok += 1
                    if counts[n] < 255:
                        counts[n] += 1
                else:
                    out_of_range += 1
            else:
                malformed += 1
    lost = counts.count(0)
    return {"files": len(paths), "lines_ok": ok, "lost": lost,
            "duplicated": ok - (nlines - lost), "malformed": malformed, "out_of_range": out_of_range}


def check_text(c, nlines):
    if c["lost"] == 0 and c["duplicated"] == 0 and c["malformed"] == 0 and c["out_of_range"] == 0:
        return "all %d lines once, none split" % nlines
    parts = []
    if c["lost"]:
        parts.append("**%d lost**" % c["lost"])
    if c["duplicated"]:
        parts.append("**%d duplicated**" % c["duplicated"])
    if c["malformed"]:
        parts.append("**%d split/damaged**" % c["malformed"])
    if c["out_of_range"]:
        parts.append("%d unexpected" % c["out_of_range"])
    return ", ".join(parts)


# --------------------------------------------------------------------------- bench

class LogBench(Session):
    def __init__(self, args):
        super().__init__(prefix="tend-bench-log.", keep=args.keep)
        self.args = args
        self.nlines = args.bytes // LINE
        self.gen = None
        self.gen_build = None
        self.ref_hash = None

    # -- the measured run ------------------------------------------------------
    def release(self, fifo, timeout=30):
        """Wait (bounded) until the generator waits on its FIFO, then let it go."""
        def try_open():
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                return None
        fd = poll(try_open, timeout, 0.002)
        if fd is None:
            raise BenchError("the generator never opened %s" % fifo)
        os.write(fd, b"g")
        os.close(fd)

    def measure(self, fifo, stamp, size_fn, daemon_pid=None):
        """Release the generator, poll size_fn() until the expected bytes are there.
        Returns a result dict."""
        a = self.args
        expected = a.bytes
        r = {"complete": False}
        if daemon_pid:
            r["cpu0"] = cpu_seconds(daemon_pid)
            r["rss0"] = status_kb(daemon_pid, "VmRSS")
            r["hwm_reset"] = reset_hwm(daemon_pid)
        self.release(fifo)
        start = time.monotonic()
        last, last_change, i, rss_max = -1, start, 0, 0
        while True:
            tot = size_fn()
            if tot >= expected:
                r["t_done"] = time.time_ns()
                r["complete"] = True
                break
            now = time.monotonic()
            if tot != last:
                last, last_change = tot, now
            elif now - last_change > a.stall and "E" in read_stamps(stamp):
                break
            if now - start > a.timeout:
                log("timeout after %.0f s with %d of %d bytes" % (a.timeout, tot, expected))
                break
            if daemon_pid and i % 10 == 0:
                rss_max = max(rss_max, status_kb(daemon_pid, "VmRSS") or 0)
            i += 1
            time.sleep(0.001)
        r["bytes_seen"] = tot
        if daemon_pid:
            r["cpu1"] = cpu_seconds(daemon_pid)
            r["rss_max_sampled"] = max(rss_max, status_kb(daemon_pid, "VmRSS") or 0)
            r["hwm"] = status_kb(daemon_pid, "VmHWM")
        st = poll(lambda: (lambda d: d if "E" in d else None)(read_stamps(stamp)), 30, 0.01) \
            or read_stamps(stamp)
        r["S"], r["E"] = st.get("S"), st.get("E")
        if r["complete"] and r["S"]:
            secs = (r["t_done"] - r["S"]) / 1e9
            r["secs"] = secs
            r["mbps"] = expected / 1e6 / secs
            r["lps"] = self.nlines / secs
            if r["E"]:
                r["lag_ms"] = (r["t_done"] - r["E"]) / 1e6
        if daemon_pid and r.get("cpu0") is not None and r.get("cpu1") is not None:
            r["cpu"] = r["cpu1"] - r["cpu0"]
        return r

    def verify_single(self, path, r):
        """Capture runs: size + sha256 against the reference, else a line check."""
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        if size == self.args.bytes and self.ref_hash and sha256_file(path) == self.ref_hash:
            r["check"] = "identical to the reference"
            r["intact"] = True
        else:
            c = check_lines([path] if size else [], self.nlines)
            r["check"] = "%d bytes: %s" % (size, check_text(c, self.nlines))
            r["intact"] = False
        try:
            os.unlink(path)
        except OSError:
            pass

    # -- floors ----------------------------------------------------------------
    def floor(self, kind, i):
        wd = os.path.join(self.tmp, "floor-%s" % kind)
        os.makedirs(wd, exist_ok=True)
        out = os.path.join(wd, "out%d.log" % i)
        stamp = os.path.join(wd, "run%d.stamp" % i)
        fifo = os.path.join(wd, "go%d" % i)
        os.mkfifo(fifo)
        pipe = {"direct": 'exec "$0" "$1" "$2" "$3" > "$4"',
                "cat": '"$0" "$1" "$2" "$3" | cat > "$4"'}[kind]
        p = subprocess.Popen(["/bin/sh", "-c", pipe, self.gen, str(self.args.bytes), stamp, fifo, out],
                             stdin=subprocess.DEVNULL, env=self.env(), start_new_session=True)
        self.register_pgid(p.pid)
        try:
            r = self.measure(fifo, stamp, lambda: _size(out))
            p.wait(timeout=60)
            if p.returncode != 0:
                r["note"] = "exit status %s" % p.returncode
        finally:
            stop_popen(p, signal.SIGKILL, 1)
        if self.ref_hash is None and r["complete"]:
            c = check_lines([out], self.nlines)
            if check_text(c, self.nlines).startswith("all"):
                self.ref_hash = sha256_file(out)
                log("reference output checked line by line: %s" % check_text(c, self.nlines))
            else:
                raise BenchError("the floor's own output is wrong: %s" % check_text(c, self.nlines))
        self.verify_single(out, r)
        return r

    # -- systems ---------------------------------------------------------------
    def gen_service(self, name, wd, out, err, rotate=False):
        stamp = os.path.join(wd, name + ".stamp")
        fifo = os.path.join(wd, name + ".go")
        os.mkfifo(fifo)
        svc = Svc(name, [self.gen, str(self.args.bytes), stamp, fifo],
                  tend={"autorestart": "false", "start": "false", "out-file": out, "error-file": err},
                  pm2={"autorestart": False, "merge_logs": True, "out_file": out, "error_file": err,
                       "watch": False},
                  supervisord={"autostart": "false", "autorestart": "false", "startsecs": "0",
                               "stdout_logfile": out,
                               "stdout_logfile_maxbytes": (self.args.rotate_size + "B") if rotate else "0",
                               "stdout_logfile_backups": "1000" if rotate else "0",
                               "stderr_logfile": err, "stderr_logfile_maxbytes": "0",
                               "stderr_logfile_backups": "0", "stopwaitsecs": "5"})
        return svc, stamp, fifo

    def make(self, key):
        return {"tend": lambda: TendDaemon(self, self.args.tendd, self.args.plugin_dir),
                "pm2": lambda: PM2Daemon(self),
                "supervisord": lambda: SupervisordDaemon(self)}[key]()

    def start_service(self, d, name):
        """Ask the system to start service NAME (the generator then waits on its FIFO)."""
        if d.key == "tend":
            r = d.cli("start", name, timeout=60)
        elif d.key == "pm2":
            r = d.cli("start", d.eco, "--only", name, timeout=120)
        else:
            r = d.cli("start", name, timeout=60)
        if r.returncode != 0:
            raise BenchError("%s: starting %s failed (%d):\n%s" % (LABEL[d.key], name, r.returncode,
                                                                   r.stdout[-1500:]))

    def capture(self, key):
        """--runs capture runs on one daemon; returns (list of results, daemon rss info)."""
        a = self.args
        wd = os.path.join(self.tmp, key + "-capture")
        logdir = os.path.join(wd, "logs")
        os.makedirs(logdir)
        runs = []
        svcs = []
        for i in range(a.runs):
            name = "gen%d" % i
            svc, stamp, fifo = self.gen_service(name, wd, os.path.join(logdir, name + "-out.log"),
                                                os.path.join(logdir, name + "-err.log"))
            svcs.append((svc, stamp, fifo))
        d = self.make(key)
        self.active.append(d)
        info = {}
        try:
            if key == "pm2":
                d.start(wd, [s for s, _, _ in svcs], launch=False)
            else:
                d.start(wd, [s for s, _, _ in svcs])
            time.sleep(1)
            d.check_alive()
            info["rss_start"] = status_kb(d.daemon_pid, "VmRSS")
            for i, (svc, stamp, fifo) in enumerate(svcs):
                out = svc.tend["out-file"]
                self.start_service(d, svc.name)
                r = self.measure(fifo, stamp, lambda: _size(out), d.daemon_pid)
                time.sleep(a.settle)
                r["rss_settled"] = status_kb(d.daemon_pid, "VmRSS")
                d.check_alive()
                self.verify_single(out, r)
                log("%s run %d: %s" % (LABEL[key], i + 1, summary(r)))
                runs.append(r)
        finally:
            d.stop()
            self.active.remove(d)
            self.sweep("%s's capture phase" % LABEL[key])
        return runs, info

    def rotation(self, key):
        a = self.args
        wd = os.path.join(self.tmp, key + "-rotation")
        logdir = os.path.join(wd, "logs")
        errdir = os.path.join(wd, "err")
        os.makedirs(logdir)
        os.makedirs(errdir)
        name = "genr"
        out = os.path.join(logdir, name + ("-out.log" if key != "supervisord" else ".log"))
        svc, stamp, fifo = self.gen_service(name, wd, out, os.path.join(errdir, name + "-err.log"),
                                            rotate=True)
        d = self.make(key)
        self.active.append(d)
        r = {}
        try:
            if key == "tend":
                d.start(wd, [svc], plugins={"logrotate": {
                    "enabled": "true", "max-size": a.rotate_size, "retain": "1000", "compress": "false"}})
                r["setting"] = "logrotate plugin: max-size=%s retain=1000 compress=false" % a.rotate_size
            elif key == "pm2":
                d.start(wd, [svc], launch=False)
                log("PM2: pm2 install pm2-logrotate (npm registry) into our PM2_HOME")
                t0 = time.monotonic()
                ir = d.cli("install", "pm2-logrotate", timeout=a.pm2_install_timeout)
                if ir.returncode != 0:
                    return {"unavailable": "`pm2 install pm2-logrotate` failed (%d): %s"
                            % (ir.returncode, ir.stdout.strip().splitlines()[-1:] or "")}
                for k, v in (("max_size", a.rotate_size), ("retain", "1000"), ("compress", "false"),
                             ("workerInterval", "1")):
                    sr = d.cli("set", "pm2-logrotate:%s" % k, v, timeout=60)
                    if sr.returncode != 0:
                        return {"unavailable": "`pm2 set pm2-logrotate:%s %s` failed" % (k, v)}
                ver = _pm2_logrotate_version(d.home)
                log("pm2-logrotate %s installed in %.0f s" % (ver, time.monotonic() - t0))
                time.sleep(2)   # `pm2 set` restarts the module
                r["setting"] = ("pm2-logrotate %s: max_size=%s retain=1000 compress=false "
                                "workerInterval=1" % (ver, a.rotate_size))
            else:
                d.start(wd, [svc])
                r["setting"] = "stdout_logfile_maxbytes=%sB, stdout_logfile_backups=1000" % a.rotate_size
            time.sleep(1)
            d.check_alive()
            self.start_service(d, name)
            m = self.measure(fifo, stamp, lambda: total_size(logdir), d.daemon_pid)
            r.update(m)
            # let a rotation that is due (PM2's worker, Tend's timer) happen, then read everything
            time.sleep(a.settle)
            d.check_alive()
        finally:
            d.stop()
            self.active.remove(d)
            self.sweep("%s's rotation phase" % LABEL[key])
        files = log_files(logdir)
        c = check_lines(files, self.nlines)
        r.update(c)
        sizes = [_size(p) for p in files]
        r["bytes_final"] = sum(sizes)
        # rotated files only (not the current one): how far past max-size they went
        rotated = [sz for p, sz in zip(files, sizes) if p != out]
        r["largest_rotated"] = max(rotated) if rotated else 0
        r["smallest_rotated"] = min(rotated) if rotated else 0
        r["check"] = check_text(c, self.nlines)
        log("%s rotation: %s, %d files" % (LABEL[key], summary(r), len(files)))
        for p in files:
            os.unlink(p)
        return r


def _size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _pm2_logrotate_version(home):
    import json
    for p in ("modules/pm2-logrotate/node_modules/pm2-logrotate/package.json",
              "modules/pm2-logrotate/package.json"):
        try:
            with open(os.path.join(home, p)) as f:
                return json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            pass
    return "?"


def summary(r):
    if not r.get("complete"):
        return "incomplete (%s bytes seen)" % r.get("bytes_seen")
    s = "%.0f MB/s in %.3f s" % (r["mbps"], r["secs"])
    if r.get("cpu") is not None:
        s += ", daemon CPU %.2f s" % r["cpu"]
    if r.get("hwm"):
        s += ", daemon peak RSS %.1f MB" % (r["hwm"] / 1024)
    if r.get("check"):
        s += ", " + r["check"]
    return s


# --------------------------------------------------------------------------- report

def mb(kb):
    return "%.1f" % (kb / 1024) if kb else "—"


def render(args, bench, versions, floors, caps, rots, load_before, load_after):
    nlines = args.bytes // LINE
    cmd = "python3 bench/log-throughput.py " + " ".join(sys.argv[1:])
    out = ["# Log capture throughput and rotation: Tend vs PM2 vs supervisord", "",
           "Command: `%s`" % cmd.strip(), ""]
    facts = machine_facts()
    facts.append(("load average (1/5/15 min)", "%s before, %s after" % (load_before, load_after)))
    for k in SYSTEMS:
        facts.append((LABEL[k], versions.get(k, "not selected")))
    facts.append(("generator", "bench/helpers/loggen.c built with `%s`; %d bytes = %d lines of 100 bytes"
                  % (bench.gen_build, args.bytes, nlines)))
    facts.append(("settings", "--runs %d capture runs per system (one daemon), rotation at %s, "
                  "1 ms size polling" % (args.runs, args.rotate_size)))
    for k, v in facts:
        out.append("- %s: %s" % (k, v))

    def med(rs, key):
        xs = [r[key] for r in rs if r.get(key) is not None]
        return statistics.median(xs) if xs else None

    tend_rs = caps.get("tend", ([], {}))[0]
    tend_mbps = med(tend_rs, "mbps") if not isinstance(tend_rs, str) else None
    if floors or caps:
        out += ["", "### Capture (no rotation)", "",
                "| writer → file | MB/s, median (min–max) | lines/s | time (s) | daemon CPU (s) "
                "| daemon RSS: before → peak (MB) | output | Tend / this |",
                "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
        rows = [("floor: `loggen > file`", floors.get("direct", []), None),
                ("floor: `loggen \\| cat > file`", floors.get("cat", []), None)]
        for k in SYSTEMS:
            if k in caps:
                rows.append((LABEL[k], caps[k][0], caps[k][1]))
        for title, rs, info in rows:
            if isinstance(rs, str):
                out.append("| %s | %s | | | | | | |" % (title, rs))
                continue
            done = [r for r in rs if r.get("mbps")]
            if not rs:
                continue
            m = med(done, "mbps")
            mbps = ("%.0f (%.0f–%.0f)" % (m, min(r["mbps"] for r in done), max(r["mbps"] for r in done))
                    if done else "incomplete")
            lps = "%.2f M" % (med(done, "lps") / 1e6) if done else "—"
            secs = "%.3f" % med(done, "secs") if done else "—"
            cpu = "%.2f" % med(rs, "cpu") if med(rs, "cpu") is not None else "—"
            if info is not None:
                peak = max((r.get("hwm") or 0) for r in rs)
                sampled = max((r.get("rss_max_sampled") or 0) for r in rs)
                rss = "%s → %s" % (mb(info.get("rss_start")), mb(max(peak, sampled)))
            else:
                rss = "—"
            same = sum(1 for r in rs if r.get("intact"))
            if same == len(rs):
                chk = "identical to the reference (%d of %d runs)" % (same, len(rs))
            else:
                chk = "identical in %d of %d runs; %s" % (same, len(rs), "; ".join(
                    "run %d: %s" % (j + 1, r.get("check", "?")) for j, r in enumerate(rs) if not r.get("intact")))
            ratio = fmt_ratio(tend_mbps, m) if (m and tend_mbps and title != "Tend") else ("1×" if title == "Tend" else "—")
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                title, mbps, lps, secs, cpu, rss, chk, ratio))
        out += ["", "Per run (MB/s; daemon VmRSS after the run + %.0f s settle, MB):" % args.settle]
        for title, rs, info in rows:
            if isinstance(rs, str) or not rs:
                continue
            cells = []
            for r in rs:
                c = ("%.0f" % r["mbps"]) if r.get("mbps") else "incomplete"
                if r.get("rss_settled"):
                    c += " (RSS %s)" % mb(r["rss_settled"])
                if r.get("lag_ms") is not None:
                    c += " [lag %.0f ms]" % r["lag_ms"]
                cells.append(c)
            out.append("- %s: %s" % (title.replace("\\|", "|"), ", ".join(cells)))
        out.append("")
        out.append("time = log file complete − generator's first write; lag = log file complete − "
                   "generator's last write. CPU = utime+stime of the daemon process (tendd, PM2 God daemon, "
                   "supervisord) over the run; peak = VmHWM reset before the run (and VmRSS sampled every "
                   "~10 ms), MB = 1024² bytes; MB/s = 1e6 bytes/s.")

    if rots:
        out += ["", "### Rotation at %s (one run each)" % args.rotate_size, "",
                "| system | rotation | MB/s | files | rotated file sizes (MB) | lines intact (of %d) | lost | duplicated | split/damaged | daemon CPU (s) | daemon peak RSS (MB) |" % nlines,
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for k in SYSTEMS:
            if k not in rots:
                continue
            r = rots[k]
            if "unavailable" in r:
                out.append("| %s | %s | — | — | — | — | — | — | — | — | — |" % (LABEL[k], r["unavailable"]))
                continue
            if r.get("mbps") and r.get("bytes_final") == args.bytes and not r["lost"] and not r["duplicated"]:
                mbps = "%.0f" % r["mbps"]
            else:
                # with lines lost, "every byte arrived" never happened (a copy and its not yet
                # truncated original can add up to the expected size for a moment)
                mbps = "— (not every line arrived whole; %d of %d bytes)" % (r.get("bytes_final", 0), args.bytes)
            sz = ("%.2f–%.2f" % (r["smallest_rotated"] / 1e6, r["largest_rotated"] / 1e6)
                  if r.get("largest_rotated") else "none rotated")
            out.append("| %s | %s | %s | %d | %s | %d | %d | %d | %d | %s | %s |" % (
                LABEL[k], r.get("setting", ""), mbps, r["files"], sz, r["lines_ok"], r["lost"], r["duplicated"],
                r["malformed"], "%.2f" % r["cpu"] if r.get("cpu") is not None else "—",
                mb(max(r.get("hwm") or 0, r.get("rss_max_sampled") or 0))))
        out += ["", "files = current + rotated; rotated file sizes in 1e6 bytes (smallest–largest). "
                "lost = numbers 0..N−1 found in no file; duplicated = extra copies; split/damaged = lines "
                "that are not one whole 100-byte line (a line cut across two files counts twice). MB/s only "
                "when every line arrived. PM2's daemon CPU and RSS are the God daemon's; the "
                "pm2-logrotate module runs in a process of its own, not counted."]
    if bench.notes:
        out += ["", "Notes:"] + ["- " + n for n in bench.notes]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(SYSTEMS), help="comma list of tend,pm2,supervisord")
    ap.add_argument("--bytes", type=parse_bytes, default=200 * 10**6,
                    help="bytes per run, a multiple of 100; K/M/G = 1e3/1e6/1e9 (default 200M)")
    ap.add_argument("--runs", type=int, default=5, help="capture runs per system (default 5)")
    ap.add_argument("--rotate-size", default="1M", choices=("1M", "10M", "100K"),
                    help="rotation size for all three (default 1M)")
    ap.add_argument("--timeout", type=float, default=120, help="longest wait for one run (s, default 120)")
    ap.add_argument("--stall", type=float, default=3, help="after the generator ended, give up when "
                    "the log size is unchanged this long (s, default 3)")
    ap.add_argument("--settle", type=float, default=2, help="seconds after each run before the RSS "
                    "sample and the next run (default 2)")
    ap.add_argument("--pm2-install-timeout", type=float, default=240,
                    help="longest `pm2 install pm2-logrotate` (s, default 240)")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-capture", action="store_true")
    ap.add_argument("--no-rotation", action="store_true")
    ap.add_argument("--no-pm2-logrotate", action="store_true", help="do not install pm2-logrotate")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--tendd", default=os.path.join(REPO, "build", "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.environ.get("TEND_PLUGIN_DIR",
                                                          os.path.join(REPO, "build", "plugins")))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SYSTEMS]
    if bad:
        ap.error("unknown system(s) %s" % ",".join(bad))
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    install_signal_handlers()

    b = LogBench(args)
    versions, floors, caps, rots = {}, {}, {}, {}
    load_before = loadavg()
    try:
        b.gen, b.gen_build = b.build_helper("loggen")
        log("temp dir %s, generator %s; %d bytes per run" % (b.tmp, b.gen, args.bytes))
        # the first `loggen > file` run also makes the reference, checked line by line
        for kind in ("direct", "cat"):
            n = args.runs if not args.no_floor else (1 if kind == "direct" else 0)
            for i in range(n):
                r = b.floor(kind, i)
                log("floor %s run %d: %s" % (kind, i + 1, summary(r)))
                floors.setdefault(kind, []).append(r)
        if args.no_floor:
            floors = {}
        for key in only:
            d = b.make(key)
            ok, info = d.available()
            versions[key] = info
            if not ok:
                caps[key] = ("not installed", {})
                continue
            if not args.no_capture:
                log("%s: capture, %d runs" % (LABEL[key], args.runs))
                try:
                    caps[key] = b.capture(key)
                except (BenchError, OSError, subprocess.SubprocessError) as e:
                    b.note("%s capture failed: %s" % (LABEL[key], e))
                    caps[key] = ("failed", {})
            if not args.no_rotation:
                if key == "tend" and not os.path.exists(os.path.join(args.plugin_dir, "tend-logrotate.so")):
                    rots[key] = {"unavailable": "tend-logrotate.so not built"}
                    continue
                if key == "pm2" and args.no_pm2_logrotate:
                    rots[key] = {"unavailable": "skipped (--no-pm2-logrotate)"}
                    continue
                log("%s: rotation run" % LABEL[key])
                try:
                    rots[key] = b.rotation(key)
                except (BenchError, OSError, subprocess.SubprocessError) as e:
                    b.note("%s rotation failed: %s" % (LABEL[key], e))
                    rots[key] = {"unavailable": "failed (see notes)"}
    finally:
        b.cleanup()
    for k in SYSTEMS:
        versions.setdefault(k, "not selected")
    report = render(args, b, versions, floors, caps, rots, load_before, loadavg())
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
