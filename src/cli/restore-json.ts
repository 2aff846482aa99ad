// `plugback restore --json`: the plan, the dry run's changes or the restore's steps and log lines, and the result,
// as JSON lines on stdout (docs/json.md); the people's lines go to stderr.
import type { ItemChanges } from '../restore/dry-run.js';
import type { RestorePlan } from '../restore/plan.js';
import type { RestoreResult } from '../restore/restore-job.js';
import { jsonLinesOutput, type JobOutput } from './job-output.js';

export interface RestoreJsonOutput extends JobOutput {
  plan(plan: RestorePlan): void;
  preview(to: string, changes: ItemChanges): void;
  /** The last line: how the restore (or the dry run) ended. */
  result(plan: RestorePlan, outcome: RestoreOutcome, result?: RestoreResult, error?: string): void;
}

export type RestoreOutcome = 'success' | 'warning' | 'failed' | 'dry-run';

export function restoreJsonOutput(): RestoreJsonOutput {
  const out = jsonLinesOutput();
  return {
    ...out,
    plan: (plan) =>
      out.line('plan', {
        snapshot: plan.snapshot.name,
        keep: plan.keep,
        to: plan.to ?? null,
        items: plan.items.map((i) => ({ path: i.original, state: i.state, to: i.to })),
        skipped: plan.skipped.map((s) => ({ path: s.folder, state: s.state, reason: s.reason })),
      }),
    preview: (to, changes) => out.line('preview', { to, created: changes.created, changed: changes.changed, deleted: changes.deleted }),
    result: (plan, outcome, result, error) =>
      out.line('result', {
        result: {
          outcome,
          snapshot: plan.snapshot.name,
          restored: outcome === 'success' || outcome === 'warning' ? plan.items.map((i) => i.to) : [],
          keptAside: result?.keptAside ?? [],
          warnings: result?.warnings ?? [],
          failedStep: result?.failedStep ?? null,
          error: error ?? result?.error ?? null,
          undoErrors: result?.undoErrors ?? [],
        },
      }),
  };
}
