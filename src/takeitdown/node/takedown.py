"""The platform's TAKE IT DOWN Act desk (47 U.S.C. 223a): requests, the 48-hour clock, copies.

A request carries the law's four elements: (1) a signature (the typed full name, with the
explicit statement that typing it signs), (2) the content to find (links or content ids),
(3) a statement of good-faith belief that it is not consensual, (4) contact information. One
missing element is a 422 naming it. A complete request starts the clock at once: the content
must be removed within 48 hours (`DEADLINE`). The desk may mark it incomplete (the content
cannot be located from what was given) with a reason the requester sees; the clock then waits
for the requester's added information, and restarts from when it arrives.

Removal is the platform's act: `remove` asks the platform (a `takedown.remove` event, through
`notify`) and the request closes only when every item is confirmed removed. The inventory of
hosted hashes is searched for copies of the removed items: an equal MD5 is an identical copy
(removed as such), a PDQ within the review distance is a likely copy (listed, for review). A
missed deadline is recorded and never cleared.

The name, contact and statement are sealed (pii.py), never logged, never sent on an event or to
the registry, and deleted `TAKEITDOWN_NODE_PII_RETENTION_DAYS` after the request closes.
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

from sqlalchemy import Connection, delete, insert, select, update

from takeitdown.node.db import Database
from takeitdown.node.pii import Sealer
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
}


class RequestError(ValueError):
    """A request the desk refuses; `missing` names absent elements (422), `status` the reply."""

    def __init__(self, detail: str, missing: list[str] | None = None, status: int = 422) -> None:
        super().__init__(detail)
        self.missing = missing or []
        self.status = status


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


CopyFinder = Callable[[Sequence[Md5Hash], Sequence[PdqHash]], list[Copy]]


class Notify(Protocol):
    """Queue a webhook event; with `conn`, in that transaction (events.EventOutbox.emit)."""

    def __call__(self, event: str, data: dict[str, Any], conn: Connection | None = None) -> Any: ...


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
        conn: Connection | None = None,
    ) -> Any: ...


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
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.find_copies = find_copies
        self.notify: Notify = notify or (lambda _event, _payload, conn=None: None)
        self._record = record
        self.retention = retention
        self.review_distance = review_distance

    # -- the requester ----------------------------------------------------------------------
    def submit(self, req: NewRequest, received: datetime | None = None) -> dict[str, Any]:
        if self.sealer is None:
            raise RequestError(
                "This platform has not set up its request desk yet; please contact it directly.", status=503
            )
        received = received or now()
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
            "deadline": _iso(row.deadline),
            "items_named": sum(1 for i in items if i.kind == "requested"),
            "items_removed": removed,
            "copies_removed": sum(1 for i in items if i.kind != "requested" and i.state == "removed"),
            "shared_with_registry": row.case_id is not None,
        }

    def add_information(self, request_id: str, secret: str, content: list[str], note: str | None) -> bool:
        """The requester answers an `incomplete`: new links restart the clock from now."""
        with self.db.write() as conn:
            row = self._find(conn, request_id, secret)
            if row is None:
                return False
            if row.state != "incomplete":
                raise RequestError("This request is not waiting for more information.", status=409)
            fresh = [c.strip() for c in content if c.strip()][:MAX_CONTENT]
            if not fresh and not note:
                raise RequestError("Add at least one link or content id, or a note.")
            for ref in fresh:
                if (
                    conn.execute(
                        select(takedown_items.c.id).where(
                            takedown_items.c.request_id == row.id, takedown_items.c.ref == ref
                        )
                    ).first()
                    is None
                ):
                    conn.execute(
                        insert(takedown_items).values(
                            request_id=row.id, ref=ref[:MAX_REF], kind="requested", state="pending"
                        )
                    )
            t = now()
            conn.execute(
                update(takedown_requests)
                .where(takedown_requests.c.id == row.id)
                .values(state="valid", note=None, clock_from=t, deadline=t + DEADLINE)
            )
        return True

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
        at = at or now()
        self.record_breaches(at)
        with self.db.read() as conn:
            rows = conn.execute(
                select(takedown_requests)
                .where(takedown_requests.c.state.in_(("valid", "incomplete", "removing")))
                .order_by(takedown_requests.c.deadline)
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
        out = self._desk_json(row, now())
        out["items"] = [
            {
                "ref": i.ref,
                "kind": i.kind,
                "state": i.state,
                "distance": i.distance,
                "confirmed_at": _iso(i.confirmed_at),
            }
            for i in items
        ]
        out["hashes"] = row.hashes
        if with_personal_data:
            out["personal"] = (
                self.sealer.open(request_id, pii.sealed)
                if pii is not None and self.sealer
                else {"deleted": True}
            )
        return out

    def _desk_json(self, row: Any, at: datetime) -> dict[str, Any]:
        deadline = _aware(row.deadline)
        left = None if deadline is None else (deadline - at).total_seconds()
        clock = _aware(row.clock_from)
        warn = bool(clock and row.state in ("valid", "removing") and at - clock >= WARN_AFTER)
        return {
            "request_id": row.id,
            "state": row.state,
            "acting_for": row.acting_for,
            "minor": row.minor,
            "received_at": _iso(row.received_at),
            "deadline": _iso(deadline),
            "seconds_left": None if left is None else round(left),
            "time_left": _time_left(left),
            "warning": warn,
            "breach": row.breach,
            "note": row.note,
            "case_id": row.case_id,
        }

    def mark_incomplete(self, request_id: str, reason: str, actor: str) -> None:
        """The content cannot be located from what was given: the requester sees `reason`."""
        if not reason.strip():
            raise RequestError("Say what is missing: the requester will see it.")
        note = reason.strip()[:MAX_TEXT]
        self._set_state(
            request_id,
            ("valid",),
            (actor, "takedown.incomplete", note),
            state="incomplete",
            note=note,
            clock_from=None,
            deadline=None,
        )
        log.info("takedown request %s marked incomplete by %s", request_id, actor)

    def decline(self, request_id: str, reason: str, actor: str) -> None:
        if not reason.strip():
            raise RequestError("Say why: the requester will see it.")
        note = reason.strip()[:MAX_TEXT]
        self._set_state(
            request_id,
            ("valid", "incomplete"),
            (actor, "takedown.declined", note),
            state="declined",
            note=note,
            closed_at=now(),
        )
        self._schedule_purge(request_id)
        log.info("takedown request %s declined by %s", request_id, actor)

    def remove(self, request_id: str, actor: str) -> dict[str, Any]:
        """Ask the platform to remove every named item and every identical copy found; list the
        likely copies for review. The request closes when the platform confirms each removal."""
        detail = self.detail(request_id, with_personal_data=False)
        if detail is None:
            raise RequestError("No such request.", status=404)
        if detail["state"] not in ("valid", "removing"):
            raise RequestError(f"A request that is {detail['state']} cannot be removed.", status=409)
        copies = self._copies(detail["hashes"])
        with self.db.write() as conn:
            known = {
                r.ref
                for r in conn.execute(
                    select(takedown_items.c.ref).where(takedown_items.c.request_id == request_id)
                )
            }
            for c in copies:
                if c.ref not in known:
                    conn.execute(
                        insert(takedown_items).values(
                            request_id=request_id,
                            ref=c.ref,
                            kind=c.kind,
                            state="pending",
                            distance=c.distance,
                        )
                    )
                    known.add(c.ref)
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
                update(takedown_requests).where(takedown_requests.c.id == request_id).values(state="removing")
            )
            # The event names the content only: no name, contact or statement ever leaves the desk.
            # It and the audit row commit with the state change: a removal asked is a removal told.
            self.notify(
                "takedown.remove",
                {"request_id": request_id, "refs": refs, "deadline": detail["deadline"]},
                conn=conn,
            )
            likely = [c.ref for c in copies if c.kind == "likely_copy"]
            self.record(
                actor, "takedown.remove", request_id, None, {"refs": refs, "likely_copies": likely}, conn
            )
        log.info("takedown request %s: removal of %d items asked by %s", request_id, len(refs), actor)
        return {"refs": refs, "likely_copies": likely}

    def confirm_removed(self, request_id: str, refs: list[str], at: datetime | None = None) -> dict[str, Any]:
        """The platform confirms removals; the request closes once nothing is left to remove."""
        at = at or now()
        with self.db.write() as conn:
            row = conn.execute(select(takedown_requests).where(takedown_requests.c.id == request_id)).first()
            if row is None:
                raise RequestError("No such request.", status=404)
            conn.execute(
                update(takedown_items)
                .where(
                    takedown_items.c.request_id == request_id,
                    takedown_items.c.ref.in_(refs),
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
            self.record(
                "platform", "takedown.confirmed", request_id, None, {"refs": refs, "closed": closed}, conn
            )
        if closed:
            self._schedule_purge(request_id)
        return {"closed": closed, "still_removing": [r.ref for r in left]}

    def keep_copy(self, request_id: str, ref: str, reason: str, actor: str = "desk") -> None:
        """A likely copy a reviewer found is not the same content: kept, with the reason."""
        with self.db.write() as conn:
            conn.execute(
                update(takedown_items)
                .where(takedown_items.c.request_id == request_id, takedown_items.c.ref == ref)
                .values(state="kept", note=reason[:MAX_TEXT])
            )
            self.record(actor, "takedown.copy_kept", request_id, reason, {"ref": ref}, conn)

    def record_breaches(self, at: datetime | None = None) -> int:
        """Open requests past their deadline get a breach recorded (once, never cleared)."""
        at = at or now()
        with self.db.write() as conn:
            done = conn.execute(
                update(takedown_requests)
                .where(
                    takedown_requests.c.state.in_(("valid", "removing")),
                    takedown_requests.c.deadline < at,
                    takedown_requests.c.breach.is_(None),
                )
                .values(breach="not removed within 48 hours of the valid request")
            )
            if done.rowcount:
                self.record(
                    "node",
                    "takedown.breach",
                    None,
                    "not removed within 48 hours",
                    {"count": done.rowcount},
                    conn,
                )
        if done.rowcount:
            log.warning("%d takedown requests passed their 48-hour deadline", done.rowcount)
        return int(done.rowcount or 0)

    def mark_shared(self, request_id: str, case_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(takedown_requests).where(takedown_requests.c.id == request_id).values(case_id=case_id)
            )

    def purge_expired(self, at: datetime | None = None) -> int:
        """Delete the personal data of requests closed longer ago than the retention."""
        at = at or now()
        with self.db.write() as conn:
            done = conn.execute(delete(takedown_pii).where(takedown_pii.c.purge_after < at))
        return int(done.rowcount or 0)

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
        record: tuple[str, str, str] | None = None,
        **values: Any,
    ) -> None:
        """Change a request's state if it is in `allowed`; `record` (actor, action, reason) is its
        audit row, in the same transaction."""
        with self.db.write() as conn:
            row = conn.execute(
                select(takedown_requests.c.state).where(takedown_requests.c.id == request_id)
            ).first()
            if row is None:
                raise RequestError("No such request.", status=404)
            if row.state not in allowed:
                raise RequestError(f"A request that is {row.state} cannot change that way.", status=409)
            conn.execute(
                update(takedown_requests).where(takedown_requests.c.id == request_id).values(**values)
            )
            if record is not None:
                actor, action, reason = record
                self.record(actor, action, request_id, reason, None, conn)

    def _schedule_purge(self, request_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(takedown_pii)
                .where(takedown_pii.c.request_id == request_id)
                .values(purge_after=now() + self.retention)
            )

    def _copies(self, wire_hashes: list[dict[str, Any]]) -> list[Copy]:
        if self.find_copies is None:
            return []
        parsed = [parse_hash(h) for h in wire_hashes]
        md5s = [h for h in parsed if isinstance(h, Md5Hash)]
        pdqs = [h for h in parsed if isinstance(h, PdqHash)]
        found = self.find_copies(md5s, pdqs) if (md5s or pdqs) else []
        best: dict[str, Copy] = {}
        for c in found:
            if c.kind == "likely_copy" and c.distance > self.review_distance:
                continue
            have = best.get(c.ref)
            if have is None or (c.kind, c.distance) < (have.kind, have.distance):  # identical first
                best[c.ref] = c
        return sorted(best.values(), key=lambda c: (c.kind, c.distance, c.ref))


def case_items(wire_hashes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hashes of a request as registry case items (only the types the feed carries)."""
    hashes = [h for h in wire_hashes if h.get("type") in FEED_TYPES and h.get("type") != "vpdq"]
    return [{"kind": "image", "hashes": hashes}] if hashes else []


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
        return [Copy(h.ref, "identical_copy" if h.type == "md5" else "likely_copy", h.distance) for h in hits]

    return find
