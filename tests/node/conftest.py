"""Fixtures of the node tests (see helpers.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.node.helpers import node_db_url, registry  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A real Ray head on this machine (2 CPUs, a 200 MB object store), shared by the Ray tests
    and shut down at the end; yields its address (what `--ray-address` takes)."""
    ray = pytest.importorskip("ray", reason="ray not installed (pip install -e '.[ray]')")
    # A short temp dir: Ray's Unix socket paths must stay under 108 characters.
    tmp = tempfile.mkdtemp(prefix="tid-ray-", dir="/tmp")
    ray.init(
        address="local",
        num_cpus=2,
        object_store_memory=200 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=tmp,
    )
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
