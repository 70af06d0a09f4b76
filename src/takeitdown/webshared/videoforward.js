// vPDQ frames of an MP4/MOV by decoding its video track forward once with WebCodecs.
//
// Why: seeking a <video> once a second decodes from the previous key frame at every seek, so a
// video with a key frame every 8 s cost the page 3.6 times one with a key frame every second.
// Here every sample is decoded once, in order. The sample table (read by mp4box, vendored in
// vendor/mp4box/ and loaded only when a video is hashed) gives each sample's bytes, key flag and
// presentation time, so the frames to hash are chosen up front exactly as the Python hasher
// chooses them (takeitdown/hashing/video.py: in presentation order, the first frame at or after
// each whole second; its index is its place in that order), and each decoded frame is known by
// its timestamp whatever order the decoder gives them in (B-frames).
//
// For H.264, only what the picked frames need is decoded, which leaves their pixels exactly as
// a full decode gives them: a group of pictures (a key frame and the samples up to the next) is
// fed only up to its last picked frame in decode order (nothing earlier depends on what comes
// later), and samples no other frame refers to (nal_ref_idc 0, what FFmpeg's
// skip_frame=NONREF drops) are not fed unless picked. A group is cut short only when the next
// key frame is an IDR picture with no frame shown before it: after an IDR nothing refers back,
// and frame numbering starts again (a cut before an open group's I frame leaves a gap in
// frame_num that Chromium's decoder rejects). Key frames every second, as phones record, then
// cost about one decoded frame a second; sparse ones still cost the reference frames, about
// half of x264's output. Other codecs are decoded whole.
//
// Anything unusual (no WebCodecs, a codec the decoder refuses, a rotated or fragmented file,
// several sample descriptions, a frame the worker cannot read) throws NotForward: the caller
// then seeks a <video> as before. Nothing here touches the network.

const READ = 1024 * 1024; // bytes of box headers / moov read at a time
const MAX_MOOV_READ = 64 * 1024 * 1024; // as mp4VideoInfo: a bigger header is not a phone video
const WINDOW = 4 * 1024 * 1024; // sample data read from the file at a time
const MAX_QUEUE = 8; // chunks waiting in the decoder (its memory stays bounded)
const MAX_HASHING = 2; // decoded frames handed on and not yet hashed
// Files that start as MP4/MOV do (worker.js `sniff`): "ftyp", or a QuickTime top-level atom.
const MP4_ATOMS = ["ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"];

/** The video cannot be decoded forward here; seek instead. */
export class NotForward extends Error {}

/**
 * The frames to hash, from every sample's composition time: a Map from that time to
 * {i, t}, as takeitdown.hashing.video picks them (the first frame at or after each multiple of
 * `secondsPerHash`, with its 1 ms slack; `i` counts frames in presentation order).
 */
export function pickFrames(times, timescale, secondsPerHash = 1) {
  const order = [...times].sort((a, b) => a - b);
  const start = order[0];
  const picked = new Map();
  let next = 0;
  order.forEach((time, i) => {
    const t = (time - start) / timescale;
    if (t + 1e-3 < next) return;
    picked.set(time, { i, t });
    while (next <= t + 1e-3) next += secondsPerHash;
  });
  return picked;
}

/**
 * How far into its group of pictures each sample must be decoded: `feedTo[n]` is the last
 * sample index (decode order) of n's group that is fed, or -1 to skip the group. `picked` has
 * the picked samples' indexes; `restarts` the key samples that are IDR pictures (a group may be
 * cut short only before one of them, or at the end).
 */
export function feedLimits(samples, picked, restarts) {
  const keys = [];
  samples.forEach((s, n) => s.is_sync && keys.push(n));
  const feedTo = new Array(samples.length).fill(-1);
  keys.forEach((a, k) => {
    const b = k + 1 < keys.length ? keys[k + 1] : samples.length;
    const c = k + 2 < keys.length ? keys[k + 2] : samples.length;
    let last = -1;
    for (let n = a; n < b; n++) if (picked.has(n)) last = n;
    // The next group is closed when it starts afresh and none of its frames is shown before its key.
    let closed = restarts.has(b);
    for (let n = b + 1; n < c && closed; n++) if (samples[n].cts < samples[b].cts) closed = false;
    const limit = b === samples.length || closed ? last : b - 1;
    for (let n = a; n < b; n++) feedTo[n] = limit;
  });
  return feedTo;
}

/**
 * True when an H.264 sample (length-prefixed NAL units) is no other frame's reference: every
 * slice has nal_ref_idc 0. Anything it cannot read counts as a reference.
 */
export function h264Droppable(data, lengthSize) {
  const slices = h264Slices(data, lengthSize);
  return slices !== null && slices.length > 0 && slices.every((header) => !(header & 0x60));
}

/** True when an H.264 sample is an IDR picture (its slices are NAL type 5). */
export function h264Idr(data, lengthSize) {
  const slices = h264Slices(data, lengthSize);
  return slices !== null && slices.length > 0 && slices.every((header) => (header & 0x1f) === 5);
}

/** The NAL header bytes of a sample's slices (NAL types 1 and 5), or null if unreadable. */
function h264Slices(data, lengthSize) {
  const out = [];
  for (let at = 0; at < data.length; ) {
    if (at + lengthSize >= data.length) return null;
    let size = 0;
    for (let k = 0; k < lengthSize; k++) size = size * 256 + data[at + k];
    at += lengthSize;
    if (size < 1 || at + size > data.length) return null;
    const type = data[at] & 0x1f;
    if (type === 1 || type === 5) out.push(data[at]);
    at += size;
  }
  return out;
}

/** The first video track of an MP4/MOV: decoder config, samples (decode order), timescale. */
async function readTrack(file) {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  if (head.length < 8 || !MP4_ATOMS.includes(String.fromCharCode(...head.subarray(4, 8)))) {
    throw new NotForward("not MP4/MOV");
  }
  const { createFile } = await import("./vendor/mp4box/mp4box.all.js");
  const iso = createFile(false); // box headers and moov only: mdat is skipped, not kept
  let broken = "";
  iso.onError = (module, message) => (broken = message); // not to the console: we seek instead
  let read = 0;
  for (let pos = 0; !iso.moov && pos < file.size; ) {
    const buffer = await file.slice(pos, pos + READ).arrayBuffer();
    read += buffer.byteLength;
    if (read > MAX_MOOV_READ) throw new NotForward("header too big");
    buffer.fileStart = pos;
    const next = iso.appendBuffer(buffer);
    if (!(next > pos)) break;
    pos = next;
  }
  const moov = iso.moov;
  if (!moov) throw new NotForward(broken || "no moov");
  if (moov.mvex) throw new NotForward("fragmented"); // samples live in moof boxes, not in moov
  const trak = moov.traks.find((t) => t.mdia && t.mdia.hdlr && t.mdia.hdlr.handler === "vide");
  if (!trak) throw new NotForward("no video track");
  // The decoder does not apply the display matrix; the Python hasher and <video> do.
  const m = trak.tkhd.matrix;
  if (m && !(m[0] > 0 && m[4] > 0 && m[1] === 0 && m[3] === 0)) throw new NotForward("rotated");
  const entries = trak.mdia.minf.stbl.stsd.entries;
  if (entries.length !== 1) throw new NotForward("several sample descriptions");
  const entry = entries[0];
  const config = { codec: entry.getCodec(), codedWidth: entry.width, codedHeight: entry.height };
  // H.264/HEVC in MP4 need their parameter sets (the avcC/hvcC body, as stored in the file).
  const box = entry.avcC || entry.hvcC;
  if (box) {
    const start = box.start + box.hdr_size;
    config.description = new Uint8Array(await file.slice(start, box.start + box.size).arrayBuffer());
    if (config.description[0] !== 1) throw new NotForward("bad decoder configuration");
  }
  let support;
  try {
    support = await VideoDecoder.isConfigSupported(config);
  } catch {
    support = null;
  }
  if (!support || !support.supported) throw new NotForward(`decoder refuses ${config.codec}`);
  // The NAL length field size of H.264 samples (from avcC), when frames may be left out.
  const lengthSize = entry.avcC ? entry.avcC.lengthSizeMinusOne + 1 : 0;
  return { config, samples: trak.samples, timescale: trak.mdia.mdhd.timescale, lengthSize };
}

/** Reads sample bytes through a window of the file; null past the end (a cut-short file). */
function windowReader(file) {
  let window = null;
  let from = 0;
  return async (offset, size) => {
    if (!window || offset < from || offset + size > from + window.length) {
      from = offset;
      window = new Uint8Array(await file.slice(offset, offset + Math.max(size, WINDOW)).arrayBuffer());
    }
    if (offset + size > from + window.length) return null;
    return window.subarray(offset - from, offset - from + size);
  };
}

/**
 * Decode the first video track of `file` forward once and hash the picked frames.
 * `hash(frame, {i, t})` takes ownership of the VideoFrame and resolves to {q, pdq}.
 * Resolves to [{i, t, q, pdq}] in presentation order. Throws NotForward to say "seek instead",
 * or an error with `code: "video-too-long"` past `maxSeconds`.
 */
export async function decodeForward(file, { maxSeconds, hash, onProgress }) {
  if (typeof VideoDecoder === "undefined" || typeof EncodedVideoChunk === "undefined") {
    throw new NotForward("no WebCodecs");
  }
  const { config, samples, timescale, lengthSize } = await readTrack(file);
  if (!samples.length || !samples[0].is_sync || !timescale) throw new NotForward("no key frame first");
  const times = samples.map((s) => s.cts);
  const start = times.reduce((a, b) => Math.min(a, b));
  const end = samples.reduce((a, s) => Math.max(a, s.cts + s.duration), start);
  if ((end - start) / timescale > maxSeconds) throw Object.assign(new Error("too long"), { code: "video-too-long" });
  // Timestamps in microseconds, as WebCodecs carries them: each must name one sample.
  const us = (time) => Math.round((time * 1e6) / timescale);
  const wanted = new Map();
  const picks = pickFrames(times, timescale);
  for (const [time, pick] of picks) wanted.set(us(time), pick);
  if (new Set(times.map(us)).size !== samples.length) throw new NotForward("timestamps collide");
  const picked = new Set();
  times.forEach((time, n) => picks.has(time) && picked.add(n));
  // Where H.264 starts afresh (IDR key frames): groups before them may be cut short.
  const restarts = new Set();
  for (let n = 1; lengthSize && n < samples.length; n++) {
    const { is_sync: key, offset, size } = samples[n];
    if (!key) continue;
    const data = new Uint8Array(await file.slice(offset, offset + size).arrayBuffer());
    if (data.length === size && h264Idr(data, lengthSize)) restarts.add(n);
  }
  const feedTo = lengthSize ? feedLimits(samples, picked, restarts) : samples.map(() => samples.length - 1);

  const frames = [];
  const pending = [];
  let failure = null;
  let hashing = 0;
  let wake = null;
  const kick = () => {
    const resume = wake;
    wake = null;
    if (resume) resume();
  };
  const decoder = new VideoDecoder({
    output: (frame) => {
      const pick = wanted.get(frame.timestamp);
      if (!pick || failure) {
        frame.close(); // not one we hash: give its memory back to the decoder at once
        return;
      }
      wanted.delete(frame.timestamp);
      hashing++;
      const job = hash(frame, pick)
        .then((got) => frames.push({ i: pick.i, t: Math.round(pick.t * 1000) / 1000, q: got.q, pdq: got.pdq }))
        .catch((err) => {
          failure = failure || err;
        })
        .finally(() => {
          hashing--;
          kick();
        });
      pending.push(job);
    },
    error: (err) => {
      failure = failure || err;
      kick();
    },
  });
  let cut = false;
  try {
    if (decoder.addEventListener) decoder.addEventListener("dequeue", kick);
    decoder.configure(config);
    const read = windowReader(file);
    for (let n = 0; n < samples.length; n++) {
      while (!failure && (decoder.decodeQueueSize >= MAX_QUEUE || hashing > MAX_HASHING)) {
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(kick, 50); // in case a browser sends no "dequeue" event
        });
      }
      if (failure) break;
      if (n > feedTo[n]) continue; // past the group's last picked frame
      const sample = samples[n];
      const data = await read(sample.offset, sample.size);
      if (!data) {
        cut = true; // the file ends early: hash the frames that are there, as the CLI does
        break;
      }
      if (lengthSize && !sample.is_sync && !picked.has(n) && h264Droppable(data, lengthSize)) continue;
      decoder.decode(
        new EncodedVideoChunk({
          type: sample.is_sync ? "key" : "delta",
          timestamp: us(sample.cts),
          duration: us(sample.duration),
          data,
        }),
      );
      if (onProgress && n % 30 === 0) onProgress(n / samples.length);
    }
    if (!failure) await decoder.flush();
    await Promise.all(pending);
  } catch (err) {
    failure = failure || err;
    await Promise.allSettled(pending);
  } finally {
    if (decoder.state !== "closed") decoder.close();
  }
  if (failure) throw failure instanceof NotForward ? failure : new NotForward(String(failure));
  if (!frames.length || (wanted.size && !cut)) throw new NotForward("frames missing");
  return frames.sort((a, b) => a.i - b.i);
}
