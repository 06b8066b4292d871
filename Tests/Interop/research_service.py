#!/usr/bin/env python3
"""A stand-in for an agency's own research service (the `http` backend), for tests. Python's standard
library only. Prints its port on the first line, then serves until killed:

    POST /research   one finding about the subject
    POST /slow       never answers in time
    POST /broken     HTTP 500
"""
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
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
