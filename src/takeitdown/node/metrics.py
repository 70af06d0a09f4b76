"""Prometheus metrics of one node (own registry, so several nodes can live in one process)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sync_lag = Gauge(
            "takeitdown_node_sync_lag_seconds",
            "Seconds since the node last held the registry's whole list",
            registry=r,
        )
        self.last_success = Gauge(
            "takeitdown_node_sync_last_success_timestamp_seconds",
            "Unix time of the last feed page read without error",
            registry=r,
        )
        self.entries_applied = Counter(
            "takeitdown_node_sync_entries_total", "Feed entries applied", registry=r
        )
        self.sync_errors = Counter("takeitdown_node_sync_errors_total", "Feed reads that failed", registry=r)
        self.resyncs = Counter(
            "takeitdown_node_sync_resyncs_total",
            "Resyncs from scratch after the registry's feed diverged (reset or restored)",
            registry=r,
        )
        self.resyncing = Gauge(
            "takeitdown_node_sync_resyncing", "1 while a resync from scratch has not caught up", registry=r
        )
        self.entries = Gauge("takeitdown_node_entries", "Hashes held, by kind", ["kind"], registry=r)
        self.matches = Counter(
            "takeitdown_node_match_requests_total", "Match requests by verdict", ["verdict"], registry=r
        )
        self.reports_sent = Counter(
            "takeitdown_node_reports_sent_total", "Reports the registry accepted", registry=r
        )
        self.reports_rejected = Counter(
            "takeitdown_node_reports_rejected_total", "Reports the registry rejected", registry=r
        )
        self.outbox_pending = Gauge(
            "takeitdown_node_outbox_pending", "Reports waiting to be sent", registry=r
        )

    def synced(self, n: int, when: float) -> None:
        self.entries_applied.inc(n)
        self.last_success.set(when)

    def refresh(
        self, lag: float | None, sizes: dict[str, int], outbox: dict[str, Any], resyncing: bool = False
    ) -> None:
        self.sync_lag.set(lag if lag is not None else float("nan"))
        self.resyncing.set(1 if resyncing else 0)
        for kind, n in sizes.items():
            self.entries.labels(kind).set(n)
        self.outbox_pending.set(outbox.get("pending", 0))


def now() -> float:
    return time.time()
