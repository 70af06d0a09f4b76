"""The platform's TAKE IT DOWN Act desk (47 U.S.C. 223a): requests, the 48-hour clock, copies.

A request carries the law's four elements: (1) a signature (the typed full name, with the
explicit statement that typing it signs), (2) the content to find (links or content ids),
(3) a statement of good-faith belief that it is not consensual, (4) contact information. One
missing element is a 422 naming it. A complete request starts the clock at receipt: the content
must be removed within 48 hours (`DEADLINE`).

The clock rule (docs/takedown.md): until the desk validates a request (or asks for its removal),
it may mark it incomplete, saying what is missing; that says the request was not valid as
received, so the clock then runs from the requester's answer. Once validated it can never be
marked incomplete again, so the clock cannot be restarted. The compliance report measures from
receipt and shows every hour the clock stood still.

Removal is the platform's act: `remove` asks the platform (a `takedown.remove` event, through
`notify`) and the request closes only when every item is confirmed removed. The inventory of
hosted hashes is searched with the requester's hashes and with the named items' own stored
hashes: an equal MD5 is an identical copy (removed as such), a PDQ within the review distance is
a likely copy (queued for a reviewer). The hashes of what is removed go on the node's local block
list, so a re-upload is blocked. A missed deadline is recorded and never cleared (`tick`, run by
the node's background loop, also warns at 36 hours and deletes expired personal data).

Every step writes its audit row (`record`) and its event (`notify`) in the step's own transaction:
a step that fails leaves no row and sends nothing, and a step that commits is always recorded.

The name, contact, statement and the requester's answers are sealed (pii.py), never logged,
never sent on an event or to the registry, and deleted `TAKEITDOWN_NODE_PII_RETENTION_DAYS`
after the request closes (an unanswered incomplete request is closed as abandoned first).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select, update

from takeitdown.node.db import Database
from takeitdown.node.pii import PiiKeyError, Sealer
from takeitdown.node.schema import takedown_items, takedown_pii, takedown_requests
from takeitdown.protocol import (
    FEED_TYPES,
    PDQ_MATCH_THRESHOLD,
    AnyHash,
    InvalidHash,
    Md5Hash,
    PdqHash,
    parse_hash,
)

log = logging.getLogger("takeitdown.node.takedown")

DEADLINE = timedelta(hours=48)
WARN_AFTER = timedelta(hours=36)
MAX_CONTENT = 50
MAX_REF = 1024
MAX_TEXT = 4000
MAX_HASHES = 200
ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # read aloud: no 0/O, no 1/I
ID_RE = re.compile(rf"TR-[{ID_ALPHABET}]{{4}}-[{ID_ALPHABET}]{{4}}")
FIELDS = {"signature", "acting_for", "content", "statement", "contact", "hashes", "minor", "share_consent"}

# What each element is called when it is missing, in words a person understands.
ELEMENTS = {
    "signature": "your signature: type your full name",
    "content": "where the image is: at least one link or content id",
    "statement": "a short statement that you believe in good faith the image was shared without consent",
    "contact": "how we can reach you: an email address or a phone number",
    "acting_for": "whether you are the person in the image or act for them",
}

STATE_WORDS = {
    "valid": "We have your request and are working on it.",
    "incomplete": "We need more information from you before we can act.",
    "removing": "We are removing the content.",
    "closed": "Done: the content you told us about has been removed.",
    "declined": "We could not act on this request.",
    "abandoned": "We closed this request because we did not hear back from you. You can send a new one "
    "at any time.",
}
OPEN_STATES = ("valid", "incomplete", "removing")
CLOCK_STATES = ("valid", "removing")  # the 48 hours are running


class RequestError(ValueError):
    """A request the desk refuses; `missing` names absent elements (422), `status` the reply."""

    def __init__(
        self, detail: str, missing: list[str] | None = None, status: int = 422, code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.missing = missing or []
        self.status = status
        self.code = code  # a ProblemCode value when the status alone does not say it


def unreadable(why: str) -> RequestError:
    """The sealed personal data cannot be opened here: the operator's key problem, not the caller's."""
    return RequestError(
        f"This request's personal data cannot be read: {why}. Set TAKEITDOWN_NODE_PII_KEY to the key it was "
        "sealed with (the request itself: add ?personal=false).",
        status=503,
        code="takedown.pii_unreadable",
    )


def now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone columns; they were stored in UTC."""
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _iso(t: datetime | None) -> str | None:
    t = _aware(t)
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _new_id() -> str:
    chars = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
    return f"TR-{chars[:4]}-{chars[4:]}"


def _hash_secret(secret: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    salt = salt or secrets.token_bytes(16)  # the secret is 160 random bits: a salted SHA-256 is enough
    return salt, hashlib.sha256(salt + secret.encode()).digest()


def _text(data: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name} must be text")
    value = value.replace("\x00", "").strip()
    if len(value) > limit:
        raise RequestError(f"{name} may be at most {limit} characters")
    return value or None


@dataclass(frozen=True)
class NewRequest:
    signature: str
    acting_for: str
    content: list[str]
    statement: str
    contact: str
    hashes: list[AnyHash]
    minor: bool | None
    share_consent: bool


def parse_request(data: object) -> NewRequest:
    """The four elements checked; every missing one named at once, in plain words."""
    if not isinstance(data, dict):
        raise RequestError("Send the request as a JSON object.")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise RequestError(f"Unknown field {unknown[0]!r}.")
    signature = _text(data, "signature", 200)
    statement = _text(data, "statement")
    contact = _text(data, "contact", 200)
    acting_for = data.get("acting_for")
    raw_content = data.get("content") or []
    if isinstance(raw_content, str):
        raw_content = [raw_content]
    if not isinstance(raw_content, list) or not all(isinstance(c, str) for c in raw_content):
        raise RequestError("content must be a list of links or content ids")
    content = [c.replace("\x00", "").strip() for c in raw_content if c.strip()]
    missing = [
        name
        for name, value in (
            ("signature", signature),
            ("content", content),
            ("statement", statement),
            ("contact", contact),
            ("acting_for", acting_for if acting_for in ("self", "authorized") else None),
        )
        if not value
    ]
    if missing:
        raise RequestError(
            "Your request is missing: " + "; ".join(ELEMENTS[m] for m in missing) + ".", missing
        )
    if len(content) > MAX_CONTENT or any(len(c) > MAX_REF for c in content):
        raise RequestError(f"Name at most {MAX_CONTENT} items, each at most {MAX_REF} characters.")
    raw_hashes = data.get("hashes") or []
    if not isinstance(raw_hashes, list) or len(raw_hashes) > MAX_HASHES:
        raise RequestError(f"hashes must be a list of at most {MAX_HASHES} hash objects")
    try:
        hashes = [parse_hash(h) for h in raw_hashes]
    except InvalidHash as exc:
        raise RequestError(f"A hash is not valid: {exc}") from None
    minor = data.get("minor")
    if minor is not None and not isinstance(minor, bool):
        raise RequestError("minor must be true or false")
    consent = data.get("share_consent", False)
    if not isinstance(consent, bool):
        raise RequestError("share_consent must be true or false")
    return NewRequest(
        signature=str(signature),
        acting_for=str(acting_for),
        content=list(dict.fromkeys(content)),  # the same link twice is one item
        statement=str(statement),
        contact=str(contact),
        hashes=hashes,
        minor=minor,
        share_consent=bool(consent and minor),  # only offered for a minor; hashes only
    )


@dataclass(frozen=True)
class Copy:
    ref: str
    kind: str  # identical_copy | likely_copy
    distance: int
    md5: str | None = None  # the hosted item's own hashes (for the review item and the block list)
    pdq: str | None = None


@dataclass(frozen=True)
class Hosted:
    """A named item as the node's inventory knows it: its own stored hashes."""

    ref: str
    md5: str | None
    pdq: str | None


CopyFinder = Callable[[Sequence[Md5Hash], Sequence[PdqHash]], list[Copy]]
HashesOf = Callable[[Sequence[str]], list[Hosted]]  # refs -> the inventory's rows for them


class Notify(Protocol):
    """Queue a webhook event; with `conn`, in that transaction (events.EventOutbox.emit)."""

    def __call__(self, event: str, data: dict[str, Any], /, conn: Connection | None = None) -> Any: ...


class Record(Protocol):
    """(actor, action, subject, reason, details[, conn]): the node's audit log (AuditLog.append);
    with `conn`, the row commits with the step it records."""

    def __call__(
        self,
        actor: str,
        action: str,
        subject: str | None,
        reason: str | None,
        details: dict[str, Any] | None,
        /,
        conn: Connection | None = None,
    ) -> Any: ...


class QueueReview(Protocol):
    """(request id, likely copy[, conn]) -> the review item made for it, in the removal's transaction."""

    def __call__(self, request_id: str, copy: Copy, /, conn: Connection | None = None) -> int: ...


class Block(Protocol):
    """([(type, value)], reason[, conn]) -> how many block-list rows were added, in the removal's
    transaction."""

    def __call__(
        self, values: list[tuple[str, str]], reason: str, /, conn: Connection | None = None
    ) -> int: ...


CHUNK = 500  # under every database's limit of bound variables (SQLite's was 999)


class Desk:
    def __init__(
        self,
        db: Database,
        sealer: Sealer | None,
        find_copies: CopyFinder | None = None,
        notify: Notify | None = None,
        record: Record | None = None,
        retention: timedelta = timedelta(days=30),
        review_distance: int = PDQ_MATCH_THRESHOLD,
        hashes_of: HashesOf | None = None,
        queue_review: QueueReview | None = None,
        block: Block | None = None,
        abandon_after: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.find_copies = find_copies
        self.notify: Notify = notify or (lambda _event, _payload, conn=None: None)
        self._record = record
        self.retention = retention
        self.review_distance = review_distance
        self.hashes_of = hashes_of
        self.queue_review = queue_review
        self.block = block
        self.abandon_after = abandon_after
        self.clock = clock

    # -- the requester ----------------------------------------------------------------------
    def submit(self, req: NewRequest, received: datetime | None = None) -> dict[str, Any]:
        if self.sealer is None:
            raise RequestError(
                "This platform has not set up its request desk yet; please contact it directly.", status=503
            )
        received = received or self.clock()
        request_id, secret = _new_id(), secrets.token_urlsafe(20)
        salt, digest = _hash_secret(secret)
        sealed = self.sealer.seal(
            request_id, {"signature": req.signature, "contact": req.contact, "statement": req.statement}
        )
        with self.db.write() as conn:
            conn.execute(
                insert(takedown_requests).values(
                    id=request_id,
                    secret_salt=salt,
                    secret_hash=digest,
                    acting_for=req.acting_for,
                    minor=req.minor,
                    share_consent=req.share_consent,
                    hashes=[h.to_json() for h in req.hashes],
                    state="valid",
                    received_at=received,
                    clock_from=received,
                    deadline=received + DEADLINE,
                )
            )
            conn.execute(insert(takedown_pii).values(request_id=request_id, sealed=sealed))
            conn.execute(
                insert(takedown_items),
                [
                    {"request_id": request_id, "ref": ref, "kind": "requested", "state": "pending"}
                    for ref in req.content
                ],
            )
            self.record("requester", "takedown.received", request_id, None, {"items": len(req.content)}, conn)
        log.info("takedown request %s received (%d items)", request_id, len(req.content))
        return {
            "request_id": request_id,
            "request_secret": secret,
            "deadline": _iso(received + DEADLINE),
            "shares_hashes_with_registry": req.share_consent and bool(req.hashes),
        }

    def status(self, request_id: str, secret: str) -> dict[str, Any] | None:
        """What the requester may see, or None for an unknown id or a wrong secret (same path)."""
        with self.db.read() as conn:
            row = self._find(conn, request_id, secret)
            if row is None:
                return None
            items = conn.execute(
                select(takedown_items.c.kind, takedown_items.c.state).where(
                    takedown_items.c.request_id == row.id
                )
            ).all()
        removed = sum(1 for i in items if i.kind == "requested" and i.state == "removed")
        return {
            "request_id": row.id,
            "state": row.state,
            "in_words": STATE_WORDS[row.state] + (f" {row.note}" if row.note else ""),
            "note": row.note,
            "deadline": _iso(row.deadline),
            "items_named": sum(1 for i in items if i.kind == "requested"),
            "items_removed": removed,
            "copies_removed": sum(1 for i in items if i.kind != "requested" and i.state == "removed"),
            "shared_with_registry": row.case_id is not None,
        }

    def add_information(self, request_id: str, secret: str, content: list[str], note: str | None) -> bool:
        """The requester answers an `incomplete`: the request is valid from now, so the 48 hours
        run from the answer. The note may hold personal data: it is sealed with the rest."""
        fresh = list(dict.fromkeys(c.replace("\x00", "").strip() for c in content if c.strip()))
        if any(len(c) > MAX_REF for c in fresh):
            raise RequestError(f"Each link or content id may be at most {MAX_REF} characters.")
        note = (note or "").replace("\x00", "").strip() or None
        if note is not None and len(note) > MAX_TEXT:
            raise RequestError(f"The note may be at most {MAX_TEXT} characters.")
        if not fresh and not note:
            raise RequestError("Add at least one link or content id, or a note.")
        t = self.clock()
        with self.db.write() as conn:
            row = self._find(conn, request_id, secret)
            if row is None:
                return False
            if row.state != "incomplete":
                raise RequestError("This request is not waiting for more information.", status=409)
            known = {
                r.ref
                for r in conn.execute(
                    select(takedown_items.c.ref).where(
                        takedown_items.c.request_id == row.id, takedown_items.c.kind == "requested"
                    )
                )
            }
            added = [ref for ref in fresh if ref not in known]
            if len(known) + len(added) > MAX_CONTENT:
                raise RequestError(f"A request may name at most {MAX_CONTENT} items.")
            if note is not None:
                self._add_answer(conn, row.id, {"at": _iso(t), "note": note})
            if added:
                conn.execute(
                    insert(takedown_items),
                    [
                        {"request_id": row.id, "ref": r, "kind": "requested", "state": "pending"}
                        for r in added
                    ],
                )
            conn.execute(
                update(takedown_requests)
                .where(takedown_requests.c.id == row.id)
                .values(
                    state="valid",
                    note=None,
                    clock_from=t,
                    deadline=t + DEADLINE,
                    incomplete_at=None,
                    warned_at=None,
                )
            )
            self.record(
                "requester",
                "takedown.answered",
                row.id,
                None,
                {"items_added": len(added), "note": note is not None},
                conn,
            )
        return True

    def _add_answer(self, conn: Connection, request_id: str, answer: dict[str, Any]) -> None:
        pii = conn.execute(
            select(takedown_pii.c.sealed).where(takedown_pii.c.request_id == request_id)
        ).first()
        if pii is None:
            return  # already deleted: nothing personal is kept past the retention
        data = self._open(request_id, pii.sealed)
        data.setdefault("answers", []).append(answer)
        assert self.sealer is not None  # _open raised otherwise
        conn.execute(
            update(takedown_pii)
            .where(takedown_pii.c.request_id == request_id)
            .values(sealed=self.sealer.seal(request_id, data))
        )

    def _open(self, request_id: str, sealed: bytes) -> dict[str, Any]:
        if self.sealer is None:
            raise unreadable("TAKEITDOWN_NODE_PII_KEY is not set")
        try:
            return self.sealer.open(request_id, bytes(sealed))
        except PiiKeyError:
            raise unreadable("it was sealed with another key") from None

    def _find(self, conn: Connection, request_id: str, secret: str) -> Any | None:
        norm = request_id.strip().upper()
        row = None
        if ID_RE.fullmatch(norm):
            row = conn.execute(select(takedown_requests).where(takedown_requests.c.id == norm)).first()
        salt = row.secret_salt if row is not None else b"\0" * 16
        expected = row.secret_hash if row is not None else b"\1" * 32
        ok = hmac.compare_digest(_hash_secret(secret, salt)[1], expected)
        return row if ok and row is not None else None

    # -- the desk -----------------------------------------------------------------------------
    def queue(self, at: datetime | None = None) -> list[dict[str, Any]]:
        """Open requests by deadline, with the time left in plain words; warnings past 36 h."""
        at = at or self.clock()
        self.record_breaches(at)
        with self.db.read() as conn:
            rows = conn.execute(
                select(takedown_requests)
                .where(takedown_requests.c.state.in_(OPEN_STATES))
                # stopped clocks (no deadline) last, the same on SQLite and PostgreSQL
                .order_by(takedown_requests.c.deadline.is_(None), takedown_requests.c.deadline)
            ).all()
        return [self._desk_json(r, at) for r in rows]

    def detail(self, request_id: str, with_personal_data: bool = True) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(select(takedown_requests).where(takedown_requests.c.id == request_id)).first()
            if row is None:
                return None
            items = conn.execute(
                select(takedown_items)
                .where(takedown_items.c.request_id == request_id)
                .order_by(takedown_items.c.id)
            ).all()
            pii = conn.execute(
                select(takedown_pii.c.sealed).where(takedown_pii.c.request_id == request_id)
            ).first()
        out = self._desk_json(row, self.clock())
        out["items"] = [
            {
                "ref": i.ref,
                "kind": i.kind,
                "state": i.state,
                "distance": i.distance,
                "note": i.note,
                "confirmed_at": _iso(i.confirmed_at),
            }
            for i in items
        ]
        out["hashes"] = row.hashes
        if with_personal_data:
            out["personal"] = {"deleted": True} if pii is None else self._open(request_id, pii.sealed)
        return out

    def _desk_json(self, row: Any, at: datetime) -> dict[str, Any]:
        deadline = _aware(row.deadline)
        left = None if deadline is None else (deadline - at).total_seconds()
        clock = _aware(row.clock_from)
        warn = bool(clock and row.state in CLOCK_STATES and at - clock >= WARN_AFTER)
        return {
            "request_id": row.id,
            "state": row.state,
            "acting_for": row.acting_for,
            "minor": row.minor,
            "received_at": _iso(row.received_at),
            "validated_at": _iso(row.validated_at),
            "deadline": _iso(deadline),
            "seconds_left": None if left is None else round(left),
            "time_left": _time_left(left),
            "warning": warn,
            "breach": row.breach,
            "note": row.note,
            "case_id": row.case_id,
        }

    def validate(self, request_id: str, actor: str) -> None:
        """The desk has checked the request and can locate the content: from now on the clock can
        no longer be stopped by marking it incomplete."""
        at = self.clock()
        self._set_state(
            request_id,
            ("valid",),
            (actor, "takedown.validated", None),
            _only_if_unvalidated=True,
            validated_at=at,
        )

    def mark_incomplete(self, request_id: str, reason: str, actor: str) -> None:
        """The content cannot be located from what was given: the requester sees `reason`. Only
        before the request is validated: afterwards the clock must not be restarted."""
        if not reason.strip():
            raise RequestError("Say what is missing: the requester will see it.")
        note = reason.strip()[:MAX_TEXT]
        self._set_state(
            request_id,
            ("valid",),
            (actor, "takedown.incomplete", note),
            _only_if_unvalidated=True,
            state="incomplete",
            note=note,
            clock_from=None,
            deadline=None,
            incomplete_at=self.clock(),
        )
        log.info("takedown request %s marked incomplete by %s", request_id, actor)

    def decline(self, request_id: str, reason: str, actor: str) -> None:
        if not reason.strip():
            raise RequestError("Say why: the requester will see it.")
        note = reason.strip()[:MAX_TEXT]
        at = self.clock()
        self._set_state(
            request_id,
            ("valid", "incomplete"),
            (actor, "takedown.declined", note),
            _purge_from=at,
            state="declined",
            note=note,
            closed_at=at,
        )
        log.info("takedown request %s declined by %s", request_id, actor)

    def remove(self, request_id: str, actor: str) -> dict[str, Any]:
        """Ask the platform to remove every named item and every identical copy found; queue the
        likely copies for review; block re-uploads of what is removed. The request closes when the
        platform confirms each removal."""
        detail = self.detail(request_id, with_personal_data=False)
        if detail is None:
            raise RequestError("No such request.", status=404)
        if detail["state"] not in CLOCK_STATES:
            raise RequestError(f"A request that is {detail['state']} cannot be removed.", status=409)
        named = [i["ref"] for i in detail["items"] if i["kind"] == "requested"]
        hosted = self.hashes_of(named) if self.hashes_of is not None else []
        copies = self._copies(detail["hashes"], hosted)
        review: list[Copy] = []
        with self.db.write() as conn:
            known = {
                r.ref
                for r in conn.execute(
                    select(takedown_items.c.ref).where(takedown_items.c.request_id == request_id)
                )
            }
            for c in copies:
                if c.ref in known:
                    continue  # a named item finds itself; a copy found before stays as it was
                conn.execute(
                    insert(takedown_items).values(
                        request_id=request_id, ref=c.ref, kind=c.kind, state="pending", distance=c.distance
                    )
                )
                known.add(c.ref)
                if c.kind == "likely_copy":
                    review.append(c)
            conn.execute(
                update(takedown_items)
                .where(
                    takedown_items.c.request_id == request_id,
                    takedown_items.c.state == "pending",
                    takedown_items.c.kind.in_(("requested", "identical_copy")),
                )
                .values(state="removing")
            )
            refs = [
                r.ref
                for r in conn.execute(
                    select(takedown_items.c.ref).where(
                        takedown_items.c.request_id == request_id, takedown_items.c.state == "removing"
                    )
                )
            ]
            conn.execute(
                update(takedown_requests)
                .where(takedown_requests.c.id == request_id)
                .values(
                    state="removing",
                    validated_at=func.coalesce(takedown_requests.c.validated_at, self.clock()),
                )
            )
            for c in review:
                review_id = self.queue_review(request_id, c, conn=conn) if self.queue_review else None
                conn.execute(
                    update(takedown_items)
                    .where(takedown_items.c.request_id == request_id, takedown_items.c.ref == c.ref)
                    .values(state="in_review", note=f"review:{review_id}" if review_id else None)
                )
            blocked = self._block_removed(conn, request_id, hosted, copies)
            # The event names the content only: no name, contact or statement ever leaves the desk.
            # It, the review items, the blocks and the audit row commit with the state change: a
            # removal asked is a removal told and recorded.
            self.notify(
                "takedown.remove",
                {"request_id": request_id, "refs": refs, "deadline": detail["deadline"]},
                conn=conn,
            )
            likely = [c.ref for c in review]
            self.record(
                actor,
                "takedown.remove",
                request_id,
                None,
                {"refs": refs, "likely_copies": likely, "blocked_hashes": blocked},
                conn,
            )
        log.info("takedown request %s: removal of %d items asked by %s", request_id, len(refs), actor)
        return {"refs": refs, "likely_copies": likely, "blocked_hashes": blocked}

    def _block_removed(
        self, conn: Connection, request_id: str, hosted: list[Hosted], copies: list[Copy]
    ) -> int:
        """Re-uploads of what is removed are blocked: the hashes the node itself holds for the named
        items and their identical copies (not the requester's own hashes, which nobody checked)."""
        if self.block is None:
            return 0
        values: dict[tuple[str, str], None] = {}
        own = [(h.md5, h.pdq) for h in hosted] + [
            (c.md5, c.pdq) for c in copies if c.kind == "identical_copy"
        ]
        for md5, pdq in own:
            if md5:
                values[("md5", md5)] = None
            if pdq:
                values[("pdq", pdq)] = None
        if not values:
            return 0
        return self.block(list(values), f"TAKE IT DOWN Act request {request_id}", conn=conn)

    def copy_reviewed(
        self, review_id: int, decision: str, person: str, conn: Connection | None = None
    ) -> str | None:
        """A reviewer decided a likely copy's review item: `remove` puts it with the items being
        removed (the platform confirms it like the others), `not_a_match` keeps it. Returns the
        request it belonged to, if any. With `conn`, in the decision's own transaction."""
        if conn is None:
            with self.db.write() as c:
                return self.copy_reviewed(review_id, decision, person, c)
        row = conn.execute(
            select(takedown_items.c.request_id, takedown_items.c.ref).where(
                takedown_items.c.kind == "likely_copy", takedown_items.c.note == f"review:{review_id}"
            )
        ).first()
        if row is None:
            return None
        state = "removing" if decision == "remove" else "kept"
        conn.execute(
            update(takedown_items)
            .where(takedown_items.c.request_id == row.request_id, takedown_items.c.ref == row.ref)
            .values(state=state)
        )
        self.record(
            person,
            "takedown.copy_reviewed",
            row.request_id,
            None,
            {"ref": row.ref, "decision": decision},
            conn,
        )
        return str(row.request_id)

    def confirm_removed(
        self, request_id: str, refs: list[str], at: datetime | None = None, actor: str = "platform"
    ) -> dict[str, Any]:
        """The platform confirms removals; the request closes once nothing is left to remove."""
        at = at or self.clock()
        wanted = sorted({r for r in refs if isinstance(r, str)})
        with self.db.write() as conn:
            row = conn.execute(select(takedown_requests).where(takedown_requests.c.id == request_id)).first()
            if row is None:
                raise RequestError("No such request.", status=404)
            for i in range(0, len(wanted), CHUNK):
                conn.execute(
                    update(takedown_items)
                    .where(
                        takedown_items.c.request_id == request_id,
                        takedown_items.c.ref.in_(wanted[i : i + CHUNK]),
                        takedown_items.c.state.in_(("removing", "pending")),
                    )
                    .values(state="removed", confirmed_at=at)
                )
            left = conn.execute(
                select(takedown_items.c.ref).where(
                    takedown_items.c.request_id == request_id, takedown_items.c.state == "removing"
                )
            ).all()
            closed = not left and row.state == "removing"
            if closed:
                deadline = _aware(row.deadline)
                breach = row.breach
                if deadline is not None and at > deadline and breach is None:
                    breach = (
                        f"removed {_time_left((at - deadline).total_seconds())} after the 48-hour deadline"
                    )
                conn.execute(
                    update(takedown_requests)
                    .where(takedown_requests.c.id == request_id)
                    .values(state="closed", removed_at=at, closed_at=at, breach=breach)
                )
                self._schedule_purge(conn, [request_id])
            self.record(
                actor, "takedown.confirmed", request_id, None, {"refs": wanted[:100], "closed": closed}, conn
            )
        return {"closed": closed, "still_removing": [r.ref for r in left]}

    def keep_copy(self, request_id: str, ref: str, reason: str, actor: str) -> None:
        """A likely copy a reviewer found is not the same content: kept, with the reason."""
        if not reason.strip():
            raise RequestError("Say why the copy is kept.")
        with self.db.write() as conn:
            done = conn.execute(
                update(takedown_items)
                .where(
                    takedown_items.c.request_id == request_id,
                    takedown_items.c.ref == ref,
                    takedown_items.c.kind == "likely_copy",
                )
                .values(state="kept", note=reason[:MAX_TEXT])
            )
            if not done.rowcount:
                raise RequestError("No such likely copy on this request.", status=404)
            self.record(actor, "takedown.copy_kept", request_id, reason, {"ref": ref}, conn)

    # -- the clock, run by the node's background loop -------------------------------------------
    def tick(self, at: datetime | None = None) -> dict[str, int]:
        """Everything time does to requests: breaches, 36-hour warnings, abandoned requests,
        expired personal data. Safe to run often and from several processes (each step is once).
        The one place the desk's personal data is purged in the background (`DeskTicker`)."""
        at = at or self.clock()
        return {
            "breaches": self.record_breaches(at),
            "warnings": self.warn(at),
            "abandoned": self.abandon(at),
            "purged": self.purge_expired(at),
        }

    def record_breaches(self, at: datetime | None = None) -> int:
        """Open requests past their deadline get a breach recorded (once, never cleared), with an
        audit row and a `takedown.breach` event each, in the same transaction."""
        at = at or self.clock()
        reason = "not removed within 48 hours of the valid request"
        with self.db.write() as conn:
            done = self._once(
                conn,
                (
                    takedown_requests.c.state.in_(CLOCK_STATES),
                    takedown_requests.c.deadline < at,
                    takedown_requests.c.breach.is_(None),
                ),
                breach=reason,
            )
            for rid, deadline in done:
                self.record("node", "takedown.breach", rid, reason, {"deadline": _iso(deadline)}, conn)
                self.notify("takedown.breach", {"request_id": rid, "deadline": _iso(deadline)}, conn=conn)
        if done:
            log.warning("%d takedown requests passed their 48-hour deadline", len(done))
        return len(done)

    def warn(self, at: datetime | None = None) -> int:
        """36 hours into the clock, once per request: an audit row and a `takedown.warning` event,
        in the same transaction."""
        at = at or self.clock()
        with self.db.write() as conn:
            done = self._once(
                conn,
                (
                    takedown_requests.c.state.in_(CLOCK_STATES),
                    takedown_requests.c.clock_from <= at - WARN_AFTER,
                    takedown_requests.c.deadline >= at,
                    takedown_requests.c.warned_at.is_(None),
                ),
                warned_at=at,
            )
            for rid, deadline in done:
                left = _time_left((_aware(deadline) - at).total_seconds())  # type: ignore[operator]
                when = {"deadline": _iso(deadline)}
                self.record("node", "takedown.warning", rid, f"{left} left", when, conn)
                self.notify("takedown.warning", {"request_id": rid, "deadline": _iso(deadline)}, conn=conn)
        if done:
            log.warning("%d takedown requests are 36 hours into their 48-hour clock", len(done))
        return len(done)

    def abandon(self, at: datetime | None = None) -> int:
        """Incomplete requests nobody answered within `abandon_after` are closed, so their personal
        data gets a deletion date like any closed request's."""
        at = at or self.clock()
        with self.db.write() as conn:
            done = self._once(
                conn,
                (
                    takedown_requests.c.state == "incomplete",
                    takedown_requests.c.incomplete_at < at - self.abandon_after,
                ),
                state="abandoned",
                closed_at=at,
            )
            ids = [rid for rid, _ in done]
            self._schedule_purge(conn, ids, at)
            for rid in ids:
                self.record("node", "takedown.abandoned", rid, "no answer from the requester", None, conn)
        return len(ids)

    def purge_expired(self, at: datetime | None = None) -> int:
        """Delete the personal data of requests closed longer ago than the retention; each deletion
        is recorded in the same transaction."""
        at = at or self.clock()
        with self.db.write() as conn:
            ids = [
                str(r.request_id)
                for r in conn.execute(
                    select(takedown_pii.c.request_id).where(takedown_pii.c.purge_after < at)
                )
            ]
            for i in range(0, len(ids), CHUNK):
                conn.execute(delete(takedown_pii).where(takedown_pii.c.request_id.in_(ids[i : i + CHUNK])))
            for rid in ids:
                self.record("node", "takedown.personal_data_deleted", rid, "retention over", None, conn)
        return len(ids)

    def _once(self, conn: Connection, where: tuple[Any, ...], **values: Any) -> list[tuple[str, Any]]:
        """Set `values` on the requests matching `where`, each exactly once even with several
        processes: the update repeats the condition, and only the rows it changed are returned."""
        rows = conn.execute(select(takedown_requests.c.id, takedown_requests.c.deadline).where(*where)).all()
        done = []
        for r in rows:
            res = conn.execute(
                update(takedown_requests).where(takedown_requests.c.id == r.id, *where).values(**values)
            )
            if res.rowcount:
                done.append((str(r.id), r.deadline))
        return done

    def mark_shared(self, request_id: str, case_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(takedown_requests).where(takedown_requests.c.id == request_id).values(case_id=case_id)
            )

    # -- helpers ------------------------------------------------------------------------------
    def record(
        self,
        actor: str,
        action: str,
        subject: str | None,
        reason: str | None,
        details: dict[str, Any] | None,
        conn: Connection | None = None,
    ) -> None:
        """Every step in the audit log: ids, refs and reasons only, never the personal data.
        With `conn`, the row is written in the step's own transaction."""
        if self._record is not None:
            self._record(actor, action, subject, reason, details, conn=conn)

    def _set_state(
        self,
        request_id: str,
        allowed: tuple[str, ...],
        record: tuple[str, str, str | None],
        _only_if_unvalidated: bool = False,
        _purge_from: datetime | None = None,
        **values: Any,
    ) -> None:
        """Change a request's state if it is in `allowed` (and, with `_only_if_unvalidated`, not yet
        validated); `record` (actor, action, reason) is its audit row, in the same transaction, as
        is the deletion date of its personal data when `_purge_from` (the closing time) is given."""
        with self.db.write() as conn:
            row = conn.execute(
                select(takedown_requests.c.state, takedown_requests.c.validated_at).where(
                    takedown_requests.c.id == request_id
                )
            ).first()
            if row is None:
                raise RequestError("No such request.", status=404)
            if row.state not in allowed:
                raise RequestError(f"A request that is {row.state} cannot change that way.", status=409)
            if _only_if_unvalidated and row.validated_at is not None:
                raise RequestError(
                    f"This request was validated at {_iso(row.validated_at)}: its 48-hour clock runs and "
                    "cannot be stopped or restarted. Remove the content, or decline the request.",
                    status=409,
                )
            conn.execute(
                update(takedown_requests).where(takedown_requests.c.id == request_id).values(**values)
            )
            if _purge_from is not None:
                self._schedule_purge(conn, [request_id], _purge_from)
            actor, action, reason = record
            self.record(actor, action, request_id, reason, None, conn)

    def _schedule_purge(self, conn: Connection, request_ids: list[str], at: datetime | None = None) -> None:
        """The personal data of these (closed) requests is deleted `retention` after `at`."""
        purge_after = (at or self.clock()) + self.retention
        for i in range(0, len(request_ids), CHUNK):
            conn.execute(
                update(takedown_pii)
                .where(takedown_pii.c.request_id.in_(request_ids[i : i + CHUNK]))
                .values(purge_after=purge_after)
            )

    def _copies(self, wire_hashes: list[dict[str, Any]], hosted: list[Hosted]) -> list[Copy]:
        """Copies of the request's content in the inventory, searched with the requester's hashes
        and with the named items' own stored hashes."""
        if self.find_copies is None:
            return []
        parsed = [parse_hash(h) for h in wire_hashes]
        md5s = {h.value: h for h in parsed if isinstance(h, Md5Hash)}
        pdqs = {h.value: h for h in parsed if isinstance(h, PdqHash)}
        for h in hosted:
            if h.md5 and h.md5 not in md5s:
                md5s[h.md5] = Md5Hash(h.md5)
            if h.pdq and h.pdq not in pdqs:
                pdqs[h.pdq] = PdqHash(h.pdq, None)
        found = self.find_copies(list(md5s.values()), list(pdqs.values())) if (md5s or pdqs) else []
        best: dict[str, Copy] = {}
        for c in found:
            if c.kind == "likely_copy" and c.distance > self.review_distance:
                continue
            have = best.get(c.ref)
            if have is None or (c.kind, c.distance) < (have.kind, have.distance):  # identical first
                best[c.ref] = c
        return sorted(best.values(), key=lambda c: (c.kind, c.distance, c.ref))


def case_items(wire_hashes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hashes of a request as registry case items, one per picked file: the form sends each
    file's hashes together, as the submission page's wire items hold them (`pdq` then `md5` for an
    image, `vpdq` then `md5` for a video), so a hash opens a new item when the item so far already
    has one of its type, or a perceptual hash meets another. Only the types the feed carries."""
    items: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for h in wire_hashes:
        kind = h.get("type")
        if kind not in FEED_TYPES:
            continue
        held = {x["type"] for x in current["hashes"]} if current else set()
        perceptual = {"pdq", "vpdq"}
        if current is None or kind in held or (kind in perceptual and held & perceptual):
            current = {"kind": "image", "hashes": []}
            items.append(current)
        if kind == "vpdq":
            current["kind"] = "video"
        current["hashes"].append(h)
    return items


def _time_left(seconds: float | None) -> str:
    if seconds is None:
        return "the clock is stopped until the requester answers"
    late = seconds < 0
    s = abs(int(seconds))
    hours, minutes = divmod(s // 60, 60)
    text = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"{text} overdue" if late else text


def inventory_copy_finder(inventory: Any) -> CopyFinder:
    """Copies among hosted items, from an inventory with `match_entries(entries) -> hits` (the
    node's inventory of scanned hashes): no file is read again."""
    from takeitdown.node.store import Entry

    def find(md5s: Sequence[Md5Hash], pdqs: Sequence[PdqHash]) -> list[Copy]:
        probes = [Entry(-(i + 1), "md5", h.value) for i, h in enumerate(md5s)]
        probes += [Entry(-(len(probes) + i + 1), "pdq", h.value, h.quality) for i, h in enumerate(pdqs)]
        hits = inventory.match_entries(probes)
        return [
            Copy(h.ref, "identical_copy" if h.type == "md5" else "likely_copy", h.distance, h.md5, h.pdq)
            for h in hits
        ]

    return find


def inventory_hashes(inventory: Any) -> HashesOf:
    """The named items' own hashes, from an inventory with `by_refs(refs) -> rows`."""

    def hashes_of(refs: Sequence[str]) -> list[Hosted]:
        return [Hosted(r.ref, r.md5, r.pdq) for r in inventory.by_refs(refs)]

    return hashes_of
