"""A registry restored from an older backup: the extension drops what it had and reads again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.threatexchange.helpers import (
    NEEDS_TX,
    TxEnv,
    active_entries,
    make_photo,
    read_feed,
    start_registry,
    stop_registry,
    submit_files,
    submit_random,
)

pytest.importorskip("threatexchange", reason=NEEDS_TX)


def test_restore_from_backup_drops_entries_the_registry_no_longer_has(tx_env: TxEnv, tmp_path: Path) -> None:
    submit_random(tx_env.registry, 3)
    backup = tmp_path / "backup.db"
    live_db = Path(tx_env.registry.db_url.removeprefix("sqlite:///"))
    with sqlite3.connect(live_db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)  # the operator's backup, taken while the registry runs
    later = make_photo(tmp_path / "later.jpg", seed=7)
    submit_files(tx_env.registry, later)  # submitted after the backup: lost in the restore
    submit_random(tx_env.registry, 4)

    tx_env.setup_collab(page_size=4)
    tx_env.tx("fetch")
    assert len(tx_env.state().updates) == 16
    assert tx_env.matches(later)

    restored = start_registry(backup, tmp_path)
    try:
        tx_env.tx("config", "collab", "edit", "takeitdown", "tid", "--registry-url", restored.url)
        out = tx_env.tx("-v", "fetch")
        assert "reset" in out.stderr
        # Entry ids are random: the reset marks the checkpoint stale, and the next fetch clears
        # the store and reads again from 0.
        tx_env.tx("-v", "fetch")
        state = tx_env.state()
        assert {k: (v.hash_type, v.signal) for k, v in state.updates.items()} == active_entries(
            read_feed(restored, tx_env.key)
        )
        assert len(state.updates) == 6
        assert tx_env.matches(later) == []  # its entries left with the store, not just by overwrite
        assert not state.checkpoint.stale and state.checkpoint.cursor == 6
    finally:
        stop_registry(restored)
