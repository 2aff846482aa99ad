// rsync for one restore item, with its progress2 updates turned into the job's progress events (one figure over
// all items, each weighted by its state's size in the snapshot's record) and its --stats kept for the summary.
// A restore used to be silent for as long as it ran.
import { execa } from 'execa';
import type { Config } from '../config/model.js';
import type { SyncProgress } from '../job/events.js';
import { childEnvironment } from '../system/child-env.js';
import { parseRsyncStats, RsyncOutputSplitter, type RsyncStats } from '../system/rsync.js';
import type { RestoreItem, RestorePlan } from './plan.js';

const PROGRESS_EVERY_MS = 250;

export interface RestoreTotals {
  files: number;
  copiedBytes: number;
}

export interface CopyRun {
  exitCode?: number | undefined;
  stderr: string;
  stats?: RsyncStats | undefined;
}

/** Each item's share of the whole restore: its state's bytes in the record, split over the state's items; else equal. */
export function itemWeights(plan: RestorePlan): number[] {
  const perState = (state: string) => plan.items.filter((i) => i.state === state).length;
  const sizes = plan.items.map((i) => (plan.snapshot.record?.states[i.state]?.bytes ?? 0) / perState(i.state));
  const total = sizes.reduce((a, b) => a + b, 0);
  return total > 0 ? sizes.map((s) => s / total) : plan.items.map(() => 1 / plan.items.length);
}

/** Runs rsync with `args` (the paths last), reporting progress for item `index` of the plan. */
export async function copyWithProgress(
  run: { config: Config; plan: RestorePlan; signal: AbortSignal; emit: (e: { type: 'progress'; progress: SyncProgress }) => void },
  item: RestoreItem,
  args: string[],
): Promise<CopyRun> {
  const index = run.plan.items.indexOf(item);
  const weights = itemWeights(run.plan);
  const before = weights.slice(0, index).reduce((a, b) => a + b, 0) * 100;
  let last = 0;
  let best = before;
  const lines: string[] = [];
  const splitter = new RsyncOutputSplitter(
    (p) => {
      best = Math.max(best, Math.min(100, before + (weights[index] ?? 0) * p.percent));
      if (Date.now() - last < PROGRESS_EVERY_MS) return;
      last = Date.now();
      const progress = { state: item.state, stateIndex: index + 1, stateCount: run.plan.items.length, bytes: p.bytes, percent: best, rate: p.rate };
      run.emit({ type: 'progress', progress });
    },
    (line) => lines.push(line) > 100 && lines.shift(),
  );
  const child = execa('rsync', ['--info=progress2', '--no-h', '--stats', ...args], {
    reject: false,
    cancelSignal: run.signal,
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
    env: childEnvironment(run.config),
    extendEnv: false,
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => splitter.push(chunk));
  const result = await child;
  splitter.end();
  return { exitCode: result.exitCode, stderr: String(result.stderr ?? ''), stats: parseRsyncStats(lines) };
}
