// The JSON lines of `run --json`, `restore --json` and `status --follow --json` (docs/json.md).
import { z } from '../../config/zod.js';
import { bytes, count, line, logLine, outcome, snapshot, step, stepLines, time } from './common.js';

const progress = line(
  'progress',
  {
    state: z.string(),
    stateIndex: count,
    stateCount: count,
    bytes: bytes.meta({ description: 'Bytes rsync has handled in this state so far.' }),
    percent: z.number().min(0).max(100),
    bytesPerSecond: z.number().min(0),
    etaSeconds: z.number().min(0).nullable(),
  },
  'The copy\'s progress: at most one line a second, and the last one.',
);

const ending = z.strictObject({
  verdict: outcome,
  cause: z.enum(['none', 'failed', 'cancelled', 'removed', 'crashed']),
  step: step.optional(),
  title: z.string(),
  advice: z.string(),
  snapshot: snapshot.optional(),
  newestSnapshot: snapshot.optional(),
  newestKnown: z.boolean(),
  keptForResume: z.string().optional(),
  notDone: z.array(z.string()),
  notes: z.array(z.string()),
  led: z.enum(['done', 'failed']),
});

export const jobResult = z.strictObject({
  jobId: z.string(),
  drive: z.string(),
  outcome,
  startedAt: time,
  finishedAt: time,
  durationMs: count,
  snapshot: snapshot.optional().meta({ description: 'The snapshot this run completed.' }),
  failedStep: step.optional(),
  error: z.string().optional(),
  leftForResume: z.string().optional().meta({ description: 'The interrupted copy kept for the next run.' }),
  transferredBytes: bytes,
  files: z
    .strictObject({ new: count, changed: count, deleted: count.optional() })
    .optional()
    .meta({ description: 'Regular files new, changed and deleted against the previous snapshot, in the states copied; deleted is absent without a previous snapshot.' }),
  warnings: z.array(z.string()),
  undoErrors: z.array(z.strictObject({ step, error: z.string() })),
  logFile: z.string().optional(),
  ending,
});

export const runLine = z
  .discriminatedUnion('type', [
    logLine,
    line('job-started', { jobId: z.string(), drive: z.string(), steps: z.array(step) }, 'The job began; its steps in order.'),
    ...stepLines,
    line('waiting-for-lock', { file: z.string(), holders: z.array(z.looseObject({ pid: count, command: z.string().optional() })) }, 'Another job holds the lock.'),
    progress,
    line('warning', { message: z.string() }, 'A warning (also in the result\'s warnings).'),
    line('result', { result: jobResult }, 'The last line: how the backup ended.'),
  ])
  .meta({ title: 'plugback run --json (one line)' });

export const restoreLine = z
  .discriminatedUnion('type', [
    logLine,
    ...stepLines,
    progress,
    line(
      'plan',
      {
        snapshot,
        keep: z.boolean().meta({ description: 'Existing data is set aside first (false with --no-keep).' }),
        to: z.string().nullable().meta({ description: '--to, or null for a restore in place.' }),
        items: z.array(z.strictObject({ path: z.string(), state: z.string(), to: z.string() })),
        skipped: z.array(z.strictObject({ path: z.string(), state: z.string(), reason: z.enum(['not-in-config', 'not-in-snapshot']) })),
      },
      'The first line: what will be restored, and where.',
    ),
    line('preview', { to: z.string(), created: z.array(z.string()), changed: z.array(z.string()), deleted: z.array(z.string()) }, '--dry-run: the changes one item would make.'),
    line(
      'result',
      {
        result: z.strictObject({
          outcome: z.enum(['success', 'warning', 'failed', 'dry-run']),
          snapshot,
          restored: z.array(z.string()),
          keptAside: z.array(z.strictObject({ path: z.string(), keptAs: z.string() })),
          warnings: z.array(z.string()),
          failedStep: step.nullable(),
          error: z.string().nullable(),
          undoErrors: z.array(z.string()),
        }),
      },
      'The last line: how the restore (or dry run) ended.',
    ),
  ])
  .meta({ title: 'plugback restore --json (one line)' });

export const followLine = z
  .discriminatedUnion('type', [
    line(
      'progress',
      {
        drive: z.string(),
        step: step.optional(),
        state: z.string().optional(),
        percent: z.number().optional(),
        bytes: bytes.optional(),
        bytesPerSecond: z.number().optional(),
        etaSeconds: z.number().optional(),
      },
      'The daemon\'s job, as its Progress signal tells it.',
    ),
    line(
      'result',
      {
        result: z.strictObject({
          drive: z.string(),
          outcome,
          durationMs: count,
          transferredBytes: bytes,
          snapshot: snapshot.optional(),
          failedStep: step.optional(),
          error: z.string().optional(),
        }),
      },
      'The last line: the daemon\'s JobFinished signal.',
    ),
  ])
  .meta({ title: 'plugback status --follow --json (one line)' });

