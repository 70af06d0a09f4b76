"""The Ray scan engine (`takeitdown node scan --engine ray [--ray-address ADDRESS]`).

Ray tasks on a cluster hash and match; the node only lists items and records results. How:

- The matcher goes to the cluster once: `ray.put(matcher.detached())` (the built PDQ indexes'
  arrays, which workers map from the object store without a copy, and a snapshot of the lookups).
  Tasks get the reference inside a list, so Ray does not resolve it per task; each worker process
  fetches it once and keeps it (`_matcher`).
- Items go in chunks (one task hashes and matches a few, so the per-task overhead is shared),
  at most `in_flight` chunks at a time (default: twice the cluster's CPUs): the manifest is read
  only as results come back, so memory stays bounded however big it is (back-pressure).
- A worker that dies mid-task loses nothing: Ray reruns the task (`max_retries`), and if the
  retries run out the engine submits the chunk again itself (`resubmits` times) before giving up
  with `ScanEngineError`. A result is yielded once, when its task's result is read, so each item
  is recorded once; what was not recorded when a scan stops is done by the next run (resume).

Ray is imported here only, and only when this engine runs: install the `ray` extra. The cluster's
workers need takeitdown (and the same Python packages) installed, like any Ray job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from takeitdown.node.matcher import Matcher
from takeitdown.node.scan import Item, ItemResult, chunks, hash_and_match

log = logging.getLogger("takeitdown.node")


class ScanEngineError(RuntimeError):
    """The cluster kept failing a chunk of items (nothing of it was recorded; a rerun resumes)."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ImportError("--engine ray needs Ray: pip install 'takeitdown[ray]'") from e
    return ray


# -- worker side -----------------------------------------------------------------------------------
_MATCHERS: dict[str, Matcher] = {}  # per worker process: object ref -> matcher, fetched once


def _matcher(box: list[Any]) -> Matcher:
    ref = box[0]
    key = ref.hex()
    m = _MATCHERS.get(key)
    if m is None:
        m = _ray().get(ref)
        _MATCHERS.clear()  # one scan's list at a time
        _MATCHERS[key] = m
    return m


def scan_chunk(box: list[Any], items: list[Item]) -> list[ItemResult]:
    """A task: hash and match a few items against the shipped matcher."""
    matcher = _matcher(box)
    return [hash_and_match(it, matcher) for it in items]


_REMOTE: Any = None


def _remote() -> Any:
    global _REMOTE
    if _REMOTE is None:
        _REMOTE = _ray().remote(num_cpus=1)(scan_chunk)
    return _REMOTE


# -- node side -------------------------------------------------------------------------------------
class RayEngine:
    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        chunk: int = 8,
        in_flight: int | None = None,
        max_retries: int = 3,
        resubmits: int = 3,
    ) -> None:
        self.address = address
        self.workers = workers
        self.chunk = chunk
        self.in_flight = in_flight
        self.max_retries = max_retries
        self.resubmits = resubmits
        self.resubmitted = 0  # chunks this engine sent again after Ray gave up on them
        _ray()  # fail now, with the install hint, rather than after listing the items

    def _connect(self) -> bool:
        """Join the cluster (or start one on this machine); True if we started the connection."""
        ray = _ray()
        if ray.is_initialized():
            return False
        try:
            ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
            raise ScanEngineError(f"could not start or join {where}: {e}") from e
        return True

    def cpus(self) -> int:
        return int(_ray().cluster_resources().get("CPU", 0))

    def describe(self) -> str:
        ray = _ray()
        n = self.cpus() if ray.is_initialized() else 0
        return f"a Ray cluster of {n} CPUs" if n else "a Ray cluster"

    def run(self, items: Iterable[Item], matcher: Matcher) -> Iterator[ItemResult]:
        ray = _ray()
        self._connect()
        limit = self.in_flight or 2 * (self.workers or max(self.cpus(), 1))
        box = [ray.put(matcher.detached())]
        task = _remote().options(max_retries=self.max_retries)
        pending: dict[Any, tuple[list[Item], int]] = {}
        todo = chunks(items, self.chunk)
        try:
            while True:
                for chunk in islice(todo, max(limit - len(pending), 0)):
                    pending[task.remote(box, chunk)] = (chunk, 0)
                if not pending:
                    return
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    chunk, tries = pending.pop(ref)
                    try:
                        results = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        if isinstance(e, ray.exceptions.RayTaskError) and not _is_system(e):
                            raise  # our own code failed: a bug, not a lost worker; show it
                        if tries >= self.resubmits:
                            raise ScanEngineError(
                                f"a chunk of {len(chunk)} items failed {tries + 1} times on the cluster "
                                f"({type(e).__name__}); nothing of it was recorded, run the scan again"
                            ) from e
                        log.warning("resubmitting %d items after %s", len(chunk), type(e).__name__)
                        self.resubmitted += 1
                        pending[task.remote(box, chunk)] = (chunk, tries + 1)
                        continue
                    yield from results
        finally:
            for ref in pending:
                ray.cancel(ref, force=False)
            del box


def _is_system(e: Exception) -> bool:
    """A task error that is the cluster's doing (a worker or node lost), not our code's."""
    ray = _ray()
    cause = getattr(e, "cause", None)
    return isinstance(cause, ray.exceptions.RayError)
