"""The photos the robustness and false-positive benchmarks use: real pictures the tests never
tune on, each scaled to at most 1024 px on its long side and cached under bench/data/photos/.

    python bench/photoset.py           # builds the cache, prints the count per source

Sources, each used where present (the count found is printed by every benchmark):
- `conformance`: the distinct photographs of the conformance set (../shared/conformance/pdq);
- `wallpaper`: desktop wallpapers from Debian's packages, photographs and artwork both (install
  with `apt-get install gnome-backgrounds ukui-wallpapers lomiri-wallpapers
  lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 plasma-workspace-wallpapers mate-backgrounds
  sway-backgrounds`). Flat artwork is kept on purpose: low-texture pictures are where unrelated
  PDQs come closest;
- `gcompris`: the photographs inside GCompris' Qt resource bundles (`apt-get install
  gcompris-qt-data`, /usr/share/gcompris-qt/rcc/*.rcc, read by `_rcc_files`): objects, animals,
  monuments, paintings. Its drawings are left out by a test, not by hand: a picture with
  transparent pixels (clip art, puzzle pieces, the round "details") or PDQ quality below 50 or a
  side under 160 px or fewer than 500 colours in a sample of its pixels is not a photograph;
- `tile` (only with `tiles=True`, a separate and weaker source): non-overlapping 512 x 512
  tiles of the larger pictures above (the picture brought to at most 2048 px on its long side,
  a centred grid, at most 8 tiles a picture, each of quality >= 50). Tiles of one picture share
  its light, colours and subject, so they are not independent photographs: benchmarks report
  their figures with and without them, and a tile is never paired with its own picture or its
  sibling tiles as "unrelated" (`Photo.group`).

Near-identical pictures are dropped: a picture within 64 bits of an earlier one's whole-image
PDQ in any of the 8 orientations (light/dark variants of a wallpaper, one photo shipped at two
sizes) is a variant and is not kept (the rule bench/robustness.py uses). So is, by its name, a
picture of a wallpaper family already taken (`_family`: GNOME's light and dark `-l`/`-d` pairs,
Sway's one design in eight sizes and orientations, MATE's colour variants of one design): a
re-cropped or recoloured copy of one design can be more than 64 bits away as a whole (grid-l and
grid-d are 66 apart; Sway's portrait and landscape layouts differ) and yet contain the same
windows, which would count a true crop match as a false one. The decisions (PDQ,
quality, kept or not) are cached in bench/data/photos/index.json, so later calls only open PNGs.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "pdq"
CACHE = ROOT / "bench" / "data" / "photos"
INDEX = CACHE / "index.json"
INDEX_VERSION = 4
LONG_SIDE = 1024
GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")
TILE = 512
TILE_SOURCE_SIDE = 2048
MAX_TILES = 8
MIN_QUALITY = 50  # gcompris pictures and tiles
VARIANT_BITS = 64  # within this many bits in some orientation: the same picture

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


@dataclass(frozen=True)
class Photo:
    name: str
    source: str  # conformance | wallpaper | gcompris | tile
    group: str  # the picture it comes from: tiles share their picture's group
    image: Image.Image
    pdq: tuple[str, ...]  # whole-image PDQ (hex) of the cached picture in the 8 orientations
    quality: int


def _family(path: Path) -> str:
    """A wallpaper design shipped as several files (sizes, light/dark, colours): one name for all."""
    stem = path.stem
    if path.parent.name == "gnome" and stem[-2:] in ("-l", "-d"):
        return f"gnome:{stem[:-2]}"
    if stem.startswith("Sway_Wallpaper_"):
        return "sway"
    if stem.startswith("MATE-Stripes-") or stem.startswith("Ubuntu-Mate-"):
        return f"mate:{stem.split('-')[1]}"
    return str(path)


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
    families: set[str] = set()
    out = []
    for p in found:  # one file of each wallpaper family (the first in name order)
        if _family(p) not in families:
            families.add(_family(p))
            out.append(p)
    return out


def _rcc_files(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file in a Qt resource bundle (rcc format 1-3; zlib or stored)."""
    b = path.read_bytes()
    if b[:4] != b"qres":
        return []
    version, tree, data, names = struct.unpack(">IIII", b[4:20])
    node = 22 if version >= 2 else 14
    out: list[tuple[str, bytes]] = []

    def name(off: int) -> str:
        (n,) = struct.unpack(">H", b[names + off : names + off + 2])
        return b[names + off + 6 : names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(i: int, prefix: str) -> None:
        o = tree + i * node
        noff, flags = struct.unpack(">IH", b[o : o + 6])
        here = prefix + (name(noff) if i else "")
        if flags & 2:  # a directory
            count, first = struct.unpack(">II", b[o + 6 : o + 14])
            for k in range(count):
                walk(first + k, here + "/")
            return
        (doff,) = struct.unpack(">I", b[o + 10 : o + 14])
        (size,) = struct.unpack(">I", b[data + doff : data + doff + 4])
        raw = b[data + doff + 4 : data + doff + 4 + size]
        if flags & 4:  # zstd: not used by the bundles read here
            return
        out.append((here, zlib.decompress(raw[4:]) if flags & 1 else raw))

    walk(0, "")
    return out


def _gcompris() -> list[tuple[str, bytes]]:
    """(id, encoded picture) of every raster picture in GCompris' bundles."""
    if not GCOMPRIS.is_dir():
        return []
    out = []
    for bundle in sorted(GCOMPRIS.glob("*.rcc")):
        for name, raw in _rcc_files(bundle):
            if Path(name).suffix.lower() in SUFFIXES:
                out.append((f"gcompris:{bundle.stem}:{name}", raw))
    return out


def _is_photograph(im: Image.Image) -> bool:
    """Not clip art: no transparent pixels, a side of 160 px or more, many colours."""
    if "A" in im.getbands() or "transparency" in im.info:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
        if alpha.min() < 250:
            return False
    if min(im.size) < 160:
        return False
    rgb = np.asarray(im.convert("RGB")).reshape(-1, 3)[::7]
    return len(np.unique(rgb, axis=0)) >= 500


def _shrink(im: Image.Image, side: int) -> Image.Image:
    scale = side / max(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    return im


def _open(spec: str, raw: bytes | None, side: int) -> Image.Image:
    with Image.open(io.BytesIO(raw) if raw is not None else spec) as im:
        im.draft("RGB", (side, side))
        if raw is not None and not _is_photograph(im):
            raise ValueError("not a photograph")
        return _shrink(im.convert("RGB"), side)


def _tiles(im: Image.Image) -> list[Image.Image]:
    """Non-overlapping TILE x TILE tiles of a centred grid, at most MAX_TILES, spread evenly."""
    nx, ny = im.width // TILE, im.height // TILE
    if nx * ny == 0:
        return []
    x0, y0 = (im.width - nx * TILE) // 2, (im.height - ny * TILE) // 2
    boxes = [(x0 + i * TILE, y0 + j * TILE) for j in range(ny) for i in range(nx)]
    if len(boxes) > MAX_TILES:
        boxes = [boxes[round(k * (len(boxes) - 1) / (MAX_TILES - 1))] for k in range(MAX_TILES)]
    return [im.crop((x, y, x + TILE, y + TILE)) for x, y in boxes]


def _pdq8(im: Image.Image) -> tuple[list[str], int]:
    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(np.asarray(im, dtype=np.uint8)))
    return [np.packbits(np.asarray(h, dtype=np.uint8)).tobytes().hex() for h in hashes], int(quality)


def _signs(hexes: list[str]) -> np.ndarray:
    """(n, 256) +-1 of PDQ hex codes: the distance of a and b is (256 - a.b) / 2."""
    raw = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8)
    bits = np.unpackbits(raw).reshape(len(hexes), 256)
    return bits.astype(np.float32) * 2 - 1


def _build() -> dict[str, object]:
    """Decode, cache, measure and dedupe every source; the index of what was kept."""
    CACHE.mkdir(parents=True, exist_ok=True)
    candidates: list[tuple[str, str, str, str | Path, bytes | None]] = []  # id, name, source, path, raw
    for path in source_paths():
        source = "conformance" if CONFORMANCE in path.parents else "wallpaper"
        name = path.name if path.parent.name != "images" else path.parents[2].name
        candidates.append((str(path), name, source, path, None))
    for spec, raw in _gcompris():
        candidates.append((spec, spec.split(":", 2)[2].rsplit("/", 1)[-1], "gcompris", spec, raw))
    entries: list[dict[str, object]] = []
    for spec, name, source, path, raw in candidates:
        key = hashlib.sha256(spec.encode()).hexdigest()[:16]
        cached = CACHE / f"{key}.png"
        try:
            big = _open(str(path), raw, TILE_SOURCE_SIDE)
        except (OSError, ValueError):
            continue
        im = _shrink(big, LONG_SIDE)
        if not cached.exists():
            im.save(cached)
        pdq, quality = _pdq8(im)
        if source == "gcompris" and quality < MIN_QUALITY:
            continue
        entry = {"file": cached.name, "name": name, "source": source, "group": key}
        entries.append({**entry, "pdq": pdq, "quality": quality})
        for t, tile in enumerate(_tiles(big)):
            tpdq, tq = _pdq8(tile)
            if tq < MIN_QUALITY:
                continue
            tfile = CACHE / f"{key}-t{t}.png"
            if not tfile.exists():
                tile.save(tfile)
            entry = {"file": tfile.name, "name": f"{name}#t{t}", "source": "tile", "group": key}
            entries.append({**entry, "pdq": tpdq, "quality": tq})
    # Dedupe: pictures first (tiles after), each against everything kept before it.
    entries.sort(key=lambda e: e["source"] == "tile")
    kept: list[dict[str, object]] = []
    kept_signs = np.zeros((len(entries), 256), dtype=np.float32)
    dropped: Counter[str] = Counter()
    for e in entries:
        mine = _signs(e["pdq"])  # type: ignore[arg-type]
        if kept and (256 - (mine @ kept_signs[: len(kept)].T).max()) / 2 < VARIANT_BITS:
            dropped[str(e["source"])] += 1
            continue
        kept_signs[len(kept)] = mine[0]
        kept.append(e)
    # A tile of a picture dropped as a variant is a tile of the kept one's twin: drop it too.
    pictures = {e["group"] for e in kept if e["source"] != "tile"}
    dropped["tile"] += sum(e["group"] not in pictures for e in kept)
    kept = [e for e in kept if e["group"] in pictures]
    return {"version": INDEX_VERSION, "photos": kept, "dropped_variants": dict(dropped)}


def _index() -> dict[str, object]:
    if INDEX.exists():
        index = json.loads(INDEX.read_text())
        if index.get("version") == INDEX_VERSION:
            return index  # type: ignore[no-any-return]
    index = _build()
    INDEX.write_text(json.dumps(index))
    return index


def photo_records(tiles: bool = False, limit: int | None = None) -> list[Photo]:
    """Every distinct picture found (the tiles too if asked), cached, in source order."""
    out = []
    for e in _index()["photos"]:  # type: ignore[attr-defined]
        if e["source"] == "tile" and not tiles:
            continue
        im = Image.open(CACHE / e["file"]).convert("RGB")
        out.append(Photo(e["name"], e["source"], e["group"], im, tuple(e["pdq"]), e["quality"]))
        if limit and len(out) >= limit:
            break
    return out


def photos(limit: int | None = None) -> list[tuple[str, Image.Image]]:
    """(name, RGB picture of at most 1024 px on its long side) of every distinct picture, no tiles."""
    return [(p.name, p.image) for p in photo_records(limit=limit)]


def counts(records: list[Photo]) -> str:
    c = Counter(p.source for p in records)
    return ", ".join(f"{k} {c[k]}" for k in ("conformance", "wallpaper", "gcompris", "tile") if c[k])


if __name__ == "__main__":
    got = photo_records(tiles=True)
    groups = len({p.group for p in got if p.source != "tile"})
    print(f"{len(got)} pictures: {counts(got)} ({groups} independent pictures)")
    print(f"variants dropped: {_index()['dropped_variants']}")
