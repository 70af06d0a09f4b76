"""The contract between the roles: the only place a shape that crosses a role boundary is declared.

The person's device, the registry, a platform node, the python-threatexchange extension, the
page's schema test and the benchmarks all speak these shapes (DESIGN.md, "Hash types"):

- hash values and their wire form (`parse_hash`, `PdqHash`, `Md5Hash`, `Sha256Hash`, `VpdqHash`);
- the case item a submission carries (`CaseItem`);
- the feed entry and feed page a platform reads (`FeedEntry`, `FeedPage`);
- the outcome report a platform sends back (`Report`, `Outcome`);
- the error body every service answers with (`Problem`, `ProblemCode`): a stable
  machine-readable `code` beside the English `detail`, so the page translates by code.

Standard library only: the registry imports this without loading any media library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

# -- hash values ------------------------------------------------------------------------------

HashType = Literal["pdq", "md5", "sha256", "vpdq", "pdq80", "pdq70"]
HASH_TYPES: tuple[str, ...] = ("pdq", "md5", "sha256", "vpdq", "pdq80", "pdq70")
# sha256 stays with the case; pdq80/pdq70 are the centred window hashes (docs/matching.md)
FEED_TYPES: frozenset[str] = frozenset({"pdq", "md5", "vpdq", "pdq80", "pdq70"})

PDQ_MATCH_THRESHOLD = 31
PDQ_MIN_QUALITY = 50
MAX_VPDQ_FRAMES = 36_000  # ten hours at one frame a second

_HEX = re.compile(r"[0-9a-f]*")


class RejectCode(StrEnum):
    """Why one item of a batch was turned down: the `code` of `rejected: [{index, code, reason}]`
    in a case reply (hash.*, item.*) or a reports reply (report.*). Never renamed: the page
    translates by them (web/problems.js REJECT_KEYS). Every such code lives here, nowhere else."""

    HASH_INVALID = "hash.invalid"
    HASH_UNKNOWN_TYPE = "hash.unknown_type"
    HASH_TOO_MANY_FRAMES = "hash.too_many_frames"
    HASH_IMPLAUSIBLE = "hash.implausible"  # a PDQ far from half its bits set: no device makes it
    ITEM_BAD_KIND = "item.bad_kind"
    ITEM_NO_HASHES = "item.no_hashes"
    ITEM_TOO_MANY_HASHES = "item.too_many_hashes"
    ITEM_HASH_NOT_ALLOWED = "item.hash_not_allowed"
    REPORT_INVALID = "report.invalid"
    REPORT_UNKNOWN_ENTRY = "report.unknown_entry"  # unknown, withdrawn or not yet read: one reason


class InvalidHash(ValueError):
    """A hash value (or case item) that does not fit the wire format; `code` says which rule."""

    def __init__(self, message: str, code: RejectCode = RejectCode.HASH_INVALID) -> None:
        super().__init__(message)
        self.code = code


def _parse_hex(value: object, length: int, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidHash(f"{name} must be a string of {length} hex characters")
    text = value.lower()
    if len(text) != length:
        raise InvalidHash(f"{name} must be {length} hex characters, got {len(value)}")
    if not _HEX.fullmatch(text):
        raise InvalidHash(f"{name} must contain only hex characters 0-9 and a-f")
    return text


def _parse_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidHash(f"{name} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise InvalidHash(f"{name} must be from {low} to {high}, got {value}")
    return value


@dataclass(frozen=True, order=True)
class Md5Hash:
    value: str

    type: ClassVar[HashType] = "md5"

    @classmethod
    def parse(cls, value: object) -> Md5Hash:
        return cls(_parse_hex(value, 32, "MD5"))

    def __str__(self) -> str:
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {"type": "md5", "value": self.value}


@dataclass(frozen=True, order=True)
class Sha256Hash:
    value: str

    type: ClassVar[HashType] = "sha256"

    @classmethod
    def parse(cls, value: object) -> Sha256Hash:
        return cls(_parse_hex(value, 64, "SHA-256"))

    def __str__(self) -> str:
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {"type": "sha256", "value": self.value}


@dataclass(frozen=True, order=True)
class PdqHash:
    """A 256-bit PDQ hash; `quality` (0-100) is how much detail the image had, if known."""

    value: str
    quality: int | None = None

    type: ClassVar[HashType] = "pdq"

    @classmethod
    def parse(cls, value: object, quality: object = None) -> PdqHash:
        hex_value = _parse_hex(value, 64, "PDQ hash")
        if quality is None:
            return cls(hex_value, None)
        return cls(hex_value, _parse_int(quality, "PDQ quality", 0, 100))

    @classmethod
    def from_bits(cls, bits: Iterable[int], quality: int | None = None) -> PdqHash:
        """From 256 0/1 values in the reference bit order (what `pdqhash.compute` returns)."""
        flat = [1 if b else 0 for b in bits]
        if len(flat) != 256:
            raise InvalidHash(f"a PDQ hash has 256 bits, got {len(flat)}")
        as_int = int("".join(map(str, flat)), 2)
        return cls(f"{as_int:064x}", quality)

    def as_int(self) -> int:
        return int(self.value, 16)

    def bit_count(self) -> int:
        return self.as_int().bit_count()

    def distance(self, other: PdqHash) -> int:
        """Hamming distance between the two 256-bit hashes."""
        return (self.as_int() ^ other.as_int()).bit_count()

    def is_distributable(self) -> bool:
        return self.quality is None or self.quality >= PDQ_MIN_QUALITY

    def __str__(self) -> str:
        return self.value

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "pdq", "value": self.value}
        if self.quality is not None:
            out["quality"] = self.quality
        return out


WINDOW_TYPES: dict[str, int] = {"pdq80": 80, "pdq70": 70}


@dataclass(frozen=True, order=True)
class PdqWindowHash:
    """PDQ of the centred window keeping `window` percent of each side (80 or 70) of a photo.

    Wire form `{"type": "pdq80" | "pdq70", "value": 64 hex, "quality": 0-100}`: the same value
    and quality rules as `pdq`, under its own type so that a node that does not know windows
    skips them instead of matching them as whole images (docs/matching.md).
    """

    value: str
    quality: int | None = None
    window: int = 80

    @property
    def type(self) -> str:
        return f"pdq{self.window}"

    @classmethod
    def parse(cls, kind: str, value: object, quality: object = None) -> PdqWindowHash:
        if kind not in WINDOW_TYPES:
            raise InvalidHash(f"unknown window hash type {kind!r}; expected pdq80 or pdq70")
        pdq = PdqHash.parse(value, quality)
        return cls(pdq.value, pdq.quality, WINDOW_TYPES[kind])

    @property
    def pdq(self) -> PdqHash:
        return PdqHash(self.value, self.quality)

    def is_distributable(self) -> bool:
        return self.quality is None or self.quality >= PDQ_MIN_QUALITY

    def __str__(self) -> str:
        return self.value

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "value": self.value}
        if self.quality is not None:
            out["quality"] = self.quality
        return out


_FRAME_FIELDS = frozenset({"i", "t", "q", "pdq"})


@dataclass(frozen=True)
class VpdqFrame:
    """One hashed video frame: index, timestamp in seconds, PDQ quality and PDQ hash."""

    i: int
    t: float
    q: int
    pdq: str

    @classmethod
    def parse(cls, data: object) -> VpdqFrame:
        if not isinstance(data, dict):
            raise InvalidHash('a vPDQ frame must be an object {"i", "t", "q", "pdq"}')
        unknown = set(data) - _FRAME_FIELDS
        if unknown:
            raise InvalidHash(f"unknown vPDQ frame fields: {', '.join(sorted(map(str, unknown)))}")
        missing = _FRAME_FIELDS - set(data)
        if missing:
            raise InvalidHash(f"vPDQ frame is missing: {', '.join(sorted(missing))}")
        t = data["t"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise InvalidHash("vPDQ frame time t must be a number of seconds >= 0")
        return cls(
            i=_parse_int(data["i"], "vPDQ frame index i", 0, 2**31 - 1),
            t=float(t),
            q=_parse_int(data["q"], "vPDQ frame quality q", 0, 100),
            pdq=_parse_hex(data["pdq"], 64, "vPDQ frame PDQ hash"),
        )

    @property
    def hash(self) -> PdqHash:
        return PdqHash(self.pdq, self.q)

    def to_json(self) -> dict[str, Any]:
        return {"i": self.i, "t": round(self.t, 3), "q": self.q, "pdq": self.pdq}


@dataclass(frozen=True)
class VpdqHash:
    """The frame hashes of one video, in frame order."""

    frames: tuple[VpdqFrame, ...]

    type: ClassVar[HashType] = "vpdq"

    @classmethod
    def parse(cls, frames: object) -> VpdqHash:
        if not isinstance(frames, list):
            raise InvalidHash("vPDQ frames must be a list of frame objects")
        if not frames:
            raise InvalidHash("vPDQ needs at least one frame")
        if len(frames) > MAX_VPDQ_FRAMES:
            raise InvalidHash(
                f"vPDQ may have at most {MAX_VPDQ_FRAMES} frames", RejectCode.HASH_TOO_MANY_FRAMES
            )
        return cls(tuple(VpdqFrame.parse(f) for f in frames))

    def __str__(self) -> str:
        return f"vpdq[{len(self.frames)} frames]"

    def frames_json(self) -> str:
        """The canonical JSON of the frame list: what the feed carries and the registry keys on."""
        return json.dumps([f.to_json() for f in self.frames], separators=(",", ":"), sort_keys=True)

    def to_json(self) -> dict[str, Any]:
        return {"type": "vpdq", "frames": [f.to_json() for f in self.frames]}


AnyHash = PdqHash | Md5Hash | Sha256Hash | VpdqHash | PdqWindowHash

_HASH_FIELDS = {
    "pdq": {"type", "value", "quality"},
    "md5": {"type", "value"},
    "sha256": {"type", "value"},
    "vpdq": {"type", "frames"},
    "pdq80": {"type", "value", "quality"},
    "pdq70": {"type", "value", "quality"},
}


def parse_hash(data: object) -> AnyHash:
    """Parse one wire-format hash object such as {"type": "pdq", "value": ..., "quality": ...}."""
    if not isinstance(data, dict):
        raise InvalidHash('a hash must be an object with a "type"')
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _HASH_FIELDS:  # a dict/list "type" is unhashable
        raise InvalidHash(
            f"unknown hash type {kind!r}; expected one of pdq, md5, sha256, vpdq, pdq80, pdq70",
            RejectCode.HASH_UNKNOWN_TYPE,
        )
    unknown = set(data) - _HASH_FIELDS[kind]
    if unknown:
        raise InvalidHash(f"unknown fields for a {kind} hash: {', '.join(sorted(map(str, unknown)))}")
    if kind == "vpdq":
        return VpdqHash.parse(data.get("frames"))
    if "value" not in data:
        raise InvalidHash(f'a {kind} hash needs a "value"')
    if kind == "pdq":
        return PdqHash.parse(data["value"], data.get("quality"))
    if kind in WINDOW_TYPES:
        return PdqWindowHash.parse(kind, data["value"], data.get("quality"))
    if kind == "md5":
        return Md5Hash.parse(data["value"])
    return Sha256Hash.parse(data["value"])


# -- case items -------------------------------------------------------------------------------

ItemKind = Literal["image", "video"]
MAX_HASHES_PER_ITEM = 20
MAX_ITEMS_PER_CASE = 100
ITEM_HASH_TYPES: dict[str, frozenset[str]] = {
    "image": frozenset({"pdq", "md5", "sha256", "pdq80", "pdq70"}),
    "video": frozenset({"vpdq", "md5", "sha256", "pdq"}),
}


@dataclass(frozen=True)
class CaseItem:
    """One picked photo or video as a case carries it: `{"kind": ..., "hashes": [...]}`."""

    kind: ItemKind
    hashes: tuple[AnyHash, ...]

    @classmethod
    def parse(cls, kind: object, hashes: object) -> CaseItem:
        if kind not in ITEM_HASH_TYPES:
            raise InvalidHash(f'kind must be "image" or "video", got {kind!r}', RejectCode.ITEM_BAD_KIND)
        if not isinstance(hashes, list) or not hashes:
            raise InvalidHash("an item needs at least one hash", RejectCode.ITEM_NO_HASHES)
        if len(hashes) > MAX_HASHES_PER_ITEM:
            raise InvalidHash(
                f"an item may carry at most {MAX_HASHES_PER_ITEM} hashes", RejectCode.ITEM_TOO_MANY_HASHES
            )
        parsed = []
        for n, data in enumerate(hashes):
            try:
                h = parse_hash(data)
            except InvalidHash as exc:
                raise InvalidHash(f"hash {n}: {exc}", exc.code) from None
            if h.type not in ITEM_HASH_TYPES[str(kind)]:
                raise InvalidHash(
                    f"hash {n}: a {kind} item cannot carry a {h.type} hash", RejectCode.ITEM_HASH_NOT_ALLOWED
                )
            parsed.append(h)
        return cls(kind, tuple(parsed))  # type: ignore[arg-type]

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "hashes": [h.to_json() for h in self.hashes]}


def case_body(items: Iterable[CaseItem]) -> dict[str, Any]:
    """The JSON body of `POST /v1/cases` for these items."""
    return {"items": [item.to_wire() for item in items]}


# -- the feed ---------------------------------------------------------------------------------

FeedOp = Literal["add", "remove", "state"]
FEED_OPS: tuple[str, ...] = ("add", "remove", "state")


class TrustState(StrEnum):
    """How far platforms have vouched for an entry. Changes travel on the feed as `state` entries.

    An entry is `unconfirmed` until a platform reviewer confirms it; disputes from several
    platforms with no confirmation make it `quarantined`: off the lists until an operator acts.
    """

    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    QUARANTINED = "quarantined"


TRUST_STATES: tuple[str, ...] = tuple(t.value for t in TrustState)


class InvalidFeedEntry(ValueError):
    """A feed item a node cannot apply (it is logged by seq and skipped)."""


@dataclass(frozen=True)
class FeedEntry:
    """One change to the shared hash list.

    - `add`: the entry joins the list (it carries the hash, and `trust`, normally unconfirmed);
    - `remove`: the entry left the list (every case holding it was withdrawn);
    - `state`: the entry's trust state changed to `trust`; `quarantined` means off the lists
      (a node stops matching it) until a later `state` entry restores it.

    The wire form is one flat JSON object, the same for every type:
    `{"seq", "op", "type", "value", "quality", "entry_id", "frames", "trust"}`; `frames` is the
    vPDQ frame list (null for other types and on `remove`/`state`); `trust` is left out on
    `remove`, and older registries leave it out everywhere (read as unconfirmed on `add`).
    """

    seq: int
    op: FeedOp
    entry_id: int
    type: str
    value: str
    quality: int | None = None
    frames: tuple[VpdqFrame, ...] | None = None
    trust: TrustState | None = None

    def to_wire(self, frames_json: str | None = None) -> str:
        """The entry as served. The registry stores this line with the row, so a page is one join.

        `frames_json` may pass the canonical frames JSON already made (it is the vPDQ's key).
        Safe to format by hand: every field is an integer, a fixed word, hex, or frames JSON.
        """
        q = "null" if self.quality is None else str(int(self.quality))
        if frames_json is None:
            frames_json = "null" if self.frames is None else VpdqHash(self.frames).frames_json()
        trust = "" if self.trust is None else f',"trust":"{TrustState(self.trust).value}"'
        return (
            f'{{"seq":{int(self.seq)},"op":"{self.op}","type":"{self.type}","value":"{self.value}",'
            f'"quality":{q},"entry_id":{int(self.entry_id)},"frames":{frames_json}{trust}}}'
        )

    @classmethod
    def parse(cls, data: object) -> FeedEntry:
        """Check one feed item as strictly as every other hash on the way in."""
        if not isinstance(data, dict):
            raise InvalidFeedEntry("a feed entry must be an object")
        seq, eid, op, kind = data.get("seq"), data.get("entry_id"), data.get("op"), data.get("type")
        for name, v in (("seq", seq), ("entry_id", eid)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 2**63:
                raise InvalidFeedEntry(f"{name} must be a positive whole number")
        if op not in FEED_OPS:
            raise InvalidFeedEntry(f"unknown op {op!r}")
        if kind not in FEED_TYPES:
            raise InvalidFeedEntry(f"unknown hash type {kind!r}")
        raw_trust = data.get("trust")
        if raw_trust is None:
            trust = TrustState.UNCONFIRMED if op == "add" else None
        elif raw_trust in TRUST_STATES:
            trust = TrustState(raw_trust)
        else:
            raise InvalidFeedEntry(f"unknown trust state {raw_trust!r}")
        if op == "state" and trust is None:
            raise InvalidFeedEntry("a state entry needs a trust state")
        value = data.get("value")
        try:
            if kind == "pdq":
                pdq = PdqHash.parse(value, data.get("quality"))
                return cls(seq, op, eid, "pdq", pdq.value, pdq.quality, None, trust)  # type: ignore[arg-type]
            if kind in WINDOW_TYPES:
                win = PdqWindowHash.parse(kind, value, data.get("quality"))
                return cls(seq, op, eid, kind, win.value, win.quality, None, trust)  # type: ignore[arg-type]
            if kind == "md5":
                return cls(seq, op, eid, "md5", Md5Hash.parse(value).value, None, None, trust)  # type: ignore[arg-type]
            key = _parse_hex(value, 64, "vPDQ key")
            frames = VpdqHash.parse(data.get("frames")).frames if op == "add" else None
            return cls(seq, op, eid, "vpdq", key, None, frames, trust)  # type: ignore[arg-type]
        except InvalidHash as exc:
            raise InvalidFeedEntry(str(exc)) from None

    @property
    def vpdq(self) -> VpdqHash | None:
        return None if self.frames is None else VpdqHash(self.frames)


def chain_start(epoch: str) -> str:
    """The running hash of an empty feed in this epoch (the registry's life since its creation)."""
    return hashlib.sha256(b"takeitdown-feed-v1:" + epoch.encode()).hexdigest()


def chain_next(previous: str, line: str) -> str:
    """The running hash after one more feed line: sha256(previous hash bytes || line)."""
    return hashlib.sha256(bytes.fromhex(previous) + line.encode()).hexdigest()


@dataclass(frozen=True)
class FeedPage:
    """`GET /v1/feed?after=N`: entries in seq order, `next` to pass back as `after`, and `more`.

    `epoch` names this registry's life (a new one after a reset); `base` is the running hash of
    the feed up to `after` and `head` up to `next` (`chain_next` over the served lines). A node
    keeps (epoch, next, head) with its cursor and resyncs from 0 when a page's epoch or base
    differs: the registry was reset or restored from a backup. Older registries send none (None).
    """

    entries: list[Any]  # raw items: a node parses each with FeedEntry.parse and skips bad ones
    next: int
    more: bool
    epoch: str | None = None
    base: str | None = None
    head: str | None = None

    @classmethod
    def parse(cls, data: object) -> FeedPage:
        if not isinstance(data, dict):
            raise InvalidFeedEntry("a feed page must be an object")
        entries, nxt, more = data.get("entries"), data.get("next"), data.get("more", False)
        if not isinstance(entries, list):
            raise InvalidFeedEntry("a feed page needs a list 'entries'")
        if isinstance(nxt, bool) or not isinstance(nxt, int) or nxt < 0:
            raise InvalidFeedEntry("a feed page needs a whole number 'next'")
        marks = {}
        for name in ("epoch", "base", "head"):
            v = data.get(name)
            if v is not None and (not isinstance(v, str) or not 1 <= len(v) <= 128):
                raise InvalidFeedEntry(f"a feed page's {name!r} must be a short string")
            marks[name] = v
        return cls(entries, nxt, bool(more), **marks)


# -- outcome reports --------------------------------------------------------------------------


class Outcome(StrEnum):
    """What a platform did about a feed entry, as it reports it back to the registry."""

    MATCH_FOUND = "match_found"  # a copy was found on the platform
    REMOVED = "removed"  # the copy was taken down
    UPLOAD_BLOCKED = "upload_blocked"  # a new upload was stopped before it was posted
    FALSE_POSITIVE = "false_positive"  # a reviewer found the match was not the same content


OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
MAX_REPORT_ID = 100
MAX_CONTENT_REF = 200
MAX_REPORTS_PER_BATCH = 1000
_REPORT_FIELDS = frozenset({"report_id", "entry_id", "outcome", "content_ref", "reviewed"})
# Outcomes that confirm an entry when a human reviewer decided them (`reviewed: true`).
CONFIRMING_OUTCOMES = frozenset({Outcome.REMOVED, Outcome.UPLOAD_BLOCKED})


class InvalidReport(ValueError):
    pass


@dataclass(frozen=True)
class Report:
    """`{"report_id", "entry_id", "outcome", "content_ref", "reviewed"}`: one outcome, idempotent
    per (platform, report_id). `content_ref` is the platform's own opaque id for the piece of
    content (never a URL a person could follow), so one piece counts once per outcome in a case's
    status. `reviewed` (default false) says a human reviewer made this decision: only a reviewed
    `removed` or `upload_blocked` confirms an entry (an automatic block at upload does not), and
    `false_positive` is by its nature a reviewer's decision, so it disputes the entry either way.
    `match_found` never changes an entry's trust.
    """

    report_id: str
    entry_id: int
    outcome: Outcome
    content_ref: str | None = None
    reviewed: bool = False

    @classmethod
    def parse(cls, item: object, require_content_ref: bool = False) -> Report:
        if not isinstance(item, dict):
            raise InvalidReport('a report must be an object {"report_id", "entry_id", "outcome"}')
        unknown = set(item) - _REPORT_FIELDS
        if unknown:
            raise InvalidReport(f"unknown report fields: {', '.join(sorted(map(str, unknown)))}")
        optional = {"reviewed"} if require_content_ref else {"reviewed", "content_ref"}
        missing = _REPORT_FIELDS - set(item) - optional
        if missing:
            raise InvalidReport(f"report is missing: {', '.join(sorted(missing))}")
        rid = item["report_id"]
        # printable only: a NUL is a 500 on PostgreSQL
        if not isinstance(rid, str) or not 1 <= len(rid) <= MAX_REPORT_ID or not rid.isprintable():
            raise InvalidReport(
                f"report_id must be a string of 1 to {MAX_REPORT_ID} printable characters (a UUID is best)"
            )
        eid = item["entry_id"]
        if isinstance(eid, bool) or not isinstance(eid, int) or not 1 <= eid < 2**63:  # SQL BIGINT
            raise InvalidReport("entry_id must be a positive whole number from the feed")
        if item["outcome"] not in OUTCOMES:
            raise InvalidReport(f"outcome must be one of {', '.join(OUTCOMES)}")
        ref = item.get("content_ref")
        if ref is not None and (
            not isinstance(ref, str) or not 1 <= len(ref) <= MAX_CONTENT_REF or not ref.isprintable()
        ):
            raise InvalidReport(
                f"content_ref must be a string of 1 to {MAX_CONTENT_REF} printable characters"
            )
        reviewed = item.get("reviewed", False)
        if not isinstance(reviewed, bool):
            raise InvalidReport("reviewed must be true or false")
        return cls(rid, eid, Outcome(item["outcome"]), ref, reviewed)

    @property
    def confirms(self) -> bool:
        """A human reviewer found the content is what the entry says (trust: confirmed)."""
        return self.reviewed and self.outcome in CONFIRMING_OUTCOMES

    @property
    def disputes(self) -> bool:
        """A reviewer found the match was not the same content."""
        return self.outcome is Outcome.FALSE_POSITIVE

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report_id": self.report_id,
            "entry_id": self.entry_id,
            "outcome": self.outcome.value,
        }
        if self.content_ref is not None:
            out["content_ref"] = self.content_ref
        if self.reviewed:
            out["reviewed"] = True
        return out


# -- problems (error bodies) ------------------------------------------------------------------


class ProblemCode(StrEnum):
    """Stable codes for every error a client can cause. Never renamed: pages translate by them."""

    BODY_NOT_JSON = "body.not_json"
    BODY_SHAPE = "body.shape"  # well-formed JSON of the wrong shape
    BODY_UNKNOWN_FIELD = "body.unknown_field"
    BODY_MISSING_FIELD = "body.missing_field"
    BODY_TOO_LARGE = "body.too_large"
    BODY_TOO_SLOW = "body.too_slow"
    UNSUPPORTED_MEDIA_TYPE = "body.media_type"
    QUERY_INVALID = "query.invalid"
    CROSS_SITE = "request.cross_site"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # busy or locked database, not ready: retry after a while
    INTERNAL = "internal"

    AUTH_MISSING = "auth.missing"
    AUTH_INVALID = "auth.invalid"

    CASE_NO_ITEMS = "case.no_items"
    CASE_TOO_MANY_ITEMS = "case.too_many_items"
    CASE_NOTHING_ACCEPTED = "case.nothing_accepted"
    CASE_NOT_FOUND = "case.not_found"
    IDEMPOTENCY_KEY_INVALID = "idempotency.key_invalid"
    IDEMPOTENCY_CONFLICT = "idempotency.conflict"

    CASE_TOO_MANY_FRAMES = "case.too_many_frames"

    FEED_CURSOR_PAST_END = "feed.cursor_past_end"
    REPORTS_TOO_MANY = "reports.too_many"
    REPORTS_RATE_LIMITED = "reports.rate_limited"

    HASH_INVALID = "hash.invalid"
    UPLOAD_UNREADABLE = "upload.unreadable"
    REVIEW_NOT_FOUND = "review.not_found"
    REVIEW_CONFLICT = "review.conflict"
    REVIEW_NO_PERSON = "review.no_person"  # a decision must name the person who made it
    REVIEW_REASON_MISSING = "review.reason_missing"
    REF_TOO_LONG = "ref.too_long"
    ACCOUNT_INVALID = "account.invalid"

    SIGNIN_FAILED = "signin.failed"
    SIGNIN_LOCKED = "signin.locked"
    CSRF_INVALID = "csrf.invalid"
    FORBIDDEN = "forbidden"  # signed in, but the role does not allow it
    USER_NOT_FOUND = "user.not_found"
    TAKEDOWN_INCOMPLETE = "takedown.incomplete"  # `missing` lists the absent elements
    TAKEDOWN_PII_UNREADABLE = "takedown.pii_unreadable"  # sealed under another key, or no key set


@dataclass(frozen=True)
class Problem:
    """An error body: `{"code": ..., "detail": ...}` plus any extra fields (`rejected`, ...)."""

    status: int
    code: ProblemCode | str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"code": str(self.code), "detail": self.detail, **self.extra}

    @classmethod
    def parse(cls, status: int, data: object) -> Problem:
        """Read an error body from another role, tolerating a body that is not a problem."""
        if isinstance(data, dict) and isinstance(data.get("detail"), str):
            code = data.get("code") if isinstance(data.get("code"), str) else "unknown"
            extra = {k: v for k, v in data.items() if k not in ("code", "detail")}
            return cls(status, str(code), data["detail"], extra)
        return cls(status, "unknown", f"HTTP {status}")


# The schema of a problem body, for the OpenAPI documents of both services.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "stable machine-readable code (ProblemCode)"},
        "detail": {"type": "string", "description": "one plain English sentence"},
    },
    "required": ["code", "detail"],
}


# -- webhooks: node -> the platform's own systems ----------------------------------------------
#
# The node POSTs each event as JSON {"id", "type", "created_at", "data"} with two headers:
# `X-Takeitdown-Timestamp` (Unix seconds when sent) and `X-Takeitdown-Signature`
# ("v1=" + hex HMAC-SHA256 over "<timestamp>." + the raw body, keyed with the shared secret).
# A receiver checks the signature in constant time, refuses a timestamp older than a few minutes
# (replays), and deduplicates by event id: delivery is at least once.

WEBHOOK_TIMESTAMP_HEADER = "X-Takeitdown-Timestamp"
WEBHOOK_SIGNATURE_HEADER = "X-Takeitdown-Signature"
WEBHOOK_EVENT_TYPES = (
    "upload.held",
    "upload.blocked",
    "review.decided",
    "retro.found",
    "entry.withdrawn",
    "entry.quarantined",
    "takedown.remove",
    "takedown.warning",
    "takedown.breach",
)
WEBHOOK_TOLERANCE_SECONDS = 300


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_webhook(
    secret: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    now: float,
    tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
) -> bool:
    """True if the signature is the secret's over this timestamp and body, and the timestamp is
    within `tolerance` seconds of `now`."""
    if not timestamp_header or not signature_header or not timestamp_header.isdigit():
        return False
    ts = int(timestamp_header)
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, ts, body), signature_header.strip())
