// check-shrink: compares rsync's count of the source with the last snapshot's record before anything is
// completed or pruned. A source that lost most of its files is far more likely unmounted or broken than
// cleaned up on purpose (OMV #720, rsnapshot #351), and a snapshot of it must not become "latest".
// The baseline is the larger of what this machine remembers and what the drive's record says: a forged or
// damaged record can only make the check stricter. With neither, the snapshot completes but nothing is pruned.
import { commandHint } from '../../config/defaults.js';
import { stateMemory } from '../../repo/host-memory.js';
import { withRepository } from '../../repo/repository.js';
import { formatBytes } from '../../config/units.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export interface Shrink {
  state: string;
  what: string;
}

/** The states that lost more than `maxPercent` of their files or bytes, described for people. */
export function findShrinks(ctx: BackupContext): Shrink[] {
  const limit = ctx.config.backup.maxShrinkPercent;
  const shrinks: Shrink[] = [];
  for (const state of ctx.config.states) {
    const before = baseline(ctx, state.name);
    const now = ctx.states[state.name];
    if (!before || !now) continue;
    const lost = (was: number, is: number) => (was > 0 ? ((was - is) / was) * 100 : 0);
    const filesLost = lost(before.files, now.files);
    const bytesLost = lost(before.bytes, now.bytes);
    if (filesLost > limit || bytesLost > limit) {
      shrinks.push({
        state: state.name,
        what:
          `state "${state.name}" has ${now.files} files (was ${before.files}, -${filesLost.toFixed(1)}%) and ` +
          `${formatBytes(now.bytes)} (was ${formatBytes(before.bytes)}, -${bytesLost.toFixed(1)}%)`,
      });
    }
  }
  return shrinks;
}

/** The state's size at the last snapshot by both witnesses (the larger counts), or undefined when neither knows. */
function baseline(ctx: BackupContext, state: string): { files: number; bytes: number } | undefined {
  // What this machine saw of its source last time is the baseline, whichever snapshot the drive now shows as newest.
  const remembered = stateMemory(ctx.memory, state);
  const states = ctx.previous?.record?.states;
  const recorded = states && Object.hasOwn(states, state) ? states[state] : undefined;
  if (!remembered && !recorded) return undefined;
  return {
    files: Math.max(remembered?.files ?? 0, recorded?.files ?? 0),
    bytes: Math.max(remembered?.bytes ?? 0, recorded?.bytes ?? 0),
  };
}

/** States the previous snapshot holds but that neither witness can size (a state new since then needs no baseline). */
async function statesWithoutBaseline(ctx: BackupContext): Promise<string[]> {
  const previous = ctx.previous?.name;
  const unsized = ctx.config.states.filter((s) => !baseline(ctx, s.name));
  if (!previous || unsized.length === 0) return [];
  return withRepository(ctx.paths.root, ctx.config.host, async (repo) => {
    const held: string[] = [];
    for (const state of unsized) {
      // A state folder that cannot be opened (a link, say) counts as held: more careful, never less.
      const dir = await repo.openInSnapshot(previous, state.name, '/').catch(() => 'unsafe' as const);
      if (dir) held.push(state.name);
      if (dir && dir !== 'unsafe') await dir.close();
    }
    return held;
  });
}

export const checkShrink: Step<BackupContext> = {
  name: 'check-shrink',
  async run(ctx) {
    const unknown = await statesWithoutBaseline(ctx);
    if (unknown.length > 0) {
      ctx.noPruneReason ??= `neither this machine nor the record of snapshot ${ctx.previous?.name} knows how big state ${unknown.map((n) => `"${n}"`).join(', ')} was, so this copy cannot be compared with it`;
      ctx.warn(`${ctx.noPruneReason}; the snapshot is completed but nothing is pruned this run`);
    }
    if (ctx.options.allowShrink) return;
    const shrinks = findShrinks(ctx);
    if (shrinks.length === 0) return;
    throw new Error(
      `the source shrank by more than ${ctx.config.backup.maxShrinkPercent}% (backup.maxShrinkPercent) since snapshot ` +
        `${ctx.previous?.name}: ${shrinks.map((s) => s.what).join('; ')}. That looks like a missing or unmounted source, ` +
        `so nothing was completed, deleted or pruned; the copy stays in ${ctx.workDir} until the next run. ` +
        `If the files really were deleted, run once with: ${commandHint(ctx.config.file, `run ${ctx.drive.name} --allow-shrink`)}`,
    );
  },
};
