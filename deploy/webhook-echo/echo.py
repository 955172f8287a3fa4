#!/usr/bin/env python3
"""The playground's webhook receiver: prints every request it gets (method, path, the
X-Gatehouse-* headers, the JSON body) to stdout and answers 204, so the deliveries Gatehouse sends
can be watched with `docker compose logs -f webhook-echo` or in scripts/playground.sh's log.

Only the standard library. Settings from the environment: ECHO_HOST (default 0.0.0.0),
ECHO_PORT (default 8080).
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Bodies larger than this are cut: an echo for people to read, not a store.
MAX_BODY = 64 * 1024


class Echo(BaseHTTPRequestHandler):
    server_version = "playground-webhook-echo"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
        headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-")}
        try:
            shown = json.loads(body) if body else None
        except ValueError:
            shown = body.decode("utf-8", "replace")
        record = {"method": self.command, "path": self.path, "headers": headers, "body": shown}
        print(json.dumps(record, ensure_ascii=False), flush=True)
        self.send_response(204)
        self.end_headers()

    do_POST = _answer
    do_PUT = _answer

    def do_GET(self):
        # A liveness answer for health checks and people poking at it.
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"webhook echo: POST something\n")

    def log_message(self, format, *args):
        # Requests are printed as JSON above; the default access line would double them.
        pass


def main():
    host = os.environ.get("ECHO_HOST", "0.0.0.0")
    port = int(os.environ.get("ECHO_PORT", "8080"))
    server = ThreadingHTTPServer((host, port), Echo)
    print(f"webhook echo listening on {host}:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
