"""The lookups a match makes, taken from the node's database once, so a matcher can run far from it.

`Matcher.check` asks its lookups for the registry entries of an MD5 or of PDQ values, the local
blocks of an MD5, the entries a block named, and the frames of candidate videos. On the node
those are database queries (`NodeStore`); a scan worker on another machine has no database, so
`Matcher.detached()` answers them from a `ListSnapshot` instead: the same answers, in memory,
pickled once with the matcher's indexes (and shipped once through Ray's object store).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from takeitdown.node.store import Entry


class HashLists(Protocol):
    """What `Matcher` reads: the synced list and the local block list (NodeStore implements it)."""

    def iter_entries(self, kind: str, batch: int = 50_000) -> Iterator[list[Entry]]: ...
    def blocks(self) -> list[tuple[int, str, str]]: ...
    def md5_entries(self, value: str) -> list[int]: ...
    def pdq_entries(self, values: Iterable[str]) -> dict[str, list[int]]: ...
    def vpdq_frames(self, entry_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]: ...
    def block_md5(self, value: str) -> list[list[int]]: ...
    def block_entry_ids(self, block_ids: Iterable[int]) -> dict[int, list[int]]: ...


@dataclass
class ListSnapshot:
    """Every answer `HashLists` can give, held in dicts (sized like the list: fine to millions)."""

    md5: dict[str, list[int]] = field(default_factory=dict)
    pdq: dict[str, list[int]] = field(default_factory=dict)
    vpdq: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    block_rows: list[tuple[int, str, str]] = field(default_factory=list)
    block_md5s: dict[str, list[list[int]]] = field(default_factory=dict)
    block_owners: dict[int, list[int]] = field(default_factory=dict)
    entries: dict[str, list[Entry]] = field(default_factory=dict)

    @classmethod
    def of(cls, lists: HashLists, with_entries: bool = False) -> ListSnapshot:
        """Read everything once. `with_entries` also keeps the entries (to rebuild indexes)."""
        snap = cls()
        for kind in ("md5", "pdq", "vpdq"):
            for batch in lists.iter_entries(kind):
                for e in batch:
                    if kind == "vpdq":
                        snap.vpdq[e.entry_id] = e.frames or []
                    else:
                        getattr(snap, kind).setdefault(e.value, []).append(e.entry_id)
                if with_entries:
                    snap.entries.setdefault(kind, []).extend(batch)
        snap.block_rows = list(lists.blocks())
        ids = [bid for bid, _, _ in snap.block_rows]
        snap.block_owners = dict(lists.block_entry_ids(ids))
        for bid, kind, value in snap.block_rows:
            if kind == "md5":
                snap.block_md5s.setdefault(value, []).append(list(snap.block_owners.get(bid) or []))
        return snap

    # -- HashLists ---------------------------------------------------------------------------
    def iter_entries(self, kind: str, batch: int = 50_000) -> Iterator[list[Entry]]:
        rows = sorted(self.entries.get(kind, []), key=lambda e: e.entry_id)
        for i in range(0, len(rows), batch):
            yield rows[i : i + batch]

    def blocks(self) -> list[tuple[int, str, str]]:
        return list(self.block_rows)

    def md5_entries(self, value: str) -> list[int]:
        return sorted(self.md5.get(value, []))

    def pdq_entries(self, values: Iterable[str]) -> dict[str, list[int]]:
        return {v: sorted(self.pdq[v]) for v in set(values) if v in self.pdq}

    def vpdq_frames(self, entry_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        return {e: self.vpdq[e] for e in set(entry_ids) if e in self.vpdq}

    def block_md5(self, value: str) -> list[list[int]]:
        return [list(x) for x in self.block_md5s.get(value, [])]

    def block_entry_ids(self, block_ids: Iterable[int]) -> dict[int, list[int]]:
        return {b: list(self.block_owners[b]) for b in set(block_ids) if b in self.block_owners}
