"""The registry's data operations: cases, the feed, platforms and reports.

Every writing transaction that changes the feed ends the same way: it takes the single
`feed_counter` row (UPDATE ... RETURNING, which holds that row's lock until commit), gives its
feed rows the next seqs, inserts them and commits. So seqs are handed out in commit order and a
reader that sees seq N already sees every seq below N. docs/registry.md has the argument.

The hot paths use driver SQL (one statement for many rows) to keep round trips and Python
overhead low; the SQL is the same on SQLite and PostgreSQL except for the placeholder.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from takeitdown.protocol import FEED_TYPES, OUTCOMES, FeedEntry, InvalidReport, Report
from takeitdown.registry import keys
from takeitdown.registry.db import Database
from takeitdown.registry.schema import case_hashes, cases, feed, feed_counter, platforms, reports
from takeitdown.registry.validation import ParsedCase

FeedRow = tuple[str, int, str, str, "int | None", "str | None"]  # op, entry_id, type, value, quality, frames
MAX_ROWS_PER_STATEMENT = 1000
T = TypeVar("T")


def feed_line(
    seq: int, op: str, entry_id: int, type_: str, value: str, quality: int | None, frames: str | None
) -> str:
    """The JSON of one feed entry (protocol.FeedEntry's wire form), stored with the row so a
    feed page is one string join. `frames` is the canonical frames JSON the entry is keyed on."""
    entry = FeedEntry(seq, op, entry_id, type_, value, quality)  # type: ignore[arg-type]
    return entry.to_wire(frames_json="null" if frames is None else frames)


class PlatformError(ValueError):
    """A platform admin command that cannot be done (clear message for the CLI)."""


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
    def __init__(self, db: Database) -> None:
        self.db = db
        self.ph = "?" if db.is_sqlite else "%s"
        self.sqlite = db.is_sqlite
        self._feed_sql = self.feed_sql()

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
        last = conn.exec_driver_sql(
            f"UPDATE feed_counter SET last_seq = last_seq + {self.ph} WHERE id = 1 RETURNING last_seq",
            (len(rows),),
        ).scalar_one()
        first = last - len(rows) + 1
        params = [
            (
                first + i,
                op,
                entry_id,
                type_,
                value,
                quality,
                feed_line(first + i, op, entry_id, type_, value, quality, frames),
            )
            for i, (op, entry_id, type_, value, quality, frames) in enumerate(rows)
        ]
        for chunk in _chunks(params):
            flat = [v for row in chunk for v in row]
            conn.exec_driver_sql(
                "INSERT INTO feed (seq, op, entry_id, type, value, quality, line) VALUES "
                + self._values(len(chunk), 7),
                tuple(flat),
            )
        return int(last)

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
            flat = [v for row in chunk for v in row]
            result = conn.exec_driver_sql(
                "INSERT INTO entries (type, value, quality, frames, live) VALUES "
                + self._values(len(chunk), 5)
                + " ON CONFLICT (type, value) DO UPDATE SET live = entries.live + excluded.live,"
                " quality = CASE WHEN entries.live = 0 AND excluded.live > 0"
                " THEN excluded.quality ELSE entries.quality END"
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
            adds: list[FeedRow] = []
            for key, (type_, value, _q, frames, d) in sorted(delta.items()):
                entry_id, live, quality = changed[key]
                if d > 0 and live == d:  # was 0 before this transaction: it joins the feed
                    adds.append(("add", entry_id, type_, value, quality, frames))
            self._append_feed(conn, adds)
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
        max_add = conn.execute(
            select(func.max(feed.c.seq))
            .select_from(feed.join(case_hashes, case_hashes.c.entry_id == feed.c.entry_id))
            .where(case_hashes.c.case_pk == row.id, case_hashes.c.listed, feed.c.op == "add")
        ).scalar()
        received = 0
        if max_add is not None:
            received = conn.execute(
                select(func.count()).select_from(platforms).where(platforms.c.cursor >= max_add)
            ).scalar_one()
        outcomes = dict.fromkeys(OUTCOMES, 0)
        held = select(case_hashes.c.entry_id).where(case_hashes.c.case_pk == row.id)
        for outcome, count in conn.execute(
            select(reports.c.outcome, func.count())
            .where(reports.c.entry_id.in_(held))
            .group_by(reports.c.outcome)
        ):
            outcomes[outcome] = count
        return {
            "case_id": row.case_id,
            "status": row.status,
            "items": row.items,
            "platforms_received": received,
            "outcomes": outcomes,
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
            removes: list[FeedRow] = [
                ("remove", entry_id, t, v, quality, None)
                for (t, v), (entry_id, live, quality) in sorted(changed.items())
                if live == 0
            ]
            self._append_feed(conn, removes)

    # -- feed -----------------------------------------------------------------------------

    def last_seq(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(select(feed_counter.c.last_seq).where(feed_counter.c.id == 1)).scalar_one()
            )

    def feed_sql(self) -> str:
        """The page query: each row's JSON was written with it (`feed_line`)."""
        return f"SELECT seq, line FROM feed WHERE seq > {self.ph} ORDER BY seq LIMIT {self.ph}"

    def read_feed(self, after: int, limit: int) -> tuple[list[str], int, bool]:
        """The JSON text of up to `limit` entries after `after`, the next cursor, and `more`."""
        with self.db.read() as conn:
            cursor = conn.connection.cursor()  # the driver's cursor: no per-row wrapping
            try:
                cursor.execute(self._feed_sql, (after, limit + 1))
                rows = cursor.fetchall()
            finally:
                cursor.close()
        more = len(rows) > limit
        if more:
            rows = rows[:limit]
        return [line for _, line in rows], (rows[-1][0] if rows else after), more

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

    def add_reports(self, platform_id: int, items: list[Any]) -> tuple[dict[str, Any], dict[str, int]]:
        """Store new reports; returns the reply and the count of newly accepted ones by outcome."""
        rejected: list[dict[str, Any]] = []
        valid: list[tuple[int, str, int, str]] = []
        for index, item in enumerate(items):
            try:
                report = Report.parse(item)
            except InvalidReport as exc:
                rejected.append({"index": index, "code": "report.invalid", "reason": str(exc)})
                continue
            valid.append((index, report.report_id, report.entry_id, report.outcome.value))
        duplicates = 0
        accepted = 0
        by_outcome: dict[str, int] = {}
        if valid:
            with self.db.read() as conn:
                ids = sorted({v[2] for v in valid})
                known = {
                    r[0]
                    for r in conn.exec_driver_sql(
                        "SELECT entry_id FROM entries WHERE entry_id IN ("
                        + ",".join([self.ph] * len(ids))
                        + ")",
                        tuple(ids),
                    )
                }
            seen: set[str] = set()
            rows = []
            for index, report_id, entry_id, outcome in valid:
                if entry_id not in known:
                    rejected.append(
                        {
                            "index": index,
                            "code": "report.unknown_entry",
                            "reason": f"no feed entry has entry_id {entry_id}",
                        }
                    )
                elif report_id in seen:
                    duplicates += 1
                else:
                    seen.add(report_id)
                    rows.append((platform_id, report_id, entry_id, outcome, _today()))
            if rows:
                with self.db.write() as conn:
                    for chunk in _chunks(rows):
                        flat = [v for row in chunk for v in row]
                        result = conn.exec_driver_sql(
                            "INSERT INTO reports (platform_id, report_id, entry_id, outcome, created_on)"
                            " VALUES "
                            + self._values(len(chunk), 5)
                            + " ON CONFLICT (platform_id, report_id) DO NOTHING RETURNING outcome",
                            tuple(flat),
                        )
                        new = [r[0] for r in result]
                        for outcome in new:
                            by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
                        n = len(new)
                        accepted += n
                        duplicates += len(chunk) - n
        rejected.sort(key=lambda r: r["index"])
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}, by_outcome


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise PlatformError("a platform name must be 1 to 100 printable characters")
    return name
