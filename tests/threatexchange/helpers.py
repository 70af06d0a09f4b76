"""Helpers: the real `threatexchange` CLI in a subprocess, against a real registry on loopback.

Every test module here needs python-threatexchange (`pip install 'takeitdown[threatexchange]'`)
and skips with that reason when it is not installed (see NEEDS_TX).
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from takeitdown.hashing import hash_file
from takeitdown.protocol import CaseItem, case_body
from tests.node.helpers import REGISTRY_METRICS_TOKEN, Registry
from tests.registry.helpers import random_pdq

COLLAB = "tid"
NEEDS_TX = "python-threatexchange is not installed (pip install 'takeitdown[threatexchange]')"


@dataclass
class TxEnv:
    registry: Registry
    key: str
    env: dict[str, str]
    home: Path

    def tx(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run `threatexchange ARGS` as a platform's operator would."""
        proc = subprocess.run(
            [sys.executable, "-m", "threatexchange", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            cwd=self.home,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"threatexchange {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
            )
        return proc

    def setup_collab(self, page_size: int = 1000) -> None:
        self.tx("config", "extensions", "add", "takeitdown.threatexchange")
        self.tx(
            "config", "collab", "edit", "takeitdown", COLLAB, "--create",
            "--registry-url", self.registry.url, "--page-size", str(page_size),
        )  # fmt: skip

    def matches(self, path: Path) -> list[str]:
        """`threatexchange match photo PATH`: one line per (signal type, match)."""
        out = self.tx("match", "photo", str(path)).stdout
        return [line for line in out.splitlines() if line.strip()]

    def state(self) -> Any:
        """The CLI's stored fetch state for the collaboration (a FetchDelta: updates + checkpoint)."""
        path = Path(self.env["TX_STATEDIR"]) / "fetched" / "takeitdown" / f"{COLLAB}.state.pickle"
        with path.open("rb") as f:
            return pickle.load(f)


@pytest.fixture
def tx_env(registry: Registry, tmp_path: Path) -> TxEnv:
    key = registry.add_platform("hma-platform")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "TX_STATEDIR": str(home / ".threatexchange"),
        "TX_TAKEITDOWN_API_KEY": key,
    }
    return TxEnv(registry, key, env, home)


def make_photo(path: Path, seed: int, size: int = 480) -> Path:
    """A photo with enough detail for a PDQ of high quality (smooth random texture)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((24, 24, 3)) * 255).astype("uint8")
    Image.fromarray(small).resize((size, size), Image.BICUBIC).save(path, quality=92)
    return path


def edited_copy(src: Path, dst: Path) -> Path:
    """What a re-poster does: shrink and recompress (new bytes, so a new MD5; a close PDQ)."""
    with Image.open(src) as im:
        im.resize((im.width * 5 // 8, im.height * 5 // 8), Image.LANCZOS).save(dst, quality=60)
    return dst


def submit_files(registry: Registry, *paths: Path) -> dict[str, Any]:
    """Create one case holding these files' hashes, hashed on this device as `takeitdown submit` does."""
    items = [CaseItem.parse(h.kind, h.wire_hashes()) for h in map(hash_file, paths)]
    r = httpx.post(registry.url + "/v1/cases", json=case_body(items), timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def submit_random(registry: Registry, n: int) -> dict[str, Any]:
    """A case of `n` unrelated images (random PDQ and MD5): other people's entries on the list."""
    items = [
        {
            "kind": "image",
            "hashes": [
                {"type": "pdq", "value": random_pdq(), "quality": 90},
                {"type": "md5", "value": secrets.token_hex(16)},
            ],
        }
        for _ in range(n)
    ]
    r = httpx.post(registry.url + "/v1/cases", json={"items": items}, timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def withdraw(registry: Registry, case: dict[str, Any]) -> None:
    r = httpx.delete(
        f"{registry.url}/v1/cases/{case['case_id']}",
        headers={"Authorization": f"Bearer {case['case_secret']}"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text


def case_status(registry: Registry, case: dict[str, Any]) -> dict[str, Any]:
    r = httpx.get(
        f"{registry.url}/v1/cases/{case['case_id']}",
        headers={"Authorization": f"Bearer {case['case_secret']}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def read_feed(registry: Registry, key: str) -> list[dict[str, Any]]:
    """Every feed entry, read directly (what the extension must end up agreeing with)."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        r = httpx.get(
            registry.url + "/v1/feed",
            params={"after": after, "limit": 10000},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["entries"])
        after = page["next"]
        if not page["more"]:
            return out


CARRIED = ("pdq", "md5", "vpdq")  # the window hashes (pdq80, pdq70) are not carried (docs/hma.md)


def active_entries(entries: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """entry_id -> (type, value) of the carried entries on the list after applying the feed in order."""
    live: dict[int, tuple[str, str]] = {}
    for e in entries:
        if e["type"] not in CARRIED:
            continue
        if e["op"] == "add" or (e["op"] == "state" and e.get("trust") != "quarantined"):
            live[e["entry_id"]] = (e["type"], e["value"])
        else:
            live.pop(e["entry_id"], None)
    return live


METRICS_TOKEN = REGISTRY_METRICS_TOKEN  # the same token for every test registry


def served_to(registry: Registry, platform: str) -> int:
    """How many feed entries the registry has served this platform (its own counter)."""
    text = httpx.get(
        registry.url + "/metrics", timeout=30, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    name = "takeitdown_registry_feed_entries_served_total"
    m = re.search(rf'^{name}\{{platform="{re.escape(platform)}"\}} ([0-9.e+]+)$', text, re.M)
    return 0 if m is None else int(float(m.group(1)))


def start_registry(db_path: Path, workdir: Path) -> Registry:
    """Another real registry (uvicorn in a subprocess) on an existing database file; stop it after."""
    from tests.node.helpers import free_port, wait_http

    port = free_port()
    db_url = f"sqlite:///{db_path}"
    log = workdir / f"registry-{port}.log"
    env = {
        **os.environ,
        "TAKEITDOWN_CASE_RATE_PER_MINUTE": "0",
        "TAKEITDOWN_MAX_ITEMS": "1000",
        "TAKEITDOWN_PUBLISH_INTERVAL": "0",  # these tests are about the extension, not batching
        "TAKEITDOWN_METRICS_TOKEN": METRICS_TOKEN,
    }
    env.pop("TAKEITDOWN_DATABASE_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "takeitdown.cli", "serve", "--port", str(port), "--database-url", db_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", proc, log)
    except Exception:
        proc.kill()
        raise
    return Registry(url, db_url, proc)


def stop_registry(registry: Registry) -> None:
    registry.proc.terminate()
    try:
        registry.proc.wait(15)
    except subprocess.TimeoutExpired:
        registry.proc.kill()
        registry.proc.wait()
