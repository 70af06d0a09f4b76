"""Group commit for case submissions.

Submissions wait on a queue; writer threads take whatever is waiting (up to a batch) and store
it in one transaction. Under load this turns many small commits into a few larger ones; with
one request at a time it is one transaction per case as before. SQLite gets one writer thread
(it has one writer anyway), PostgreSQL several, whose transactions really do run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

from takeitdown.registry.store import Store
from takeitdown.registry.validation import ParsedCase

log = logging.getLogger("takeitdown.registry")

_Job = tuple[ParsedCase, "asyncio.Future[tuple[str, str]]", asyncio.AbstractEventLoop]


def _settle(fut: asyncio.Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    if fut.done():  # the client went away
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


class CaseWriter:
    def __init__(self, store: Store, threads: int, max_batch: int = 64) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"case-writer-{i}", daemon=True) for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    async def submit(self, case: ParsedCase) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[str, str]] = loop.create_future()
        self._queue.put((case, fut, loop))
        return await fut

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=10)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._store(batch)
            if stop:
                return

    def _store(self, batch: list[_Job]) -> None:
        try:
            made = self.store.create_cases([case for case, _, _ in batch])
        except Exception as exc:  # noqa: BLE001 - reported to each waiting request
            if len(batch) > 1:  # one bad apple must not fail the others: retry one by one
                for job in batch:
                    self._store([job])
                return
            log.error("storing a case failed: %s", type(exc).__name__)
            _, fut, loop = batch[0]
            loop.call_soon_threadsafe(_settle, fut, None, exc)
            return
        for (_, fut, loop), result in zip(batch, made, strict=True):
            loop.call_soon_threadsafe(_settle, fut, result)
