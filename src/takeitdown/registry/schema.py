"""The registry's tables (SQLAlchemy Core). The Alembic migrations create exactly these.

Nothing here can identify the person who submitted a case: no IP, user agent, file name or
precise time (cases carry only the day they were made).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import BigInteger

metadata = MetaData()

# SQLite only makes INTEGER PRIMARY KEY columns auto-increment; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", String(16), nullable=False, unique=True),  # TD-XXXX-XXXX, read aloud
    Column("secret_salt", LargeBinary(16), nullable=False),
    Column("secret_hash", LargeBinary(32), nullable=False),  # sha256(salt || secret)
    Column("status", String(10), nullable=False),  # active | withdrawn
    Column("items", Integer, nullable=False),
    Column("created_on", Date, nullable=False),  # the day only, on purpose
)

# One row per distinct hash (type + value). `live` counts the active cases that hold it in a
# form fit for the feed (PDQ quality >= 50). Writers only change `live` and `trust` and set
# `dirty`; the publisher (store.publish_pending) turns dirty rows into feed entries in batches:
# `add` when live and not `on_feed`, `remove` when not live and on the feed, `state` when the
# trust differs from `published_trust`. Entry ids are random 63-bit numbers (migration 0003):
# they say nothing about order or case.
entries = Table(
    "entries",
    metadata,
    Column("entry_id", Id, primary_key=True, autoincrement=False),
    Column("type", String(8), nullable=False),
    Column("value", String(64), nullable=False),  # hex; for vpdq the SHA-256 of the frames JSON
    Column("quality", Integer, nullable=True),
    Column("frames", Text, nullable=True),  # vpdq only: canonical JSON list of frames
    Column("live", Integer, nullable=False, server_default="0"),
    Column("trust", String(12), nullable=False, server_default="unconfirmed"),  # protocol.TrustState
    Column("trust_override", String(12), nullable=True),  # operator: quarantined | restored
    Column("on_feed", Boolean, nullable=False, server_default=false()),  # last published op is add
    Column("published_trust", String(12), nullable=True),
    Column("add_seq", BigInteger, nullable=True),  # seq of its last published add
    Column("dirty", Boolean, nullable=False, server_default=false()),  # waits for the publisher
    UniqueConstraint("type", "value", name="uq_entries_type_value"),
    Index("ix_entries_dirty", "dirty"),
)

case_hashes = Table(
    "case_hashes",
    metadata,
    Column("case_pk", Id, ForeignKey("cases.id"), primary_key=True),
    Column("entry_id", Id, ForeignKey("entries.entry_id"), primary_key=True),
    Column("listed", Boolean, nullable=False),  # false: kept with the case, never on the feed
    Index("ix_case_hashes_entry", "entry_id"),
)

# The feed. `seq` is given out from `feed_counter` as the last step of each writing
# transaction, under that row's lock, so seqs are in commit order (see docs/registry.md).
feed = Table(
    "feed",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("op", String(6), nullable=False),  # add | remove | state
    Column("entry_id", Id, ForeignKey("entries.entry_id"), nullable=False),
    Column("type", String(8), nullable=False),
    Column("value", String(64), nullable=False),
    Column("quality", Integer, nullable=True),
    Column("line", Text, nullable=True),  # the entry's JSON as served (migration 0002)
    Column("bytes", Integer, nullable=True),  # len(line): pages are bounded in bytes (0003)
    Column("chain", String(64), nullable=True),  # running hash up to this seq (protocol.chain_next)
    Index("ix_feed_entry", "entry_id"),
)

feed_counter = Table(
    "feed_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_chain", String(64), nullable=True),  # the chain at last_seq
)

# This registry's life: a random id made with the database (a reset makes a new one) or by
# `takeitdown registry new-epoch` after restoring a backup. Every feed page carries it.
registry_epoch = Table(
    "registry_epoch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", String(32), nullable=False),
)

platforms = Table(
    "platforms",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("key_id", String(16), nullable=False, unique=True),
    Column("key_salt", LargeBinary(16), nullable=False),
    Column("key_hash", LargeBinary(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("cursor", BigInteger, nullable=False, server_default="0"),  # highest seq delivered
    Column("created_on", Date, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("platform_id", Id, ForeignKey("platforms.id"), nullable=False),
    Column("report_id", String(100), nullable=False),
    Column("entry_id", Id, ForeignKey("entries.entry_id"), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("created_on", Date, nullable=False),
    Column("content_ref", String(200), nullable=True),  # the platform's id for the content
    Column("reviewed", Boolean, nullable=False, server_default=false()),  # a human decided
    # max(cases.id) when the report came in: a case counts only reports with case_mark >= its id,
    # so a new case over an old hash never shows earlier outcomes.
    Column("case_mark", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("platform_id", "report_id", name="uq_reports_platform_report"),
    Index("ix_reports_entry", "entry_id"),
)
