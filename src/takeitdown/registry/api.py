"""The registry's HTTP API (FastAPI). `create_app(settings)` builds one app on one database."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from takeitdown.protocol import PROBLEM_SCHEMA, Problem, ProblemCode
from takeitdown.ratelimit import RateLimiter
from takeitdown.registry import keys
from takeitdown.registry.config import Settings
from takeitdown.registry.db import Database
from takeitdown.registry.idempotency import IdempotencyCache, IdempotencyConflict
from takeitdown.registry.metrics import Metrics
from takeitdown.registry.middleware import (
    BodyLimitMiddleware,
    GuardMiddleware,
    allowed_origins,
    cross_site_refusal,
)
from takeitdown.registry.pages import mount_pages
from takeitdown.registry.publisher import Publisher
from takeitdown.registry.store import Platform, Store
from takeitdown.registry.validation import BadRequest, FrameCaps, case_frames, case_pairs, parse_items
from takeitdown.registry.writer import CaseWriter

log = logging.getLogger("takeitdown.registry")

NO_CASE = "No case with that number and secret."
NO_STORE = {"Cache-Control": "no-store"}
CASE_DEFS = "#/paths/~1v1~1cases/post/requestBody/content/application~1json/schema/$defs/{model}"


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description='"image" or "video"')
    hashes: list[Any] = Field(description="wire-format hash objects (pdq, md5, sha256, vpdq)")


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemIn]


class Rejected(BaseModel):
    index: int
    code: str = Field(description="stable code of the rule the item broke (protocol.InvalidHash codes)")
    reason: str


class CaseCreated(BaseModel):
    case_id: str
    case_secret: str
    items_accepted: int
    rejected: list[Rejected]


class Outcomes(BaseModel):
    match_found: int
    removed: int
    upload_blocked: int
    false_positive: int


class CaseStatus(BaseModel):
    case_id: str
    status: Literal["active", "withdrawn"]
    items: int
    platforms_received: int
    outcomes: Outcomes
    under_review: bool = Field(
        description="platform reviewers disputed one of its hashes: it is off the lists until checked"
    )


class FeedEntry(BaseModel):
    seq: int
    op: Literal["add", "remove", "state"]
    type: Literal["pdq", "md5", "vpdq", "pdq80", "pdq70"]
    value: str
    quality: int | None
    entry_id: int
    frames: list[dict[str, Any]] | None
    trust: Literal["unconfirmed", "confirmed", "quarantined"] | None = Field(
        None, description="on add and state entries (protocol.TrustState)"
    )


class FeedPage(BaseModel):
    entries: list[FeedEntry]
    next: int
    more: bool
    epoch: str = Field(description="this registry's life; a new one after a reset or restore")
    base: str = Field(description="running hash of the feed up to `after` (protocol.chain_next)")
    head: str = Field(description="running hash of the feed up to `next`")


class ReportsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reports: list[Any] = Field(
        description='objects {"report_id", "entry_id", "outcome", "content_ref", "reviewed"}'
    )


class ReportsOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejected]


class ProblemBody(BaseModel):
    """The error body of every endpoint (protocol.Problem)."""

    model_config = ConfigDict(json_schema_extra=PROBLEM_SCHEMA)
    code: str
    detail: str


def _error(
    status: int,
    code: ProblemCode,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(Problem(status, code, detail, extra).to_wire(), status_code=status, headers=headers)


_HTTP_CODES = {
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    413: ProblemCode.BODY_TOO_LARGE,
    415: ProblemCode.UNSUPPORTED_MEDIA_TYPE,
    429: ProblemCode.RATE_LIMITED,
    503: ProblemCode.UNAVAILABLE,
}


def _readable(exc: RequestValidationError) -> tuple[int, ProblemCode, str]:
    """One plain sentence per problem instead of pydantic's list of dicts."""
    parts = []
    status = 422
    code = ProblemCode.BODY_SHAPE
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body",)) or "body"
        kind = err.get("type", "")
        if where == "body" and kind in ("model_attributes_type", "dict_type", "model_type"):
            parts.append(
                'The request body must be a JSON object such as {"items": [...]}, sent with '
                "Content-Type: application/json."
            )
        elif kind == "json_invalid":
            status = 400
            code = ProblemCode.BODY_NOT_JSON
            parts.append(
                f"The request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})."
            )
        elif kind == "extra_forbidden":
            code = ProblemCode.BODY_UNKNOWN_FIELD
            parts.append(f"Unknown field {where!r}.")
        elif kind == "missing":
            code = ProblemCode.QUERY_INVALID if where.startswith("query.") else ProblemCode.BODY_MISSING_FIELD
            parts.append(f"Missing {where!r}.")
        elif where.startswith("query."):
            code = ProblemCode.QUERY_INVALID
            parts.append(f"Query parameter {where[6:]!r}: {err.get('msg', 'invalid')}.")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}.")
    if len(exc.errors()) > 5:
        parts.append(f"({len(exc.errors()) - 5} more problems.)")
    return status, code, " ".join(parts) or "The request is not valid."


class _NamedRoute(Route):
    """A Starlette route that, like FastAPI's, leaves itself in the scope (for the metrics label)."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        match, child = super().matches(scope)
        if match != Match.NONE:
            child["route"] = self
        return match, child


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    db = Database(settings.database_url, background_checkpoints=True)
    db.migrate()
    store = Store(
        db,
        publish_at_once=settings.publish_interval == 0,
        quarantine_disputes=settings.quarantine_disputes,
        feed_max_bytes=settings.feed_max_bytes,
        require_content_ref=settings.require_content_ref,
    )
    writer = CaseWriter(store, threads=1 if db.is_sqlite else 4)
    publisher = Publisher(store, settings.publish_interval) if settings.publish_interval > 0 else None
    metrics = Metrics()
    limiter = RateLimiter(settings.case_rate_per_minute, settings.case_burst)
    report_limiter = RateLimiter(settings.report_rate_per_minute, settings.report_burst)
    idem = IdempotencyCache(ttl_seconds=settings.idempotency_ttl_seconds)
    origins = allowed_origins(settings.allowed_origins)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()
        if publisher is not None:
            publisher.stop()
        db.dispose()

    app = FastAPI(
        title="Take It Down registry",
        version="1",
        description="Anonymous cases of hashes, an authenticated gap-free hash feed for platforms, "
        "outcome reports. See docs/api.md.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load scripts from a CDN: not on the person's origin. The OpenAPI
        # document itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.metrics = metrics

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, detail = _readable(exc)
        return _error(status, code, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, ProblemCode.BODY_SHAPE)
        return _error(
            exc.status_code, code, str(exc.detail), headers=dict(exc.headers) if exc.headers else None
        )

    def platform_or_401(authorization: str | None) -> Platform | JSONResponse:
        token = keys.bearer_token(authorization)
        if token is None:
            metrics.auth_failures.inc()
            return _error(
                401,
                ProblemCode.AUTH_MISSING,
                "Send your platform API key as 'Authorization: Bearer <key>'.",
                {"WWW-Authenticate": "Bearer"},
            )
        platform = store.authenticate(token)
        if platform is None:
            metrics.auth_failures.inc()
            return _error(
                401,
                ProblemCode.AUTH_INVALID,
                "That API key is not valid (unknown, rotated or revoked).",
                {"WWW-Authenticate": "Bearer"},
            )
        return platform

    # -- cases ----------------------------------------------------------------------------

    @app.post(
        "/v1/cases",
        status_code=201,
        response_model=CaseCreated,
        responses={
            400: {"model": ProblemBody},
            413: {"model": ProblemBody},
            422: {"model": ProblemBody},
            429: {"model": ProblemBody},
        },
        summary="Submit a case: the hashes of one or more images or videos",
        openapi_extra={
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": "a retry with the same key returns the same case (kept 24 h in memory)",
                }
            ],
            "requestBody": {
                "required": True,
                # refs must resolve from the document root, where pydantic's "#/$defs/.." do not
                "content": {"application/json": {"schema": CaseIn.model_json_schema(ref_template=CASE_DEFS)}},
            },
        },
    )
    async def create_case(request: Request) -> Any:
        # Body and header read by hand (documented through openapi_extra): this is the hot path.
        refused = cross_site_refusal(request.headers, origins)
        if refused is not None:
            return _error(*refused)
        idempotency_key = request.headers.get("idempotency-key")
        raw = await request.body()
        try:
            # A large body (long videos) is parsed off the event loop: /healthz and the feed
            # keep answering meanwhile.
            data = json.loads(raw) if len(raw) < 64 * 1024 else await run_in_threadpool(json.loads, raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # Recursion: nested too deep
            return _error(
                400,
                ProblemCode.BODY_NOT_JSON,
                f"The request body is not valid JSON ({getattr(exc, 'msg', 'cannot decode')}).",
            )
        try:
            pairs = case_pairs(data)
        except BadRequest as exc:
            return _error(422, exc.code, str(exc))
        if not pairs:
            return _error(422, ProblemCode.CASE_NO_ITEMS, "A case needs at least one item in 'items'.")
        if len(pairs) > settings.max_items:
            return _error(
                422,
                ProblemCode.CASE_TOO_MANY_ITEMS,
                f"A case may hold at most {settings.max_items} items; got {len(pairs)}. "
                "Split it into several cases.",
                max_items=settings.max_items,
            )
        if idempotency_key is None:
            return await _create(pairs, request)
        if not 1 <= len(idempotency_key) <= 200:
            return _error(
                400, ProblemCode.IDEMPOTENCY_KEY_INVALID, "Idempotency-Key must be 1 to 200 characters."
            )
        key = idem.key(idempotency_key)
        body_hash = hashlib.sha256(raw).digest()
        async with idem.lock_for(key):
            try:
                hit = idem.get(key, body_hash)
            except IdempotencyConflict:
                return _error(
                    422,
                    ProblemCode.IDEMPOTENCY_CONFLICT,
                    "This Idempotency-Key was already used for a different submission.",
                )
            if hit is not None:
                return JSONResponse(hit, status_code=201, headers=NO_STORE)
            response = await _create(pairs, request)
            if response.status_code == 201:
                idem.put(key, body_hash, response.body_json)  # type: ignore[attr-defined]
            return response

    async def _create(pairs: list[tuple[object, list[Any]]], request: Request) -> JSONResponse:
        # The address is used for this check only: hashed with a per-process salt, kept in memory.
        if not limiter.allow(request.client.host if request.client else None):
            metrics.rate_limited.inc()
            return _error(
                429,
                ProblemCode.RATE_LIMITED,
                "Too many cases from this connection. Please wait a minute and try again.",
                {"Retry-After": "60"},
            )
        caps = FrameCaps(settings.max_video_frames, settings.max_case_frames)
        frames = case_frames(pairs)
        if frames > caps.per_case:
            return _error(
                422,
                ProblemCode.CASE_TOO_MANY_FRAMES,
                f"A case may carry at most {caps.per_case} video frame hashes in all; got {frames}. "
                "Split it into several cases.",
                max_case_frames=caps.per_case,
            )
        if sum(len(h) for _, h in pairs) > 50 or frames > 100:
            parsed = await run_in_threadpool(parse_items, pairs, caps.per_video)
        else:
            parsed = parse_items(pairs, caps.per_video)
        metrics.items_rejected.inc(len(parsed.rejected))
        if parsed.items == 0:
            reasons = "; ".join(f"item {r['index']}: {r['reason']}" for r in parsed.rejected[:5])
            return _error(
                422,
                ProblemCode.CASE_NOTHING_ACCEPTED,
                f"None of the items could be accepted ({reasons}).",
                rejected=parsed.rejected,
            )
        case_id, secret = await writer.submit(parsed)
        metrics.cases_created.inc()
        out = {
            "case_id": case_id,
            "case_secret": secret,
            "items_accepted": parsed.items,
            "rejected": parsed.rejected,
        }
        response = JSONResponse(out, status_code=201, headers=NO_STORE)
        response.body_json = out  # type: ignore[attr-defined]
        return response

    def _case_secret(authorization: str | None) -> str | JSONResponse:
        token = keys.bearer_token(authorization)
        if token is None:
            return _error(
                401,
                ProblemCode.AUTH_MISSING,
                "Send the case secret as 'Authorization: Bearer <case_secret>'.",
                {"WWW-Authenticate": "Bearer"},
            )
        return token

    @app.get(
        "/v1/cases/{case_id}",
        response_model=CaseStatus,
        responses={401: {"model": ProblemBody}, 404: {"model": ProblemBody}},
        summary="Status of a case (needs its secret)",
    )
    def case_status(case_id: str, authorization: str | None = Header(None)) -> Any:
        secret = _case_secret(authorization)
        if isinstance(secret, JSONResponse):
            return secret
        status = store.case_status(case_id, secret)
        if status is None:
            return _error(404, ProblemCode.CASE_NOT_FOUND, NO_CASE, NO_STORE)
        return JSONResponse(status, headers=NO_STORE)

    @app.delete(
        "/v1/cases/{case_id}",
        response_model=CaseStatus,
        responses={401: {"model": ProblemBody}, 404: {"model": ProblemBody}},
        summary="Withdraw a case (needs its secret): its hashes leave the feed unless another case has them",
    )
    def withdraw_case(case_id: str, authorization: str | None = Header(None)) -> Any:
        secret = _case_secret(authorization)
        if isinstance(secret, JSONResponse):
            return secret
        before = store.case_status(case_id, secret)
        status = store.withdraw(case_id, secret)
        if status is None:
            return _error(404, ProblemCode.CASE_NOT_FOUND, NO_CASE, NO_STORE)
        if before is not None and before["status"] == "active":
            metrics.cases_withdrawn.inc()
        return JSONResponse(status, headers=NO_STORE)

    # -- feed -----------------------------------------------------------------------------

    @app.get(
        "/v1/feed",
        response_model=FeedPage,
        responses={400: {"model": ProblemBody}, 401: {"model": ProblemBody}, 422: {"model": ProblemBody}},
        summary="The hash feed for platforms, in seq order; pass `next` back as `after`",
    )
    def read_feed(
        after: int = Query(0, ge=0, le=2**63 - 1, description="the cursor: the last seq you have"),
        limit: int = Query(1000, ge=1, le=settings.feed_max_limit),
        authorization: str | None = Header(None),
    ) -> Any:
        platform = platform_or_401(authorization)
        if isinstance(platform, JSONResponse):
            return platform
        page = store.read_page(after, limit)
        if page.base is None:
            last = store.last_seq()
            return _error(
                400,
                ProblemCode.FEED_CURSOR_PAST_END,
                f"The cursor {after} is past the end of the feed (last seq {last}). The registry was "
                "reset or restored from a backup: start again from after=0.",
                epoch=page.epoch,
            )
        if page.next > platform.cursor:
            store.mark_received(platform.id, page.next)
        metrics.feed_reads.labels(platform.name).inc()
        metrics.feed_entries.labels(platform.name).inc(len(page.lines))
        body = (
            '{"entries":['
            + ",".join(page.lines)
            + f'],"next":{page.next},"more":{"true" if page.more else "false"},'
            f'"epoch":"{page.epoch}","base":"{page.base}","head":"{page.head}"}}'
        )
        return Response(body.encode(), media_type="application/json", headers=NO_STORE)

    # -- reports --------------------------------------------------------------------------

    @app.post(
        "/v1/reports",
        response_model=ReportsOut,
        responses={code: {"model": ProblemBody} for code in (400, 401, 413, 422)},
        summary="Report outcomes for feed entries (idempotent per report_id)",
    )
    def post_reports(body: ReportsIn, authorization: str | None = Header(None)) -> Any:
        platform = platform_or_401(authorization)
        if isinstance(platform, JSONResponse):
            return platform
        if len(body.reports) > settings.max_reports:
            return _error(
                422,
                ProblemCode.REPORTS_TOO_MANY,
                f"At most {settings.max_reports} reports a batch; got {len(body.reports)}.",
            )
        wait = report_limiter.wait_for(str(platform.id), len(body.reports))
        if wait > 0:
            metrics.rate_limited.inc()
            return _error(
                429,
                ProblemCode.REPORTS_RATE_LIMITED,
                f"Too many reports from this platform: send these again in {math.ceil(wait)} seconds.",
                {"Retry-After": str(math.ceil(wait))},
            )
        result, by_outcome = store.add_reports(platform, body.reports)
        for outcome, n in by_outcome.items():
            metrics.reports.labels(outcome).inc(n)
        metrics.report_duplicates.inc(result["duplicates"])
        return result

    # -- operations -----------------------------------------------------------------------

    @app.get("/livez", summary="Liveness: the process answers (no database check)")
    def livez() -> Any:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: the database answers")
    @app.get("/healthz", summary="Readiness (the older name of /readyz)")
    def healthz() -> Any:
        try:
            with db.read() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            return _error(
                503, ProblemCode.UNAVAILABLE, "The database is not reachable.", {"Retry-After": "5"}
            )
        return {"status": "ok"}

    @app.get(
        "/metrics",
        summary="Prometheus metrics (operator token)",
        response_class=Response,
        responses={401: {"model": ProblemBody}, 404: {"model": ProblemBody}},
    )
    def prometheus(authorization: str | None = Header(None)) -> Response:
        # Counts to the second would let a platform time a case: the operator's eyes only.
        token = keys.bearer_token(authorization)
        if settings.metrics_token is None:
            return _error(
                404, ProblemCode.NOT_FOUND, "Metrics are off: set TAKEITDOWN_METRICS_TOKEN to read them."
            )
        if token is None or not hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
            return _error(
                401,
                ProblemCode.AUTH_INVALID if token else ProblemCode.AUTH_MISSING,
                "Send the operator's metrics token as 'Authorization: Bearer <token>'.",
                {"WWW-Authenticate": "Bearer"},
            )
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # The hot path: the same handler, served by a plain Starlette route placed first, which
    # skips FastAPI's per-request dependency solving (about a quarter of a submission's CPU).
    # The FastAPI route above stays for the OpenAPI documentation.
    app.router.routes.insert(
        0, _NamedRoute("/v1/cases", create_case, methods=["POST"], include_in_schema=False)
    )
    mount_pages(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout)
    app.add_middleware(GuardMiddleware, metrics=metrics)
    return app
