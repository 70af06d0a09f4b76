"""Health the way orchestrators read it: /livez always, /readyz only when the node can be trusted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.node.helpers import Registry, start_node, wait_for


def _ready(url: str) -> httpx.Response:
    return httpx.get(url + "/readyz", timeout=10)


def test_readyz_follows_sync_and_the_key(registry: Registry, tmp_path: Path) -> None:
    key = registry.add_platform("probe-platform")
    node = start_node(registry, key, tmp_path)
    try:
        assert httpx.get(node.url + "/livez", timeout=10).json() == {"status": "ok"}
        wait_for(lambda: _ready(node.url).status_code == 200, what="node ready after its first sync")
        subprocess.run(
            [sys.executable, "-m", "takeitdown.cli", "registry", "platform", "revoke", "probe-platform",
             "--database-url", registry.db_url],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        wait_for(lambda: _ready(node.url).status_code == 503, what="not ready once the key is revoked")
        r = _ready(node.url)
        assert r.headers["retry-after"] and r.json()["code"] == "unavailable"
        assert any("refuses this node's API key" in reason for reason in r.json()["reasons"])
        assert httpx.get(node.url + "/livez", timeout=10).status_code == 200  # alive, just not ready
    finally:
        node.stop()


def test_readyz_is_503_before_the_first_sync(tmp_path: Path) -> None:
    unreachable = Registry("http://127.0.0.1:9", "", None)  # type: ignore[arg-type]
    node = start_node(unreachable, "k" * 24, tmp_path)
    try:
        r = _ready(node.url)
        assert r.status_code == 503
        assert "has not synced with the registry yet" in r.json()["detail"]
    finally:
        node.stop()


def test_readyz_fails_when_the_registry_goes_away_and_when_the_list_lags(
    registry: Registry, tmp_path: Path
) -> None:
    """After a first sync: three failed polls in a row (the registry is gone) make the node not
    ready, and so does a list older than TAKEITDOWN_NODE_MAX_LAG_SECONDS."""
    key = registry.add_platform("probe-platform")
    env = {"TAKEITDOWN_NODE_POLL_SECONDS": "0.2", "TAKEITDOWN_NODE_BACKOFF_CAP": "0.2",
           "TAKEITDOWN_NODE_MAX_LAG_SECONDS": "3"}  # fmt: skip
    node = start_node(registry, key, tmp_path, extra_env=env)
    try:
        wait_for(lambda: _ready(node.url).status_code == 200, what="node ready after its first sync")
        registry.proc.terminate()
        registry.proc.wait(10)
        wait_for(lambda: _ready(node.url).status_code == 503, what="not ready once the registry is gone")
        reasons = " ".join(_ready(node.url).json()["reasons"])
        assert "sync keeps failing" in reasons
        wait_for(lambda: "behind" in " ".join(_ready(node.url).json()["reasons"]), what="the lag bound")
        assert httpx.get(node.url + "/livez", timeout=10).status_code == 200
    finally:
        node.stop()
