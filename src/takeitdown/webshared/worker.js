// The hashing worker: reads the picked file on the device, never sends it anywhere.
// Messages in:  {id, op: "warm"}                  -> load what hashing needs, ahead of the first file
//               {id, op: "file", file}            -> md5 (streamed), kind sniffing, image PDQ and
//                                                    windows, every picture of an animation
//               {id, op: "frame", bitmap, t}      -> PDQ of one video frame
//               {id, op: "vframe", frame}         -> PDQ of a VideoFrame's Y plane, or {fallback}
//               {id, op: "pixels", data, width, height, photo} -> PDQ of RGBA pixels the page
//                                                    drew (and the windows, for a photo)
// Browsers without OffscreenCanvas in workers (Safari before 16.4) get {decodeOnPage: true} or
// the error "no-canvas": the page then draws the pixels itself and sends them here.
// Messages out: {id, type: "progress", done, total} | {id, type: "result", ...} | {id, type: "error", code}
import "./vendor/hash-wasm/md5.umd.min.js";
import { pdqFromLuma, pdqFromRGBA, photoHashesFromRGBA } from "./pdq.js";
import {
  MAX_FRAMES,
  MAX_SUBMITTED_STILLS,
  MAX_TOTAL_PIXELS,
  SAME_FRAME_DISTANCE,
  animatedType,
  hexDistance,
  pictureOf,
} from "./pictures.js";
import { lumaOfVideoFrame } from "./videoluma.js";
import { imageSize } from "./imagesize.js";
import { MAX_PIXELS, VIDEO_WORK_SIZE, workSize } from "./worksize.js";

const { createMD5 } = globalThis.hashwasm;
const CHUNK = 4 * 1024 * 1024;
const HEAD = 64 * 1024;
const CAN_DRAW = typeof OffscreenCanvas !== "undefined";

// The table of takeitdown.hashing.media.sniff, kept the same (tests/vectors/media.json holds the
// cases both are tested on). ISO base media brands that are still images; the rest are video.
const IMAGE_BRANDS = ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"];
// QuickTime files may start with another top-level atom instead of ftyp.
const QT_ATOMS = ["moov", "mdat", "free", "wide", "skip", "pnot"];

/** What the first bytes say the file is, whatever its name or type claims. */
export function sniff(head) {
  const ascii = (a, b) => String.fromCharCode(...head.subarray(a, b));
  const starts = (...bytes) => head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
  if (starts(0xff, 0xd8, 0xff)) return "jpeg";
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (["GIF87a", "GIF89a"].includes(ascii(0, 6)) || ascii(0, 2) === "BM") return "image";
  if (ascii(0, 4) === "II*\0" || ascii(0, 4) === "MM\0*") return "image";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "AVI ") return "video";
  if (starts(0x1a, 0x45, 0xdf, 0xa3)) return "video"; // Matroska / WebM (EBML)
  if (ascii(4, 8) === "ftyp") {
    const brand = ascii(8, 12);
    if (IMAGE_BRANDS.includes(brand)) return brand.startsWith("avi") ? "image" : "heic";
    return "video";
  }
  if (QT_ATOMS.includes(ascii(4, 8))) return "video";
  // MPEG-TS: a sync byte every 188 bytes.
  if (head.length > 376 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return "video";
  return "unknown";
}

async function md5OfFile(id, file) {
  const md5 = await createMD5();
  md5.init();
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer());
    md5.update(chunk);
    postMessage({ id, type: "progress", done: Math.min(offset + CHUNK, file.size), total: file.size });
  }
  return md5.digest("hex");
}

/** RGBA pixels of an image source (a bitmap, a VideoFrame) drawn shrunk to PDQ's work size. */
function drawn(source, w0, h0, video) {
  const [w, h] = workSize(w0, h0, video);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, w, h);
  return { canvas, data: ctx.getImageData(0, 0, w, h).data, w, h };
}

/** Draw the bitmap (shrunk if big) and hash its pixels: a video frame's PDQ, or a photo's
 * {pdq, quality, windows} (its two centred window hashes from the same pixels). */
function pdqOfBitmap(bitmap, video = false) {
  const { data, w, h } = drawn(bitmap, bitmap.width, bitmap.height, video);
  const size = { width: bitmap.width, height: bitmap.height };
  if (!video) return { ...pictureOf(photoHashesFromRGBA(data, w, h)), ...size };
  const { hex, quality } = pdqFromRGBA(data, w, h);
  return { pdq: hex, quality, ...size };
}

/**
 * Every distinct picture of an animated GIF, WebP or APNG (takeitdown.hashing.frames), decoded
 * frame by frame with WebCodecs' ImageDecoder, composited as a viewer shows them: {pictures,
 * thumb}, the first picture first, at most MAX_SUBMITTED_STILLS of them (the rest are not sent).
 * null when the file holds one picture, or the browser cannot decode it so (the single-picture
 * path then takes it). A frame that fails after the first ends the list, as in frames.py.
 */
async function animationPictures(file, type) {
  if (typeof ImageDecoder === "undefined") return null;
  let decoder;
  try {
    decoder = new ImageDecoder({
      data: await file.arrayBuffer(),
      type,
      colorSpaceConversion: "none", // the stored pixel values, as for a photo
      premultiplyAlpha: "none",
    });
    await decoder.tracks.ready;
    await decoder.completed; // the whole file is read: the frame count is final
    const track = decoder.tracks.selectedTrack;
    if (!track || track.frameCount <= 1) return null;
    const pictures = [];
    let thumb = null;
    let budget = MAX_TOTAL_PIXELS;
    const count = Math.min(track.frameCount, MAX_FRAMES);
    for (let index = 0; index < count && pictures.length < MAX_SUBMITTED_STILLS; index++) {
      let frame;
      try {
        frame = (await decoder.decode({ frameIndex: index })).image;
      } catch {
        if (index === 0) return null;
        break;
      }
      try {
        const [w0, h0] = [frame.displayWidth, frame.displayHeight];
        budget -= w0 * h0;
        if (w0 * h0 > MAX_PIXELS || budget < 0) break;
        const { canvas, data, w, h } = drawn(frame, w0, h0, false);
        const hashes = photoHashesFromRGBA(data, w, h);
        if (pictures.some((p) => hexDistance(p.pdq, hashes.hex) <= SAME_FRAME_DISTANCE)) continue;
        pictures.push(pictureOf(hashes));
        if (index === 0) thumb = await thumbnail(canvas).catch(() => null);
      } finally {
        frame.close();
      }
    }
    return pictures.length ? { pictures, thumb } : null;
  } catch {
    return null; // a type this browser's ImageDecoder lacks, or a file it refuses
  } finally {
    if (decoder) decoder.close();
  }
}

/** A small JPEG of the photo for the page's list, so the page never decodes the full photo. */
async function thumbnail(bitmap) {
  const scale = Math.min(1, 160 / Math.max(bitmap.width, bitmap.height));
  const canvas = new OffscreenCanvas(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas.convertToBlob({ type: "image/jpeg", quality: 0.8 });
}

const fail = (code) => Object.assign(new Error(code), { code });

/** True when the file ends as a whole JPEG or PNG does (the CLI refuses a cut-off one too). */
async function complete(file, sniffed) {
  if (sniffed !== "jpeg" && sniffed !== "png") return true;
  const tail = new Uint8Array(await file.slice(Math.max(0, file.size - HEAD)).arrayBuffer());
  if (sniffed === "png") return String.fromCharCode(...tail.subarray(-12)).includes("IEND");
  // JPEG: an end-of-image marker (FF D9) after the scan data; data after it is allowed.
  for (let i = tail.length - 2; i >= Math.max(0, tail.length - HEAD); i--) {
    if (tail[i] === 0xff && tail[i + 1] === 0xd9) return true;
  }
  return false;
}

async function hashFile(id, file) {
  if (file.size === 0) throw fail("empty");
  const head = new Uint8Array(await file.slice(0, HEAD).arrayBuffer());
  const sniffed = sniff(head);
  // The kind comes from the first bytes only, never from the name or the browser's type.
  if (sniffed === "unknown") throw fail("unknown");
  const kind = sniffed === "video" ? "video" : sniffed === "heic" ? "heic" : "image";
  const size = kind === "image" ? imageSize(head) : null;
  if (size && size.width * size.height > MAX_PIXELS) throw fail("too-big");
  if (size && (size.width < 1 || size.height < 1)) throw fail("undecodable");
  const md5 = await md5OfFile(id, file);
  if (kind === "video") return { kind, md5 };
  if (!(await complete(file, sniffed))) throw fail("undecodable");
  if (!CAN_DRAW) return { kind: "image", md5, decodeOnPage: true, heic: kind === "heic" };
  const type = animatedType(head);
  const animation = type ? await animationPictures(file, type) : null;
  if (animation) {
    const { pictures, thumb } = animation;
    return { kind: "image", md5, ...pictures[0], pictures, thumb };
  }
  let bitmap;
  try {
    // colorSpaceConversion "none": hash the stored pixel values, as the Python decoder does.
    // Decoded straight at the size PDQ works at (as Pillow's draft mode does for JPEG), so a
    // 12 MP photo never becomes 12 million pixels to draw and read back.
    const options = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };
    if (size) {
      const turned = size.orientation >= 5 && size.orientation <= 8;
      const [w, h] = turned ? [size.height, size.width] : [size.width, size.height];
      const [rw, rh] = workSize(w, h, false);
      if (rw !== w || rh !== h) Object.assign(options, { resizeWidth: rw, resizeHeight: rh, resizeQuality: "medium" });
    }
    bitmap = await createImageBitmap(file, options);
  } catch {
    throw fail(kind === "heic" ? "heic" : "undecodable");
  }
  try {
    const { pdq, quality, windows } = pdqOfBitmap(bitmap);
    const pictures = [{ pdq, quality, windows }];
    return { kind: "image", md5, pdq, quality, windows, pictures, thumb: await thumbnail(bitmap).catch(() => null) };
  } finally {
    bitmap.close();
  }
}

self.onmessage = async (event) => {
  const { id, op } = event.data;
  try {
    if (op === "warm") {
      // Load the MD5 module now, while the person reads and picks, not on the first file.
      await createMD5();
      postMessage({ id, type: "result" });
    } else if (op === "file") {
      postMessage({ id, type: "result", ...(await hashFile(id, event.data.file)) });
    } else if (op === "vframe") {
      const { frame } = event.data;
      try {
        const got = await lumaOfVideoFrame(frame, VIDEO_WORK_SIZE);
        if (!got) {
          postMessage({ id, type: "result", fallback: true });
        } else {
          const { hex, quality } = pdqFromLuma(got.luma, got.width, got.height);
          postMessage({ id, type: "result", pdq: hex, quality });
        }
      } finally {
        frame.close();
      }
    } else if (op === "pixels") {
      const { data, width, height, photo } = event.data;
      if (photo) {
        postMessage({ id, type: "result", ...pictureOf(photoHashesFromRGBA(data, width, height)) });
      } else {
        const { hex, quality } = pdqFromRGBA(data, width, height);
        postMessage({ id, type: "result", pdq: hex, quality });
      }
    } else if (op === "frame") {
      const { bitmap, t } = event.data;
      if (!CAN_DRAW) {
        bitmap.close();
        throw Object.assign(new Error("no OffscreenCanvas"), { code: "no-canvas" });
      }
      try {
        postMessage({ id, type: "frame", t, ...pdqOfBitmap(bitmap, true) });
      } finally {
        bitmap.close();
      }
    }
  } catch (err) {
    // Only our own string codes; a DOMException's numeric code means nothing to the page.
    postMessage({ id, type: "error", code: typeof err.code === "string" ? err.code : "failed" });
  }
};
