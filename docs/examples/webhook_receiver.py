"""An example receiver of the node's webhooks (docs/webhooks.md), standard library only.

    python docs/examples/webhook_receiver.py --port 9000 --secret "$TAKEITDOWN_NODE_WEBHOOK_SECRET" \\
        --out events.jsonl

It checks the signature in constant time, refuses timestamps more than five minutes off (a
replayed request), answers 2xx only once the event is on disk, and skips an event id it already
has (the node delivers at least once). Replace `handle` with what your platform does: restore a
post on `entry.withdrawn`, restrict an account on repeated `upload.blocked`, and so on.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOLERANCE = 300


def verify(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v1=" + mac, signature)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    seen = set()
    if args.out.exists():
        seen = {json.loads(line)["id"] for line in args.out.read_text().splitlines() if line.strip()}

    def handle(event: dict) -> None:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(event, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = verify(
                args.secret,
                body,
                self.headers.get("X-Takeitdown-Timestamp"),
                self.headers.get("X-Takeitdown-Signature"),
            )
            if not ok:
                self.send_response(401)
                self.end_headers()
                return
            event = json.loads(body)
            if event["id"] not in seen:  # at-least-once delivery: the same id may come again
                handle(event)
                seen.add(event["id"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_a: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
