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

// The reference's box filter (boxAlongRowsFloat / boxAlongColsFloat) gives output o the mean of
// the input over [o - (window - half), o + half - 1], half = floor((window + 2) / 2), clipped to
// the vector (fewer samples at the edges). With a prefix sum, any output costs two reads, so
// only the outputs that are needed are made.
function boxWindows(length, window) {
  const half = Math.floor((window + 2) / 2);
  const lo = new Int32Array(length);
  const hi = new Int32Array(length);
  for (let o = 0; o < length; o++) {
    lo[o] = Math.max(0, o - (window - half));
    hi[o] = Math.min(length - 1, o + half - 1) + 1;
  }
  return { lo, hi };
}

/** The reference's sample points of the 64x64 decimation: pixel centres. */
function samplePoints(dim) {
  const out = new Int32Array(64);
  for (let k = 0; k < 64; k++) out[k] = Math.floor(((k + 0.5) * dim) / 64);
  return out;
}

/**
 * The 64x64 decimation of the reference's Jarosz filter (two passes of a box along rows, then
 * along columns) of the box [left, right) x [top, bottom) of an image, computed only where it is
 * sampled. Row and column boxes are linear maps on different axes, so they commute: row, row,
 * then column, column gives the same image as the reference's row, column, row, column. Along a
 * row, both blurs are made only at the 64 sampled columns: a blur of a blur there is a difference
 * of the prefix of the row's prefix (`twice`), four reads, with the clipped windows at the edges
 * summed one by one; only those 64 columns are then blurred down, twice, and sampled at 64 rows.
 * Returns {row(i, prefix, twice), finish()}: `row` is given every image row i in [top, bottom)
 * with the running sum of that whole row's luma in `prefix` (prefix[0] = 0) and of `prefix` in
 * `twice`. Sums of float32 lumas are exact in float64, so prefix[left + b] - prefix[left + a] is
 * exactly the box's own running sum: one prefix a row serves the whole image and its windows.
 */
function jaroszDecimator(left, top, right, bottom) {
  const cols = right - left;
  const rows = bottom - top;
  const win = jaroszWindowSize(cols, 64);
  const wr = boxWindows(cols, win);
  const wc = boxWindows(rows, jaroszWindowSize(rows, 64));
  const sj = samplePoints(cols);
  const si = samplePoints(rows);
  const half = Math.floor((win + 2) / 2);
  // Sample columns whose second blur reads only unclipped first blurs: there the sum of first
  // blurs is four reads of the prefix of the prefix (`twice`), not a loop over the window.
  const inside = Uint8Array.from(sj, (c) => wr.lo[c] >= win - half && wr.hi[c] - 1 <= cols - half);
  const picked = new Float32Array(64 * rows); // the row-blurred image at the 64 sampled columns
  const row = (imageRow, prefix, twice) => {
    const i = imageRow - top;
    for (let k = 0; k < 64; k++) {
      const lo = wr.lo[sj[k]];
      const hi = wr.hi[sj[k]];
      let s = 0;
      if (inside[k]) {
        // the sum over j in [lo, hi) of (prefix[left + j + half] - prefix[left + j + half - win]) / win
        const a = left + half;
        const b = a - win;
        s = (twice[a + hi] - twice[a + lo] - (twice[b + hi] - twice[b + lo])) / win;
      } else {
        // near an edge the first blur's window is clipped: each first blur on its own
        for (let j = lo; j < hi; j++) {
          const l = left + wr.lo[j];
          const h = left + wr.hi[j];
          s += Math.fround((prefix[h] - prefix[l]) / (h - l));
        }
      }
      picked[i * 64 + k] = s / (hi - lo);
    }
  };
  const finish = () => {
    const out = new Float32Array(64 * 64);
    const colPrefix = new Float64Array(rows + 1);
    const colOnce = new Float32Array(rows);
    for (let k = 0; k < 64; k++) {
      for (let i = 0, s = 0; i < rows; i++) colPrefix[i + 1] = s += picked[i * 64 + k];
      for (let i = 0; i < rows; i++) {
        const lo = wc.lo[i];
        const hi = wc.hi[i];
        colOnce[i] = (colPrefix[hi] - colPrefix[lo]) / (hi - lo);
      }
      for (let m = 0; m < 64; m++) {
        const lo = wc.lo[si[m]];
        const hi = wc.hi[si[m]];
        let s = 0;
        for (let i = lo; i < hi; i++) s += colOnce[i];
        out[m * 64 + k] = s / (hi - lo);
      }
    }
    return out;
  };
  return { row, finish };
}

/** A box that is already 64x64 is PDQ's 64x64 image as it is (no blur). */
function identityDecimator(left) {
  const a64 = new Float32Array(64 * 64);
  let r = 0;
  const row = (_i, prefix) => {
    for (let j = 0; j < 64; j++) a64[r * 64 + j] = prefix[left + j + 1] - prefix[left + j];
    r++;
  };
  return { row, finish: () => a64 };
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

// The centred windows sent beside the whole-image hash (takeitdown.hashing.windows).
export const WINDOW_PERCENTS = [80, 70];

/** [left, top, right, bottom] of the centred window keeping `percent` of each side: a margin of
 * round(side * (100 - percent) / 200) pixels on every edge, as takeitdown.hashing.windows does. */
export function windowBox(width, height, percent) {
  const mx = Math.floor((width * (100 - percent) + 100) / 200);
  const my = Math.floor((height * (100 - percent) + 100) / 200);
  return [mx, my, width - mx, height - my];
}

/**
 * PDQ of each box [left, top, right, bottom] of an image, from one pass over its rows (see
 * jaroszDecimator): [{hex, quality}], in the order of `boxes`. A box under 5 px gives zeros.
 * `rowPrefix(i, prefix)` puts the running sum of row i's luma into `prefix` (prefix[0] = 0).
 */
function pdqOfBoxes(width, height, rowPrefix, boxes) {
  const parts = boxes.map(([left, top, right, bottom]) => {
    if (right - left < MIN_HASHABLE_DIM || bottom - top < MIN_HASHABLE_DIM) return null;
    const d = right - left === 64 && bottom - top === 64 ? identityDecimator(left) : jaroszDecimator(left, top, right, bottom);
    return { top, bottom, ...d };
  });
  const live = parts.filter(Boolean);
  if (live.length) {
    const prefix = new Float64Array(width + 1);
    const twice = new Float64Array(width + 2); // twice[n] = prefix[0] + ... + prefix[n - 1]
    const first = Math.min(...live.map((p) => p.top));
    const last = Math.max(...live.map((p) => p.bottom));
    for (let i = first; i < last; i++) {
      rowPrefix(i, prefix);
      for (let n = 0, t = 0; n <= width; n++) twice[n + 1] = t += prefix[n];
      for (const p of live) if (i >= p.top && i < p.bottom) p.row(i, prefix, twice);
    }
  }
  return parts.map((p) => {
    if (!p) return { hex: "0".repeat(64), quality: 0 };
    const a64 = p.finish();
    return { hex: bitsToHex(dct64To16(a64)), quality: qualityOf(a64) };
  });
}

/** PDQ from a row summer; a 64x64 image is used as it is. */
function pdqOfRows(width, height, rowPrefix) {
  return pdqOfBoxes(width, height, rowPrefix, [[0, 0, width, height]])[0];
}

/** PDQ of a float luma image. Returns {hex, quality}; images under 5 px give zeros. */
export function pdqFromLuma(luma, width, height) {
  return pdqOfRows(width, height, (i, prefix) => {
    let s = 0;
    for (let j = 0, p = i * width; j < width; j++, p++) prefix[j + 1] = s += luma[p];
  });
}

function rgbaRows(rgba, width) {
  return (i, prefix) => {
    let s = 0;
    for (let j = 0, q = i * width * 4; j < width; j++, q += 4) {
      // Rounded to float32 as the reference's float luma buffer holds it.
      prefix[j + 1] = s += Math.fround(LUMA_R * rgba[q] + LUMA_G * rgba[q + 1] + LUMA_B * rgba[q + 2]);
    }
  };
}

/** PDQ of RGBA pixels (ImageData.data); luma is summed a row at a time, never stored whole. */
export function pdqFromRGBA(rgba, width, height) {
  return pdqOfRows(width, height, rgbaRows(rgba, width));
}

/**
 * A photo's hashes from its RGBA pixels: the whole-image PDQ and the PDQ of each centred window
 * (WINDOW_PERCENTS), all from one pass over the pixels: {hex, quality, windows: [{percent, hex,
 * quality}]}. The windows are what takeitdown.hashing.windows sends as pdq80 and pdq70.
 */
export function photoHashesFromRGBA(rgba, width, height) {
  const boxes = [[0, 0, width, height], ...WINDOW_PERCENTS.map((p) => windowBox(width, height, p))];
  const [whole, ...windows] = pdqOfBoxes(width, height, rgbaRows(rgba, width), boxes);
  return { ...whole, windows: windows.map((w, n) => ({ percent: WINDOW_PERCENTS[n], ...w })) };
}
