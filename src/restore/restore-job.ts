// A restore, run by the same step runner as a backup: take the lock, set the current data aside (undone if
// the copy fails, so nothing is lost), copy from the snapshot, release the lock, run the postRestore hooks.
import { execa } from 'execa';
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import type { JobEvent, JobListener, StepName } from '../job/events.js';
import { runSteps, type Step } from '../job/runner.js';
import { releaseLock, takeLock, type LockingContext } from '../job/steps/lock.js';
import { snapshotName } from '../repo/layout.js';
import type { HeldLock } from '../system/flock.js';
import { DriveDir } from '../repo/drive-dir.js';
import { probeFsFeatures } from '../system/fs-features.js';
import { childEnvironment } from '../system/child-env.js';
import { hookEnvironment, runLoggedHook } from '../system/hooks.js';
import { classifyRsyncExit } from '../system/rsync.js';
import type { RestoreItem, RestorePlan } from './plan.js';

export interface RestoreContext extends LockingContext {
  readonly jobId: string;
  readonly config: Config;
  readonly drive: Drive;
  readonly plan: RestorePlan;
  readonly log: Logger;
  lock?: HeldLock;
  /** Destination → where its previous content was set aside. */
  keptAside: Map<string, string>;
  warnings: string[];
}

export interface RestoreResult {
  ok: boolean;
  failedStep?: StepName | undefined;
  error?: string | undefined;
  keptAside: { path: string; keptAs: string }[];
  warnings: string[];
  undoErrors: string[];
}

/** The name the current data gets while a restore replaces it, on the same file system (a rename); never an existing one. */
export async function keptAsideName(destination: string, time: Date): Promise<string> {
  const base = `${destination}.plugback-before-restore-${snapshotName(time)}`;
  let name = base;
  for (let n = 2; await exists(name); n++) name = `${base}-${n}`;
  return name;
}

const keepAside: Step<RestoreContext> = {
  name: 'keep-aside',
  async run(ctx) {
    if (!ctx.plan.keep) return;
    const now = new Date();
    for (const item of ctx.plan.items) {
      if (!(await exists(item.to))) continue;
      const keptAs = await keptAsideName(item.to, now);
      await rename(item.to, keptAs);
      ctx.keptAside.set(item.to, keptAs);
      ctx.log.info({ path: item.to, keptAs }, `set ${item.to} aside as ${keptAs}`);
    }
  },
  async undo(ctx) {
    // The copy failed: the half-restored folder moves out of the way (kept, never deleted) and the original returns.
    for (const [destination, keptAs] of ctx.keptAside) {
      if (await exists(destination)) await rename(destination, `${keptAs}.failed-restore`);
      await rename(keptAs, destination);
      ctx.log.warn({ path: destination }, `put ${destination} back as it was`);
    }
    ctx.keptAside.clear();
  },
};

const restoreCopy: Step<RestoreContext> = {
  name: 'restore-copy',
  closes: 'keep-aside',
  async run(ctx) {
    for (const item of ctx.plan.items) await copyItem(ctx, item);
  },
};

async function copyItem(ctx: RestoreContext, item: RestoreItem): Promise<void> {
  await mkdir(path.dirname(item.to), { recursive: true });
  const parent = await DriveDir.openRoot(path.dirname(item.to));
  const features = await probeFsFeatures(parent).finally(() => parent.close());
  for (const note of features.notes) warn(ctx, note);
  const args = ['-aHS', '--numeric-ids'];
  if (features.acls) args.push('-A');
  if (features.xattrs) args.push('-X');
  // In place (--no-keep), compare contents: a file changed without changing size or mtime must still be restored.
  if (!ctx.plan.keep) args.push('--delete', '--checksum', ...item.excludes.map((p) => `--exclude=${p}`));
  args.push('--', item.isDirectory ? `${item.from}/` : item.from, item.isDirectory ? `${item.to}/` : item.to);
  ctx.log.info({ from: item.from, to: item.to }, `restoring ${item.original} to ${item.to}`);
  const result = await execa('rsync', args, { reject: false, cancelSignal: ctx.signal, stdin: 'ignore', env: childEnvironment(ctx.config), extendEnv: false });
  for (const line of result.stderr.split('\n').filter(Boolean)) ctx.log.warn({ stream: 'rsync' }, line);
  const outcome = classifyRsyncExit(result.exitCode ?? -1);
  if (outcome.kind === 'failed') throw new Error(`rsync could not restore ${item.to} (exit ${outcome.code}: ${outcome.meaning}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (outcome.kind === 'warning') warn(ctx, `restoring ${item.to}: rsync ${outcome.meaning}`);
}

const postRestoreHooks: Step<RestoreContext> = {
  name: 'post-restore-hooks',
  async run(ctx) {
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

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
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
}): Promise<RestoreResult> {
  const emit = (e: JobEvent) => args.onEvent?.(e);
  const ctx: RestoreContext = {
    jobId: randomUUID(),
    config: args.config,
    drive: args.drive,
    plan: args.plan,
    log: args.log,
    lockPurpose: 'restore',
    signal: args.signal ?? new AbortController().signal,
    emit,
    keptAside: new Map(),
    warnings: [],
  };
  const outcome = await runSteps(RESTORE_STEPS, ctx, {
    stepStarted: (step) => emit({ type: 'step-started', step }),
    stepFinished: (step, durationMs) => emit({ type: 'step-finished', step, durationMs }),
    stepFailed: (f) => {
      args.log.error({ step: f.step }, `restore failed at ${f.step}: ${f.error.message}`);
      emit({ type: 'step-failed', step: f.step, error: f.error.message });
    },
  });
  return {
    ok: !outcome.failure,
    failedStep: outcome.failure?.step,
    error: outcome.failure?.error.message,
    keptAside: [...ctx.keptAside].map(([p, keptAs]) => ({ path: p, keptAs })),
    warnings: ctx.warnings,
    undoErrors: outcome.undoErrors.map((u) => `${u.step}: ${u.error.message}`),
  };
}
