// The size PDQ works at, as the Python hasher (takeitdown.hashing.decode / .video) does.
export const PHOTO_WORK_SIZE = 1024;
export const VIDEO_WORK_SIZE = 1920;
// takeitdown.hashing's DEFAULT_MAX_PIXELS: the page refuses the same photos as the CLI and the node.
export const MAX_PIXELS = 100_000_000;

/**
 * Photos are reduced by the largest whole factor (at most 8) that keeps both sides at least
 * 1024 px; video frames are shrunk only beyond 1920 px on the long side.
 */
export function workSize(w0, h0, video) {
  if (video) {
    const scale = Math.min(1, VIDEO_WORK_SIZE / Math.max(w0, h0));
    return [Math.max(1, Math.round(w0 * scale)), Math.max(1, Math.round(h0 * scale))];
  }
  const factor = Math.min(8, Math.floor(w0 / PHOTO_WORK_SIZE), Math.floor(h0 / PHOTO_WORK_SIZE));
  return factor > 1 ? [Math.ceil(w0 / factor), Math.ceil(h0 / factor)] : [w0, h0];
}
