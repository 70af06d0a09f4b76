"""The serving node's inventory on Ray shards (TAKEITDOWN_NODE_INVENTORY_SHARDS > 0), on a real Ray head.

Shown: a node configured with 2 shards builds them from the rows a scan wrote, holds none of the
hosted codes itself, and finds what the local inventory finds on the same rows (hits, distances
and row ids), with the files deleted first; rows a scan adds while it runs are fed in; a
rescanned item's old hashes give no hit; retro hits and the legal desk's copy search go through
it; a restart loads the saved shards (and a lost manifest means a rebuild) with the same hits; a
lost actor is replaced from the saved files; and end to end, a real node process on the test's
Ray head, a `node scan` and a registry case give the retro review item, before and after a restart.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from takeitdown.hashing import hash_file
from takeitdown.node import config
from takeitdown.node.inventory import Inventory, InventoryItem, RetroHit
from takeitdown.node.matcher import Policy
from takeitdown.node.schema import review_items
from takeitdown.node.service import ConfigError, Node, NodeSettings
from takeitdown.node.store import Change, Entry
from takeitdown.protocol import Md5Hash
from takeitdown.settings import SettingsError
from tests.node.helpers import Registry, conformance, start_node, wait_for
from tests.node.scan_world import make_world
from tests.node.test_sharded_inventory import _entries, _hosted


def _settings(db_url: str, shards_dir: Path, shards: int = 2) -> NodeSettings:
    return NodeSettings(
        registry_url="http://127.0.0.1:9",  # never contacted: the node's threads are not started
        api_key="k" * 20,
        database_url=db_url,
        policy=Policy(),
        inventory_shards=shards,
        inventory_dir=shards_dir,
        inventory_shard_cpus=0.5,
    )


def _key(h: RetroHit) -> tuple:
    return (h.ref, h.entry_id, h.type, h.distance, h.md5, h.pdq, h.source, h.inventory_id)


def test_shards_need_ray_named_at_start_and_the_shard_folder_defaults_beside_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert config.inventory_values({})["inventory_shards"] == 0  # the local inventory by default
    monkeypatch.setattr(config, "find_spec", lambda name: None)  # as if ray were not installed
    with pytest.raises(SettingsError, match=r"INVENTORY_SHARDS=4 needs Ray: install takeitdown's ray extra"):
        config.inventory_values({"TAKEITDOWN_NODE_INVENTORY_SHARDS": "4"})
    assert config.inventory_values({"TAKEITDOWN_NODE_INVENTORY_SHARDS": "0"})["inventory_shards"] == 0
    assert config.inventory_dir(None, "sqlite:////data/n/node.db") == Path("/data/n/inventory-shards")
    assert config.inventory_dir(None, "postgresql://db/x") == Path("takeitdown-data/inventory-shards")
    assert config.inventory_dir("/srv/shards", "sqlite:////data/node.db") == Path("/srv/shards")


def test_a_node_embedded_without_ray_is_refused_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is not installed
    with pytest.raises(
        ConfigError, match=r"needs Ray: install takeitdown's ray extra, `pip install '\.\[ray\]'`"
    ):
        Node(_settings(f"sqlite:///{tmp_path / 'n.db'}", tmp_path / "s"))
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_node_on_two_shards_matches_like_the_local_inventory_and_reloads(
    ray_cluster: str, tmp_path: Path
) -> None:
    from takeitdown.node.ray_inventory import MANIFEST, RayInventory

    w = make_world(tmp_path)
    hosted = _hosted(w)
    rows = Inventory(w.store.db)
    rows.add_items(hosted)  # what a `node scan` writes
    db_url = f"sqlite:///{tmp_path / 'node.db'}"
    shards_dir = tmp_path / "shards"
    entries = _entries(w)

    def local_hits(batch: list[Entry]) -> list[tuple]:
        """What the node's local inventory, loaded from the same rows, finds."""
        local = Inventory(w.store.db)
        local.load()
        return sorted(_key(h) for h in local.match_entries(batch))

    want = local_hits(entries)
    assert {k[2] for k in want} == {"md5", "pdq", "vpdq"}
    shutil.rmtree(w.folder)  # from here on nothing can read a hosted file

    node = Node(_settings(db_url, shards_dir))
    try:
        inv = node.inventory
        assert isinstance(inv, RayInventory) and inv.opened == "rebuilt"
        assert inv.items == len(hosted) and (shards_dir / MANIFEST).exists()  # saved after the rebuild
        health = node.health()["inventory"]
        assert health == {
            "items": len(hosted),
            "inventory_shards": 2,
            "inventory_shard_items": len(hosted),
            "inventory_through": len(hosted),
        }  # no local index in the node: no inventory_pdq / inventory_frames
        assert sorted(_key(h) for h in inv.match_entries(entries)) == want

        # a new feed entry over a hosted file: the retro review item names the item
        p3 = next(it for it in hosted if it.ref == "p003.jpg")
        new = [Entry(1001, "md5", str(p3.md5))]
        node._after_page([Change("add", e) for e in new])
        retro = [i for i in node.store.list_review("all") if i["source"] == "retro"]
        assert [i["ref"] for i in retro] == ["p003.jpg"], retro
        assert retro[0]["matches"] == [{"entry_id": 1001, "type": "md5", "distance": 0, "source": "registry"}]
        with node.db.read() as conn:
            row_id = conn.execute(
                select(review_items.c.inventory_id).where(review_items.c.id == retro[0]["id"])
            ).scalar()
        assert row_id == rows.get(p3.source, p3.ref).id
        # the legal desk's copy search goes through the shards too
        assert node.takedown.find_copies is not None
        copies = node.takedown.find_copies([Md5Hash(str(p3.md5))], [])
        assert [(c.ref, c.kind) for c in copies] == [("p003.jpg", "identical_copy")]

        # a scan beside the running node adds an item: fed in before the next match
        rows.add_items([InventoryItem("other", "copy-of-3", p3.md5, p3.pdq)])
        assert {h.ref for h in inv.match_entries(new)} == {"p003.jpg", "copy-of-3"}
        # a rescan replaced p003's hashes (the file changed): its old ones, still in its shard, give no hit
        p4 = next(it for it in hosted if it.ref == "p004.jpg")
        rows.add_items([InventoryItem(p3.source, p3.ref, p4.md5, p4.pdq)])
        assert {h.ref for h in inv.match_entries(new)} == {"copy-of-3"}
        moved = [h for h in inv.match_entries([Entry(1002, "md5", str(p4.md5))])]
        assert sorted(h.ref for h in moved) == ["p003.jpg", "p004.jpg"]
        assert inv.items == len(hosted) + 2  # the shards keep the old p003 (the rows decide)
        after_scan = sorted(_key(h) for h in inv.match_entries(entries))
        assert after_scan == local_hits(entries) and after_scan != want
    finally:
        node.stop()
    state = json.loads((shards_dir / MANIFEST).read_text())
    assert state["shards"] == 2 and state["through"] == len(hosted) + 2

    # restart: the saved shards load (nothing re-added), same hits
    node = Node(_settings(db_url, shards_dir))
    try:
        inv = node.inventory
        assert isinstance(inv, RayInventory) and inv.opened == "loaded" and inv.items == len(hosted) + 2
        assert sorted(_key(h) for h in inv.match_entries(entries)) == after_scan
        # an actor lost (its machine gone): the shards are reopened from the files and caught up
        rows.add_items([InventoryItem("other", "copy-of-4", p4.md5, p4.pdq)])
        assert inv.refresh() == 1
        import ray

        ray.kill(inv.shards.actors[0])
        assert {h.ref for h in inv.match_entries([Entry(1002, "md5", str(p4.md5))])} == {
            "p003.jpg",
            "p004.jpg",
            "copy-of-4",
        }
        assert inv.opened == "loaded"
    finally:
        node.stop()

    # a manifest lost (say a crash while saving): the shards are rebuilt from the rows alone
    (shards_dir / MANIFEST).unlink()
    node = Node(_settings(db_url, shards_dir))
    try:
        inv = node.inventory
        assert isinstance(inv, RayInventory) and inv.opened == "rebuilt"
        assert inv.items == len(hosted) + 2  # one row per item now: the old p003 is gone
        assert sorted(_key(h) for h in inv.match_entries(entries)) == local_hits(entries)
    finally:
        node.stop()
    # another split of the same folder: rebuilt, not refused
    node = Node(_settings(db_url, shards_dir, shards=3))
    try:
        inv = node.inventory
        assert isinstance(inv, RayInventory) and inv.opened == "rebuilt"
        assert sorted(_key(h) for h in inv.match_entries(entries)) == local_hits(entries)
    finally:
        node.stop()
    assert sorted(p.name for p in shards_dir.glob("*.npz")) == [f"shard-000{i}-of-0003.npz" for i in range(3)]


def test_a_cluster_that_cannot_be_joined_is_a_clear_start_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Ray itself retries a wrong address for about ten minutes before it gives up, so its
    refusal is stood in for here.)"""
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as a node process that is on none yet

    def refuse(**kw: object) -> None:
        raise ConnectionError(f"could not reach the GCS at {kw['address']}")

    monkeypatch.setattr(ray, "init", refuse)
    settings = _settings(f"sqlite:///{tmp_path / 'n.db'}", tmp_path / "s")
    settings = replace(settings, ray_address="10.9.9.9:6379")
    with pytest.raises(ConfigError, match="could not start or join the Ray cluster at 10.9.9.9:6379"):
        Node(settings)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "node", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_a_served_node_on_shards_queues_retro_hits_before_and_after_a_restart(
    ray_cluster: str, registry: Registry, tmp_path: Path
) -> None:
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    pics = ["pdq/bridge-mods/aaa-orig.jpg", "pdq/reg-test-input/labelme-subset/q0003.jpg"]
    for i, rel in enumerate(pics):
        shutil.copy(conformance(rel), hosted / f"item-{i}.jpg")
    first, second = hash_file(hosted / "item-0.jpg"), hash_file(hosted / "item-1.jpg")
    key = registry.add_platform("sharded-platform")
    env = {
        "TAKEITDOWN_NODE_INVENTORY_SHARDS": "2",
        "TAKEITDOWN_NODE_RAY_ADDRESS": ray_cluster,
        "TAKEITDOWN_NODE_INVENTORY_SHARD_CPUS": "0.5",
    }
    node = start_node(registry, key, tmp_path, extra_env=env)
    try:
        scan = _cli("scan", str(hosted), "--database-url", node.db_url, "--workers", "1")
        assert scan.returncode == 0, scan.stderr
        shutil.rmtree(hosted)  # found from now on without reading the files
        wait_for(lambda: node.health()["inventory"].get("inventory_shard_items") == 2, what="rows fed")
        r = httpx.post(
            registry.url + "/v1/cases", json={"items": [{"kind": "image", "hashes": first.wire_hashes()}]}
        )
        assert r.status_code == 201, r.text
        client = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)

        def retro() -> list[dict]:
            return [i for i in client.get("/v1/console/queue").json()["items"] if i["source"] == "retro"]

        items = wait_for(retro, 60, what="the retro review item")
        assert [i["ref"] for i in items] == ["item-0.jpg"]
        assert {m["type"] for m in items[0]["matches"]} == {"md5", "pdq"}
    finally:
        node.stop()
    assert "inventory shards rebuilt" in node.log.read_text()
    assert (tmp_path / "inventory-shards" / "inventory.json").exists()  # beside node.db, saved at stop

    node = start_node(registry, key, tmp_path, extra_env=env)
    try:
        assert node.health()["inventory"]["inventory_shard_items"] == 2
        r = httpx.post(
            registry.url + "/v1/cases", json={"items": [{"kind": "image", "hashes": second.wire_hashes()}]}
        )
        assert r.status_code == 201, r.text
        client = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        items = wait_for(
            lambda: [i for i in client.get("/v1/console/queue").json()["items"] if i["ref"] == "item-1.jpg"],
            60,
            what="the retro review item after the restart",
        )
        assert items[0]["source"] == "retro"
    finally:
        node.stop()
    log = node.log.read_text()
    assert "inventory shards loaded" in log and "0 rows added" in log
