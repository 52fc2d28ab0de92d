#!/usr/bin/env python3
"""Status-command latency: `tend status` vs `pm2 jlist` vs `supervisorctl status`.

The three daemons run side by side, each supervising --services (10) idle services
(`sleep 100000`, from a copy of sleep(1) in the temp dir so that leftovers can be
found by executable).  Once every service is online everywhere, the status commands
are timed end to end (fork + exec of the client, connect, answer, exit):

  floor                      /bin/true
  tend help                  build/core/cli/tend help   (client start-up only, no daemon contact)
  tend status --json         build/core/cli/tend --home HOME status --json
  tend status                build/core/cli/tend --home HOME status
  pm2 jlist                  pm2 jlist               (PM2_HOME=ours)
  supervisorctl status       supervisorctl -c CONF status

--method hyperfine (the default when hyperfine is installed): one
`hyperfine -N --warmup W --runs N --export-json` over all commands, one command after
the other.  --method python: W + N rounds, each round runs every command once
(order rotated per round), timed with time.perf_counter_ns() around subprocess.run.
Median, p90, p99 (nearest rank) and the ratio to `tend status --json`.

Everything lives under one mktemp -d; daemons are stopped by pid (see benchlib.py).
python3 only, no pip packages.  See bench/README.md.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402
    REPO, SYSTEMS, LABEL, BenchError, log, poll, run, pct, fmt_ratio, loadavg,
    install_signal_handlers, machine_facts, Svc, Session, TendDaemon, PM2Daemon, SupervisordDaemon)


def idle_services(sleep, n):
    return [Svc("idle%d" % i, [sleep, "100000"],
                pm2={"autorestart": True},
                supervisord={"autostart": "true", "autorestart": "true"})
            for i in range(n)]


def tend_online(d, n):
    try:
        r = d.cli("status", "--json", timeout=10)
        if r.returncode != 0:
            return False
        doc = json.loads(r.stdout)
        return sum(1 for s in doc if s.get("state") == "online") == n
    except (ValueError, subprocess.SubprocessError, AttributeError):
        return False


def pm2_online(d, n):
    try:
        r = d.cli("jlist", timeout=30)
        doc = json.loads(r.stdout[r.stdout.index("["):])
        return sum(1 for a in doc if a.get("pm2_env", {}).get("status") == "online") == n
    except (ValueError, subprocess.SubprocessError):
        return False


def supervisord_online(d, n):
    try:
        r = d.cli("status", timeout=30)
        return sum(1 for line in r.stdout.splitlines() if " RUNNING " in line) == n
    except subprocess.SubprocessError:
        return False


def time_hyperfine(cmds, env, args, workdir):
    """cmds: [(label, argv)] -> {label: [ms, ...]}."""
    js = os.path.join(workdir, "hyperfine.json")
    cmd = ["hyperfine", "-N", "--style", "none", "--warmup", str(args.warmup),
           "--runs", str(args.calls), "--export-json", js]
    for label, argv in cmds:
        cmd += ["-n", label, " ".join(argv)]
    log("running " + " ".join(cmd))
    r = run(cmd, env=env, timeout=args.calls * len(cmds) * 10 + 300)
    if r.returncode != 0:
        raise BenchError("hyperfine failed (%d):\n%s" % (r.returncode, r.stdout[-3000:]))
    with open(js) as f:
        doc = json.load(f)
    return {res["command"]: [t * 1000 for t in res["times"]] for res in doc["results"]}


def time_python(cmds, env, args, failures):
    """Interleaved rounds; a failed call is retried (and counted in failures), not timed."""
    out = {label: [] for label, _ in cmds}
    k = len(cmds)
    for rnd in range(args.warmup + args.calls):
        order = cmds[rnd % k:] + cmds[:rnd % k]
        for label, argv in order:
            for attempt in range(5):
                t0 = time.perf_counter_ns()
                rc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL).returncode
                dt = (time.perf_counter_ns() - t0) / 1e6
                if rc == 0:
                    break
                # on a shared machine the binary may be being relinked: not counted, retried
                log("`%s` exited with %d; retrying in 1 s" % (" ".join(argv), rc))
                failures[label] = failures.get(label, 0) + 1
                time.sleep(1)
            else:
                raise BenchError("`%s` exited with %d five times" % (" ".join(argv), rc))
            if rnd >= args.warmup:
                out[label].append(dt)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(SYSTEMS), help="comma list of tend,pm2,supervisord")
    ap.add_argument("--calls", type=int, default=200, help="timed calls per command (default 200)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    ap.add_argument("--services", type=int, default=10, help="idle services per system (default 10)")
    ap.add_argument("--method", choices=("hyperfine", "python"),
                    help="hyperfine (default when installed) or python")
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
    if args.calls < 1:
        ap.error("--calls must be >= 1")
    if args.method is None:
        args.method = "hyperfine" if shutil.which("hyperfine") else "python"
    elif args.method == "hyperfine" and not shutil.which("hyperfine"):
        ap.error("hyperfine is not installed")
    install_signal_handlers()

    s = Session(prefix="tend-bench-status.", keep=args.keep)
    versions, notes_out = {}, []
    load_before = loadavg()
    times, sizes = {}, {}
    try:
        sleep = os.path.join(s.tmp, "sleep")
        shutil.copy2(shutil.which("sleep"), sleep)
        s.helpers.append(sleep)
        services = idle_services(sleep, args.services)
        env = s.env()
        cmds = [("floor: /bin/true", ["/bin/true"])]
        daemons = {}
        for key in only:
            d = {"tend": lambda: TendDaemon(s, args.tendd, args.plugin_dir),
                 "pm2": lambda: PM2Daemon(s), "supervisord": lambda: SupervisordDaemon(s)}[key]()
            ok, info = d.available()
            versions[key] = info
            if not ok:
                continue
            workdir = os.path.join(s.tmp, key)
            os.makedirs(workdir)
            s.active.append(d)
            log("starting %s with %d services" % (LABEL[key], args.services))
            d.start(workdir, services)
            online = {"tend": tend_online, "pm2": pm2_online, "supervisord": supervisord_online}[key]
            if not poll(lambda: online(d, args.services), 60, 0.5):
                raise BenchError("%s: the %d services are not all online after 60 s"
                                 % (LABEL[key], args.services))
            d.check_alive()
            daemons[key] = d
            if key == "tend":
                cmds += [("tend help (no daemon contact)", [d.tend_cli, "help"]),
                         ("tend status --json", [d.tend_cli, "--home", d.home, "status", "--json"]),
                         ("tend status", [d.tend_cli, "--home", d.home, "status"])]
            elif key == "pm2":
                env["PM2_HOME"] = d.home
                cmds.append(("pm2 jlist", [shutil.which("pm2"), "jlist"]))
            else:
                cmds.append(("supervisorctl status", [shutil.which("supervisorctl"), "-c", d.conf, "status"]))
        for label, argv in cmds:
            r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            if r.returncode != 0:
                raise BenchError("`%s` exited with %d:\n%s" % (" ".join(argv), r.returncode,
                                                               r.stdout[-1500:] + r.stderr[-1500:]))
            sizes[label] = len(r.stdout)
        log("all online; timing %d commands, %d calls each after %d warm-up (%s); load %s"
            % (len(cmds), args.calls, args.warmup, args.method, loadavg()))
        if args.method == "hyperfine":
            times = time_hyperfine(cmds, env, args, s.tmp)
        else:
            failures = {}
            times = time_python(cmds, env, args, failures)
            for label, n in failures.items():
                notes_out.append("`%s` failed %d time(s) and was retried (not timed)" % (label, n))
        for key, d in daemons.items():
            if not d.daemon_pid or not os.path.exists("/proc/%d" % d.daemon_pid):
                notes_out.append("%s daemon died during the measurement" % LABEL[key])
    finally:
        s.cleanup()
    load_after = loadavg()

    # ---------------------------------------------------------------- report
    ref = "tend status --json"
    ref_med = statistics.median(times[ref]) if ref in times else None
    cmdline = "python3 bench/cli-status.py " + " ".join(sys.argv[1:])
    out = ["# Status-command latency: Tend vs PM2 vs supervisord", "",
           "Command: `%s`" % cmdline.strip(), ""]
    facts = machine_facts()
    facts.append(("load average (1/5/15 min)", "%s before, %s after" % (load_before, load_after)))
    for k in SYSTEMS:
        facts.append((LABEL[k], versions.get(k, "not selected")))
    facts.append(("method", "%s, %d calls per command after %d warm-up, %d idle services per system, "
                  "the three daemons running side by side"
                  % ("hyperfine -N (%s)" % run(["hyperfine", "--version"]).stdout.strip()
                     if args.method == "hyperfine" else "python subprocess.run, interleaved rounds",
                     args.calls, args.warmup, args.services)))
    for k, v in facts:
        out.append("- %s: %s" % (k, v))
    out += ["", "| command | median (ms) | p90 (ms) | p99 (ms) | mean (ms) | output (bytes) | median / Tend `--json` |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, ms in times.items():
        med = statistics.median(ms)
        out.append("| `%s` | %.2f | %.2f | %.2f | %.2f | %d | %s |" % (
            label, med, pct(ms, 0.9), pct(ms, 0.99), statistics.fmean(ms), sizes.get(label, 0),
            fmt_ratio(med, ref_med) if label != ref else "1×"))
    out += ["", "Each figure is the wall time of one client run, spawn to exit; n = %d per command."
            % args.calls]
    notes = s.notes + notes_out
    if notes:
        out += ["", "Notes:"] + ["- " + n for n in notes]
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
