#!/usr/bin/env python3
# An HTTP server on 127.0.0.1:$PORT. GET /health answers 200, or 503 once the file $FLAG
# exists, and appends "PID STATUS" to $REQUESTS. Appends "PID START_NS" to $RECORD first.
import http.server
import os
import time

PID = os.getpid()
with open(os.environ["RECORD"], "a") as f:
    f.write("%d %d\n" % (PID, time.time_ns()))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 404
        if self.path == "/health":
            status = 503 if os.path.exists(os.environ["FLAG"]) else 200
            with open(os.environ["REQUESTS"], "a") as f:
                f.write("%d %d\n" % (PID, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.HTTPServer):
    allow_reuse_address = True


Server(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
