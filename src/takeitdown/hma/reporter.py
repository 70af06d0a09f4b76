"""Decisions -> registry reports.

A decision is one JSON object a line:

    {"entry_id": 12, "decision": "removed", "content_ref": "post:991"}
    {"bank": "TAKEITDOWN", "bank_content_id": 345, "decision": "false_positive"}

`decision` is an Outcome (match_found, removed, upload_blocked, false_positive) or
`true_positive` (= match_found). `content_ref` is the platform's opaque id of the piece of
content, so two pieces count twice and a retry counts once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from takeitdown.protocol import MAX_REPORTS_PER_BATCH, InvalidReport, Outcome, Problem, Report

ALIASES = {"true_positive": Outcome.MATCH_FOUND.value}


class DecisionError(ValueError):
    pass


def report_id_for(entry_id: int, outcome: Outcome, content_ref: str | None) -> str:
    """The same decision on the same content always gets the same id (the extension uses this form)."""
    ref = "-" if content_ref is None else hashlib.sha256(content_ref.encode()).hexdigest()[:24]
    return f"tx:{entry_id}:{outcome.value}:{ref}"


class HmaClient:
    """The one HMA call needed: which exchange entry a bank item was imported from."""

    def __init__(self, base_url: str, exchange: str, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=30, transport=transport)
        self.exchange = exchange

    def entry_id(self, bank: str, content_id: int) -> int:
        r = self.http.get(f"/c/bank/{bank}/content/{content_id}", params={"include_metadata": "true"})
        if r.status_code != 200:
            raise DecisionError(f"HMA has no content {content_id} in bank {bank} (HTTP {r.status_code})")
        collab = ((r.json().get("metadata") or {}).get("collab")) or {}
        ids = collab.get(self.exchange)
        if not ids:
            raise DecisionError(f"HMA content {content_id} did not come from the exchange {self.exchange}")
        try:
            return int(ids[0])
        except (TypeError, ValueError):
            raise DecisionError(f"HMA content {content_id}: {ids[0]!r} is not a registry entry id") from None


def to_report(decision: object, hma: HmaClient | None) -> Report:
    if not isinstance(decision, dict):
        raise DecisionError("a decision must be a JSON object")
    raw = decision.get("decision")
    outcome = ALIASES.get(raw, raw) if isinstance(raw, str) else raw
    if outcome not in {o.value for o in Outcome}:
        raise DecisionError(f"unknown decision {raw!r}; use true_positive or one of {', '.join(Outcome)}")
    entry_id = decision.get("entry_id")
    if entry_id is None and "bank_content_id" in decision:
        if hma is None:
            raise DecisionError("a bank_content_id needs --hma URL (and --exchange NAME)")
        bank, content = decision.get("bank"), decision.get("bank_content_id")
        if not isinstance(bank, str) or isinstance(content, bool) or not isinstance(content, int):
            raise DecisionError("bank must be the bank's name and bank_content_id a whole number")
        entry_id = hma.entry_id(bank, content)
    ref = decision.get("content_ref")
    item = {
        "report_id": report_id_for(entry_id, Outcome(outcome), ref) if isinstance(entry_id, int) else "x",
        "entry_id": entry_id,
        "outcome": outcome,
        "content_ref": ref,
    }
    try:
        return Report.parse({k: v for k, v in item.items() if v is not None})
    except InvalidReport as exc:
        raise DecisionError(str(exc)) from None


@dataclass
class Tally:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)


def batches(lines: Iterable[str], hma: HmaClient | None, tally: Tally) -> Iterator[list[Report]]:
    batch: list[Report] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            batch.append(to_report(json.loads(line), hma))
        except (ValueError, httpx.HTTPError) as exc:
            tally.rejected.append(f"line {n}: {exc}")
            continue
        if len(batch) == MAX_REPORTS_PER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _send(registry: httpx.Client, reports: list[Report]) -> dict[str, Any]:
    r = registry.post("/v1/reports", json={"reports": [x.to_wire() for x in reports]})
    if r.status_code != 200:
        try:
            data = r.json()
        except ValueError:
            data = None
        raise DecisionError(f"the registry refused the reports: {Problem.parse(r.status_code, data).detail}")
    return dict(r.json())


def send_reports(registry: httpx.Client, reports: list[Report]) -> dict[str, Any]:
    """POST /v1/reports; a registry older than `content_ref` gets those reports again without it.

    The report ids stay the same (they hash the content_ref), so each piece still counts once.
    """
    body = _send(registry, reports)
    old = [
        rej["index"]
        for rej in body.get("rejected", [])
        if "content_ref" in str(rej.get("reason")) and isinstance(rej.get("index"), int)
    ]
    if not old:
        return body
    retry = [Report(reports[i].report_id, reports[i].entry_id, reports[i].outcome) for i in old]
    second = _send(registry, retry)
    kept = [rej for rej in body["rejected"] if rej.get("index") not in old]
    kept += [{**rej, "index": old[rej["index"]]} for rej in second.get("rejected", [])]
    return {
        "accepted": int(body.get("accepted", 0)) + int(second.get("accepted", 0)),
        "duplicates": int(body.get("duplicates", 0)) + int(second.get("duplicates", 0)),
        "rejected": kept,
    }


def post(registry: httpx.Client, reports: list[Report], tally: Tally) -> None:
    body = send_reports(registry, reports)
    tally.accepted += int(body.get("accepted", 0))
    tally.duplicates += int(body.get("duplicates", 0))
    for rej in body.get("rejected", []):
        index = rej.get("index")
        rid = reports[index].report_id if isinstance(index, int) and 0 <= index < len(reports) else "?"
        tally.rejected.append(f"{rid}: {rej.get('reason')}")
