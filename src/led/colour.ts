// Colour values as the stock `blinkstick --set-color` CLI reads them, except that an unknown name or bad hex is an
// error (undefined) here instead of silently becoming black. `random` is not accepted: a status colour must be stable.
import { CSS_COLOURS } from './css-colours.js';

/** One colour, each channel an integer 0..255. */
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

const HASH_HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
const BARE_HEX = /^[0-9a-f]{6}$/i;

function fromHex6(digits: string): Rgb {
  return {
    r: Number.parseInt(digits.slice(0, 2), 16),
    g: Number.parseInt(digits.slice(2, 4), 16),
    b: Number.parseInt(digits.slice(4, 6), 16),
  };
}

/** `#rgb`, `#rrggbb`, bare `rrggbb`, `off` or a CSS3 name (any case) → Rgb; anything else → undefined. */
export function parseColour(text: string): Rgb | undefined {
  const value = text.trim();
  const hashed = HASH_HEX.exec(value)?.[1];
  if (hashed !== undefined) {
    return fromHex6(hashed.length === 3 ? [...hashed].map((c) => c + c).join('') : hashed);
  }
  if (BARE_HEX.test(value)) return fromHex6(value);
  const name = value.toLowerCase();
  if (name === 'off') return { r: 0, g: 0, b: 0 };
  // Object.hasOwn, so that "constructor" or "__proto__" are not mistaken for colours.
  const hex = Object.hasOwn(CSS_COLOURS, name) ? CSS_COLOURS[name] : undefined;
  return hex === undefined ? undefined : fromHex6(hex.slice(1));
}

/** Rgb → lower-case `#rrggbb`. */
export function formatColour(rgb: Rgb): string {
  return `#${[rgb.r, rgb.g, rgb.b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
