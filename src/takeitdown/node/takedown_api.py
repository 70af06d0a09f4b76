"""HTTP for the TAKE IT DOWN desk: the public form and request API, and the desk's own API.

Public (no token, like the form itself): `GET /takedown`, `POST /v1/takedown-requests`
(application/json only, same-origin only, rate limited), `GET /v1/takedown-requests/{id}` and
`POST /v1/takedown-requests/{id}/information` with the request secret as Bearer. Everything
under `/v1/desk/` needs the node's admin token or a desk or admin user (token or console session;
the auth middleware in api.py signs them in, `_desk_user` checks the role): reviewers do not see
requesters' names and contacts. The audit log names the signed-in person, never a name the body
claims (the admin token, a machine, is `admin-token`).
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from takeitdown import webshared
from takeitdown.node.takedown import Desk, RequestError, case_items, parse_request
from takeitdown.protocol import Problem, ProblemCode
from takeitdown.ratelimit import RateLimiter

log = logging.getLogger("takeitdown.node.takedown")

WEB = Path(__file__).parent / "web"
PUBLIC_PREFIXES = ("/takedown", "/v1/takedown-requests")
MAX_BODY = 256 * 1024
NO_STORE = {"Cache-Control": "no-store"}
# The form hashes the picked image in the browser with the submission page's own hasher
# (takeitdown.webshared): its worker, MD5 WebAssembly and a video played from a blob: URL need
# what webshared.CSP_NEEDS lists, and no more than that is allowed.
PAGE_CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; style-src 'self'; "
    "connect-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# the page names its icon, or the browser asks for /favicon.ico and gets the API's 401
OWN_ASSETS = {"takedown.js": "text/javascript", "takedown.css": "text/css", "favicon.svg": "image/svg+xml"}


def form_assets() -> dict[str, tuple[Path, str]]:
    """Every file the form may load, by its path under /takedown/: its own script, style, icon and
    language tables, and the shared hasher and language modules (the same paths as on the
    submission page, relative to the page). Nothing else is served there."""
    assets = {name: (WEB / name, media) for name, media in OWN_ASSETS.items()}
    assets |= {f"i18n/{p.name}": (p, "application/json") for p in sorted((WEB / "i18n").glob("*.json"))}
    assets |= {name: (path, "text/javascript") for name, path in webshared.files().items()}
    return assets


def is_public(path: str) -> bool:
    return path == "/takedown" or path.startswith(("/takedown/", "/v1/takedown-requests"))


def _error(
    status: int, code: ProblemCode | str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(Problem(status, code, detail, extra).to_wire(), status_code=status, headers=headers)


def _refused(e: RequestError) -> JSONResponse:
    code = e.code or {
        404: ProblemCode.NOT_FOUND,
        409: ProblemCode.REVIEW_CONFLICT,
        413: ProblemCode.BODY_TOO_LARGE,
        503: ProblemCode.UNAVAILABLE,
    }.get(e.status, ProblemCode.TAKEDOWN_INCOMPLETE if e.missing else ProblemCode.BODY_SHAPE)
    extra = {"missing": e.missing} if e.missing else {}
    return _error(e.status, code, str(e), NO_STORE, **extra)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _json_body(request: Request) -> Any:
    """The JSON body, read at most MAX_BODY bytes: a larger one is refused before it is all in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestError("The request is too large.", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestError("The request is too large.", status=413)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise RequestError("The body is not valid JSON.", status=400) from None


def _desk_user(request: Request) -> tuple[str | None, JSONResponse | None]:
    """Who acts at the desk, or a 403: the admin token (a machine: `admin-token`, or the person its
    tool names as `"actor"`, marked as such), or a user whose role handles legal requests."""
    user = request.state.user
    if user is None:
        return "admin-token", None
    if not user.handles_legal_requests:
        return None, _error(
            403,
            ProblemCode.FORBIDDEN,
            "Only desk users (role desk or admin) can see or act on legal takedown requests.",
            NO_STORE,
        )
    return str(user.name), None


def _actor(request: Request, data: dict[str, Any], signed_in: str) -> str:
    named = data.get("actor")
    if (
        request.state.user is None
        and isinstance(named, str)
        and 0 < len(named) <= 128
        and named.isprintable()
    ):
        return f"{named} (admin token)"  # the platform's own tool names the person it authenticated
    return signed_in


def render_form(platform_name: str | None, notice: str | None) -> str:
    """The form with the platform's name and its own notice (plain text, escaped: no markup). The
    English text carries the name; `data-platform` hands it to the other languages' tables (empty:
    each table says "this platform" in its own words)."""
    page = (WEB / "takedown.html").read_text(encoding="utf-8")
    given = platform_name.strip() if platform_name else ""
    name = html.escape(given) if given else "this platform"
    told = notice.strip() if notice else ""
    extra = f'<p class="notice" dir="auto">{html.escape(told)}</p>' if told else ""
    page = page.replace('data-platform="{{platform}}"', f'data-platform="{html.escape(given)}"')
    return page.replace("{{platform}}", name).replace("{{notice}}", extra)


def mount_takedown(
    app: FastAPI,
    desk: Desk,
    registry: httpx.Client | None,
    rate_per_minute: float = 6,
    burst: int = 10,
    platform_name: str | None = None,
    notice: str | None = None,
) -> None:
    limiter = RateLimiter(rate_per_minute, burst)
    page = render_form(platform_name, notice)
    assets = form_assets()

    def same_origin(request: Request) -> bool:
        """Cross-site request forgery: a browser always says where a POST comes from."""
        origin = request.headers.get("origin")
        return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"

    @app.get("/takedown", include_in_schema=False)
    def form() -> HTMLResponse:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @app.get("/takedown/{name:path}", include_in_schema=False)
    def asset(name: str) -> Any:
        if name not in assets:
            return _error(404, ProblemCode.NOT_FOUND, "Not found.")
        path, media_type = assets[name]
        return FileResponse(path, media_type=media_type, headers=PAGE_HEADERS)

    @app.post("/v1/takedown-requests", status_code=201, summary="A TAKE IT DOWN Act removal request (public)")
    async def create(request: Request) -> Any:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _error(415, ProblemCode.UNSUPPORTED_MEDIA_TYPE, "Send the request as application/json.")
        if not same_origin(request):
            return _error(403, ProblemCode.CROSS_SITE, "Requests must come from this platform's own form.")
        # The address only picks a rate-limit bucket (salted hash, memory only); it is never stored.
        if not limiter.allow(request.client.host if request.client else None):
            return _error(
                429,
                ProblemCode.RATE_LIMITED,
                "Too many requests. Please wait a minute.",
                {"Retry-After": "60"},
            )
        try:
            new = parse_request(await _json_body(request))
            receipt = await run_in_threadpool(desk.submit, new)
        except RequestError as e:
            return _refused(e)
        if new.share_consent and new.hashes and registry is not None:
            receipt["registry_case"] = await run_in_threadpool(
                _share, desk, registry, receipt["request_id"], new
            )
        return JSONResponse(receipt, status_code=201, headers=NO_STORE)

    @app.get("/v1/takedown-requests/{request_id}", summary="A request's state, for its requester (secret)")
    def status(request_id: str, request: Request) -> Any:
        secret = _bearer(request)
        found = desk.status(request_id, secret) if secret else None
        if found is None:
            return _error(404, ProblemCode.NOT_FOUND, "No request with that number and secret.", NO_STORE)
        return JSONResponse(found, headers=NO_STORE)

    @app.post(
        "/v1/takedown-requests/{request_id}/information", summary="The requester adds what the desk asked for"
    )
    async def information(request_id: str, request: Request) -> Any:
        if not same_origin(request):
            return _error(403, ProblemCode.CROSS_SITE, "Requests must come from this platform's own form.")
        secret = _bearer(request)
        try:
            data = await _json_body(request)
            content = data.get("content") if isinstance(data, dict) else None
            note = data.get("note") if isinstance(data, dict) else None
            if not isinstance(content, list) or not all(isinstance(c, str) for c in content):
                content = []
            ok = secret is not None and await run_in_threadpool(
                desk.add_information, request_id, secret, content, note if isinstance(note, str) else None
            )
        except RequestError as e:
            return _refused(e)
        if not ok:
            return _error(404, ProblemCode.NOT_FOUND, "No request with that number and secret.", NO_STORE)
        return JSONResponse(desk.status(request_id, str(secret)), headers=NO_STORE)

    # -- the desk (admin token, or a desk or admin user) ------------------------------------------
    @app.get("/v1/desk/requests", summary="Open requests by deadline")
    def queue(request: Request) -> Any:
        _, refused = _desk_user(request)
        if refused is not None:
            return refused
        return JSONResponse({"requests": desk.queue()}, headers=NO_STORE)

    @app.get("/v1/desk/requests/{request_id}", summary="One request, with its personal data (desk only)")
    def detail(request_id: str, request: Request, personal: bool = True) -> Any:
        actor, refused = _desk_user(request)
        if refused is not None:
            return refused
        try:
            found = desk.detail(request_id, with_personal_data=personal)
        except RequestError as e:
            return _refused(e)
        if found is None:
            return _error(404, ProblemCode.NOT_FOUND, "No such request.")
        if personal:  # who saw a requester's name and contact is part of the record
            desk.record(str(actor), "takedown.viewed", request_id, None, None)
        return JSONResponse(found, headers=NO_STORE)

    @app.post(
        "/v1/desk/requests/{request_id}/{action}",
        summary="validate | incomplete | decline | remove | confirm | keep",
    )
    async def act(request_id: str, action: str, request: Request) -> Any:
        signed_in, refused = _desk_user(request)
        if refused is not None:
            return refused
        try:
            data = await _json_body(request)
            if not isinstance(data, dict):
                raise RequestError("Send a JSON object.")
            actor = _actor(request, data, str(signed_in))
            reason = str(data.get("reason") or "")
            if action == "validate":
                await run_in_threadpool(desk.validate, request_id, actor)
            elif action == "incomplete":
                await run_in_threadpool(desk.mark_incomplete, request_id, reason, actor)
            elif action == "decline":
                await run_in_threadpool(desk.decline, request_id, reason, actor)
            elif action == "remove":
                return await run_in_threadpool(desk.remove, request_id, actor)
            elif action == "confirm":
                refs = data.get("refs")
                if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                    raise RequestError('Send {"refs": [...]}: the items the platform has removed.')
                return await run_in_threadpool(desk.confirm_removed, request_id, refs, None, actor)
            elif action == "keep":
                await run_in_threadpool(desk.keep_copy, request_id, str(data.get("ref") or ""), reason, actor)
            else:
                return _error(404, ProblemCode.NOT_FOUND, f"No desk action {action!r}.")
            return await run_in_threadpool(desk.detail, request_id, False)
        except RequestError as e:
            return _refused(e)


def _share(desk: Desk, registry: httpx.Client, request_id: str, new: Any) -> dict[str, Any]:
    """With the requester's explicit consent (a minor's image), the hashes alone go to the registry
    as a case, so other platforms can act too. Never the name, contact, statement or links."""
    items = case_items([h.to_json() for h in new.hashes])
    if not items:
        return {"shared": False, "why": "no hashes of a kind the registry takes"}
    try:
        r = registry.post(
            "/v1/cases", json={"items": items}, headers={"Idempotency-Key": f"takedown-{request_id}"}
        )
    except httpx.HTTPError as e:
        log.warning("sharing takedown %s with the registry failed: %s", request_id, type(e).__name__)
        return {"shared": False, "why": "the registry could not be reached; the platform will act on its own"}
    if r.status_code != 201:
        data = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
        return {
            "shared": False,
            "why": f"the registry refused the hashes ({Problem.parse(r.status_code, data).code})",
        }
    body = r.json()
    desk.mark_shared(request_id, body["case_id"])
    return {"shared": True, "case_id": body["case_id"], "case_secret": body["case_secret"]}
