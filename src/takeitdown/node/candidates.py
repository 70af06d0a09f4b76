"""Platform-side clean-up of an upload before matching: find the photo rectangle inside borders,
letterbox or pillarbox bars, caption bands and screenshot chrome (docs/matching.md).

Free for privacy: the node may do anything to its own upload. The upload itself is always
matched too, so a wrong guess costs a little CPU, never a match.

Rough guesses, on a copy of at most WORK_SIZE pixels a side:
- *chrome*: the background is the colour of the picture's top and bottom rows; the longest run
  of rows that are not mostly that colour (a caption band, a status bar or a comment list is
  text on the background: most of its pixels share its colour, text included), then the longest
  run of columns inside it that are not mostly the colour of the rows left out (a pillarbox),
  twice; once rows first and once columns first (a portrait pillarboxed on a desktop);
- *bars*: lines of one colour peeled off both ends, when both ends have them in the same
  colour (borders, letterbox, pillarbox);
- *edges*: the innermost straight lines across the whole picture near each end (a band over
  flat artwork, whose rows look like chrome).
A rough edge is a few pixels off, and PDQ needs the rectangle within about 1% of a side. So every
trimmed edge is then moved, at full resolution, to the nearest strong straight edge: a row
(column) across which at least half of the box's pixels change at once, as they do where a
photo meets a flat background and almost never inside a photo. It is searched EDGE_REACH inward
and only about the rough copy's precision outward, where the rough guess saw chrome (a toolbar's
edge there is as strong as the photo's). When no such edge is near, an edge guessed close to
the picture's border goes back to it (an ordinary photo's flat sky is no band); one guessed
further in stays. A thin chrome strip at one end only, not the other end's colour, may be a
flat strip of the photo: the box with that strip restored is offered first (a box a few % too
large is still found by the window search run in the first box; one cutting into the photo is
not).
"""

from __future__ import annotations

import numpy as np

WORK_SIZE = 512  # long side of the copy the rough guesses are made on
# A row (column) is "flat" when its pixels stay this close to their median colour...
FLAT_SPREAD = 6.0
# ... and "chrome" when at least this share of them are within FLAT_SPREAD of the median.
CHROME_SHARE = 0.6
BACKGROUND_SPREAD = 12.0  # a line's colour this close to an outer line's is the background's
BAR_SHARE = 0.98  # share of a border or letterbox line near its median colour
SAMPLES = 96  # pixels of a line the median and the shares are taken on (evenly spaced)
UNSURE_STRIP = 0.05  # a strip of chrome this thin on one end only may be part of the photo
MIN_SIDE_SHARE = 0.25  # a rectangle keeps at least this share of each side
MIN_TRIM = 0.01  # and differs from the whole picture by at least this share of a side

# Edge refinement, at full resolution
EDGE_STEP = 20  # a pixel "changes" across an edge when a channel moves by more than this
EDGE_SHARE = 0.5  # an edge: at least this share of the box's pixels along it change
EDGE_REACH = 0.06  # searched this share of the picture's side inward of the rough edge
EDGE_OUTWARD = 0.015  # and this share outward (plus the rough copy's pixel)
EDGE_LINE_SAMPLES = 320  # pixels along an edge that are compared
EDGES_SHARE = 0.9  # edges_box: a line across which this share of the whole picture changes
EDGES_OUTER = 0.35  # within this share of the side from either end

Box = tuple[int, int, int, int]  # left, top, right, bottom


def _spread(a: np.ndarray) -> np.ndarray:
    """Largest absolute channel of (..., 3) int16 differences (faster than .max(axis=-1))."""
    a = np.abs(a)
    return np.maximum(np.maximum(a[..., 0], a[..., 1]), a[..., 2])


def _near_median(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, m, 3) lines -> (share of each line's sampled pixels within FLAT_SPREAD of its median
    colour, that median colour (n, 3))."""
    step = max(1, lines.shape[1] // SAMPLES)
    sample = lines[:, ::step].astype(np.int16)
    median = np.median(sample, axis=1, keepdims=True)
    share = (_spread(sample - median) <= FLAT_SPREAD).mean(axis=1)
    return share, median[:, 0]


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
    best, at = (0, 0), None
    for i, k in enumerate([*keep.tolist(), False]):
        if k and at is None:
            at = i
        elif not k and at is not None:
            if i - at > best[1] - best[0]:
                best = (at, i)
            at = None
    return best


def _bars(lines: np.ndarray) -> tuple[int, int]:
    """[start, end) of the lines left when the flat lines at both ends are peeled off, when both
    ends have bars of one colour (a letterbox, a pillarbox, a border); else all of them."""
    share, colour = _near_median(lines)
    start, end = _peel(share >= BAR_SHARE)
    if start == 0 or end == len(lines) or end <= start:
        return 0, len(lines)
    if np.abs(colour[0] - colour[-1]).max() > BACKGROUND_SPREAD:
        return 0, len(lines)
    return start, end


def bars_box(pixels: np.ndarray) -> Box:
    """The picture with bars of one colour peeled off both ends, rows then columns."""
    top, bottom = _bars(pixels)
    left, right = _bars(np.swapaxes(pixels[top:bottom], 0, 1))
    return left, top, right, bottom


def _outer_colours(pixels: np.ndarray) -> np.ndarray:
    """The colours of the picture's top and bottom rows that are mostly one colour: the
    background a photo is shown on (k, 3)."""
    share, colour = _near_median(pixels[[0, -1]])
    return colour[share >= CHROME_SHARE].astype(np.int16).reshape(-1, 3)


def _is_colour(colour: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """(n, 3) colours -> whether each is within BACKGROUND_SPREAD of one of `colours`."""
    if not len(colours):
        return np.zeros(len(colour), dtype=bool)
    d = np.abs(colour[:, None, :].astype(np.int16) - colours[None]).max(axis=2)
    return (d <= BACKGROUND_SPREAD).any(axis=1)


def _background(lines: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Share of each line's sampled pixels within BACKGROUND_SPREAD of one of the colours."""
    step = max(1, lines.shape[1] // SAMPLES)
    sample = lines[:, ::step].astype(np.int16)
    near = np.zeros(sample.shape[:2], dtype=bool)
    for c in colours:
        near |= _spread(sample - c) <= BACKGROUND_SPREAD
    return near.mean(axis=1)


def chrome_box(pixels: np.ndarray) -> Box:
    """The largest block of rows that do not look like text on the background (the colour of the
    picture's outermost lines), without the columns of that colour on either side (a pillarbox)."""
    top, bottom, left, right = 0, pixels.shape[0], 0, pixels.shape[1]
    colours = _outer_colours(pixels)
    if not len(colours):
        return left, top, right, bottom
    for _ in range(2):
        share, colour = _near_median(pixels[top:bottom, left:right])
        chrome = (share >= CHROME_SHARE) & _is_colour(colour, colours)
        r0, r1 = _longest_run(~chrome)
        if r1 <= r0:
            break
        # the columns on either side of the colours of the chrome rows left out (a pillarbox)
        out = np.concatenate([colour[:r0][chrome[:r0]], colour[r1:][chrome[r1:]]]).astype(np.int16)
        top, bottom = top + r0, top + r1
        if not len(out):
            break
        keys, counts = np.unique(out // 8, axis=0, return_counts=True)
        common = keys[np.argsort(-counts)[:4]] * 8 + 4
        cols = _background(np.swapaxes(pixels[top:bottom, left:right], 0, 1), common)
        c0, c1 = _longest_run(cols < CHROME_SHARE)
        if c1 <= c0:
            break
        left, right = left + c0, left + c1
    return left, top, right, bottom


def _edge_scores(pixels: np.ndarray, lo: int, hi: int, across: tuple[int, int]) -> np.ndarray:
    """Share of pixels of columns `across` that change between row y - 1 and row y, for y in
    [lo, hi)."""
    a, b = across
    step = max(1, (b - a) // EDGE_LINE_SAMPLES)
    part = pixels[lo - 1 : hi, a:b:step].astype(np.int16)
    change = _spread(part[1:] - part[:-1]) > EDGE_STEP
    return change.mean(axis=1)


def _snap(
    pixels: np.ndarray, guess: int, across: tuple[int, int], low: int, high: int, slack: int, sure: bool
) -> int:
    """The row in [low, high] nearest `guess` with a strong straight edge across the columns
    `across` (at least EDGE_SHARE of them change from the row above). `low` = 0 or
    `high` = height are the picture's own borders, and the other one is inward: the edge is
    searched EDGE_REACH of the height inward, and only `slack` pixels (the rough guess's
    precision) plus EDGE_OUTWARD outward, where the rough guess saw chrome (a toolbar's edge
    there may be as strong as the photo's). With no strong edge, a guess that is not `sure`
    and lies near the picture's border goes back to it."""
    height = pixels.shape[0]
    reach = max(2, round(EDGE_REACH * height))
    out = max(2, round(EDGE_OUTWARD * height) + slack)
    if low == 0:  # a top edge: outward is up
        lo, hi = max(guess - out, 1), min(high, guess + reach)
    else:
        lo, hi = max(low, guess - reach, 1), min(guess + out, height - 1)
    if hi <= lo or across[1] - across[0] < 8:
        return guess
    scores = _edge_scores(pixels, lo, hi + 1, across)
    strong = np.flatnonzero(scores >= EDGE_SHARE)
    if len(strong):
        # the strong edge closest to the guess
        at = strong[np.argmin(np.abs(lo + strong - guess) - scores[strong] / 2)]
        return lo + int(at)
    if sure:  # bars of one colour at both ends: the photo's own edge is as light as the border
        return guess
    # no edge: a guess near the picture's border was a flat part of the photo, not a bar
    for border in (low, high):
        if border in (0, height) and abs(guess - border) <= reach:
            return border
    return guess


def refine(pixels: np.ndarray, box: Box, slack: int = 0, sure: bool = False) -> Box:
    """The box with each edge that trims the picture moved to the nearest strong straight edge."""
    height, width = pixels.shape[:2]
    left, top, right, bottom = box
    turned = np.swapaxes(pixels, 0, 1)
    for _ in range(2):
        before = left, top, right, bottom
        margin = (right - left) // 50
        across = (left + margin, right - margin)
        if top > 0:
            top = _snap(pixels, top, across, 0, bottom - 16, slack, sure)
        if bottom < height:
            bottom = _snap(pixels, bottom, across, top + 16, height, slack, sure)
        margin = (bottom - top) // 50
        across = (top + margin, bottom - margin)
        if left > 0:
            left = _snap(turned, left, across, 0, right - 16, slack, sure)
        if right < width:
            right = _snap(turned, right, across, left + 16, width, slack, sure)
        if (left, top, right, bottom) == before:
            break
    return left, top, right, bottom


def _useful(box: Box, width: int, height: int) -> bool:
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    if w < MIN_SIDE_SHARE * width or h < MIN_SIDE_SHARE * height or w < 16 or h < 16:
        return False
    trims = (left / width, top / height, (width - right) / width, (height - bottom) / height)
    return max(trims) >= MIN_TRIM


def _small_copy(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    factor = -(-max(height, width) // WORK_SIZE)
    if factor == 1:
        return pixels
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).reduce(factor))


def _edge_lines(pixels: np.ndarray) -> tuple[int, int]:
    """[start, end): the innermost straight edges across (nearly) the whole picture within
    EDGES_OUTER of each end, or the ends."""
    n = pixels.shape[0]
    # rows y - 1 and y + 1 compared: on the small copy an edge may be blended into row y
    part = pixels[:, :: max(1, pixels.shape[1] // EDGE_LINE_SAMPLES)].astype(np.int16)
    scores = (_spread(part[2:] - part[:-2]) > EDGE_STEP).mean(axis=1)  # scores[i]: around row i + 1
    if not len(scores) or np.median(scores) >= EDGE_SHARE:
        return 0, n  # texture or noise: every line looks like an edge
    strong = np.flatnonzero(scores >= EDGES_SHARE) + 1
    outer = EDGES_OUTER * n
    head, tail = strong[strong <= outer], strong[strong >= n - outer]
    return (int(head.max()) if len(head) else 0), (int(tail.min()) if len(tail) else n)


def edges_box(pixels: np.ndarray) -> Box:
    """The box between the innermost straight edges that cross the whole picture near each end
    (rows, then columns inside them): a band of any look, even over flat artwork, ends in one."""
    top, bottom = _edge_lines(pixels)
    left, right = _edge_lines(np.swapaxes(pixels[top:bottom], 0, 1))
    return left, top, right, bottom


def _unsure(small: np.ndarray, rough: Box) -> Box:
    """The rough box with a thin strip it trims at the top or bottom restored when the strip is
    not the colour of the other end: a flat strip of the photo (sky, a table) as much as a bar."""
    height = small.shape[0]
    left, top, right, bottom = rough
    share, colour = _near_median(small[[0, -1]])
    same = share.min() >= CHROME_SHARE and np.abs(colour[0] - colour[1]).max() <= BACKGROUND_SPREAD
    if same:
        return rough
    thin = UNSURE_STRIP * height
    return left, 0 if top <= thin else top, right, height if height - bottom <= thin else bottom


def photo_boxes(pixels: np.ndarray) -> list[Box]:
    """Rectangles that may hold the photo inside an upload (H x W x 3 uint8), in its coordinates;
    empty when the upload looks like a photo edge to edge. Distinct boxes, best first: the smaller
    chrome box (rows first or columns first) with its unsure strips restored, then without, bars,
    the other chrome box with and without. The first is the one the window search runs in: when
    unsure, the larger box (a box a few % too large is still found by the window search; one
    cutting into the photo is not)."""
    height, width = pixels.shape[:2]
    small = _small_copy(pixels)
    sx, sy = width / small.shape[1], height / small.shape[0]
    slack = round(max(sx, sy))
    a, b, c, d = chrome_box(np.swapaxes(small, 0, 1))  # columns first: a pillarboxed portrait
    rows_first, cols_first = chrome_box(small), (b, a, d, c)
    # the smaller chrome box first: the other pass saw no chrome where this one did
    chrome = sorted(
        [rows_first, cols_first],
        key=lambda r: (not _useful(r, small.shape[1], small.shape[0]), (r[2] - r[0]) * (r[3] - r[1])),
    )
    bars = bars_box(small)
    roughs = [
        _unsure(small, chrome[0]),
        chrome[0],
        bars,
        _unsure(small, chrome[1]),
        chrome[1],
        edges_box(small),
    ]
    out: list[Box] = []
    for n, rough in enumerate(roughs):
        if not _useful(rough, small.shape[1], small.shape[0]):
            continue
        a, b, c, d = rough
        scaled = (round(a * sx), round(b * sy), round(c * sx), round(d * sy))
        box = refine(pixels, scaled, slack, sure=n == 2)
        if _useful(box, width, height) and all(_far(box, o, width, height) for o in out):
            out.append(box)
    return out


def _far(a: Box, b: Box, width: int, height: int) -> bool:
    scale = (width, height, width, height)
    return max(abs(x - y) / s for x, y, s in zip(a, b, scale, strict=True)) > 0.005
