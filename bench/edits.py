"""The edits a re-poster makes, as functions photo -> upload (PIL RGB), for bench/robustness.py.

Every edit takes a `random.Random` so a run is reproducible. Groups: crops, aspect crops,
borders, caption bands, screenshots (the goal of issue 17); overlays (stickers, emoji, logos,
drawn text: measured, not the goal); combos with resize and JPEG; containers (the photo as a
later picture of a GIF, APNG, animated WebP or TIFF, or as the only picture of an MP4: these
edits return the file's bytes, the others a picture that is uploaded as a JPEG).
"""

from __future__ import annotations

import io
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

Edit = Callable[[Image.Image, random.Random], Image.Image | bytes]


def jpeg(im: Image.Image, quality: int = 75) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def crop(im: Image.Image, left: float, right: float, top: float, bottom: float) -> Image.Image:
    w, h = im.size
    return im.crop((round(left * w), round(top * h), w - round(right * w), h - round(bottom * h)))


def aspect(im: Image.Image, ratio: float) -> Image.Image:
    """Centre crop to width / height = ratio (what a feed does)."""
    w, h = im.size
    if w / h > ratio:
        nw = round(h * ratio)
        return im.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
    nh = round(w / ratio)
    return im.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))


def feed_aspect(portrait: float, landscape: float) -> Edit:
    """A centre crop to a feed's frame that keeps the picture's orientation: `portrait` (width /
    height) for a portrait picture, `landscape` for a landscape one."""
    return lambda im, rng: aspect(im, portrait if im.height > im.width else landscape)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _words(rng: random.Random, n: int) -> str:
    vocab = [
        "when",
        "you",
        "see",
        "it",
        "lol",
        "this",
        "is",
        "so",
        "me",
        "mood",
        "friday",
        "again",
        "nobody",
        "asked",
        "best",
        "day",
        "ever",
        "wow",
        "look",
    ]
    return " ".join(rng.choice(vocab) for _ in range(n))


def caption_band(im: Image.Image, rng: random.Random, top: bool = True) -> Image.Image:
    w, h = im.size
    band = round(h * rng.uniform(0.12, 0.22))
    out = Image.new("RGB", (w, h + band), "white")
    out.paste(im, (0, band if top else 0))
    d = ImageDraw.Draw(out)
    y = 0 if top else h
    d.text((w // 2, y + band // 2), _words(rng, 5), fill="black", font=_font(max(10, band // 3)), anchor="mm")
    return out


def caption_text(im: Image.Image, rng: random.Random) -> Image.Image:
    out = im.copy()
    d = ImageDraw.Draw(out)
    w, h = im.size
    size = max(12, h // 10)
    for y in (size, h - size):
        d.text(
            (w // 2, y),
            _words(rng, 4).upper(),
            fill="white",
            font=_font(size),
            anchor="mm",
            stroke_width=3,
            stroke_fill="black",
        )
    return out


def border(im: Image.Image, rng: random.Random) -> Image.Image:
    share = rng.uniform(0.03, 0.12)
    w, h = im.size
    b = round(max(w, h) * share)
    colour = rng.choice(["white", "black", (rng.randrange(256), rng.randrange(256), rng.randrange(256))])
    out = Image.new("RGB", (w + 2 * b, h + 2 * b), colour)
    out.paste(im, (b, b))
    return out


def letterbox(im: Image.Image, rng: random.Random) -> Image.Image:
    """Fit into a 16:9 or 9:16 black frame (a video still, a story)."""
    w, h = im.size
    ratio = 16 / 9 if w < h * 16 / 9 and rng.random() < 0.5 else 9 / 16
    if w / h > ratio:
        cw, ch = w, round(w / ratio)
    else:
        cw, ch = round(h * ratio), h
    out = Image.new("RGB", (cw, ch), "black")
    out.paste(im, ((cw - w) // 2, (ch - h) // 2))
    return out


def phone_screenshot(im: Image.Image, rng: random.Random) -> Image.Image:
    """A 1080 x 2340 phone screen: status bar, app bar, the photo at full width, a caption and
    comments below, on a white or dark theme."""
    dark = rng.random() < 0.5
    bg, fg = ((18, 18, 18), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    sw, sh = 1080, 2340
    out = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(out)
    d.text((40, 30), "9:41", fill=fg, font=_font(36))
    d.text((sw - 200, 30), "5G 87%", fill=fg, font=_font(36))
    d.ellipse((40, 120, 130, 210), fill=(rng.randrange(256), 120, 200))
    d.text((150, 145), "some_account", fill=fg, font=_font(40))
    ph = round(im.height * sw / im.width)
    y = 240
    out.paste(im.resize((sw, ph), Image.Resampling.LANCZOS), (0, y))
    y += ph + 30
    for _ in range(6):
        if y > sh - 60:
            break
        d.text((40, y), _words(rng, 6), fill=fg, font=_font(38))
        y += 70
    return out.resize((sw // 2, sh // 2), Image.Resampling.LANCZOS)


def desktop_screenshot(im: Image.Image, rng: random.Random) -> Image.Image:
    """A 1920 x 1080 desktop: a browser window with tabs and toolbar, the photo centred on grey."""
    sw, sh = 1920, 1080
    out = Image.new("RGB", (sw, sh), (40, 44, 52))
    d = ImageDraw.Draw(out)
    d.rectangle((0, 0, sw, 80), fill=(222, 225, 230))
    d.text((20, 20), "Photo - Viewer    x   +", fill=(30, 30, 30), font=_font(28))
    d.rectangle((0, 80, sw, 130), fill=(245, 245, 245))
    d.text((20, 92), "https://example.com/p/" + str(rng.randrange(10**9)), fill=(60, 60, 60), font=_font(26))
    d.rectangle((0, sh - 40, sw, sh), fill=(20, 20, 20))
    d.text((sw - 200, sh - 35), "12:34", fill=(230, 230, 230), font=_font(26))
    avail_w, avail_h = sw - 200, sh - 130 - 40 - 60
    s = min(avail_w / im.width, avail_h / im.height)
    pw, ph = round(im.width * s), round(im.height * s)
    out.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), ((sw - pw) // 2, 130 + (avail_h + 60 - ph) // 2))
    return out


def sticker(im: Image.Image, rng: random.Random, area: float | None = None) -> Image.Image:
    """An opaque sticker (a coloured rounded box with a pattern) covering 5-15% of the area."""
    out = im.copy()
    w, h = im.size
    a = area if area is not None else rng.uniform(0.05, 0.15)
    side = round((a * w * h) ** 0.5)
    x, y = rng.randrange(0, max(1, w - side)), rng.randrange(0, max(1, h - side))
    d = ImageDraw.Draw(out)
    colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    d.rounded_rectangle((x, y, x + side, y + side), radius=side // 5, fill=colour)
    d.ellipse((x + side // 4, y + side // 4, x + 3 * side // 4, y + 3 * side // 4), fill=(255, 255, 255))
    return out


def emoji(im: Image.Image, rng: random.Random) -> Image.Image:
    """A yellow smiley (about 5-10% of the area) somewhere on the picture."""
    out = im.copy()
    w, h = im.size
    side = round((rng.uniform(0.05, 0.10) * w * h) ** 0.5)
    x, y = rng.randrange(0, max(1, w - side)), rng.randrange(0, max(1, h - side))
    d = ImageDraw.Draw(out)
    d.ellipse((x, y, x + side, y + side), fill=(255, 204, 51), outline=(120, 80, 0), width=max(1, side // 30))
    e = side // 8
    d.ellipse((x + 3 * e, y + 3 * e, x + 4 * e, y + 4 * e), fill="black")
    d.ellipse((x + 5 * e - e // 2, y + 3 * e, x + 6 * e - e // 2, y + 4 * e), fill="black")
    d.arc((x + 2 * e, y + 3 * e, x + 6 * e, y + 6 * e), 20, 160, fill="black", width=max(1, e // 2))
    return out


def corner_logo(im: Image.Image, rng: random.Random) -> Image.Image:
    out = im.copy()
    w, h = im.size
    lw, lh = round(w * 0.18), round(h * 0.06)
    corner = rng.randrange(4)
    x = 10 if corner % 2 == 0 else w - lw - 10
    y = 10 if corner < 2 else h - lh - 10
    d = ImageDraw.Draw(out)
    d.rectangle((x, y, x + lw, y + lh), fill=(255, 255, 255))
    d.text(
        (x + lw // 2, y + lh // 2), "@reposter", fill=(200, 0, 80), font=_font(max(8, lh // 2)), anchor="mm"
    )
    return out


def _cover(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A busy unrelated first picture (noise blocks), so the first picture alone says nothing."""
    noise = np.random.default_rng(rng.randrange(2**32))
    small = noise.integers(0, 256, size=(size[1] // 16 + 1, size[0] // 16 + 1, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.NEAREST)


def behind_cover(fmt: str) -> Edit:
    """The photo as the second picture of an animation, after a 50 ms cover."""

    def edit(im: Image.Image, rng: random.Random) -> bytes:
        buf = io.BytesIO()
        # a copy: Pillow leaves this save's options on an appended picture, to trip the next save
        kw: dict[str, object] = {"save_all": True, "append_images": [im.copy()], "duration": [50, 4000]}
        kw["loop"] = 0
        if fmt == "WEBP":
            kw |= {"lossless": False, "quality": 90}
        _cover(im.size, rng).save(buf, format=fmt, **kw)
        return buf.getvalue()

    return edit


def tiff_page_two(im: Image.Image, rng: random.Random) -> bytes:
    buf = io.BytesIO()
    _cover(im.size, rng).save(buf, format="TIFF", save_all=True, append_images=[im.copy()])
    return buf.getvalue()


def only_picture_of_mp4(im: Image.Image, rng: random.Random, seconds: int = 4, fps: int = 25) -> bytes:
    """A 4-second H.264 MP4 showing the photo and nothing else."""
    w, h = (im.width // 2) * 2, (im.height // 2) * 2
    pixels = np.asarray(im.resize((w, h)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.mp4"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for _ in range(seconds * fps):
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path.read_bytes()


def _rand_crop(rng: random.Random, low: float, high: float) -> tuple[float, float, float, float]:
    return (rng.uniform(low, high), rng.uniform(low, high), rng.uniform(low, high), rng.uniform(low, high))


EDITS: dict[str, tuple[str, Edit]] = {
    # crops
    "crop 2% a side": ("crops", lambda im, r: crop(im, 0.02, 0.02, 0.02, 0.02)),
    "crop 5% a side": ("crops", lambda im, r: crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop 10% a side": ("crops", lambda im, r: crop(im, 0.10, 0.10, 0.10, 0.10)),
    "crop 15% a side": ("crops", lambda im, r: crop(im, 0.15, 0.15, 0.15, 0.15)),
    "crop 2-10% asymmetric": ("crops", lambda im, r: crop(im, *_rand_crop(r, 0.02, 0.10))),
    "crop 10-15% asymmetric": ("crops", lambda im, r: crop(im, *_rand_crop(r, 0.10, 0.15))),
    "crop one side 10%": ("crops", lambda im, r: crop(im, 0, 0.10, 0, 0)),
    # aspect crops
    "aspect 1:1": ("aspect crops", lambda im, r: aspect(im, 1.0)),
    "aspect 4:5 / 16:9 (feed)": ("aspect crops", feed_aspect(4 / 5, 16 / 9)),
    "aspect 9:16 / 1.91:1 (story or link)": ("aspect crops", feed_aspect(9 / 16, 1.91)),
    # aspect crops that turn a picture (a portrait cut from a landscape): 20-30% off a side
    "aspect 4:5 of any": ("turning crops", lambda im, r: aspect(im, 4 / 5)),
    "aspect 9:16 of any": ("turning crops", lambda im, r: aspect(im, 9 / 16)),
    # borders
    "border": ("borders", border),
    "letterbox": ("borders", letterbox),
    # caption bands
    "caption band top": ("caption bands", lambda im, r: caption_band(im, r, True)),
    "caption band bottom": ("caption bands", lambda im, r: caption_band(im, r, False)),
    # screenshots
    "phone screenshot": ("screenshots", phone_screenshot),
    "desktop screenshot": ("screenshots", desktop_screenshot),
    # combos
    "crop 5% + resize 50% + JPEG 70": (
        "combos",
        lambda im, r: jpeg(crop(im, *_rand_crop(r, 0.03, 0.07)).resize((im.width // 2, im.height // 2)), 70),
    ),
    "border + JPEG 60": ("combos", lambda im, r: jpeg(border(im, r), 60)),
    "phone screenshot + JPEG 80": ("combos", lambda im, r: jpeg(phone_screenshot(im, r), 80)),
    "mirror + crop 5%": (
        "combos",
        lambda im, r: crop(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), *_rand_crop(r, 0.03, 0.07)),
    ),
    "rotate 90 + crop 5%": (
        "combos",
        lambda im, r: crop(im.transpose(Image.Transpose.ROTATE_90), *_rand_crop(r, 0.03, 0.07)),
    ),
    # containers
    "GIF behind a cover": ("containers", behind_cover("GIF")),
    "APNG behind a cover": ("containers", behind_cover("PNG")),
    "animated WebP behind a cover": ("containers", behind_cover("WEBP")),
    "TIFF page 2": ("containers", tiff_page_two),
    "MP4 of the photo": ("containers", only_picture_of_mp4),
    # overlays (measured, not the goal)
    "sticker 5-15%": ("overlays", sticker),
    "emoji": ("overlays", emoji),
    "corner logo": ("overlays", corner_logo),
    "caption text": ("overlays", caption_text),
    # control: what PDQ already survives
    "resize 50% + JPEG 50": ("control", lambda im, r: jpeg(im.resize((im.width // 2, im.height // 2)), 50)),
}
