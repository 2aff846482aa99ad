// The one progress figure a person reads while a job copies: the whole job's percentage (the states weighted by
// last time's sizes, see sync.ts), the bytes copied in all states so far, the rate, and a time left worked out
// from the job's own pace. rsync's own estimate is per state and per file, which gave `? left` and `0ms left`.
import { formatBytes, formatDuration } from '../config/units.js';

/** Before this much of the job is done, and this long into the copy, an estimate is only noise. */
const MIN_PERCENT = 1;
const MIN_ELAPSED_MS = 3000;

export interface FigureInput {
  percent: number;
  state: string;
  stateIndex: number;
  stateCount: number;
  /** Bytes copied in this state so far. */
  bytes: number;
  rate: number;
}

/** Adds each state's bytes up and keeps the copy's start, so the estimate covers the whole job. */
export class ProgressFigure {
  private readonly perState = new Map<number, number>();
  private started: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** The line to show for this update. */
  line(p: FigureInput): string {
    this.started ??= this.now();
    this.perState.set(p.stateIndex, p.bytes);
    const copied = [...this.perState.values()].reduce((a, b) => a + b, 0);
    const state = p.stateCount > 1 ? `${p.state} (${p.stateIndex}/${p.stateCount})` : p.state;
    const left = timeLeft(this.now() - this.started, p.percent);
    return [`${Math.floor(p.percent)}%`, state, `${formatBytes(copied)} copied`, `${formatBytes(p.rate)}/s`, left].join(' | ');
  }
}

/** "5m left" from the pace so far, or "estimating" while too little is done to tell. */
export function timeLeft(elapsedMs: number, percent: number): string {
  if (percent >= 100) return 'finishing';
  if (percent < MIN_PERCENT || elapsedMs < MIN_ELAPSED_MS) return 'estimating';
  const leftMs = (elapsedMs * (100 - percent)) / percent;
  // Under a second reads as "0ms" otherwise; a person wants to know it is nearly done.
  return leftMs < 1000 ? 'under 1s left' : `${formatDuration(leftMs)} left`;
}
