"""The CLI against the shared vectors (tests/vectors/media.json), which the page tests read too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from takeitdown.hashing.pdq import pdq_of_image
from takeitdown.protocol import MAX_HASHES_PER_ITEM, CaseItem, PdqHash
from tests.vectors.media import make, photo, vectors


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
            elif "pictures" in want:
                problems += pictures_problems(vector, got["hashes"], "CLI")
        elif "error" not in got:
            problems.append(f"{vector['name']}: want it refused, CLI hashed it as {got.get('kind')}")
    assert not problems, "\n".join(problems)


def pictures_problems(vector: dict, hashes: list[dict], who: str) -> list[str]:
    """What `who`'s wire hashes of a multi-picture vector get wrong: how many pictures are sent
    (a PDQ and its two windows each, within the registry's hashes per item), and whether the
    listed photo is one of them."""
    want, name = vector["expect"], vector["name"]
    CaseItem.parse("image", hashes)  # what the registry accepts
    assert len(hashes) <= MAX_HASHES_PER_ITEM
    pdqs = [PdqHash.parse(h["value"]) for h in hashes if h["type"] == "pdq"]
    problems = []
    if len(pdqs) != want["pictures"]:
        problems.append(f"{name}: {who} sends {len(pdqs)} pictures, want {want['pictures']}")
    for kind in ("pdq80", "pdq70"):
        if sum(h["type"] == kind for h in hashes) != len(pdqs):
            problems.append(f"{name}: {who} sends a {kind} for not every picture")
    listed = pdq_of_image(photo(*vector["make"]["size"]))
    if any(p.distance(listed) <= 8 for p in pdqs) != want["photo"]:
        problems.append(f"{name}: {who} {'misses' if want['photo'] else 'sends'} the listed photo")
    return problems
