// The closing lines a person reads at the end of `plugback run` in a terminal: how it ended, what changed, how much
// was copied in how long, the space left, and what to do next. Off a terminal the result line says it all.
import { formatBytes, formatDuration } from '../config/units.js';
import type { JobResult } from '../job/events.js';

export interface SummaryFacts {
  freeBytes?: number | undefined;
}

/** The summary's lines, without colour. */
export function runSummary(r: JobResult, facts: SummaryFacts): string[] {
  // The cause once, on the verdict's line: not again as a step's line and the result's.
  const why = r.error && r.ending.cause === 'failed' ? `: ${r.error}` : '';
  const lines = [`backup of ${r.drive} ${r.ending.title}${why}`];
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  if (r.files) {
    const deleted = r.files.deleted === undefined ? '' : `, ${r.files.deleted} deleted`;
    lines.push(`  files:   ${r.files.new} new, ${r.files.changed} changed${deleted}`);
  }
  const where = r.snapshot ? ` into snapshot ${r.snapshot}` : r.leftForResume ? ' into the copy kept for the next run' : '';
  if (r.files || r.transferredBytes > 0) lines.push(`  copied:  ${formatBytes(r.transferredBytes)}${where} in ${formatDuration(r.durationMs)}`);
  else lines.push(`  took:    ${formatDuration(r.durationMs)}, nothing copied`);
  if (facts.freeBytes !== undefined) lines.push(`  free:    ${formatBytes(facts.freeBytes)} left on the drive`);
  if (r.ending.advice) lines.push(`  next:    ${r.ending.advice}`);
  return lines;
}
