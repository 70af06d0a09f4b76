"""How feed entries become records, deletions and resets (protocol shapes in, library shapes out)."""

from __future__ import annotations

import json
import secrets

import pytest

from takeitdown.protocol import FeedEntry, FeedPage, TrustState, chain_next, chain_start
from tests.threatexchange.helpers import NEEDS_TX

pytest.importorskip("threatexchange", reason=NEEDS_TX)

from threatexchange.signal_type.md5 import VideoMD5Signal  # noqa: E402
from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: E402

from takeitdown.threatexchange import (  # noqa: E402
    TX_MANIFEST,
    PhotoMD5Signal,
    TakeItDownCheckpoint,
    TakeItDownCollabConfig,
    TakeItDownRecord,
    TakeItDownSignalExchangeAPI,
)
from takeitdown.threatexchange.exchange import is_reset, record_for  # noqa: E402
from takeitdown.threatexchange.signals import vpdq_signal_str  # noqa: E402

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0e8b1e4e9f2b8e0f5b3f6d7b2f0a6c31"


def entry(
    seq: int, op: str, eid: int, kind: str = "pdq", trust: str | None = None, **kw: object
) -> FeedEntry:
    data = {"seq": seq, "op": op, "entry_id": eid, "type": kind, "trust": trust, **kw}
    data.setdefault("value", PDQ if kind == "pdq" else MD5 if kind == "md5" else secrets.token_hex(32))
    data.setdefault("quality", 90 if kind == "pdq" else None)
    return FeedEntry.parse(data)


def test_add_remove_and_trust_states() -> None:
    added = record_for(entry(1, "add", 7))
    assert added == TakeItDownRecord(7, "pdq", PDQ, "unconfirmed", 90)
    assert record_for(entry(2, "remove", 7)) is None
    assert record_for(entry(3, "state", 7, trust="quarantined")) is None  # quarantined: a deletion
    restored = record_for(entry(4, "state", 7, trust="confirmed"))  # restored: added again
    assert restored is not None and restored.trust == "confirmed" and restored.signal == PDQ
    assert "POSITIVE_CLASS" in str(restored) and "INVESTIGATION_SEED" in str(added)
    assert record_for(entry(5, "add", 8, trust="quarantined")) is None
    assert record_for(entry(6, "add", 9, "pdq80")) is None  # window hashes: node-only (docs/hma.md)


def test_a_page_applies_in_order_and_keeps_the_last_change() -> None:
    api = TakeItDownSignalExchangeAPI.__new__(TakeItDownSignalExchangeAPI)
    api.collab = TakeItDownCollabConfig("tid", "takeitdown", True, "http://127.0.0.1:1")
    raw = [
        json.loads(entry(1, "add", 1).to_wire()),
        json.loads(entry(2, "add", 2, "md5").to_wire()),
        json.loads(entry(3, "remove", 1).to_wire()),
        {"seq": 4, "op": "add", "type": "pdq", "value": "zz", "entry_id": 3},  # bad: skipped, logged
        json.loads(entry(5, "state", 2, "md5", trust="quarantined").to_wire()),
        json.loads(entry(6, "state", 2, "md5", trust="unconfirmed").to_wire()),
        json.loads(entry(7, "add", 4, "vpdq", frames=[{"i": 0, "t": 0.0, "q": 80, "pdq": PDQ}]).to_wire()),
        json.loads(entry(8, "state", 4, "vpdq", trust="confirmed").to_wire()),  # no frames: keep the add
    ]
    updates = api._apply(FeedPage(raw, 8, False))
    assert updates[1] is None
    assert updates[2] == TakeItDownRecord(2, "md5", MD5, "unconfirmed", None)
    assert 3 not in updates
    assert updates[4] is not None and updates[4].signal == json.dumps([f"{PDQ},80,0.0"])


def test_signal_types_of_each_registry_type() -> None:
    records = {
        1: TakeItDownRecord(1, "pdq", PDQ),
        2: TakeItDownRecord(2, "md5", MD5),
        3: TakeItDownRecord(3, "vpdq", vpdq_signal_str(())),
        4: None,
    }
    collab = TakeItDownCollabConfig("tid", "takeitdown", True, "http://x")
    out = TakeItDownSignalExchangeAPI.naive_convert_to_signal_type(
        [PdqSignal, PhotoMD5Signal, VideoMD5Signal], collab, records
    )
    assert set(out[PdqSignal]) == {PDQ}
    assert set(out[PhotoMD5Signal]) == {MD5} and set(out[VideoMD5Signal]) == {MD5}  # a feed md5 may be either
    assert len(out) == 3  # no vPDQ signal type given: vPDQ is not carried


def test_vpdq_signal_string_is_the_extensions_form() -> None:
    frames = entry(1, "add", 1, "vpdq", frames=[
        {"i": 0, "t": 0.0, "q": 100, "pdq": PDQ}, {"i": 1, "t": 123.5, "q": 7, "pdq": PDQ},
    ]).frames  # fmt: skip
    assert frames is not None
    # threatexchange.extensions.vpdq reads "hex,quality,seconds" with seconds as f"{t:.3}"
    assert json.loads(vpdq_signal_str(frames)) == [f"{PDQ},100,0.0", f"{PDQ},7,1.24e+02"]


def test_reset_detection() -> None:
    epoch = "e1"
    head = chain_next(chain_start(epoch), "line")
    at = TakeItDownCheckpoint(cursor=5, epoch=epoch, head=head)
    assert not is_reset(at, FeedPage([], 5, False, epoch, head, head))
    assert is_reset(at, FeedPage([], 5, False, "e2", chain_start("e2"), None))  # new epoch
    assert is_reset(at, FeedPage([], 5, False, epoch, chain_start(epoch), None))  # base is not our head
    assert not is_reset(at, FeedPage([], 5, False))  # an older registry sends neither
    assert not is_reset(TakeItDownCheckpoint(), FeedPage([], 0, False, epoch, chain_start(epoch), None))
    assert TakeItDownCheckpoint().is_stale() is False


def test_manifest() -> None:
    assert TakeItDownSignalExchangeAPI.get_name() == "takeitdown"
    assert TX_MANIFEST.apis == (TakeItDownSignalExchangeAPI,)
    assert PhotoMD5Signal.get_name() == "photo_md5"
    assert PhotoMD5Signal.validate_signal_str(MD5.upper()) == MD5
    with pytest.raises(ValueError):
        PhotoMD5Signal.validate_signal_str("abc")
    assert TrustState.QUARANTINED == "quarantined"


def test_nothing_else_imports_threatexchange() -> None:
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "takeitdown"
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "threatexchange" not in p.relative_to(src).parts[:1]
        and any(
            line.strip().startswith(("import threatexchange", "from threatexchange"))
            for line in p.read_text().splitlines()
        )
    ]
    assert offenders == []


class _Stuck:
    """A registry client whose feed claims more but never moves (a registry bug)."""

    def feed_page(self, after: int, limit: int) -> FeedPage:
        return FeedPage([], after, True)


def test_a_feed_that_does_not_advance_stops_with_a_clear_error() -> None:
    from takeitdown.threatexchange.exchange import RegistryError

    api = TakeItDownSignalExchangeAPI(
        TakeItDownCollabConfig("tid", "takeitdown", True, "http://127.0.0.1:1"),
        _Stuck(),  # type: ignore[arg-type]
    )
    with pytest.raises(RegistryError, match="did not advance"):
        list(api.fetch_iter([], TakeItDownCheckpoint(cursor=7)))
