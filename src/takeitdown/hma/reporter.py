"""Decisions -> registry reports.

A decision is one JSON object a line:

    {"entry_id": 12, "decision": "removed", "content_ref": "post:991"}
    {"bank": "TAKEITDOWN", "bank_content_id": 345, "decision": "false_positive", "content_ref": "post:7"}

`decision` is an Outcome (match_found, removed, upload_blocked, false_positive) or
`true_positive` (= match_found). `content_ref` is the platform's opaque id of the piece of
content, so two pieces count twice and a retry counts once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from takeitdown.protocol import (
    MAX_REPORTS_PER_BATCH,
    FeedEntry,
    FeedPage,
    InvalidFeedEntry,
    InvalidReport,
    Outcome,
    Problem,
    Report,
    TrustState,
)

ALIASES = {"true_positive": Outcome.MATCH_FOUND.value}


class DecisionError(ValueError):
    pass


def report_id_for(entry_id: int, outcome: Outcome, content_ref: str | None) -> str:
    """The same decision on the same content always gets the same id (the extension uses this form)."""
    ref = "-" if content_ref is None else hashlib.sha256(content_ref.encode()).hexdigest()[:24]
    return f"tx:{entry_id}:{outcome.value}:{ref}"


class HmaClient:
    """HMA's bank content API: which hash a bank item holds.

    HMA keeps no link from a bank item to the exchange entry it was imported from (its
    `GET /c/bank/<bank>/content/<id>` answers `collab_metadata: {}`), but with
    `include_signals=true` it names the item's hashes, which are the registry's own values.
    """

    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=30, transport=transport)

    def signals(self, bank: str, content_id: int) -> dict[str, str]:
        r = self.http.get(f"/c/bank/{bank}/content/{content_id}", params={"include_signals": "true"})
        if r.status_code != 200:
            raise DecisionError(f"HMA has no content {content_id} in bank {bank} (HTTP {r.status_code})")
        try:
            signals = r.json().get("signals")
        except (ValueError, AttributeError):
            signals = None
        if not isinstance(signals, dict) or not signals:
            raise DecisionError(f"HMA content {content_id} in bank {bank}: no signals in HMA's answer")
        return {str(k): str(v) for k, v in signals.items()}


# HMA signal type name -> the registry's hash type (vPDQ is not carried by the extension).
REGISTRY_TYPES = {"pdq": "pdq", "photo_md5": "md5", "video_md5": "md5"}


def _wire_key(entry: FeedEntry) -> tuple[str, str]:
    return (entry.type, entry.value)


def live_entry_ids(
    read_page: Callable[[int], FeedPage | None],
    wanted: set[tuple[str, str]],
    key_of: Callable[[FeedEntry], tuple[str, str]] = _wire_key,
) -> dict[tuple[str, str], int]:
    """(registry type, value) -> the entry id of the live entry holding it, by one pass over the
    feed. A hash withdrawn or quarantined by the end of the feed has no live entry. `key_of`
    names an entry another way (the extension keys a vPDQ by its frames, as the library does)."""
    live: dict[int, tuple[str, str]] = {}
    after, more = 0, True
    while more:
        page = read_page(after)
        if page is None:  # the cursor is past the end: the registry was reset under us
            break
        for raw in page.entries:
            try:
                entry = FeedEntry.parse(raw)
            except InvalidFeedEntry:
                continue
            key = key_of(entry)
            if entry.op == "remove" or entry.trust == TrustState.QUARANTINED:
                live.pop(entry.entry_id, None)
            elif key in wanted:  # an add, or a state entry bringing it back
                live[entry.entry_id] = key
        if page.more and page.next <= after:  # would read the same page forever
            raise DecisionError(f"the feed did not advance past {after} although it says there is more")
        after, more = page.next, page.more
    return {key: eid for eid, key in live.items()}


@dataclass
class Decision:
    """One line of the decisions file, its entry not yet known when it names an HMA bank item."""

    line: int
    outcome: Outcome
    content_ref: str
    entry_id: int | None = None
    hashes: list[tuple[str, str]] = field(default_factory=list)  # (registry type, value)


def parse_decision(line: int, decision: object, hma: HmaClient | None) -> Decision:
    if not isinstance(decision, dict):
        raise DecisionError("a decision must be a JSON object")
    raw = decision.get("decision")
    outcome = ALIASES.get(raw, raw) if isinstance(raw, str) else raw
    if outcome not in {o.value for o in Outcome}:
        raise DecisionError(f"unknown decision {raw!r}; use true_positive or one of {', '.join(Outcome)}")
    ref = decision.get("content_ref")
    if not isinstance(ref, str) or not ref:
        raise DecisionError(
            "content_ref is missing: the platform's own id of the piece of content decided on "
            "(each piece counts once in the person's case status)"
        )
    entry_id = decision.get("entry_id")
    if entry_id is not None:
        if isinstance(entry_id, bool) or not isinstance(entry_id, int):
            raise DecisionError("entry_id must be a whole number from the feed")
        return Decision(line, Outcome(outcome), ref, entry_id=entry_id)
    if "bank_content_id" not in decision:
        raise DecisionError("a decision names an entry_id, or a bank and bank_content_id (with --hma)")
    if hma is None:
        raise DecisionError("a bank_content_id needs --hma URL")
    bank, content = decision.get("bank"), decision.get("bank_content_id")
    if not isinstance(bank, str) or isinstance(content, bool) or not isinstance(content, int):
        raise DecisionError("bank must be the bank's name and bank_content_id a whole number")
    hashes = [
        (REGISTRY_TYPES[name], value.lower())
        for name, value in sorted(hma.signals(bank, content).items())
        if name in REGISTRY_TYPES
    ]
    if not hashes:
        raise DecisionError(f"HMA content {content} holds no hash the registry lists (pdq, photo/video md5)")
    return Decision(line, Outcome(outcome), ref, hashes=hashes)


def to_report(decision: Decision) -> Report:
    assert decision.entry_id is not None
    try:
        return Report.parse(
            {
                "report_id": report_id_for(decision.entry_id, decision.outcome, decision.content_ref),
                "entry_id": decision.entry_id,
                "outcome": decision.outcome.value,
                "content_ref": decision.content_ref,
            }
        )
    except InvalidReport as exc:
        raise DecisionError(str(exc)) from None


@dataclass
class Tally:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)


def batches(
    lines: Iterable[str],
    hma: HmaClient | None,
    tally: Tally,
    read_page: Callable[[int], FeedPage | None] | None = None,
) -> Iterator[list[Report]]:
    """Reports from decision lines, in batches. Lines naming HMA bank items are resolved to entry
    ids at the end, by one pass over the feed (`read_page`) for all of them."""
    decisions: list[Decision] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            decisions.append(parse_decision(n, json.loads(line), hma))
        except (ValueError, httpx.HTTPError) as exc:
            tally.rejected.append(f"line {n}: {exc}")
    wanted = {h for d in decisions if d.entry_id is None for h in d.hashes}
    found = live_entry_ids(read_page, wanted) if wanted and read_page is not None else {}
    batch: list[Report] = []
    for d in decisions:
        if d.entry_id is None:
            ids = sorted({found[h] for h in d.hashes if h in found})
            if not ids:
                tally.rejected.append(f"line {d.line}: no live registry entry holds that bank item's hash")
                continue
            d.entry_id = ids[0]
        try:
            batch.append(to_report(d))
        except DecisionError as exc:
            tally.rejected.append(f"line {d.line}: {exc}")
            continue
        if len(batch) == MAX_REPORTS_PER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def feed_reader(registry: httpx.Client) -> Callable[[int], FeedPage | None]:
    """Pages of the registry's feed as this platform reads it (its API key is on `registry`)."""

    def read(after: int) -> FeedPage | None:
        r = registry.get("/v1/feed", params={"after": after, "limit": 10_000})
        if r.status_code == 400:
            return None
        if r.status_code != 200:
            raise DecisionError(f"the feed could not be read: HTTP {r.status_code}")
        return FeedPage.parse(r.json())

    return read


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
