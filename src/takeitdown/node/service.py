"""One running node: database, matcher, sync and outbox threads, and the upload-time check.

Platforms can embed it instead of calling the HTTP API:

    node = Node(NodeSettings.from_env(registry_url="https://registry.example"))
    node.start()                      # sync + outbox threads
    checked = node.check_upload(data) # bytes or path; .verdict.verdict: allow / review / hold / block
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from takeitdown.node import config
from takeitdown.node.audit import AuditLog
from takeitdown.node.backoff import Backoff
from takeitdown.node.console import ReviewDesk
from takeitdown.node.db import Database
from takeitdown.node.events import EventOutbox
from takeitdown.node.index import warm_up
from takeitdown.node.inventory import Inventory
from takeitdown.node.matcher import ItemHashes, Matcher, Policy, Verdict, hash_for_matching, hashes_from_wire
from takeitdown.node.metrics import NodeMetrics
from takeitdown.node.outbox import OutboxSender
from takeitdown.node.pii import Sealer
from takeitdown.node.store import PRIORITY_HIGH, Change, NodeStore, content_ref, new_ref
from takeitdown.node.sync import Syncer
from takeitdown.node.takedown import Copy, inventory_copy_finder, inventory_hashes
from takeitdown.node.takedown import Desk as TakedownDesk
from takeitdown.node.takedown_ticker import DeskTicker
from takeitdown.node.users import Users
from takeitdown.node.webhooks import WebhookSender
from takeitdown.protocol import AnyHash
from takeitdown.settings import SettingsError

log = logging.getLogger("takeitdown.node")
READY_AFTER_FAILURES = 3  # one failed poll is weather; three in a row is an outage


class ConfigError(ValueError):
    """A setting the node cannot start with (clear message for the CLI)."""


@dataclass
class NodeSettings:
    registry_url: str
    api_key: str
    database_url: str | None = None
    policy: Policy = field(default_factory=Policy)
    poll_seconds: float = 10.0
    page_size: int = 1000
    outbox_seconds: float = 5.0
    max_upload_bytes: int = 50 * 2**20
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    max_lag_seconds: float = 600.0
    pii_retention_days: float = 30.0
    takedown_rate_per_minute: float = 6.0
    takedown_abandon_days: float = 30.0
    takedown_tick_seconds: float = 60.0
    platform_name: str | None = None
    takedown_notice: str | None = None
    console: dict[str, Any] = field(default_factory=lambda: config.console_values({}))
    max_page_bytes: int = 8 * 2**20
    max_concurrent_checks: int = 2
    check_wait_seconds: float = 5.0
    body_timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls, registry_url: str, database_url: str | None = None) -> NodeSettings:
        """Every node variable validated (node/config.py); ConfigError names what is wrong."""
        if not registry_url.startswith(("http://", "https://")):
            raise ConfigError(f"--registry must be an http(s) URL, got {registry_url!r}")
        try:
            key = config.api_key()
            policy = Policy.from_env()
            values = config.sync_values()
            console = config.console_values()
            url = config.database_url(database_url)
        except SettingsError as e:
            raise ConfigError(str(e)) from e
        except ValueError as e:  # the policy's own cross-checks
            raise ConfigError(f"bad matching policy: {e}") from e
        if values["backoff_base"] > values["backoff_cap"]:
            raise ConfigError(
                "TAKEITDOWN_NODE_BACKOFF_BASE must not be larger than TAKEITDOWN_NODE_BACKOFF_CAP"
            )
        return cls(
            registry_url=registry_url.rstrip("/"),
            api_key=key,
            database_url=url,
            policy=policy,
            poll_seconds=values["poll_seconds"],
            page_size=values["page_size"],
            outbox_seconds=values["outbox_seconds"],
            max_upload_bytes=int(values["max_upload_mb"] * 2**20),
            backoff_base=values["backoff_base"],
            backoff_cap=values["backoff_cap"],
            max_lag_seconds=values["max_lag_seconds"],
            console=console,
            pii_retention_days=values["pii_retention_days"],
            takedown_rate_per_minute=values["takedown_rate_per_minute"],
            takedown_abandon_days=values["takedown_abandon_days"],
            takedown_tick_seconds=values["takedown_tick_seconds"],
            platform_name=values["platform_name"],
            takedown_notice=values["takedown_notice"],
            max_page_bytes=int(values["max_page_mb"] * 2**20),
            max_concurrent_checks=values["max_concurrent_checks"],
            check_wait_seconds=values["check_wait_seconds"],
            body_timeout_seconds=values["body_timeout_seconds"],
        )


class Node:
    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.db.migrate()
        self.store = NodeStore(self.db)
        self.metrics = NodeMetrics()
        self.matcher = Matcher(self.store, settings.policy)
        started = time.perf_counter()
        self.matcher.load()
        log.info(
            "index loaded from the database in %.1fs: %s", time.perf_counter() - started, self.matcher.size()
        )
        log.info("search kernels ready in %.1fs", warm_up())  # compiled now, not on the first upload
        c = settings.console
        self.audit = AuditLog(self.db)
        self.events = EventOutbox(self.db)
        self.users = Users(self.db, c["session_minutes"], c["signin_attempts"], c["lockout_minutes"])
        self.inventory = Inventory(self.db, settings.policy.review_distance, settings.policy.vpdq_share)
        self.inventory.load()
        self.desk = ReviewDesk(self.store, self.audit, self.events, self.inventory)
        self.webhooks = WebhookSender(
            self.events,
            c["webhook_url"],
            c["webhook_secret"],
            max_attempts=c["webhook_max_attempts"],
            backoff_base=c["webhook_backoff_base"],
            backoff_cap=c["webhook_backoff_cap"],
        )
        self.client = httpx.Client(
            base_url=settings.registry_url,
            timeout=httpx.Timeout(30.0, connect=10.0),
            headers={"Authorization": f"Bearer {settings.api_key}"},
        )
        self.syncer = Syncer(
            self.store,
            self.matcher,
            self.client,
            self.metrics,
            settings.page_size,
            settings.poll_seconds,
            Backoff(settings.backoff_base, settings.backoff_cap),
            after_page=self._after_page,
            max_page_bytes=settings.max_page_bytes,
        )
        self.outbox = OutboxSender(
            self.store,
            self.client,
            self.metrics,
            settings.outbox_seconds,
            Backoff(settings.backoff_base, settings.backoff_cap),
        )
        # The TAKE IT DOWN Act desk: copies are searched in the inventory (likely ones go to the
        # review queue), removals go out as `takedown.remove` events and onto the local block
        # list, every step is in the audit log, and its clock runs in the background.
        self.takedown = TakedownDesk(
            self.db,
            Sealer.from_env(),
            find_copies=inventory_copy_finder(self.inventory),
            notify=self._emit,
            record=self.audit.append,
            retention=timedelta(days=settings.pii_retention_days),
            review_distance=settings.policy.review_distance,
            hashes_of=inventory_hashes(self.inventory),
            queue_review=self._review_copy,
            block=self._block,
            abandon_after=timedelta(days=settings.takedown_abandon_days),
        )
        self.desk_clock = DeskTicker(self.takedown, settings.takedown_tick_seconds)

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        self.events.emit(event, data)
        self.webhooks.wake()

    def _review_copy(self, request_id: str, copy: Copy) -> int:
        """A likely copy of a legal request's content: a high-priority review item (a legal
        deadline runs), naming the request, not the requester."""
        match = {"type": "pdq", "distance": copy.distance, "source": "takedown", "request_id": request_id}
        return self.store.add_review(
            "takedown", copy.ref, copy.md5, copy.pdq, [match], priority=PRIORITY_HIGH
        )

    def _block(self, values: list[tuple[str, str]], reason: str) -> int:
        rows = self.store.add_local_blocks(values, reason)
        self.matcher.add_blocks(rows)
        return len(rows)

    def start(self) -> None:
        self.syncer.start()
        self.outbox.start()
        self.webhooks.start()
        self.desk_clock.start()
        self.audit.prune(self.settings.console["audit_retention_days"])

    def stop(self) -> None:
        self.syncer.stop()
        self.outbox.stop()
        self.webhooks.stop()
        self.desk_clock.stop()
        self.client.close()
        self.db.dispose()

    # -- upload-time check --------------------------------------------------------------------------
    def _after_page(self, changes: list[Change]) -> None:
        """Entries that joined the list are matched against the inventory of hosted content."""
        try:
            self.desk.retro(changes)
        except Exception:  # noqa: BLE001 - retro-matching must never stop the sync
            log.exception("retro-matching a feed page failed")
        self.webhooks.wake()

    def check_upload(
        self, source: bytes | str | Path | list[AnyHash], ref: str | None = None, account: str | None = None
    ) -> Checked:
        """Match an upload and act on the verdict (docs/node.md, "Policy").

        `hold` and `block` are recorded as actions (`GET /v1/actions`); unless final, the upload
        goes to the review queue at high priority. A final block queues `upload_blocked` for the
        entries it stands on; `review` adds a normal review item. `ref` is the platform's id for
        the upload (its reports' content_ref); the node makes one when none is given.
        """
        item: ItemHashes = hashes_from_wire(source) if isinstance(source, list) else hash_for_matching(source)
        verdict = self.matcher.check(item)
        self.metrics.matches.labels(verdict.verdict).inc()
        ref = ref or new_ref()
        checked = Checked(verdict, ref)
        matches = [m.to_json() for m in verdict.matches]
        if verdict.verdict != "allow" and not verdict.final:
            # the same content sent again joins its open item instead of making a new one
            checked.review_id = self.desk.find_same_content(verdict.md5, verdict.pdq, "upload")
        if verdict.verdict in ("hold", "block"):
            checked.action_id, checked.review_id = self.store.record_action(
                verdict.verdict,
                verdict.final,
                content_ref(ref),
                verdict.md5,
                verdict.pdq,
                matches,
                verdict.final_block_entry_ids() if verdict.final else [],
                _why(verdict),
                checked.review_id,
            )
            if verdict.final:
                self.outbox.wake()
        elif verdict.verdict == "review" and checked.review_id is None:
            checked.review_id = self.store.add_review("upload", ref, verdict.md5, verdict.pdq, matches)
        if verdict.verdict != "allow":
            self.desk.upload_acted(verdict.verdict, ref, account, matches, checked.review_id)
            self.webhooks.wake()
        return checked

    def decide(
        self,
        review_id: int,
        decision: str,
        person: str | None = None,
        reason: str | None = None,
        policy_reason: str | None = None,
    ) -> dict[str, Any]:
        """A reviewer's decision: refused without a person; recorded with who and why.
        `policy_reason` (with remove) keeps the block if the entries are later withdrawn."""
        self.desk.check_decision(decision, person, reason)
        assert person is not None
        if decision == "escalate":
            return self.desk.escalate(review_id, person, reason or "")
        item, blocks = self.store.decide(review_id, decision, policy_reason)
        self.matcher.add_blocks(blocks)
        self.outbox.wake()
        out = self.desk.record_decision(item, decision, person, reason)
        if item.get("source") == "takedown":  # a likely copy the legal desk found
            self.takedown.copy_reviewed(review_id, decision, person)
        self.webhooks.wake()
        return out

    def readiness(self) -> list[str]:
        """Why this node should not take traffic now (empty: ready). For orchestrators' probes."""
        s = self.syncer
        reasons = []
        try:
            self.store.cursor()
        except Exception:  # noqa: BLE001 - any database failure means not ready
            reasons.append("the node database does not answer")
        if s.auth_refused:
            reasons.append("the registry refuses this node's API key (wrong, rotated or revoked)")
        elif s.consecutive_failures >= READY_AFTER_FAILURES:
            reasons.append(f"sync keeps failing: {s.last_error}")
        if s.last_success is None:
            reasons.append("the node has not synced with the registry yet")
        lag = s.lag_seconds()
        if s.resyncing:  # the registry was reset or restored: the list is being fetched again
            reasons.append(
                f"resyncing from scratch after the registry's feed diverged ({s.last_resync_reason})"
            )
        elif lag is not None and lag > self.settings.max_lag_seconds:
            reasons.append(f"the hash list is {lag:.0f} s behind (limit {self.settings.max_lag_seconds:g} s)")
        elif lag is None and s.last_success is not None:
            reasons.append("the node is still catching up with the registry's feed")
        return reasons

    def health(self) -> dict[str, Any]:
        s = self.syncer
        lag = s.lag_seconds()
        sizes = self.matcher.size()
        out = self.store.outbox_counts()
        self.metrics.refresh(lag, sizes, out, s.resyncing)
        return {
            "status": "ok",
            "sync": {
                "cursor": s.cursor,
                "last_success": _iso(s.last_success),
                "caught_up_at": _iso(s.caught_up_at),
                "lag_seconds": None if lag is None else round(lag, 3),
                "last_error": s.last_error,
                "epoch": s.epoch,
                "page_limit": s.limit,
                "resyncing": s.resyncing,
                "resyncs": s.resyncs,
                "last_resync_reason": s.last_resync_reason,
            },
            "entries": self.store.counts(),
            "trust": self.store.trust_counts(),
            "index": sizes,
            "outbox": {**out, "last_error": self.outbox.last_error},
            "inventory": {"items": self.inventory.count(), **self.inventory.size()},
            "webhooks": {
                "enabled": self.webhooks.enabled,
                **self.events.counts(),
                "last_error": self.webhooks.last_error,
            },
            "review": self.desk.counts(),
        }


@dataclass
class Checked:
    """An upload's verdict and what the node did about it."""

    verdict: Verdict
    ref: str  # the caller's ref, or the one the node made
    review_id: int | None = None
    action_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = {**self.verdict.to_json(), "ref": self.ref}
        if self.review_id is not None:
            out["review_id"] = self.review_id
        if self.action_id is not None:
            out["action_id"] = self.action_id
        return out


def _why(v: Verdict) -> str:
    """The action's reason in words, from the matches that gave the verdict."""
    giving = [m for m in v.matches if m.verdict == v.verdict]
    where = ", ".join(
        f"{m.source} {m.type} match to entry {m.entry_id} ({m.trust or 'local block'}, distance {m.distance})"
        for m in giving[:5]
    )
    if v.final:
        return f"blocked by policy: {where}"
    return f"{v.verdict} until a reviewer decides: {where}"


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat()
