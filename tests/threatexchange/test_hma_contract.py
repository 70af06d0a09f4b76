"""The pieces HMA (OpenMediaMatch) calls, through the library's own helpers, against a real registry.

HMA stores the collaboration config, the credentials and the checkpoint as JSON through
python-threatexchange's dataclass_json, keys records by str(key), converts one record at a time
with naive_convert_to_signal_type (a record that converts to nothing is deleted), and merges the
deltas of one commit with dict.update. These tests do the same with the real library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.threatexchange.helpers import (
    NEEDS_TX,
    TxEnv,
    active_entries,
    make_photo,
    read_feed,
    submit_files,
    submit_random,
    withdraw,
)

pytest.importorskip("threatexchange", reason=NEEDS_TX)

from threatexchange.storage.interfaces import SignalExchangeAPIConfig  # noqa: E402
from threatexchange.utils import dataclass_json  # noqa: E402

from takeitdown.threatexchange import (  # noqa: E402
    TakeItDownCheckpoint,
    TakeItDownCollabConfig,
    TakeItDownSignalExchangeAPI,
    signal_types,
)


def _hma_commit(rows: dict[str, Any], pending: dict[Any, Any], collab: TakeItDownCollabConfig) -> None:
    """What HMA's exchange_commit_fetch does with a pending merge (rows keyed by str(fetch key))."""
    for key, value in pending.items():
        if value is not None and not TakeItDownSignalExchangeAPI.naive_convert_to_signal_type(
            signal_types(), collab, {key: value}
        ):
            value = None  # nothing indexable: HMA deletes the row
        if value is None:
            rows.pop(str(key), None)
        else:
            rows[str(key)] = value


def test_hma_style_fetch_and_commit(tx_env: TxEnv, tmp_path: Path) -> None:
    # POST /c/exchanges: api_json -> the config class through dataclass_json
    api_json = {"registry_url": tx_env.registry.url, "page_size": 3, "name": "TAKEITDOWN",
                "enabled": True, "api": "takeitdown"}  # fmt: skip
    collab = dataclass_json.dataclass_load_dict(api_json, TakeItDownCollabConfig)
    # POST /c/exchanges/api/takeitdown {"credential_json": {"api_key": ...}}
    cfg = SignalExchangeAPIConfig(TakeItDownSignalExchangeAPI)
    cfg.set_credentials_from_json_dict({"api_key": tx_env.key})
    assert cfg.credentials is not None
    with cfg.credentials.set_default(cfg.credentials, "db"):  # how HMA hands the key over
        api = TakeItDownSignalExchangeAPI.for_collab(collab)

    photo = make_photo(tmp_path / "p.jpg", seed=11)
    case = submit_files(tx_env.registry, photo)
    submit_random(tx_env.registry, 3)

    rows: dict[str, Any] = {}
    stored_json: dict[str, Any] | None = None
    for _ in range(2):  # a first fetch, then one after the withdrawal
        checkpoint = None if stored_json is None else dataclass_json.dataclass_load_dict(
            stored_json, TakeItDownCheckpoint
        )  # fmt: skip
        pending: dict[Any, Any] = {}
        for delta in api.fetch_iter(signal_types(), checkpoint):
            pending.update(delta.updates)  # HMA's _merge_delta
            stored_json = dataclass_json.dataclass_dump_dict(delta.checkpoint)  # checkpoint_json
        _hma_commit(rows, pending, collab)
        live = active_entries(read_feed(tx_env.registry, tx_env.key))
        assert set(rows) == {str(k) for k in live}
        if case:
            withdraw(tx_env.registry, case)
            case = {}
    assert stored_json is not None and stored_json["cursor"] == len(read_feed(tx_env.registry, tx_env.key))
