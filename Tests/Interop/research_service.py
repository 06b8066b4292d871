#!/usr/bin/env python3
"""A stand-in for an agency's own research service (the `http` backend), for tests. Python's standard
library only. Prints its port on the first line, then serves until killed:

    POST /research   one finding about the subject
    POST /slow       never answers in time
    POST /broken     HTTP 500
    POST /outcome    (as an `outcomes` url) HTTP 503 the first time, then 204; each outcome it takes is
                     appended to the file named by the first argument, one JSON line
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


refused = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/outcome":
            if not refused.is_set():
                refused.set()
                self.send_response(503)
            else:
                with open(sys.argv[1], "a") as log:
                    log.write(json.dumps(request) + "\n")
                self.send_response(204)
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(30)
        if self.path == "/broken":
            self.send_response(500)
            self.end_headers()
            return
        body = json.dumps({
            "outcome": "information-held",
            "findings": [{"summary": "Held by the service for request %s." % request["requestID"],
                          "category": "personal", "match": {"band": "match", "score": 0.99}}],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
