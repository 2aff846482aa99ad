import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { applyBrightness, limitFor } from '../../src/led/brightness.js';
import { formatColour, parseColour, type Rgb } from '../../src/led/colour.js';
import { CSS_COLOURS } from '../../src/led/css-colours.js';
import {
  frameReport,
  ledCountOf,
  modeReport,
  parseReadBack,
  readColourRequest,
  setColourReport,
  variantOf,
  type Variant,
} from '../../src/led/protocol.js';

const rgb = (r: number, g: number, b: number): Rgb => ({ r, g, b });
/** A distinct, non-symmetric colour per LED, so swapped channels or shifted LEDs show up. */
const ledColour = (n: number): Rgb => rgb((n * 3 + 1) % 256, (n * 5 + 100) % 256, (n * 7 + 200) % 256);

describe('colour parsing', () => {
  it('reads #rgb, #rrggbb and bare rrggbb, in either case', () => {
    expect(parseColour('#33c280')).toEqual(rgb(0x33, 0xc2, 0x80));
    expect(parseColour('#33C280')).toEqual(rgb(0x33, 0xc2, 0x80));
    expect(parseColour('33c280')).toEqual(rgb(0x33, 0xc2, 0x80));
    expect(parseColour('#09c')).toEqual(rgb(0x00, 0x99, 0xcc));
    expect(parseColour('#FfF')).toEqual(rgb(255, 255, 255));
  });

  it('reads CSS3 names case-insensitively, with CSS values (green is #008000, lime #00ff00)', () => {
    expect(parseColour('green')).toEqual(rgb(0, 128, 0));
    expect(parseColour('lime')).toEqual(rgb(0, 255, 0));
    expect(parseColour('Teal')).toEqual(rgb(0, 128, 128));
    expect(parseColour('ORANGE')).toEqual(rgb(255, 165, 0));
    expect(parseColour('gold')).toEqual(rgb(255, 215, 0));
    expect(parseColour('grey')).toEqual(parseColour('gray'));
    expect(parseColour('lightslategrey')).toEqual(rgb(0x77, 0x88, 0x99));
  });

  it('reads off as black', () => {
    expect(parseColour('off')).toEqual(rgb(0, 0, 0));
    expect(parseColour('OFF')).toEqual(rgb(0, 0, 0));
  });

  it('rejects unknown names and bad hex instead of turning them black', () => {
    const names = ['amber', 'rebeccapurple', 'random', 'greenish', ''];
    const hex = ['#', '#12', '#1234', '#12345', '#ggg', '12345', '33c28g', 'fff', '#33c2800', '0x33c280'];
    for (const bad of [...names, ...hex]) {
      expect(parseColour(bad), bad).toBeUndefined();
    }
    for (const inherited of ['constructor', '__proto__', 'tostring', 'hasownproperty']) {
      expect(parseColour(inherited), inherited).toBeUndefined();
    }
  });

  it('has the 147 CSS3 names, lower-case, each a #rrggbb value', () => {
    const names = Object.keys(CSS_COLOURS);
    expect(names).toHaveLength(147);
    for (const name of names) {
      expect(name).toMatch(/^[a-z]+$/);
      expect(CSS_COLOURS[name]).toMatch(/^#[0-9a-f]{6}$/);
    }
  });

  it('formats as lower-case #rrggbb and round-trips', () => {
    expect(formatColour(rgb(0, 128, 255))).toBe('#0080ff');
    for (const hex of Object.values(CSS_COLOURS)) expect(formatColour(parseColour(hex) ?? rgb(-1, -1, -1))).toBe(hex);
  });
});

describe('brightness', () => {
  const channel = Array.from({ length: 256 }, (_, v) => v);

  it.each([0, 1, 10, 33, 50, 99, 100])('matches the stock CLI formula run by Python at limit %i', (limit) => {
    const script = [
      'import json, sys',
      'limit = int(sys.argv[1])',
      'print(json.dumps([int(v/255*int(limit/100*255)) for v in range(256)]))',
    ].join('\n');
    const output = execFileSync('python3', ['-c', script, String(limit)], { encoding: 'utf8' });
    const expected = JSON.parse(output) as number[];
    expect(expected).toHaveLength(256);
    // Each channel goes through the same formula; vary them so a mixed-up channel would show.
    const actual = channel.map((v) => applyBrightness(rgb(v, 255 - v, v), limit));
    expect(actual.map((c) => c.r)).toEqual(expected);
    expect(actual.map((c) => c.g)).toEqual([...expected].reverse());
    expect(actual.map((c) => c.b)).toEqual(expected);
  });

  it('reproduces the worked examples for --limit 10', () => {
    expect(limitFor(10)).toBe(25);
    expect(applyBrightness(parseColour('33c280') ?? rgb(0, 0, 0), 10)).toEqual(rgb(5, 19, 12));
    expect(applyBrightness(parseColour('green') ?? rgb(0, 0, 0), 10)).toEqual(rgb(0, 12, 0));
    expect(applyBrightness(parseColour('white') ?? rgb(0, 0, 0), 10)).toEqual(rgb(25, 25, 25));
  });

  it('rejects a percent outside 0..100', () => {
    expect(() => limitFor(-1)).toThrow(RangeError);
    expect(() => limitFor(101)).toThrow(RangeError);
    expect(() => applyBrightness(rgb(1, 2, 3), Number.NaN)).toThrow(RangeError);
  });
});

describe('variant detection', () => {
  it.each<[string, number, Variant]>([
    ['BS000001-1.0', 0x0100, 'BlinkStick'],
    ['BS012345-1.3', 0x0000, 'BlinkStick'],
    ['BS000002-2.1', 0x0200, 'BlinkStick Pro'],
    ['BS000003-3.0', 0x0200, 'BlinkStick Square'],
    ['BS000003-3.1', 0x0201, 'BlinkStick Strip'],
    ['BS000003-3.0', 0x0202, 'BlinkStick Nano'],
    ['BS000003-3.0', 0x0203, 'BlinkStick Flex'],
    ['BS000003-3.0', 0x0204, 'unknown'],
    ['BS000003-3.0', 0x0100, 'unknown'],
    ['BS000004-4.0', 0x0200, 'unknown'],
    ['', 0x0200, 'unknown'],
    ['3', 0x0200, 'unknown'],
  ])('%s with bcdDevice %i is %s', (serial, release, variant) => {
    expect(variantOf(serial, release)).toBe(variant);
  });

  it('knows the LED count of each variant', () => {
    const counts: Record<Variant, number> = {
      BlinkStick: 1,
      'BlinkStick Pro': 64,
      'BlinkStick Square': 8,
      'BlinkStick Strip': 8,
      'BlinkStick Nano': 2,
      'BlinkStick Flex': 32,
      unknown: 1,
    };
    for (const [variant, count] of Object.entries(counts)) expect(ledCountOf(variant as Variant)).toBe(count);
  });
});

describe('report bytes', () => {
  it('sets LED 0 of a plain stick with report 1', () => {
    expect(setColourReport(rgb(0x33, 0xc2, 0x80))).toEqual([1, 0x33, 0xc2, 0x80]);
  });

  it('sets any other index or channel with report 5 in RGB order', () => {
    expect(setColourReport(rgb(10, 20, 30), 3)).toEqual([5, 0, 3, 10, 20, 30]);
    expect(setColourReport(rgb(10, 20, 30), 0, 1)).toEqual([5, 1, 0, 10, 20, 30]);
  });

  it('rejects out-of-range bytes rather than letting them wrap', () => {
    expect(() => setColourReport(rgb(256, 0, 0))).toThrow(RangeError);
    expect(() => setColourReport(rgb(1.5, 0, 0))).toThrow(RangeError);
    expect(() => setColourReport(rgb(0, 0, 0), 256)).toThrow(RangeError);
    expect(() => setColourReport(rgb(0, 0, 0), 0, 3)).toThrow(RangeError);
  });

  it('builds a one-LED frame as report 6, GRB, padded to 8 LEDs', () => {
    expect(frameReport([rgb(1, 2, 3)])).toEqual([6, 0, 2, 1, 3, ...new Array<number>(21).fill(0)]);
  });

  it.each([
    [0, 6, 26],
    [8, 6, 26],
    [9, 7, 50],
    [16, 7, 50],
    [17, 8, 98],
    [32, 8, 98],
    [33, 9, 194],
    [64, 9, 194],
  ])('builds a frame of %i LEDs as report %i of %i bytes', (leds, reportId, length) => {
    const colours = Array.from({ length: leds }, (_, n) => ledColour(n));
    const report = frameReport(colours, 2);
    expect(report).toHaveLength(length);
    expect(report.slice(0, 2)).toEqual([reportId, 2]);
    expect(report.slice(2, 2 + leds * 3)).toEqual(colours.flatMap((c) => [c.g, c.r, c.b]));
    expect(report.slice(2 + leds * 3).every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a frame of more than 64 LEDs', () => {
    expect(() => frameReport(Array.from({ length: 65 }, () => rgb(0, 0, 0)))).toThrow(RangeError);
  });

  it('builds mode reports', () => {
    expect(modeReport(0)).toEqual([4, 0]);
    expect(modeReport(1)).toEqual([4, 1]);
    expect(modeReport(2)).toEqual([4, 2]);
  });
});

describe('reading colours back', () => {
  it('asks for report 1 for LED 0 and for the smallest frame holding LED n otherwise', () => {
    expect(readColourRequest(0)).toEqual({ reportId: 1, length: 33 });
    expect(readColourRequest(1)).toEqual({ reportId: 6, length: 26 });
    expect(readColourRequest(7)).toEqual({ reportId: 6, length: 26 });
    expect(readColourRequest(8)).toEqual({ reportId: 7, length: 50 });
    expect(readColourRequest(15)).toEqual({ reportId: 7, length: 50 });
    expect(readColourRequest(16)).toEqual({ reportId: 8, length: 98 });
    expect(readColourRequest(31)).toEqual({ reportId: 8, length: 98 });
    expect(readColourRequest(32)).toEqual({ reportId: 9, length: 194 });
    expect(readColourRequest(63)).toEqual({ reportId: 9, length: 194 });
    expect(() => readColourRequest(64)).toThrow(RangeError);
  });

  it('decodes report 1 as [1,R,G,B]', () => {
    expect(parseReadBack(0, [1, 0x33, 0xc2, 0x80, ...new Array<number>(29).fill(0)])).toEqual(rgb(0x33, 0xc2, 0x80));
  });

  it.each([2, 8, 9, 32, 64])('reads every LED of a %i-LED frame back as written', (leds) => {
    const colours = Array.from({ length: leds }, (_, n) => ledColour(n));
    const written = frameReport(colours);
    // A stand-in for the firmware: it keeps one GRB buffer, answers frame reports from it and report 1 as RGB.
    const grb = written.slice(2);
    const getFeatureReport = (reportId: number, length: number): number[] => {
      if (reportId === 1) return [1, grb[1] ?? 0, grb[0] ?? 0, grb[2] ?? 0];
      return [reportId, 0, ...grb, ...new Array<number>(192).fill(0)].slice(0, length);
    };
    for (let n = 0; n < leds; n++) {
      const { reportId, length } = readColourRequest(n);
      expect(parseReadBack(n, getFeatureReport(reportId, length)), `LED ${n}`).toEqual(colours[n]);
    }
  });

  it('refuses a reply for the wrong report or too short to hold the LED', () => {
    expect(() => parseReadBack(3, [7, 0, ...new Array<number>(48).fill(0)])).toThrow(/expected report 6/);
    expect(() => parseReadBack(7, [6, 0, 1, 2, 3])).toThrow(/too short/);
    expect(() => parseReadBack(0, [1, 2])).toThrow(/too short/);
  });
});
