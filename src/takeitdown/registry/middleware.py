"""ASGI middleware: request metrics, a plain 500 for any unexpected error, and the body limit.

Nothing here logs request data: no client address, user agent, headers, path values or body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from takeitdown.protocol import Problem, ProblemCode
from takeitdown.registry.metrics import Metrics
from takeitdown.sqldb import RETRY_AFTER_SECONDS, is_unavailable

Scope = dict[str, Any]
log = logging.getLogger("takeitdown.registry")

INTERNAL_ERROR = json.dumps(
    Problem(
        500,
        ProblemCode.INTERNAL,
        "Internal error: the registry could not handle this request. Please try again later.",
    ).to_wire()
).encode()
UNAVAILABLE = json.dumps(
    Problem(
        503, ProblemCode.UNAVAILABLE, "The registry is busy right now. Please try again in a moment."
    ).to_wire()
).encode()
BAD_LENGTH = json.dumps(
    Problem(400, ProblemCode.BODY_SHAPE, "Content-Length is not a number.").to_wire()
).encode()


# On every response; the page gets the full set (CSP and more) from pages.py.
BASE_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


async def send_json(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Counts requests by route template and status; turns a crash into a plain 500."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = False

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in BASE_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if is_unavailable(exc):
                status = 503
                log.warning(
                    "database unavailable on %s %s: %s",
                    scope.get("method"),
                    _route(scope),
                    type(exc).__name__,
                )
                if not started:
                    retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
                    await send_json(send, 503, UNAVAILABLE, retry)
                return
            status = 500
            route = _route(scope)
            # The type and the code location only: an exception message may carry request data.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unexpected %s on %s %s\n%s", type(exc).__name__, scope.get("method"), route, frames)
            if not started:
                await send_json(send, 500, INTERNAL_ERROR)
        finally:
            self.metrics.requests.labels(_route(scope), scope.get("method", ""), str(status)).inc()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    return "static" if scope.get("method") == "GET" else "unmatched"


def allowed_origins(setting: str | None) -> frozenset[str]:
    """TAKEITDOWN_ALLOWED_ORIGINS as a set of `scheme://host[:port]`, lower case."""
    return frozenset(o.strip().rstrip("/").lower() for o in (setting or "").split(",") if o.strip())


def _netloc(origin: str) -> str | None:
    """The host[:port] an Origin names, or None for one that is not a URL (e.g. `http://[`)."""
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return None


def cross_site_refusal(
    headers: Mapping[str, str], extra_origins: frozenset[str]
) -> tuple[int, ProblemCode, str] | None:
    """Why a case submission must be refused as cross-site, or None.

    A page on another site can make a visitor's browser POST a `text/plain` body without asking
    (a "simple" request), so only `application/json` is read: a cross-origin JSON POST needs a
    CORS preflight, which this API never grants. A browser also names the page's origin; one
    that is not this registry's (or listed in TAKEITDOWN_ALLOWED_ORIGINS) is refused outright.
    Clients that are not browsers (the CLI, the device app) send no Origin and pass.
    """
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return (
            415,
            ProblemCode.UNSUPPORTED_MEDIA_TYPE,
            "Send the case as JSON with 'Content-Type: application/json'.",
        )
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site", "").lower()
    if origin is None and site in ("", "same-origin", "none"):
        return None
    if origin is not None and (
        _netloc(origin) == headers.get("host", "").lower() or origin.rstrip("/").lower() in extra_origins
    ):
        return None
    return (
        403,
        ProblemCode.CROSS_SITE,
        "Cases can only be submitted from the registry's own page, not from another website.",
    )


class BodyLimitMiddleware:
    """413 for a body over the limit, by Content-Length or by the bytes actually streamed; 408
    for a body that takes longer than `timeout` seconds to arrive (a slow-loris upload would
    otherwise hold a connection and its buffer forever)."""

    def __init__(self, app: Any, max_bytes: int, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    def _too_slow(self) -> bytes:
        detail = (
            f"The request body did not arrive within {self.timeout:g} seconds; "
            "check the connection and send it again."
        )
        return json.dumps(Problem(408, ProblemCode.BODY_TOO_SLOW, detail).to_wire()).encode()

    def _too_large(self) -> bytes:
        mb = self.max_bytes / (1024 * 1024)
        detail = f"Request body too large: the limit is {mb:g} MB ({self.max_bytes} bytes)."
        return json.dumps(Problem(413, ProblemCode.BODY_TOO_LARGE, detail).to_wire()).encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(send, 400, BAD_LENGTH)
                    return
                if declared > self.max_bytes:
                    await send_json(send, 413, self._too_large(), [(b"connection", b"close")])
                    return
        # Read the whole body (bounded) before the app sees it, then hand it over in one piece.
        chunks = []
        size = 0
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await send_json(send, 408, self._too_slow(), [(b"connection", b"close")])
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_json(send, 413, self._too_large(), [(b"connection", b"close")])
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
