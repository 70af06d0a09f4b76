"""Matching: hashes (or a file) against the synced hash list and the local block list.

`Matcher.check_hashes` is a pure lookup; `Matcher.check_file` hashes first, with the PDQ of the 8
rotations and flips of an image so a rotated or mirrored repost is caught. The verdict follows a
`Policy` per match strength and per trust state of the entry matched (docs/node.md, "Policy"):

- a *strong* match (MD5 equal, PDQ distance <= 10, a vPDQ match when `vpdq_verdict` is block)
  to a *confirmed* entry: `on_confirmed` (default `block`, final);
- a strong match to an *unconfirmed* entry: `on_unconfirmed` (default `hold`; `block` blocks
  provisionally) and always a high-priority review whose decision is final;
- a *near* match (PDQ 11-31, vPDQ by default): `on_near` (default `hold`; `review` posts it and
  reviews later);
- a match to this platform's own block list (its reviewer removed that content): `block`, final;
- a window match (`pdq80`/`pdq70`, the window search of a cropped or framed upload): `hold` when
  both windows agree, `on_near` for one window; never a block, whatever the entry's trust.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from takeitdown.hashing import (
    PDQ_MIN_QUALITY,
    AnyHash,
    HashingError,
    Md5Hash,
    PdqHash,
    VpdqFrame,
    VpdqHash,
    VpdqMatch,
    classify,
    digest_bytes,
    digest_file,
    load_image,
    pdq_dihedral,
    vpdq_match,
)
from takeitdown.hashing.frames import distinct_stills, frame_count
from takeitdown.hashing.scenes import device_grid, query_sample
from takeitdown.node.index import PdqIndex
from takeitdown.node.picturesearch import MAX_SEARCHED_PICTURES, PictureSearch
from takeitdown.node.snapshot import HashLists, ListSnapshot
from takeitdown.node.store import Change, NodeStore
from takeitdown.node.windowsearch import WindowIndex
from takeitdown.protocol import WINDOW_TYPES, TrustState

# What each policy knob may say (node/config.py declares the variables; the first is the default).
ACTIONS = {
    "on_confirmed": ("block", "hold"),
    "on_unconfirmed": ("hold", "block"),
    "on_near": ("hold", "review"),
}


@dataclass(frozen=True)
class Policy:
    block_distance: int = 10
    review_distance: int = 31
    md5_blocks: bool = True
    vpdq_verdict: str = "review"  # how strong a vPDQ match is: "review" (near) or "block" (strong)
    vpdq_share: float = 0.8
    on_confirmed: str = "block"  # a strong match to a confirmed entry: "block" (final) or "hold"
    on_unconfirmed: str = "hold"  # a strong match to an unconfirmed entry: "hold" or "block" (reviewed)
    on_near: str = "hold"  # a near match: "hold" or "review" (posted, reviewed afterwards)

    def __post_init__(self) -> None:
        if not 0 <= self.block_distance <= self.review_distance <= 64:
            raise ValueError("need 0 <= block distance <= review distance <= 64")
        if self.vpdq_verdict not in ("review", "block"):
            raise ValueError('vPDQ verdict must be "review" or "block"')
        for name, allowed in ACTIONS.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")

    @classmethod
    def from_env(cls) -> Policy:
        """From node.config.POLICY; SettingsError names a bad variable, ValueError a bad mix."""
        from takeitdown.node.config import policy_values

        return cls(**policy_values())


@dataclass(frozen=True)
class Match:
    entry_id: int | None
    type: str
    distance: int
    source: str = "registry"  # "registry" (the shared list) or "local" (this platform's block list)
    # window matches (pdq80, pdq70) only: whether the other window agreed at the same place
    agreed: bool | None = None
    trust: str | None = None  # the registry entry's trust state (None for a local match)
    verdict: str = "allow"  # what this match alone gives under the policy
    final: bool = False  # whether that is final without a reviewer

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "entry_id": self.entry_id,
            "type": self.type,
            "distance": self.distance,
            "source": self.source,
            "trust": self.trust,
        }
        if self.agreed is not None:
            out["agreed"] = self.agreed
        return out


@dataclass
class Verdict:
    """What the node says about one upload.

    `verdict`: `allow` (post it), `review` (post it; a reviewer looks afterwards), `hold` (do not
    post it yet; a reviewer decides, high priority) or `block` (do not post it). `final` says
    whether that is the node's last word: true for `allow` and for a block on a confirmed or
    local entry; false for `review`, `hold` and a provisional block on an unconfirmed entry,
    which a reviewer decides (the decision is final: remove upholds, not_a_match releases).
    """

    verdict: str  # "allow" | "review" | "hold" | "block"
    matches: list[Match] = field(default_factory=list)
    md5: str | None = None
    pdq: str | None = None  # the item's own PDQ (original orientation)
    final: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "final": self.final, "matches": [m.to_json() for m in self.matches]}

    def registry_entry_ids(self) -> list[int]:
        return sorted({m.entry_id for m in self.matches if m.entry_id is not None})

    def final_block_entry_ids(self) -> list[int]:
        """The registry entries a final block stands on (they get `upload_blocked` at once)."""
        return sorted({m.entry_id for m in self.matches if m.final and m.verdict == "block" and m.entry_id})


@dataclass(frozen=True)
class ItemHashes:
    """What a file hashes to, for matching: MD5, and either PDQ variants or vPDQ."""

    md5: Md5Hash | None = None
    pdq: list[PdqHash] = field(default_factory=list)  # first = as stored; then rotations/flips
    vpdq: VpdqHash | None = None
    # The node's own sample of an uploaded video (`scenes.QuerySample.regular`): the query share
    # is taken over these frames. Not serialised: None means every frame (a device's vPDQ).
    vpdq_regular: VpdqHash | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "md5": self.md5.value if self.md5 else None,
            "pdq": [p.to_json() for p in self.pdq],
            "vpdq": self.vpdq.to_json() if self.vpdq else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ItemHashes:
        return cls(
            md5=Md5Hash.parse(d["md5"]) if d.get("md5") else None,
            pdq=[PdqHash.parse(p["value"], p.get("quality")) for p in d.get("pdq") or []],
            vpdq=VpdqHash.parse(d["vpdq"]["frames"]) if d.get("vpdq") else None,
        )


def hash_for_matching(source: str | Path | bytes) -> ItemHashes:
    """Hash a file (path or bytes) the way uploads and scans are matched. Pure: no state.

    The kind comes from `hashing.classify` (the first bytes), as on the device; anything that
    cannot be read raises a `HashingError`, never another exception. Every picture is checked as
    a photo: each distinct frame of an animation and each page of a multi-page file in its 8
    rotations and flips, and a video's frames (sampled densely, from a random phase, and at
    scene cuts: `hashing.scenes`) against photo entries as well as videos.
    """
    return _hash_with_pictures(source)[0]


def _hash_with_pictures(source: str | Path | bytes) -> tuple[ItemHashes, list[Image.Image]]:
    """The item's hashes and its decoded pictures (for the window search; none for a video)."""
    kind = classify(source)
    if isinstance(source, bytes):
        md5, _ = digest_bytes(source)
        if kind == "image":
            pdq, pictures = _picture_pdqs(source)
            return ItemHashes(md5=md5, pdq=pdq), pictures
        # PyAV wants a file: a private temporary one, deleted at once.
        with tempfile.NamedTemporaryFile(prefix="takeitdown-", suffix=".bin") as tmp:
            tmp.write(source)
            tmp.flush()
            sample = query_sample(tmp.name)
            return ItemHashes(md5=md5, vpdq=sample.frames, vpdq_regular=sample.regular), []
    md5, _ = digest_file(source)
    if kind == "image":
        pdq, pictures = _picture_pdqs(source)
        return ItemHashes(md5=md5, pdq=pdq), pictures
    sample = query_sample(source)
    return ItemHashes(md5=md5, vpdq=sample.frames, vpdq_regular=sample.regular), []


# Pictures of one multi-frame upload checked in all 8 orientations (each costs 8 lookups).
MAX_CHECKED_STILLS = 32


def _picture_pdqs(source: str | Path | bytes) -> tuple[list[PdqHash], list[Image.Image]]:
    """The first picture's 8 PDQs (original first), then those of every other distinct picture;
    and the pictures themselves."""
    if frame_count(source) <= 1:
        image = load_image(source)  # decoded once: the 8 PDQs come from one pass
        return pdq_dihedral(image), [image]
    out: list[PdqHash] = []
    pictures = []
    for still in distinct_stills(source)[:MAX_CHECKED_STILLS]:
        out += pdq_dihedral(still.image)
        pictures.append(still.image)
    if not out:
        raise HashingError("The image has no frames that could be decoded.")
    return out, pictures


def hashes_from_wire(hashes: list[AnyHash]) -> ItemHashes:
    md5 = next((h for h in hashes if isinstance(h, Md5Hash)), None)
    pdq = [h for h in hashes if isinstance(h, PdqHash)]
    vpdq = next((h for h in hashes if isinstance(h, VpdqHash)), None)
    return ItemHashes(md5=md5, pdq=pdq, vpdq=vpdq)


_RANK = {"allow": 0, "review": 1, "hold": 2, "block": 3}


class Matcher:
    """In-memory indexes over the node's database; updated as sync pages and reviews apply.

    Matching reads `lookups` (the database, or a `ListSnapshot` in a detached copy); `store` is
    for the rest of the node (scan progress, review) and is absent from a detached copy.
    """

    def __init__(self, store: NodeStore, policy: Policy | None = None) -> None:
        self.store = store
        self.lookups: HashLists = store
        self.policy = policy or Policy()
        thr = max(self.policy.review_distance, 31)
        # No labels: a PDQ value is one registry entry, found again through the database.
        self.pdq = PdqIndex(threshold=self.policy.review_distance, labelled=False)
        self.frames = PdqIndex(threshold=thr)  # every frame of every vPDQ entry, label = entry id
        self.blocked = PdqIndex(threshold=self.policy.review_distance)  # label = block-list row id
        self.windows = WindowIndex()  # pdq80 / pdq70 window entries, label = entry id
        self.confirmed: set[int] = set()  # live entries platforms confirmed; the rest are unconfirmed

    @classmethod
    def open(cls, database_url: str | None = None, policy: Policy | None = None) -> Matcher:
        """For platforms that embed the check: a matcher over a node database, loaded now."""
        from takeitdown.node.db import Database

        db = Database(database_url)
        db.migrate()
        m = cls(NodeStore(db), policy)
        m.load()
        return m

    def detached(self) -> Matcher:
        """A copy that needs no database, for scan workers elsewhere: the same indexes (shared,
        not copied) and a snapshot of every lookup. It pickles (the database handle stays here)."""
        twin = Matcher.__new__(Matcher)
        twin.__dict__.update(self.__dict__)
        del twin.store
        twin.lookups = ListSnapshot.of(self.lookups)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        if not isinstance(self.lookups, ListSnapshot):
            raise TypeError("a matcher over a database does not pickle: pickle matcher.detached()")
        state = dict(self.__dict__)
        state.pop("store", None)
        return state

    # -- loading and updates -------------------------------------------------------------------
    def load(self) -> None:
        """(Re)build every index from the database."""
        import numpy as np

        codes: list[str] = []
        labels: list[int] = []
        for batch in self.lookups.iter_entries("pdq"):
            codes += [e.value for e in batch]
            labels += [e.entry_id for e in batch]
        self.pdq.build(codes)
        codes, labels = [], []
        for batch in self.lookups.iter_entries("vpdq"):
            for e in batch:
                for f in _unique_frames(e.frames):
                    codes.append(f)
                    labels.append(e.entry_id)
        self.frames.build(codes, np.array(labels, dtype=np.int64))
        blocks = [(i, v) for i, kind, v in self.lookups.blocks() if kind == "pdq"]
        self.blocked.build([v for _, v in blocks], np.array([i for i, _ in blocks], dtype=np.int64))
        for kind, window in WINDOW_TYPES.items():
            codes, labels = [], []
            for batch in self.lookups.iter_entries(kind):
                codes += [e.value for e in batch]
                labels += [e.entry_id for e in batch]
            self.windows.index(window).build(codes, np.array(labels, dtype=np.int64))
        if hasattr(self, "store"):  # a detached copy keeps the set it was made with
            self.confirmed = self.store.confirmed_ids()

    def apply(self, changes: list[Change]) -> None:
        for ch in changes:
            e = ch.entry
            if ch.op == "unblock":  # a local block lifted (entry_id is the block row's id)
                if e.type == "pdq":
                    self.blocked.remove(e.entry_id, e.value)
                continue
            if ch.op != "remove" and e.trust == TrustState.CONFIRMED:
                self.confirmed.add(e.entry_id)
            else:
                self.confirmed.discard(e.entry_id)
            if ch.op == "trust":
                continue
            if e.type == "pdq":
                (self.pdq.add if ch.op == "add" else self.pdq.remove)(0, e.value)
            elif e.type in WINDOW_TYPES:
                index = self.windows.index(WINDOW_TYPES[e.type])
                (index.add if ch.op == "add" else index.remove)(e.entry_id, e.value)
            elif e.type == "vpdq":
                for f in _unique_frames(e.frames):
                    (self.frames.add if ch.op == "add" else self.frames.remove)(e.entry_id, f)
            # md5 entries are looked up in the database (indexed), nothing to hold in memory

    def add_blocks(self, rows: list[tuple[int, str, str]]) -> None:
        for bid, kind, value in rows:
            if kind == "pdq":
                self.blocked.add(bid, value)

    def size(self) -> dict[str, int]:
        return {
            "pdq": len(self.pdq),
            "vpdq_frames": len(self.frames),
            "local_pdq_blocks": len(self.blocked),
            "pdq80": len(self.windows.w80),
            "pdq70": len(self.windows.w70),
        }

    # -- matching ----------------------------------------------------------------------------------
    def check_file(self, source: str | Path | bytes) -> Verdict:
        """Hash a file (path or bytes) and match it. Raises HashingError on unreadable input.

        Besides the file's own hashes, the photo rectangles found in each picture (borders,
        bars, captions, screenshot chrome removed) are matched in 8 orientations, and the
        window search looks for a listed photo's centred windows (docs/matching.md)."""
        item, pictures = _hash_with_pictures(source)
        extra = PictureSearch(pictures[:MAX_SEARCHED_PICTURES], self.windows)
        if extra.pdqs:
            item = replace(item, pdq=item.pdq + extra.pdqs)
        verdict = self.check(item)
        # early exit: a whole-picture match already blocks; the search would add nothing
        window_matches = extra.matches() if verdict.verdict != "block" else []
        if window_matches:
            verdict.matches += [self._judge(m) for m in window_matches]
            verdict.verdict = max((m.verdict for m in verdict.matches), key=_RANK.__getitem__)
            verdict.final = any(m.final and m.verdict == verdict.verdict for m in verdict.matches)
        return verdict

    def check_hashes(self, hashes: list[AnyHash]) -> Verdict:
        return self.check(hashes_from_wire(hashes))

    def check(self, item: ItemHashes) -> Verdict:
        p = self.policy
        matches: list[Match] = []
        if item.md5 is not None:
            matches += [Match(eid, "md5", 0) for eid in sorted(self.lookups.md5_entries(item.md5.value))]
            md5_owners: set[int | None] = set()
            for named in self.lookups.block_md5(item.md5.value):
                md5_owners.update(named or [None])  # a local block matches even if it named no entry
            matches += [Match(eid, "md5", 0, "local") for eid in sorted(md5_owners, key=lambda e: e or 0)]
        queries = [h.value for h in item.pdq if h.quality is None or h.quality >= PDQ_MIN_QUALITY]
        if item.vpdq is not None:
            # A listed photo shown as (part of) a video: its frames are photos too.
            queries += sorted({f.pdq for f in item.vpdq.frames if f.q >= PDQ_MIN_QUALITY} - set(queries))
        if queries:
            near: dict[str, int] = {}
            for res in self.pdq.search(queries, p.review_distance):
                for code, d in res:
                    near[str(code)] = min(d, near.get(str(code), 999))
            best: dict[int, int] = {}
            for value, eids in self.lookups.pdq_entries(near).items():
                for eid in eids:
                    best[eid] = min(near[value], best.get(eid, 999))
            matches += [Match(eid, "pdq", d) for eid, d in sorted(best.items(), key=lambda x: (x[1], x[0]))]
            local: dict[int, int] = {}
            for res in self.blocked.search(queries, p.review_distance):
                for bid, d in res:
                    local[int(bid)] = min(d, local.get(int(bid), 999))
            if local:
                owners = self.lookups.block_entry_ids(local)
                seen: dict[int | None, int] = {}
                for bid, d in local.items():
                    ids: list[int | None] = list(owners.get(bid) or []) or [None]
                    for owner in ids:
                        seen[owner] = min(d, seen.get(owner, 999))
                matches += [Match(owner, "pdq", d, "local") for owner, d in seen.items()]
        if item.vpdq is not None:
            matches += self._vpdq(item.vpdq, item.vpdq_regular)
        matches = [self._judge(m) for m in matches]
        verdict = max((m.verdict for m in matches), key=_RANK.__getitem__, default="allow")
        final = verdict == "allow" or any(m.final and m.verdict == verdict for m in matches)
        return Verdict(
            verdict,
            matches,
            item.md5.value if item.md5 else None,
            item.pdq[0].value if item.pdq else None,
            final,
        )

    def _judge(self, m: Match) -> Match:
        """The match with its entry's trust state and what it gives under the policy."""
        p = self.policy
        if m.source == "local":  # this platform's reviewer removed that content: final
            return replace(m, verdict="block", final=True)
        trust = TrustState.CONFIRMED if m.entry_id in self.confirmed else TrustState.UNCONFIRMED
        if m.type in WINDOW_TYPES:
            # Never an automatic block, even on a confirmed entry: across 10M listed photos and
            # a billion uploads a year, unrelated pictures are expected to meet both windows
            # thousands of times (docs/matching.md, "False positives at scale"). Both windows
            # agreeing holds the upload for a reviewer; one window alone is a near match.
            verdict = "hold" if m.agreed else p.on_near
            return replace(m, trust=trust.value, verdict=verdict, final=False)
        if m.type == "md5":
            strong = p.md5_blocks
        elif m.type == "pdq":
            strong = m.distance <= p.block_distance
        else:
            strong = p.vpdq_verdict == "block"
        if not strong:
            verdict = p.on_near
        elif trust == TrustState.CONFIRMED:
            verdict = p.on_confirmed
        else:
            verdict = p.on_unconfirmed
        final = verdict == "block" and trust == TrustState.CONFIRMED
        return replace(m, trust=trust.value, verdict=verdict, final=final)

    def _vpdq(self, query: VpdqHash, regular: VpdqHash | None = None) -> list[Match]:
        frames = sorted({f.pdq for f in query.frames if f.q >= PDQ_MIN_QUALITY})
        cands: set[int] = set()
        if frames:
            for res in self.frames.search(candidate_frames(frames)):
                cands.update(int(eid) for eid, _ in res)
        out = []
        # The device's own sample of the query (1 fps from 0 s) is matched as well: against a
        # listed video sampled that way, it is what matches a copy whose picture moves fast
        # (docs/matching.md, "Sampling evasion"); the denser frames catch the rest.
        grid = device_grid(query)
        for eid, raw in sorted(self.lookups.vpdq_frames(cands).items()):
            target = VpdqHash(tuple(VpdqFrame.parse(f) for f in raw))
            vm = vpdq_match(query, target, threshold=self.policy.vpdq_share)
            if regular is not None and any(f.q >= PDQ_MIN_QUALITY for f in regular.frames):
                # the query share over the node's regular frames only (not the cuts: scenes.QuerySample)
                share = vpdq_match(regular, target, threshold=self.policy.vpdq_share).query_share
                ok = min(share, vm.target_share) >= self.policy.vpdq_share
                vm = VpdqMatch(share, vm.target_share, ok)
            if not vm.is_match and len(grid.frames) < len(query.frames):
                on_grid = vpdq_match(grid, target, threshold=self.policy.vpdq_share)
                vm = on_grid if on_grid.is_match else vm
            if vm.is_match:
                # distance for a video: 100 minus the smaller share, in percent (0 = every frame)
                out.append(Match(eid, "vpdq", round(100 * (1 - min(vm.query_share, vm.target_share)))))
        return out


# Query frames searched for candidate videos. A video matches only when at least `vpdq_share`
# (0.8 by default) of the query's distinct frames are near one of its frames, so a random sample
# of this many misses a true match with probability at most 0.2 ** 256 (0.5 ** 256 at a share of
# one half): never, in practice. The sample
# is drawn fresh for every check, so an uploader cannot arrange for it to miss. Without it a
# 36,000-frame query cost 36,000 lookups (2.4 CPU-s against a 36,000-frame list).
CANDIDATE_FRAMES = 256
_sampler = secrets.SystemRandom()


def candidate_frames(frames: list[str]) -> list[str]:
    """The distinct query frames to look up when finding candidate videos (all, if few)."""
    if len(frames) <= CANDIDATE_FRAMES:
        return frames
    return sorted(_sampler.sample(frames, CANDIDATE_FRAMES))


def _unique_frames(frames: list[dict[str, Any]] | None) -> list[str]:
    return sorted({f["pdq"] for f in frames or [] if int(f.get("q", 0)) >= PDQ_MIN_QUALITY})
