"""Seed inputs for each fuzz target: small valid files and requests, made fresh (nothing binary in git).

Image seeds: the small conformance JPEGs (../shared/conformance/pdq, when present) plus one tiny
file per decoder we accept (PNG 8/16-bit and palette, GIF, BMP, TIFF, WebP, HEIC, JPEG with an
EXIF rotation). Video seeds: a tiny MP4 (H.264), MKV and AVI made with PyAV.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE_PDQ = ROOT.parent / "shared" / "conformance" / "pdq"


def _image_seeds() -> dict[str, bytes]:
    import numpy as np
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), "RGB")
    out: dict[str, bytes] = {}
    made: list[tuple[str, Image.Image, dict[str, Any]]] = [
        ("PNG", rgb, {}),
        ("PNG", rgb.convert("I;16"), {}),
        ("PNG", rgb.convert("P"), {"transparency": 0}),
        ("GIF", rgb.convert("P"), {}),
        ("BMP", rgb, {}),
        ("TIFF", rgb, {"compression": "tiff_lzw"}),
        ("WEBP", rgb, {"quality": 50}),
        ("HEIF", rgb, {"quality": 50}),
        ("JPEG", rgb, {"quality": 60}),
    ]
    for fmt, img, kw in made:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        out[f"gen-{fmt.lower()}-{img.mode.replace(';', '')}"] = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=60, exif=exif.tobytes())
    out["gen-jpeg-exif6"] = buf.getvalue()
    if CONFORMANCE_PDQ.is_dir():
        for path in sorted(CONFORMANCE_PDQ.rglob("*")):
            if (
                path.is_file()
                and path.suffix.lower() in {".jpg", ".png", ".tiff"}
                and 0 < path.stat().st_size < 40_000
            ):
                out[f"conf-{path.name}"] = path.read_bytes()
    return out


def tiny_video(container: str = "mp4", codec: str = "libx264", seconds: int = 2, fps: int = 4) -> bytes:
    """A few frames of moving noise, 32x32: enough for every vPDQ code path, a few KB."""
    import av
    import numpy as np

    rng = np.random.default_rng(11)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        if codec == "mjpeg":
            stream.pix_fmt = "yuvj420p"
        for _ in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _video_seeds() -> dict[str, bytes]:
    out = {"gen-mp4-h264": tiny_video("mp4", "libx264")}
    for name, container, codec in [("gen-mkv-mpeg4", "matroska", "mpeg4"), ("gen-avi-mjpeg", "avi", "mjpeg")]:
        try:
            out[name] = tiny_video(container, codec)
        except Exception:  # noqa: BLE001, S112 - a codec missing from this FFmpeg build: fewer seeds
            continue
    return out


def _json_seed(mode: int, value: object) -> bytes:
    return bytes([mode]) + json.dumps(value).encode()


PDQ = {
    "type": "pdq",
    "value": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "quality": 100,
}
MD5 = {"type": "md5", "value": "0e8b1e4e9f2b8e0f5b3f6d7b2f0a6c31"}
VPDQ = {"type": "vpdq", "frames": [{"i": 0, "t": 0.0, "q": 87, "pdq": PDQ["value"]}]}


def seeds(target: str) -> dict[str, bytes]:
    if target == "image":
        return _image_seeds()
    if target == "video":
        return {**_video_seeds(), **dict(list(_image_seeds().items())[:3])}
    if target == "hash_parse":
        values = [PDQ, MD5, VPDQ, {"type": "sha256", "value": "ab" * 32}]
        return {f"json-{i}": _json_seed(0, v) for i, v in enumerate(values)} | {
            "raw-1": b"\x01" + bytes(range(64))
        }
    if target == "registry_validation":
        case = {"items": [{"kind": "image", "hashes": [PDQ, MD5]}, {"kind": "video", "hashes": [VPDQ]}]}
        return {
            "case": _json_seed(0, case),
            "report": _json_seed(0, {"report_id": "r", "entry_id": 1, "outcome": "removed"}),
        }
    # The HTTP targets read their choices from the bytes: a few spread-out starting points.
    return {f"bytes-{i}": bytes((i * 37 + j * 11) % 256 for j in range(200)) for i in range(8)}


def write_seeds(target: str, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    made = seeds(target)
    for name, data in made.items():
        (folder / name).write_bytes(data)
    return len(made)
