"""The Ray scan engine on a real Ray cluster: a head on this machine (2 CPUs, a 200 MB object
store; the `ray_cluster` fixture), shut down at the end of the session.

Shown: both engines give identical results on the same items; a worker killed by pid in the
middle of a scan loses nothing and duplicates nothing; `node scan --engine ray --ray-address`
joins a running cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray not installed (pip install -e '.[ray]')")

from takeitdown.node.engines import LocalEngine  # noqa: E402
from takeitdown.node.ray_engine import RayEngine  # noqa: E402
from takeitdown.node.scan import iter_items, scan, source_key  # noqa: E402
from tests.node.scan_world import findings, make_world, recorded  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(ray_cluster: str) -> str:
    return ray_cluster


def test_both_engines_give_identical_results_on_the_same_items(cluster: str, tmp_path: Path) -> None:
    a = make_world(tmp_path / "a")
    b = make_world(tmp_path / "b")  # the same collection and list again, for the recorded side
    items = list(iter_items(a.folder))
    local = {r.item.id: r for r in LocalEngine(2).run(items, a.matcher)}
    remote = {r.item.id: r for r in RayEngine(chunk=3).run(items, a.matcher)}
    assert sorted(local) == sorted(remote) == a.names
    for name in a.names:
        lr, rr = local[name], remote[name]
        assert (lr.hashes, lr.error, lr.verdict) == (rr.hashes, rr.error, rr.verdict), name
    seen = {r.verdict.verdict for r in local.values() if r.verdict}
    assert "allow" in seen and seen & {"block", "hold"}, seen  # the world has both kinds

    # and recorded through `scan`: the same rows and the same review items
    s_local = scan(a.folder, a.matcher, engine=LocalEngine(2))
    s_ray = scan(b.folder, b.matcher, engine=RayEngine(chunk=3))
    assert (s_local.scanned, s_local.errors, s_local.block, s_local.review) == (
        s_ray.scanned,
        s_ray.errors,
        s_ray.block,
        s_ray.review,
    )
    assert recorded(a.store, source_key(a.folder)) == recorded(b.store, source_key(b.folder))
    assert findings(a.store) == findings(b.store) and findings(a.store)
    # resume: nothing left to do, whichever engine asks
    again = scan(b.folder, b.matcher, engine=RayEngine())
    assert (again.scanned, again.skipped) == (0, len(b.names))


def _raylet_pid() -> int:
    @ray.remote(num_cpus=1)
    def parent() -> int:
        return os.getppid()

    return int(ray.get(parent.remote()))


def _busy_workers(raylet: int) -> list[int]:
    """Worker processes of this cluster running a scan task right now (Ray titles them so)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            title = Path(f"/proc/{d}/cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == raylet and title.startswith(b"ray::scan_chunk"):
            out.append(int(d))
    return out


def test_a_worker_killed_mid_scan_loses_nothing_and_records_every_item_once(
    cluster: str, tmp_path: Path
) -> None:
    w = make_world(tmp_path, pictures=48, video=False)
    raylet = _raylet_pid()
    killed: list[int] = []

    class KillOnce:
        """The scan's progress hook: after the first result, kill a worker busy with a chunk."""

        def start(self, total: int) -> None:
            pass

        def advance(self) -> None:
            if killed:
                return
            deadline = time.time() + 20
            while time.time() < deadline and not killed:
                busy = _busy_workers(raylet)
                if busy:
                    os.kill(busy[0], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.002)

    # No Ray-level retries here, so the engine's own resubmission is what saves the chunk.
    engine = RayEngine(chunk=2, in_flight=4, max_retries=0)
    s = scan(w.folder, w.matcher, engine=engine, progress=KillOnce(), batch=8)
    assert killed, "no worker was found busy with a scan task"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)  # it really is gone
    assert engine.resubmitted >= 1
    assert (s.total, s.scanned, s.errors) == (len(w.names), len(w.names), 1)
    rows = recorded(w.store, source_key(w.folder))  # fails on an item recorded twice
    assert sorted(rows) == w.names
    # the retried items got the same verdicts as a local scan of the same collection gives
    ref = make_world(tmp_path / "ref", pictures=48, video=False)
    scan(ref.folder, ref.matcher, engine=LocalEngine(1))
    assert rows == recorded(ref.store, source_key(ref.folder))
    assert findings(w.store) == findings(ref.store)


def test_ray_task_retries_cover_a_killed_worker_too(cluster: str, tmp_path: Path) -> None:
    w = make_world(tmp_path, pictures=32, video=False)
    raylet = _raylet_pid()
    killed: list[int] = []

    class KillOnce:
        def start(self, total: int) -> None:
            pass

        def advance(self) -> None:
            deadline = time.time() + 20
            while not killed and time.time() < deadline:
                busy = _busy_workers(raylet)
                if busy:
                    os.kill(busy[0], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.002)

    engine = RayEngine(chunk=2, in_flight=4, max_retries=3, resubmits=0)
    s = scan(w.folder, w.matcher, engine=engine, progress=KillOnce())
    assert killed and engine.resubmitted == 0  # Ray reran the task itself
    assert s.scanned == len(w.names) and sorted(recorded(w.store, source_key(w.folder))) == w.names


def test_cli_scan_joins_a_running_cluster(cluster: str, tmp_path: Path) -> None:
    w = make_world(tmp_path, pictures=9, video=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "300"}
    cmd = [
        sys.executable,
        "-m",
        "takeitdown.cli",
        "node",
        "scan",
        str(w.folder),
        "--database-url",
        f"sqlite:///{tmp_path / 'node.db'}",
        "--engine",
        "ray",
        "--ray-address",
        cluster,
    ]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{len(w.names)} scanned now" in r.stderr and "on a Ray cluster of 2 CPUs" in r.stderr
    assert sorted(recorded(w.store, source_key(w.folder))) == w.names
    bad = subprocess.run(
        cmd[:-4] + ["--engine", "local", "--ray-address", cluster], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "--ray-address needs --engine ray" in bad.stderr
    assert "Traceback" not in bad.stderr
