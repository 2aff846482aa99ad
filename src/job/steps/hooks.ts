// pre-backup-hooks and post-backup-hooks. The global preBackup runs first, then each state's; postBackup runs
// each state's, then the global one. A scope whose preBackup ran (a service it stopped) always gets its
// postBackup, also when the job failed or was cancelled: that is this step's undo.
import { childEnvironment } from '../../system/child-env.js';
import { hookEnvironment, runLoggedHook, type HookFacts } from '../../system/hooks.js';
import type { BackupContext, HookScope } from '../context.js';
import type { Step } from '../runner.js';

type HookEvent = 'preBackup' | 'postBackup';
type Result = 'success' | 'warning' | 'failure';

function scopes(ctx: BackupContext): HookScope[] {
  return [{ kind: 'global' }, ...ctx.config.states.map((state) => ({ kind: 'state', state }) as const)];
}

function scriptOf(ctx: BackupContext, scope: HookScope, event: HookEvent): string | undefined {
  return scope.kind === 'global' ? ctx.config.hooks[event] : scope.state[event];
}

function labelOf(scope: HookScope, event: HookEvent): string {
  return scope.kind === 'global' ? `global ${event} hook` : `${event} hook of state "${scope.state.name}"`;
}

/** The environment a backup hook sees. */
function hookEnv(ctx: BackupContext, scope: HookScope, event: HookEvent, result?: Result): Record<string, string> {
  const facts: HookFacts = {
    event,
    jobId: ctx.jobId,
    drive: ctx.drive.name,
    host: ctx.config.host,
    target: ctx.paths.root,
    state: scope.kind === 'state' ? scope.state.name : '',
    folders: scope.kind === 'state' ? scope.state.folders : ctx.config.states.flatMap((s) => s.folders),
    snapshot: ctx.snapshot ?? ctx.snapshotName ?? '',
    snapshotDir: ctx.snapshot ? `${ctx.paths.snapshots}/${ctx.snapshot}` : (ctx.workDir ?? ''),
    config: ctx.config.file,
  };
  return hookEnvironment(facts, result ? { PLUGBACK_RESULT: result } : {});
}

async function runScopeHook(ctx: BackupContext, scope: HookScope, event: HookEvent, result?: Result): Promise<void> {
  const script = scriptOf(ctx, scope, event);
  if (!script) return;
  await runLoggedHook(ctx.log, {
    label: labelOf(scope, event),
    tag: `${scope.kind === 'global' ? ctx.drive.name : scope.state.name}/${event}`,
    script,
    inherited: childEnvironment(ctx.config),
    env: hookEnv(ctx, scope, event, result),
    timeoutMs: ctx.config.backup.hookTimeout,
    // A postBackup hook restarts what preBackup stopped: it runs to the end even when the job is being cancelled.
    signal: event === 'preBackup' ? ctx.signal : undefined,
  });
}

/** Tells the listeners which postBackup hooks are still owed: quitting without clean-up names them. */
function reportOwed(ctx: BackupContext): void {
  const hooks = [...ctx.hooks.entered]
    .reverse()
    .filter((scope) => !ctx.hooks.postDone.has(scope))
    .flatMap((scope) => {
      const script = scriptOf(ctx, scope, 'postBackup');
      return script ? [{ state: scope.kind === 'state' ? scope.state.name : undefined, script }] : [];
    });
  ctx.emit({ type: 'post-hooks-owed', hooks });
}

/** Runs the postBackup hooks not yet run, states first, then the global one; returns the errors. */
async function runPostHooks(ctx: BackupContext, result: Result): Promise<Error[]> {
  const errors: Error[] = [];
  for (const scope of [...ctx.hooks.entered].reverse()) {
    if (ctx.hooks.postDone.has(scope)) continue;
    ctx.hooks.postDone.add(scope);
    reportOwed(ctx);
    try {
      await runScopeHook(ctx, scope, 'postBackup', result);
    } catch (error) {
      errors.push(error as Error);
    }
  }
  return errors;
}

export const preBackupHooks: Step<BackupContext> = {
  name: 'pre-backup-hooks',
  async run(ctx) {
    try {
      for (const scope of scopes(ctx)) {
        // Entered before it runs: even a preBackup that failed halfway may have stopped a service.
        ctx.hooks.entered.push(scope);
        reportOwed(ctx);
        await runScopeHook(ctx, scope, 'preBackup');
      }
    } catch (error) {
      // The runner undoes only steps that finished, so this step puts back what its own hooks took.
      const errors = await runPostHooks(ctx, 'failure');
      const also = errors.length > 0 ? `; then ${errors.map((e) => e.message).join('; ')}` : '';
      throw new Error(`${(error as Error).message}${also}`);
    }
  },
  async undo(ctx) {
    const errors = await runPostHooks(ctx, 'failure');
    if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('; '));
  },
};

export const postBackupHooks: Step<BackupContext> = {
  name: 'post-backup-hooks',
  closes: 'pre-backup-hooks',
  async run(ctx) {
    const errors = await runPostHooks(ctx, ctx.warnings.length > 0 ? 'warning' : 'success');
    if (errors.length > 0) {
      throw new Error(`snapshot ${ctx.snapshot} is complete, but ${errors.map((e) => e.message).join('; ')}`);
    }
  },
};
