// PDQ luma straight from a decoded video frame's Y plane (WebCodecs VideoFrame).
//
// Why: to draw a frame, the browser converts YUV to RGB with a matrix it picks (often BT.709
// for HD video without colour tags), while FFmpeg, which the Python hasher uses, picks BT.601.
// On saturated video that moves PDQ by 10-30 bits. PDQ only needs luma, and with BT.601
// 0.299 R + 0.587 G + 0.114 B is the Y plane itself (expanded from video range 16-235), so
// reading Y gives what the Python side computes whatever matrix the browser would use.
// Shrinking is an area average, as the Python side's FFmpeg AREA scaling.

const PLANAR_8BIT = new Set(["I420", "I420A", "I422", "I444", "NV12"]);

/** Area-average resampling of a float image (box filter with fractional edge coverage). */
export function areaResize(src, sw, sh, dw, dh) {
  if (sw === dw && sh === dh) return src;
  const weights = (from, to) => {
    const scale = from / to;
    const out = [];
    for (let o = 0; o < to; o++) {
      const a = o * scale;
      const b = a + scale;
      const taps = [];
      for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        if (w > 1e-9) taps.push(i, w / scale);
      }
      out.push(taps);
    }
    return out;
  };
  const wx = weights(sw, dw);
  const wy = weights(sh, dh);
  const tmp = new Float32Array(dw * sh);
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    for (let x = 0; x < dw; x++) {
      const taps = wx[x];
      let s = 0;
      for (let k = 0; k < taps.length; k += 2) s += src[row + taps[k]] * taps[k + 1];
      tmp[y * dw + x] = s;
    }
  }
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const taps = wy[y];
    for (let x = 0; x < dw; x++) {
      let s = 0;
      for (let k = 0; k < taps.length; k += 2) s += tmp[taps[k] * dw + x] * taps[k + 1];
      out[y * dw + x] = s;
    }
  }
  return out;
}

/**
 * Luma (0-255 floats) of a VideoFrame, shrunk so the long side is at most `maxSide`, or null
 * when the frame is not 8-bit planar YUV or carries a rotation/flip (the caller then draws it).
 */
export async function lumaOfVideoFrame(frame, maxSide) {
  if (!PLANAR_8BIT.has(frame.format) || frame.rotation || frame.flip) return null;
  const rect = frame.visibleRect;
  const width = rect.width;
  const height = rect.height;
  const buffer = new Uint8Array(frame.allocationSize({ rect }));
  const layout = await frame.copyTo(buffer, { rect });
  const { offset, stride } = layout[0];
  const full = Boolean(frame.colorSpace && frame.colorSpace.fullRange);
  const luma = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = offset + y * stride;
    for (let x = 0; x < width; x++) {
      const v = buffer[row + x];
      luma[y * width + x] = full ? v : Math.min(255, Math.max(0, ((v - 16) * 255) / 219));
    }
  }
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  return { luma: areaResize(luma, width, height, w, h), width: w, height: h };
}
