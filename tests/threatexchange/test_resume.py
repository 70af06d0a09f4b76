"""A fetch stopped midway resumes from its stored checkpoint: nothing missing, nothing read twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.threatexchange.helpers import (
    COLLAB,
    NEEDS_TX,
    TxEnv,
    active_entries,
    read_feed,
    served_to,
    submit_random,
    withdraw,
)

pytest.importorskip("threatexchange", reason=NEEDS_TX)

PLATFORM = "hma-platform"


def _fill(tx_env: TxEnv) -> int:
    """60 feed entries: 40 adds, then the 20 removes of a withdrawn case, in between others' adds."""
    first = submit_random(tx_env.registry, 10)
    submit_random(tx_env.registry, 10)
    withdraw(tx_env.registry, first)
    submit_random(tx_env.registry, 5)
    return len(read_feed(tx_env.registry, tx_env.key))


def test_limit_stops_midway_and_the_next_fetch_resumes(tx_env: TxEnv) -> None:
    total = _fill(tx_env)
    assert total == 70
    tx_env.setup_collab(page_size=7)
    served_before = served_to(tx_env.registry, PLATFORM)  # the test's own reads above
    out = tx_env.tx("fetch", "--limit", "10", "--skip-index-rebuild")
    assert "Hit limits" in out.stderr
    stopped = tx_env.state()
    assert stopped.checkpoint.cursor == 14  # two pages of 7: stopped at a page boundary
    assert served_to(tx_env.registry, PLATFORM) - served_before == 14

    tx_env.tx("fetch")
    done = tx_env.state()
    assert done.checkpoint.cursor == total
    assert served_to(tx_env.registry, PLATFORM) - served_before == total  # every entry once
    live = active_entries(read_feed(tx_env.registry, tx_env.key))
    assert {k: (v.hash_type, v.signal) for k, v in done.updates.items()} == live
    assert len(live) == 30  # 15 images x (pdq, md5); the withdrawn case's 20 entries are gone


def test_killed_fetch_resumes_from_the_last_stored_checkpoint(tx_env: TxEnv) -> None:
    total = _fill(tx_env)
    submit_random(tx_env.registry, 400)
    total += 800
    tx_env.setup_collab(page_size=1)  # one request per entry: slow enough to kill midway
    state_file = Path(tx_env.env["TX_STATEDIR"]) / "fetched" / "takeitdown" / f"{COLLAB}.state.pickle"
    proc = subprocess.Popen(
        [sys.executable, "-m", "threatexchange", "fetch", "--checkpoint-every", "1", "--skip-index-rebuild"],
        env=tx_env.env,
        cwd=tx_env.home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not state_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no chance to write anything more
    finally:
        proc.wait(30)
    killed = tx_env.state()
    stored = killed.checkpoint.cursor
    if stored >= total:
        pytest.skip("the fetch finished before it could be killed (machine too fast for page_size=1)")
    assert 0 < stored < total

    before = served_to(tx_env.registry, PLATFORM)
    tx_env.tx("fetch", "--skip-index-rebuild")
    assert served_to(tx_env.registry, PLATFORM) - before == total - stored  # read on from the checkpoint
    done = tx_env.state()
    assert done.checkpoint.cursor == total
    live = active_entries(read_feed(tx_env.registry, tx_env.key))
    assert {k: (v.hash_type, v.signal) for k, v in done.updates.items()} == live
