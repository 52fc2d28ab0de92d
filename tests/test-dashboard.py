#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The web dashboard in a real browser: headless Chromium driven by selenium.

Starts its own tendd (a temporary TEND_HOME, the http plugin on 127.0.0.1:0,
a few services), opens http://127.0.0.1:PORT/, signs in with the token, checks
every row, stops a service with its button (seen within 2 s), sees a
`tend restart` from the CLI arrive live, checks the public-read view is
read-only, and saves screenshots under --out-dir. Exit 0 passed, 1 failed,
77 skipped (Chromium, chromedriver or selenium missing; never skipped when
CI=true).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

SKIP = 77
FACTOR = float(os.environ.get("TEND_TEST_TIME_FACTOR", "1") or "1")

SERVICES = """
[service:web]
exec=sleep 100000
port=8080
layer=front
critical=true

[service:worker]
exec=sleep 100001
layer=back

[service:mailer]
shell=true
exec=x=$(head -c 4000000 /dev/zero | tr -c a a); while :; do sleep 0.2; done
layer=back

[service:batch]
exec=sleep 100002
start=false
"""
NAMES = ["batch", "mailer", "web", "worker"]


def log(*args):
    print("#", *args, flush=True)


def wait_for(what, cond, timeout):
    """A bounded poll: cond() until it returns something true, or fail after timeout (scaled) seconds."""
    deadline = time.monotonic() + timeout * FACTOR
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # an element replaced under us: look again
            last = e
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def proc_start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def descendants(root):
    """(pid, start time) of every descendant of root, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append((child, proc_start_time(child)))
            todo.append(child)
    return out


def kill_recorded(pids):
    for pid, start in pids:
        if start is not None and proc_start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Daemon:
    """A tendd --foreground in its own temporary home."""

    def __init__(self, args, http_keys):
        self.args = args
        self.home = tempfile.mkdtemp(prefix="tend-dashboard-")
        self.config = os.path.join(self.home, "tend.conf")
        with open(self.config, "w") as f:
            f.write("[tend]\ndbus=none\n\n[plugin:http]\nlisten=127.0.0.1:0\n%s\n"
                    "[plugin:health]\nenabled=true\nsample-interval=1s\n%s" % (http_keys, SERVICES))
        self.env = dict(os.environ, TEND_HOME=self.home, TEND_PLUGIN_DIR=args.plugin_dir)
        self.env.pop("NOTIFY_SOCKET", None)
        self.log_path = os.path.join(self.home, "tendd.out")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([args.tendd, "--foreground", "--home", self.home, "--config", self.config],
                                     env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        needle = "HTTP API listening on 127.0.0.1:"

        def port():
            if self.proc.poll() is not None:
                raise AssertionError("tendd exited early")
            text = open(self.log_path).read()
            at = text.find(needle)
            if at < 0:
                return None
            digits = text[at + len(needle):].split()[0]
            return int(digits) if digits.isdigit() else None

        try:
            self.port = wait_for("tendd's HTTP port", port, 30)
        except BaseException:
            print(open(self.log_path).read()[-4000:])
            self.stop()
            raise
        self.url = "http://127.0.0.1:%d/" % self.port
        with open(os.path.join(self.home, "api-token")) as f:
            self.token = f.read().strip()

    def cli(self, *argv):
        r = subprocess.run([self.args.tend] + list(argv), env=self.env, capture_output=True, text=True,
                           timeout=60 * FACTOR)
        if r.returncode != 0:
            raise AssertionError("tend %s: %d\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r.stdout

    def status(self):
        return {s["name"]: s for s in json.loads(self.cli("status", "--json"))}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30 * FACTOR)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()
        shutil.rmtree(self.home, ignore_errors=True)
        return self.proc.returncode


class Browser:
    def __init__(self, chromium, chromedriver):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="tend-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     # nothing but the page's own requests
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-default-apps", "--window-size=1280,720",
                     "--user-data-dir=" + self.profile]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(executable_path=chromedriver, log_path=os.path.join(self.profile, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self.driver_pid = self.service.process.pid
        self.pids = [(self.driver_pid, proc_start_time(self.driver_pid))] + descendants(self.driver_pid)

    def quit(self):
        # every process seen now and at start: chromedriver, chromium and its helpers
        self.pids += descendants(self.driver_pid)
        try:
            self.driver.quit()
        except Exception as e:
            log("driver.quit:", e)
        kill_recorded(self.pids)
        shutil.rmtree(self.profile, ignore_errors=True)


def css(driver, selector):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, selector)


def row_cell(driver, name, cls):
    cells = css(driver, 'tr[data-service="%s"] td.%s' % (name, cls))
    return cells[0] if cells else None


def row_state(driver, name):
    c = row_cell(driver, name, "state")
    return c.get_attribute("data-state") if c else None


def wait_states(driver, expected, timeout):
    def ok():
        got = {name: row_state(driver, name) for name in expected}
        return got if got == expected else None
    return wait_for("states %r" % expected, ok, timeout)


def check_console(driver):
    """No CSP violation and no script error on the page."""
    bad = [e["message"] for e in driver.get_log("browser")
           if "Content Security Policy" in e["message"] or "Uncaught" in e["message"]]
    assert not bad, "browser console: %r" % bad


def test_with_token(browser, d, out_dir):
    driver = browser.driver
    driver.get(d.url)
    # no token: the form, nothing shown
    wait_for("the sign-in form", lambda: css(driver, "form#login")[0].is_displayed(), 15)
    assert css(driver, "tr[data-service]") == []
    assert css(driver, "#status")[0].text == "signed out"

    token_input = css(driver, "#token")[0]
    token_input.send_keys("not-the-token")
    css(driver, "#login-submit")[0].click()
    wait_for("the refusal", lambda: css(driver, "#login-error")[0].text == "wrong token", 10)
    assert css(driver, "tr[data-service]") == []

    token_input.clear()
    token_input.send_keys(d.token)
    css(driver, "#login-submit")[0].click()
    wait_for("every service row", lambda: len(css(driver, "tr[data-service]")) == len(NAMES), 15)
    names = [tr.get_attribute("data-service") for tr in css(driver, "tr[data-service]")]
    assert names == NAMES, names
    wait_states(driver, {"web": "online", "worker": "online", "mailer": "online", "batch": "stopped"}, 15)
    assert not css(driver, "form#login")[0].is_displayed()
    status = d.status()
    for name in NAMES:
        pid = row_cell(driver, name, "pid").text
        want = str(status[name]["pid"]) if status[name]["pid"] > 0 else "-"
        assert pid == want, (name, pid, want)
        assert len(css(driver, 'tr[data-service="%s"] button[data-action]' % name)) == 3
    # the token: in this tab's sessionStorage, never in the URL
    assert d.token not in driver.current_url
    assert driver.execute_script("return sessionStorage.getItem('tend.api-token')") == d.token
    wait_for("the event stream", lambda: css(driver, "#live")[0].get_attribute("data-live") == "on", 10)
    status_text = css(driver, "#status")[0].text
    assert status_text in ("HEALTHY", "DEGRADED", "CRITICAL"), status_text

    # stop with its button: the row says so within 2 s
    css(driver, 'tr[data-service="web"] button[data-action="stop"]')[0].click()
    t0 = time.monotonic()
    wait_for("web stopped on the page", lambda: row_state(driver, "web") == "stopped", 2)
    log("stop button to row stopped: %.0f ms" % ((time.monotonic() - t0) * 1000))
    assert d.status()["web"]["state"] == "stopped"
    assert row_cell(driver, "web", "pid").text == "-"
    # a critical service stopped: the global status follows
    wait_for("CRITICAL", lambda: css(driver, "#status")[0].text == "CRITICAL", 10)

    # a restart from the CLI arrives live: a new pid, uptime from zero
    old_pid = row_cell(driver, "worker", "pid").text
    assert old_pid.isdigit(), old_pid
    d.cli("restart", "worker")
    # counted from the CLI's return: the restart itself takes what it takes
    t0 = time.monotonic()
    new_pid = str(wait_for("worker's new pid on the page",
                           lambda: (row_cell(driver, "worker", "pid").text not in (old_pid, "-")
                                    and row_state(driver, "worker") == "online"
                                    and row_cell(driver, "worker", "pid").text), 2))
    log("tend restart to new pid on the page: %.0f ms" % ((time.monotonic() - t0) * 1000))
    assert new_pid == str(d.status()["worker"]["pid"]), (new_pid, d.status()["worker"])
    uptime = row_cell(driver, "worker", "uptime").text
    assert uptime.endswith("s") and int(uptime[:-1]) < 10, uptime
    wait_for("the restart reason", lambda: row_cell(driver, "worker", "reason").text != "-", 10)
    wait_for("restarts 1", lambda: row_cell(driver, "worker", "restarts").text == "1", 10)

    # start it again with its button
    css(driver, 'tr[data-service="web"] button[data-action="start"]')[0].click()
    wait_for("web online again", lambda: row_state(driver, "web") == "online", 5)

    # a reload keeps the session's token: no form
    driver.refresh()
    wait_for("rows after a reload", lambda: len(css(driver, "tr[data-service]")) == len(NAMES), 15)
    assert not css(driver, "form#login")[0].is_displayed()

    # figures and charts: give the sampler a few seconds
    wait_for("a memory figure", lambda: row_cell(driver, "mailer", "mem").text.strip().split()[0] != "-", 15)
    time.sleep(3)  # not a synchronisation: more points for the screenshot's charts
    check_console(driver)
    shot = os.path.join(out_dir, "dashboard.png")
    driver.save_screenshot(shot)
    log("screenshot:", shot)

    # phone width: no sideways scrolling, every row still there
    driver.set_window_size(390, 844)
    wait_for("the phone layout", lambda: driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"), 5)
    driver.save_screenshot(os.path.join(out_dir, "dashboard-phone.png"))
    driver.set_window_size(1280, 720)

    # forgetting the token signs out
    css(driver, "#logout")[0].click()
    wait_for("signed out", lambda: css(driver, "form#login")[0].is_displayed(), 5)
    assert driver.execute_script("return sessionStorage.getItem('tend.api-token')") is None
    assert css(driver, "tr[data-service]") == []
    assert not css(driver, "#system")[0].is_displayed()

    # the token was never logged by the daemon
    assert d.token not in open(d.log_path).read()


# Samples as the history endpoint gives them (HISTORY-API.md), with a gap where the figures were unknown.
FAKE_HISTORY = """
(() => {
  const real = window.fetch;
  window.fetch = (path, init) => {
    const m = typeof path === 'string' && path.match(/^\\/api\\/components\\/([^/]+)\\/history/);
    if (!m) return real(path, init);
    const t0 = Date.now() * 1000 - 60e6;
    const samples = [];
    for (let i = 0; i < 30; i++)
      samples.push({time: t0 + i * 2e6, cpu_percent: i >= 10 && i < 14 ? null : (i % 7) * 1.5,
                    memory_rss: i >= 10 && i < 14 ? null : (20 + i) * 1048576, processes: 1, restarts: 0});
    const body = JSON.stringify({name: decodeURIComponent(m[1]), interval_ms: 2000, samples});
    return Promise.resolve(new Response(body, {status: 200, headers: {'Content-Type': 'application/json'}}));
  };
})();
"""


def history_answer(d, name):
    req = urllib.request.Request(d.url + "api/components/%s/history" % name,
                                 headers={"Authorization": "Bearer " + d.token})
    try:
        with urllib.request.urlopen(req, timeout=10 * FACTOR) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def drawn_charts(driver, name):
    return css(driver, 'tr[data-service="%s"] svg.spark:not(.empty)' % name)


def sign_in_by_session(driver, d):
    driver.get(d.url + "dashboard.css")  # the origin, without running the page
    driver.execute_script("sessionStorage.setItem('tend.api-token', arguments[0])", d.token)
    driver.get(d.url)
    wait_for("every service row", lambda: len(css(driver, "tr[data-service]")) == len(NAMES), 15)


def test_charts(browser, d, out_dir):
    driver = browser.driver
    status, doc = history_answer(d, "mailer")
    log("history endpoint: HTTP %d" % status)
    if status == 200 and doc.get("interval_ms") is not None:
        sign_in_by_session(driver, d)
        wait_for("mailer's charts", lambda: len(drawn_charts(driver, "mailer")) == 2, 20)
        return
    # no history here (404, or the health plugin off): no chart, the figures still there
    sign_in_by_session(driver, d)
    wait_for("a memory figure", lambda: row_cell(driver, "mailer", "mem").text.strip() not in ("", "-"), 15)
    time.sleep(1)  # not a synchronisation: time for a chart that should not come
    assert drawn_charts(driver, "mailer") == [], "a chart without history"
    check_console(driver)
    # the drawing itself, against samples shaped as the endpoint gives them
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_HISTORY})
    try:
        driver.refresh()
        wait_for("every service row", lambda: len(css(driver, "tr[data-service]")) == len(NAMES), 15)
        charts = wait_for("mailer's charts from the history samples",
                          lambda: len(drawn_charts(driver, "mailer")) == 2 and drawn_charts(driver, "mailer"), 15)
        for chart in charts:
            d_attr = chart.find_element("css selector", "path").get_attribute("d")
            # unknown figures are a gap in the line (a second "M"), never a drop to zero
            assert d_attr.count("M") == 2, d_attr
        check_console(driver)
        driver.save_screenshot(os.path.join(out_dir, "dashboard-charts.png"))
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def test_public_read(browser, d, out_dir):
    driver = browser.driver
    driver.get(d.url)
    wait_for("every service row", lambda: len(css(driver, "tr[data-service]")) == len(NAMES), 15)
    wait_states(driver, {"web": "online", "worker": "online", "mailer": "online", "batch": "stopped"}, 15)
    assert css(driver, "#mode")[0].get_attribute("data-mode") == "read-only"
    # read-only: no control at all, and the form to sign in
    assert css(driver, "button[data-action]") == []
    assert css(driver, "form#login")[0].is_displayed()
    # polled: a stop from the CLI shows within a poll or two
    d.cli("stop", "worker")
    wait_for("worker stopped on the read-only page", lambda: row_state(driver, "worker") == "stopped", 15)
    check_console(driver)
    driver.save_screenshot(os.path.join(out_dir, "dashboard-public.png"))
    # signing in there brings the buttons
    css(driver, "#token")[0].send_keys(d.token)
    css(driver, "#login-submit")[0].click()
    wait_for("buttons once signed in",
             lambda: len(css(driver, "button[data-action]")) == 3 * len(NAMES), 15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tendd", required=True)
    ap.add_argument("--tend", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    args = ap.parse_args()

    missing = [p for p in (args.chromium, args.chromedriver) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        msg = "missing: %s (apt-get install chromium chromium-driver python3-selenium)" % ", ".join(missing)
        if os.environ.get("CI") == "true":
            print("FAIL:", msg, flush=True)
            return 1
        print("SKIP:", msg, flush=True)
        return SKIP

    os.makedirs(args.out_dir, exist_ok=True)
    daemons, browser = [], None
    status = 0
    try:
        browser = Browser(args.chromium, args.chromedriver)
        browser.driver.set_page_load_timeout(30 * FACTOR)
        d = Daemon(args, "")
        daemons.append(d)
        test_with_token(browser, d, args.out_dir)
        log("ok: with a token")
        test_charts(browser, d, args.out_dir)
        log("ok: charts")
        p = Daemon(args, "public-read=true\n")
        daemons.append(p)
        test_public_read(browser, p, args.out_dir)
        log("ok: public-read")
    except Exception:
        traceback.print_exc()
        for d in daemons:
            print("--- tendd log (%s) ---" % d.home)
            print(open(d.log_path).read()[-4000:])
        status = 1
    finally:
        if browser is not None:
            browser.quit()
        for d in daemons:
            rc = d.stop()
            if rc != 0:
                print("tendd exited %s" % rc)
                status = 1
    print("PASS" if status == 0 else "FAIL", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
