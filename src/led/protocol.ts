// BlinkStick USB HID feature reports as pure byte arrays (docs: platform-facts §1). Byte 0 is always the report id,
// as node-hid's sendFeatureReport() wants and getFeatureReport() returns over hidraw.
import type { Rgb } from './colour.js';

/** The product names blinkstick-python's get_variant() can return. */
export type Variant =
  | 'BlinkStick'
  | 'BlinkStick Pro'
  | 'BlinkStick Square'
  | 'BlinkStick Strip'
  | 'BlinkStick Nano'
  | 'BlinkStick Flex'
  | 'unknown';

/** A feature report to read: pass to `getFeatureReport(reportId, length)`. */
export interface FeatureRead {
  reportId: number;
  length: number;
}

const V3_BY_RELEASE: ReadonlyMap<number, Variant> = new Map<number, Variant>([
  [0x200, 'BlinkStick Square'],
  [0x201, 'BlinkStick Strip'],
  [0x202, 'BlinkStick Nano'],
  [0x203, 'BlinkStick Flex'],
]);

const LED_COUNT: Readonly<Record<Variant, number>> = {
  BlinkStick: 1,
  'BlinkStick Pro': 64,
  'BlinkStick Square': 8,
  'BlinkStick Strip': 8,
  'BlinkStick Nano': 2,
  'BlinkStick Flex': 32,
  unknown: 1,
};

/** Variant from the serial `BSnnnnnn-M.m` (major = serial[-3]) and, for major 3, the bcdDevice (node-hid `release`). */
export function variantOf(serial: string, release: number): Variant {
  const major = serial.length >= 3 ? serial[serial.length - 3] : undefined;
  if (major === '1') return 'BlinkStick';
  if (major === '2') return 'BlinkStick Pro';
  if (major === '3') return V3_BY_RELEASE.get(release) ?? 'unknown';
  return 'unknown';
}

/** LEDs on channel 0 as the official client counts them (a Pro can drive 64 on each of its 3 channels). */
export function ledCountOf(variant: Variant): number {
  return LED_COUNT[variant];
}

function check(what: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer 0..${max}, got ${value}`);
  }
  return value;
}

function rgbBytes(rgb: Rgb): [number, number, number] {
  return [check('red', rgb.r, 255), check('green', rgb.g, 255), check('blue', rgb.b, 255)];
}

/** Frame report id and capacity for `leds` LEDs: ≤8 → 6, ≤16 → 7, ≤32 → 8, ≤64 → 9. */
function frameFor(leds: number): { reportId: number; maxLeds: number } {
  if (leds <= 8) return { reportId: 6, maxLeds: 8 };
  if (leds <= 16) return { reportId: 7, maxLeds: 16 };
  if (leds <= 32) return { reportId: 8, maxLeds: 32 };
  if (leds <= 64) return { reportId: 9, maxLeds: 64 };
  throw new RangeError(`a BlinkStick frame holds at most 64 LEDs, got ${leds}`);
}

/** Sets one LED: `[1,r,g,b]` for index 0 on channel 0, else report 5 `[5,channel,index,r,g,b]`. */
export function setColourReport(rgb: Rgb, index = 0, channel = 0): number[] {
  const bytes = rgbBytes(rgb);
  check('index', index, 255);
  check('channel', channel, 2);
  return index === 0 && channel === 0 ? [1, ...bytes] : [5, channel, index, ...bytes];
}

/** Sets LEDs 0..n-1 of a channel at once: `[id, channel, g0,r0,b0, …]` zero-padded to the frame's size. */
export function frameReport(colours: Rgb[], channel = 0): number[] {
  check('channel', channel, 2);
  const { reportId, maxLeds } = frameFor(colours.length);
  const report = new Array<number>(2 + maxLeds * 3).fill(0);
  report[0] = reportId;
  report[1] = channel;
  colours.forEach((rgb, n) => {
    const [r, g, b] = rgbBytes(rgb);
    report.splice(2 + n * 3, 3, g, r, b);
  });
  return report;
}

/** Sets the mode (stored in EEPROM): 0 RGB, 1 inverse RGB, 2 WS2812. */
export function modeReport(mode: 0 | 1 | 2): number[] {
  return [4, check('mode', mode, 2)];
}

// Reading back (blinkstick-python `_get_color_rgb` / `get_led_data`, blinkstick-node `getColor` / `getColors`):
// - LED 0 reads report 1 with length 33, as python does; the firmware answers `[1,R,G,B]` (it stores GRB and
//   returns RGB), so R,G,B are bytes 1..3.
// - LED n>0 reads the frame report for n+1 LEDs with its full length (2 + maxLeds*3). Both libraries first slice
//   off the report id and channel (python `device_bytes[2:…]`, node `buffer.slice(2, …)`) and then index that
//   payload: R = data[n*3+1], G = data[n*3], B = data[n*3+2]. So platform-facts' "[n*3+1], [n*3], [n*3+2]" are
//   payload offsets; in the full reply (byte 0 = report id, byte 1 = channel) LED n is G at 2+3n, R at 3+3n,
//   B at 4+3n: the same GRB layout frameReport() writes, so a frame reads back as the colours that were written.
// - Ambiguity: node's getColor calls getColors(index), which picks the report for `index` LEDs instead of
//   index+1 (for index 8, 16 or 32 it reads a report that ends just before the LED) and drops the last byte with
//   slice(2, length-1). Python's `(index + 1) * 3` is the consistent reading, and is what is done here.
// - Frame reads carry no channel argument; which channel's buffer the firmware returns is not documented.

/** Which feature report, and how many bytes, to read to get LED `index`'s colour back. */
export function readColourRequest(index: number): FeatureRead {
  check('index', index, 63);
  if (index === 0) return { reportId: 1, length: 33 };
  const { reportId, maxLeds } = frameFor(index + 1);
  return { reportId, length: 2 + maxLeds * 3 };
}

/** Decodes the reply to readColourRequest(index) (byte 0 = report id) into LED `index`'s colour. */
export function parseReadBack(index: number, reply: number[]): Rgb {
  const { reportId } = readColourRequest(index);
  const at = (i: number): number => {
    const value = reply[i];
    if (value === undefined) throw new RangeError(`report ${reportId} reply too short for LED ${index}`);
    return value;
  };
  if (at(0) !== reportId) throw new RangeError(`expected report ${reportId}, got report ${at(0)}`);
  if (index === 0) return { r: at(1), g: at(2), b: at(3) };
  const g = 2 + index * 3;
  return { r: at(g + 1), g: at(g), b: at(g + 2) };
}
