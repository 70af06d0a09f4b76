// Width and height of a photo from its first bytes, before anything is decoded, so the page
// refuses the same oversized photos as takeitdown.hashing (DEFAULT_MAX_PIXELS) and can ask the
// browser to decode straight at the size PDQ works at. Also the EXIF orientation of a JPEG
// (5-8 turn it a quarter, swapping width and height). null when the header does not say.

function u16(b, at, little) {
  return little ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
}

function u32(b, at, little) {
  return little
    ? (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0
    : ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function exifOrientation(b, start, end) {
  // "Exif\0\0", then a TIFF header and IFD0; tag 0x0112 is the orientation.
  if (end - start < 14 || String.fromCharCode(...b.subarray(start, start + 4)) !== "Exif") return 1;
  const tiff = start + 6;
  const little = b[tiff] === 0x49;
  const ifd = tiff + u32(b, tiff + 4, little);
  if (ifd + 2 > end) return 1;
  const count = u16(b, ifd, little);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > end) break;
    if (u16(b, e, little) === 0x0112) return u16(b, e + 8, little) || 1;
  }
  return 1;
}

function jpegSize(b) {
  let orientation = 1;
  for (let at = 2; at + 9 < b.length; ) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    const len = u16(b, at + 2, false);
    if (marker === 0xe1) orientation = Math.max(orientation, exifOrientation(b, at + 4, Math.min(b.length, at + 2 + len)));
    // Start of frame (not DHT 0xC4, JPG 0xC8, DAC 0xCC): height, then width.
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { width: u16(b, at + 7, false), height: u16(b, at + 5, false), orientation };
    }
    if (marker === 0xda) return null; // image data before any frame header
    at += 2 + len;
  }
  return null;
}

/** {width, height, orientation} from the first bytes (64 KiB is plenty), or null. */
export function imageSize(b) {
  const ascii = (a, z) => String.fromCharCode(...b.subarray(a, z));
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  if (b.length >= 24 && ascii(1, 4) === "PNG" && ascii(12, 16) === "IHDR") {
    return { width: u32(b, 16, false), height: u32(b, 20, false), orientation: 1 };
  }
  if (b.length >= 10 && ascii(0, 3) === "GIF") return { width: u16(b, 6, true), height: u16(b, 8, true), orientation: 1 };
  if (b.length >= 30 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") {
    const chunk = ascii(12, 16);
    if (chunk === "VP8X") {
      const w = 1 + (b[24] | (b[25] << 8) | (b[26] << 16));
      const h = 1 + (b[27] | (b[28] << 8) | (b[29] << 16));
      return { width: w, height: h, orientation: 1 };
    }
    if (chunk === "VP8 ") return { width: u16(b, 26, true) & 0x3fff, height: u16(b, 28, true) & 0x3fff, orientation: 1 };
    if (chunk === "VP8L") {
      const bits = u32(b, 21, true);
      return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1, orientation: 1 };
    }
  }
  if (b.length >= 26 && ascii(0, 2) === "BM") {
    const h = u32(b, 22, true) | 0;
    return { width: u32(b, 18, true) | 0, height: Math.abs(h), orientation: 1 };
  }
  return null;
}
