"""The sub-window search: find a listed photo's centred windows inside a cropped upload.

The device sends, beside the whole-image PDQ, the PDQ of the middle 80% (`pdq80`) and of the
middle 70% (`pdq70`) of each photo. A repost cropped by up to about 10% a side still contains
the 80% window, somewhere: trimming each edge of the upload by 0-12.5% finds it. PDQ windows
must line up within about 1% of a side, so the search is dense (docs/matching.md):

1. the picture (upload, or a photo rectangle `candidates.photo_boxes` found in it) is shrunk
   to WORK_SIZE and the PDQ coefficients of every sub-window of a grid of edge trims are
   computed at once (`subwindows`), with their 8 rotations and flips;
2. all those codes go in one batch to the 80%-window index, built for a small radius
   (COARSE_RADIUS: an index's cost grows steeply with its radius, and a true window lines
   up far closer than an unrelated one ever comes);
3. a hit fixes where the original photo lies in the upload, so where its 70% window must be:
   that window (and its near neighbours) is hashed and looked up in the 70%-window index;
4. when no 80% window is found, narrower grids look for the 70% window alone: for aspect
   crops (1:1, 9:16, 4:5) and crops of 10-15% a side, which cut into the 80% window.

A match on both windows is an agreed match (the upload is held for a reviewer); one window alone
is a near match. Neither blocks by itself (docs/matching.md, "False positives at scale").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from takeitdown.node.index import PdqIndex
from takeitdown.node.subwindows import dihedral, luma_of, to_codes, window_coefficients
from takeitdown.protocol import PDQ_MIN_QUALITY

WORK_SIZE = 640  # long side the search works on: below ~500 px PDQ's box filters alias (22 bits at 384)
COARSE_RADIUS = 31  # radius both window indexes are built for (docs/matching.md)
# ... and the radius their tables are probed for: each 24-bit chunk within one bit (25 keys a
# table at 10M instead of up to 2,325). Exact up to 19; a true window at 20-31 is still found
# when one chunk of it is within a bit, as nearly all are (docs/matching.md: the same recall as
# probing for 31 on the robustness photos) at a fraction of the CPU (bench/window_cost.py).
PROBE_RADIUS = 19
STEP = 0.025  # grid step, a share of the side (windows must line up within about 1%)
TRIMS_80 = tuple(float(t) for t in np.round(np.arange(0, 0.125 + 1e-9, STEP), 4))  # 10% cropped a side
# 70% window alone: one axis trimmed 0-17.5% (an aspect crop), the other 12.5-17.5%.
TRIMS_70_FREE = tuple(float(t) for t in np.round(np.arange(0, 0.175 + 1e-9, STEP), 4))
TRIMS_70_FIXED = (0.125, 0.15, 0.175)
# ... and every edge trimmed 0-7.5%: a crop of 10-15% a side leaves the 70% window 0-7% inside
# the upload's edges while cutting into the 80% one.
TRIMS_70_CLOSE = (0.0, 0.025, 0.05, 0.075)
MIN_WINDOW_QUALITY = PDQ_MIN_QUALITY
# Orientations, in `subwindows.dihedral`'s order: 0 as uploaded, 2 mirrored left-right. Those two
# get the full grids; the 6 rotations and other flips (rarer, and a rotated crop rarer still)
# a coarse grid, to keep the upload within its CPU budget.
COMMON = (0, 2)
RARE = (1, 3, 4, 5, 6, 7)
TRIMS_COARSE = (0.0, 0.05, 0.1)


@dataclass(frozen=True)
class WindowHit:
    entry_id: int
    window: int  # 80 or 70
    distance: int
    box: tuple[float, float, float, float]  # where in the picture (shares of its sides)
    orientation: int


Ranges = list[tuple[int, int]]


def _ranges(
    n: int, trims: tuple[float, ...], fixed: tuple[float, ...] | None = None
) -> list[tuple[int, int]]:
    out = []
    for a, b in itertools.product(trims, fixed if fixed is not None else trims):  # (start, end) trims
        lo, hi = round(a * n), n - round(b * n)
        if hi - lo >= 8:
            out.append((lo, hi))
    return out


class WindowIndex:
    """The two window indexes of a node (label: registry entry id)."""

    def __init__(self, radius: int = COARSE_RADIUS, probe_radius: int = PROBE_RADIUS) -> None:
        self.radius = radius
        self.w80 = PdqIndex(threshold=radius, labelled=True, probe_radius=probe_radius)
        self.w70 = PdqIndex(threshold=radius, labelled=True, probe_radius=probe_radius)

    def index(self, window: int) -> PdqIndex:
        return self.w80 if window == 80 else self.w70

    def __len__(self) -> int:
        return len(self.w80) + len(self.w70)


class Picture:
    """One picture prepared for the search: its luma at WORK_SIZE."""

    def __init__(self, image: Image.Image) -> None:
        scale = min(1.0, WORK_SIZE / max(image.size))
        if scale < 1:
            size = (max(8, round(image.width * scale)), max(8, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        self.luma = luma_of(np.asarray(image.convert("RGB")))
        self.height, self.width = self.luma.shape

    def codes(
        self, rows: Ranges, cols: Ranges, orientations: tuple[int, ...] = tuple(range(8))
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(codes (n, 4), row-range index, col-range index, orientation) of every window
        rows x cols in the given orientations; windows too flat to hash reliably left out."""
        coeffs = window_coefficients(self.luma, rows, cols)  # (R, C, 16, 16)
        flat = coeffs.reshape(-1, 16, 16)
        keep = _energy_ok(flat)
        ri, ci = np.divmod(np.nonzero(keep)[0], len(cols))
        turned = dihedral(flat[keep], orientations)  # (k, o, 16, 16)
        codes = to_codes(turned.reshape(-1, 16, 16))
        k, o = len(ri), len(orientations)
        return codes, np.repeat(ri, o), np.repeat(ci, o), np.tile(np.array(orientations), k)


def _energy_ok(flat: np.ndarray) -> np.ndarray:
    """Windows with some detail: a flat window's bits are noise, and noise matches anything."""
    energy = np.abs(flat).reshape(len(flat), -1).mean(axis=1)
    return energy > 0.5


def search(picture: Picture, windows: WindowIndex) -> list[WindowHit]:
    """Every window hit in one picture (both grids), best first."""
    hits: list[WindowHit] = []
    if len(windows.w80):
        rows, cols = _ranges(picture.height, TRIMS_80), _ranges(picture.width, TRIMS_80)
        hits += _grid(picture, windows, 80, rows, cols, COMMON)
        rows, cols = _ranges(picture.height, TRIMS_COARSE), _ranges(picture.width, TRIMS_COARSE)
        hits += _grid(picture, windows, 80, rows, cols, RARE)
    if len(windows.w70) and not hits:  # early exit: an 80% hit checks its 70% window itself
        for rows, cols in (
            (_ranges(picture.height, TRIMS_70_FREE), _ranges(picture.width, TRIMS_70_FIXED, TRIMS_70_FIXED)),
            (_ranges(picture.height, TRIMS_70_FIXED, TRIMS_70_FIXED), _ranges(picture.width, TRIMS_70_FREE)),
            (_ranges(picture.height, TRIMS_70_CLOSE), _ranges(picture.width, TRIMS_70_CLOSE)),
        ):
            hits += _grid(picture, windows, 70, rows, cols, COMMON)
    return sorted(hits, key=lambda h: (h.distance, h.window))


def _grid(
    picture: Picture,
    windows: WindowIndex,
    window: int,
    rows: Ranges,
    cols: Ranges,
    orientations: tuple[int, ...],
) -> list[WindowHit]:
    if not rows or not cols:
        return []
    codes, ri, ci, oi = picture.codes(rows, cols, orientations)
    if not len(codes):
        return []
    out: dict[int, WindowHit] = {}
    for k, found in enumerate(windows.index(window).search(codes)):
        for label, d in found:
            eid = int(label)
            have = out.get(eid)
            if have is None or d < have.distance:
                r0, r1 = rows[ri[k]]
                c0, c1 = cols[ci[k]]
                box = (c0 / picture.width, r0 / picture.height, c1 / picture.width, r1 / picture.height)
                out[eid] = WindowHit(eid, window, int(d), box, int(oi[k]))
    return list(out.values())


def inner_hits(picture: Picture, windows: WindowIndex, hit: WindowHit) -> list[WindowHit]:
    """The 70% window where an 80% hit says it must be (87.5% of the 80% box, same centre),
    with its neighbours one grid step away on each edge, in the hit's orientation."""
    if not len(windows.w70):
        return []
    left, top, right, bottom = hit.box
    cx, cy, hw, hh = (left + right) / 2, (top + bottom) / 2, (right - left) * 0.4375, (bottom - top) * 0.4375
    rows, cols = [], []
    for a, b in itertools.product((-STEP, 0.0, STEP), repeat=2):
        r0, r1 = round((cy - hh + a) * picture.height), round((cy + hh + b) * picture.height)
        c0, c1 = round((cx - hw + a) * picture.width), round((cx + hw + b) * picture.width)
        if 0 <= r0 < r1 <= picture.height and r1 - r0 >= 8:
            rows.append((r0, r1))
        if 0 <= c0 < c1 <= picture.width and c1 - c0 >= 8:
            cols.append((c0, c1))
    if not rows or not cols:
        return []
    codes, _, _, _ = picture.codes(sorted(set(rows)), sorted(set(cols)), (hit.orientation,))
    best: dict[int, int] = {}
    for found in windows.w70.search(codes):
        for label, d in found:
            best[int(label)] = min(int(d), best.get(int(label), 999))
    return [WindowHit(eid, 70, d, hit.box, hit.orientation) for eid, d in best.items()]
