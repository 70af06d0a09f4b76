"""Shapes that cross a role boundary, for the benchmarks, made through `takeitdown.protocol`.

- feed entries as a registry serves them: a node's store applies the parsed JSON items of a
  feed page (`NodeStore.apply_page`), so the benchmarks that load a node without a registry
  build those items from `FeedEntry.to_wire` (the trust field included);
- case items as a device sends them (`CaseItem.to_wire`, `POST /v1/cases`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

from takeitdown.protocol import CaseItem, FeedEntry, Md5Hash, PdqHash, TrustState, VpdqHash


def feed_add(
    seq: int,
    entry_id: int,
    type_: str,
    value: str,
    quality: int | None = None,
    frames: list[dict[str, Any]] | None = None,
    trust: TrustState = TrustState.UNCONFIRMED,
) -> dict[str, Any]:
    """One `add` item as a feed page carries it; `frames` is a vPDQ frame list (JSON form)."""
    parsed = None if frames is None else VpdqHash.parse(frames).frames
    entry = FeedEntry(seq, "add", entry_id, type_, value, quality, parsed, trust)
    return dict(json.loads(entry.to_wire()))


def feed_adds(hashes: Iterable[tuple[str, str, int | None]], first: int = 1) -> list[dict[str, Any]]:
    """An `add` for each (type, value, quality), seq and entry_id counting up from `first`."""
    return [
        feed_add(seq, seq, type_, value, quality)
        for seq, (type_, value, quality) in enumerate(hashes, start=first)
    ]


def random_image_item(quality: int = 90) -> dict[str, Any]:
    """A case item for one image: a random PDQ (about half its bits set, as the registry's
    plausibility check wants) and a random MD5."""
    pdq = PdqHash(secrets.token_hex(32), quality)
    return CaseItem("image", (pdq, Md5Hash(secrets.token_hex(16)))).to_wire()
