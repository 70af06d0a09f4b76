"""The real `threatexchange` CLI reads a real registry through the extension, and withdrawals reach it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.threatexchange.helpers import (
    NEEDS_TX,
    TxEnv,
    active_entries,
    case_status,
    edited_copy,
    make_photo,
    read_feed,
    submit_files,
    submit_random,
    withdraw,
)

pytest.importorskip("threatexchange", reason=NEEDS_TX)


def test_fetch_match_withdraw_fetch(tx_env: TxEnv, tmp_path: Path) -> None:
    listed = make_photo(tmp_path / "listed.jpg", seed=1)
    edited = edited_copy(listed, tmp_path / "edited.jpg")
    unrelated = make_photo(tmp_path / "unrelated.jpg", seed=2)
    case = submit_files(tx_env.registry, listed)
    # Other people's entries: a list is never one photo (and the CLI's one-entry PDQ index
    # does not survive its own save with faiss 1.15; see docs/hma.md).
    submit_random(tx_env.registry, 4)

    tx_env.setup_collab()
    listing = tx_env.tx("config", "extensions", "list").stdout
    assert "takeitdown.threatexchange" in listing and "photo_md5" in listing
    fetched = tx_env.tx("fetch")
    assert "Up to date" in fetched.stderr

    exact = tx_env.matches(listed)
    assert {line.split()[0] for line in exact} == {"pdq", "photo_md5"}, exact
    assert all("trust=unconfirmed" in line and "(tid)" in line for line in exact)
    pdq_line = next(line for line in exact if line.startswith("pdq"))
    assert pdq_line.split()[1] == "0"  # distance 0: the CLI's PDQ agrees with the device's

    near = tx_env.matches(edited)
    assert [line.split()[0] for line in near] == ["pdq"], near  # new bytes: the MD5 cannot match
    assert 0 < int(near[0].split()[1]) <= 31

    assert tx_env.matches(unrelated) == []

    # The records carry the entry id the registry's reports need.
    live = active_entries(read_feed(tx_env.registry, tx_env.key))
    pdq_id = int(pdq_line.split("entry_id=")[1].split()[0])
    assert live[pdq_id][0] == "pdq"

    withdraw(tx_env.registry, case)
    tx_env.tx("fetch")
    assert tx_env.matches(listed) == []
    assert tx_env.matches(edited) == []
    state = tx_env.state()
    assert pdq_id not in state.updates
    assert set(state.updates) == set(active_entries(read_feed(tx_env.registry, tx_env.key)))


def test_label_reports_a_true_positive(tx_env: TxEnv, tmp_path: Path) -> None:
    """`threatexchange label` calls report_opinion: the case's status counts the report."""
    listed = make_photo(tmp_path / "listed.jpg", seed=3)
    case = submit_files(tx_env.registry, listed)
    submit_random(tx_env.registry, 3)
    tx_env.setup_collab()
    tx_env.tx("fetch")
    pdq = tx_env.tx("hash", "photo", str(listed)).stdout.split()[1]
    (tmp_path / "hash.txt").write_text(pdq)
    tx_env.tx("label", "--as-hash", "pdq", "tid", "photo", str(tmp_path / "hash.txt"))
    assert case_status(tx_env.registry, case)["outcomes"]["match_found"] == 1
    # The same opinion again is the same report: counted once.
    tx_env.tx("label", "--as-hash", "pdq", "tid", "photo", str(tmp_path / "hash.txt"))
    assert case_status(tx_env.registry, case)["outcomes"]["match_found"] == 1


def test_missing_key_is_a_clear_error(tx_env: TxEnv) -> None:
    tx_env.setup_collab()
    env = {k: v for k, v in tx_env.env.items() if k != "TX_TAKEITDOWN_API_KEY"}
    saved, tx_env.env = tx_env.env, env
    try:
        out = tx_env.tx("fetch", check=False)
    finally:
        tx_env.env = saved
    assert out.returncode != 0
    assert "TX_TAKEITDOWN_API_KEY" in out.stderr + out.stdout


def test_key_from_file(tx_env: TxEnv) -> None:
    submit_random(tx_env.registry, 3)
    tx_env.setup_collab()
    (tx_env.home / ".tx_takeitdown_api_key").write_text(tx_env.key + "\n")
    env = {k: v for k, v in tx_env.env.items() if k != "TX_TAKEITDOWN_API_KEY"}
    saved, tx_env.env = tx_env.env, env
    try:
        tx_env.tx("fetch")
    finally:
        tx_env.env = saved
    assert len(tx_env.state().updates) == 6
