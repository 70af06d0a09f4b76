"""The photos the robustness and false-positive benchmarks use: real pictures the tests never
tune on, each scaled to 1024 px on its long side and cached under bench/data/photos/.

Sources, each used where present (the count found is printed by every benchmark):
- the distinct photographs of the conformance set (../shared/conformance/pdq);
- desktop wallpapers from Debian's packages, photographs and artwork both (install with
  `apt-get install gnome-backgrounds ukui-wallpapers lomiri-wallpapers lomiri-wallpapers-16.04
  lomiri-wallpapers-20.04 plasma-workspace-wallpapers mate-backgrounds`).
Flat artwork is kept on purpose: low-texture pictures are where unrelated PDQs come closest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "pdq"
CACHE = ROOT / "bench" / "data" / "photos"
LONG_SIDE = 1024

CONFORMANCE_PHOTOS = [
    "reg-test-input/exif-rotn/exif-rotn-1.jpg",
    "reg-test-input/dih/bridge-1-original.jpg",
    "reg-test-input/pen-and-coaster.png",
    "misc-images/c.png",
    "misc-images/modes/original.jpg",
    *(
        f"reg-test-input/labelme-subset/{n}"
        for n in ("q0003.jpg", "q0004.jpg", "q0122.jpg", "q0291.jpg", "q0746.jpg", "q1050.jpg", "q2821.jpg")
    ),
]
WALLPAPER_DIRS = [Path("/usr/share/backgrounds"), Path("/usr/share/wallpapers")]
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def source_paths() -> list[Path]:
    found = [CONFORMANCE / n for n in CONFORMANCE_PHOTOS if (CONFORMANCE / n).exists()]
    for top in WALLPAPER_DIRS:
        if not top.is_dir():
            continue
        plasma: dict[Path, Path] = {}
        for p in sorted(top.rglob("*")):
            if p.suffix.lower() not in SUFFIXES or not p.is_file() or "screenshot" in p.name.lower():
                continue
            if "contents" in p.parts:  # a Plasma wallpaper: one picture per theme (the first size)
                theme = p.parents[2] if p.parent.name.startswith("images") else p.parent
                plasma.setdefault(theme, p)
                continue
            if "Elephants_" in p.name:  # the same picture at other sizes
                continue
            found.append(p)
        found += sorted(plasma.values())
    return found


def photos(limit: int | None = None) -> list[tuple[str, Image.Image]]:
    """(name, RGB picture of 1024 px on its long side) for every source found, cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Image.Image]] = []
    for path in source_paths()[:limit]:
        key = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        cached = CACHE / f"{key}.png"
        if not cached.exists():
            with Image.open(path) as im:
                im.draft("RGB", (LONG_SIDE, LONG_SIDE))
                rgb = im.convert("RGB")
            scale = LONG_SIDE / max(rgb.size)
            if scale < 1:
                rgb = rgb.resize(
                    (round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS
                )
            rgb.save(cached)
        out.append(
            (
                path.name if path.parent.name != "images" else path.parents[2].name,
                Image.open(cached).convert("RGB"),
            )
        )
    return out


if __name__ == "__main__":
    got = photos()
    print(f"{len(got)} pictures")
