"""The two centred window hashes (pdq80, pdq70): their box, their wire form, the feed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from takeitdown import protocol
from takeitdown.hashing import InvalidHash, hash_file, load_image, parse_hash, pdq_of_image
from takeitdown.hashing.windows import window_box, window_hashes
from takeitdown.protocol import PdqWindowHash


def test_window_box_is_centred_integer_arithmetic() -> None:
    assert window_box(1000, 800, 80) == (100, 80, 900, 720)
    assert window_box(1000, 800, 70) == (150, 120, 850, 680)
    assert window_box(101, 7, 80) == (10, 1, 91, 6)  # round half up: 10.1 -> 10, 0.7 -> 1


def test_window_hashes_are_the_pdq_of_the_centre(conformance: Path) -> None:
    path = conformance / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"
    image = load_image(path, luma_only=True)
    w80, w70 = window_hashes(image)
    assert (w80.type, w70.type) == ("pdq80", "pdq70")
    assert w80.value == pdq_of_image(image.crop(window_box(image.width, image.height, 80))).value
    whole = hash_file(path)
    assert whole.windows == (w80, w70)
    # the windows are other pictures than the whole: far from its hash
    assert whole.pdq.distance(w80.pdq) > 31 and whole.pdq.distance(w70.pdq) > 31
    # a 5% crop a side keeps the 80% window inside: the crop's middle 8/9 is that window again
    x0, y0 = image.width // 20, image.height // 20
    crop = image.crop((x0, y0, image.width - x0, image.height - y0))
    left, top, right, bottom = window_box(image.width, image.height, 80)
    inner = crop.crop((left - x0, top - y0, right - x0, bottom - y0))
    assert pdq_of_image(inner).distance(w80.pdq) <= 31
    assert pdq_of_image(crop).distance(whole.pdq) > 31  # what the whole-image hash alone misses


def test_wire_form_round_trips_and_is_checked() -> None:
    h = {"type": "pdq80", "value": "ab" * 32, "quality": 90}
    for parse in (parse_hash, protocol.parse_hash):
        got = parse(h)
        assert got.type == "pdq80" and got.to_json() == h
    assert parse_hash({"type": "pdq70", "value": "0" * 64}).window == 70  # type: ignore[union-attr]
    with pytest.raises(InvalidHash):
        parse_hash({"type": "pdq80", "value": "ab" * 31})
    with pytest.raises(InvalidHash):
        parse_hash({"type": "pdq80", "value": "ab" * 32, "frames": []})
    with pytest.raises(protocol.InvalidHash):
        protocol.parse_hash({"type": "pdq90", "value": "ab" * 32})
    assert not PdqWindowHash("0" * 64, 20, 80).is_distributable()
    # an image item may carry them, a video item may not
    protocol.CaseItem.parse("image", [h, {"type": "md5", "value": "c" * 32}])
    with pytest.raises(protocol.InvalidHash):
        protocol.CaseItem.parse("video", [h])


def test_feed_entry_carries_windows() -> None:
    line = protocol.FeedEntry(3, "add", 9, "pdq70", "cd" * 32, 77).to_wire()
    import json

    back = protocol.FeedEntry.parse(json.loads(line))
    assert (back.type, back.value, back.quality) == ("pdq70", "cd" * 32, 77)
    with pytest.raises(protocol.InvalidFeedEntry):
        protocol.FeedEntry.parse({**json.loads(line), "value": "zz" * 32})


def test_tiny_image_windows_do_not_fail() -> None:
    w80, w70 = window_hashes(Image.new("RGB", (6, 6), "white"))
    assert w80.quality == 0 and w70.quality == 0
