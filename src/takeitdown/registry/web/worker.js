// The hashing worker: reads the picked file on the device, never sends it anywhere.
// Messages in:  {id, op: "file", file}            -> md5 (streamed), kind sniffing, image PDQ
//               {id, op: "frame", bitmap, t}      -> PDQ of one video frame
//               {id, op: "vframe", frame}         -> PDQ of a VideoFrame's Y plane, or {fallback}
//               {id, op: "pixels", data, width, height} -> PDQ of RGBA pixels the page drew
// Browsers without OffscreenCanvas in workers (Safari before 16.4) get {decodeOnPage: true} or
// the error "no-canvas": the page then draws the pixels itself and sends them here.
// Messages out: {id, type: "progress", done, total} | {id, type: "result", ...} | {id, type: "error", code}
import "./vendor/hash-wasm/md5.umd.min.js";
import { pdqFromLuma, pdqFromRGBA } from "./pdq.js";
import { lumaOfVideoFrame } from "./videoluma.js";
import { VIDEO_WORK_SIZE, workSize } from "./worksize.js";

const { createMD5 } = globalThis.hashwasm;
const CHUNK = 4 * 1024 * 1024;
const CAN_DRAW = typeof OffscreenCanvas !== "undefined";

/** What the first bytes say the file is, whatever its name or type claims. */
function sniff(head) {
  const ascii = (a, b) => String.fromCharCode(...head.subarray(a, b));
  if (head.length >= 12 && ascii(4, 8) === "ftyp") {
    const brand = ascii(8, 12);
    if (["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"].includes(brand)) {
      return brand.startsWith("avi") ? "image" : "heic";
    }
    return "video";
  }
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return "video"; // Matroska / WebM
  }
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image";
  if (head.length >= 8 && ascii(1, 4) === "PNG") return "image";
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image";
  if (head.length >= 6 && ascii(0, 3) === "GIF") return "image";
  if (head.length >= 2 && ascii(0, 2) === "BM") return "image";
  if (head.length >= 4 && (ascii(0, 4) === "II*\0" || ascii(0, 4) === "MM\0*")) return "image";
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

/** Draw the bitmap (shrunk if big) and hash its pixels. */
function pdqOfBitmap(bitmap, video = false) {
  const w0 = bitmap.width;
  const h0 = bitmap.height;
  const [w, h] = workSize(w0, h0, video);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, w, h);
  const { data } = ctx.getImageData(0, 0, w, h);
  const { hex, quality } = pdqFromRGBA(data, w, h);
  return { pdq: hex, quality, width: w0, height: h0 };
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

async function hashFile(id, file) {
  if (file.size === 0) throw Object.assign(new Error("empty"), { code: "empty" });
  const head = new Uint8Array(await file.slice(0, 32).arrayBuffer());
  const sniffed = sniff(head);
  const kind = sniffed === "heic" ? "heic" : file.type.startsWith("video/") || sniffed === "video" ? "video" : "image";
  const md5 = await md5OfFile(id, file);
  if (kind === "video") return { kind, md5 };
  if (!CAN_DRAW) return { kind: "image", md5, decodeOnPage: true, heic: kind === "heic" };
  let bitmap;
  try {
    // colorSpaceConversion "none": hash the stored pixel values, as the Python decoder does.
    bitmap = await createImageBitmap(file, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch {
    throw Object.assign(new Error("undecodable"), { code: kind === "heic" ? "heic" : "undecodable" });
  }
  try {
    const hashes = pdqOfBitmap(bitmap);
    return { kind: "image", md5, ...hashes, thumb: await thumbnail(bitmap).catch(() => null) };
  } finally {
    bitmap.close();
  }
}

self.onmessage = async (event) => {
  const { id, op } = event.data;
  try {
    if (op === "file") {
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
      const { data, width, height } = event.data;
      const { hex, quality } = pdqFromRGBA(data, width, height);
      postMessage({ id, type: "result", pdq: hex, quality });
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
