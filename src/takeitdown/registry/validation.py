"""Turn the items of a case submission into the distinct hashes to store.

An item with any bad hash is rejected as a whole (with the reason); the others still go in.
Beyond the wire format, the registry refuses what no real device makes: a distributable PDQ
whose bit count is far from half (PDQ thresholds at the median, so every hash of the
conformance set has exactly 128 of 256 bits set; an all-zero "quality 100" PDQ is junk that
would match nothing real, or be crafted), and videos longer than the frame caps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from takeitdown.protocol import (
    PDQ_MIN_QUALITY,
    AnyHash,
    CaseItem,
    InvalidHash,
    Md5Hash,
    PdqHash,
    PdqWindowHash,
    ProblemCode,
    RejectCode,
    Sha256Hash,
    VpdqHash,
)

# Bit counts a real, distributable PDQ can have: 128 +- 32 (measured: 128 on all 11,718 hashes
# of quality >= 50 in /work/shared/conformance, photos and video frames; docs/registry.md).
PDQ_MIN_BITS, PDQ_MAX_BITS = 96, 160


@dataclass(frozen=True)
class FrameCaps:
    """vPDQ frames per video and per case (TAKEITDOWN_MAX_VIDEO_FRAMES / _CASE_FRAMES)."""

    per_video: int = 1800
    per_case: int = 6000


def case_frames(pairs: list[tuple[object, list[Any]]]) -> int:
    """How many vPDQ frames the case carries in all (counted before anything is parsed)."""
    total = 0
    for _, hashes in pairs:
        for h in hashes:
            if isinstance(h, dict) and h.get("type") == "vpdq" and isinstance(h.get("frames"), list):
                total += len(h["frames"])
    return total


def check_plausible(parsed: AnyHash, max_video_frames: int) -> None:
    """InvalidHash for a hash no real device makes (see the module docstring)."""
    pdq = parsed.pdq if isinstance(parsed, PdqWindowHash) else parsed
    if isinstance(pdq, PdqHash) and pdq.is_distributable():
        bits = pdq.bit_count()
        if not PDQ_MIN_BITS <= bits <= PDQ_MAX_BITS:
            raise InvalidHash(
                f"this PDQ hash has {bits} of 256 bits set; a real PDQ has about half "
                f"({PDQ_MIN_BITS} to {PDQ_MAX_BITS})",
                RejectCode.HASH_IMPLAUSIBLE,
            )
    if isinstance(parsed, VpdqHash):
        if len(parsed.frames) > max_video_frames:
            raise InvalidHash(
                f"a video may carry at most {max_video_frames} frame hashes (one a second: "
                f"{max_video_frames // 60} minutes); got {len(parsed.frames)}",
                RejectCode.HASH_TOO_MANY_FRAMES,
            )
        for f in parsed.frames:
            if f.q >= PDQ_MIN_QUALITY and not PDQ_MIN_BITS <= f.hash.bit_count() <= PDQ_MAX_BITS:
                raise InvalidHash(
                    f"frame {f.i}: its PDQ has {f.hash.bit_count()} of 256 bits set; a real PDQ has "
                    f"about half ({PDQ_MIN_BITS} to {PDQ_MAX_BITS})",
                    RejectCode.HASH_IMPLAUSIBLE,
                )


@dataclass
class HashRow:
    """One distinct hash of a case: the feed key (type, value) and whether it is distributed."""

    type: str
    value: str
    quality: int | None
    frames: str | None  # vpdq: canonical JSON of the frame list
    listed: bool


@dataclass
class ParsedCase:
    items: int = 0
    hashes: dict[tuple[str, str], HashRow] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _row(parsed: AnyHash) -> HashRow:
    if isinstance(parsed, PdqHash):
        return HashRow("pdq", parsed.value, parsed.quality, None, parsed.is_distributable())
    if isinstance(parsed, PdqWindowHash):
        return HashRow(parsed.type, parsed.value, parsed.quality, None, parsed.is_distributable())
    if isinstance(parsed, Md5Hash):
        return HashRow("md5", parsed.value, None, None, True)
    if isinstance(parsed, Sha256Hash):
        return HashRow("sha256", parsed.value, None, None, False)
    assert isinstance(parsed, VpdqHash)
    frames = parsed.frames_json()
    return HashRow("vpdq", hashlib.sha256(frames.encode()).hexdigest(), None, frames, True)


def parse_items(items: list[tuple[object, list[Any]]], max_video_frames: int = 1800) -> ParsedCase:
    """Validate (kind, hashes) pairs; duplicates within the case merge into one row."""
    out = ParsedCase()
    for index, (kind, hashes) in enumerate(items):
        try:
            item = CaseItem.parse(kind, hashes)
            for n, h in enumerate(item.hashes):
                try:
                    check_plausible(h, max_video_frames)
                except InvalidHash as exc:
                    raise InvalidHash(f"hash {n}: {exc}", exc.code) from None
        except InvalidHash as exc:
            out.rejected.append({"index": index, "code": exc.code, "reason": str(exc)})
            continue
        out.items += 1
        for row in map(_row, item.hashes):
            key = (row.type, row.value)
            have = out.hashes.get(key)
            if have is None:
                out.hashes[key] = row
                continue
            have.listed = have.listed or row.listed
            if row.quality is not None and (have.quality is None or row.quality > have.quality):
                have.quality = row.quality
    return out


class BadRequest(ValueError):
    """The submission's shape is wrong (not one item: the whole request); a 422 with this text."""

    def __init__(self, message: str, code: ProblemCode = ProblemCode.BODY_SHAPE) -> None:
        super().__init__(message)
        self.code = code


def case_pairs(data: object) -> list[tuple[object, list[Any]]]:
    """Check the shape {"items": [{"kind": str, "hashes": [...]}]} and return (kind, hashes) pairs.

    Done by hand rather than by a pydantic model on the request: this is the hot path, and the
    messages stay as plain as we want them.
    """
    if not isinstance(data, dict):
        raise BadRequest(
            'The request body must be a JSON object such as {"items": [...]}, sent with '
            "Content-Type: application/json."
        )
    unknown = sorted(str(k) for k in data if k != "items")
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0]!r}.", ProblemCode.BODY_UNKNOWN_FIELD)
    if "items" not in data:
        raise BadRequest("Missing 'items'.", ProblemCode.BODY_MISSING_FIELD)
    items = data["items"]
    if not isinstance(items, list):
        raise BadRequest("items: must be a list of items.")
    pairs: list[tuple[object, list[Any]]] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f'items.{n}: must be an object {{"kind", "hashes"}}.')
        unknown = sorted(str(k) for k in item if k not in ("kind", "hashes"))
        if unknown:
            raise BadRequest(f"Unknown field 'items.{n}.{unknown[0]}'.", ProblemCode.BODY_UNKNOWN_FIELD)
        for name in ("kind", "hashes"):
            if name not in item:
                raise BadRequest(f"Missing 'items.{n}.{name}'.", ProblemCode.BODY_MISSING_FIELD)
        if not isinstance(item["kind"], str):
            raise BadRequest(f'items.{n}.kind: must be "image" or "video".')
        if not isinstance(item["hashes"], list):
            raise BadRequest(f"items.{n}.hashes: must be a list of hash objects.")
        pairs.append((item["kind"], item["hashes"]))
    return pairs
