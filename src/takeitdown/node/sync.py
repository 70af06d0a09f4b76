"""Follow the registry feed in a background thread: pages apply atomically, the index follows."""

from __future__ import annotations

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

log = logging.getLogger("takeitdown.node.sync")


class FeedError(Exception):
    pass


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
        after_page: Callable[[list[Change]], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.matcher = matcher
        self.client = client
        self.metrics = metrics
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.backoff = backoff or Backoff(base=1.0, cap=300.0)
        self.last_success: float | None = None  # wall time of the last page read without error
        self.caught_up_at: float | None = None  # wall time we last saw `more: false`
        self.last_error: str | None = None
        self.auth_refused = False  # the registry refused our key: no retry will fix that
        self.consecutive_failures = 0
        self.cursor = store.cursor()
        self.after_page = after_page  # e.g. retro-matching the new entries against the inventory

    def lag_seconds(self) -> float | None:
        """Seconds since the node last held everything the registry had (None before the first time)."""
        return None if self.caught_up_at is None else max(0.0, time.time() - self.caught_up_at)

    def _fetch(self) -> dict[str, Any]:
        try:
            r = self.client.get("/v1/feed", params={"after": self.cursor, "limit": self.page_size})
        except httpx.HTTPError as e:
            raise FeedError(f"registry unreachable: {e.__class__.__name__}: {e}") from e
        if r.status_code in (401, 403):
            self.auth_refused = True
            raise FeedError(
                f"registry refused the API key (HTTP {r.status_code}); check TAKEITDOWN_NODE_API_KEY"
            )
        if r.status_code != 200:
            raise FeedError(f"registry answered HTTP {r.status_code}")
        try:
            body = r.json()
            if not isinstance(body.get("entries"), list) or not isinstance(body.get("next"), int):
                raise ValueError("missing entries/next")
        except ValueError as e:
            raise FeedError(f"unreadable feed page: {e}") from e
        return body

    def sync_once(self) -> bool:
        """Read and apply one page; True if the registry says there is more."""
        body = self._fetch()
        changes = self.store.apply_page(body["entries"], body["next"])  # entries + cursor: one commit
        self.matcher.apply(changes)
        if self.after_page is not None:
            self.after_page(changes)
        self.cursor = body["next"]
        self.last_success = time.time()
        more = bool(body.get("more"))
        if not more:
            self.caught_up_at = self.last_success
        self.metrics.synced(len(body["entries"]), self.last_success)
        return more

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
