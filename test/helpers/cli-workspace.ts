// A workspace like the drive-safety audit's `mkws`: a 21-file source, an adopted directory drive d1 (optionally
// a tmpfs or a loop-mounted ext4 or btrfs image), host h1, a victim folder outside the drive, and the real CLI run as root.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export type DriveKind = 'directory' | 'tmpfs' | 'ext4' | 'btrfs';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The message of every JSON log line. */
  messages: string[];
}

export class Workspace {
  readonly src: string;
  readonly drive: string;
  readonly state: string;
  readonly victim: string;
  readonly config: string;
  private readonly mounts: string[] = [];

  private constructor(readonly dir: string, readonly host = 'h1') {
    this.src = path.join(dir, 'src', 'photos');
    this.drive = path.join(dir, 'drive');
    this.state = path.join(dir, 'state');
    this.victim = path.join(dir, 'victim');
    this.config = path.join(dir, 'config.yaml');
  }

  /** A fresh workspace; the drive is adopted unless `adopt` is false. */
  static async create(kind: DriveKind = 'directory', extra = '', adopt = true): Promise<Workspace> {
    const w = new Workspace(await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-hostile-')));
    await fs.mkdir(path.join(w.src, 'sub'), { recursive: true });
    for (let i = 1; i <= 20; i++) await fs.writeFile(path.join(w.src, `p${i}.jpg`), `photo ${i}\n`);
    await fs.writeFile(path.join(w.src, 'sub', 'deep.txt'), 'deep\n');
    await fs.mkdir(w.drive);
    if (kind === 'tmpfs') await w.mount(['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', w.drive]);
    if (kind === 'ext4' || kind === 'btrfs') {
      const image = path.join(w.dir, 'drive.img');
      // 128 MiB: the smallest btrfs that mkfs.btrfs makes without complaint is about 110 MiB.
      await execFileP('truncate', ['-s', kind === 'btrfs' ? '128M' : '32M', image]);
      await execFileP(`mkfs.${kind}`, ['-q', kind === 'btrfs' ? '-f' : '-F', image]);
      await w.mount(['-o', 'loop', image, w.drive]);
    }
    await fs.mkdir(w.victim);
    await fs.writeFile(path.join(w.victim, 'important.conf'), 'important\n');
    await w.writeConfig(extra);
    if (adopt) await w.cli(['drive', 'adopt', 'd1']);
    return w;
  }

  /** The audit's config: host h1, drive d1 at `drive`, state photos; `extra` lines are appended under backup:. */
  async writeConfig(extra = '', host = this.host, stateDir = this.state): Promise<void> {
    const lines = [
      `host: ${host}`,
      `stateDir: ${stateDir}`,
      `drives: {d1: {path: ${this.drive}}}`,
      `states: {photos: {folders: [${this.src}]}}`,
      'backup:',
      `  lockFile: ${path.join(this.dir, 'lock', 'plugback.lock')}`,
      '  verifySample: 0',
      '  hookTimeout: 20s',
      '  lockWait: 2s',
      ...extra.split('\n').filter(Boolean).map((l) => `  ${l}`),
      'led: {enabled: false}',
      'reminders: {enabled: false}',
    ];
    await fs.writeFile(this.config, `${lines.join('\n')}\n`);
  }

  /** Runs `plugback ARGS --config <config>` to the end (`wrapper` prefixes the command, e.g. a shell that plants links). */
  async cli(args: string[], options: { config?: string; wrapper?: string[]; env?: Record<string, string> } = {}): Promise<CliRun> {
    const argv = [process.execPath, CLI, ...args, '--config', options.config ?? this.config];
    const [command, ...rest] = [...(options.wrapper ?? []), ...argv] as [string, ...string[]];
    const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const messages = stdout
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg ?? ''));
    return { code, stdout, stderr, messages };
  }

  get snapshots(): string {
    return path.join(this.drive, 'plugback', this.host, 'snapshots');
  }

  /** The complete snapshots' names (directories named like a time), oldest first. */
  async completeSnapshots(): Promise<string[]> {
    const entries = await fs.readdir(this.snapshots, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && /^\d{4}-\d\d-\d\dT\d{6}Z$/.test(e.name)).map((e) => e.name).sort();
  }

  /** Every file under `dir` with its content, to show nothing in it changed. */
  async tree(dir = this.victim): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
      const full = path.join(e.parentPath, e.name);
      out[path.relative(dir, full)] = e.isFile() ? await fs.readFile(full, 'utf8') : e.isDirectory() ? '<dir>' : '<other>';
    }
    return out;
  }

  private async mount(args: string[]): Promise<void> {
    await execFileP('mount', args);
    this.mounts.push(args.at(-1) as string);
  }

  async cleanup(): Promise<void> {
    for (const m of this.mounts.reverse()) await execFileP('umount', [m]).catch(() => execFileP('umount', ['-l', m]));
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** A command run as the unprivileged user 65534 (needs nothing from the checkout, which may be root-only). */
export async function asNobody(args: string[]): Promise<void> {
  await execFileP('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...args]);
}

/** What a failed expectation should show about a run. */
export function shown(r: CliRun): string {
  return `exit ${r.code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

/** The names the run logs of the next `seconds` seconds will have (one per second, like snapshot names), for planting. */
export function comingRunLogNames(seconds = 20): string[] {
  return Array.from({ length: seconds }, (_, s) => `${new Date(Date.now() + s * 1000).toISOString().replace(/:/g, '').replace(/\.\d{3}Z$/, 'Z')}.log`);
}
