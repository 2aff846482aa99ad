// Before a restore asks (or, with --yes, starts): what it will change and how much it writes, from rsync's dry
// run, and whether the destinations have room for that. Nothing is moved before this says yes.
import type { Config } from '../config/model.js';
import type { RestorePlan } from '../restore/plan.js';
import { formatBytes } from '../config/units.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

/** Prints the summary; throws a UserError (exit 1) when a destination's file system lacks room. */
export async function previewAndCheckRoom(config: Config, plan: RestorePlan, thorough: boolean, say: (text: string) => unknown): Promise<void> {
  const { previewItem } = await import('../restore/dry-run.js');
  const { shortageMessage, spaceShortage } = await import('../restore/space.js');
  const counts = { created: 0, changed: 0, deleted: 0 };
  const needs: { to: string; bytes: number }[] = [];
  for (const item of plan.items) {
    // --checksum only when a person waits for the answer; --yes needs the sizes alone.
    const changes = await previewItem(config, item, { checksum: thorough }).catch((error: Error) => Promise.reject(new UserError(error.message, EXIT.failed)));
    counts.created += changes.created.length;
    counts.changed += changes.changed.length;
    counts.deleted += changes.deleted.length;
    // Kept aside, the current data stays where it is and the whole item is copied; in place, only what differs.
    needs.push({ to: item.to, bytes: plan.keep ? changes.totalBytes : changes.transferBytes });
  }
  const bytes = needs.reduce((n, x) => n + x.bytes, 0);
  const total = counts.created + counts.changed + counts.deleted;
  say(
    `this restore changes ${total} ${total === 1 ? 'entry' : 'entries'} (${counts.created} to create, ${counts.changed} to change, ${counts.deleted} to delete)` +
      ` and writes about ${formatBytes(bytes)}${plan.keep ? ' (all of it: the current data is set aside, not reused)' : ''}\n`,
  );
  const shortage = await spaceShortage(needs);
  // --no-keep helps only in place: under --to the data goes somewhere new anyway.
  if (shortage) throw new UserError(shortageMessage(shortage, plan.keep && plan.to === undefined), EXIT.failed);
}
