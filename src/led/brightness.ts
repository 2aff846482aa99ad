// The stock CLI's `--limit`/`--brightness`, bit for bit: `max_rgb_value = int(limit/100*255)`, then each channel
// `int(v/255*max_rgb_value)` (blinkstick-python `_remap`). Python's int() truncates a float toward zero, and Python
// and JavaScript evaluate the same IEEE-754 double expressions, so Math.trunc of the same expressions matches exactly.
import type { Rgb } from './colour.js';

function checkPercent(percent: number): void {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`brightness must be 0..100 percent, got ${percent}`);
  }
}

/** The highest channel value a brightness percent (0..100) allows: `int(percent/100*255)`. */
export function limitFor(percent: number): number {
  checkPercent(percent);
  return Math.trunc((percent / 100) * 255);
}

/** Scales each channel to the brightness limit exactly as the stock CLI does. */
export function applyBrightness(rgb: Rgb, percent: number): Rgb {
  const max = limitFor(percent);
  const scale = (v: number): number => Math.trunc((v / 255) * max);
  return { r: scale(rgb.r), g: scale(rgb.g), b: scale(rgb.b) };
}
