// sync: one rsync per state into <snapshots>/<name>.incomplete/<state>/, hard-linking unchanged files to the
// previous snapshot. An interrupted run's .incomplete is reused, so a resumed run copies only what is missing.
import { execa } from 'execa';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { State } from '../../config/model.js';
import { INCOMPLETE_SUFFIX } from '../../repo/layout.js';
import { listSnapshots, type SourceMount } from '../../repo/snapshots.js';
import {
  classifyRsyncExit,
  parseRsyncStats,
  rsyncArgs,
  RsyncOutputSplitter,
  withLowPriority,
  type RsyncProgress,
} from '../../system/rsync.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';
import { sourceMount } from './check-source.js';

const MAX_PROBLEMS = 200;
const PROGRESS_EVERY_MS = 250;
const LOG_PROGRESS_EVERY_MS = 10_000;

export const sync: Step<BackupContext> = {
  name: 'sync',
  async run(ctx) {
    await chooseWorkDir(ctx);
    const weights = stateWeights(ctx);
    for (const [index, state] of ctx.config.states.entries()) {
      await syncState(ctx, state, index, weights);
    }
  },
  // Nothing to undo: the .incomplete directory stays for the next run to resume.
};

/** Reuses the newest interrupted run, or starts a new .incomplete directory. */
async function chooseWorkDir(ctx: BackupContext): Promise<void> {
  // Listed again under the lock: another run may have completed a snapshot while this one waited.
  const { incomplete, complete } = await listSnapshots(ctx.paths, true);
  ctx.previous = complete.at(-1);
  const resume = incomplete.at(-1);
  if (resume) {
    ctx.resumedFrom = resume.slice(0, -INCOMPLETE_SUFFIX.length);
    ctx.workDir = path.join(ctx.paths.snapshots, resume);
    ctx.log.info({ workDir: ctx.workDir }, `resuming the interrupted snapshot ${resume}`);
    // A state dropped from the config since the interruption must not reappear in the new snapshot.
    const wanted = new Set(ctx.config.states.map((s) => s.name));
    for (const entry of await readdir(ctx.workDir)) {
      if (!wanted.has(entry)) await rm(path.join(ctx.workDir, entry), { recursive: true, force: true });
    }
  } else {
    ctx.workDir = path.join(ctx.paths.snapshots, `${ctx.snapshotName}${INCOMPLETE_SUFFIX}`);
    await mkdir(ctx.workDir);
  }
}

/** Each state's share of the whole copy, from the last snapshot's sizes (equal shares the first time). */
function stateWeights(ctx: BackupContext): number[] {
  const sizes = ctx.config.states.map((s) => ctx.previous?.record?.states[s.name]?.bytes ?? 0);
  const total = sizes.reduce((a, b) => a + b, 0);
  return total > 0 ? sizes.map((b) => b / total) : ctx.config.states.map(() => 1 / ctx.config.states.length);
}

async function syncState(ctx: BackupContext, state: State, index: number, weights: number[]): Promise<void> {
  const workDir = ctx.workDir as string;
  const dest = path.join(workDir, state.name);
  await mkdir(dest, { recursive: true });
  const linkDest = ctx.previous ? path.join(ctx.previous.dir, state.name) : undefined;
  const args = rsyncArgs({
    sources: state.folders,
    dest,
    // A state added since the last snapshot has nothing to link to.
    linkDest: linkDest && (await exists(linkDest)) ? linkDest : undefined,
    excludes: [...ctx.config.backup.exclude, ...state.exclude],
    bandwidthLimitBytes: ctx.config.backup.bandwidthLimit,
    xattrs: ctx.features?.xattrs ?? true,
    acls: ctx.features?.acls ?? true,
    fineTimes: ctx.features?.fineTimes ?? false,
  });
  const { command, args: argv } = withLowPriority('rsync', args, ctx.config.backup);
  const log = ctx.log.child({ state: state.name });
  log.info({ command: [command, ...argv] }, `copying state "${state.name}" (${state.folders.join(', ')})`);

  const done = weights.slice(0, index).reduce((a, b) => a + b, 0) * 100;
  const share = weights[index] ?? 0;
  const report = progressReporter(ctx, state, index, (p) => done + (share * p.percent));
  const lines: string[] = [];
  // Only the last lines matter (the statistics come at the end); keep a bounded tail.
  const splitter = new RsyncOutputSplitter(report, (line) => lines.push(line) > 100 && lines.shift());

  const child = execa(command, argv, { cancelSignal: ctx.signal, reject: false, buffer: false, stdin: 'ignore' });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => splitter.push(chunk));
  const stderr = collectStderr(child.stderr, ctx, log);
  const result = await child;
  splitter.end();
  await stderr;

  if (ctx.signal.aborted) throw new Error(`cancelled while copying state "${state.name}"`);
  if ((result as { code?: string }).code === 'ENOENT') {
    throw new Error(`${command} is not installed (apt-get install rsync util-linux)`);
  }
  if (result.exitCode === undefined) {
    throw new Error(`rsync for state "${state.name}" was killed by ${result.signal ?? 'a signal'}; the copy so far is kept for the next run`);
  }
  ctx.rsyncExitCodes.push(result.exitCode);
  const outcome = classifyRsyncExit(result.exitCode);
  if (outcome.kind === 'failed') {
    const last = ctx.problems.slice(-3).join(' | ');
    throw new Error(`rsync failed for state "${state.name}" with exit code ${outcome.code}: ${outcome.meaning}${last ? `; it said: ${last}` : ''}`);
  }
  if (outcome.kind === 'warning') ctx.warn(`state "${state.name}": rsync ${outcome.meaning} (exit ${outcome.code}); see the listed files`);
  const stats = parseRsyncStats(lines);
  if (!stats) throw new Error(`rsync for state "${state.name}" printed no statistics; cannot tell what it copied`);
  const mounts: Record<string, SourceMount> = {};
  for (const folder of state.folders) {
    const m = await sourceMount(folder);
    if (m) mounts[folder] = m;
  }
  ctx.states[state.name] = { folders: state.folders, ...stats, mounts };
  ctx.transferredBytes += stats.transferredBytes;
  report.flush();
  log.info({ ...stats }, `state "${state.name}" copied: ${stats.files} files, ${stats.transferredBytes} of ${stats.bytes} bytes transferred`);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** rsync's complaints (one per line) go to the log and into the snapshot's record, bounded. */
async function collectStderr(stream: NodeJS.ReadableStream | null, ctx: BackupContext, log: BackupContext['log']): Promise<void> {
  if (!stream) return;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    log.warn({ stream: 'rsync' }, line);
    if (ctx.problems.length < MAX_PROBLEMS) ctx.problems.push(line);
  }
}

/** Turns rsync's updates into throttled progress events and occasional log lines. */
function progressReporter(ctx: BackupContext, state: State, index: number, overall: (p: RsyncProgress) => number) {
  let lastEvent = 0;
  let lastLog = Date.now();
  let latest: RsyncProgress | undefined;
  let best = 0;
  let eta: number | undefined;
  const send = (p: RsyncProgress) => {
    eta = p.etaSeconds ?? eta;
    // progress2's total grows while rsync still scans, so its percentage can step back; the bar must not.
    best = Math.max(best, Math.min(100, overall(p)));
    const progress = {
      state: state.name,
      stateIndex: index + 1,
      stateCount: ctx.config.states.length,
      bytes: p.bytes,
      percent: best,
      rate: p.rate,
      etaSeconds: eta,
    };
    ctx.emit({ type: 'progress', progress });
    if (Date.now() - lastLog >= LOG_PROGRESS_EVERY_MS) {
      lastLog = Date.now();
      ctx.log.info({ progress }, `progress ${best.toFixed(0)}%`);
    }
  };
  const report = (p: RsyncProgress) => {
    latest = p;
    const now = Date.now();
    if (now - lastEvent < PROGRESS_EVERY_MS) return;
    lastEvent = now;
    send(p);
  };
  report.flush = () => latest && send(latest);
  return report;
}
