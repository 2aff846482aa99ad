// A throw-away plugback setup for integration tests: a source tree, a directory drive (or a LUKS-style mount
// point), a YAML config loaded through the real parser, and runBackupJob with its log lines and events kept.
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { adoptDrive } from '../../src/cli/drive-adopt.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config, Drive } from '../../src/config/model.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { runBackupJob } from '../../src/job/backup-job.js';
import type { BackupOptions } from '../../src/job/context.js';
import type { JobEvent, JobResult } from '../../src/job/events.js';
import { repoPaths, type RepoPaths } from '../../src/repo/layout.js';

const execFileP = promisify(execFile);

export const DRIVE = 'test-drive';
export const HOST = 'testhost';

/** One pino line as the job's console sink received it. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** What a test adds to the config; everything else is the fixture's (host, stateDir, lock, one drive, state "data"). */
export interface FixtureSettings {
  states?: ConfigInput['states'];
  hooks?: ConfigInput['hooks'];
  backup?: Partial<NonNullable<ConfigInput['backup']>>;
  /** Replaces the directory drive, e.g. { uuid, mountPoint } for a LUKS drive. */
  drive?: ConfigInput['drives'][string];
  /** Mail, reminders, metrics and healthchecks, as written in the YAML. */
  notify?: Pick<ConfigInput, 'mail' | 'reminders' | 'metrics' | 'healthchecks'>;
}

export interface RunOptions extends Partial<BackupOptions> {
  signal?: AbortSignal;
  onEvent?: (event: JobEvent) => void;
}

export class BackupFixture {
  readonly source: string;
  readonly drivePath: string;
  readonly stateDir: string;
  readonly lockFile: string;
  readonly configFile: string;
  config!: Config;
  /** Log lines and events of the last run. */
  logs: LogLine[] = [];
  events: JobEvent[] = [];
  private readonly pids = new Set<number>();
  private readonly mounts: string[] = [];

  private constructor(readonly root: string) {
    this.source = path.join(root, 'source');
    this.drivePath = path.join(root, 'drive');
    this.stateDir = path.join(root, 'state');
    this.lockFile = path.join(root, 'lock', 'plugback.lock');
    this.configFile = path.join(root, 'plugback.yaml');
  }

  /** Creates the temp dir, source and drive folders and the config; adopts the drive unless told not to. */
  static async create(settings: FixtureSettings = {}, adopt = true): Promise<BackupFixture> {
    const f = new BackupFixture(await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-it-')));
    await Promise.all([f.source, f.drivePath, path.dirname(f.lockFile)].map((d) => fs.mkdir(d, { recursive: true })));
    await f.configure(settings);
    if (adopt) await f.adopt();
    return f;
  }

  /** (Re)writes the YAML config and loads it with the real loader. */
  async configure(settings: FixtureSettings): Promise<void> {
    const doc: ConfigInput = {
      host: HOST,
      stateDir: this.stateDir,
      drives: { [DRIVE]: settings.drive ?? { path: this.drivePath } },
      states: settings.states ?? { data: { folders: [this.source] } },
      ...(settings.hooks ? { hooks: settings.hooks } : {}),
      backup: { lockFile: this.lockFile, lockWait: '2s', hookTimeout: '20s', ...settings.backup },
      ...settings.notify,
    };
    await fs.writeFile(this.configFile, stringify(doc));
    this.config = await loadConfig(this.configFile);
  }

  get drive(): Drive {
    const drive = this.config.drives.find((d) => d.name === DRIVE);
    if (!drive) throw new Error(`no drive ${DRIVE} in the config`);
    return drive;
  }

  get repo(): RepoPaths {
    return repoPaths(this.drive.kind === 'luks' ? this.drive.mountPoint : this.drive.path, HOST);
  }

  adopt(force = false): Promise<unknown> {
    return adoptDrive(this.config, this.drive, force);
  }

  /** Runs one backup job; log lines and events are collected afresh. */
  async run(options: RunOptions = {}): Promise<JobResult> {
    const { signal, onEvent, ...backupOptions } = options;
    this.logs = [];
    this.events = [];
    return runBackupJob({
      config: this.config,
      drive: this.drive,
      options: backupOptions,
      ...(signal ? { signal } : {}),
      console: (line) => this.logs.push(JSON.parse(line) as LogLine),
      onEvent: (event) => {
        this.events.push(event);
        onEvent?.(event);
      },
    });
  }

  /** Whether some log line's message contains `text`. */
  logged(text: string): boolean {
    return this.logs.some((l) => l.msg.includes(text));
  }

  snapshotsDir(): string {
    return this.repo.snapshots;
  }

  /** Everything in the snapshots folder (complete, .incomplete, anything else), sorted. */
  async listSnapshotNames(): Promise<string[]> {
    return (await fs.readdir(this.snapshotsDir()).catch(() => [])).sort();
  }

  /** Where `folder` of `state` sits inside snapshot `name` (default: the source in state "data"). */
  inSnapshot(name: string, state = 'data', folder = this.source): string {
    return path.join(this.snapshotsDir(), name, state, folder);
  }

  /** Remembers a process the test started, to kill it in cleanup. */
  track(child: ChildProcess | number): void {
    const pid = typeof child === 'number' ? child : child.pid;
    if (pid) this.pids.add(pid);
  }

  async mountTmpfs(dir: string, size = '64m'): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    await execFileP('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    this.mounts.push(dir);
  }

  async cleanup(): Promise<void> {
    for (const pid of this.pids) {
      // The whole group when it leads one (spawned detached), so `flock FILE sleep` loses its child too.
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // not a group leader, or already gone
        }
      }
    }
    for (const dir of this.mounts.reverse()) {
      await execFileP('umount', [dir]).catch(() => execFileP('umount', ['-l', dir]));
    }
    // fs.rm cannot delete trees deeper than PATH_MAX; rm(1) walks them with openat().
    await fs.rm(this.root, { recursive: true, force: true }).catch(() => execFileP('rm', ['-rf', '--one-file-system', this.root]));
  }
}
