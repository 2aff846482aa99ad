// The one schema of plugback's config: the TypeScript types, config/plugback.schema.json and the
// validation messages all come from here. Descriptions double as the reference in docs/configuration.md.
import { createRequire } from 'node:module';
import { z } from './zod.js';
import { parseColour } from '../led/colour.js';
import { DEFAULT_STATE_DIR } from './defaults.js';
import { archiveSchema } from './schema-archive.js';
import { drillSchema, healthField } from './schema-care.js';
import { mailSchema } from './schema-mail.js';
import { calendarProblem } from './calendar.js';
import { absolutePath, CONTROL_CHARACTER, duration, size, TIMER_MAX_MS, timerDuration } from './primitives.js';

/** Names of drives and states end up in paths, unit names and mapper names: keep them plain. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const NAME_RULE = 'letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters';

const colour = (description: string, fallback: string) =>
  z
    .string()
    .refine((text) => parseColour(text) !== undefined, {
      message: 'not a colour: use a CSS colour name (green, teal, orange, ...), #rgb, #rrggbb or off',
    })
    .default(fallback)
    .meta({ description });

export const ledSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Show the backup state on a BlinkStick when one is plugged in.' }),
    serial: z
      .string()
      .regex(/^BS\d+-\d\.\d+$/, { message: 'expected a BlinkStick serial like BS012345-3.1 (see `plugback led list`)' })
      .meta({ description: 'Use the stick with this serial. Default: the first one found.' })
      .optional(),
    index: z.int().min(0).max(63).default(0).meta({ description: 'Which LED of the stick shows the state (0 is the first).' }),
    brightness: z
      .number()
      .min(0)
      .max(100)
      .default(20)
      .meta({ description: 'Brightness in percent, applied like the blinkstick CLI\'s --limit.' }),
    pulse: z.boolean().default(true).meta({ description: 'Pulse slowly while a backup is working, rather than shine steadily.' }),
    progressBar: z
      .boolean()
      .default(true)
      .meta({ description: 'On a stick with 8 LEDs (Square, Strip), show the copy\'s progress as a bar.' }),
    colours: z
      .strictObject({
        idle: colour('Nothing going on.', 'off'),
        detected: colour('A drive was plugged in; unlocking and checking it.', 'blue'),
        working: colour('Backing up.', '#33c280'),
        done: colour('Done: the drive can be taken away.', 'green'),
        failed: colour('The last backup failed (until that drive is plugged in again, or `plugback led clear`).', 'red'),
        overdue: colour('A drive has not been backed up for too long.', '#ffbf00'),
        attention: colour('Waiting: for the lock, or in the queue (blinks).', 'dodgerblue'),
      })
      .prefault({})
      .meta({ description: 'The colour of each state: CSS names, #rgb or #rrggbb; off is dark.' }),
  })
  .meta({ description: 'The status LED: a BlinkStick on USB.' });

// node-cron is required only when a config names a schedule (the default needs no check): importing it cost
// every command about 16 ms of start-up (bench/startup.mjs). require, because a zod refinement is synchronous.
const requireCron = () => createRequire(import.meta.url)('node-cron') as typeof import('node-cron');

const cronExpression = z
  .string()
  .superRefine((text, ctx) => {
    const result = requireCron().validateDetailed(text);
    if (result.valid) return;
    const why = result.errors.map((e) => e.message).join('; ');
    ctx.addIssue({
      code: 'custom',
      message: `not a cron expression (${why}): use "minute hour day-of-month month day-of-week", e.g. "0 9 * * *" for 09:00 every day`,
    });
  });

const remindersSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Check for overdue drives on a schedule (the daemon does; mail needs mail:).' }),
    overdueAfterDays: z
      .number()
      .positive()
      .default(14)
      .meta({ description: 'A drive whose last good backup is older than this many days is overdue: the LED says so and a reminder is mailed.' }),
    remindEvery: duration('How long after a reminder for a drive the next one for the same drive is sent, while it stays overdue.').prefault('7d'),
    schedule: cronExpression
      .default('0 9 * * *')
      .meta({ description: 'When to check, as a cron expression in local time (an optional first field is seconds). Default: daily at 09:00.' }),
  })
  .meta({ description: 'Reminders for drives that have not been backed up for too long, also when none is plugged in.' });

const metricsSchema = z
  .strictObject({
    textfile: absolutePath('textfile')
      .refine((p) => p.endsWith('.prom'), { message: "node_exporter's textfile collector only reads files ending in .prom" })
      .meta({ description: "Write per-drive metrics to this file for node_exporter's textfile collector (e.g. /var/lib/prometheus/node-exporter/plugback.prom)." })
      .optional(),
  })
  .meta({ description: 'Metrics for Prometheus.' });

const pingUrl = (description: string) =>
  z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
    .meta({ description })
    .optional();

const healthcheckSchema = z
  .strictObject({
    start: pingUrl('Requested when a backup of this drive starts.'),
    success: pingUrl('Requested when it succeeds (also with warnings).'),
    fail: pingUrl('Requested (POST, with the error) when it fails or is cancelled.'),
    timeout: timerDuration('How long one ping may take; a ping never holds up or fails a backup.').prefault('10s'),
  })
  .meta({ description: 'URLs to ping for one drive, dead man\'s switch style (healthchecks.io, Uptime Kuma, ...).' });

const hookScript = (description: string) => z.string().min(1).meta({ description });

const hooksFields = {
  preBackup: hookScript('Shell script (/bin/sh) run before the backup. A failure fails the job.').optional(),
  postBackup: hookScript(
    'Shell script run after the backup, also when it failed, if the matching preBackup ran. PLUGBACK_RESULT says how it went.',
  ).optional(),
  postRestore: hookScript('Shell script run after a restore has put the files back (used by restore, not by backups).').optional(),
};

const driveSchema = z
  .strictObject({
    uuid: z
      .string()
      .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
        message: 'expected a LUKS UUID like 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 (see `cryptsetup luksUUID DEVICE`)',
      })
      .transform((u) => u.toLowerCase())
      .meta({ description: 'UUID of the LUKS container (`cryptsetup luksUUID DEVICE`). Makes this an encrypted USB drive.' })
      .optional(),
    keyFile: absolutePath('keyFile')
      // crypttab splits its fields at white space and has no quoting.
      .refine((p) => !/\s/.test(p.replace(CONTROL_CHARACTER, '')), {
        message: 'keyFile contains white space, which /etc/crypttab cannot hold: move the key to a path without spaces',
      })
      .meta({ description: 'Key file that unlocks the LUKS container. Default: /etc/plugback/keys/<drive>.key' })
      .optional(),
    cryptName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: 'expected a device-mapper name: letters, digits, ".", "-", "_"' })
      .meta({ description: 'Name of the unlocked mapping, /dev/mapper/<cryptName>. Default: plugback-<drive>' })
      .optional(),
    mountPoint: absolutePath('mountPoint')
      .meta({ description: 'Where the unlocked file system is mounted. Default: /run/plugback/<drive>' })
      .optional(),
    path: absolutePath('path')
      .meta({ description: 'A directory used as the backup target instead of a LUKS drive (an always-attached disk, tests, the demo).' })
      .optional(),
    deviceTimeout: timerDuration(
      'How long unlocking waits for the drive to show up before it fails (x-systemd.device-timeout= in its crypttab line). Default: 30s',
    ).optional(),
    btrfsCompression: z
      .enum(['off', 'zstd'])
      .meta({ description: 'For a LUKS drive formatted with btrfs: "zstd" mounts it with compress=zstd, so what is written from then on is compressed (less space and I/O, more CPU; files that do not compress are stored as they are). A drive of another file system then fails to mount. Default: off' })
      .optional(),
    health: healthField,
    drill: drillSchema.optional(),
    overdueAfterDays: z
      .int()
      .min(1)
      .meta({ description: 'Days without a good backup before this drive is overdue, instead of reminders.overdueAfterDays (for a drive that is away longer, or should come home more often). Default for a drive with a schedule that runs at least daily: 2.' })
      .optional(),
    schedule: z
      .string()
      .superRefine((text, ctx) => {
        const problem = calendarProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: `not a usable schedule: it ${problem}` });
      })
      .meta({ description: 'Back this drive up on a schedule, for a drive that is always attached: a systemd calendar expression (systemd.time(7)) such as daily, "Mon *-*-* 03:00" or "*-*-* 02:30:00". `plugback install` writes and enables a timer for it.' })
      .optional(),
    scheduleRandomDelay: duration('How much later than the schedule the backup may start, chosen at random each time (RandomizedDelaySec= of its timer), so machines sharing a disk or a network do not all start at once. "0s" starts on the dot. Default: 10m')
      .refine((ms) => ms <= TIMER_MAX_MS, { message: 'must be at most 24d' })
      .optional(),
    archive: archiveSchema.optional(),
  })
  .superRefine((drive, ctx) => {
    if (drive.scheduleRandomDelay !== undefined && drive.schedule === undefined) {
      ctx.addIssue({ code: 'custom', path: ['scheduleRandomDelay'], message: 'only applies to a drive with a schedule: add schedule, or remove scheduleRandomDelay' });
    }
  })
  .meta({ description: 'A backup drive: either a LUKS drive (uuid) or a directory target (path).' });

const stateSchema = z
  .strictObject({
    folders: z
      .array(absolutePath('each folder'))
      .min(1, { message: 'a state needs at least one folder' })
      .meta({ description: 'Absolute paths of the folders this state backs up.' }),
    exclude: z
      .array(z.string().min(1))
      .default([])
      .meta({ description: 'rsync exclude patterns for this state, on top of backup.exclude.' }),
    ...hooksFields,
  })
  .meta({ description: 'A named set of folders with its own hooks, like a service and its data.' });

const retentionSchema = z
  .strictObject({
    keepLast: z.int().min(1).default(3).meta({ description: 'Always keep the newest N snapshots (at least 1).' }),
    keepDaily: z.int().min(0).default(7).meta({ description: 'Keep the newest snapshot of each of the last N days that have one.' }),
    keepWeekly: z.int().min(0).default(4).meta({ description: 'Keep the newest snapshot of each of the last N ISO weeks that have one.' }),
    keepMonthly: z.int().min(0).default(12).meta({ description: 'Keep the newest snapshot of each of the last N months that have one.' }),
    keepYearly: z.int().min(0).default(5).meta({ description: 'Keep the newest snapshot of each of the last N years that have one.' }),
  })
  .meta({ description: 'Which snapshots to keep. Buckets count over the snapshots that exist, so a drive plugged in monthly keeps its history.' });

const backupSchema = z.strictObject({
  lockFile: absolutePath('lockFile')
    .default('/run/lock/plugback/plugback.lock')
    .meta({ description: 'File locked with flock(2) for the whole job, before any hook runs; other scripts can take it with flock(1). It must belong to root, in a directory other users cannot write (created 0700 if missing).' }),
  lockWait: timerDuration('How long to wait for the lock before failing.').prefault('10m'),
  retention: retentionSchema.prefault({}),
  exclude: z.array(z.string().min(1)).default([]).meta({ description: 'rsync exclude patterns for every state.' }),
  nice: z.int().min(-20).max(19).default(19).meta({ description: 'CPU niceness of rsync and of plugback archive (-20 to 19).' }),
  ioClass: z
    .enum(['idle', 'best-effort', 'none'])
    .default('idle')
    .meta({ description: 'I/O scheduling class of rsync and of plugback archive: idle, best-effort (with ioPriority) or none (inherit).' }),
  ioPriority: z.int().min(0).max(7).default(7).meta({ description: 'I/O priority within best-effort, 0 (high) to 7 (low).' }),
  bandwidthLimit: size('Upper limit for rsync, and for the bytes plugback archive writes, per second, e.g. 50MiB. Unset: no limit.').optional(),
  maxShrinkPercent: z
    .number()
    .min(0)
    .max(100)
    .default(50)
    .meta({ description: 'Refuse a snapshot when a state lost more than this share of its files or bytes since the last one. 100 turns this check off (an empty or unmounted folder is still refused without --allow-shrink).' }),
  hookTimeout: timerDuration('How long a hook may run before it is killed and counted as failed.').prefault('15m'),
  verifySample: z
    .int()
    .min(0)
    .max(10_000)
    .default(20)
    .meta({ description: 'After each backup, read this many random files back from the new snapshot and compare them with the source. 0 turns it off.' }),
});

const daemonSchema = z.strictObject({
  minInterval: duration(
    'A drive plugged in again within this time of its last good backup is not backed up again (the LED shows green: safe to remove). "0s" backs up on every plug.',
  ).prefault('1h'),
});

export const configSchema = z
  .strictObject({
    host: z
      .string()
      .regex(NAME_PATTERN, { message: `expected a host name of ${NAME_RULE}` })
      .meta({ description: 'Name of this machine on the drive (snapshots go under plugback/<host>/). Default: the short hostname, other characters than letters, digits, - and _ replaced by _.' })
      .optional(),
    stateDir: absolutePath('stateDir')
      .default(DEFAULT_STATE_DIR)
      .meta({ description: "plugback's own state on this machine: the drives it knows, each drive's history (ledger.json) and mail not yet sent (outbox/)." }),
    drives: z
      .record(z.string().regex(NAME_PATTERN, { message: `a drive name must be ${NAME_RULE}` }), driveSchema)
      .meta({ description: 'The backup drives, by name.' }),
    states: z
      .record(z.string().regex(NAME_PATTERN, { message: `a state name must be ${NAME_RULE}` }), stateSchema)
      .meta({ description: 'What to back up: named states, each with folders and hooks.' }),
    hooks: z
      .strictObject(hooksFields)
      .default({})
      .meta({ description: 'Hooks for every job: preBackup runs before the states\' own, postBackup after theirs.' }),
    backup: backupSchema.prefault({}).meta({ description: 'How backups run.' }),
    led: ledSchema.prefault({}),
    daemon: daemonSchema.prefault({}).meta({ description: 'How `plugback daemon` reacts to drives being plugged in.' }),
    mail: mailSchema.optional(),
    reminders: remindersSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    healthchecks: z
      .record(z.string().regex(NAME_PATTERN, { message: `a drive name must be ${NAME_RULE}` }), healthcheckSchema)
      .default({})
      .meta({ description: 'Healthcheck URLs by drive name: one check per drive, so each drive can be watched for going stale.' }),
    install: z
      .strictObject({
        trigger: z
          .enum(['daemon', 'units'])
          .default('daemon')
          .meta({
            description:
              'What starts a backup when a drive is plugged in: daemon (plugback.service watches for drives) or units (one plugback-drive@<drive>.service per LUKS drive, started by systemd, no daemon).',
          }),
      })
      .prefault({})
      .meta({ description: 'What `plugback generate` and `plugback install` put on the system.' }),
  })
  .meta({ title: 'plugback configuration', description: 'The configuration of plugback, a plug-in-triggered backup daemon.' });

/** The config as written in YAML (what the JSON Schema describes). */
export type ConfigInput = z.input<typeof configSchema>;
/** The config after validation and defaults, with durations in ms and sizes in bytes. */
export type ParsedConfig = z.output<typeof configSchema>;

/** The JSON Schema of the config file, as checked in under config/. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
