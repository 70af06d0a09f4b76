"""The record a platform shows a regulator: what its TAKE IT DOWN desk received and did.

Figures only, from the desk's own tables: requests received, valid, incomplete, declined,
abandoned, removed within 48 hours (count and share), median and worst time to removal, breaches
with their reasons, and identical and likely copies found and removed. No personal data.

Times are measured from receipt. A request the desk marked incomplete (before validating it)
was not valid as received, so its 48 hours ran from the requester's answer: the hours it waited
are listed under `clock_stopped`, and `removed_within_48h` counts from the valid request while
`removed_within_48h_of_receipt` counts from receipt, so nobody has to take the stop on trust.
Call `Desk.record_breaches` first (the CLI does), so a deadline passed while the node was down
is in the report.
"""

from __future__ import annotations

import csv
import io
import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import select

from takeitdown.node.db import Database
from takeitdown.node.schema import takedown_items, takedown_requests
from takeitdown.node.takedown import DEADLINE, _aware, _iso


def compliance_report(db: Database, since: datetime, until: datetime) -> dict[str, Any]:
    with db.read() as conn:
        rows = conn.execute(
            select(takedown_requests).where(
                takedown_requests.c.received_at >= since, takedown_requests.c.received_at < until
            )
        ).all()
        ids = [r.id for r in rows]
        items = (
            conn.execute(select(takedown_items).where(takedown_items.c.request_id.in_(ids))).all()
            if ids
            else []
        )
    hours: list[float] = []
    within = within_of_receipt = 0
    for r in rows:
        if r.removed_at is not None and r.clock_from is not None:
            from_receipt = _aware(r.removed_at) - _aware(r.received_at)  # type: ignore[operator]
            from_valid = _aware(r.removed_at) - _aware(r.clock_from)  # type: ignore[operator]
            hours.append(from_receipt.total_seconds() / 3600)
            within += from_valid <= DEADLINE
            within_of_receipt += from_receipt <= DEADLINE
    stopped = [
        (r.id, (_aware(r.clock_from) - _aware(r.received_at)).total_seconds() / 3600)  # type: ignore[operator]
        for r in rows
        if r.clock_from is not None and r.clock_from != r.received_at
    ]
    waiting = [r for r in rows if r.state in ("incomplete", "abandoned")]
    removed = len(hours)
    kinds = {k: [i for i in items if i.kind == k] for k in ("identical_copy", "likely_copy")}
    return {
        "since": _iso(since),
        "until": _iso(until),
        "received": len(rows),
        "valid": sum(1 for r in rows if r.state not in ("incomplete", "declined", "abandoned")),
        "incomplete": sum(1 for r in rows if r.state == "incomplete"),
        "declined": sum(1 for r in rows if r.state == "declined"),
        "removed": removed,
        "abandoned": sum(1 for r in rows if r.state == "abandoned"),
        "removed_within_48h": within,
        "removed_within_48h_share": round(within / removed, 4) if removed else None,
        "removed_within_48h_of_receipt": within_of_receipt,
        "median_hours_to_removal": round(statistics.median(hours), 2) if hours else None,
        "worst_hours_to_removal": round(max(hours), 2) if hours else None,
        "clock_stopped": [{"request_id": rid, "hours": round(h, 2)} for rid, h in stopped]
        + [{"request_id": r.id, "hours": None, "still_waiting": True} for r in waiting],
        "breaches": [{"request_id": r.id, "reason": r.breach} for r in rows if r.breach],
        "identical_copies_found": len(kinds["identical_copy"]),
        "identical_copies_removed": sum(1 for i in kinds["identical_copy"] if i.state == "removed"),
        "likely_copies_found": len(kinds["likely_copy"]),
        "likely_copies_removed": sum(1 for i in kinds["likely_copy"] if i.state == "removed"),
        "shared_with_registry": sum(1 for r in rows if r.case_id),
    }


def as_csv(report: dict[str, Any]) -> str:
    """One `figure,value` row each; breaches as `breach,<id>: <reason>` rows, stopped clocks as
    `clock_stopped,<id>: <hours> h` rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "value"])
    for key, value in report.items():
        if key == "breaches":
            for b in value:
                writer.writerow(["breach", f"{b['request_id']}: {b['reason']}"])
        elif key == "clock_stopped":
            for c in value:
                hours = "still waiting for the requester" if c["hours"] is None else f"{c['hours']} h"
                writer.writerow(["clock_stopped", f"{c['request_id']}: {hours}"])
        else:
            writer.writerow([key, "" if value is None else value])
    return out.getvalue()
