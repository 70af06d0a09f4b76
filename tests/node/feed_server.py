"""A registry feed on loopback that serves what a real registry could: huge, valid vPDQ entries.

The real registry caps frames per case; a node must still apply ANY valid feed (an older or
misbehaving registry, or one before the caps), so the flood tests and `bench/sync_flood.py` serve
59 entries of 36,000 frames (protocol.MAX_VPDQ_FRAMES) each, in one page if asked for one: the
215 MB page that jammed nodes. Lines are made with `protocol.FeedEntry.to_wire`, as the registry
makes them. A real HTTP server (ThreadingHTTPServer), not a mock: the node reads it with httpx.
"""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from takeitdown.protocol import MAX_VPDQ_FRAMES, FeedEntry


def vpdq_line(seq: int, entry_id: int, frames: int, seed: int) -> str:
    """A valid vPDQ `add` line of `frames` distinct random frames, one a second."""
    rng = random.Random(seed)
    hexes = rng.randbytes(32 * frames).hex()
    parts = [
        f'{{"i":{k},"pdq":"{hexes[64 * k : 64 * k + 64]}","q":100,"t":{float(k)}}}' for k in range(frames)
    ]
    frames_json = "[" + ",".join(parts) + "]"
    key = f"{rng.getrandbits(256):064x}"
    return FeedEntry(seq, "add", entry_id, "vpdq", key).to_wire(frames_json)


class FloodFeed:
    """`GET /v1/feed?after=N&limit=L`: entries after seq N, at most L, no byte cap (the attack)."""

    def __init__(self, entries: int = 59, frames: int = MAX_VPDQ_FRAMES) -> None:
        self.lines = [vpdq_line(n + 1, 1000 + n, frames, n) for n in range(entries)]
        self.bytes_served = 0
        self.requests: list[tuple[int, int]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def entry_ids(self) -> set[int]:
        return {1000 + n for n in range(len(self.lines))}

    def __enter__(self) -> FloodFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, after: int, limit: int) -> bytes:
        chosen = self.lines[after : after + limit]
        nxt = after + len(chosen)
        more = nxt < len(self.lines)
        body = f'{{"entries":[{",".join(chosen)}],"next":{nxt},"more":{json.dumps(more)}}}'
        return body.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                if url.path != "/v1/feed":
                    self._send(404, b'{"code": "not_found", "detail": "no such path"}')
                    return
                q = parse_qs(url.query)
                after, limit = int(q.get("after", ["0"])[0]), int(q.get("limit", ["1000"])[0])
                feed.requests.append((after, limit))
                body = feed.page(after, limit)
                self._send(200, body)

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("content-length") or 0)
                self.rfile.read(n)
                self._send(200, b'{"accepted": 0, "duplicates": 0, "rejected": []}')

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    feed.bytes_served += len(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the node gave up a page too large: expected

        return Handler
