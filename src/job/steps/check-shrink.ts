// check-shrink: compares rsync's count of the source with the last snapshot's record before anything is
// completed or pruned. A source that lost most of its files is far more likely unmounted or broken than
// cleaned up on purpose (OMV #720, rsnapshot #351), and a snapshot of it must not become "latest".
import { commandHint } from '../../config/defaults.js';
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
    const before = ctx.previous?.record?.states[state.name];
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

export const checkShrink: Step<BackupContext> = {
  name: 'check-shrink',
  async run(ctx) {
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
