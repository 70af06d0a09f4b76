"""Serves the submission page (the files in `web/`) at `/`, with strict security headers.

The in-browser hasher and the language mechanism are not in `web/`: the node's request form uses
them too, so they live in `takeitdown.webshared` and are served here at the same paths as
before (`/hasher.js`, `/vendor/...`). Same origin as the API, so `connect-src 'self'` is all the
page needs. The page engineer may edit the CSP line if the page truly needs more.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.staticfiles import StaticFiles

from takeitdown import webshared
from takeitdown.registry.support import load_support_links

WEB_DIR = Path(__file__).parent / "web"

CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; media-src 'self' blob: data:; worker-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class _WithHeaders:
    """Adds the security headers to every response of the wrapped ASGI app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message["headers"] = headers + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_wrapper)


class _PageFiles(StaticFiles):
    """`web/`, and the shared files (only those listed by `webshared.files()`) at their paths."""

    def __init__(self) -> None:
        super().__init__(directory=WEB_DIR, html=True, check_dir=False)
        self.shared = webshared.files()

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        shared = self.shared.get(path.replace(os.sep, "/"))
        if shared is not None:
            return str(shared), shared.stat()
        return super().lookup_path(path)


def page_config(settings: Any) -> dict[str, Any]:
    """What the page needs to know of this registry: how to split files into cases (items, body
    bytes, video frame hashes per case and per video), whom to call."""
    return {
        "max_items": settings.max_items,
        "max_body_bytes": settings.max_body_bytes,
        "max_case_frames": settings.max_case_frames,
        "max_video_frames": settings.max_video_frames,
        "support": load_support_links(getattr(settings, "support_links_file", None)),
    }


def mount_pages(app: FastAPI) -> None:
    """Mount `web/` at `/` (after the API routes, which therefore take precedence).

    `/config.json` is made once, at start (a bad support file stops the start with its reason)."""
    config = page_config(app.state.settings)

    @app.get("/config.json", include_in_schema=False)
    def _config() -> JSONResponse:
        return JSONResponse(config, headers={"Cache-Control": "no-cache"})

    app.mount("/", cast(Any, _WithHeaders(_PageFiles())), name="pages")
