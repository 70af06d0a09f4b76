"""Against a real registry: quarantines leave the store, and a restore that grew past the old
cursor is still caught by the feed's running hash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from takeitdown.protocol import FeedPage
from tests.node.helpers import Registry
from tests.threatexchange.helpers import (
    NEEDS_TX,
    active_entries,
    case_status,
    read_feed,
    start_registry,
    stop_registry,
    submit_random,
)

pytest.importorskip("threatexchange", reason=NEEDS_TX)

from takeitdown.threatexchange import TakeItDownCollabConfig, TakeItDownSignalExchangeAPI  # noqa: E402
from takeitdown.threatexchange.exchange import RegistryClient  # noqa: E402


def _api(registry: Registry, key: str, page_size: int = 4) -> TakeItDownSignalExchangeAPI:
    collab = TakeItDownCollabConfig("tid", "takeitdown", True, registry.url, page_size)
    return TakeItDownSignalExchangeAPI(collab, RegistryClient(registry.url, key))


def _fetch(api: TakeItDownSignalExchangeAPI, state: dict, checkpoint=None):  # type: ignore[no-untyped-def]
    """One `threatexchange fetch`: like the CLI, a stale checkpoint clears the store first."""
    if checkpoint is not None and checkpoint.is_stale():
        state.clear()
        checkpoint = None
    for delta in api.fetch_iter([], checkpoint):
        api.naive_fetch_merge(state, delta.updates)
        checkpoint = delta.checkpoint
    return checkpoint


def test_a_quarantined_entry_leaves_the_store(registry: Registry) -> None:
    keys = [registry.add_platform(f"p{i}") for i in range(5)]
    submit_random(registry, 2)
    api = _api(registry, keys[0])
    state: dict = {}
    checkpoint = _fetch(api, state)
    target = min(state)
    for n, key in enumerate(keys):  # every platform receives it, looks, and disputes it
        read_feed(registry, key)
        report = {"report_id": f"fp-{n}", "entry_id": target, "outcome": "false_positive"}
        r = httpx.post(
            registry.url + "/v1/reports",
            json={"reports": [{**report, "content_ref": f"upload-{n}"}]},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    feed = read_feed(registry, keys[0])
    assert any(e["op"] == "state" and e["entry_id"] == target for e in feed), "no quarantine on the feed"
    _fetch(api, state, checkpoint)
    assert target not in state
    assert set(state) == set(active_entries(feed))


def test_a_restore_that_grew_past_the_cursor_is_caught_by_the_running_hash(
    registry: Registry, tmp_path: Path
) -> None:
    key = registry.add_platform("hma-platform")
    submit_random(registry, 2)
    first = httpx.get(registry.url + "/v1/feed", headers={"Authorization": f"Bearer {key}"}).json()
    assert FeedPage.parse(first).head is not None, "feed pages carry epoch/base/head"
    backup = tmp_path / "backup.db"
    with sqlite3.connect(registry.db_url.removeprefix("sqlite:///")) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    submit_random(registry, 3)  # lost in the restore
    api = _api(registry, key)
    state: dict = {}
    checkpoint = _fetch(api, state)
    assert len(state) == 10
    restored = start_registry(backup, tmp_path)
    try:
        submit_random(restored, 5)  # the restored registry moves past the old cursor with other entries
        api = _api(restored, key)
        checkpoint = _fetch(api, state, checkpoint)
        assert checkpoint.is_stale(), "the restore was not noticed"
        _fetch(api, state, checkpoint)  # the next fetch starts again from an empty store
        # the same ids now name other hashes: compare the hashes, not just the ids
        assert {k: (v.hash_type, v.signal) for k, v in state.items()} == active_entries(
            read_feed(restored, key)
        )
    finally:
        stop_registry(restored)


def test_opinions_reach_the_case_against_a_registry_with_default_settings(registry: Registry) -> None:
    """report_opinion with the library's plain SignalOpinion (no content named), and with a
    TakeItDownOpinion naming the platform's content: both are taken by a registry that requires
    content references, a false positive disputes the entry, and a repeat counts once."""
    from threatexchange.exchanges.fetch_state import SignalOpinion, SignalOpinionCategory
    from threatexchange.signal_type.pdq.signal import PdqSignal

    from takeitdown.threatexchange.exchange import TakeItDownOpinion

    key = registry.add_platform("hma-platform")
    case = submit_random(registry, 2)
    api = _api(registry, key)
    state: dict = {}
    _fetch(api, state)
    pdq_records = [r for r in state.values() if r.hash_type == "pdq"]
    first, second = pdq_records[0], pdq_records[1]
    negative = SignalOpinion(False, SignalOpinionCategory.NEGATIVE_CLASS, set())
    for _ in range(2):
        api.report_opinion(PdqSignal, first.signal, negative)
    removed = TakeItDownOpinion(
        False, SignalOpinionCategory.POSITIVE_CLASS, set(), second.entry_id, "post:17", "removed"
    )
    api.report_opinion(PdqSignal, second.signal, removed)
    outcomes = case_status(registry, case)["outcomes"]
    assert (outcomes["false_positive"], outcomes["removed"]) == (1, 1)
