"""Generate realistic 12 MP phone photos (4032x3024 JPEG, quality 90) for benchmarks.

Natural content, not noise: random crops of the conformance photographs, scaled up to phone
size, with light colour, exposure and sensor-grain changes so no two are alike. Cached under
bench/data/ so repeated runs do not pay for the generation.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "pdq"
DATA = ROOT / "bench" / "data"
PHONE_SIZE = (4032, 3024)


def _sources() -> list[Path]:
    names = [
        "reg-test-input/exif-rotn/exif-rotn-1.jpg",
        "reg-test-input/dih/bridge-1-original.jpg",
        "reg-test-input/pen-and-coaster.png",
        "misc-images/c.png",
        "misc-images/modes/original.jpg",
        *(f"reg-test-input/labelme-subset/{n}" for n in ("q0122.jpg", "q0291.jpg", "q1050.jpg", "q2821.jpg")),
    ]
    found = [CONFORMANCE / n for n in names if (CONFORMANCE / n).exists()]
    if not found:
        raise SystemExit(f"conformance photos not found under {CONFORMANCE}")
    return found


def _make_photo(source: Image.Image, rng: random.Random) -> Image.Image:
    w, h = source.size
    scale = rng.uniform(0.6, 1.0)
    cw, ch = int(w * scale), int(min(h, w * scale * 3 / 4))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    photo = source.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    photo = photo.resize(PHONE_SIZE, Image.Resampling.BICUBIC)
    photo = ImageEnhance.Color(photo).enhance(rng.uniform(0.8, 1.25))
    photo = ImageEnhance.Brightness(photo).enhance(rng.uniform(0.85, 1.15))
    photo = photo.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=2))
    grain = np.random.default_rng(rng.randrange(2**32)).normal(0, 4, (PHONE_SIZE[1], PHONE_SIZE[0], 1))
    pixels = np.clip(np.asarray(photo, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def phone_photos(count: int, folder: Path | None = None) -> list[Path]:
    """Paths of `count` generated phone photos, making any that are missing."""
    folder = folder or DATA / "phone-photos"
    folder.mkdir(parents=True, exist_ok=True)
    sources: list[Image.Image] | None = None
    paths = []
    for i in range(count):
        path = folder / f"photo-{i:04d}.jpg"
        if not path.exists():
            if sources is None:
                sources = [Image.open(p).convert("RGB") for p in _sources()]
            rng = random.Random(i)
            _make_photo(sources[i % len(sources)], rng).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    print(len(phone_photos(int(sys.argv[1]) if len(sys.argv) > 1 else 100)), "photos in", DATA)
