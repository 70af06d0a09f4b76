"""The bounded CI run of the fuzzers: each atheris harness for a few seconds, plus hypothesis.

The long run is `fuzz/run.py --seconds 540 --keep-going` (see docs/threat-model.md for figures).
Here every harness runs FUZZ_CI_SECONDS (default 4) from fresh seeds and must exit cleanly: any
undocumented exception, 5xx or hang (-timeout) is a crash file and a failed test. The hypothesis
tests drive the same targets from a fixed number of generated inputs, so the invariant is also
checked where atheris is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fuzz.seeds import seeds, write_seeds
from fuzz.targets import MAX_LEN, TARGETS, Finding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takeitdown.hashing import InvalidHash, parse_hash
from takeitdown.registry.validation import BadRequest, case_pairs, parse_items

ROOT = Path(__file__).resolve().parents[2]
CI_SECONDS = int(os.environ.get("FUZZ_CI_SECONDS", "4"))


@pytest.mark.slow
@pytest.mark.parametrize("target", list(TARGETS))
def test_atheris_bounded_run(target: str, tmp_path: Path) -> None:
    pytest.importorskip(
        "atheris", reason="atheris not installed (pip install -e '.[fuzz]'; wheels for Linux only)"
    )
    write_seeds(target, tmp_path / "seeds")
    (tmp_path / "corpus").mkdir()
    cmd = [
        sys.executable, str(ROOT / "fuzz" / "fuzz.py"), target, f"-max_total_time={CI_SECONDS}",
        f"-max_len={MAX_LEN[target]}", "-timeout=30", "-rss_limit_mb=3072", "-print_final_stats=1",
        f"-artifact_prefix={tmp_path}/", str(tmp_path / "corpus"), str(tmp_path / "seeds"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CI_SECONDS + 120, cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"fuzzing {target} found something:\n{log[-6000:]}"
    assert "stat::number_of_executed_units" in log, log[-2000:]


# -- hypothesis: fixed example counts over the same targets ------------------------------------

FAST = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.mark.parametrize("target", ["hash_parse", "registry_validation"])
@FAST
@given(data=st.binary(max_size=600))
def test_pure_targets_random_bytes(target: str, data: bytes) -> None:
    TARGETS[target](data)


@pytest.mark.parametrize("target", ["hash_parse", "registry_validation", "image"])
def test_targets_accept_their_seeds(target: str) -> None:
    for data in seeds(target).values():
        TARGETS[target](data)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.binary(max_size=2000))
def test_registry_and_node_requests_random(data: bytes) -> None:
    """The in-process apps: no 5xx, every 4xx with a plain detail."""
    TARGETS["registry_api"](data)
    TARGETS["node_api"](data)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.binary(max_size=3000))
def test_image_decoder_mutated_seed(data: bytes) -> None:
    """A seed image with a random stretch overwritten: decoders fail only with HashingError."""
    base = seeds("image")["gen-png-RGB"]
    at = len(data) % len(base)
    TARGETS["image"](base[:at] + data + base[at + len(data) :])


KEYS = st.sampled_from(["type", "value", "quality", "frames", "i", "t", "q", "pdq"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70)
    | st.sampled_from(["pdq", "md5", "sha256", "vpdq", "ab" * 32, "ab" * 16]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(KEYS | st.text(max_size=5), children, max_size=5),
    max_leaves=20,
)  # fmt: skip


KIND = st.sampled_from(["image", "video", "x"])
ITEM = st.fixed_dictionaries({"kind": KIND, "hashes": st.lists(JSON, max_size=3)})


@FAST
@given(obj=JSON)
def test_parse_hash_only_raises_invalid_hash(obj: Any) -> None:
    try:
        h = parse_hash(obj)
    except InvalidHash:
        return
    wire = h.to_json()  # printing is stable (vPDQ times print rounded to ms, so not `== h`)
    assert parse_hash(json.loads(json.dumps(wire))).to_json() == wire


@FAST
@given(obj=st.dictionaries(st.sampled_from(["items", "x"]), st.lists(ITEM, max_size=3) | JSON))
def test_case_validation_only_raises_bad_request(obj: Any) -> None:
    try:
        pairs = case_pairs(obj)
    except BadRequest:
        return
    parsed = parse_items(pairs)
    assert parsed.items + len(parsed.rejected) == len(pairs)


def test_finding_is_raised_for_a_broken_invariant() -> None:
    """The harness can fail: a 5xx from the app is a Finding (so a silent harness means something)."""
    from fuzz.targets import AsgiCaller

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    with pytest.raises(Finding):
        AsgiCaller(app).check("GET", "/", b"", [], b"")
