// The JSON documents of `status`, `snapshots`, `versions`, `forget`, `check`, `prune --dry-run`, `drives` and `config check`
// with --json (docs/json.md).
import { z } from '../../config/zod.js';
import { bytes, count, format, outcome, snapshot, step, time } from './common.js';

const opt = <T extends z.ZodType>(t: T) => t.optional();

const snapshotKind = z
  .enum(['btrfs-subvolumes', 'hard-links'])
  .meta({ description: "How the drive keeps snapshots, from its file system: btrfs read-only subvolumes, or folders sharing unchanged files by hard links." });

const health = z
  .strictObject({
    at: time,
    verdict: z.enum(['passed', 'failed', 'unavailable']).meta({ description: "The disk's SMART overall-health verdict; unavailable when SMART could not be read (see note)." }),
    disk: opt(z.string().meta({ description: 'The whole disk that was read, e.g. /dev/sdb.' })),
    model: opt(z.string()),
    serial: opt(z.string()),
    note: opt(z.string().meta({ description: 'Why there is no verdict, or what smartctl added.' })),
    reallocated: opt(count.meta({ description: 'Reallocated sectors (SMART attribute 5).' })),
    pending: opt(count.meta({ description: 'Sectors waiting to be reallocated (SMART attribute 197).' })),
    offlineUncorrectable: opt(count.meta({ description: 'Sectors the offline scan could not read (SMART attribute 198).' })),
    mediaErrors: opt(count.meta({ description: 'NVMe media and data integrity errors.' })),
    countersAt: opt(time.meta({ description: 'When the counters were read: earlier than at when this reading had none.' })),
    rising: opt(z.array(z.string()).meta({ description: 'The counters that rose since the reading before, e.g. "Current_Pending_Sector 0 -> 8".' })),
  })
  .meta({ description: "The disk's latest SMART reading, taken before each backup (docs/health.md)." });

/** The ledger's record of a drive (stateDir/ledger.json), as `drives` and `status` without a daemon show it. */
const record = z.strictObject({
  trackedSince: time,
  lastSeen: opt(time),
  lastSuccess: opt(time),
  lastFailure: opt(z.strictObject({ at: time, step: opt(step), reason: z.string() })),
  lastRun: opt(
    z.strictObject({
      outcome,
      startedAt: time,
      finishedAt: time,
      durationMs: count,
      transferredBytes: bytes,
      snapshot: opt(snapshot),
      cause: opt(z.string()),
      step: opt(step),
      title: opt(z.string()),
    }),
  ),
  snapshotCount: opt(count),
  freeBytes: opt(bytes),
  snapshotKind: opt(snapshotKind),
  lastReminder: opt(time),
  health: opt(health),
  recentNewBytes: opt(z.array(bytes).meta({ description: 'What the recent incremental backups copied, oldest first: the space forecast ("full in about N backups") is the free space over their median.' })),
  drill: opt(
    z
      .strictObject({
        at: time,
        files: count.meta({ description: 'Files restored and compared.' }),
        damaged: count,
        problems: z.array(z.string()).meta({ description: 'The first few damaged files, in words.' }),
        backupsSince: count.meta({ description: 'Good backups since, without a drill.' }),
      })
      .meta({ description: 'The last restore drill after a backup (drives.<name>.drill).' }),
  ),
});

const driveRow = z.strictObject({
  drive: z.string(),
  sinceLastSuccessMs: count.nullable(),
  overdue: z.boolean(),
  record: record.nullable(),
  schedule: z.string().nullable(),
  nextRun: time.nullable(),
  problems: z.array(z.string()).meta({ description: 'What drives --check reports for this drive; empty when all is well.' }),
});

export const drivesDoc = z.strictObject({ format, host: z.string(), now: time, drives: z.array(driveRow) }).meta({ title: 'plugback drives --json' });

const statusDrive = z.strictObject({
  drive: z.string(),
  kind: z.enum(['luks', 'directory']),
  present: z.boolean(),
  queued: z.boolean(),
  overdue: z.boolean(),
  lastSuccess: opt(time),
  lastFailure: opt(time),
  lastFailureStep: opt(step),
  lastFailureReason: opt(z.string()),
  snapshotCount: opt(count),
  freeBytes: opt(bytes),
});

const job = z.strictObject({
  drive: z.string(),
  step: opt(step),
  state: opt(z.string()),
  percent: opt(z.number()),
  bytes: opt(bytes),
  bytesPerSecond: opt(z.number()),
  etaSeconds: opt(z.number()),
});

export const statusDoc = z
  .union([
    z.strictObject({ format, daemon: z.literal('running'), state: z.string(), job: job.nullable(), drives: z.array(statusDrive) }),
    z.strictObject({
      format,
      daemon: z.literal('not running'),
      trigger: z.enum(['daemon', 'units']),
      advice: z.string(),
      drives: opt(z.array(driveRow).meta({ description: 'The history, as plugback drives --json shows it.' })),
      history: opt(z.string().meta({ description: 'Instead of drives: why the history cannot be read.' })),
    }),
    z.strictObject({ format, daemon: z.literal('not running'), advice: z.string() }),
  ])
  .meta({ title: 'plugback status --json' });

export const snapshotsDoc = z
  .strictObject({
    format,
    drive: z.string(),
    host: z.string(),
    kind: snapshotKind,
    snapshots: z.array(
      z.strictObject({
        snapshot,
        time,
        bytes: bytes.nullable().meta({ description: 'Total size of its files (mostly shared with others, by hard links or btrfs extents); null without a usable record.' }),
        files: count.nullable(),
        transferredBytes: bytes.nullable().meta({ description: 'Bytes new in this snapshot.' }),
        states: z.array(z.string()),
        resumedFrom: opt(z.string()),
        problems: count,
        future: opt(z.literal(true)),
        recordProblem: opt(z.string()),
      }),
    ),
    incomplete: z.array(z.string()).meta({ description: 'Interrupted copies the next run continues.' }),
  })
  .meta({ title: 'plugback snapshots --json' });

export const versionsDoc = z
  .strictObject({
    format,
    drive: z.string(),
    path: z.string(),
    versions: z.array(
      z.strictObject({
        snapshot,
        state: z.string(),
        type: z.enum(['file', 'directory', 'symlink', 'other']),
        bytes,
        modified: time,
        sameAsPrevious: z.boolean(),
        future: opt(z.literal(true)),
      }),
    ),
  })
  .meta({ title: 'plugback versions --json' });

export const configCheckDoc = z
  .union([
    z.strictObject({
      format,
      file: z.string(),
      valid: z.literal(true),
      host: z.string(),
      drives: z.array(
        z.strictObject({ drive: z.string(), kind: z.enum(['luks', 'directory']), uuid: opt(z.string()), path: z.string(), schedule: z.string().nullable() }),
      ),
      states: z.array(z.strictObject({ state: z.string(), folders: z.array(z.string()) })),
    }),
    z.strictObject({
      format,
      file: z.string(),
      valid: z.literal(false),
      problems: z.array(z.strictObject({ file: z.string(), line: count, column: count, message: z.string() })),
    }),
  ])
  .meta({ title: 'plugback config check --json' });

export const forgetDoc = z
  .strictObject({
    format,
    drive: z.string(),
    host: z.string(),
    snapshot: snapshot.meta({ description: 'The snapshot deleted.' }),
    left: z.array(snapshot).meta({ description: 'The complete snapshots left, oldest first.' }),
    newest: snapshot.nullable().meta({ description: 'The newest complete snapshot, which forget never deletes.' }),
    freeBytes: bytes.nullable().meta({ description: 'Free space on the drive afterwards (also recorded for plugback drives); null when it cannot be read.' }),
  })
  .meta({ title: 'plugback forget --json' });

export const checkDoc = z
  .strictObject({
    format,
    drive: z.string(),
    host: z.string(),
    mode: z.enum(['all', 'sample', 'drill']).meta({ description: 'all: every file of every snapshot; sample: files picked at random across them; drill: such files restored through plugback restore, and the copies compared.' }),
    snapshots: z.array(snapshot).meta({ description: 'The complete snapshots looked at, oldest first.' }),
    unlisted: z.array(snapshot).meta({ description: 'Snapshots without a checksum list: read for errors only (all), or not sampled.' }),
    files: count.meta({ description: 'Files found (all) or listed (sample).' }),
    read: count.meta({ description: 'Files read back from the drive.' }),
    bytesRead: bytes,
    damage: z
      .array(
        z.strictObject({
          snapshot,
          state: z.string().meta({ description: 'The state the file belongs to; empty for the checksum list itself.' }),
          path: z.string().meta({ description: 'The source path, as UTF-8 where its bytes are; other names byte-escaped (%XX).' }),
          key: z.string().meta({ description: 'The file as the checksum list names it: <state>/<path>, every name byte-escaped.' }),
          problem: z.string(),
        }),
      )
      .meta({ description: 'Every file that is missing, unreadable or reads back different, and a damaged checksum list.' }),
    scrub: z
      .strictObject({ dataBytes: bytes, errors: count, uncorrectable: count, corrected: count })
      .nullable()
      .meta({ description: 'btrfs scrub of the drive, when it ran (a btrfs drive of its own, without --no-scrub).' }),
    clean: z.boolean().meta({ description: 'Nothing wrong found: the exit status is 0 (else 1).' }),
  })
  .meta({ title: 'plugback check --json' });

const rules = z.array(z.string()).meta({ description: 'The retention rules that keep it: "last N", "daily DAY", "weekly WEEK", "monthly MONTH", "yearly YEAR".' });

export const pruneDoc = z
  .strictObject({
    format,
    drive: z.string(),
    host: z.string(),
    retention: z.strictObject({ keepLast: count, keepDaily: count, keepWeekly: count, keepMonthly: count, keepYearly: count }),
    remove: z.array(z.strictObject({ snapshot, time })).meta({ description: 'What the next backup removes once its snapshot is complete, oldest first.' }),
    keep: z.array(z.strictObject({ snapshot, time, rules })).meta({ description: 'The snapshots kept, oldest first, with the rules that keep each.' }),
    nextBackup: z.strictObject({ rules }).meta({ description: 'The rules that keep the next backup\'s own snapshot.' }),
    neverRemoved: z
      .array(z.strictObject({ snapshot, time, reason: z.string() }))
      .meta({ description: 'Another installation\'s snapshots, ones with an unusable snapshot.json, and ones dated in the future.' }),
    continued: z.string().nullable().meta({ description: 'The interrupted copy (NAME.incomplete) the next backup resumes.' }),
    leftovers: z.array(z.string()).meta({ description: 'Other interrupted copies and unfinished deletes (NAME.deleting), removed by the next backup.' }),
    prunes: z.boolean().meta({ description: 'false when the next backup would prune nothing as things are (noPruneReason says why).' }),
    noPruneReason: opt(z.string()),
  })
  .meta({ title: 'plugback prune --dry-run --json' });
