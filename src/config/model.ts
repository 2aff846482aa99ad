// The config as the rest of plugback uses it: drives resolved to their kind, defaults filled in.
import os from 'node:os';
import path from 'node:path';
import type { Encryption } from '../archive/encryption.js';
import type { Compression, Naming } from '../archive/naming.js';
import type { ParsedConfig } from './schema.js';

export interface LuksDrive {
  kind: 'luks';
  name: string;
  uuid: string;
  keyFile: string;
  cryptName: string;
  mountPoint: string;
  /** How long systemd waits for the drive to appear when asked to unlock it, in ms. */
  deviceTimeout: number;
  /** drives.<name>.btrfsCompression: mount with compress=zstd (a btrfs drive only). */
  btrfsCompression: 'off' | 'zstd';
  health: HealthPolicy;
  drill?: DrillPolicy | undefined;
  /** This drive's own reminders.overdueAfterDays. */
  overdueAfterDays?: number | undefined;
  schedule?: DriveSchedule | undefined;
  archive?: DriveArchive | undefined;
}

/** drives.<name>.archive: the archive the backup job makes of each new snapshot. */
export interface DriveArchive {
  /** The archive folder (default <stateDir>/archives). */
  to: string;
  naming: Naming;
  compression: Compression;
  encryption: Encryption;
  /** USER[:GROUP] as written; resolved when the archive is made. */
  owner?: string | undefined;
  keep?: number | undefined;
}

/** drives.<name>.schedule: when its timer starts a backup. */
export interface DriveSchedule {
  /** The systemd calendar expression, as written (OnCalendar=). */
  calendar: string;
  /** RandomizedDelaySec=, in ms. */
  randomDelay: number;
}

export interface DirectoryDrive {
  kind: 'directory';
  name: string;
  path: string;
  health: HealthPolicy;
  drill?: DrillPolicy | undefined;
  overdueAfterDays?: number | undefined;
  schedule?: DriveSchedule | undefined;
  archive?: DriveArchive | undefined;
}

export type Drive = LuksDrive | DirectoryDrive;

/** drives.<name>.drill: how often the backup job runs a restore drill, and on how many files. */
export interface DrillPolicy {
  everyBackups?: number | undefined;
  everyDays?: number | undefined;
  files: number;
}

/** drives.<name>.health: what a disk whose SMART says "failing" does to a backup onto it (docs/health.md). */
export type HealthPolicy = 'refuse' | 'warn' | 'off';

export interface HookSet {
  preBackup?: string | undefined;
  postBackup?: string | undefined;
  postRestore?: string | undefined;
}

export interface State extends HookSet {
  name: string;
  folders: string[];
  exclude: string[];
}

export type BackupSettings = ParsedConfig['backup'];
export type RetentionPolicy = BackupSettings['retention'];
export type LedSettings = ParsedConfig['led'];
export type DaemonSettings = ParsedConfig['daemon'];
export type MailSettings = NonNullable<ParsedConfig['mail']>;
export type ReminderSettings = ParsedConfig['reminders'];
export type MetricsSettings = ParsedConfig['metrics'];
export type HealthcheckSettings = ParsedConfig['healthchecks'][string];
export type InstallSettings = ParsedConfig['install'];

export interface Config {
  /** The file it was loaded from, for messages. */
  file: string;
  host: string;
  stateDir: string;
  drives: Drive[];
  states: State[];
  hooks: HookSet;
  backup: BackupSettings;
  led: LedSettings;
  daemon: DaemonSettings;
  /** Unset: no mail is sent. */
  mail?: MailSettings | undefined;
  reminders: ReminderSettings;
  metrics: MetricsSettings;
  /** Ping URLs by drive name. */
  healthchecks: Record<string, HealthcheckSettings>;
  install: InstallSettings;
}

/** x-systemd.device-timeout= when the config does not say: long enough for a slow USB hub, short enough to notice. */
const DEFAULT_DEVICE_TIMEOUT_MS = 30_000;
/** RandomizedDelaySec= when the config does not say: enough to spread machines sharing a disk, still "at" the time. */
export const DEFAULT_SCHEDULE_DELAY_MS = 600_000;

/** The root a drive's repository lives under: the mount point of a LUKS drive, or the directory. */
export function driveRoot(drive: Drive): string {
  return drive.kind === 'luks' ? drive.mountPoint : drive.path;
}

/** Turns the validated file into the model, filling in per-drive defaults. */
export function resolveConfig(parsed: ParsedConfig, file: string): Config {
  const drives: Drive[] = Object.entries(parsed.drives).map(([name, d]) =>
    d.uuid
      ? {
          kind: 'luks',
          name,
          uuid: d.uuid,
          keyFile: d.keyFile ?? `/etc/plugback/keys/${name}.key`,
          cryptName: d.cryptName ?? `plugback-${name}`,
          mountPoint: d.mountPoint ?? `/run/plugback/${name}`,
          deviceTimeout: d.deviceTimeout ?? DEFAULT_DEVICE_TIMEOUT_MS,
          btrfsCompression: d.btrfsCompression ?? 'off',
          health: d.health ?? 'refuse',
          drill: d.drill,
          overdueAfterDays: d.overdueAfterDays,
          schedule: scheduleOf(d),
          archive: archiveOf(d, parsed.stateDir),
        }
      : { kind: 'directory', name, path: d.path as string, health: d.health ?? 'refuse', drill: d.drill, overdueAfterDays: d.overdueAfterDays, schedule: scheduleOf(d), archive: archiveOf(d, parsed.stateDir) },
  );
  const states: State[] = Object.entries(parsed.states).map(([name, s]) => ({ name, ...s }));
  return {
    file,
    host: parsed.host ?? defaultHost(),
    stateDir: parsed.stateDir,
    drives,
    states,
    hooks: parsed.hooks,
    backup: parsed.backup,
    led: parsed.led,
    daemon: parsed.daemon,
    mail: parsed.mail,
    reminders: parsed.reminders,
    metrics: parsed.metrics,
    // No prototype: healthchecks["constructor"] of a drive without pings must be undefined, not Object's.
    healthchecks: Object.assign(Object.create(null) as Config['healthchecks'], parsed.healthchecks),
    install: parsed.install,
  };
}

function scheduleOf(d: ParsedConfig['drives'][string]): DriveSchedule | undefined {
  return d.schedule === undefined ? undefined : { calendar: d.schedule, randomDelay: d.scheduleRandomDelay ?? DEFAULT_SCHEDULE_DELAY_MS };
}

function archiveOf(d: ParsedConfig['drives'][string], stateDir: string): DriveArchive | undefined {
  const a = d.archive;
  if (a === undefined) return undefined;
  const encryption: Encryption = a.recipients
    ? { kind: 'recipients', fingerprints: a.recipients }
    : a.keyring
      ? { kind: 'keyring', file: a.keyring }
      : a.passphraseFile
        ? { kind: 'passphrase', file: a.passphraseFile }
        : { kind: 'none' };
  return { to: a.to ?? path.join(stateDir, 'archives'), naming: a.naming, compression: a.compression, encryption, owner: a.owner, keep: a.keep };
}

/** The short hostname, made safe for a directory name. */
export function defaultHost(): string {
  const short = os.hostname().split('.')[0] ?? 'localhost';
  return short.replace(/[^A-Za-z0-9_-]/g, '_') || 'localhost';
}
