"""Files -> case items, with the page's limits: one item per distinct file, videos up to 10
minutes, at most 100 items a case (more become several cases). Nothing here touches the network."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from takeitdown.hashing.cli import expand_paths
from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS
from takeitdown.hashing.errors import EmptyFile, HashingError, MediaTooLarge, UnsupportedMedia
from takeitdown.hashing.files import FileHashes, ImageHashes, VideoHashes, hash_file
from takeitdown.hashing.media import classify
from takeitdown.protocol import MAX_ITEMS_PER_CASE, PDQ_MIN_QUALITY, CaseItem, case_body

MAX_VIDEO_SECONDS = 600  # the page's cap (hasher.js): one frame a second, 10 minutes

# The page's words, by their key in registry/web/i18n/en.json, so a person reads the same thing
# on both (tests/device/test_submit.py holds them to that file).
PAGE_WORDS = {
    "err.empty": "This file is empty, so there is nothing to hash. Please pick the photo again.",
    "err.unknown": "This file is not a photo or video we can read. Try saving it as a JPEG photo or an "
    "MP4 video.",
    "err.undecodable": "This file could not be opened as a photo. It may be damaged or not fully saved. "
    "Try saving or sharing it as a JPEG, then pick it again.",
    "err.video-undecodable": "This video could not be opened by this browser. Try saving or sharing it "
    "as an MP4, then pick it again.",
    "err.too-big": "This picture is too big to open safely (more than {mp} megapixels). Try a smaller "
    "copy, like a screenshot of it.",
    "err.video-too-long": "This video is longer than 10 minutes. Please cut it to the part that shows "
    "you, or split it, and pick the parts.",
    "err.failed": "Something went wrong while making the hash. Please try again.",
    "file.duplicate": "You already picked this file, so it is sent only once.",
    "file.lowQuality": "Ready. This picture has very little detail, so only exact copies of it can be found.",
    "send.nothing": "Pick at least one photo or video first.",
}
MSG_EMPTY = PAGE_WORDS["err.empty"]
MSG_UNKNOWN = PAGE_WORDS["err.unknown"]
MSG_TOO_LONG = PAGE_WORDS["err.video-too-long"]
MSG_DUPLICATE = PAGE_WORDS["file.duplicate"]
MSG_LOW_QUALITY = PAGE_WORDS["file.lowQuality"]
MSG_FAILED = PAGE_WORDS["err.failed"]
MSG_NOTHING = PAGE_WORDS["send.nothing"]


def refusal(path: Path, exc: HashingError, max_pixels: int) -> str:
    """What the page says for this refusal (the hashing error's own text is for logs and the CLI's
    `hash` command; a person submitting reads the page's words)."""
    if isinstance(exc, EmptyFile):
        return MSG_EMPTY
    if isinstance(exc, UnsupportedMedia):
        return MSG_UNKNOWN
    try:
        video = classify(path) == "video"
    except HashingError:
        video = False
    if video:
        return PAGE_WORDS["err.video-undecodable"]
    if isinstance(exc, MediaTooLarge):
        return PAGE_WORDS["err.too-big"].format(mp=max_pixels // 1_000_000)
    return PAGE_WORDS["err.undecodable"]


@dataclass
class Picked:
    """One file as the person picked it: its item, or why it is not sent."""

    path: Path
    item: CaseItem | None = None
    problem: str | None = None  # not sent: the reason
    note: str | None = None  # sent, with a warning (little detail)
    duplicate_of: Path | None = None


@dataclass
class Prepared:
    picked: list[Picked] = field(default_factory=list)

    @property
    def items(self) -> list[CaseItem]:
        return [p.item for p in self.picked if p.item is not None and p.duplicate_of is None]

    @property
    def sent(self) -> list[Picked]:
        return [p for p in self.picked if p.item is not None and p.duplicate_of is None]

    def cases(self) -> list[list[Picked]]:
        """The items in groups of at most 100: one case each."""
        sent = self.sent
        return [sent[i : i + MAX_ITEMS_PER_CASE] for i in range(0, len(sent), MAX_ITEMS_PER_CASE)]

    def bodies(self) -> list[dict[str, object]]:
        """Exactly the `POST /v1/cases` bodies that will be sent, one per case."""
        return [case_body(p.item for p in group if p.item is not None) for group in self.cases()]


def _hash_one(path: Path, max_pixels: int) -> FileHashes | str:
    try:
        return hash_file(path, max_pixels)
    except HashingError as exc:
        return refusal(path, exc, max_pixels)
    except Exception:  # noqa: BLE001 - one bad file never stops the others, and never a traceback
        return MSG_FAILED


def _hash_all(files: list[Path], max_pixels: int, workers: int) -> Iterator[FileHashes | str]:
    if workers <= 1 or len(files) <= 1:
        for path in files:
            yield _hash_one(path, max_pixels)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_hash_one, files, [max_pixels] * len(files), chunksize=2)


def to_item(result: FileHashes) -> tuple[CaseItem | None, str | None, str | None]:
    """(item, problem, note) for one hashed file, by the page's rules."""
    if isinstance(result, VideoHashes) and result.vpdq.frames[-1].t > MAX_VIDEO_SECONDS:
        return None, MSG_TOO_LONG, None
    note = None
    if isinstance(result, ImageHashes) and (result.pdq.quality or 0) < PDQ_MIN_QUALITY:
        note = MSG_LOW_QUALITY
    return CaseItem.parse(result.kind, result.wire_hashes()), None, note


def prepare(
    paths: Iterable[Path],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int = 0,
    on_progress: object = None,
) -> Prepared:
    """Hash every file (folders are searched), in a stable order; the same file twice is sent once."""
    files = list(expand_paths(paths))
    out = Prepared()
    seen: dict[str, Path] = {}
    results = _hash_all(files, max_pixels, workers or os.cpu_count() or 1)
    for path, result in zip(files, results, strict=True):
        if callable(on_progress):
            on_progress()
        if isinstance(result, str):
            out.picked.append(Picked(path, problem=result))
            continue
        item, problem, note = to_item(result)
        twin = seen.get(result.md5.value) if item is not None else None
        if twin is not None:
            out.picked.append(Picked(path, item, note=MSG_DUPLICATE, duplicate_of=twin))
            continue
        if item is not None:
            seen[result.md5.value] = path
        out.picked.append(Picked(path, item, problem, note))
    return out
