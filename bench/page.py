"""How long the submission page takes to hash a 12 MP photo and a 60-second 720p video in
headless Chromium, beside the Python hasher (`takeitdown.hashing.hash_file`) on the same files.

The page is served by a real `takeitdown serve` (temporary SQLite); files go through the page's
real file input; the time is from picking to the file showing "Ready" (MD5 + PDQ, or MD5 +
vPDQ at one frame a second). Test files are generated in a temporary folder. Videos come with
sparse key frames (every 250 frames, x264's default) and dense ones (every 30, as phones
record); the page decodes them forward with WebCodecs, and `--seek` also times the page with
WebCodecs hidden (its fallback, seeking a <video> once a second) in the same run.

    .venv/bin/python bench/page.py [--runs 3] [--photo-only] [--seek]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import httpx
import numpy as np
from PIL import Image

from takeitdown.hashing import hash_file
from takeitdown.hashing.files import ImageHashes
from takeitdown.protocol import PdqHash

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def make_photo(path: Path) -> None:
    """A 4032x3024 JPEG at quality 90, a conformance photo scaled up to phone size."""
    src = Image.open(CONFORMANCE / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg").convert("RGB")
    src.resize((4032, 3024), Image.Resampling.BICUBIC).save(path, quality=90)


def make_video(path: Path, seconds: int = 60, keyint: int = 250) -> None:
    """A 1280x720 30 fps H.264 video: a conformance clip's frames scaled to 720p, looped.

    `keyint` frames between key frames: x264's default 250, or 30 (one a second, as phone
    cameras record), which makes each seek cheaper for the page."""
    frames = []
    with av.open(str(CONFORMANCE / "vpdq" / "videos" / "chair-orig-22-sd-bar.mp4")) as clip:
        for frame in clip.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24", width=1280, height=720))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23", "g": str(keyint)}
        for n in range(seconds * 30):
            pixels = frames[n % len(frames)]
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            ):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_seconds(browser, url: str, path: Path, seek: bool = False) -> tuple[float, float, str, str]:  # type: ignore[no-untyped-def]
    """(first file in a fresh tab, including the worker's start; the same file picked again;
    the hashes the page made, as JSON; how it decoded a video). `seek` hides WebCodecs'
    VideoDecoder, so the page seeks a <video> as browsers without it do."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    if seek:
        page.add_init_script("delete window.VideoDecoder;")
    page.goto(url + "/")
    page.locator("input[name=age][value=under18]").check()
    page.locator("input[name=content][value=yes]").check()
    times = []
    for n in (1, 2):
        start = time.perf_counter()
        page.locator("#files").set_input_files(str(path))
        page.wait_for_function(
            f"""() => {{ const li = document.querySelectorAll('#file-list li')[{n - 1}];
              return li && (li.dataset.state === 'done' || li.dataset.state === 'error'); }}""",
            polling="raf",
            timeout=600_000,
        )
        times.append(time.perf_counter() - start)
        if page.locator("#file-list li").nth(n - 1).get_attribute("data-state") != "done":
            raise SystemExit(f"the page could not hash {path.name}")
    hashes = page.locator("#file-list li .file-hashes").nth(1).text_content() or "[]"
    decoded = page.locator("#file-list li").nth(1).get_attribute("data-decoded") or ""
    context.close()
    return times[0], times[1], hashes, decoded


def pdq_distance(page_hashes: str, path: Path) -> int | None:
    """Bits between the page's PDQ and the Python hasher's, for a photo (None for a video)."""
    pdq = next((h for h in json.loads(page_hashes) if h["type"] == "pdq"), None)
    python = hash_file(path)
    if pdq is None or not isinstance(python, ImageHashes):
        return None
    return PdqHash.parse(pdq["value"]).distance(python.pdq)


def frame_counts(page_hashes: str, path: Path) -> str:
    """Frames hashed by the page / by the Python hasher, for a video ("" for a photo). Past
    takeitdown.hashing.video's decode budget (1e9 pixels: a 60 s 720p video is 1.7e9) Python
    hashes key frames only, so its time there is not that of one frame a second."""
    vpdq = next((h for h in json.loads(page_hashes) if h["type"] == "vpdq"), None)
    python = hash_file(path)
    if vpdq is None or isinstance(python, ImageHashes):
        return ""
    return f"{len(vpdq['frames'])}/{len(python.vpdq.frames)}"


def python_seconds(path: Path) -> float:
    start = time.perf_counter()
    hash_file(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--photo-only", action="store_true", help="only the 12 MP photo (a short run)")
    parser.add_argument(
        "--seek", action="store_true", help="also time videos with WebCodecs hidden (seeking)"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        photo, video = tmpdir / "photo-12mp.jpg", tmpdir / "video-60s-720p.mp4"
        phone_video = tmpdir / "video-60s-720p-keyframe-1s.mp4"
        make_photo(photo)
        if not args.photo_only:
            make_video(video)
            make_video(phone_video, keyint=30)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "takeitdown.cli", "serve", "--port", str(port),
             "--database-url", f"sqlite:///{tmpdir / 'registry.db'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmpdir,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                rows = []
                files = (
                    ("12 MP JPEG (4032x3024, q90)", photo),
                    ("60 s 720p H.264, key frame / 250", video),
                    ("60 s 720p H.264, key frame / 30", phone_video),
                )
                jobs = [(label, path, False) for label, path in (files[:1] if args.photo_only else files)]
                if args.seek and not args.photo_only:
                    jobs += [(label, path, True) for label, path in files[1:]]
                for label, path, seek in jobs:
                    page_times = [page_seconds(browser, url, path, seek) for _ in range(args.runs)]
                    py_times = [python_seconds(path) for _ in range(args.runs)]
                    size = path.stat().st_size / 1e6
                    cold = statistics.median(t[0] for t in page_times)
                    warm = statistics.median(t[1] for t in page_times)
                    hashes, decoded = page_times[-1][2], page_times[-1][3]
                    bits = pdq_distance(hashes, path)
                    py_t = statistics.median(py_times)
                    frames = frame_counts(hashes, path)
                    rows.append((f"{label}, {size:.1f} MB", decoded, cold, warm, py_t, bits, frames))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"median of {args.runs} runs, headless Chromium vs takeitdown.hashing.hash_file (in process)")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average during the run: {load} on {os.cpu_count()} cores")
    print("page cold = first file in a new tab (worker start included); warm = the next file")
    print("PDQ bits = distance between the page's PDQ and the Python hasher's (photos)")
    print("decoded = how the page found a video's frames: forward (WebCodecs) or seek (<video>)")
    print("frames = hashed by the page / by Python (Python: key frames only past its decode budget)")
    head = f"{'file':44s} {'decoded':>8s} {'page cold s':>11s} {'page warm s':>11s} {'python s':>9s}"
    print(f"{head} {'warm/python':>12s} {'PDQ bits':>9s} {'frames':>7s}")
    for label, decoded, cold, warm, py_t, bits, frames in rows:
        shown = "" if bits is None else str(bits)
        line = f"{label:44s} {decoded:>8s} {cold:11.2f} {warm:11.2f} {py_t:9.2f}"
        print(f"{line} {warm / py_t:11.1f}x {shown:>9s} {frames:>7s}")


if __name__ == "__main__":
    main()
