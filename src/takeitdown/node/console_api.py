"""The console's routes on the node's app: the static page at /console/, sign-in, the queue, reveals,
the audit log, accounts and dead letters.

Sign-in sets an HttpOnly, SameSite=Strict cookie (Secure over https); every call that changes
something with that cookie must carry the session's CSRF token in `X-CSRF-Token`. The page is
plain HTML, CSS and JS from node/web/ under a strict Content Security Policy: nothing loads from
anywhere but the node, except the content images from the platform's own origin
(TAKEITDOWN_NODE_CONTENT_URL), which the reviewer's browser loads itself.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from takeitdown.node.store import ReviewError
from takeitdown.node.users import SignInError, UserError
from takeitdown.protocol import Problem, ProblemCode

WEB = Path(__file__).parent / "web"
COOKIE = "tid_session"
STATIC = {"index.html", "console.js", "console.css", "favicon.svg", "desk.js"}
OPEN_PREFIXES = ("/console",)
OPEN_API = {"/v1/console/signin"}


def is_open_console_path(path: str) -> bool:
    return path in OPEN_API or path == "/console" or path.startswith("/console/")


def _error(status: int, code: ProblemCode, detail: str) -> JSONResponse:
    return JSONResponse(Problem(status, code, detail).to_wire(), status_code=status)


def session_user(node: Any, request: Request) -> JSONResponse | None:
    """Authenticate by the session cookie (sets request.state.user); a problem if CSRF fails."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    session = node.users.session(cookie)
    if session is None:
        return None
    if request.method not in ("GET", "HEAD"):
        given = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(given.encode(), session.csrf.encode()):
            return _error(403, ProblemCode.CSRF_INVALID, "The console's CSRF token is missing or wrong.")
    request.state.user = session.user
    request.state.session = session
    return None


def _csp(content_url: str | None) -> str:
    img = "'self'"
    if content_url and content_url.startswith(("http://", "https://")):
        parts = urlsplit(content_url.replace("{ref}", "x"))
        img += f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; media-src {img}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


async def _json_body(request: Request, limit: int = 16 * 1024) -> dict[str, Any]:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            return {}
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def mount_console(app: FastAPI, node: Any) -> None:
    content_url: str | None = node.settings.console.get("content_url")
    csp = _csp(content_url)

    def person(request: Request) -> str:
        user = request.state.user
        return user.name if user is not None else "admin-token"

    def is_admin(request: Request) -> bool:
        user = request.state.user
        return user is None or user.is_admin  # the admin token is the platform's own machine

    def forbidden() -> JSONResponse:
        return _error(403, ProblemCode.FORBIDDEN, "Only an admin can do this.")

    # -- the page ----------------------------------------------------------------------------------
    @app.get("/console", include_in_schema=False)
    def console_root() -> Response:
        return RedirectResponse("/console/", status_code=308)

    @app.get("/console/", include_in_schema=False)
    @app.get("/console/{name}", include_in_schema=False)
    def console_file(name: str = "index.html") -> Response:
        if name not in STATIC:
            return _error(404, ProblemCode.NOT_FOUND, "No such console file.")
        return FileResponse(
            WEB / name,
            headers={
                "Content-Security-Policy": csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
            },
        )

    # -- sign-in ----------------------------------------------------------------------------------------
    @app.post("/v1/console/signin", include_in_schema=False)
    async def signin(request: Request) -> Response:
        body = await _json_body(request)
        name, secret = body.get("name"), body.get("secret")
        if not isinstance(name, str) or not isinstance(secret, str) or len(secret) > 200:
            return _error(400, ProblemCode.BODY_SHAPE, 'Send {"name": ..., "secret": ...}.')
        try:
            user = await run_in_threadpool(node.users.check, name, secret)
        except SignInError as e:
            await run_in_threadpool(
                node.audit.append, name[:64], "signin", None, "locked" if e.locked else "failed"
            )
            code = ProblemCode.SIGNIN_LOCKED if e.locked else ProblemCode.SIGNIN_FAILED
            return _error(429 if e.locked else 401, code, e.detail)
        cookie, session = await run_in_threadpool(node.users.open_session, user)
        await run_in_threadpool(node.audit.append, user.name, "signin", None, "signed in")
        resp = JSONResponse({"name": user.name, "role": user.role, "csrf": session.csrf})
        resp.set_cookie(
            COOKIE,
            cookie,
            max_age=int(node.users.session_minutes * 60),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return resp

    @app.post("/v1/console/signout", include_in_schema=False)
    def signout(request: Request) -> Response:
        cookie = request.cookies.get(COOKIE)
        if cookie:
            node.users.close_session(cookie)
        resp = JSONResponse({"signed_out": True})
        resp.delete_cookie(COOKIE, path="/")
        return resp

    @app.get("/v1/console/me", include_in_schema=False)
    def me(request: Request) -> Any:
        user = request.state.user
        session = getattr(request.state, "session", None)
        return {
            "name": user.name if user else "admin-token",
            "role": user.role if user else "admin",
            "csrf": session.csrf if session else None,
            "expires_at": session.expires_at.isoformat() if session else None,
            "content_url": content_url,
        }

    # -- the queue ------------------------------------------------------------------------------------
    @app.get("/v1/console/queue")
    def queue(
        status: str = "open", source: str | None = None, trust: str | None = None, limit: int = 100
    ) -> Any:
        if status not in ("open", "pending", "escalated", "removed", "not_a_match", "withdrawn", "all"):
            return _error(
                400,
                ProblemCode.QUERY_INVALID,
                "status is open, pending, escalated, removed, not_a_match, withdrawn or all",
            )
        if source not in (None, "", "upload", "scan", "retro", "takedown"):
            return _error(400, ProblemCode.QUERY_INVALID, "source is upload, scan, retro or takedown")
        if not 1 <= limit <= 500:
            return _error(400, ProblemCode.QUERY_INVALID, "limit must be from 1 to 500")
        return {"items": node.desk.queue(status, source or None, trust or None, limit)}

    @app.get("/v1/console/items/{review_id}")
    def item(review_id: int) -> Any:
        try:
            return node.desk.get(review_id)
        except ReviewError as e:
            return _error(e.status, e.code, e.detail)

    @app.post("/v1/console/items/{review_id}/reveal")
    def reveal(review_id: int, request: Request) -> Any:
        try:
            it = node.desk.reveal(review_id, person(request))
        except ReviewError as e:
            return _error(e.status, e.code, e.detail)
        url = content_url.replace("{ref}", quote(it["ref"] or "", safe="")) if content_url else None
        return {"revealed": True, "url": url}

    @app.get("/v1/console/health")
    def health() -> Any:
        return node.health()

    # -- audit ------------------------------------------------------------------------------------------
    @app.get("/v1/audit")
    def audit_rows(
        request: Request,
        after: int = 0,
        limit: int = 100,
        action: str | None = None,
        actor: str | None = None,
        latest: bool = False,
    ) -> Any:
        if not is_admin(request):
            return forbidden()
        if not 1 <= limit <= 1000 or not 0 <= after < 2**63:
            return _error(400, ProblemCode.QUERY_INVALID, "limit from 1 to 1000, after from 0")
        rows = node.audit.latest(limit) if latest else node.audit.rows(after, limit, action, actor)
        return {"rows": rows}

    @app.get(
        "/v1/audit/export",
        response_class=Response,
        responses={200: {"content": {"application/x-ndjson": {}}, "description": "one JSON row a line"}},
    )
    def audit_export(request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        return StreamingResponse(
            node.audit.export_jsonl(),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )

    @app.get("/v1/audit/verify")
    def audit_verify(request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        v = node.audit.verify()
        return {"ok": v.ok, "rows": v.rows, "first_bad": v.first_bad, "problem": v.problem}

    # -- accounts ---------------------------------------------------------------------------------------
    @app.get("/v1/users")
    def users_list(request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        return {"users": node.users.list()}

    @app.post("/v1/users")
    async def users_add(request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        body = await _json_body(request)
        try:
            user, secret = await run_in_threadpool(
                node.users.add, str(body.get("name", "")), str(body.get("role", "reviewer"))
            )
        except UserError as e:
            return _error(422, ProblemCode.BODY_SHAPE, str(e))
        node.audit.append(person(request), "user", f"user:{user.name}", "account made", {"role": user.role})
        return JSONResponse({"name": user.name, "role": user.role, "secret": secret}, status_code=201)

    @app.post("/v1/users/{name}/disable")
    def users_disable(name: str, request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        try:
            node.users.set_disabled(name, True)
        except UserError as e:
            return _error(404, ProblemCode.USER_NOT_FOUND, str(e))
        node.audit.append(person(request), "user", f"user:{name}", "account disabled")
        return {"name": name, "disabled": True}

    # -- webhooks ---------------------------------------------------------------------------------------
    @app.get("/v1/webhooks/dead")
    def dead(request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        return {"events": node.events.dead_letters(), **node.events.counts()}

    @app.post("/v1/webhooks/dead/{row}/retry")
    def retry(row: int, request: Request) -> Any:
        if not is_admin(request):
            return forbidden()
        if not 0 < row < 2**63 or not node.events.requeue(row):
            return _error(404, ProblemCode.NOT_FOUND, f"No dead letter {row}.")
        node.audit.append(person(request), "webhook.retry", f"event-row:{row}")
        node.webhooks.wake()
        return {"requeued": row}
