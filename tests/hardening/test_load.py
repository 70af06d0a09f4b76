"""A short run of bench/load.py: under a flood from one address, the rate limit holds (that
address gets at most burst + rate x time cases), good traffic of every kind gets through with no
errors, and no 5xx is seen. The full run is `python bench/load.py` (15 s a phase)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_load_and_flood_short_run(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    cmd = [sys.executable, str(ROOT / "bench" / "load.py"), "--seconds", "4", "--preload", "500"]
    cmd += ["--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text())
    limit = results["rate_limit"]
    assert limit["held"] and limit["5xx"] == 0, limit
    assert limit["flood_cases_accepted"] <= limit["bound"], limit
    flood = results["under_flood"]
    assert flood["flood:submit"]["statuses"].get("429", 0) > 0, flood["flood:submit"]  # the limit was reached
    for kind in ("submit", "status", "feed", "match"):
        assert flood[kind]["requests"] > 0 and flood[kind]["error_rate"] == 0, (kind, flood[kind])
