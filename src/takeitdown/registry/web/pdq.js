// PDQ perceptual hash in plain JavaScript, written from Meta's published description and
// reference (ThreatExchange pdq/cpp/hashing/pdqhashing.cpp, pdq/cpp/downscaling):
// luma -> two X,Y passes of 1-D box filters (Jarosz) -> 64x64 decimation -> quality from
// gradients -> 16x16 DCT -> one bit per coefficient above the median.
// Hex follows the reference's Hash256::format (word 15 first), which is what
// numpy.packbits(bits).tobytes().hex() gives for the `pdqhash` Python package.

const MIN_HASHABLE_DIM = 5;
const LUMA_R = Math.fround(0.299);
const LUMA_G = Math.fround(0.587);
const LUMA_B = Math.fround(0.114);

// 16 x 64 DCT-II rows 1..16 (row 0, the DC term, is not used by PDQ).
const DCT = (() => {
  const m = new Float32Array(16 * 64);
  const scale = Math.sqrt(2 / 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
    }
  }
  return m;
})();

/** Float luma (row-major) of RGBA pixels as ImageData gives them. Alpha is ignored. */
export function lumaFromRGBA(rgba, width, height) {
  const n = width * height;
  const luma = new Float32Array(n);
  for (let p = 0, q = 0; p < n; p++, q += 4) {
    luma[p] = LUMA_R * rgba[q] + LUMA_G * rgba[q + 1] + LUMA_B * rgba[q + 2];
  }
  return luma;
}

/** Per-pass window size for blurring `oldDim` samples down to `newDim`, rounded up. */
export function jaroszWindowSize(oldDim, newDim) {
  return Math.floor((oldDim + 2 * newDim - 1) / (2 * newDim));
}

// One running-sum box filter along a strided vector, with the window shrinking at the edges
// exactly as the reference does (averages over the samples actually inside the window).
function box1d(src, dst, start, length, stride, window) {
  const half = Math.floor((window + 2) / 2);
  const lead = half - 1;
  const grow = window - half + 1;
  const full = length - window;
  const tail = half - 1;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let count = 0;
  for (let k = 0; k < lead; k++) {
    sum += src[ri];
    count++;
    ri += stride;
  }
  for (let k = 0; k < grow; k++) {
    sum += src[ri];
    count++;
    dst[oi] = sum / count;
    ri += stride;
    oi += stride;
  }
  for (let k = 0; k < full; k++) {
    sum += src[ri] - src[li];
    dst[oi] = sum / count;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let k = 0; k < tail; k++) {
    sum -= src[li];
    count--;
    dst[oi] = sum / count;
    li += stride;
    oi += stride;
  }
}

function jaroszFilter(buf1, buf2, rows, cols, windowAlongRows, windowAlongCols, passes) {
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < rows; i++) box1d(buf1, buf2, i * cols, cols, 1, windowAlongRows);
    for (let j = 0; j < cols; j++) box1d(buf2, buf1, j, rows, cols, windowAlongCols);
  }
}

function decimate(src, rows, cols) {
  const out = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const si = Math.floor(((i + 0.5) * rows) / 64);
    for (let j = 0; j < 64; j++) {
      const sj = Math.floor(((j + 0.5) * cols) / 64);
      out[i * 64 + j] = src[si * cols + sj];
    }
  }
  return out;
}

/** Quality 0-100: count of significant gradients in the 64x64 image, scaled. */
export function qualityOf(b) {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      sum += Math.abs(Math.trunc(((b[i * 64 + j] - b[(i + 1) * 64 + j]) * 100) / 255));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      sum += Math.abs(Math.trunc(((b[i * 64 + j] - b[i * 64 + j + 1]) * 100) / 255));
    }
  }
  return Math.min(100, Math.floor(sum / 90));
}

// B = D A D^T, keeping only the 16x16 low (non-DC) frequencies.
function dct64To16(a) {
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += DCT[i * 64 + k] * a[k * 64 + j];
      t[i * 64 + j] = s;
    }
  }
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += t[i * 64 + k] * DCT[j * 64 + k];
      b[i * 16 + j] = s;
    }
  }
  return b;
}

/** 64 hex chars: bit k = i*16+j set when coefficient (i, j) is above the median. */
export function bitsToHex(dct16) {
  // The reference's median (Torben) of 256 values is the lower middle one, the 128th smallest.
  const median = Float32Array.from(dct16).sort()[127];
  const bytes = new Uint8Array(32);
  for (let k = 0; k < 256; k++) {
    if (dct16[k] > median) {
      const p = 255 - k; // word 15 is printed first, most significant bit first
      bytes[p >> 3] |= 0x80 >> (p & 7);
    }
  }
  let hex = "";
  for (const x of bytes) hex += x.toString(16).padStart(2, "0");
  return hex;
}

/** PDQ of a float luma image. Returns {hex, quality}; images under 5 px give zeros. */
export function pdqFromLuma(luma, width, height) {
  if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) {
    return { hex: "0".repeat(64), quality: 0 };
  }
  let a64;
  if (width === 64 && height === 64) {
    a64 = Float32Array.from(luma);
  } else {
    const buf1 = Float32Array.from(luma);
    const buf2 = new Float32Array(buf1.length);
    jaroszFilter(buf1, buf2, height, width, jaroszWindowSize(width, 64), jaroszWindowSize(height, 64), 2);
    a64 = decimate(buf1, height, width);
  }
  const quality = qualityOf(a64);
  return { hex: bitsToHex(dct64To16(a64)), quality };
}

/** PDQ of RGBA pixels (ImageData.data). */
export function pdqFromRGBA(rgba, width, height) {
  return pdqFromLuma(lumaFromRGBA(rgba, width, height), width, height);
}
