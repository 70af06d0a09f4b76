"""The record a platform shows a regulator: what its TAKE IT DOWN desk received and did.

Figures only, from the desk's own tables: requests received, valid, incomplete, declined,
removed within 48 hours (count and share), median and worst time to removal, breaches with
their reasons, and identical and likely copies found and removed. No personal data.
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
    within = 0
    for r in rows:
        if r.removed_at is not None and r.clock_from is not None:
            taken = _aware(r.removed_at) - _aware(r.clock_from)  # type: ignore[operator]
            hours.append(taken.total_seconds() / 3600)
            within += taken <= DEADLINE
    removed = len(hours)
    kinds = {k: [i for i in items if i.kind == k] for k in ("identical_copy", "likely_copy")}
    return {
        "since": _iso(since),
        "until": _iso(until),
        "received": len(rows),
        "valid": sum(1 for r in rows if r.state != "incomplete" and r.state != "declined"),
        "incomplete": sum(1 for r in rows if r.state == "incomplete"),
        "declined": sum(1 for r in rows if r.state == "declined"),
        "removed": removed,
        "removed_within_48h": within,
        "removed_within_48h_share": round(within / removed, 4) if removed else None,
        "median_hours_to_removal": round(statistics.median(hours), 2) if hours else None,
        "worst_hours_to_removal": round(max(hours), 2) if hours else None,
        "breaches": [{"request_id": r.id, "reason": r.breach} for r in rows if r.breach],
        "identical_copies_found": len(kinds["identical_copy"]),
        "identical_copies_removed": sum(1 for i in kinds["identical_copy"] if i.state == "removed"),
        "likely_copies_found": len(kinds["likely_copy"]),
        "likely_copies_removed": sum(1 for i in kinds["likely_copy"] if i.state == "removed"),
        "shared_with_registry": sum(1 for r in rows if r.case_id),
    }


def as_csv(report: dict[str, Any]) -> str:
    """One `figure,value` row each; breaches as `breach,<id>: <reason>` rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "value"])
    for key, value in report.items():
        if key == "breaches":
            for b in value:
                writer.writerow(["breach", f"{b['request_id']}: {b['reason']}"])
        else:
            writer.writerow([key, "" if value is None else value])
    return out.getvalue()
