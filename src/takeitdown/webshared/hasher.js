// Main-thread side of the hasher: hands files to the worker, and for videos takes one frame a
// second and passes each to the worker for PDQ: decoded forward once with WebCodecs where it can
// (videoforward.js, MP4/MOV), else by seeking a <video> element. Nothing here touches the network.

export const MAX_VIDEO_SECONDS = 600; // 10 minutes: longer videos take too long on a phone
export { MAX_PIXELS } from "./worksize.js";

export class HashError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

import { workSize } from "./worksize.js";
import { imageWireHashes } from "./pictures.js";
let worker = null;
let pageDraws = false; // set when the worker cannot draw (no OffscreenCanvas there)
let nextId = 1;
const pending = new Map();

function getWorker() {
  if (!worker) {
    worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (event) => {
      const job = pending.get(event.data.id);
      if (job) job(event.data);
    };
  }
  return worker;
}

function ask(message, transfer, onProgress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, (msg) => {
      if (msg.type === "progress") {
        if (onProgress) onProgress(msg.done / msg.total);
        return;
      }
      pending.delete(id);
      if (msg.type === "error") reject(new HashError(msg.code));
      else resolve(msg);
    });
    getWorker().postMessage({ id, ...message }, transfer || []);
  });
}

/** Start the worker and its modules before the first file is picked (a phone takes a moment). */
export function warmUp() {
  ask({ op: "warm" }).catch(() => {});
}

/** Resolves on event `ok`, rejects on `fail` or after `ms` (a stalled decoder must not hang). */
function once(target, ok, fail, ms = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(reject)(new Error("timeout")), ms);
    const finish = (fn) => (ev) => {
      clearTimeout(timer);
      target.removeEventListener(ok, onOk);
      target.removeEventListener(fail, onFail);
      fn(ev);
    };
    const onOk = finish(resolve);
    const onFail = finish(reject);
    target.addEventListener(ok, onOk);
    target.addEventListener(fail, onFail);
  });
}

/** PDQ of an image source drawn by the page (shrunk as in worker.js), hashed in the worker;
 * a photo's comes with its window hashes (`windows`). */
async function pdqDrawnOnPage(source, width, height, video) {
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = workSize(width, height, video);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const out = await ask({ op: "pixels", data, width: canvas.width, height: canvas.height, photo: !video }, [data.buffer]);
  return { pdq: out.pdq, quality: out.quality, windows: out.windows, canvas };
}

/** Decode a photo on the page (for workers that cannot): ImageBitmap, else an <img>. */
async function decodeOnPage(file, heic) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none" });
  } catch {
    // Safari can show HEIC in <img> even where createImageBitmap refuses it.
    const url = URL.createObjectURL(file);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return img;
    } catch {
      throw new HashError(heic ? "heic" : "undecodable");
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}

/** {fps, frames} of an MP4/MOV's first video track (from its sample table), or null. */
export async function mp4VideoInfo(file) {
  try {
    // Find the top-level "moov" box by reading only box headers (it may sit at the end).
    let moov = null;
    for (let at = 0; at + 8 <= file.size; ) {
      const h = new DataView(await file.slice(at, at + 16).arrayBuffer());
      let size = h.getUint32(0);
      if (size === 1 && h.byteLength >= 16) size = Number(h.getBigUint64(8));
      else if (size === 0) size = file.size - at;
      if (size < 8) return null;
      const name = String.fromCharCode(h.getUint8(4), h.getUint8(5), h.getUint8(6), h.getUint8(7));
      if (name === "moov") {
        if (size > 64 * 1024 * 1024) return null;
        moov = new DataView(await file.slice(at, at + size).arrayBuffer());
        break;
      }
      at += size;
    }
    if (!moov) return null;
    const type = (at) => String.fromCharCode(moov.getUint8(at + 4), moov.getUint8(at + 5), moov.getUint8(at + 6), moov.getUint8(at + 7));
    const children = (start, end) => {
      const out = [];
      for (let at = start; at + 8 <= end; ) {
        const size = moov.getUint32(at);
        if (size < 8 || at + size > end) break;
        out.push({ name: type(at), body: at + 8, end: at + size });
        at += size;
      }
      return out;
    };
    const find = (box, path) => {
      let cur = box;
      for (const name of path) {
        cur = children(cur.body, cur.end).find((c) => c.name === name);
        if (!cur) return null;
      }
      return cur;
    };
    for (const trak of children(8, moov.byteLength).filter((c) => c.name === "trak")) {
      const hdlr = find(trak, ["mdia", "hdlr"]);
      if (!hdlr || type(hdlr.body + 4) !== "vide") continue;
      const mdhd = find(trak, ["mdia", "mdhd"]);
      const stts = find(trak, ["mdia", "minf", "stbl", "stts"]);
      if (!mdhd || !stts) return null;
      const timescale = moov.getUint32(mdhd.body + (moov.getUint8(mdhd.body) === 1 ? 20 : 12));
      const entries = moov.getUint32(stts.body + 4);
      let samples = 0;
      let ticks = 0;
      for (let e = 0; e < entries; e++) {
        const count = moov.getUint32(stts.body + 8 + e * 8);
        samples += count;
        ticks += count * moov.getUint32(stts.body + 12 + e * 8);
      }
      return samples && ticks && timescale ? { fps: (samples * timescale) / ticks, frames: samples } : null;
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * vPDQ frames {i, t, q, pdq} of a video, one frame a second, and how they were decoded:
 * {frames, decoded: "forward" | "seek"}. Forward (one pass of WebCodecs' VideoDecoder over an
 * MP4/MOV) costs the same whatever the key frame spacing; anything it cannot do is seeked.
 */
async function videoFrames(file, onProgress, onThumb) {
  if (typeof VideoDecoder !== "undefined") {
    let thumbTaken = false;
    const hash = async (frame, pick) => {
      if (onThumb && !thumbTaken) {
        thumbTaken = true;
        thumbnail(frame, frame.displayWidth, frame.displayHeight, onThumb);
      }
      const out = await ask({ op: "vframe", frame }, [frame]);
      if (out.fallback) throw new Error("not 8-bit YUV"); // the seeking path draws such frames
      return { q: out.quality, pdq: out.pdq };
    };
    try {
      const { decodeForward } = await import("./videoforward.js");
      const frames = await decodeForward(file, { maxSeconds: MAX_VIDEO_SECONDS, hash, onProgress });
      return { frames, decoded: "forward" };
    } catch (err) {
      if (err && err.code === "video-too-long") throw new HashError("video-too-long");
      // Anything else (a codec this browser lacks, a rotated video, an odd file): seek instead.
    }
  }
  return { frames: await seekFrames(file, onProgress, onThumb), decoded: "seek" };
}

/** vPDQ frames {i, t, q, pdq} of a video, one frame a second, by seeking a <video>. */
async function seekFrames(file, onProgress, onThumb) {
  const url = URL.createObjectURL(file);
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  try {
    video.src = url;
    try {
      await once(video, "loadedmetadata", "error");
    } catch {
      throw new HashError("video-undecodable");
    }
    const duration = video.duration;
    if (!Number.isFinite(duration) || duration <= 0 || !video.videoWidth) {
      throw new HashError("video-undecodable");
    }
    if (duration > MAX_VIDEO_SECONDS) throw new HashError("video-too-long");
    // Frame rate and count from the container, so frame indexes match other vPDQ tools;
    // other containers (WebM) fall back to 30 fps and the element's duration.
    const info = await mp4VideoInfo(file);
    const fps = info ? info.fps : 30;
    const total = info ? info.frames : Math.floor(duration * fps);
    const frames = [];
    const count = Math.ceil(total / fps);
    let last = -1;
    // Luma from the decoded Y plane where the browser has WebCodecs (see videoluma.js).
    let lumaFrames = typeof VideoFrame !== "undefined";
    const timing = { aligned: true };
    for (let second = 0; second < count; second++) {
      // The first frame shown at or after each whole second, as the Python hasher picks.
      const index = Math.max(0, Math.ceil((second - 1e-3) * fps));
      if (index >= total) break;
      if (index <= last) continue;
      last = index;
      const t = index / fps;
      // Aim at the middle of the frame's display interval so rounding cannot pick its neighbour.
      video.currentTime = Math.min(t + 0.5 / fps, duration);
      try {
        await once(video, "seeked", "error");
      } catch {
        throw new HashError("video-undecodable");
      }
      if (onThumb && !frames.length) thumbnail(video, video.videoWidth, video.videoHeight, onThumb);
      let frame = null;
      if (lumaFrames) {
        const vf = await currentVideoFrame(video, t, 0.5 / fps, timing);
        if (vf) {
          frame = await ask({ op: "vframe", frame: vf }, [vf]).catch(() => null);
          if (frame && frame.fallback) {
            frame = null;
            lumaFrames = false; // not 8-bit YUV, or rotated: draw this video's frames
          }
        }
      }
      if (!frame && !pageDraws) {
        try {
          const bitmap = await createImageBitmap(video);
          frame = await ask({ op: "frame", bitmap, t }, [bitmap]);
        } catch (err) {
          if (err.code !== "no-canvas") throw err;
          pageDraws = true;
        }
      }
      if (!frame) frame = await pdqDrawnOnPage(video, video.videoWidth, video.videoHeight, true);
      frames.push({ i: index, t: Math.round(t * 1000) / 1000, q: frame.quality, pdq: frame.pdq });
      if (onProgress) onProgress((second + 1) / count);
    }
    if (!frames.length) throw new HashError("video-undecodable");
    return frames;
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}

/**
 * The frame on show as a WebCodecs VideoFrame, or null. Just after `seeked` a busy machine may
 * still show the frame from before the seek (a whole other picture in the hash), so the frame's
 * own timestamp must be the one sought, within `tolerance` seconds; `check.aligned` turns false
 * for a video whose timestamps never line up (a guessed frame rate), which is then taken as shown.
 */
async function currentVideoFrame(video, t, tolerance, check) {
  let last = null;
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      last = new VideoFrame(video);
    } catch {
      last = null;
    }
    if (last && (!check.aligned || Math.abs(last.timestamp / 1e6 - t) <= tolerance)) return last;
    if (last && attempt < 5) last.close();
    await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
  }
  check.aligned = false;
  return last;
}

/** A small still of a frame (a <video> or a VideoFrame), for the list (the page shows it, nothing else). */
function thumbnail(source, width, height, onThumb) {
  const scale = 160 / Math.max(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => blob && onThumb(blob), "image/jpeg", 0.8);
}

/**
 * Hash one picked file. Resolves to
 *   {kind: "image", md5, pdq, quality, windows, pictures} or {kind: "video", md5, frames, decoded}
 * (`pdq`, `quality` and `windows`, the pdq80 and pdq70 window hashes, are the first picture's;
 * `pictures` holds every distinct picture of an animation, each {pdq, quality, windows}, or the
 * one picture of a photo; `decoded`, "forward" or "seek", says how a video's frames were found,
 * and is not sent).
 * `onProgress(stage, fraction)` reports "reading" (MD5) then "frames" (videos);
 * `onThumb(blob)` gets a small still: the photo, or a video's first frame; `onKind(kind)` is
 * told "image" or "video" once the first bytes are read.
 */
export async function hashFile(file, onProgress, onThumb, onKind) {
  const base = await ask({ op: "file", file }, [], (f) => onProgress && onProgress("reading", f));
  if (onKind) onKind(base.kind === "video" ? "video" : "image");
  if (base.kind !== "video" && base.decodeOnPage) {
    const source = await decodeOnPage(file, base.heic);
    const width = source.naturalWidth || source.width;
    const height = source.naturalHeight || source.height;
    const { pdq, quality, windows, canvas } = await pdqDrawnOnPage(source, width, height, false);
    if (source.close) source.close();
    if (onThumb) canvas.toBlob((blob) => blob && onThumb(blob), "image/jpeg", 0.8);
    return { kind: "image", md5: base.md5, pdq, quality, windows, pictures: [{ pdq, quality, windows }] };
  }
  if (base.kind !== "video") {
    if (base.thumb && onThumb) onThumb(base.thumb);
    const { md5, pdq, quality, windows, pictures } = base;
    return { kind: "image", md5, pdq, quality, windows, pictures };
  }
  const { frames, decoded } = await videoFrames(file, (f) => onProgress && onProgress("frames", f), onThumb);
  return { kind: "video", md5: base.md5, frames, decoded };
}

/** The wire items of DESIGN.md for one hashed file (no name, no size, nothing else): a photo's
 * PDQ, MD5 and window hashes, and the other pictures of an animation, as `takeitdown hash --wire`
 * sends them. */
export function wireItem(result) {
  if (result.kind === "image") return { kind: "image", hashes: imageWireHashes(result) };
  return {
    kind: "video",
    hashes: [
      { type: "vpdq", frames: result.frames },
      { type: "md5", value: result.md5 },
    ],
  };
}
