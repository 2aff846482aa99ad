// What the LED shows for each state: one owner (LedController) turns a state into one of these patterns.
import type { LedSettings } from '../config/model.js';
import { parseColour, type Rgb } from './colour.js';

export type LedState = 'idle' | 'detected' | 'working' | 'done' | 'failed' | 'overdue' | 'attention';

export const LED_STATES: readonly LedState[] = ['idle', 'detected', 'working', 'done', 'failed', 'overdue', 'attention'];

export type Pattern =
  | { kind: 'steady'; colour: Rgb }
  /** Brightness rising and falling over `periodMs`. */
  | { kind: 'pulse'; colour: Rgb; periodMs: number }
  /** On for half of `periodMs`, off for the other half. */
  | { kind: 'blink'; colour: Rgb; periodMs: number }
  /** The first `lit` of `count` LEDs on: a progress bar on an 8-LED stick. */
  | { kind: 'bar'; colour: Rgb; lit: number; count: number };

export const PULSE_PERIOD_MS = 3000;
export const BLINK_PERIOD_MS = 1000;
/** How often an animation redraws: smooth enough for a slow pulse, light on the USB bus. */
export const FRAME_MS = 100;

/** The colour configured for a state (validated with the config, so it always parses). */
export function colourOf(settings: LedSettings, state: LedState): Rgb {
  return parseColour(settings.colours[state]) ?? { r: 0, g: 0, b: 0 };
}

/** The pattern for a state on a stick with `ledCount` LEDs; `percent` is the copy's progress while working. */
export function patternFor(settings: LedSettings, state: LedState, ledCount: number, percent?: number): Pattern {
  const colour = colourOf(settings, state);
  if (state === 'working' && settings.progressBar && ledCount === 8 && percent !== undefined) {
    return { kind: 'bar', colour, lit: Math.max(1, Math.round((percent / 100) * 8)), count: 8 };
  }
  if (state === 'working' && settings.pulse) return { kind: 'pulse', colour, periodMs: PULSE_PERIOD_MS };
  if (state === 'attention') return { kind: 'blink', colour, periodMs: BLINK_PERIOD_MS };
  return { kind: 'steady', colour };
}

/** The colour an animated pattern shows `elapsedMs` after it started. */
export function colourAt(pattern: Pattern, elapsedMs: number): Rgb {
  switch (pattern.kind) {
    case 'pulse': {
      // A triangle wave between 15% and 100%: never fully dark, so "working" never looks like "off".
      const phase = (elapsedMs % pattern.periodMs) / pattern.periodMs;
      const level = 0.15 + 0.85 * (1 - Math.abs(2 * phase - 1));
      return scale(pattern.colour, level);
    }
    case 'blink':
      return elapsedMs % pattern.periodMs < pattern.periodMs / 2 ? pattern.colour : { r: 0, g: 0, b: 0 };
    default:
      return pattern.colour;
  }
}

export function isAnimated(pattern: Pattern): boolean {
  return pattern.kind === 'pulse' || pattern.kind === 'blink';
}

export function samePattern(a: Pattern, b: Pattern): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function scale(c: Rgb, level: number): Rgb {
  return { r: Math.round(c.r * level), g: Math.round(c.g * level), b: Math.round(c.b * level) };
}
