#!/usr/bin/env python3
# Demo service: a tiny web server. GET / answers a small page, GET /health a
# JSON document. Listens on 127.0.0.1:$PORT (default 8090).
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
PORT = int(os.environ.get("PORT", "8090"))
GREETING = os.environ.get("GREETING", "Hello from a service supervised by Tend")
STARTED = time.time()

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Tend demo</title></head>
<body>
<h1>{greeting}</h1>
<p>pid {pid}, up {uptime:.1f} s, instance {instance}.</p>
<p><a href="/health">/health</a></p>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "tend-demo-web/1"

    def _send(self, code, ctype, body):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        uptime = time.time() - STARTED
        if self.path == "/":
            self._send(200, "text/html; charset=utf-8",
                       PAGE.format(greeting=GREETING, pid=os.getpid(), uptime=uptime,
                                   instance=os.environ.get("TEND_INSTANCE", "-")))
        elif self.path == "/health":
            self._send(200, "application/json",
                       json.dumps({"status": "OK", "pid": os.getpid(), "uptime_seconds": round(uptime, 1)}) + "\n")
        else:
            self._send(404, "application/json", json.dumps({"status": "ERROR", "message": "Not found"}) + "\n")

    def log_message(self, fmt, *args):
        # one line per request on stdout (Tend captures it into NAME-out.log)
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    try:
        server = ThreadingHTTPServer((HOST, PORT), Handler)
    except OSError as e:
        print(f"web: cannot listen on {HOST}:{PORT}: {e}", file=sys.stderr, flush=True)
        return 1

    def on_term(signum, frame):
        print(f"web: got signal {signum}, shutting down", flush=True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    print(f"web: listening on http://{HOST}:{PORT}/ (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("web: bye", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
