"""Typed hash values in the wire format of DESIGN.md.

Every value parses (validating length, hex and range), prints itself back in the same form and
compares by value. A bad value raises `InvalidHash` with a message a person can act on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

HashType = Literal["pdq", "md5", "sha256", "vpdq", "pdq80", "pdq70"]

PDQ_MATCH_THRESHOLD = 31
PDQ_MIN_QUALITY = 50

_HEX = re.compile(r"[0-9a-f]*")


class InvalidHash(ValueError):
    """A hash value that does not fit the wire format."""


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
    def from_bits(cls, bits: Any, quality: int | None = None) -> PdqHash:
        """From the 256 0/1 values `pdqhash.compute` returns, in the reference bit order."""
        import numpy as np

        return cls(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), quality)

    def as_int(self) -> int:
        return int(self.value, 16)

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
        unknown = set(data) - {"i", "t", "q", "pdq"}
        if unknown:
            raise InvalidHash(f"unknown vPDQ frame fields: {', '.join(sorted(map(str, unknown)))}")
        missing = {"i", "t", "q", "pdq"} - set(data)
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


MAX_VPDQ_FRAMES = 36_000  # ten hours at one frame a second


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
            raise InvalidHash(f"vPDQ may have at most {MAX_VPDQ_FRAMES} frames")
        return cls(tuple(VpdqFrame.parse(f) for f in frames))

    def __str__(self) -> str:
        return f"vpdq[{len(self.frames)} frames]"

    def to_json(self) -> dict[str, Any]:
        return {"type": "vpdq", "frames": [f.to_json() for f in self.frames]}


AnyHash = PdqHash | Md5Hash | Sha256Hash | VpdqHash | PdqWindowHash


def parse_hash(data: object) -> AnyHash:
    """Parse one wire-format hash object such as {"type": "pdq", "value": ..., "quality": ...}."""
    if not isinstance(data, dict):
        raise InvalidHash('a hash must be an object with a "type"')
    kind = data.get("type")
    allowed = {
        "pdq": {"type", "value", "quality"},
        "md5": {"type", "value"},
        "sha256": {"type", "value"},
        "vpdq": {"type", "frames"},
        "pdq80": {"type", "value", "quality"},
        "pdq70": {"type", "value", "quality"},
    }
    if not isinstance(kind, str) or kind not in allowed:  # a dict/list "type" is unhashable
        raise InvalidHash(f"unknown hash type {kind!r}; expected one of pdq, md5, sha256, vpdq, pdq80, pdq70")
    unknown = set(data) - allowed[kind]
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
