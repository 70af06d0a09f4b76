"""Scan content a platform already hosts: hash every item on every core, match, record, resume.

The per-item work is two pure functions, `hash_item` (item -> hashes, in worker processes) and
`Matcher.check` (hashes -> verdict, here), so a distributed engine can map `hash_item` later.
Results are recorded in batches, each batch in one transaction with its findings (which go to
the review queue), so a stopped scan resumes after the last recorded batch.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takeitdown.hashing import HashingError
from takeitdown.node.matcher import ItemHashes, Matcher, hash_for_matching


class ScanSourceError(ValueError):
    """A scan source we cannot read (clear message for the CLI)."""


@dataclass(frozen=True)
class Item:
    id: str
    path: str


@dataclass
class Summary:
    total: int = 0
    skipped: int = 0  # done by an earlier run
    scanned: int = 0
    errors: int = 0
    block: int = 0
    review: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def source_key(source: str | Path) -> str:
    return str(Path(source).resolve())


def iter_items(source: str | Path) -> Iterator[Item]:
    """A folder (every file below it, id = relative path) or a JSONL manifest of {"id", "path"}."""
    src = Path(source)
    if src.is_dir():
        for p in sorted(src.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                yield Item(str(p.relative_to(src)), str(p))
        return
    if not src.is_file():
        raise ScanSourceError(f"{source}: no such folder or manifest")
    base = src.parent
    with src.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                item_id, path = str(rec["id"]), str(rec["path"])
            except (ValueError, KeyError, TypeError) as e:
                raise ScanSourceError(f'{source} line {n}: expected {{"id": ..., "path": ...}} ({e})') from e
            p = Path(path)
            yield Item(item_id, str(p if p.is_absolute() else base / p))


def hash_item(item: Item) -> tuple[Item, dict[str, Any] | None, str | None]:
    """Pure: an item -> its hashes (as JSON) or an error message."""
    try:
        return item, hash_for_matching(item.path).to_json(), None
    except HashingError as e:
        return item, None, str(e)
    except OSError as e:
        return item, None, f"cannot read the file: {e.strerror or e}"


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def scan(
    source: str | Path, matcher: Matcher, workers: int | None = None, batch: int = 64, progress: Any = None
) -> Summary:
    key = source_key(source)
    items = list(iter_items(source))
    done = matcher.store.scan_done(key)
    todo = [it for it in items if it.id not in done]
    summary = Summary(total=len(items), skipped=len(items) - len(todo))
    started = time.perf_counter()
    if progress is not None:
        progress.start(len(todo))
    results: list[dict[str, Any]] = []
    findings: list[tuple[str, str | None, str | None, list[dict[str, Any]]]] = []

    def flush() -> None:
        matcher.store.record_scan(key, results, findings)
        results.clear()
        findings.clear()

    def handle(item: Item, hashes: dict[str, Any] | None, error: str | None) -> None:
        if hashes is None:
            summary.errors += 1
            results.append({"item_id": item.id, "ok": False, "verdict": None, "error": error})
        else:
            v = matcher.check(ItemHashes.from_json(hashes))
            results.append({"item_id": item.id, "ok": True, "verdict": v.verdict, "error": None})
            if v.verdict != "allow":
                setattr(summary, v.verdict, getattr(summary, v.verdict) + 1)
                findings.append((item.id, v.md5, v.pdq, [m.to_json() for m in v.matches]))
        summary.scanned += 1
        if progress is not None:
            progress.advance()
        if len(results) >= batch:
            flush()

    n = workers or os.cpu_count() or 1
    if n <= 1 or len(todo) < 2:
        for it in todo:
            handle(*hash_item(it))
    else:
        ctx = mp.get_context("spawn")  # no fork of a process holding threads and an index
        with ctx.Pool(n, initializer=_init_worker) as pool:
            for res in pool.imap_unordered(hash_item, todo, chunksize=4):
                handle(*res)
    flush()
    summary.seconds = time.perf_counter() - started
    return summary
