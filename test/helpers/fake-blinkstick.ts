// BlinkSticks faked at the HID feature-report level, behind the HidTransport seam: each stick takes reports 1, 5
// and 6-9 the way the firmware does (platform-facts §1), keeps the colour of every LED, answers read-backs, and
// records every write with the colour each LED got. Sticks can be unplugged (every handle then fails like
// node-hid does) and plugged back in, be slow, refuse to open, or lie about their colour.
import type { Rgb } from '../../src/led/colour.js';
import type { HidDeviceInfo, HidHandle, HidTransport } from '../../src/led/transport.js';

export interface FakeStickOptions {
  /** `BSnnnnnn-M.m`; major 1 is a plain BlinkStick, 3 with `release` a Square/Strip/Nano/Flex. */
  serial?: string;
  /** bcdDevice: 0x200 Square, 0x201 Strip, 0x202 Nano, 0x203 Flex. */
  release?: number;
  path?: string;
  /** How long each sendFeatureReport takes (ms, on the timers, so fake timers drive it). */
  writeDelayMs?: number;
  /** Read-backs answer this colour, whatever the LED shows. */
  liesWith?: Rgb;
  /** open() rejects with this message, as without the udev rule. */
  openError?: string;
}

/** One report the stick took. */
export interface StickWrite {
  /** Date.now() when the write began and when the stick took it. */
  startedAt: number;
  at: number;
  report: number[];
  channel: number;
  /** The LEDs the report set, with the colour each one shows now. */
  leds: { index: number; colour: Rgb }[];
}

export interface StickRead {
  at: number;
  reportId: number;
  length: number;
  reply: number[];
}

const OFF: Rgb = { r: 0, g: 0, b: 0 };
const LEDS_PER_CHANNEL = 64;
/** Bytes of each report, report id included. */
const REPORT_SIZE: Readonly<Record<number, number>> = { 1: 4, 4: 2, 5: 6, 6: 26, 7: 50, 8: 98, 9: 194 };
const FRAME_LEDS: Readonly<Record<number, number>> = { 6: 8, 7: 16, 8: 32, 9: 64 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The colour as `r,g,b`, for readable assertions. */
export const rgbText = (c: Rgb): string => `${c.r},${c.g},${c.b}`;

export class FakeBlinkStick {
  private readonly goneListeners: ((error: Error) => void)[] = [];
  readonly serial: string;
  readonly release: number;
  readonly path: string;
  writeDelayMs: number;
  liesWith: Rgb | undefined;
  openError: string | undefined;
  readonly writes: StickWrite[] = [];
  readonly reads: StickRead[] = [];
  /** Most writes that were on their way at the same time. */
  maxInFlight = 0;
  /** Handles opened and not closed (a handle of an unplugged stick counts until closed). */
  openHandles = 0;
  private inFlight = 0;
  private plugged = true;
  /** Bumped at every unplug: handles from before stay dead, as a hidraw fd does after the device went away. */
  private generation = 0;
  private channels: Rgb[][] = FakeBlinkStick.dark();

  constructor(options: FakeStickOptions = {}) {
    this.serial = options.serial ?? 'BS000001-1.0';
    this.release = options.release ?? 0x100;
    this.path = options.path ?? `/dev/hidraw-fake-${this.serial}`;
    this.writeDelayMs = options.writeDelayMs ?? 0;
    this.liesWith = options.liesWith;
    this.openError = options.openError;
  }

  private static dark(): Rgb[][] {
    return [0, 1, 2].map(() => Array.from({ length: LEDS_PER_CHANNEL }, () => OFF));
  }

  get pluggedIn(): boolean {
    return this.plugged;
  }

  get info(): HidDeviceInfo {
    return { path: this.path, serial: this.serial, release: this.release };
  }

  /** What LED `index` of `channel` shows now. */
  colourOf(index = 0, channel = 0): Rgb {
    return this.channels[channel]?.[index] ?? OFF;
  }

  /** What LEDs 0..count-1 of channel 0 show now. */
  colours(count: number): Rgb[] {
    return Array.from({ length: count }, (_, i) => this.colourOf(i));
  }

  /** Every colour LED `index` (channel 0) was set to, in order. */
  sequence(index = 0): Rgb[] {
    return this.writesSince(0).flatMap((w) => (w.channel === 0 ? w.leds.filter((l) => l.index === index).map((l) => l.colour) : []));
  }

  /** The writes the stick took at or after `time` (Date.now()). */
  writesSince(time: number): StickWrite[] {
    return this.writes.filter((w) => w.at >= time);
  }

  /** Pulls the stick out: it leaves the bus listing, and every handle to it fails from now on. */
  unplug(): void {
    this.plugged = false;
    this.generation++;
    // The kernel ends the blocked read of every open handle, and node-hid emits 'error' on each.
    for (const gone of this.goneListeners.splice(0)) gone(new Error('could not read from HID device'));
  }

  /** Plugs it back in: it powers up dark and must be opened again. */
  plugIn(): void {
    this.plugged = true;
    this.channels = FakeBlinkStick.dark();
  }

  /** Opens a handle, as hid_open_path does. */
  open(): HidHandle {
    if (!this.plugged) throw new Error(`cannot open device with path ${this.path}`);
    if (this.openError !== undefined) throw new Error(this.openError);
    const generation = this.generation;
    let closed = false;
    this.openHandles++;
    const usable = (what: string) => {
      if (closed) throw new TypeError('Cannot write to closed device');
      if (!this.plugged || generation !== this.generation) throw new Error(what);
    };
    return {
      sendFeatureReport: async (data) => {
        usable('could not send feature report to device');
        const startedAt = Date.now();
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          if (this.writeDelayMs > 0) await sleep(this.writeDelayMs);
          usable('could not send feature report to device');
          this.apply(data, startedAt);
        } finally {
          this.inFlight--;
        }
      },
      getFeatureReport: async (reportId, length) => {
        usable('could not get feature report from device');
        const reply = this.answer(reportId, length);
        this.reads.push({ at: Date.now(), reportId, length, reply });
        return reply;
      },
      onGone: (listener) => {
        this.goneListeners.push(listener);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.openHandles--;
        // hid_close on a vanished device still frees the handle, but node-hid reports the error.
        if (!this.plugged || generation !== this.generation) throw new Error('could not close device');
      },
    };
  }

  /** The firmware's usbFunctionWrite: report 1 → LED 0, report 5 → one LED, reports 6-9 → a GRB frame. */
  private apply(data: number[], startedAt: number): void {
    const id = data[0];
    const size = id === undefined ? undefined : REPORT_SIZE[id];
    if (id === undefined || size === undefined) throw new Error('could not send feature report to device');
    if (data.length !== size) throw new Error(`report ${id} is ${size} bytes, got ${data.length}`);
    if (!data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) throw new TypeError(`report ${id} has a byte out of 0..255: ${data.join(',')}`);
    const byte = (i: number): number => data[i] ?? 0;
    const set: { index: number; colour: Rgb }[] = [];
    let channel = 0;
    if (id === 1) {
      set.push({ index: 0, colour: { r: byte(1), g: byte(2), b: byte(3) } });
    } else if (id === 5) {
      channel = byte(1);
      set.push({ index: byte(2), colour: { r: byte(3), g: byte(4), b: byte(5) } });
    } else if (id >= 6) {
      channel = byte(1);
      const leds = FRAME_LEDS[id] ?? 0;
      for (let n = 0; n < leds; n++) set.push({ index: n, colour: { r: byte(3 + n * 3), g: byte(2 + n * 3), b: byte(4 + n * 3) } });
    }
    const leds = this.channels[channel];
    if (!leds) throw new Error(`no channel ${channel}`);
    for (const { index, colour } of set) {
      if (index >= LEDS_PER_CHANNEL) throw new Error(`no LED ${index}`);
      leds[index] = colour;
    }
    this.writes.push({ startedAt, at: Date.now(), report: [...data], channel, leds: set });
  }

  /** getFeatureReport: report 1 → `[1,R,G,B,0…]`; reports 6-9 → `[id, 0, g,r,b…]` (channel 0's GRB frame). */
  private answer(reportId: number, length: number): number[] {
    const reply = new Array<number>(length).fill(0);
    const shown = (index: number): Rgb => this.liesWith ?? this.colourOf(index);
    if (reportId === 1) {
      const c = shown(0);
      reply.splice(0, 4, 1, c.r, c.g, c.b);
    } else if (FRAME_LEDS[reportId] !== undefined) {
      reply[0] = reportId;
      for (let n = 0; n < (FRAME_LEDS[reportId] ?? 0) && 4 + n * 3 < length; n++) {
        const c = shown(n);
        reply.splice(2 + n * 3, 3, c.g, c.r, c.b);
      }
    } else {
      throw new Error('could not get feature report from device');
    }
    return reply.slice(0, length);
  }
}

/** The USB bus with some fake BlinkSticks on it. */
export class FakeHidTransport implements HidTransport {
  readonly sticks: FakeBlinkStick[];
  listCalls = 0;
  openCalls = 0;

  constructor(...sticks: FakeBlinkStick[]) {
    this.sticks = sticks;
  }

  async list(): Promise<HidDeviceInfo[]> {
    this.listCalls++;
    return this.sticks.filter((s) => s.pluggedIn).map((s) => s.info);
  }

  async open(path: string): Promise<HidHandle> {
    this.openCalls++;
    const stick = this.sticks.find((s) => s.path === path);
    if (!stick) throw new Error(`cannot open device with path ${path}`);
    return stick.open();
  }
}
