// Every picture of a multi-picture image file, as takeitdown.hashing.frames takes them: the
// frames of an animated GIF, WebP or APNG, each hashed as a photo with its two windows, identical
// frames once. The caps and the "same picture" rule are frames.py's (tests/web check they agree).

export const MAX_FRAMES = 64; // frames looked at per file
export const MAX_TOTAL_PIXELS = 400_000_000; // decoded pixels over all frames of one file
export const SAME_FRAME_DISTANCE = 8; // frames this close are one picture
// A case item carries at most 20 hashes (protocol.MAX_HASHES_PER_ITEM): the MD5 and three a
// picture (PDQ, pdq80, pdq70), so at most six pictures of one file are sent.
export const MAX_SUBMITTED_STILLS = 6;

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, n) => {
  let c = 0;
  for (let x = n; x; x >>= 1) c += x & 1;
  return c;
});

/** Bits that differ between two PDQ hashes (64 hex chars each). */
export function hexDistance(a, b) {
  let d = 0;
  for (let i = 0; i < 64; i += 2) d += POPCOUNT[parseInt(a.slice(i, i + 2), 16) ^ parseInt(b.slice(i, i + 2), 16)];
  return d;
}

/**
 * The ImageDecoder type of a file that may hold several pictures, from its first bytes, or null:
 * any GIF (only decoding tells how many frames it has), a WebP whose VP8X header says it is
 * animated, a PNG with an animation control chunk (acTL) before its image data (APNG).
 * Multi-page TIFF is not here: Chromium and Firefox decode no TIFF at all.
 */
export function animatedType(head) {
  const ascii = (a, z) => String.fromCharCode(...head.subarray(a, z));
  if (ascii(0, 4) === "GIF8") return "image/gif";
  if (head.length >= 21 && ascii(0, 4) === "RIFF" && ascii(8, 16) === "WEBPVP8X") {
    return head[20] & 0x02 ? "image/webp" : null;
  }
  if (head.length >= 16 && head[0] === 0x89 && ascii(1, 4) === "PNG") {
    for (let at = 8; at + 8 <= head.length; ) {
      const size = ((head[at] << 24) | (head[at + 1] << 16) | (head[at + 2] << 8) | head[at + 3]) >>> 0;
      const type = ascii(at + 4, at + 8);
      if (type === "acTL") return "image/png";
      if (type === "IDAT" || type === "IEND") return null;
      at += 12 + size;
    }
  }
  return null;
}

/** One picture's hashes as photoHashesFromRGBA gives them, in the form the page keeps. */
export function pictureOf(hashes) {
  return {
    pdq: hashes.hex,
    quality: hashes.quality,
    windows: hashes.windows.map((w) => ({ type: `pdq${w.percent}`, value: w.hex, quality: w.quality })),
  };
}

/**
 * The wire hashes of an image, as takeitdown.hashing.files.ImageHashes.wire_hashes makes them:
 * PDQ and MD5 of the first picture, then each picture's PDQ and windows (the first picture's PDQ
 * is not repeated), for at most MAX_SUBMITTED_STILLS pictures.
 */
export function imageWireHashes(result) {
  const first = { type: "pdq", value: result.pdq, quality: result.quality };
  const out = [first, { type: "md5", value: result.md5 }];
  const pictures = result.pictures || [{ pdq: result.pdq, quality: result.quality, windows: result.windows || [] }];
  for (const p of pictures.slice(0, MAX_SUBMITTED_STILLS)) {
    const own = [{ type: "pdq", value: p.pdq, quality: p.quality }, ...p.windows];
    out.push(...own.filter((h) => !(h.type === "pdq" && h.value === first.value && h.quality === first.quality)));
  }
  return out;
}
