"""The page's in-browser hashes agree with the Python hasher (`takeitdown.hashing`).

Files are given to the page's real file input, as a person picks them; the page hashes them in
its Web Worker and shows the hashes it would send. Nothing is uploaded.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from takeitdown.hashing import HashingError, PdqHash, VpdqHash, hash_file, vpdq_match

from .helpers import CONFORMANCE, answer_questions, file_results, goto, wait_hashed

pytestmark = pytest.mark.browser

PDQ_DIR = CONFORMANCE / "pdq"
VIDEO_DIR = CONFORMANCE / "vpdq" / "videos"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"}
# The page's goal (issue 15): every photo within 8 bits of the Python hash. Meta's own tests allow
# 16 between PDQ implementations; on identical pixels pdq.js gives the reference's hash
# (test_pdq_js.py), so what is left comes from the browser's reduced-size decode (max 4 here).
MAX_DISTANCE = 8
MAX_MEDIAN = 2
# The two centred windows (pdq80, pdq70; issue 17) are held to the same 8 bits. They are hashed
# from the same decode as the whole image, but the box is in the pixels of the reduced decode,
# where the CLI's JPEG path places it in full-size pixels: up to a reduced pixel apart.
MAX_WINDOW_MEDIAN = 3


def conformance_images() -> list[Path]:
    if not PDQ_DIR.is_dir():
        pytest.skip(f"conformance images not found at {PDQ_DIR}")
    return sorted(p for p in PDQ_DIR.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def page_hashes(item: dict[str, str]) -> dict[str, dict]:
    return {h["type"]: h for h in json.loads(item["hashes"])}


def test_page_hashes_match_python_on_every_conformance_image(new_page, registry_url) -> None:
    images = conformance_images()
    assert len(images) >= 40
    page = new_page()
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(p) for p in images])
    wait_hashed(page)
    results = file_results(page)
    assert [r["name"] for r in results] == [p.name for p in images]

    distances: dict[str, int] = {}
    window_distances: dict[str, int] = {}
    problems: list[str] = []
    for path, item in zip(images, results, strict=True):
        rel = str(path.relative_to(PDQ_DIR))
        if path.stat().st_size == 0:
            # The 0-byte LAB.tiff: a clear message, no hash.
            assert item["state"] == "error", rel
            assert "empty" in item["status"], item["status"]
            assert item["hashes"] == ""
            continue
        try:
            expected = hash_file(path)
        except HashingError as e:  # pragma: no cover - every non-empty file decodes today
            problems.append(f"{rel}: Python could not hash it ({e}); page said {item['status']!r}")
            continue
        if item["state"] != "done":
            problems.append(f"{rel}: page could not hash it: {item['status']}")
            continue
        got = page_hashes(item)
        if got["md5"]["value"] != expected.md5.value:
            problems.append(f"{rel}: MD5 {got['md5']['value']} != {expected.md5.value}")
        pdq = PdqHash.parse(got["pdq"]["value"], got["pdq"]["quality"])
        distances[rel] = pdq.distance(expected.pdq)
        if distances[rel] > MAX_DISTANCE:
            problems.append(f"{rel}: PDQ distance {distances[rel]} > {MAX_DISTANCE}")
        assert pdq.quality is not None and expected.pdq.quality is not None
        if abs(pdq.quality - expected.pdq.quality) > 10:
            problems.append(f"{rel}: PDQ quality {pdq.quality} vs {expected.pdq.quality}")
        # The item has the CLI's shape (`takeitdown hash --wire`): the same hash types in the same
        # order, the windows with their quality.
        wire = json.loads(item["hashes"])
        want_types = [h["type"] for h in expected.wire_hashes()]
        if [h["type"] for h in wire] != want_types:
            problems.append(f"{rel}: page sends {[h['type'] for h in wire]}, CLI {want_types}")
            continue
        for window in expected.windows:
            mine = got[window.type]
            assert set(mine) == {"type", "value", "quality"}, mine
            d = PdqHash.parse(mine["value"]).distance(window.pdq)
            window_distances[f"{rel} {window.type}"] = d
            if d > MAX_DISTANCE:
                problems.append(f"{rel}: {window.type} distance {d} > {MAX_DISTANCE}")
            assert window.quality is not None
            if abs(mine["quality"] - window.quality) > 10:
                problems.append(f"{rel}: {window.type} quality {mine['quality']} vs {window.quality}")
    assert not problems, "\n".join(problems)
    median = statistics.median(distances.values())
    apart = {rel: d for rel, d in sorted(distances.items()) if d}
    print(
        f"\nPDQ page vs Python over {len(distances)} images: max {max(distances.values())}, median {median};"
        f" not identical: {apart}"
    )
    assert median <= MAX_MEDIAN
    window_median = statistics.median(window_distances.values())
    far = {k: d for k, d in sorted(window_distances.items()) if d > 4}
    print(
        f"windows (pdq80, pdq70) page vs Python over {len(window_distances)} windows: max"
        f" {max(window_distances.values())}, median {window_median};"
        f" apart by more than 4: {far}"
    )
    assert len(window_distances) == 2 * len(distances)
    assert window_median <= MAX_WINDOW_MEDIAN


def test_page_agrees_with_meta_expected_hashes(new_page, registry_url) -> None:
    """Meta's published expected hashes for 18 of the images, within Meta's own tolerance."""
    expected_file = PDQ_DIR / "expected.json"
    if not expected_file.exists():
        pytest.skip(f"{expected_file} not found")
    expected = json.loads(expected_file.read_text())
    paths = [CONFORMANCE / rel for rel in expected["images"]]
    page = new_page()
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(p) for p in paths])
    wait_hashed(page)
    for (rel, want), item in zip(expected["images"].items(), file_results(page), strict=True):
        got = PdqHash.parse(page_hashes(item)["pdq"]["value"])
        assert got.distance(PdqHash.parse(want)) <= expected["tolerance"], rel


@pytest.mark.slow
def test_page_vpdq_matches_python_vpdq(new_page, registry_url) -> None:
    # Portrait SD, portrait HD, a 1080x1080 stream with padded coded size; doorknob is other content.
    names = [
        "chair-19-sd-bar.mp4",
        "pattern-hd-no-bar.mp4",
        "test-padded-dimensions.mp4",
        "doorknob-hd-no-bar.mp4",
    ]
    videos = [VIDEO_DIR / n for n in names]
    if not all(v.exists() for v in videos):
        pytest.skip(f"sample videos not found in {VIDEO_DIR}")
    page = new_page()
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(v) for v in videos])
    wait_hashed(page)
    results = file_results(page)
    # Decoded forward with WebCodecs (videoforward.js), not by seeking a <video>.
    decoded = page.eval_on_selector_all("#file-list li", "items => items.map(li => li.dataset.decoded)")
    assert decoded == ["forward"] * len(videos), decoded
    page_vpdq = {}
    for path, item in zip(videos, results, strict=True):
        assert item["state"] == "done", f"{path.name}: {item['status']}"
        got = page_hashes(item)
        python = hash_file(path)
        assert got["md5"]["value"] == python.md5.value
        ours = VpdqHash.parse(got["vpdq"]["frames"])
        page_vpdq[path.name] = (ours, python.vpdq)
        # One frame a second, the same frames as the Python side picks.
        assert [f.i for f in ours.frames] == [f.i for f in python.vpdq.frames], path.name
    for name in names[:3]:
        ours, python = page_vpdq[name]
        assert vpdq_match(ours, python).is_match, name
        assert vpdq_match(python, ours).is_match, name
        # Frame by frame, the page's PDQ is close to Python's (frames of quality >= 50).
        close = [
            PdqHash(a.pdq).distance(PdqHash(b.pdq))
            for a, b in zip(ours.frames, python.frames, strict=True)
            if min(a.q, b.q) >= 50
        ]
        assert close and statistics.median(close) <= 8 and max(close) <= 16, (name, close)
    # And different content does not match.
    doorknob, _ = page_vpdq["doorknob-hd-no-bar.mp4"]
    assert not vpdq_match(doorknob, page_vpdq["chair-19-sd-bar.mp4"][1]).is_match
    assert not vpdq_match(page_vpdq["chair-19-sd-bar.mp4"][1], doorknob).is_match
