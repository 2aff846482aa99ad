// One BlinkStick, kept connected: chosen by serial (or the first found), written with the protocol's reports,
// checked by reading the colour back, and found again after it is unplugged and plugged back in. It polls for a
// stick only while none is connected.
import type { Logger } from 'pino';
import { applyBrightness } from './brightness.js';
import type { Rgb } from './colour.js';
import type { LedOutput } from './led-controller.js';
import { frameReport, ledCountOf, parseReadBack, readColourRequest, setColourReport, variantOf, type Variant } from './protocol.js';
import { readError, type HidDeviceInfo, type HidHandle, type HidTransport } from './transport.js';

export interface StickOptions {
  serial?: string | undefined;
  index: number;
  brightness: number;
  /** How often to look for a stick while none is connected. */
  pollMs?: number;
}

export interface StickInfo extends HidDeviceInfo {
  variant: Variant;
  ledCount: number;
}

/** Describes what is plugged in, for `plugback led list`. */
export function describeStick(info: HidDeviceInfo): StickInfo {
  const variant = variantOf(info.serial, info.release);
  return { ...info, variant, ledCount: ledCountOf(variant) };
}

export class StickConnection implements LedOutput {
  private handle: HidHandle | undefined;
  private info: StickInfo | undefined;
  private poller: NodeJS.Timeout | undefined;
  private announcedMissing = false;
  private unopenable = new Set<string>();

  constructor(
    private readonly transport: HidTransport,
    private readonly options: StickOptions,
    private readonly log: Logger,
    /** Called when a stick (re)appears, so the owner can draw the current state on it. */
    private readonly onConnect: () => void = () => undefined,
  ) {}

  get ledCount(): number {
    return this.info?.ledCount ?? 1;
  }

  get connected(): StickInfo | undefined {
    return this.handle ? this.info : undefined;
  }

  /** Looks for the stick now; without one, says so once and keeps looking in the background. */
  async start(): Promise<void> {
    if (!(await this.connect())) this.watchForStick();
  }

  async showColour(colour: Rgb, verify: boolean): Promise<void> {
    const index = this.options.index;
    const rgb = applyBrightness(colour, this.options.brightness);
    // A plain BlinkStick has one LED: index 0 through report 1. Indexed sticks take report 5.
    await this.write(setColourReport(rgb, index), verify ? () => this.verify(index, rgb) : undefined);
  }

  async showFrame(colours: Rgb[]): Promise<void> {
    await this.write(frameReport(colours.map((c) => applyBrightness(c, this.options.brightness))));
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  private async connect(): Promise<boolean> {
    const sticks = await this.transport.list().catch(() => []);
    const found = this.options.serial ? sticks.find((s) => s.serial === this.options.serial) : sticks[0];
    if (!found) {
      if (!this.announcedMissing) {
        const which = this.options.serial ? `BlinkStick ${this.options.serial}` : 'BlinkStick';
        this.log.info(`no ${which} found; the LED stays dark until one is plugged in`);
        this.announcedMissing = true;
      }
      return false;
    }
    let handle: HidHandle;
    try {
      handle = await this.transport.open(found.path);
    } catch (error) {
      // Once per device: without the udev rule this would otherwise repeat at every look.
      if (!this.unopenable.has(found.path)) {
        this.log.warn({ path: found.path }, `cannot open the BlinkStick at ${found.path}: ${(error as Error).message} (is the udev rule installed?)`);
        this.unopenable.add(found.path);
      }
      return false;
    }
    this.unopenable.delete(found.path);
    this.handle = handle;
    handle.onGone((error) => void this.lost(handle, error));
    this.info = describeStick(found);
    this.announcedMissing = false;
    this.log.info({ serial: found.serial }, `using ${this.info.variant} ${found.serial} (${this.info.ledCount} LEDs)`);
    this.onConnect();
    return true;
  }

  private watchForStick(): void {
    if (this.poller) return;
    this.poller = setInterval(() => {
      void this.connect().then((ok) => {
        if (ok && this.poller) {
          clearInterval(this.poller);
          this.poller = undefined;
        }
      });
    }, this.options.pollMs ?? 2000);
    this.poller.unref();
  }

  private async write(report: number[], check?: () => Promise<void>): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    try {
      await handle.sendFeatureReport(report);
    } catch (error) {
      await this.lost(handle, readError(error));
      // It may be back already (replugged between two writes): then this colour must not be lost.
      if (this.handle) await this.write(report, check);
      return;
    }
    await check?.();
  }

  /** The stick went away: say why (the stock CLI swallows USB errors), look for it once, else wait for it. */
  private async lost(handle: HidHandle, error: Error): Promise<void> {
    if (this.handle !== handle) return;
    this.handle = undefined;
    this.log.warn(`the BlinkStick stopped answering (${error.message}); waiting for it to come back`);
    await handle.close().catch(() => undefined);
    if (!(await this.connect())) this.watchForStick();
  }

  private async verify(index: number, expected: Rgb): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const request = readColourRequest(index);
    let actual: Rgb;
    try {
      actual = parseReadBack(index, await handle.getFeatureReport(request.reportId, request.length));
    } catch {
      return; // This stick cannot report its colour: nothing to compare.
    }
    if (actual.r !== expected.r || actual.g !== expected.g || actual.b !== expected.b) {
      this.log.warn({ expected, actual }, `the BlinkStick shows ${JSON.stringify(actual)} after being set to ${JSON.stringify(expected)}`);
    }
  }
}
