#!/usr/bin/env python3
"""Outage of a service across `kill -9` of tendd, with tendd started again as the
unit that `tend startup` writes would start it.

The unit says Restart=on-failure and RestartSec=N (read from `tend startup --print`).
systemd is not PID 1 on the machines this runs on, so this harness plays its part: a
loop that runs `tendd --foreground --home H --config F` (the unit's ExecStart), and
when it dies of a signal waits RestartSec and runs it again.  The output says so.

The service listens on a TCP port (python3 -m http.server, bound to 127.0.0.1).  Each
round: wait until the service answers and has been up 2 s, take t0, kill -9 tendd; the
service dies with it (its parent-death signal: no orphan is left unsupervised); poll a
TCP connect every 5 ms until the port answers again, from a new pid.  Reported per
round: when the port stopped answering, and when it answered again (the outage), both
since t0; then the median and the range, and how much of it is RestartSec.

The desired-state file brings back what ran (docs/lifecycle.md), so a service stopped on
purpose would stay stopped; this one was running.

PM2 and supervisord are not measured: after a kill -9 of PM2's God daemon its apps run
on unsupervised (no outage, no supervision either until `pm2 resurrect` adopts new ones),
and supervisord's children are killed with it but nothing restarts supervisord itself
without systemd.  The figures are Tend's alone.

python3 only, no pip packages.  See bench/README.md.
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import REPO, BenchError, Session, log, poll, pid_alive, install_signal_handlers  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def restart_sec(tend_cli, env):
    """RestartSec of the unit tend startup would write, in seconds."""
    r = subprocess.run([tend_cli, "startup", "--print", "--user", "root", "--home", "/tmp/tend-outage-unit"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    m = re.search(r"^RestartSec=(\d+(?:\.\d+)?)(ms|s)?$", r.stdout, re.M)
    if r.returncode != 0 or m is None:
        raise BenchError("cannot read RestartSec from tend startup --print:\n" + r.stdout)
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


class UnitLoop:
    """What systemd would do with Restart=on-failure, RestartSec=N: run tendd, and when it
    dies of a signal (or exits non-zero) wait N seconds and run it again."""

    def __init__(self, session, argv, env, delay, out):
        self.session, self.argv, self.env, self.delay, self.out = session, argv, env, delay, out
        self.proc = None
        self.stopping = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.spawn()
        self.thread.start()

    def spawn(self):
        with self.lock:
            with open(self.out, "a") as out:
                self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            self.session.register_pgid(self.proc.pid)

    def pid(self):
        with self.lock:
            return self.proc.pid if self.proc else None

    def run(self):
        while not self.stopping:
            rc = self.proc.wait()
            if self.stopping or rc == 0:
                return
            time.sleep(self.delay)
            if not self.stopping:
                self.spawn()

    def stop(self):
        self.stopping = True
        with self.lock:
            p = self.proc
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def service_pid(tend_cli, home, env):
    r = subprocess.run([tend_cli, "--home", home, "status", "--json"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True, timeout=30)
    m = re.search(r'"pid"\s*:\s*(\d+)', r.stdout)
    return int(m.group(1)) if r.returncode == 0 and m else 0


def main():
    build = os.path.join(REPO, "build")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tendd", default=os.path.join(build, "core", "daemon", "tendd"))
    ap.add_argument("--plugin-dir", default=os.path.join(build, "plugins"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    tend_cli = os.path.normpath(os.path.join(os.path.dirname(args.tendd), "..", "cli", "tend"))
    if not os.path.exists(tend_cli):
        tend_cli = os.path.join(os.path.dirname(args.tendd), "tend")

    install_signal_handlers()
    session = Session(prefix="tend-outage.", keep=args.keep)
    loop = None
    try:
        env = session.env(TEND_PLUGIN_DIR=args.plugin_dir)
        delay = restart_sec(tend_cli, env)
        home = os.path.join(session.tmp, "home")
        os.makedirs(home)
        port = free_port()
        conf = os.path.join(session.tmp, "tend.conf")
        with open(conf, "w") as f:
            f.write("[tend]\ndbus=none\n\n[service:web]\n")
            f.write("exec=python3 -m http.server %d --bind 127.0.0.1\n" % port)
            f.write("ready-check=tcp://127.0.0.1:%d\nmin-uptime=1s\n" % port)
        argv = [args.tendd, "--foreground", "--home", home, "--config", conf]
        log("systemd is not PID 1 here: tendd is restarted by this script's loop, which applies the "
            "generated unit's Restart=on-failure and RestartSec=%gs" % delay)
        loop = UnitLoop(session, argv, env, delay, os.path.join(session.tmp, "tendd.out"))
        loop.start()

        downs, outages = [], []
        for i in range(args.runs):
            if not poll(lambda: answers(port), 30):
                raise BenchError("the service does not answer on %d" % port)
            time.sleep(2)
            old_service = service_pid(tend_cli, home, env)
            tendd = loop.pid()
            t0 = time.monotonic()
            os.kill(tendd, signal.SIGKILL)
            down = None
            while True:
                ok = answers(port)
                now = time.monotonic()
                if not ok and down is None:
                    down = now - t0
                if ok and down is not None:
                    break
                if now - t0 > 60:
                    raise BenchError("the service did not come back within 60 s")
                time.sleep(0.005)
            outage = time.monotonic() - t0
            new_service = service_pid(tend_cli, home, env)
            if old_service and pid_alive(old_service):
                raise BenchError("the old service (pid %d) outlived tendd" % old_service)
            downs.append(down)
            outages.append(outage)
            log("round %d: tendd %d killed; port closed after %.1f ms, answering again after %.0f ms "
                "(service pid %d -> %d)" % (i + 1, tendd, down * 1000, outage * 1000, old_service, new_service))

        med = statistics.median(outages)
        print()
        print("Outage of a service across kill -9 of tendd (%d rounds)" % len(outages))
        print("  tendd restarted by a loop applying the generated unit's RestartSec=%gs "
              "(systemd is not PID 1 on this machine)" % delay)
        print("  port closed after:   median %.1f ms" % (statistics.median(downs) * 1000))
        print("  answering again after: median %.0f ms, min %.0f, max %.0f" %
              (med * 1000, min(outages) * 1000, max(outages) * 1000))
        print("  of which RestartSec: %.0f ms; tendd start + service start + ready: median %.0f ms" %
              (delay * 1000, (med - delay) * 1000))
        print("  command: python3 bench/outage.py --runs %d" % args.runs)
        return 0
    except BenchError as e:
        log("error: %s" % e)
        return 1
    finally:
        if loop:
            loop.stop()
        session.cleanup()


if __name__ == "__main__":
    sys.exit(main())
