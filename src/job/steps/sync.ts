// sync: one rsync per state into <snapshots>/<name>.incomplete/<state>/, hard-linking unchanged files to the
// previous snapshot (on a btrfs drive the .incomplete already is a copy-on-write snapshot of it: rsync only
// changes what changed). An interrupted run's .incomplete is reused, so a resumed run copies only what is missing.
import { formatBytes } from '../../config/units.js';
import { opendir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { State } from '../../config/model.js';
import type { DriveDir } from '../../repo/drive-dir.js';
import { withRepository, type Repository } from '../../repo/repository.js';
import type { SourceMount } from '../../repo/snapshot-record.js';
import {
  classifyRsyncExit,
  parseRsyncChanges,
  parseRsyncStats,
  rsyncArgs,
  RsyncOutputSplitter,
  withLowPriority,
  type RsyncChanges,
  type RsyncProgress,
} from '../../system/rsync.js';
import { childEnvironment } from '../../system/child-env.js';
import { startProgram } from '../../system/spawn-program.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';
import { sourceMount } from './check-source.js';
import { openWorkDir } from './work-dir.js';

const MAX_PROBLEMS = 200;
const PROGRESS_EVERY_MS = 250;
const LOG_PROGRESS_EVERY_MS = 10_000;

export const sync: Step<BackupContext> = {
  name: 'sync',
  async run(ctx) {
    await withRepository(ctx.paths.root, ctx.config.host, async (repo) => {
      const work = await openWorkDir(ctx, repo);
      try {
        const weights = stateWeights(ctx);
        for (const [index, state] of ctx.config.states.entries()) {
          await syncState(ctx, repo, work, state, index, weights);
        }
      } finally {
        await work.close();
      }
    });
  },
  // Nothing to undo: the .incomplete directory stays for the next run to resume.
};

/** Each state's share of the whole copy, from the last snapshot's sizes (equal shares the first time). */
function stateWeights(ctx: BackupContext): number[] {
  const sizes = ctx.config.states.map((s) => ctx.previous?.record?.states[s.name]?.bytes ?? 0);
  const total = sizes.reduce((a, b) => a + b, 0);
  return total > 0 ? sizes.map((b) => b / total) : ctx.config.states.map(() => 1 / ctx.config.states.length);
}

async function syncState(ctx: BackupContext, repo: Repository, work: DriveDir, state: State, index: number, weights: number[]): Promise<void> {
  // rsync is handed only folders this process opened and checked, by their /proc/<pid>/fd paths: a link swapped
  // in after the check cannot redirect it.
  const dest = await work.ensureDir(state.name);
  const linkDest = await previousStateDir(ctx, repo, state);
  try {
    await copyState(ctx, state, index, weights, dest, linkDest);
  } finally {
    await Promise.all([dest.close(), linkDest?.close()]);
  }
}

/** The same state's folder in the previous snapshot, to hard-link unchanged files to; none when it is not usable. */
async function previousStateDir(ctx: BackupContext, repo: Repository, state: State): Promise<DriveDir | undefined> {
  // Hard links cannot cross btrfs subvolumes, and are not needed there.
  if (!ctx.previous || (await repo.kind()) === 'btrfs-subvolumes') return undefined;
  try {
    const snapshot = await repo.openSnapshot(ctx.previous.name);
    try {
      // A state added since the last snapshot has nothing to link to.
      return await snapshot.openDir(state.name);
    } finally {
      await snapshot.close();
    }
  } catch (error) {
    ctx.warn(`state "${state.name}" is copied whole, without hard links to snapshot ${ctx.previous.name}: ${(error as Error).message}`);
    return undefined;
  }
}

async function copyState(ctx: BackupContext, state: State, index: number, weights: number[], dest: DriveDir, linkDest: DriveDir | undefined): Promise<void> {
  const args = rsyncArgs({
    sources: state.folders,
    dest: dest.pinned,
    linkDest: linkDest?.pinned,
    excludes: [...ctx.config.backup.exclude, ...state.exclude],
    bandwidthLimitBytes: ctx.config.backup.bandwidthLimit,
    xattrs: ctx.features?.xattrs ?? true,
    acls: ctx.features?.acls ?? true,
    fineTimes: ctx.features?.fineTimes ?? false,
  });
  // In messages, the folders by the names people know.
  const readable = (text: string) => [dest, linkDest].reduce((t, d) => (d ? t.replaceAll(d.pinned, d.path) : t), text);
  const { command, args: argv } = withLowPriority('rsync', args, ctx.config.backup);
  const log = ctx.log.child({ state: state.name });
  log.info({ command: [command, ...argv].map(readable) }, `copying state "${state.name}" (${state.folders.join(', ')})`);

  const done = weights.slice(0, index).reduce((a, b) => a + b, 0) * 100;
  const share = weights[index] ?? 0;
  const report = progressReporter(ctx, state, index, (p) => done + (share * p.percent));
  const lines: string[] = [];
  // Only the last lines matter (the statistics come at the end); keep a bounded tail.
  const splitter = new RsyncOutputSplitter(report, (line) => lines.push(line) > 100 && lines.shift());

  // Without plugback's secrets (the SMTP password variable, CREDENTIALS_DIRECTORY).
  const { child, exit } = startProgram(command, argv, { signal: ctx.signal, env: childEnvironment(ctx.config) });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => splitter.push(chunk));
  const stderr = collectStderr(child.stderr, ctx, log, readable);
  const result = await exit;
  splitter.end();
  await stderr;

  // Ctrl-C reaches rsync (same process group) as it reaches plugback, and rsync's exit can be seen first: a cancel
  // must not be told as "rsync failed", with a full drive's advice.
  if (signalled(result)) await cancelSettles(ctx.signal);
  if (ctx.signal.aborted) throw new Error(`cancelled while copying state "${state.name}"`);
  if (result.code === 'ENOENT') {
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
  const hadEntries: Record<string, boolean> = {};
  for (const folder of state.folders) {
    const m = await sourceMount(folder);
    if (m) mounts[folder] = m;
    hadEntries[folder] = await hasEntries(folder);
  }
  ctx.states[state.name] = { folders: state.folders, ...stats, mounts };
  ctx.folderEntries[state.name] = hadEntries;
  report.flush();
  ctx.transferredBytes += stats.transferredBytes;
  ctx.partialBytes = 0;
  countChanges(ctx, state, stats.files, parseRsyncChanges(lines));
  log.info({ ...stats }, `state "${state.name}" copied: ${stats.files} files, ${formatBytes(stats.transferredBytes)} of ${formatBytes(stats.bytes)} transferred`);
}

/**
 * New files are the ones rsync created next to the hard links, changed ones the rest it copied; deleted ones are
 * those of the last snapshot that are neither linked nor changed now (its count, plus the new ones, minus today's).
 */
function countChanges(ctx: BackupContext, state: State, files: number, c: RsyncChanges): void {
  const before = ctx.previous?.record?.states[state.name]?.files;
  ctx.files.new += c.createdFiles;
  ctx.files.changed += Math.max(0, c.copiedFiles - c.createdFiles);
  ctx.files.deleted = before === undefined || ctx.files.deleted === undefined ? undefined : ctx.files.deleted + Math.max(0, before + c.createdFiles - files);
}

/** rsync stopped by SIGINT, SIGTERM or SIGHUP: killed by one, or its exit 20 ("received SIGINT, SIGTERM, or SIGHUP"). */
function signalled(result: { exitCode?: number | undefined; signal?: string | undefined }): boolean {
  return result.exitCode === 20 || ['SIGINT', 'SIGTERM', 'SIGHUP'].includes(result.signal ?? '');
}

/** How long a signalled rsync waits for plugback's own signal handler to cancel the job. */
const CANCEL_SETTLE_MS = 1000;

async function cancelSettles(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, CANCEL_SETTLE_MS);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Whether a source folder holds anything: recorded on the host, so an empty folder next time can be judged. */
async function hasEntries(folder: string): Promise<boolean> {
  const dir = await opendir(folder).catch(() => undefined);
  if (!dir) return false;
  try {
    return (await dir.read()) !== null;
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** rsync's complaints (one per line) go to the log and into the snapshot's record, bounded. */
async function collectStderr(
  stream: NodeJS.ReadableStream | null,
  ctx: BackupContext,
  log: BackupContext['log'],
  readable: (text: string) => string,
): Promise<void> {
  if (!stream) return;
  for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
    const line = readable(raw);
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
    ctx.partialBytes = p.bytes;
    const now = Date.now();
    if (now - lastEvent < PROGRESS_EVERY_MS) return;
    lastEvent = now;
    send(p);
  };
  report.flush = () => latest && send(latest);
  return report;
}
