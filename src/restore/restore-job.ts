// A restore, run by the same step runner as a backup: take the lock, set the current data aside (undone if
// the copy fails, so nothing is lost), copy from the snapshot, release the lock, run the postRestore hooks.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import type { JobEvent, JobListener, StepName } from '../job/events.js';
import { runSteps, type Step } from '../job/runner.js';
import { releaseLock, takeLock, type LockingContext } from '../job/steps/lock.js';
import { snapshotName } from '../repo/layout.js';
import type { HeldLock } from '../system/flock.js';
import type { DriveDir } from '../repo/drive-dir.js';
import { mountAt } from '../system/mounts.js';
import { probeFsFeatures } from '../system/fs-features.js';
import { childEnvironment } from '../system/child-env.js';
import { hookEnvironment, runLoggedHook } from '../system/hooks.js';
import { classifyRsyncExit } from '../system/rsync.js';
import { copyWithProgress, type RestoreTotals } from './copy-progress.js';
import { openDestination, unpin, type Destination } from './destination.js';
import type { RestoreItem, RestorePlan } from './plan.js';

export interface RestoreContext extends LockingContext {
  readonly jobId: string;
  readonly config: Config;
  readonly drive: Drive;
  readonly plan: RestorePlan;
  readonly log: Logger;
  lock?: HeldLock;
  /** Each item's destination, its parent held open from keep-aside to the end of the job. */
  destinations: Map<RestoreItem, Destination>;
  /** Destination → the name its previous content was set aside under, in the same parent. */
  keptAside: Map<RestoreItem, string>;
  warnings: string[];
  /** Run the postRestore hooks: for a restore in place, or when asked (--hooks). */
  runHooks: boolean;
  /** Files in what was restored, and bytes rsync copied (a file already right is not copied again). */
  totals: RestoreTotals;
}

export interface RestoreResult {
  ok: boolean;
  failedStep?: StepName | undefined;
  error?: string | undefined;
  keptAside: { path: string; keptAs: string }[];
  warnings: string[];
  undoErrors: string[];
  totals: RestoreTotals;
  durationMs: number;
}

/** The name the current data gets while a restore replaces it, beside it (a rename); never an existing one. */
export async function keptAsideName(parent: DriveDir, name: string, time: Date): Promise<string> {
  const base = `${name}.plugback-before-restore-${snapshotName(time)}`;
  let kept = base;
  for (let n = 2; await parent.lstat(kept); n++) kept = `${base}-${n}`;
  return kept;
}

function destinationOf(ctx: RestoreContext, item: RestoreItem): Destination {
  const d = ctx.destinations.get(item);
  if (!d) throw new Error(`internal error: no destination opened for ${item.to}`);
  return d;
}

const keepAside: Step<RestoreContext> = {
  name: 'keep-aside',
  async run(ctx) {
    for (const item of ctx.plan.items) ctx.destinations.set(item, await openDestination(item.to, ctx.plan.to !== undefined));
    if (!ctx.plan.keep) return;
    // A mount point cannot be renamed (EBUSY): refuse it before anything is moved.
    for (const item of ctx.plan.items) await refuseMountPoint(destinationOf(ctx, item));
    const now = new Date();
    try {
      for (const item of ctx.plan.items) {
        const { parent, name } = destinationOf(ctx, item);
        if (!(await parent.lstat(name))) continue;
        const keptAs = await keptAsideName(parent, name, now);
        await parent.rename(name, keptAs).catch((error: NodeJS.ErrnoException) => {
          throw new Error(`could not set ${item.to} aside as ${parent.show(keptAs)} (${error.code ?? error.message})`);
        });
        ctx.keptAside.set(item, keptAs);
        ctx.log.info({ path: item.to, keptAs: parent.show(keptAs) }, `set ${item.to} aside as ${parent.show(keptAs)}`);
      }
    } catch (error) {
      // The runner undoes only finished steps: this one puts back what it already moved itself.
      await putBack(ctx);
      throw new Error(`${(error as Error).message}; nothing was restored, and every folder already set aside is back in its place`);
    }
  },
  async undo(ctx) {
    await putBack(ctx);
  },
};

/** Renames every set-aside folder back; a half-restored copy in its place is kept as ...failed-restore. */
async function putBack(ctx: RestoreContext): Promise<void> {
  for (const [item, keptAs] of [...ctx.keptAside].reverse()) {
    const { parent, name } = destinationOf(ctx, item);
    if (await parent.lstat(name)) await parent.rename(name, `${keptAs}.failed-restore`);
    await parent.rename(keptAs, name);
    ctx.keptAside.delete(item);
    ctx.log.warn({ path: item.to }, `put ${item.to} back as it was`);
  }
}

async function refuseMountPoint({ parent, name, shown }: Destination): Promise<void> {
  const st = await parent.lstat(name);
  if (!st?.isDirectory()) return;
  if (st.dev !== parent.dev || (await mountAt(parent.at(name)).catch(() => undefined))) {
    throw new Error(
      `${shown} is a mount point (another file system is mounted there), so it cannot be set aside by renaming; nothing was ` +
        `changed. Restore it with --no-keep (overwrites in place) or with --to DIR (into another folder), or unmount it first`,
    );
  }
}

const restoreCopy: Step<RestoreContext> = {
  name: 'restore-copy',
  closes: 'keep-aside',
  async run(ctx) {
    for (const item of ctx.plan.items) await copyItem(ctx, item);
  },
};

async function copyItem(ctx: RestoreContext, item: RestoreItem): Promise<void> {
  const { parent, name } = destinationOf(ctx, item);
  const features = await probeFsFeatures(parent);
  for (const note of features.notes) warn(ctx, note);
  const args = ['-aHS', '--numeric-ids'];
  if (features.acls) args.push('-A');
  if (features.xattrs) args.push('-X');
  // In place (--no-keep), compare contents: a file changed without changing size or mtime must still be restored.
  if (!ctx.plan.keep) args.push('--delete', '--checksum', ...item.excludes.map((p) => `--exclude=${p}`));
  // Both ends through open handles: the snapshot's entry and the destination's parent.
  const to = parent.at(name);
  args.push('--', item.isDirectory ? `${item.source.from}/` : item.source.from, item.isDirectory ? `${to}/` : to);
  ctx.log.info({ from: item.shownFrom, to: item.to }, `restoring ${item.original} to ${item.to}`);
  const result = await copyWithProgress(ctx, item, args);
  ctx.totals.files += result.stats?.files ?? 0;
  ctx.totals.copiedBytes += result.stats?.transferredBytes ?? 0;
  const said = unpin(result.stderr, [{ pinned: item.source.from, path: item.shownFrom }, { pinned: to, path: item.to }]);
  for (const line of said.split('\n').filter(Boolean)) ctx.log.warn({ stream: 'rsync' }, line);
  const outcome = classifyRsyncExit(result.exitCode ?? -1);
  const last = said.trim().split('\n').slice(-3).join(' | ');
  // Exit 23 is "some files not copied"; when the source itself could not be read, nothing was restored.
  const sourceMissing = /change_dir .* failed|link_stat .* failed/.test(said) && said.includes(item.shownFrom);
  if (outcome.kind === 'failed' || sourceMissing) {
    throw new Error(`rsync could not restore ${item.to} from ${item.shownFrom} (exit ${result.exitCode ?? 'none'}): ${last}`);
  }
  if (outcome.kind === 'warning') warn(ctx, `restoring ${item.to}: rsync ${outcome.meaning}`);
}

const postRestoreHooks: Step<RestoreContext> = {
  name: 'post-restore-hooks',
  async run(ctx) {
    if (!ctx.runHooks) {
      // The hooks restart services that use the files in place (systemctl restart ...): a copy under --to
      // is not what those services read, so restarting them would only disturb them.
      const any = ctx.plan.states.some((s) => s.postRestore) || ctx.config.hooks.postRestore;
      if (any) ctx.log.info(`the postRestore hooks were not run: the files went under ${ctx.plan.to ?? '--to'}, not back in place (add --hooks to run them)`);
      return;
    }
    const scopes: { label: string; script?: string | undefined; state?: string; folders: string[] }[] = [
      ...ctx.plan.states.map((s) => ({ label: `postRestore hook of state "${s.name}"`, script: s.postRestore, state: s.name, folders: s.folders })),
      { label: 'global postRestore hook', script: ctx.config.hooks.postRestore, folders: ctx.plan.items.map((i) => i.original) },
    ];
    // Every hook runs, like postBackup: one state's failing hook must not keep another service down.
    const errors: string[] = [];
    for (const scope of scopes) {
      if (!scope.script) continue;
      await runLoggedHook(ctx.log, {
        label: scope.label,
        tag: `${scope.state ?? ctx.drive.name}/postRestore`,
        script: scope.script,
        inherited: childEnvironment(ctx.config),
        env: restoreHookEnv(ctx, scope.state, scope.folders),
        timeoutMs: ctx.config.backup.hookTimeout,
      }).catch((error: Error) => errors.push(error.message));
    }
    if (errors.length > 0) throw new Error(`the files are restored, but ${errors.join('; ')}`);
  },
};

/** The same variables as backup hooks, for the restore: the snapshot restored and where the files went. */
function restoreHookEnv(ctx: RestoreContext, state: string | undefined, folders: string[]): Record<string, string> {
  const items = ctx.plan.items.filter((i) => state === undefined || i.state === state);
  const facts = {
    event: 'postRestore',
    jobId: ctx.jobId,
    drive: ctx.drive.name,
    host: ctx.config.host,
    target: driveRoot(ctx.drive),
    state: state ?? '',
    folders,
    snapshot: ctx.plan.snapshot.name,
    snapshotDir: ctx.plan.snapshot.dir,
    config: ctx.config.file,
  } as const;
  return hookEnvironment(facts, {
    PLUGBACK_RESTORED: items.map((i) => i.to).join('\n'),
    PLUGBACK_RESTORE_TO: ctx.plan.to ?? '',
  });
}

function warn(ctx: RestoreContext, message: string): void {
  ctx.warnings.push(message);
  ctx.log.warn(message);
}

export const RESTORE_STEPS: readonly Step<RestoreContext>[] = [takeLock, keepAside, restoreCopy, releaseLock, postRestoreHooks];

/** Carries out a restore plan; does not throw for restore failures, it reports them. */
export async function runRestore(args: {
  config: Config;
  drive: Drive;
  plan: RestorePlan;
  log: Logger;
  signal?: AbortSignal;
  onEvent?: JobListener;
  /** Run the postRestore hooks; default: only for a restore in place (no --to). */
  hooks?: boolean;
  /** The repository lock, when the caller holds it already (the restore drill of `plugback check`). */
  lock?: Promise<HeldLock>;
}): Promise<RestoreResult> {
  const emit = (e: JobEvent) => args.onEvent?.(e);
  const ctx: RestoreContext = {
    jobId: randomUUID(),
    config: args.config,
    drive: args.drive,
    plan: args.plan,
    log: args.log,
    lockPurpose: 'restore',
    takenLock: args.lock,
    signal: args.signal ?? new AbortController().signal,
    emit,
    destinations: new Map(),
    keptAside: new Map(),
    warnings: [],
    runHooks: args.hooks ?? args.plan.to === undefined,
    totals: { files: 0, copiedBytes: 0 },
  };
  const started = Date.now();
  const outcome = await runSteps(RESTORE_STEPS, ctx, {
    stepStarted: (step) => emit({ type: 'step-started', step }),
    stepFinished: (step, durationMs) => emit({ type: 'step-finished', step, durationMs }),
    stepFailed: (f) => {
      // stepFailed: a terminal shows it once, in restore's closing line, not here as well.
      args.log.error({ step: f.step, stepFailed: true }, `restore failed at ${f.step}: ${f.error.message}`);
      emit({ type: 'step-failed', step: f.step, error: f.error.message });
    },
  }).finally(() => Promise.all([...ctx.destinations.values()].map((d) => d.parent.close())));
  return {
    ok: !outcome.failure,
    failedStep: outcome.failure?.step,
    error: outcome.failure?.error.message,
    keptAside: [...ctx.keptAside].map(([item, keptAs]) => ({ path: item.to, keptAs: destinationOf(ctx, item).parent.show(keptAs) })),
    warnings: ctx.warnings,
    undoErrors: outcome.undoErrors.map((u) => `${u.step}: ${u.error.message}`),
    totals: ctx.totals,
    durationMs: Date.now() - started,
  };
}
