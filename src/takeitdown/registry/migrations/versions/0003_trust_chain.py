"""Trust states, batched publication, byte-bounded pages, the epoch and the feed's running hash.

entries: trust, trust_override, on_feed, published_trust, add_seq, dirty; feed: bytes, chain;
feed_counter: last_chain; registry_epoch (a random id for this database); reports: content_ref,
reviewed, case_mark. Existing rows are backfilled so the feed already served stays the same.

Revision ID: 0003
Revises: 0002
"""

import secrets

import sqlalchemy as sa
from alembic import op

from takeitdown.protocol import chain_next, chain_start

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    false = sa.false()
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("trust", sa.String(12), nullable=False, server_default="unconfirmed"))
        batch.add_column(sa.Column("trust_override", sa.String(12), nullable=True))
        batch.add_column(sa.Column("on_feed", sa.Boolean, nullable=False, server_default=false))
        batch.add_column(sa.Column("published_trust", sa.String(12), nullable=True))
        batch.add_column(sa.Column("add_seq", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("dirty", sa.Boolean, nullable=False, server_default=false))
    op.create_index("ix_entries_dirty", "entries", ["dirty"])
    # What was published so far: on the feed when live; its last add's seq.
    op.execute("UPDATE entries SET on_feed = (live > 0), published_trust = 'unconfirmed'")
    op.execute(
        "UPDATE entries SET add_seq = (SELECT max(seq) FROM feed"
        " WHERE feed.entry_id = entries.entry_id AND feed.op = 'add')"
    )
    op.add_column("feed", sa.Column("bytes", sa.Integer, nullable=True))
    op.add_column("feed", sa.Column("chain", sa.String(64), nullable=True))
    op.add_column("feed_counter", sa.Column("last_chain", sa.String(64), nullable=True))
    op.execute("UPDATE feed SET bytes = length(line)")
    epoch_table = op.create_table(
        "registry_epoch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.String(32), nullable=False),
    )
    epoch = secrets.token_hex(16)
    op.bulk_insert(epoch_table, [{"id": 1, "epoch": epoch}])
    conn = op.get_bind()
    chain = chain_start(epoch)
    rows = conn.execute(sa.text("SELECT seq, line FROM feed ORDER BY seq")).all()
    for seq, line in rows:
        chain = chain_next(chain, line)
        conn.execute(sa.text("UPDATE feed SET chain = :c WHERE seq = :s"), {"c": chain, "s": seq})
    conn.execute(sa.text("UPDATE feed_counter SET last_chain = :c WHERE id = 1"), {"c": chain})
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("content_ref", sa.String(200), nullable=True))
        batch.add_column(sa.Column("reviewed", sa.Boolean, nullable=False, server_default=false))
        batch.add_column(sa.Column("case_mark", sa.BigInteger, nullable=False, server_default="0"))
    # Reports made before: they count for the cases that existed then, not for later ones.
    op.execute("UPDATE reports SET case_mark = (SELECT coalesce(max(id), 0) FROM cases)")


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        for name in ("case_mark", "reviewed", "content_ref"):
            batch.drop_column(name)
    op.drop_table("registry_epoch")
    with op.batch_alter_table("feed_counter") as batch:
        batch.drop_column("last_chain")
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("chain")
        batch.drop_column("bytes")
    op.drop_index("ix_entries_dirty", "entries")
    with op.batch_alter_table("entries") as batch:
        for name in ("dirty", "add_seq", "published_trust", "on_feed", "trust_override", "trust"):
            batch.drop_column(name)
