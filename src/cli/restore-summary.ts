// The closing lines of a restore: how many files, how much rsync copied (files already right are not copied again)
// in how long, and the space left where the files went.
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes, formatDuration } from '../config/units.js';
import type { RestorePlan } from '../restore/plan.js';
import type { RestoreResult } from '../restore/restore-job.js';

export async function restoreSummary(plan: RestorePlan, r: RestoreResult): Promise<string[]> {
  const lines = [
    `  files:   ${r.totals.files} in what was restored`,
    `  copied:  ${formatBytes(r.totals.copiedBytes)} in ${formatDuration(r.durationMs)}`,
  ];
  const first = plan.items[0];
  const free = first ? await statfs(path.dirname(first.to)).then((s) => s.bavail * s.bsize, () => undefined) : undefined;
  if (free !== undefined && first) lines.push(`  free:    ${formatBytes(free)} left on the file system of ${path.dirname(first.to)}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines;
}
