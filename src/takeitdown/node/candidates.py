"""Platform-side clean-up of an upload before matching: find the photo rectangle inside borders,
letterbox or pillarbox bars, caption bands and screenshot chrome (docs/matching.md).

Free for privacy: the node may do anything to its own upload. The upload itself is always
matched too, so a wrong guess costs a little CPU, never a match.

Two guesses, on a small copy of the picture:
- *bars*: rows and columns peeled off each edge while they are nearly one colour (borders,
  letterbox, pillarbox);
- *chrome*: the longest run of rows that are not "mostly one colour" (a caption band, a status
  bar or a comment list is text on a flat background: most of its pixels share one colour, as
  almost no row of a photograph does), then the same for columns inside it, twice.
"""

from __future__ import annotations

import numpy as np

# A row (column) is "flat" when its pixels stay this close to their median colour...
FLAT_SPREAD = 6.0
# ... and "chrome" when at least this share of them are within FLAT_SPREAD of the median.
CHROME_SHARE = 0.6
MIN_SIDE_SHARE = 0.25  # a rectangle keeps at least this share of each side
MIN_TRIM = 0.01  # and differs from the whole picture by at least this share of a side

Box = tuple[int, int, int, int]  # left, top, right, bottom


def _near_median(lines: np.ndarray) -> np.ndarray:
    """(n, m) share of each line's pixels within FLAT_SPREAD of that line's median colour."""
    median = np.median(lines, axis=1, keepdims=True)
    return (np.abs(lines - median).max(axis=2) <= FLAT_SPREAD).mean(axis=1)


def _peel(flat: np.ndarray) -> tuple[int, int]:
    """[start, end) left when the flat lines at both ends are peeled off."""
    n = len(flat)
    start = 0
    while start < n and flat[start]:
        start += 1
    end = n
    while end > start and flat[end - 1]:
        end -= 1
    return start, end


def _longest_run(keep: np.ndarray) -> tuple[int, int]:
    best, at, start = (0, 0), None, 0
    for i, k in enumerate([*keep.tolist(), False]):
        if k and at is None:
            at = i
        elif not k and at is not None:
            if i - at > best[1] - best[0]:
                best = (at, i)
            at = None
        start = i
    del start
    return best


def bars_box(pixels: np.ndarray) -> Box:
    """The picture with flat bars peeled off every edge."""
    p = pixels.astype(np.float32)
    rows = _near_median(p) >= 0.98
    top, bottom = _peel(rows)
    if bottom <= top:
        return 0, 0, p.shape[1], p.shape[0]
    cols = _near_median(np.swapaxes(p[top:bottom], 0, 1)) >= 0.98
    left, right = _peel(cols)
    return left, top, right, bottom


def chrome_box(pixels: np.ndarray) -> Box:
    """The largest block of rows and columns that do not look like text on a flat background."""
    p = pixels.astype(np.float32)
    top, bottom, left, right = 0, p.shape[0], 0, p.shape[1]
    for _ in range(2):
        rows = _near_median(p[top:bottom, left:right]) < CHROME_SHARE
        r0, r1 = _longest_run(rows)
        top, bottom = top + r0, top + r1
        if bottom <= top:
            break
        cols = _near_median(np.swapaxes(p[top:bottom, left:right], 0, 1)) < CHROME_SHARE
        c0, c1 = _longest_run(cols)
        left, right = left + c0, left + c1
        if right <= left:
            break
    return left, top, right, bottom


def _useful(box: Box, width: int, height: int) -> bool:
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    if w < MIN_SIDE_SHARE * width or h < MIN_SIDE_SHARE * height or w < 16 or h < 16:
        return False
    trims = (left / width, top / height, (width - right) / width, (height - bottom) / height)
    return max(trims) >= MIN_TRIM


def photo_boxes(pixels: np.ndarray) -> list[Box]:
    """Rectangles that may hold the photo inside an upload (H x W x 3 uint8), in its coordinates;
    empty when the upload looks like a photo edge to edge. Distinct boxes, bars first."""
    height, width = pixels.shape[:2]
    out: list[Box] = []
    bars = bars_box(pixels)
    if _useful(bars, width, height):
        out.append(bars)
    chrome = chrome_box(pixels)
    if _useful(chrome, width, height) and all(_far(chrome, b, width, height) for b in out):
        out.append(chrome)
    return out


def _far(a: Box, b: Box, width: int, height: int) -> bool:
    scale = (width, height, width, height)
    return max(abs(x - y) / s for x, y, s in zip(a, b, scale, strict=True)) > 0.005
