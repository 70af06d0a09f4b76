"""One running node: database, matcher, sync and outbox threads, and the upload-time check.

Platforms can embed it instead of calling the HTTP API:

    node = Node(NodeSettings.from_env(registry_url="https://registry.example"))
    node.start()                      # sync + outbox threads
    checked = node.check_upload(data) # bytes or path; .verdict.verdict: allow / review / hold / block
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, event

from takeitdown.node import config
from takeitdown.node.audit import AuditLog
from takeitdown.node.backoff import Backoff
from takeitdown.node.console import ReviewDesk
from takeitdown.node.db import Database
from takeitdown.node.events import EventOutbox
from takeitdown.node.housekeeping import Housekeeper
from takeitdown.node.index import warm_up
from takeitdown.node.inventory import Inventory, NodeInventory
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


def _after_commit(conn: Connection | None, fn: Callable[[], Any]) -> None:
    """Run `fn` now (no transaction given), or when `conn`'s transaction commits (SQLAlchemy's
    `commit` event, as the COMMIT is sent): never for a step that rolls back, whose event and
    blocks were not written. A wake that comes a moment early costs at most the sender's next poll."""
    if conn is None:
        fn()
    else:
        event.listen(conn, "commit", lambda _conn: fn(), once=True)


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
    inventory_shards: int = 0  # 0: the inventory in this process's memory; N: N shards on Ray
    ray_address: str | None = None
    inventory_dir: Path | None = None  # None: config.inventory_dir's default
    inventory_shard_cpus: float = 1.0
    inventory_save_minutes: float = 60.0

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
            inv = config.inventory_values()
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
            inventory_shards=inv["inventory_shards"],
            ray_address=inv["ray_address"],
            inventory_dir=config.inventory_dir(inv["inventory_dir"], url),
            inventory_shard_cpus=inv["inventory_shard_cpus"],
            inventory_save_minutes=inv["inventory_save_minutes"],
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
        self.inventory = self._open_inventory()
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
        # The desk's clock (breaches, warnings, abandoned requests, the personal-data purge) runs in
        # the DeskTicker; the housekeeper keeps only the audit log's retention.
        self.desk_clock = DeskTicker(self.takedown, settings.takedown_tick_seconds)
        retention_days = c["audit_retention_days"]
        self.housekeeper = Housekeeper(
            [("audit retention", lambda: self.audit.prune(retention_days))],
            c.get("housekeeping_minutes", 60.0) * 60,
        )

    def _open_inventory(self) -> NodeInventory:
        """The inventory of hosted hashes: in this process's memory, or on Ray shards (then no
        hosted item's codes are loaded here)."""
        s = self.settings
        p = s.policy
        if not s.inventory_shards:
            local = Inventory(self.db, p.review_distance, p.vpdq_share)
            local.load()
            return local
        from takeitdown.node.ray_inventory import InventoryStartError, RayInventory

        directory = s.inventory_dir or config.inventory_dir(None, self.db.url)
        try:
            return RayInventory(
                self.db,
                s.inventory_shards,
                directory,
                p.review_distance,
                p.vpdq_share,
                cpus=s.inventory_shard_cpus,
                address=s.ray_address,
            )
        except (ImportError, InventoryStartError) as e:  # no ray: from_env says so first, an embedder here
            raise ConfigError(str(e)) from e

    def _emit(self, event: str, data: dict[str, Any], conn: Connection | None = None) -> None:
        """Queue a webhook event (with `conn`, in that transaction) and wake the sender (with
        `conn`, once the transaction commits: a rolled-back step sends nothing)."""
        self.events.emit(event, data, conn)
        _after_commit(conn, self.webhooks.wake)

    def _review_copy(self, request_id: str, copy: Copy, conn: Connection | None = None) -> int:
        """A likely copy of a legal request's content: a high-priority review item (a legal
        deadline runs), naming the request, not the requester; in the desk's transaction."""
        match = {"type": "pdq", "distance": copy.distance, "source": "takedown", "request_id": request_id}
        return self.store.add_review(
            "takedown", copy.ref, copy.md5, copy.pdq, [match], conn, priority=PRIORITY_HIGH
        )

    def _block(self, values: list[tuple[str, str]], reason: str, conn: Connection | None = None) -> int:
        """Block-list rows in the desk's transaction; the matcher takes them once it commits."""
        rows = self.store.add_local_blocks(values, reason, conn)
        _after_commit(conn, lambda: self.matcher.add_blocks(rows))
        return len(rows)

    def start(self) -> None:
        self.syncer.start()
        self.outbox.start()
        self.webhooks.start()
        self.desk_clock.start()  # the legal desk's clock, every TAKEITDOWN_NODE_TAKEDOWN_TICK_SECONDS
        self.housekeeper.start()  # audit retention: at once, then every TAKEITDOWN_NODE_HOUSEKEEPING_MINUTES
        start = getattr(self.inventory, "start", None)
        if start is not None:  # shards: rows a scan adds are fed between feed pages too, and saved
            start(self.settings.poll_seconds, self.settings.inventory_save_minutes * 60)

    def stop(self) -> None:
        self.syncer.stop()
        self.outbox.stop()
        self.webhooks.stop()
        self.desk_clock.stop()
        self.housekeeper.stop()
        self.inventory.close()  # shards: saved, their actors ended
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
        if verdict.verdict != "allow":
            # the action, its review item, its audit row and its event commit together
            with self.db.write() as conn:
                if not verdict.final:  # the same content sent again joins its open item
                    checked.review_id = self.store.same_content(conn, verdict.md5, verdict.pdq, "upload")
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
                        account,
                        conn,
                    )
                else:  # review: posted, and a reviewer looks at it
                    rid = checked.review_id
                    if rid is None or not self.store.join_review(conn, rid, "upload", ref, matches, account):
                        rid = self.store.add_review(
                            "upload", ref, verdict.md5, verdict.pdq, matches, conn, account=account
                        )
                    checked.review_id = rid
                self.desk.upload_acted(conn, verdict.verdict, ref, account, matches, checked.review_id)
            if verdict.final:
                self.outbox.wake()
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
        with self.db.write() as conn:  # the decision, its audit row and its event commit together
            item, blocks = self.store.decide(review_id, decision, policy_reason, conn)
            self.desk.record_decision(conn, item, decision, person, reason)
            if item.get("source") == "takedown":  # a likely copy the legal desk found: its request too
                self.takedown.copy_reviewed(review_id, decision, person, conn)
        self.matcher.add_blocks(blocks)
        self.outbox.wake()
        self.webhooks.wake()
        return self.desk.get(review_id)

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
