"""What the platform is told when an entry the node acted on leaves the list.

`NodeStore._withdraw` lifts what stood only on the entries that left; this module names, for
each such entry, everything the node had done on it (review items, holds and blocks, local
blocks), with every ref and uploader account id it knows, and writes the `entry.withdrawn` /
`entry.quarantined` event and the audit row in the caller's transaction, so the lifting, the
event and its record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from takeitdown.node import audit, events
from takeitdown.node.schema import actions, block_list, review_items, review_refs

CHUNK = 500
MAX_EVENT_REFS = 1000  # an event stays small; GET /v1/actions and /v1/review list the rest
EVENT_TYPE = {"withdrawn": "entry.withdrawn", "quarantined": "entry.quarantined"}
AUDIT_ACTION = {
    "withdrawn": ("withdrawal", "withdrawal applied"),
    "quarantined": ("quarantine", "quarantine applied"),
}


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


@dataclass
class ActedOn:
    """The refs and accounts behind each linked review item, action and local block."""

    review: dict[int, tuple[set[str], set[str]]] = field(default_factory=dict)  # id -> (refs, accounts)
    action: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # id -> (ref, account)
    block: dict[int, int | None] = field(default_factory=dict)  # id -> review id

    @classmethod
    def read(cls, conn: Connection, linked: dict[str, set[int]]) -> ActedOn:
        out = cls()
        for chunk in _chunks(sorted(linked.get("action", ()))):
            q = select(actions.c.id, actions.c.ref, actions.c.account).where(actions.c.id.in_(chunk))
            out.action.update({int(r.id): (r.ref, r.account) for r in conn.execute(q)})
        for chunk in _chunks(sorted(linked.get("block", ()))):
            q = select(block_list.c.id, block_list.c.review_id).where(block_list.c.id.in_(chunk))
            out.block.update({int(r.id): r.review_id for r in conn.execute(q)})
        ids = sorted(set(linked.get("review", ())) | {r for r in out.block.values() if r is not None})
        for chunk in _chunks(ids):
            q = select(review_items.c.id, review_items.c.ref, review_items.c.account).where(
                review_items.c.id.in_(chunk)
            )
            for r in conn.execute(q):
                out.review[int(r.id)] = ({r.ref} if r.ref else set(), {r.account} if r.account else set())
            q2 = select(review_refs.c.review_id, review_refs.c.ref, review_refs.c.account).where(
                review_refs.c.review_id.in_(chunk)
            )
            for r in conn.execute(q2):
                refs, accounts = out.review.setdefault(int(r.review_id), (set(), set()))
                refs.add(r.ref)
                if r.account:
                    accounts.add(r.account)
        return out

    def tell(
        self,
        conn: Connection,
        entry_id: int,
        why: str,
        links: dict[str, set[int]],
        lifted: dict[str, set[int]],
    ) -> str:
        """The event and the audit row for one entry that left the list; returns the event id."""
        refs: set[str] = set()
        accounts: set[str] = set()
        review_ids = set(links.get("review", ()))
        block_ids = set(links.get("block", ()))
        action_ids = set(links.get("action", ()))
        for bid in block_ids:
            rid = self.block.get(bid)
            if rid is not None:
                review_ids.add(int(rid))
        for rid in review_ids:
            r, a = self.review.get(rid, (set(), set()))
            refs |= r
            accounts |= a
        for aid in action_ids:
            ref, account = self.action.get(aid, (None, None))
            if ref:
                refs.add(ref)
            if account:
                accounts.add(account)
        done = {
            "review_ids": sorted(lifted["review"] & set(links.get("review", ()))),
            "action_ids": sorted(lifted["action"] & action_ids),
            "block_ids": sorted(lifted["block"] & block_ids),
        }
        lifted_refs = {self.action[a][0] for a in done["action_ids"] if a in self.action}
        data: dict[str, Any] = {
            "entry_id": entry_id,
            "reason": why,
            "refs": sorted(refs)[:MAX_EVENT_REFS],
            "refs_total": len(refs),
            "accounts": sorted(accounts)[:MAX_EVENT_REFS],
            "review_ids": sorted(review_ids),
            "action_ids": sorted(action_ids),
            "block_ids": sorted(block_ids),
            "lifted": {**done, "refs": sorted(lifted_refs)[:MAX_EVENT_REFS]},
        }
        event_id = events.emit(conn, EVENT_TYPE[why], data)
        action, reason = AUDIT_ACTION[why]
        audit.append(
            conn,
            "node",
            action,
            f"entry:{entry_id}",
            reason,
            {"event_id": event_id, "refs": data["refs"][:20], "refs_total": len(refs), "lifted": done},
        )
        return event_id
