"""Follow the registry feed in a background thread: pages apply atomically, the index follows.

Two things no registry can do to a node:

- **Jam it.** A page is read as a stream and given up past `max_page_bytes`: the node then asks
  for half as many entries, down to one (a valid entry, 36,000 vPDQ frames, is ~5 MB), so any
  valid feed applies in bounded memory, and no single parse holds the interpreter for long.
- **Diverge from it quietly.** Each page's `epoch` and `base` (protocol.FeedPage) must match the
  epoch and running hash (`head`) the node kept with its cursor. A mismatch, or a cursor past
  the feed's end, means the registry was reset or restored from a backup: the node resyncs from
  scratch (entries cleared, cursor 0, index rebuilt; review history, blocks and actions kept)
  and, once caught up, lifts what stood only on entries the registry no longer has.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from takeitdown.node.background import BackgroundLoop
from takeitdown.node.backoff import Backoff
from takeitdown.node.matcher import Matcher
from takeitdown.node.metrics import NodeMetrics
from takeitdown.node.store import Change, NodeStore
from takeitdown.protocol import FeedPage, InvalidFeedEntry, ProblemCode

log = logging.getLogger("takeitdown.node.sync")

DEFAULT_MAX_PAGE_BYTES = 8 * 2**20


class FeedError(Exception):
    pass


class PageTooLarge(FeedError):
    pass


class Diverged(FeedError):
    """The registry's log is not the one the node followed (reset or restored)."""


class Syncer(BackgroundLoop):
    thread_name = "takeitdown-sync"

    def __init__(
        self,
        store: NodeStore,
        matcher: Matcher,
        client: httpx.Client,
        metrics: NodeMetrics,
        page_size: int = 1000,
        poll_seconds: float = 10.0,
        backoff: Backoff | None = None,
        max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
        after_page: Callable[[list[Change]], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.matcher = matcher
        self.client = client
        self.metrics = metrics
        self.page_size = page_size
        self.limit = page_size  # entries asked for: halved when a page is too large, grown back
        self.max_page_bytes = max_page_bytes
        self.after_page = after_page  # e.g. retro-matching the new entries against the inventory
        self.poll_seconds = poll_seconds
        self.backoff = backoff or Backoff(base=1.0, cap=300.0)
        self.last_success: float | None = None  # wall time of the last page read without error
        self.caught_up_at: float | None = None  # wall time we last saw `more: false`
        self.last_error: str | None = None
        self.auth_refused = False  # the registry refused our key: no retry will fix that
        self.consecutive_failures = 0
        mark = store.feed_mark()
        self.cursor = mark.cursor
        self.epoch, self.head = mark.epoch, mark.head
        self.resyncing = mark.sweep_due  # True from a divergence until the resync caught up
        self.resyncs = mark.resyncs
        self.last_resync_reason = mark.last_resync_reason

    def lag_seconds(self) -> float | None:
        """Seconds since the node last held everything the registry had (None before the first time)."""
        return None if self.caught_up_at is None else max(0.0, time.time() - self.caught_up_at)

    def _fetch(self) -> FeedPage:
        params = {"after": self.cursor, "limit": self.limit}
        try:
            with self.client.stream("GET", "/v1/feed", params=params) as r:
                if r.status_code in (401, 403):
                    self.auth_refused = True
                    raise FeedError(
                        f"registry refused the API key (HTTP {r.status_code}); check TAKEITDOWN_NODE_API_KEY"
                    )
                declared = r.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_page_bytes:
                    raise PageTooLarge(declared)
                chunks: list[bytes] = []
                size = 0
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > self.max_page_bytes:
                        raise PageTooLarge(str(size))
                    chunks.append(chunk)
                status = r.status_code
        except httpx.HTTPError as e:
            raise FeedError(f"registry unreachable: {e.__class__.__name__}: {e}") from e
        raw = b"".join(chunks)
        del chunks
        if status != 200:
            if status == 400 and _problem_code(raw) == ProblemCode.FEED_CURSOR_PAST_END:
                raise Diverged(f"the registry's feed ends before this node's cursor {self.cursor}")
            raise FeedError(f"registry answered HTTP {status}")
        try:
            return FeedPage.parse(json.loads(raw))
        except (ValueError, RecursionError, InvalidFeedEntry) as e:
            raise FeedError(f"unreadable feed page: {e}") from e

    def _check(self, page: FeedPage) -> None:
        """The page must continue the log this node followed (nothing to check with an older
        registry that sends no epoch, or before the node has seen one)."""
        if page.epoch is None or self.epoch is None:
            return
        if page.epoch != self.epoch:
            raise Diverged(f"the registry's epoch changed ({self.epoch[:16]}... to {page.epoch[:16]}...)")
        if page.base is not None and self.head is not None and page.base != self.head:
            raise Diverged(f"the registry's feed up to seq {self.cursor} is not the one this node applied")

    def resync(self, reason: str) -> None:
        """Start again from an empty list at cursor 0 (reviews, blocks and actions are kept)."""
        log.error("registry diverged (%s): resyncing from scratch", reason)
        self.store.start_resync(reason)
        self.matcher.load()
        self.cursor, self.epoch, self.head = 0, None, None
        self.resyncing = True
        self.resyncs += 1
        self.last_resync_reason = reason
        self.caught_up_at = None
        self.metrics.resyncs.inc()

    def sync_once(self) -> bool:
        """Read and apply one page; True if the registry says there is more."""
        try:
            page = self._fetch()
            self._check(page)
        except PageTooLarge:
            if self.limit == 1:
                raise FeedError(
                    f"one feed entry (after seq {self.cursor}) is larger than "
                    f"{self.max_page_bytes // 2**20} MB, more than any valid entry"
                ) from None
            self.limit = max(1, self.limit // 2)
            log.info("feed page over %d bytes: asking for %d entries", self.max_page_bytes, self.limit)
            return True
        except Diverged as e:
            self.resync(str(e))
            return True
        # entries + cursor + epoch/head: one commit
        changes = self.store.apply_page(page.entries, page.next, page.epoch, page.head)
        self.matcher.apply(changes)
        if self.after_page is not None:
            self.after_page(changes)
        self.cursor = page.next
        if page.epoch is not None:
            self.epoch, self.head = page.epoch, page.head
        self.last_success = time.time()
        n, more = len(page.entries), page.more
        del page, changes  # a big page's objects go before the next one is read
        if self.limit < self.page_size and n >= self.limit:
            self.limit = min(self.page_size, self.limit * 2)  # grow back; a large page halves it again
        self.metrics.synced(n, self.last_success)
        if not more:
            self._caught_up()
        return more

    def _caught_up(self) -> None:
        if self.resyncing:
            lifted = self.store.sweep_unlisted()
            self.matcher.apply(lifted)
            self.resyncing = False
            log.info(
                "resync caught up; lifted %d local blocks on entries the registry no longer has", len(lifted)
            )
        self.caught_up_at = self.last_success

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.sync_once()
                self.last_error = None
                self.auth_refused = False
                self.consecutive_failures = 0
                self.backoff.reset()
                if more:
                    continue
                delay = self.poll_seconds
            except Exception as e:  # noqa: BLE001 - a sync thread must survive anything and retry
                self.last_error = str(e)
                self.consecutive_failures += 1
                self.metrics.sync_errors.inc()
                delay = self.backoff.next_delay()
                log.warning("sync failed (%s); retrying in %.1fs", e, delay)
            self._sleep(delay)


def _problem_code(raw: bytes) -> str | None:
    try:
        body: Any = json.loads(raw)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
