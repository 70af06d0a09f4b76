"""The registry's data operations: cases, the feed, platforms, reports and trust.

Submissions, withdrawals and trust changes are stored at once but only mark their entries
`dirty`; the publisher (`publish_pending`, every TAKEITDOWN_PUBLISH_INTERVAL seconds) turns
every dirty entry into feed rows in one transaction, in random order, so a platform cannot
group one case's hashes by seq, entry id or time (docs/threat-model.md, "linking").

Every writing transaction that changes the feed ends the same way: it takes the single
`feed_counter` row (UPDATE ... RETURNING, which holds that row's lock until commit), gives its
feed rows the next seqs, inserts them and commits. So seqs are handed out in commit order and a
reader that sees seq N already sees every seq below N. docs/registry.md has the argument.

The hot paths use driver SQL (one statement for many rows) to keep round trips and Python
overhead low; the SQL is the same on SQLite and PostgreSQL except for the placeholder.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from takeitdown.protocol import (
    FEED_TYPES,
    OUTCOMES,
    FeedEntry,
    InvalidReport,
    RejectCode,
    Report,
    TrustState,
    chain_next,
    chain_start,
)
from takeitdown.registry import keys
from takeitdown.registry.db import Database
from takeitdown.registry.schema import (
    cases,
    entries,
    feed_counter,
    platforms,
    registry_epoch,
)
from takeitdown.registry.validation import ParsedCase

# op, entry_id, type, value, quality, frames, trust
FeedRow = tuple[str, int, str, str, "int | None", "str | None", "str | None"]
MAX_ROWS_PER_STATEMENT = 1000
MAX_PUBLISH_BATCH = 20_000  # dirty entries published per transaction (a backlog takes several)
T = TypeVar("T")
_random = secrets.SystemRandom()

UNKNOWN_ENTRY = "entry_id {} is not a live entry you have received from the feed"


def new_entry_id() -> int:
    """A random 63-bit id (1 .. 2**63-1): it tells nothing about when or with what it came."""
    return _random.randrange(1, 2**63)


def feed_line(
    seq: int,
    op: str,
    entry_id: int,
    type_: str,
    value: str,
    quality: int | None,
    frames: str | None,
    trust: str | None = None,
) -> str:
    """The JSON of one feed entry (protocol.FeedEntry's wire form), stored with the row so a
    feed page is one string join. `frames` is the canonical frames JSON the entry is keyed on."""
    entry = FeedEntry(
        seq,
        op,  # type: ignore[arg-type]
        entry_id,
        type_,
        value,
        quality,
        trust=None if trust is None else TrustState(trust),
    )
    return entry.to_wire(frames_json="null" if frames is None else frames)


def decide_trust(confirmations: int, disputers: int, override: str | None, threshold: int) -> str:
    """An entry's trust from its reviewed reports and the operator's word (docs/registry.md)."""
    if override == "quarantined":
        return TrustState.QUARANTINED.value
    if confirmations > 0:
        return TrustState.CONFIRMED.value
    if disputers >= threshold and override != "restored":
        return TrustState.QUARANTINED.value
    return TrustState.UNCONFIRMED.value


@dataclass
class FeedPageRows:
    lines: list[str]
    next: int
    more: bool
    epoch: str
    base: str | None  # None: the cursor is past the end of the feed
    head: str | None


class PlatformError(ValueError):
    """A platform admin command that cannot be done (clear message for the CLI)."""


class EntryError(ValueError):
    """An entry command (quarantine, restore) that cannot be done."""


@dataclass
class Platform:
    id: int
    name: str
    cursor: int


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _chunks(rows: Sequence[T], size: int = MAX_ROWS_PER_STATEMENT) -> list[Sequence[T]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


class Store:
    def __init__(
        self,
        db: Database,
        publish_at_once: bool = False,
        quarantine_disputes: int = 2,
        feed_max_bytes: int = 1024 * 1024,
        require_content_ref: bool = True,
    ) -> None:
        self.db = db
        self.ph = "?" if db.is_sqlite else "%s"
        self.sqlite = db.is_sqlite
        # True (TAKEITDOWN_PUBLISH_INTERVAL=0): each transaction publishes its own changes, which
        # links a case's hashes on the feed; for development and tests only.
        self.publish_at_once = publish_at_once
        self.quarantine_disputes = quarantine_disputes
        self.feed_max_bytes = feed_max_bytes
        self.require_content_ref = require_content_ref

    # -- plumbing -------------------------------------------------------------------------

    def _retry(self, work: Callable[[], T]) -> T:
        """Run a writing transaction again on a PostgreSQL deadlock or serialization failure."""
        for attempt in range(5):
            try:
                return work()
            except DBAPIError as exc:
                code = str(getattr(exc.orig, "sqlstate", "") or "")
                if code not in ("40P01", "40001") or attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _values(self, n_rows: int, n_cols: int) -> str:
        one = "(" + ",".join([self.ph] * n_cols) + ")"
        return ",".join([one] * n_rows)

    def _append_feed(self, conn: Connection, rows: list[FeedRow]) -> int:
        """Give `rows` (op, entry_id, type, value, quality, frames) the next seqs and insert
        them; must be the last step of the transaction (see the module docstring)."""
        if not rows:
            return 0
        last, chain = conn.exec_driver_sql(
            f"UPDATE feed_counter SET last_seq = last_seq + {self.ph} WHERE id = 1"
            " RETURNING last_seq, last_chain",
            (len(rows),),
        ).one()
        if chain is None:
            chain = chain_start(self._epoch(conn))
        first = last - len(rows) + 1
        params = []
        for i, (op, entry_id, type_, value, quality, frames, trust) in enumerate(rows):
            line = feed_line(first + i, op, entry_id, type_, value, quality, frames, trust)
            chain = chain_next(chain, line)
            params.append((first + i, op, entry_id, type_, value, quality, line, len(line), chain))
        for chunk in _chunks(params):
            flat = [v for row in chunk for v in row]
            conn.exec_driver_sql(
                "INSERT INTO feed (seq, op, entry_id, type, value, quality, line, bytes, chain) VALUES "
                + self._values(len(chunk), 9),
                tuple(flat),
            )
        conn.exec_driver_sql(f"UPDATE feed_counter SET last_chain = {self.ph} WHERE id = 1", (chain,))
        return int(last)

    def _epoch(self, conn: Connection) -> str:
        return str(conn.execute(select(registry_epoch.c.epoch).where(registry_epoch.c.id == 1)).scalar_one())

    def epoch(self) -> str:
        with self.db.read() as conn:
            return self._epoch(conn)

    def _change_live(
        self, conn: Connection, rows: list[tuple[str, str, int | None, str | None, int]]
    ) -> dict[tuple[str, str], tuple[int, int, int | None]]:
        """Upsert entries (type, value, quality, frames, delta) in (type, value) order.

        Taking the row locks in one global order is what keeps concurrent writers on PostgreSQL
        free of deadlocks. Returns (type, value) -> (entry_id, live after, quality).
        """
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
        out: dict[tuple[str, str], tuple[int, int, int | None]] = {}
        for chunk in _chunks(rows):
            # A new row takes a random id and is dirty when it is live; an old one becomes dirty
            # when `live` crosses zero (the publisher then adds or removes it).
            flat = [v for row in chunk for v in (new_entry_id(), *row, row[4] > 0)]
            result = conn.exec_driver_sql(
                "INSERT INTO entries (entry_id, type, value, quality, frames, live, dirty) VALUES "
                + self._values(len(chunk), 7)
                + " ON CONFLICT (type, value) DO UPDATE SET live = entries.live + excluded.live,"
                " quality = CASE WHEN entries.live = 0 AND excluded.live > 0"
                " THEN excluded.quality ELSE entries.quality END,"
                " dirty = CASE WHEN excluded.live <> 0 AND (entries.live = 0"
                " OR entries.live + excluded.live = 0) THEN TRUE ELSE entries.dirty END"
                " RETURNING entry_id, type, value, live, quality",
                tuple(flat),
            )
            for entry_id, type_, value, live, quality in result:
                out[(type_, value)] = (entry_id, live, quality)
        return out

    # -- cases ----------------------------------------------------------------------------

    def create_cases(self, parsed: Sequence[ParsedCase]) -> list[tuple[str, str]]:
        """Store cases in one transaction; returns (case_id, case_secret) for each, in order."""
        for attempt in range(3):
            try:
                return self._retry(lambda: self._create_cases(parsed))
            except IntegrityError:
                if attempt == 2:  # a case number collided three times running: not chance
                    raise
        raise AssertionError("unreachable")

    def _create_cases(self, parsed: Sequence[ParsedCase]) -> list[tuple[str, str]]:
        today = _today()
        made = []
        case_rows = []
        for case in parsed:
            case_id, secret = keys.new_case_id(), keys.new_secret()
            salt, digest = keys.hash_secret(secret)
            made.append((case_id, secret))
            case_rows.append((case_id, salt, digest, "active", case.items, today))
        # How many of these cases hold each hash in a listed form: the change to `live`.
        delta: dict[tuple[str, str], list[Any]] = {}
        for case in parsed:
            for key, row in case.hashes.items():
                add = 1 if row.listed and row.type in FEED_TYPES else 0
                have = delta.get(key)
                if have is None:
                    delta[key] = [row.type, row.value, row.quality if add else None, row.frames, add]
                else:
                    have[4] += add
                    if add and (have[2] is None or (row.quality or 0) > have[2]):
                        have[2] = row.quality
        with self.db.write() as conn:
            pks: list[int] = []
            for chunk in _chunks(case_rows):
                flat = [v for row in chunk for v in row]
                result = conn.exec_driver_sql(
                    "INSERT INTO cases (case_id, secret_salt, secret_hash, status, items, created_on) VALUES "
                    + self._values(len(chunk), 6)
                    + " RETURNING id, case_id",
                    tuple(flat),
                )
                by_id = dict((cid, pk) for pk, cid in result)
                pks.extend(by_id[row[0]] for row in chunk)
            changed = self._change_live(conn, [tuple(v) for v in delta.values()])  # type: ignore[misc]
            links = []
            for pk, case in zip(pks, parsed, strict=True):
                for key, row in case.hashes.items():
                    listed = row.listed and row.type in FEED_TYPES
                    links.append((pk, changed[key][0], listed))
            for link_chunk in _chunks(links):
                flat = [v for link in link_chunk for v in link]
                conn.exec_driver_sql(
                    "INSERT INTO case_hashes (case_pk, entry_id, listed) VALUES "
                    + self._values(len(link_chunk), 3),
                    tuple(flat),
                )
            if self.publish_at_once:
                self._publish(conn, [entry_id for entry_id, _, _ in changed.values()])
        return made

    def _find_case(self, conn: Connection, case_id: str, secret: str) -> Any | None:
        norm = keys.normalize_case_id(case_id)
        row = None
        if norm is not None:
            row = conn.execute(
                select(
                    cases.c.id,
                    cases.c.case_id,
                    cases.c.secret_salt,
                    cases.c.secret_hash,
                    cases.c.status,
                    cases.c["items"],
                ).where(cases.c.case_id == norm)
            ).first()
        ok = keys.check_secret(secret, row.secret_salt if row else None, row.secret_hash if row else None)
        return row if ok else None

    def _status(self, conn: Connection, row: Any) -> dict[str, Any]:
        ph = self.ph
        # Received: every listed hash of the case is on the feed and the platform read past it.
        pending, max_add = conn.exec_driver_sql(
            "SELECT coalesce(sum(CASE WHEN e.add_seq IS NULL OR (e.live > 0 AND NOT e.on_feed)"
            " THEN 1 ELSE 0 END), 0), max(e.add_seq)"
            f" FROM case_hashes ch JOIN entries e ON e.entry_id = ch.entry_id WHERE ch.case_pk = {ph}"
            " AND ch.listed",
            (row.id,),
        ).one()
        received = 0
        if max_add is not None and not pending:
            received = conn.execute(
                select(func.count()).select_from(platforms).where(platforms.c.cursor >= max_add)
            ).scalar_one()
        # One per (platform, piece of content, outcome), and only reports made after the case.
        outcomes = dict.fromkeys(OUTCOMES, 0)
        for outcome, count in conn.exec_driver_sql(
            "SELECT outcome, count(*) FROM (SELECT DISTINCT r.platform_id, r.content_ref, r.outcome"
            " FROM reports r JOIN case_hashes ch ON ch.entry_id = r.entry_id"
            f" WHERE ch.case_pk = {ph} AND r.case_mark >= {ph}) AS counted GROUP BY outcome",
            (row.id, row.id),
        ):
            outcomes[outcome] = int(count)
        under_review = conn.exec_driver_sql(
            "SELECT count(*) FROM case_hashes ch JOIN entries e ON e.entry_id = ch.entry_id"
            f" WHERE ch.case_pk = {ph} AND ch.listed AND e.trust = 'quarantined'",
            (row.id,),
        ).scalar_one()
        return {
            "case_id": row.case_id,
            "status": row.status,
            "items": row.items,
            "platforms_received": received,
            "outcomes": outcomes,
            "under_review": bool(under_review) and row.status == "active",
        }

    def case_status(self, case_id: str, secret: str) -> dict[str, Any] | None:
        """The status object, or None for an unknown case or a wrong secret (same path)."""
        with self.db.read() as conn:
            row = self._find_case(conn, case_id, secret)
            return None if row is None else self._status(conn, row)

    def withdraw(self, case_id: str, secret: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = self._find_case(conn, case_id, secret)
        if row is None:
            return None
        case_pk = row.id
        if row.status == "active":
            self._retry(lambda: self._withdraw(case_pk))
        with self.db.read() as conn:
            return self._status(conn, conn.execute(select(cases).where(cases.c.id == case_pk)).one())

    def _withdraw(self, case_pk: int) -> None:
        with self.db.write() as conn:
            done = conn.execute(
                update(cases)
                .where(cases.c.id == case_pk, cases.c.status == "active")
                .values(status="withdrawn")
            )
            if done.rowcount != 1:
                return  # withdrawn meanwhile by another request
            held = conn.exec_driver_sql(
                f"SELECT e.type, e.value FROM case_hashes ch JOIN entries e ON e.entry_id = ch.entry_id"
                f" WHERE ch.case_pk = {self.ph} AND ch.listed",
                (case_pk,),
            ).all()
            # The same upsert as on create, with -1: same lock order, so no deadlocks.
            changed = self._change_live(conn, [(t, v, None, None, -1) for t, v in held])
            if self.publish_at_once:
                self._publish(conn, [entry_id for entry_id, _, _ in changed.values()])

    # -- publication ----------------------------------------------------------------------

    def _publish(self, conn: Connection, entry_ids: Sequence[int] | None = None) -> int:
        """Turn dirty entries (all, or these) into feed rows, in random order; the count."""
        where = "dirty"
        params: tuple[Any, ...] = ()
        if entry_ids is not None:
            if not entry_ids:
                return 0
            where += " AND entry_id IN (" + ",".join([self.ph] * len(entry_ids)) + ")"
            params = tuple(entry_ids)
        # Locked in (type, value) order, as writers lock them: no deadlock with a writer.
        rows = conn.exec_driver_sql(
            "SELECT entry_id, type, value, quality, frames, live, trust, on_feed, published_trust"
            f" FROM entries WHERE {where} ORDER BY type, value LIMIT {MAX_PUBLISH_BATCH}"
            + ("" if self.sqlite else " FOR UPDATE"),
            params,
        ).all()
        if not rows:
            return 0
        out: list[FeedRow] = []
        flags: dict[int, tuple[bool, str | None]] = {}
        for entry_id, type_, value, quality, frames, live, trust, on_feed, published in rows:
            if live > 0 and not on_feed:
                out.append(("add", entry_id, type_, value, quality, frames, trust))
                flags[entry_id] = (True, trust)
            elif live <= 0 and on_feed:
                out.append(("remove", entry_id, type_, value, quality, None, None))
                flags[entry_id] = (False, published)
            elif live > 0 and trust != published:
                out.append(("state", entry_id, type_, value, quality, None, trust))
                flags[entry_id] = (True, trust)
            else:
                flags[entry_id] = (bool(on_feed), published)
        _random.shuffle(out)  # nothing in the order says which entries came together
        last = self._append_feed(conn, out)
        add_seqs = {row[1]: last - len(out) + 1 + i for i, row in enumerate(out) if row[0] == "add"}
        conn.exec_driver_sql(
            f"UPDATE entries SET dirty = FALSE, on_feed = {self.ph}, published_trust = {self.ph},"
            f" add_seq = coalesce({self.ph}, add_seq) WHERE entry_id = {self.ph}",
            [(on, trust, add_seqs.get(eid), eid) for eid, (on, trust) in flags.items()],
        )
        return len(out)

    def publish_pending(self) -> int:
        """Publish everything waiting (the publisher's tick); the number of feed rows written."""
        total = 0
        while True:
            if not self.pending():
                return total
            total += self._retry(self._publish_once)

    def _publish_once(self) -> int:
        with self.db.write() as conn:
            return self._publish(conn)

    def pending(self) -> int:
        """How many entries wait for the next publication."""
        with self.db.read() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM entries WHERE dirty").scalar_one())

    # -- feed -----------------------------------------------------------------------------

    def last_seq(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(select(feed_counter.c.last_seq).where(feed_counter.c.id == 1)).scalar_one()
            )

    def read_feed(self, after: int, limit: int, max_bytes: int | None = None) -> tuple[list[str], int, bool]:
        page = self.read_page(after, limit, max_bytes)
        return page.lines, page.next, page.more

    def read_page(self, after: int, limit: int, max_bytes: int | None = None) -> FeedPageRows:
        """Up to `limit` entries after `after` and at most `max_bytes` of them (one entry larger
        than that still goes, alone), with the epoch and the running hash before and after.

        The sizes are read first and the lines only up to the cut, so a page never holds more
        than about `max_bytes` in memory whatever the feed holds.
        """
        budget = self.feed_max_bytes if max_bytes is None else max_bytes
        ph = self.ph
        with self.db.read() as conn:
            cursor = conn.connection.cursor()  # the driver's cursor: no per-row wrapping
            try:
                cursor.execute("SELECT epoch FROM registry_epoch WHERE id = 1")
                epoch = str(cursor.fetchone()[0])  # type: ignore[index]
                if after == 0:
                    base: str | None = chain_start(epoch)
                else:
                    cursor.execute(f"SELECT chain FROM feed WHERE seq = {ph}", (after,))
                    found = cursor.fetchone()
                    base = None if found is None else found[0]
                cursor.execute(
                    f"SELECT seq, bytes FROM feed WHERE seq > {ph} ORDER BY seq LIMIT {ph}",
                    (after, limit + 1),
                )
                sizes = cursor.fetchall()
                cut, used, more = after, 0, False
                for n, (seq, size) in enumerate(sizes):
                    size = int(size or 0)
                    if n == limit or (n > 0 and used + size > budget):
                        more = True
                        break
                    cut, used = seq, used + size
                rows: list[Any] = []
                if cut > after:
                    cursor.execute(
                        f"SELECT seq, line, chain FROM feed WHERE seq > {ph} AND seq <= {ph} ORDER BY seq",
                        (after, cut),
                    )
                    rows = list(cursor.fetchall())
            finally:
                cursor.close()
        head = rows[-1][2] if rows else base
        return FeedPageRows([r[1] for r in rows], cut, more, epoch, base, head)

    def mark_received(self, platform_id: int, cursor: int) -> None:
        """Remember the highest seq delivered to a platform (for `platforms_received`)."""
        with self.db.write() as conn:
            conn.execute(
                update(platforms)
                .where(platforms.c.id == platform_id, platforms.c.cursor < cursor)
                .values(cursor=cursor)
            )

    # -- platforms ------------------------------------------------------------------------

    def authenticate(self, key: str | None) -> Platform | None:
        parts = keys.split_platform_key(key) if key else None
        row = None
        if parts is not None:
            with self.db.read() as conn:
                row = conn.execute(
                    select(
                        platforms.c.id,
                        platforms.c.name,
                        platforms.c.key_salt,
                        platforms.c.key_hash,
                        platforms.c.active,
                        platforms.c.cursor,
                    ).where(platforms.c.key_id == parts[0])
                ).first()
        secret = parts[1] if parts else (key or "")
        ok = keys.check_secret(secret, row.key_salt if row else None, row.key_hash if row else None)
        if not ok or row is None or not row.active:
            return None
        return Platform(row.id, row.name, row.cursor)

    def platform_add(self, name: str) -> str:
        name = _check_name(name)
        key, key_id, secret = keys.new_platform_key()
        salt, digest = keys.hash_secret(secret)
        try:
            self._insert_platform(name, key_id, salt, digest)
        except IntegrityError:  # added at the same moment by another command
            raise PlatformError(
                f"a platform named {name!r} already exists; use `rotate` for a new key"
            ) from None
        return key

    def _insert_platform(self, name: str, key_id: str, salt: bytes, digest: bytes) -> None:
        with self.db.write() as conn:
            if conn.execute(select(platforms.c.id).where(platforms.c.name == name)).first():
                raise PlatformError(f"a platform named {name!r} already exists; use `rotate` for a new key")
            conn.execute(
                platforms.insert().values(
                    name=name,
                    key_id=key_id,
                    key_salt=salt,
                    key_hash=digest,
                    active=True,
                    cursor=0,
                    created_on=_today(),
                )
            )

    def platform_rotate(self, name: str) -> str:
        key, key_id, secret = keys.new_platform_key()
        salt, digest = keys.hash_secret(secret)
        with self.db.write() as conn:
            row = conn.execute(select(platforms.c.active).where(platforms.c.name == name)).first()
            if row is None:
                raise PlatformError(f"no platform named {name!r}")
            if not row.active:
                raise PlatformError(f"platform {name!r} is revoked; add it again under a new name")
            conn.execute(
                update(platforms)
                .where(platforms.c.name == name)
                .values(key_id=key_id, key_salt=salt, key_hash=digest)
            )
        return key

    def platform_revoke(self, name: str) -> None:
        with self.db.write() as conn:
            done = conn.execute(update(platforms).where(platforms.c.name == name).values(active=False))
            if done.rowcount != 1:
                raise PlatformError(f"no platform named {name!r}")

    def platform_list(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    platforms.c.name, platforms.c.active, platforms.c.cursor, platforms.c.created_on
                ).order_by(platforms.c.name)
            ).all()
        return [
            {
                "name": r.name,
                "active": bool(r.active),
                "cursor": int(r.cursor),
                "created_on": str(r.created_on),
            }
            for r in rows
        ]

    # -- reports --------------------------------------------------------------------------

    def add_reports(self, platform: Platform, items: list[Any]) -> tuple[dict[str, Any], dict[str, int]]:
        """Store new reports; returns the reply and the count of newly accepted ones by outcome.

        A report is taken only on an entry that is live, on the feed, and that this platform has
        read (its cursor is past the entry's add). Every other entry id, unknown, withdrawn or
        never distributed, gets the same reason, so the replies tell nothing about which exist.
        """
        rejected: list[dict[str, Any]] = []
        valid: list[tuple[int, Report]] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, Report.parse(item, require_content_ref=self.require_content_ref)))
            except InvalidReport as exc:
                rejected.append({"index": index, "code": RejectCode.REPORT_INVALID.value, "reason": str(exc)})
        duplicates = 0
        accepted = 0
        by_outcome: dict[str, int] = {}
        if valid:
            with self.db.read() as conn:
                ids = sorted({r.entry_id for _, r in valid})
                known = {
                    r[0]
                    for r in conn.exec_driver_sql(
                        "SELECT entry_id FROM entries WHERE live > 0 AND on_feed AND add_seq IS NOT NULL"
                        f" AND add_seq <= {self.ph} AND entry_id IN (" + ",".join([self.ph] * len(ids)) + ")",
                        (platform.cursor, *ids),
                    )
                }
            seen: set[str] = set()
            rows: list[tuple[Any, ...]] = []
            for index, report in valid:
                if report.entry_id not in known:
                    rejected.append(
                        {
                            "index": index,
                            "code": RejectCode.REPORT_UNKNOWN_ENTRY.value,
                            "reason": UNKNOWN_ENTRY.format(report.entry_id),
                        }
                    )
                elif report.report_id in seen:
                    duplicates += 1
                else:
                    seen.add(report.report_id)
                    rows.append(
                        (
                            platform.id,
                            report.report_id,
                            report.entry_id,
                            report.outcome.value,
                            _today(),
                            report.content_ref,
                            report.reviewed,
                        )
                    )
            if rows:
                new = self._retry(lambda: self._insert_reports(rows))
                for outcome in new:
                    by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
                accepted = len(new)
                duplicates += len(rows) - accepted
        rejected.sort(key=lambda r: r["index"])
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}, by_outcome

    def _insert_reports(self, rows: list[tuple[Any, ...]]) -> list[str]:
        new: list[str] = []
        touched: set[int] = set()
        with self.db.write() as conn:
            mark = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM cases").scalar_one()
            for chunk in _chunks(rows):
                flat = [v for row in chunk for v in (*row, mark)]
                result = conn.exec_driver_sql(
                    "INSERT INTO reports (platform_id, report_id, entry_id, outcome, created_on,"
                    " content_ref, reviewed, case_mark) VALUES "
                    + self._values(len(chunk), 8)
                    + " ON CONFLICT (platform_id, report_id) DO NOTHING RETURNING outcome, entry_id",
                    tuple(flat),
                )
                for outcome, entry_id in result:
                    new.append(outcome)
                    if outcome in ("removed", "upload_blocked", "false_positive"):
                        touched.add(entry_id)
            self._retrust(conn, sorted(touched))
        return new

    def _retrust(self, conn: Connection, entry_ids: Sequence[int]) -> list[int]:
        """Recompute the trust of these entries; mark the changed ones for publication."""
        if not entry_ids:
            return []
        marks = ",".join([self.ph] * len(entry_ids))
        counts = {
            eid: (int(c or 0), int(d or 0))
            for eid, c, d in conn.exec_driver_sql(
                "SELECT entry_id, sum(CASE WHEN reviewed AND outcome IN ('removed', 'upload_blocked')"
                " THEN 1 ELSE 0 END), count(DISTINCT CASE WHEN outcome = 'false_positive'"
                f" THEN platform_id END) FROM reports WHERE entry_id IN ({marks}) GROUP BY entry_id",
                tuple(entry_ids),
            )
        }
        changed = []
        for eid, _t, _v, trust, override in conn.exec_driver_sql(
            "SELECT entry_id, type, value, trust, trust_override FROM entries"
            f" WHERE entry_id IN ({marks}) ORDER BY type, value",
            tuple(entry_ids),
        ):
            c, d = counts.get(eid, (0, 0))
            want = decide_trust(c, d, override, self.quarantine_disputes)
            if want != trust:
                conn.exec_driver_sql(
                    f"UPDATE entries SET trust = {self.ph}, dirty = TRUE WHERE entry_id = {self.ph}",
                    (want, eid),
                )
                changed.append(eid)
        if changed and self.publish_at_once:
            self._publish(conn, changed)
        return changed

    # -- trust: the operator's view ---------------------------------------------------------

    def disputed_entries(self) -> list[dict[str, Any]]:
        """Entries with a false_positive report or in quarantine, most disputed first."""
        with self.db.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.entry_id, e.type, e.trust, e.trust_override, e.live,"
                " coalesce(sum(CASE WHEN r.reviewed AND r.outcome IN ('removed', 'upload_blocked')"
                " THEN 1 ELSE 0 END), 0),"
                " count(DISTINCT CASE WHEN r.outcome = 'false_positive' THEN r.platform_id END)"
                " FROM entries e LEFT JOIN reports r ON r.entry_id = e.entry_id"
                " WHERE e.trust = 'quarantined' OR e.entry_id IN"
                " (SELECT entry_id FROM reports WHERE outcome = 'false_positive')"
                " GROUP BY e.entry_id, e.type, e.trust, e.trust_override, e.live"
            ).all()
        out = [
            {
                "entry_id": int(r[0]),
                "type": r[1],
                "trust": r[2],
                "override": r[3],
                "live": int(r[4]) > 0,
                "confirmations": int(r[5]),
                "disputes": int(r[6]),
            }
            for r in rows
        ]
        out.sort(key=lambda e: (-e["disputes"], e["entry_id"]))
        return out

    def set_override(self, entry_id: int, override: str) -> str:
        """`quarantined` or `restored` by the operator; returns the entry's new trust."""
        if override not in ("quarantined", "restored"):
            raise EntryError(f"unknown override {override!r}")

        def work() -> str:
            with self.db.write() as conn:
                found = conn.execute(select(entries.c.entry_id).where(entries.c.entry_id == entry_id)).first()
                if found is None:
                    raise EntryError(f"no entry has entry_id {entry_id}")
                conn.execute(
                    update(entries).where(entries.c.entry_id == entry_id).values(trust_override=override)
                )
                self._retrust(conn, [entry_id])
                return str(
                    conn.execute(select(entries.c.trust).where(entries.c.entry_id == entry_id)).scalar_one()
                )

        return self._retry(work)

    def new_epoch(self) -> str:
        """Start a new epoch (after restoring a backup): every node resyncs on its next page.

        The running hash starts from the epoch, so every stored chain is computed again.
        """
        epoch = secrets.token_hex(16)
        with self.db.write() as conn:
            # The counter row first: no publisher appends while the chains are redone.
            conn.exec_driver_sql("UPDATE feed_counter SET last_seq = last_seq WHERE id = 1")
            conn.execute(update(registry_epoch).where(registry_epoch.c.id == 1).values(epoch=epoch))
            chain = chain_start(epoch)
            rows = conn.exec_driver_sql("SELECT seq, line FROM feed ORDER BY seq").all()
            updates = []
            for seq, line in rows:
                chain = chain_next(chain, line)
                updates.append((chain, seq))
            if updates:
                conn.exec_driver_sql(f"UPDATE feed SET chain = {self.ph} WHERE seq = {self.ph}", updates)
            conn.exec_driver_sql(f"UPDATE feed_counter SET last_chain = {self.ph} WHERE id = 1", (chain,))
        return epoch


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise PlatformError("a platform name must be 1 to 100 printable characters")
    return name
