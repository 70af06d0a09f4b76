"""Makes the files of tests/vectors/media.json, for the page tests and the CLI tests alike."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

VECTORS = Path(__file__).with_name("media.json")


def vectors() -> list[dict[str, Any]]:
    return list(json.loads(VECTORS.read_text())["vectors"])


def _noise(width: int, height: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3), np.uint8)
    return np.ascontiguousarray(np.kron(base, np.ones((8, 8, 1), np.uint8))[:height, :width])


def _claim_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming another size (nothing else changed)."""
    data = bytearray(jpeg)
    at = 2
    while at < len(data):
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data[at + 5 : at + 7] = height.to_bytes(2, "big")
            data[at + 7 : at + 9] = width.to_bytes(2, "big")
            return bytes(data)
        at += 2 + length
    raise ValueError("no frame header")


def _mp4(seconds: int, path: Path) -> bytes:
    """H.264 with the index (moov) first, as phones and web tools write it: a cut file keeps it."""
    import av

    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for n in range(seconds * 10):
            frame = av.VideoFrame.from_ndarray(_noise(160, 120, seed=n // 10), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def _video(container: str, seconds: int, path: Path) -> bytes:
    """H.264 in another container (AVI, MPEG-TS, QuickTime .mov), as cameras and old tools write."""
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for n in range(seconds * 10):
            frame = av.VideoFrame.from_ndarray(_noise(160, 120, seed=n // 10), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


def _boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, size, type) of the top-level atoms of a QuickTime / MP4 file."""
    out, at = [], 0
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        out.append((at, size, kind))
        if size < 8:
            break
        at += size
    return out


def _qt_starting_with(mov: bytes, first: bytes) -> bytes:
    """The .mov FFmpeg writes (ftyp, wide, mdat, moov) made to start with another atom, as older
    QuickTime files do: `free` in place of ftyp (same size), or ftyp (and wide) dropped, with the
    chunk offsets in moov moved by what was dropped."""
    boxes = _boxes(mov)
    assert [k for _, _, k in boxes] == [b"ftyp", b"wide", b"mdat", b"moov"], boxes
    if first == b"free":
        return mov[:4] + b"free" + mov[8:]
    cut = boxes[1][0] if first == b"wide" else boxes[2][0]
    data = bytearray(mov[cut:])
    at = data.find(b"stco", boxes[3][0] - cut)
    assert at > 0 and data.find(b"co64") < 0
    count = int.from_bytes(data[at + 8 : at + 12], "big")
    for n in range(count):
        entry = at + 12 + 4 * n
        data[entry : entry + 4] = (int.from_bytes(data[entry : entry + 4], "big") - cut).to_bytes(4, "big")
    assert bytes(data[4:8]) == first
    return bytes(data)


def _grey(width: int, height: int, seed: int = 1) -> np.ndarray:
    """Smooth grey noise as RGB: at most 256 colours, so a GIF keeps every pixel exactly. Smooth,
    not in flat blocks: a picture of 8x8 blocks sampled on PDQ's 64x64 grid has coefficients tied
    at the median, whose bits any rounding flips."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 255, (height // 8 + 1, width // 8 + 1), np.uint8))
    grey = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC))
    return np.repeat(grey[..., None], 3, axis=2)


def photo(width: int, height: int) -> Image.Image:
    """The "listed photo" of the animation vectors, as a still."""
    return Image.fromarray(_grey(width, height))


def _animation(spec: dict[str, Any]) -> bytes:
    """An animated GIF, WebP or APNG from `frames`, each {"ms": shown for, "picture": "photo" (the
    listed photo), "cover" (another picture), "other N" (yet another, seeded N) or "blink" (the
    photo with one 8x8 block changed, as a cursor blink: the same picture)}. Frames are stored as
    the encoder likes (a GIF's later frames as the changed rectangle): decoders must composite."""
    width, height = spec["size"]
    pictures = {
        "photo": _grey(width, height),
        "cover": _grey(width, height, seed=2),
    }
    blink = pictures["photo"].copy()
    blink[:8, :8] = 255 - blink[:8, :8]
    pictures["blink"] = blink
    for f in spec["frames"]:
        if f["picture"].startswith("other "):
            pictures[f["picture"]] = _grey(width, height, seed=int(f["picture"].split()[1]))
    frames = [Image.fromarray(pictures[f["picture"]]) for f in spec["frames"]]
    fmt = {"gif": "GIF", "webp": "WEBP", "apng": "PNG"}[spec["type"]]
    options: dict[str, Any] = {"lossless": True} if fmt == "WEBP" else {}
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format=fmt,
        save_all=True,
        append_images=frames[1:],
        duration=[f["ms"] for f in spec["frames"]],
        loop=0,
        **options,
    )
    return buf.getvalue()


def make(vector: dict[str, Any], folder: Path) -> Path:
    spec = vector["make"]
    kind = spec["type"]
    if kind == "empty":
        data = b""
    elif kind == "text":
        data = b"Shopping list: milk, bread, eggs.\n" * 20
    elif kind in ("jpeg", "png"):
        width, height = spec["size"]
        buf = io.BytesIO()
        Image.fromarray(_noise(width, height)).save(
            buf, format="JPEG" if kind == "jpeg" else "PNG", quality=90
        )
        data = buf.getvalue()
        if "claim_size" in spec:
            data = _claim_size(data, *spec["claim_size"])
    elif kind in ("gif", "webp", "apng"):
        data = _animation(spec)
    elif kind == "mp4":
        data = _mp4(spec["seconds"], folder / f".{vector['name']}.tmp.mp4")
    elif kind in ("avi", "mpegts"):
        data = _video(kind, spec["seconds"], folder / f".{vector['name']}.tmp")
    elif kind == "mov":
        data = _qt_starting_with(
            _video("mov", spec["seconds"], folder / f".{vector['name']}.tmp"), spec["first_atom"].encode()
        )
    else:
        raise ValueError(f"unknown vector type {kind}")
    if "truncate" in spec:
        data = data[: int(len(data) * spec["truncate"])]
    path = folder / vector["name"]
    path.write_bytes(data)
    return path
