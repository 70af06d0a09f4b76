"""The CLI against the shared vectors (tests/vectors/media.json), which the page tests read too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.vectors.media import make, vectors


def test_cli_meets_every_shared_vector(tmp_path: Path) -> None:
    paths = [make(v, tmp_path) for v in vectors()]
    done = subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "hash", "--json", "--workers", "1", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    records = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    problems = []
    for vector in vectors():
        got, want = records[vector["name"]], vector["expect"]
        if want["outcome"] == "hashed":
            if "error" in got or got.get("kind") != want["kind"]:
                problems.append(
                    f"{vector['name']}: want {want}, CLI gave {got.get('error') or got.get('kind')}"
                )
        elif "error" not in got:
            problems.append(f"{vector['name']}: want it refused, CLI hashed it as {got.get('kind')}")
    assert not problems, "\n".join(problems)
