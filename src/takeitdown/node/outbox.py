"""Send queued outcomes to the registry: batched, retried with backoff, marked sent after a 2xx.

Each report carries a report_id made when it was queued; the registry counts a re-sent id as a
duplicate, so a crash between sending and marking sends it again without counting it twice.
"""

from __future__ import annotations

import logging

import httpx

from takeitdown.node.background import BackgroundLoop
from takeitdown.node.backoff import Backoff
from takeitdown.node.metrics import NodeMetrics
from takeitdown.node.store import NodeStore

log = logging.getLogger("takeitdown.node.outbox")

BATCH = 1000  # the registry's limit a request


class OutboxSender(BackgroundLoop):
    thread_name = "takeitdown-outbox"

    def __init__(
        self,
        store: NodeStore,
        client: httpx.Client,
        metrics: NodeMetrics,
        interval: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.client = client
        self.metrics = metrics
        self.interval = interval
        self.backoff = backoff or Backoff(base=1.0, cap=300.0)
        self.last_error: str | None = None

    def send_once(self) -> int:
        """Send one batch; returns how many rows left the outbox."""
        batch = self.store.unsent(BATCH)
        if not batch:
            return 0
        ids = [b["report_id"] for b in batch]
        try:
            r = self.client.post("/v1/reports", json={"reports": batch})
        except httpx.HTTPError as e:
            self.store.bump_attempts(ids)
            raise RuntimeError(f"registry unreachable: {e}") from e
        if not 200 <= r.status_code < 300:
            self.store.bump_attempts(ids)
            raise RuntimeError(f"registry answered HTTP {r.status_code} to reports")
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        rejected = body.get("rejected") or []
        for rej in rejected:
            # e.g. an entry withdrawn meanwhile: the registry will never take it, so do not retry
            i = rej.get("index")
            if isinstance(i, int) and 0 <= i < len(batch):
                log.info("registry rejected report %s: %s", batch[i]["report_id"], rej.get("reason"))
        self.store.mark_sent(ids)
        self.metrics.reports_sent.inc(len(ids) - len(rejected))
        self.metrics.reports_rejected.inc(len(rejected))
        return len(ids)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.send_once() == BATCH and not self._stop.is_set():
                    pass
                self.last_error = None
                self.backoff.reset()
                delay = self.interval
            except Exception as e:  # noqa: BLE001 - keep retrying; nothing is lost, rows stay queued
                self.last_error = str(e)
                delay = self.backoff.next_delay()
                log.warning("sending reports failed (%s); retrying in %.1fs", e, delay)
            self._sleep(delay)
