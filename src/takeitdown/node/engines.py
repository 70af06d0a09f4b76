"""Scan engines: who hashes (and matches) the items of a scan. `scan.scan` records what they return.

An engine takes the items still to do, lazily, and yields one `ItemResult` for each, in any
order, exactly once. It keeps a bounded number of items in flight, so a manifest of any size
runs in bounded memory. Two engines:

- `LocalEngine` (`--engine local`, the default): a pool of processes on this machine hashes;
  the node matches each result against its own indexes.
- `RayEngine` (`--engine ray`, in `ray_engine.py`, needs the `ray` extra): Ray tasks on a
  cluster hash and match, against a detached copy of the matcher shipped once.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from typing import Protocol

from takeitdown.node.matcher import Matcher
from takeitdown.node.scan import Item, ItemResult, chunks, hash_item, match_hashed

ENGINES = ("local", "ray")


class ScanEngine(Protocol):
    name: str

    def describe(self) -> str:
        """For the summary line, e.g. "2 processes" or "a Ray cluster of 8 CPUs"."""
        ...

    def run(self, items: Iterable[Item], matcher: Matcher) -> Iterator[ItemResult]:
        """Each item's result, in any order, exactly once."""
        ...


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _hash_chunk(items: list[Item]) -> list[tuple[Item, dict | None, str | None]]:
    return [hash_item(it) for it in items]


class LocalEngine:
    """Hashing in `workers` processes (every core by default), matching here."""

    name = "local"

    def __init__(self, workers: int | None = None, chunk: int = 4, in_flight: int = 4) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.chunk = chunk
        self.in_flight = in_flight  # chunks queued per process: enough to keep each one busy

    def describe(self) -> str:
        return f"{self.workers} process{'es' if self.workers != 1 else ''}"

    def run(self, items: Iterable[Item], matcher: Matcher) -> Iterator[ItemResult]:
        if self.workers <= 1:
            for it in items:
                yield match_hashed(matcher, *hash_item(it))
            return
        ctx = mp.get_context("spawn")  # no fork of a process holding threads and an index
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker) as pool:
            pending: set[Future[list[tuple[Item, dict | None, str | None]]]] = set()
            todo = chunks(items, self.chunk)
            limit = self.workers * self.in_flight
            while True:
                for chunk in islice(todo, limit - len(pending)):
                    pending.add(pool.submit(_hash_chunk, chunk))
                if not pending:
                    return
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    for res in fut.result():
                        yield match_hashed(matcher, *res)


def make_engine(name: str, workers: int | None = None, ray_address: str | None = None) -> ScanEngine:
    """The engine a `--engine` option names. Ray is imported only when asked for."""
    if name == "local":
        if ray_address:
            raise ValueError("--ray-address needs --engine ray")
        return LocalEngine(workers)
    if name == "ray":
        from takeitdown.node.ray_engine import RayEngine

        return RayEngine(address=ray_address, workers=workers)
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
