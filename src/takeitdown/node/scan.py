"""Scan content a platform already hosts: hash every item, match, record, resume.

The per-item work is two pure functions, `hash_item` (item -> hashes) and `Matcher.check`
(hashes -> verdict). A `ScanEngine` (`engines.py`: a local process pool, or `ray_engine.py`: a Ray
cluster) maps them over the items; this module lists the items, skips those done before, and
records what comes back in batches, each batch in one transaction with its findings (which go to
the review queue), so a stopped scan resumes after the last recorded batch, whatever the engine.

Sources are a folder or a JSONL manifest of {"id", "path"}, on a local path or any fsspec URL
(`s3://`, `gs://`, ... where the filesystem package is installed; `file://` always).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takeitdown.hashing import HashingError
from takeitdown.node.inventory import MAX_REF, Inventory, InventoryItem
from takeitdown.node.matcher import ItemHashes, Matcher, Verdict, hash_for_matching
from takeitdown.node.store import NodeStore

if TYPE_CHECKING:
    from takeitdown.node.engines import ScanEngine


class ScanSourceError(ValueError):
    """A scan source we cannot read (clear message for the CLI)."""


@dataclass(frozen=True)
class Item:
    id: str
    path: str  # a local path or an fsspec URL


@dataclass(frozen=True)
class ItemResult:
    """One scanned item, as every engine hands it back: hashes or an error, and the verdict."""

    item: Item
    hashes: dict[str, Any] | None  # ItemHashes JSON
    error: str | None
    verdict: Verdict | None


@dataclass
class Summary:
    total: int = 0
    skipped: int = 0  # done by an earlier run
    scanned: int = 0
    errors: int = 0
    block: int = 0
    hold: int = 0
    review: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and "://" in source


def source_key(source: str | Path) -> str:
    return str(source) if is_url(source) else str(Path(source).resolve())


def _fsspec(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as e:
        raise ScanSourceError(f"{url}: reading URLs needs fsspec (pip install 'takeitdown[ray]')") from e
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as e:
        raise ScanSourceError(f"{url}: no filesystem for this URL here ({e})") from e


def iter_items(source: str | Path) -> Iterator[Item]:
    """A folder (every file below it, id = relative path) or a JSONL manifest of {"id", "path"}.

    Streams: a manifest of any size is read line by line (a folder's listing is sorted first)."""
    if is_url(source):
        yield from _iter_url_items(str(source))
        return
    src = Path(source)
    if src.is_dir():
        for p in sorted(src.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                yield Item(str(p.relative_to(src)), str(p))
        return
    if not src.is_file():
        raise ScanSourceError(f"{source}: no such folder or manifest")
    with src.open(encoding="utf-8") as f:
        for item_id, path in _manifest_lines(str(source), f):
            p = Path(path)
            yield Item(item_id, path if is_url(path) or p.is_absolute() else str(src.parent / p))


def _iter_url_items(url: str) -> Iterator[Item]:
    fs, root = _fsspec(url)
    try:
        is_dir = fs.isdir(root)
        is_file = not is_dir and fs.isfile(root)
    except OSError as e:
        raise ScanSourceError(f"{url}: cannot list it ({e})") from e
    if is_dir:
        root = root.rstrip("/")
        for p in sorted(fs.find(root)):
            rel = posixpath.relpath(p, root)
            if not posixpath.basename(p).startswith("."):
                yield Item(rel, fs.unstrip_protocol(p))
        return
    if not is_file:
        raise ScanSourceError(f"{url}: no such folder or manifest")
    base = fs.unstrip_protocol(posixpath.dirname(root))
    with fs.open(root, "rt", encoding="utf-8") as f:
        for item_id, path in _manifest_lines(url, f):
            yield Item(item_id, path if is_url(path) or path.startswith("/") else f"{base}/{path}")


def _manifest_lines(name: str, lines: Any) -> Iterator[tuple[str, str]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            yield str(rec["id"]), str(rec["path"])
        except (ValueError, KeyError, TypeError) as e:
            raise ScanSourceError(f'{name} line {n}: expected {{"id": ..., "path": ...}} ({e})') from e


def read_bytes(path: str) -> bytes:
    """The content at an fsspec URL (local paths are hashed from the file, not through here)."""
    import fsspec

    with fsspec.open(path, "rb") as f:
        return f.read()  # type: ignore[no-any-return]


def hash_item(item: Item) -> tuple[Item, dict[str, Any] | None, str | None]:
    """Pure: an item -> its hashes (as JSON) or an error message."""
    try:
        target: str | bytes = read_bytes(item.path) if is_url(item.path) else item.path
        return item, hash_for_matching(target).to_json(), None
    except HashingError as e:
        return item, None, str(e)
    except OSError as e:
        return item, None, f"cannot read the file: {e.strerror or e}"
    except ImportError as e:  # an fsspec URL whose filesystem package is not installed here
        return item, None, f"cannot read the file: {e}"
    except Exception as e:  # noqa: BLE001 - one bad file is recorded with its reason; the scan goes on
        return item, None, f"Unexpected error while hashing ({type(e).__name__})."


def hash_and_match(item: Item, matcher: Matcher) -> ItemResult:
    """Both pure steps for one item, where the hash list is at hand (a worker, or the node)."""
    return match_hashed(matcher, *hash_item(item))


def match_hashed(
    matcher: Matcher, item: Item, hashes: dict[str, Any] | None, error: str | None
) -> ItemResult:
    verdict = None if hashes is None else matcher.check(ItemHashes.from_json(hashes))
    return ItemResult(item, hashes, error, verdict)


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def done_key(item_id: str) -> str:
    """An item's key in the scan's resume record: its id, or a digest of an id too long to store
    (so an item with such an id is recorded once, as an error, and skipped when a scan resumes)."""
    if len(item_id) <= MAX_REF:
        return item_id
    return "sha256:" + hashlib.sha256(item_id.encode("utf-8", "surrogatepass")).hexdigest()


# Ids looked up in the node's database at a time: what a scan holds of the manifest, however big.
LOOKUP_CHUNK = 1000


@dataclass
class _Seen:
    """Keys handed to the engine and not yet recorded, and keys recorded since the last lookup:
    with the database, enough to scan an id listed twice once, in memory bounded by what is in
    flight (never by the size of the manifest)."""

    pending: set[str] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)

    def flushed(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.pending.discard(key)
            self.recorded.add(key)


def _todo(source: str | Path, store: NodeStore, key: str, seen: _Seen) -> Iterator[Item]:
    """Items not recorded before, looked up a chunk at a time."""
    for part in chunks(iter_items(source), LOOKUP_CHUNK):
        done = store.scan_done_among(key, [done_key(it.id) for it in part])
        seen.recorded.clear()  # from here on, the lookup above has them
        for it in part:
            k = done_key(it.id)
            if k in done or k in seen.pending or k in seen.recorded:
                continue
            seen.pending.add(k)
            yield it


def scan(
    source: str | Path,
    matcher: Matcher,
    workers: int | None = None,
    batch: int = 64,
    progress: Any = None,
    engine: ScanEngine | None = None,
    inventory: Inventory | None = None,
    rescan: bool = False,
) -> Summary:
    """Scan `source` with `engine` (default: a local pool of `workers` processes). Each item's
    hashes go to `inventory` (for retro-matching); `rescan` hashes every item again."""
    from takeitdown.node.engines import LocalEngine

    engine = engine or LocalEngine(workers)
    key = source_key(source)
    if len(key) > MAX_REF:
        raise ScanSourceError(f"a scan source's name is at most {MAX_REF} characters")
    if rescan:
        forget_scan(matcher.store, key)
    summary = Summary()
    for part in chunks(iter_items(source), LOOKUP_CHUNK):  # a counting pass: cheap next to hashing
        summary.total += len(part)
        done = matcher.store.scan_done_among(key, [done_key(it.id) for it in part])
        summary.skipped += sum(done_key(it.id) in done for it in part)
    seen = _Seen()
    started = time.perf_counter()
    if progress is not None:
        progress.start(summary.total - summary.skipped)
    results: list[dict[str, Any]] = []
    findings: list[tuple[str, str | None, str | None, list[dict[str, Any]]]] = []
    hosted: list[InventoryItem] = []

    def flush() -> None:
        if inventory is not None:  # first: an item recorded as done always has its hashes kept
            inventory.add_items(hosted)
        matcher.store.record_scan(key, results, findings)
        seen.flushed(r["item_id"] for r in results)
        results.clear()
        findings.clear()
        hosted.clear()

    for r in engine.run(_todo(source, matcher.store, key, seen), matcher):
        v = r.verdict
        if len(r.item.id) > MAX_REF:  # refused, not cut: a ref names the platform's content exactly
            summary.errors += 1
            error = f"the item id is longer than {MAX_REF} characters; give it a shorter one"
            results.append({"item_id": done_key(r.item.id), "ok": False, "verdict": None, "error": error})
        elif v is None:
            summary.errors += 1
            results.append({"item_id": r.item.id, "ok": False, "verdict": None, "error": r.error})
        else:
            results.append({"item_id": r.item.id, "ok": True, "verdict": v.verdict, "error": None})
            if r.hashes is not None:
                hosted.append(InventoryItem.from_hashes(key, r.item.id, r.hashes))
            if v.verdict != "allow":
                setattr(summary, v.verdict, getattr(summary, v.verdict) + 1)
                findings.append((r.item.id, v.md5, v.pdq, [m.to_json() for m in v.matches]))
        summary.scanned += 1
        if progress is not None:
            progress.advance()
        if len(results) >= batch:
            flush()
    flush()
    summary.seconds = time.perf_counter() - started
    return summary


def forget_scan(store: NodeStore, key: str) -> None:
    """`--rescan`: the source's items count as not done, so every one is hashed again."""
    from sqlalchemy import delete

    from takeitdown.node.schema import scan_results

    with store.db.write() as conn:
        conn.execute(delete(scan_results).where(scan_results.c.source == key))
