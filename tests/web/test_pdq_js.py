"""The page's PDQ (web/pdq.js) against Meta's reference (`pdqhash`) on identical pixels.

pdq.js blurs only where PDQ samples (see jaroszDecimate); this holds it to the reference on
photo-like images of the sizes the page hashes, odd sizes, the 64x64 case and thin strips, and
the centred window hashes (pdq80, pdq70) against the reference's hash of the same window's pixels.
Run in node, which runs the same module the browser does.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from takeitdown.hashing.pdq import pdq_of_pixels
from takeitdown.hashing.windows import WINDOW_PERCENTS, window_box
from takeitdown.protocol import PdqHash

from .helpers import CONFORMANCE, ROOT

PDQ_JS = ROOT / "src" / "takeitdown" / "webshared" / "pdq.js"
SIZES = [(2016, 1512), (1512, 2016), (1024, 1365), (1001, 777), (333, 64), (64, 64), (5, 300), (97, 6)]

SCRIPT = """
const { pdqFromRGBA, pdqFromLuma, photoHashesFromRGBA, windowBox } = await import(process.argv[1]);
const fs = await import("node:fs");
const out = [];
for (const { path, width, height } of JSON.parse(process.argv[2])) {
  const rgb = fs.readFileSync(path);
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
  const [r, g, b] = [0.299, 0.587, 0.114].map(Math.fround);
  const luma = new Float32Array(width * height);
  for (let p = 0; p < width * height; p++) luma[p] = r * rgb[p * 3] + g * rgb[p * 3 + 1] + b * rgb[p * 3 + 2];
  out.push({
    rgba: pdqFromRGBA(rgba, width, height),
    luma: pdqFromLuma(luma, width, height),
    photo: photoHashesFromRGBA(rgba, width, height),
    boxes: [80, 70].map((p) => windowBox(width, height, p)),
  });
}
console.log(JSON.stringify(out));
"""


def photo_like(width: int, height: int, seed: int) -> np.ndarray:
    """A conformance photo resized, plus noise: detail at every scale, as a phone photo has."""
    source = CONFORMANCE / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"
    rng = np.random.default_rng(seed)
    if source.exists():
        image = Image.open(source).convert("RGB")
        base = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
    else:
        base = np.kron(rng.integers(0, 255, (height // 16 + 1, width // 16 + 1, 3)), np.ones((16, 16, 1)))
        base = base[:height, :width]
    noise = rng.integers(-12, 13, (height, width, 3))
    return np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def test_pdq_js_gives_the_references_hash_on_the_same_pixels(tmp_path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run web/pdq.js outside the browser")
    images, jobs = [], []
    for n, (width, height) in enumerate(SIZES):
        pixels = photo_like(width, height, n)
        path = tmp_path / f"{n}.rgb"
        path.write_bytes(pixels.tobytes())
        images.append(pixels)
        jobs.append({"path": str(path), "width": width, "height": height})
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, PDQ_JS.as_uri(), json.dumps(jobs)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    results = json.loads(done.stdout)
    apart = {}
    for (width, height), pixels, got in zip(SIZES, images, results, strict=True):
        want = pdq_of_pixels(pixels)
        for path in ("rgba", "luma"):
            distance = want.distance(type(want).parse(got[path]["hex"]))
            if distance or got[path]["quality"] != want.quality:
                apart[f"{width}x{height} {path}"] = (distance, got[path]["quality"], want.quality)
        # The windows: the same box as takeitdown.hashing.windows, and the reference's hash of
        # exactly those pixels, from the same single pass over the rows as the whole image.
        photo = got["photo"]
        results_here = [(want, photo["hex"], photo["quality"], "whole")]
        for percent, box, window in zip(WINDOW_PERCENTS, got["boxes"], photo["windows"], strict=True):
            assert tuple(box) == window_box(width, height, percent), (width, height, percent)
            assert window["percent"] == percent
            left, top, right, bottom = box
            crop = np.ascontiguousarray(pixels[top:bottom, left:right])
            results_here.append((pdq_of_pixels(crop), window["hex"], window["quality"], f"window {percent}"))
        for expect, hex_, quality, what in results_here:
            distance = expect.distance(PdqHash.parse(hex_))
            if distance or quality != expect.quality:
                apart[f"{width}x{height} {what}"] = (distance, quality, expect.quality)
    assert not apart, apart


def test_window_box_matches_python_on_odd_sizes() -> None:
    """windowBox is the integer arithmetic of takeitdown.hashing.windows.window_box, rounding and all."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run web/pdq.js outside the browser")
    sizes = [(w, h) for w in (1, 5, 7, 9, 10, 15, 64, 99, 101, 333, 1000, 1001, 2016) for h in (3, 45, 1512)]
    script = """
const { windowBox } = await import(process.argv[1]);
const sizes = JSON.parse(process.argv[2]);
console.log(JSON.stringify(sizes.map(([w, h]) => [80, 70].map((p) => windowBox(w, h, p)))));
"""
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, PDQ_JS.as_uri(), json.dumps(sizes)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    got = json.loads(done.stdout)
    want = [[list(window_box(w, h, p)) for p in WINDOW_PERCENTS] for w, h in sizes]
    assert got == want
