// The one owner of the LED: it turns a state into a pattern and draws it, animating with timers that are
// cancelled the moment the state changes. Drawing never blocks the event loop: a frame is skipped while
// the previous write is still on its way.
import type { LedSettings } from '../config/model.js';
import type { Rgb } from './colour.js';
import { colourAt, FRAME_MS, isAnimated, patternFor, samePattern, type LedState, type Pattern } from './patterns.js';

/** Where the controller draws: a BlinkStick connection, or a recording fake in tests. */
export interface LedOutput {
  /** LEDs on the stick (1 when none is connected). */
  readonly ledCount: number;
  /** Sets the state LED; `verify` reads the colour back where the stick allows. */
  showColour(colour: Rgb, verify: boolean): Promise<void>;
  /** Sets every LED at once (the progress bar). */
  showFrame(colours: Rgb[]): Promise<void>;
}

export class LedController {
  private current: LedState = 'idle';
  private percent: number | undefined;
  private pattern: Pattern | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** Every write goes through this chain, so they reach the stick in the order the states came. */
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private barShown = false;

  constructor(
    private readonly settings: LedSettings,
    private readonly output: LedOutput,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): LedState {
    return this.current;
  }

  /** Shows `state` (with the copy's progress while working); an unchanged pattern is not redrawn. */
  set(state: LedState, percent?: number): Promise<void> {
    this.current = state;
    this.percent = percent;
    const next = patternFor(this.settings, state, this.output.ledCount, percent);
    if (this.pattern && samePattern(this.pattern, next)) return this.chain;
    this.stopAnimation();
    this.pattern = next;
    return this.enqueue(() => this.draw(next));
  }

  /** Draws the current state again, e.g. after the stick was plugged back in. */
  redraw(): Promise<void> {
    this.stopAnimation();
    const pattern = patternFor(this.settings, this.current, this.output.ledCount, this.percent);
    this.pattern = pattern;
    return this.enqueue(() => this.draw(pattern));
  }

  /** Resolves once every write asked for so far has been made. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Stops any animation, leaving the last colour on the stick; a frame still being written starts no new one. */
  stop(): void {
    this.stopAnimation();
    this.pattern = undefined;
  }

  private stopAnimation(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    this.pending++;
    this.chain = this.chain
      .then(write)
      .catch(() => undefined) // the output reports its own errors; a failed frame must not stop the next
      .finally(() => this.pending--);
    return this.chain;
  }

  private async draw(pattern: Pattern): Promise<void> {
    this.startedAt = this.now();
    const off = { r: 0, g: 0, b: 0 };
    if (pattern.kind === 'bar') {
      await this.output.showFrame(Array.from({ length: pattern.count }, (_, i) => (i < pattern.lit ? pattern.colour : off)));
      this.barShown = true;
      return;
    }
    if (this.barShown) {
      // A bar lit several LEDs: darken them all, or "done" would be one green LED among seven teal ones.
      await this.output.showFrame(Array.from({ length: this.output.ledCount }, () => off));
      this.barShown = false;
    }
    await this.output.showColour(colourAt(pattern, 0), !isAnimated(pattern));
    if (isAnimated(pattern) && this.pattern === pattern) {
      this.timer = setInterval(() => this.frame(pattern), FRAME_MS);
      this.timer.unref();
    }
  }

  private frame(pattern: Pattern): void {
    // Skip the frame while a write is still on its way, rather than letting writes pile up.
    if (this.pending > 0 || this.pattern !== pattern) return;
    void this.enqueue(() => this.output.showColour(colourAt(pattern, this.now() - this.startedAt), false));
  }
}
