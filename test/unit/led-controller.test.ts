// The LED controller drawing each state's pattern on fake BlinkSticks (over the real StickConnection), with fake
// timers: colours after brightness, pulse and blink timing, animations that stop, slow sticks, 8-LED bars, settings.
// Report bytes, brightness and colour parsing themselves are covered by led-protocol.test.ts.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { ledSchema } from '../../src/config/schema.js';
import type { Rgb } from '../../src/led/colour.js';
import { LedController } from '../../src/led/led-controller.js';
import type { LedState } from '../../src/led/patterns.js';
import { StickConnection } from '../../src/led/stick.js';
import { FakeBlinkStick, FakeHidTransport, rgbText, type FakeStickOptions, type StickWrite } from '../helpers/fake-blinkstick.js';

const rgb = (r: number, g: number, b: number): Rgb => ({ r, g, b });
const OFF = rgb(0, 0, 0);

// The default colours at the default brightness 20 %, by the stock CLI's formula: max = int(20/100*255) = 51,
// then each channel int(v/255*51). CSS green #008000: int(128/255*51) = int(25.6) = 25.
const BLUE_20 = rgb(0, 0, 51);
const GREEN_20 = rgb(0, 25, 0);
const RED_20 = rgb(51, 0, 0);
const AMBER_20 = rgb(51, 38, 0); // #ffbf00
const DODGERBLUE_20 = rgb(6, 28, 51); // #1e90ff
/** #33c280 at full pulse level (the top of the triangle) and at its 15 % floor, both then scaled to 20 %. */
const WORKING_PEAK_20 = rgb(10, 38, 25);
const WORKING_FLOOR_20 = rgb(1, 5, 3);

const SQUARE: FakeStickOptions = { serial: 'BS000001-3.0', release: 0x200 };
const STRIP: FakeStickOptions = { serial: 'BS000002-3.0', release: 0x201 };

interface LogEntry {
  level: number;
  msg: string;
}

interface Rig {
  stick: FakeBlinkStick;
  connection: StickConnection;
  led: LedController;
  logs: LogEntry[];
}

const rigs: Rig[] = [];

/** A fake stick, a StickConnection to it, and a controller drawing on it with the given led: settings. */
async function rig(stickOptions: FakeStickOptions = {}, settingsInput: z.input<typeof ledSchema> = {}): Promise<Rig> {
  const settings = ledSchema.parse(settingsInput);
  const stick = new FakeBlinkStick(stickOptions);
  const logs: LogEntry[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogEntry) });
  const connection = new StickConnection(new FakeHidTransport(stick), settings, log);
  await connection.start();
  const led = new LedController(settings, connection);
  const r = { stick, connection, led, logs };
  rigs.push(r);
  return r;
}

/** Sets a state and lets the timers run for `ms`. */
async function show(led: LedController, state: LedState, ms = 0, percent?: number): Promise<void> {
  await led.set(state, percent);
  if (ms > 0) await vi.advanceTimersByTimeAsync(ms);
}

const reports = (writes: StickWrite[]) => writes.map((w) => w.report);
const led0 = (w: StickWrite): Rgb => w.leds.find((l) => l.index === 0)?.colour ?? OFF;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.led.stop();
    await r.connection.close();
  }
  vi.useRealTimers();
});

describe('each state on a one-LED BlinkStick with the default settings', () => {
  it.each([
    ['idle', 'off', OFF],
    ['detected', 'blue', BLUE_20],
    ['done', 'CSS green (0,25,0), scaled like the stock CLI at --limit 20', GREEN_20],
    ['failed', 'red', RED_20],
    ['overdue', 'amber', AMBER_20],
  ] as const)('shows %s as steady %s with one report 1 write', async (state, _name, colour) => {
    const { stick, led } = await rig();
    await show(led, state, 10_000);
    expect(reports(stick.writes)).toEqual([[1, colour.r, colour.g, colour.b]]);
    expect(stick.colourOf(0)).toEqual(colour);
  });

  it('reads a steady colour back after setting it, and logs nothing when the stick agrees', async () => {
    const { stick, led, logs } = await rig();
    await show(led, 'done');
    expect(stick.reads).toEqual([expect.objectContaining({ reportId: 1, length: 33 })]);
    expect(logs.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('pulses working in #33c280 at 20 %, rising to the top at 1.5 s and falling back over the 3 s period, never dark', async () => {
    const { stick, led } = await rig();
    const t0 = Date.now();
    await show(led, 'working', 3000);
    const writes = stick.writes;
    expect(writes.every((w) => w.report[0] === 1)).toBe(true);
    expect(writes.length).toBeGreaterThanOrEqual(30); // a frame every 100 ms
    expect(led0(writes[0] as StickWrite)).toEqual(WORKING_FLOOR_20);
    const at = (ms: number) => writes.find((w) => w.at - t0 === ms);
    expect(at(1500) && led0(at(1500) as StickWrite)).toEqual(WORKING_PEAK_20);
    const greens = writes.map((w) => ({ t: w.at - t0, g: led0(w).g }));
    const rising = greens.filter((p) => p.t <= 1500).map((p) => p.g);
    const falling = greens.filter((p) => p.t >= 1500 && p.t <= 3000).map((p) => p.g);
    expect(rising).toEqual([...rising].sort((a, b) => a - b));
    expect(falling).toEqual([...falling].sort((a, b) => b - a));
    expect(rising[0]).toBeLessThan(rising.at(-1) as number);
    expect(falling.at(-1)).toBeLessThan(falling[0] as number);
    for (const w of writes) {
      const c = led0(w);
      expect(c.r + c.g + c.b, `frame at ${w.at - t0} ms`).toBeGreaterThan(0);
      expect(c.r).toBeLessThanOrEqual(WORKING_PEAK_20.r);
      expect(c.g).toBeLessThanOrEqual(WORKING_PEAK_20.g);
      expect(c.b).toBeLessThanOrEqual(WORKING_PEAK_20.b);
    }
  });

  it('blinks attention at 1 Hz in dodgerblue: on for the first half of each second, off for the second', async () => {
    const { stick, led } = await rig();
    const t0 = Date.now();
    await show(led, 'attention', 3000);
    expect(stick.writes.length).toBeGreaterThanOrEqual(30);
    for (const w of stick.writes) {
      const on = Math.floor((w.at - t0) / 500) % 2 === 0;
      expect(rgbText(led0(w)), `frame at ${w.at - t0} ms`).toBe(rgbText(on ? DODGERBLUE_20 : OFF));
    }
    const shown = stick.writes.map((w) => rgbText(led0(w)));
    const switches = shown.filter((c, i) => i > 0 && c !== shown[i - 1]).length;
    expect(switches).toBe(6); // on → off at 0.5 s, 1.5 s, 2.5 s; off → on at 1 s, 2 s, 3 s
  });
});

describe('animations', () => {
  it('stop the moment a pulse gives way to done: 10 s later nothing more was written', async () => {
    const { stick, led } = await rig();
    await show(led, 'working', 1000);
    await show(led, 'done');
    const count = stick.writes.length;
    expect(led0(stick.writes.at(-1) as StickWrite)).toEqual(GREEN_20);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stick.writes).toHaveLength(count);
    expect(stick.colourOf(0)).toEqual(GREEN_20);
  });

  it('stop the moment a blink gives way to failed, even in its dark half', async () => {
    const { stick, led } = await rig();
    await show(led, 'attention', 700);
    expect(stick.colourOf(0)).toEqual(OFF);
    await show(led, 'failed');
    const count = stick.writes.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stick.writes).toHaveLength(count);
    expect(stick.colourOf(0)).toEqual(RED_20);
  });

  it('are not restarted when the same state is set again, e.g. at every progress event', async () => {
    const { stick, led } = await rig();
    const t0 = Date.now();
    await show(led, 'working', 500);
    for (const percent of [10, 20, 30]) await show(led, 'working', 100, percent);
    const times = stick.writes.map((w) => w.at - t0);
    expect(times).toEqual(Array.from({ length: times.length }, (_, i) => i * 100));
  });

  it('stop when the controller is stopped while the first frame of a pulse is still being written', async () => {
    const { stick, led } = await rig({ writeDelayMs: 250 });
    const drawn = led.set('working');
    led.stop();
    await vi.advanceTimersByTimeAsync(300);
    await drawn;
    const count = stick.writes.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stick.writes).toHaveLength(count);
  });
});

describe('writes to a slow stick (250 ms each)', () => {
  it('never overlap and skip animation frames instead of queueing them', async () => {
    const { stick, led } = await rig({ writeDelayMs: 250 });
    void led.set('working');
    await vi.advanceTimersByTimeAsync(3000);
    expect(stick.maxInFlight).toBe(1);
    stick.writes.forEach((w, i) => {
      if (i > 0) expect(w.startedAt).toBeGreaterThanOrEqual((stick.writes[i - 1] as StickWrite).at);
    });
    // At most one write per 250 ms: frames that came due meanwhile were dropped, not kept for later.
    expect(stick.writes.length).toBeLessThanOrEqual(3000 / 250);
    expect(stick.writes.length).toBeGreaterThanOrEqual(5);

    const changedAt = Date.now();
    void led.set('done');
    await vi.advanceTimersByTimeAsync(2000);
    const after = stick.writes.filter((w) => w.at > changedAt);
    expect(after.length).toBeLessThanOrEqual(2); // the frame already on its way, then done
    expect(led0(after.at(-1) as StickWrite)).toEqual(GREEN_20);
    expect((after.at(-1) as StickWrite).at - changedAt).toBeLessThanOrEqual(500);
  });

  it('keep the order the states came in, however fast they come', async () => {
    const { stick, led } = await rig({ writeDelayMs: 250 });
    void led.set('detected');
    void led.set('working');
    void led.set('failed');
    const last = led.set('done');
    await vi.advanceTimersByTimeAsync(2000);
    await last;
    expect(stick.maxInFlight).toBe(1);
    expect(stick.sequence(0).map(rgbText)).toEqual([BLUE_20, WORKING_FLOOR_20, RED_20, GREEN_20].map(rgbText));
  });
});

describe('an 8-LED BlinkStick', () => {
  it.each([
    ['Square', SQUARE],
    ['Strip', STRIP],
  ] as const)('on a %s shows working progress of 0, 40 and 100 percent as 1, 3 and 8 lit LEDs, each with one frame report', async (_name, options) => {
    const { stick, led, connection } = await rig(options);
    expect(connection.ledCount).toBe(8);
    for (const [percent, lit] of [
      [0, 1],
      [40, 3],
      [100, 8],
    ] as const) {
      const before = stick.writes.length;
      await show(led, 'working', 0, percent);
      const added = stick.writes.slice(before);
      expect(added, `${percent} %`).toHaveLength(1);
      expect(added[0]?.report[0]).toBe(6);
      expect(added[0]?.report).toHaveLength(2 + 8 * 3);
      expect(stick.colours(8).map(rgbText), `${percent} %`).toEqual(
        Array.from({ length: 8 }, (_, i) => rgbText(i < lit ? WORKING_PEAK_20 : OFF)),
      );
    }
    const count = stick.writes.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(stick.writes).toHaveLength(count); // a bar does not animate
  });

  it('pulses only LED `index` (report 5) when progressBar is off', async () => {
    const { stick, led } = await rig(STRIP, { progressBar: false, index: 2 });
    await show(led, 'working', 1500, 40);
    expect(stick.writes.length).toBeGreaterThanOrEqual(15);
    expect(stick.writes.every((w) => w.report[0] === 5 && w.report[1] === 0 && w.report[2] === 2)).toBe(true);
    expect(new Set(stick.sequence(2).map(rgbText)).size).toBeGreaterThan(5);
    expect(stick.colourOf(2)).toEqual(WORKING_PEAK_20);
    expect(stick.colours(8).filter((_, i) => i !== 2)).toEqual(Array.from({ length: 7 }, () => OFF));
  });

  it('leaves no LED in the working colour once the job is done after a progress bar', async () => {
    const { stick, led } = await rig(SQUARE);
    await show(led, 'working', 0, 100);
    await show(led, 'done');
    expect(stick.colourOf(0)).toEqual(GREEN_20);
    const leftOver = stick.colours(8).map((c, i) => ({ led: i, colour: rgbText(c) })).filter((l) => l.colour === rgbText(WORKING_PEAK_20));
    expect(leftOver).toEqual([]);
  });
});

describe('led settings', () => {
  it('index 3 on a Square writes report 5 for LED 3 and checks it through the frame read-back', async () => {
    const { stick, led, logs } = await rig(SQUARE, { index: 3 });
    await show(led, 'done');
    expect(reports(stick.writes)).toEqual([[5, 0, 3, GREEN_20.r, GREEN_20.g, GREEN_20.b]]);
    expect(stick.colourOf(3)).toEqual(GREEN_20);
    expect(stick.colourOf(0)).toEqual(OFF);
    expect(stick.reads).toEqual([expect.objectContaining({ reportId: 6, length: 26 })]);
    expect(logs.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('brightness 100 writes the full colour values', async () => {
    const { stick, led } = await rig({}, { brightness: 100 });
    await show(led, 'done');
    expect(reports(stick.writes)).toEqual([[1, 0, 128, 0]]);
    await show(led, 'working', 1500);
    expect(stick.colourOf(0)).toEqual(rgb(0x33, 0xc2, 0x80));
  });

  it('uses a colour set in the config: done: lime is (0,51,0) at 20 %', async () => {
    const { stick, led } = await rig({}, { colours: { done: 'lime' } });
    await show(led, 'done');
    expect(reports(stick.writes)).toEqual([[1, 0, 51, 0]]);
  });

  it('pulse: false shows working as a steady colour', async () => {
    const { stick, led } = await rig({}, { pulse: false });
    await show(led, 'working', 5000);
    expect(reports(stick.writes)).toEqual([[1, WORKING_PEAK_20.r, WORKING_PEAK_20.g, WORKING_PEAK_20.b]]);
  });
});
