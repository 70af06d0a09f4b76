"""Prometheus metrics of one registry app (its own registry, so tests can run several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics

disable_created_metrics()  # the *_created series only add noise here


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "takeitdown_registry_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.cases_created = Counter("takeitdown_registry_cases_created", "Cases created", registry=r)
        self.cases_withdrawn = Counter("takeitdown_registry_cases_withdrawn", "Cases withdrawn", registry=r)
        self.items_rejected = Counter(
            "takeitdown_registry_items_rejected", "Submitted items rejected", registry=r
        )
        self.rate_limited = Counter(
            "takeitdown_registry_rate_limited", "Case submissions rate limited", registry=r
        )
        # The hash list is sensitive: every read of it is counted, by platform.
        self.feed_reads = Counter(
            "takeitdown_registry_feed_reads", "Feed pages read", ["platform"], registry=r
        )
        self.feed_entries = Counter(
            "takeitdown_registry_feed_entries_served", "Feed entries served", ["platform"], registry=r
        )
        self.auth_failures = Counter(
            "takeitdown_registry_platform_auth_failures",
            "Requests with a missing or bad platform key",
            registry=r,
        )
        self.reports = Counter(
            "takeitdown_registry_reports", "Outcome reports accepted", ["outcome"], registry=r
        )
        self.report_duplicates = Counter(
            "takeitdown_registry_report_duplicates", "Outcome reports already received", registry=r
        )
