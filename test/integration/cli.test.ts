// CLI-level integration tests: the built command line (dist/main.js) run the way a user runs it, in child processes
// against temporary folders, checking exit codes and what reaches stdout, stderr and the drive.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rsyncProcessesUnder } from '../helpers/processes.js';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const HOST = 'testhost';
const SNAPSHOT_NAME = /^\d{4}-\d{2}-\d{2}T\d{6}Z$/;

// ---------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Every CLI process a test started; afterEach kills the ones still running. */
const started: ChildProcess[] = [];

/** A CLI process in flight, with its output so far. */
class RunningCli {
  stdout = '';
  stderr = '';
  readonly done: Promise<CliResult>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.done = new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the CLI did not start');
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Waits for the process to end; fails (showing its output) if it takes longer than `timeoutMs`. */
  async finish(timeoutMs = 30_000): Promise<CliResult> {
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
    const winner = await Promise.race([this.done, timeout]);
    if (winner === 'timeout') {
      throw new Error(`the CLI did not exit within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
    }
    return winner;
  }

  /** Waits until a line of stdout matches `pattern`; returns that line. */
  async waitForStdoutLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.stdout.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (this.exited || Date.now() > deadline) {
        throw new Error(`no stdout line matched ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await sleep(25);
    }
  }
}

/** Starts `node dist/main.js ...args` with pipes for stdout and stderr (so not a TTY), without a shell. */
function startCli(args: string[], cwd = os.tmpdir()): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  started.push(child);
  return new RunningCli(child);
}

/** Runs the CLI to the end. */
async function cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return startCli(args).finish(timeoutMs);
}

/** What a test failure should show about a CLI run. */
function shown(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

// ---------------------------------------------------------------------------
// Temporary folders and configs
// ---------------------------------------------------------------------------

const tempDirs: string[] = [];

interface Sandbox {
  dir: string;
  source: string;
  drive: string;
  stateDir: string;
  lockFile: string;
  /** The postBackup hook writes $PLUGBACK_RESULT here. */
  postResult: string;
  config: string;
}

/** A temp folder with a small source tree, an empty directory drive and paths for the rest. */
async function sandbox(): Promise<Sandbox> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-cli-'));
  tempDirs.push(dir);
  const sb: Sandbox = {
    dir,
    source: path.join(dir, 'source'),
    drive: path.join(dir, 'drive'),
    stateDir: path.join(dir, 'state'),
    lockFile: path.join(dir, 'plugback.lock'),
    postResult: path.join(dir, 'post-result'),
    config: path.join(dir, 'plugback.yaml'),
  };
  await fs.mkdir(path.join(sb.source, 'sub'), { recursive: true });
  await fs.writeFile(path.join(sb.source, 'hello.txt'), 'hello\n');
  await fs.writeFile(path.join(sb.source, 'sub', 'data.bin'), Buffer.alloc(10_000, 7));
  await fs.mkdir(sb.drive);
  return sb;
}

/** The usual one-drive, one-state config; `backup` adds lines under backup:. */
function configYaml(sb: Sandbox, backup: string[] = []): string {
  return [
    `host: ${HOST}`,
    `stateDir: ${sb.stateDir}`,
    'drives:',
    '  target:',
    `    path: ${sb.drive}`,
    'states:',
    '  data:',
    `    folders: [${sb.source}]`,
    '    postBackup: |',
    `      echo "$PLUGBACK_RESULT" > ${sb.postResult}`,
    'backup:',
    `  lockFile: ${sb.lockFile}`,
    '  lockWait: 2s',
    ...backup.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

async function writeConfig(sb: Sandbox, backup: string[] = []): Promise<void> {
  await fs.writeFile(sb.config, configYaml(sb, backup));
}

/** Writes the usual config and adopts the drive, as a user does before the first run. */
async function adoptedSandbox(backup: string[] = []): Promise<Sandbox> {
  const sb = await sandbox();
  await writeConfig(sb, backup);
  const adopt = await cli(['drive', 'adopt', 'target', '--config', sb.config]);
  expect(adopt.code, shown(adopt)).toBe(0);
  return sb;
}

const snapshotsDir = (sb: Sandbox) => path.join(sb.drive, 'plugback', HOST, 'snapshots');

// ---------------------------------------------------------------------------
// Reading what the CLI printed
// ---------------------------------------------------------------------------

interface JobResultLine {
  outcome: string;
  snapshot?: string;
  warnings: string[];
  error?: string;
  failedStep?: string;
  leftForResume?: string;
}

interface LogLine {
  level: number;
  time: string;
  msg: string;
  result?: JobResultLine;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses JSON-lines text; every line must be a pino log line with level, time and msg. */
function parseLogLines(text: string): LogLine[] {
  const lines = text.split('\n').filter((l) => l !== '');
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1} is not JSON: ${line}`);
    }
    if (!isRecord(value) || typeof value.level !== 'number' || typeof value.time !== 'string' || typeof value.msg !== 'string') {
      throw new Error(`line ${i + 1} is not a log line with level, time and msg: ${line}`);
    }
    if (Number.isNaN(Date.parse(value.time))) throw new Error(`line ${i + 1} has a time that is not a date: ${line}`);
    return value as unknown as LogLine;
  });
}

/** The job result carried by the last stdout line of `run`. */
function finalResult(r: CliResult): JobResultLine {
  const last = parseLogLines(r.stdout).at(-1);
  if (!last?.result) throw new Error(`the last line of stdout carries no result\n${shown(r)}`);
  return last.result;
}

interface SnapshotsJson {
  drive: string;
  host: string;
  snapshots: { snapshot: string; time: string; bytes: number | null; files: number | null; states: string[]; problems: number }[];
  incomplete: string[];
}

interface IdentityJson {
  name: string;
  id: string;
}

async function readIdentity(drive: string): Promise<IdentityJson> {
  return JSON.parse(await fs.readFile(path.join(drive, 'plugback', 'drive.json'), 'utf8')) as IdentityJson;
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------


async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test builds before testing)`);
});

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // It ended meanwhile.
      }
    }
  }
  for (const dir of tempDirs.splice(0)) {
    // An rsync a killed CLI left behind would keep writing into the folder: stop it (by PID) before removing.
    for (const pid of await rsyncProcessesUnder(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    // rm(1) rather than fs.rm: the warning test leaves paths longer than PATH_MAX, which rm -rf handles.
    await execFileP('rm', ['-rf', '--', dir]);
  }
});

describe('plugback config check', () => {
  it('accepts a valid config with exit 0 and one summary line naming the file and the counts', async () => {
    const sb = await sandbox();
    await writeConfig(sb);
    const r = await cli(['config', 'check', sb.config]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${sb.config}: valid: 1 drive [target (directory ${sb.drive})], 1 state with 1 folder, host "${HOST}"\n`);
  });

  it('lists every problem of a broken config as FILE:LINE:COL: message and exits 2', async () => {
    const sb = await sandbox();
    const s = sb.source;
    const lines = [
      `host: ${HOST}`,
      `stateDir: ${sb.stateDir}`,
      'drives:',
      '  alpha:',
      '    uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      '    keyFile: keys/alpha.key',
      '    mountpoint: /mnt/alpha',
      '  beta:',
      '    uuid: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0',
      `    mountPoint: ${s}/backup`,
      'states:',
      '  data:',
      '    folders:',
      `      - ${s}`,
      `      - ${s}/inner`,
      'backup:',
      '  lockWait: 10 minutes',
      '  bandwidthLimit: fast',
      '  nice: lowest',
      '',
    ];
    await fs.writeFile(sb.config, lines.join('\n'));
    /** FILE:LINE:COL of `token` on the one line that contains `lineText`. */
    const at = (lineText: string, token: string): string => {
      const matching = lines.flatMap((l, i) => (l.includes(lineText) ? [i] : []));
      expect(matching, `"${lineText}" must be on exactly one line`).toHaveLength(1);
      const index = matching[0] as number;
      const col = (lines[index] ?? '').indexOf(token) + 1;
      expect(col, `"${token}" must be on line ${index + 1}`).toBeGreaterThan(0);
      return `${sb.config}:${index + 1}:${col}: `;
    };
    const expected = [
      // Values that break the schema: the position of the value.
      `${at('keyFile:', 'keys/alpha.key')}drives.alpha.keyFile: keyFile must be an absolute path (starting with /), got "keys/alpha.key"`,
      // An unknown key: the position of the key, with the suggestion.
      `${at('mountpoint:', 'mountpoint')}drives.alpha.mountpoint: unknown key "mountpoint"; did you mean "mountPoint"?`,
      // Cross checks: the same UUID (in another case), a drive inside a source, a folder inside a folder.
      `${at('0F1E2D3C', '0F1E2D3C')}drives.beta.uuid: uuid 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 is already used by drive "alpha"`,
      `${at('mountPoint:', `${s}/backup`)}drives.beta.mountPoint: mountPoint ${s}/backup of drive "beta" is inside the folder ${s} of state "data": the backup would copy itself`,
      `${at(`- ${s}/inner`, `${s}/inner`)}states.data.folders[1]: ${s}/inner is inside ${s} of state "data" (folders[0]): its files would be backed up twice`,
      `${at('lockWait:', '10 minutes')}backup.lockWait: expected a duration such as 30s, 10m, 2h or 1d, got "10 minutes"`,
      `${at('bandwidthLimit:', 'fast')}backup.bandwidthLimit: expected a size such as 512K, 20MiB, 1.5G or 300MB, got "fast"`,
      // A wrong type: a word where a whole number belongs (today's wording says "a number"; "a whole number" is fine too).
      expect.stringMatching(new RegExp(`^${escapeRegExp(at('nice:', 'lowest'))}backup\\.nice: expected a (whole )?number, got the text "lowest"$`)),
    ];
    const r = await cli(['config', 'check', sb.config]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toEqual(expected);
  });

  it('says it cannot read a config file that does not exist, and exits 2', async () => {
    const sb = await sandbox();
    const missing = path.join(sb.dir, 'no-such-config.yaml');
    const r = await cli(['config', 'check', missing]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${missing}:1:1: cannot read the config (no such file)`);
  });

  it('checks the file given with --config when no file is named', async () => {
    const sb = await sandbox();
    await writeConfig(sb);
    const r = await cli(['config', 'check', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain(`${sb.config}: valid:`);
  });
});

describe('plugback config schema', () => {
  it('prints a JSON Schema whose top level describes drives, states and backup', async () => {
    const r = await cli(['config', 'schema']);
    expect(r.code, shown(r)).toBe(0);
    const schema: unknown = JSON.parse(r.stdout);
    expect(isRecord(schema) && isRecord(schema.properties)).toBe(true);
    const properties = (schema as { properties: Record<string, unknown> }).properties;
    expect(properties).toHaveProperty('drives');
    expect(properties).toHaveProperty('states');
    expect(properties).toHaveProperty('backup');
  });
});

describe('plugback drive adopt', () => {
  it('writes plugback/drive.json with the drive name onto a directory target', async () => {
    const sb = await sandbox();
    await writeConfig(sb);
    const r = await cli(['drive', 'adopt', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(0);
    const identity = await readIdentity(sb.drive);
    expect(identity.name).toBe('target');
    expect(identity.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stdout).toBe(`${sb.drive} is drive "target" (id ${identity.id})\n`);
  });

  it('refuses to adopt a target that is already another drive unless --force is given, which gives it a new id', async () => {
    const sb = await adoptedSandbox();
    const first = await readIdentity(sb.drive);
    // A second config where drive "second" points at the target that is drive "target" already.
    const other = path.join(sb.dir, 'other-drive');
    await fs.mkdir(other);
    const second = path.join(sb.dir, 'second.yaml');
    await fs.writeFile(
      second,
      configYaml(sb).replace(`  target:\n    path: ${sb.drive}\n`, `  target:\n    path: ${other}\n  second:\n    path: ${sb.drive}\n`),
    );
    expect((await cli(['config', 'check', second])).code).toBe(0);

    const refused = await cli(['drive', 'adopt', 'second', '--config', second]);
    expect(refused.code, shown(refused)).toBe(1);
    expect(refused.stderr).toContain(`${sb.drive} is already drive "target" (id ${first.id})`);
    expect(refused.stderr).toContain('--force');
    expect(await readIdentity(sb.drive)).toEqual(first);

    const forced = await cli(['drive', 'adopt', 'second', '--force', '--config', second]);
    expect(forced.code, shown(forced)).toBe(0);
    const replaced = await readIdentity(sb.drive);
    expect(replaced.name).toBe('second');
    expect(replaced.id).not.toBe(first.id);
  });

  it('refuses a directory target that does not exist and says to create it', async () => {
    const sb = await sandbox();
    await fs.rmdir(sb.drive);
    await writeConfig(sb);
    const r = await cli(['drive', 'adopt', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${sb.drive} does not exist; create it first (mkdir -p ${sb.drive})`);
    expect(existsSync(sb.drive)).toBe(false);
  });
});

describe('plugback run', () => {
  it('backs up an adopted drive with exit 0, and snapshots lists the snapshot as JSON and as a table', async () => {
    const sb = await adoptedSandbox();
    const r = await cli(['run', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(0);
    const result = finalResult(r);
    expect(result.outcome).toBe('success');
    expect(result.snapshot).toMatch(SNAPSHOT_NAME);
    expect(await fs.readFile(sb.postResult, 'utf8')).toBe('success\n');
    // The files are in the snapshot, under <state>/<absolute folder path>.
    const copied = path.join(snapshotsDir(sb), result.snapshot ?? '', 'data', sb.source, 'hello.txt');
    expect(await fs.readFile(copied, 'utf8')).toBe('hello\n');

    const json = await cli(['snapshots', 'target', '--json', '--config', sb.config]);
    expect(json.code, shown(json)).toBe(0);
    const listing = JSON.parse(json.stdout) as SnapshotsJson;
    expect(listing.drive).toBe('target');
    expect(listing.host).toBe(HOST);
    expect(listing.incomplete).toEqual([]);
    expect(listing.snapshots).toHaveLength(1);
    const snapshot = listing.snapshots[0];
    expect(snapshot?.snapshot).toBe(result.snapshot);
    expect(snapshot?.files).toBe(2);
    expect(snapshot?.bytes).toBe('hello\n'.length + 10_000);
    expect(snapshot?.states).toEqual(['data']);
    expect(snapshot?.problems).toBe(0);

    const table = await cli(['snapshots', 'target', '--config', sb.config]);
    expect(table.code, shown(table)).toBe(0);
    const rows = table.stdout.split('\n').filter(Boolean);
    expect(rows[0]).toMatch(/^SNAPSHOT\s+LOCAL TIME\s+SIZE\s+FILES\s+NEW\s+STATES/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(new RegExp(`^${result.snapshot}\\s.*\\s2\\s.*\\sdata$`));
    // The kind of snapshot this drive keeps, detected from its file system.
    expect(rows[2]).toMatch(/^snapshots kept as (hard links|btrfs)/);
  });

  it('prints JSON log lines on a non-TTY stdout, the last one carrying the result', async () => {
    const sb = await adoptedSandbox();
    const r = await cli(['run', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(0);
    const lines = parseLogLines(r.stdout);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.some((l) => l.msg.startsWith('copying state "data"'))).toBe(true);
    expect(lines.at(-1)?.result?.outcome).toBe('success');
    expect(lines.at(-1)?.msg).toContain(`backup of "target" finished: snapshot ${lines.at(-1)?.result?.snapshot}`);
    // What comes after the job (here the LED finding no stick) goes to stderr, as JSON lines of its component.
    for (const l of parseLogLines(r.stderr)) expect(['led', 'notify'], r.stderr).toContain((l as { component?: string }).component);
    expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'))).toEqual([]);
  });

  it('keeps a JSON-lines log of the run on the drive under plugback/<host>/logs/<snapshot>.log', async () => {
    const sb = await adoptedSandbox();
    const r = await cli(['run', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(0);
    const snapshot = finalResult(r).snapshot ?? '';
    const logFile = path.join(sb.drive, 'plugback', HOST, 'logs', `${snapshot}.log`);
    const lines = parseLogLines(await fs.readFile(logFile, 'utf8'));
    // It starts with the lines logged before the drive was known and ends with the result.
    expect(lines[0]?.msg).toBe('backup of drive "target" started');
    expect(lines.at(-1)?.result?.outcome).toBe('success');
    // The same lines as stdout, less the LED's: they are about this machine, not about the drive's run.
    const jobLines = parseLogLines(r.stdout).filter((l) => (l as { component?: string }).component !== 'led');
    expect(lines.map((l) => l.msg)).toEqual(jobLines.map((l) => l.msg));
  });

  it('fails with exit 1 on a drive that was never adopted and says to run plugback drive adopt', async () => {
    const sb = await sandbox();
    await writeConfig(sb);
    const r = await cli(['run', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(1);
    const result = finalResult(r);
    expect(result.outcome).toBe('failed');
    expect(result.error).toContain('plugback drive adopt target');
    expect(r.stdout).toContain('plugback drive adopt target');
    expect(await fs.readdir(sb.drive)).toEqual([]);
  });

  it('rejects an unknown drive name with exit 2 and lists the configured drives', async () => {
    const sb = await adoptedSandbox();
    const r = await cli(['run', 'nosuchdrive', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`there is no drive "nosuchdrive" in ${sb.config} (drives: target)`);
  });

  it('rejects an invalid config with exit 2, naming the problem at its place in the file', async () => {
    const sb = await adoptedSandbox();
    await fs.writeFile(sb.config, configYaml(sb).replace('lockWait: 2s', 'lockWait: soon'));
    const line = configYaml(sb).split('\n').findIndex((l) => l.includes('lockWait')) + 1;
    const r = await cli(['run', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${sb.config}:${line}:13: backup.lockWait: expected a duration such as 30s, 10m, 2h or 1d, got "soon"\n`);
    expect(existsSync(snapshotsDir(sb))).toBe(false);
  });

  it('exits 3, completed with warnings, when rsync cannot copy a file whose path is too long (rsync exit 23)', async () => {
    // rsync --relative sends each file under its full source path and refuses names longer than its MAXPATHLEN
    // (4096) with "filename overflows max-path len" and exit 23 ("some files were not transferred"); as root no
    // permission trick can make a file unreadable, so this is the deterministic way to get exit 23. The chain is
    // 16 directories of 240 characters plus a 240-character file name: past 4096 wherever os.tmpdir() is. The
    // deep part is made from a cwd halfway down, since PATH_MAX also limits the paths syscalls accept.
    const sb = await adoptedSandbox();
    const name = (c: string) => c.repeat(240);
    const firstHalf = Array.from({ length: 8 }, (_, i) => name(String.fromCharCode(97 + i))).join('/');
    const secondHalf = Array.from({ length: 8 }, (_, i) => name(String.fromCharCode(105 + i))).join('/');
    await execFileP('mkdir', ['-p', firstHalf], { cwd: sb.source });
    const halfway = path.join(sb.source, firstHalf);
    await execFileP('mkdir', ['-p', secondHalf], { cwd: halfway });
    await execFileP('touch', [path.join(secondHalf, name('z'))], { cwd: halfway });
    expect(sb.source.length + 1 + firstHalf.length + 1 + secondHalf.length + 1 + 240).toBeGreaterThan(4096);

    const r = await cli(['run', 'target', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(3);
    const result = finalResult(r);
    expect(result.outcome).toBe('warning');
    expect(result.snapshot).toMatch(SNAPSHOT_NAME);
    expect(result.warnings.join('\n')).toContain('(exit 23)');
    expect(await fs.readFile(sb.postResult, 'utf8')).toBe('warning\n');

    // The snapshot is complete, and its record keeps rsync's complaint.
    const json = await cli(['snapshots', 'target', '--json', '--config', sb.config]);
    const listing = JSON.parse(json.stdout) as SnapshotsJson;
    expect(listing.snapshots.map((s) => s.snapshot)).toEqual([result.snapshot]);
    expect(listing.snapshots[0]?.problems).toBeGreaterThan(0);
    // The other files were copied all the same.
    const copied = path.join(snapshotsDir(sb), result.snapshot ?? '', 'data', sb.source, 'hello.txt');
    expect(await fs.readFile(copied, 'utf8')).toBe('hello\n');
  });

  it('stops cleanly on SIGINT mid-copy: exit 1, partial copy kept, post hook told "failure", lock free, no rsync left', async () => {
    const sb = await adoptedSandbox(['bandwidthLimit: 20MiB']);
    // ~200 MiB in four files from one repeated random buffer: about 10 s of copying at 20 MiB/s.
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    for (let f = 0; f < 4; f++) {
      const handle = await fs.open(path.join(sb.source, `big-${f}.bin`), 'w');
      for (let i = 0; i < 50; i++) await handle.write(block);
      await handle.close();
    }

    const run = startCli(['run', 'target', '--config', sb.config]);
    await run.waitForStdoutLine(/copying state/, 20_000);
    // Let rsync really start, so the cancel has a running copy to stop.
    await waitFor('rsync to start', async () => (await rsyncProcessesUnder(sb.dir)).length > 0, 10_000);
    await sleep(300);
    const signalledAt = Date.now();
    process.kill(run.pid, 'SIGINT');
    const r = await run.finish(20_000);
    expect(r.code, shown(r)).toBe(1);
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    expect(r.stderr).toContain('SIGINT: cancelling');
    const result = finalResult(r);
    expect(result.outcome).toBe('cancelled');
    expect(result.failedStep).toBe('sync');
    expect(result.snapshot).toBeUndefined();

    // The partial copy stays for the next run; no snapshot was completed.
    const entries = await fs.readdir(snapshotsDir(sb));
    expect(entries.filter((e) => SNAPSHOT_NAME.test(e))).toEqual([]);
    const incomplete = entries.filter((e) => e.endsWith('.incomplete'));
    expect(incomplete).toHaveLength(1);
    expect(result.leftForResume).toBe(path.join(snapshotsDir(sb), incomplete[0] ?? ''));
    const listing = JSON.parse((await cli(['snapshots', 'target', '--json', '--config', sb.config])).stdout) as SnapshotsJson;
    expect(listing.snapshots).toEqual([]);
    expect(listing.incomplete).toEqual(incomplete);

    expect(await fs.readFile(sb.postResult, 'utf8')).toBe('failure\n');
    const flock = await execFileP('flock', ['--nonblock', sb.lockFile, 'true']).then(
      () => 0,
      (error: { code?: number }) => error.code ?? -1,
    );
    expect(flock, 'the lock file is still locked').toBe(0);
    // rsync's own helper processes may take a moment to notice; none may keep writing to the drive.
    await waitFor('rsync to exit', async () => (await rsyncProcessesUnder(sb.dir)).length === 0, 2000).catch(() => undefined);
    expect(await rsyncProcessesUnder(sb.dir), 'rsync processes left running').toEqual([]);
  });

  it('finishes the job, post hooks included, when its stdout is closed early (plugback run target | head -1)', async () => {
    const sb = await adoptedSandbox(['bandwidthLimit: 2MiB']);
    await fs.writeFile(path.join(sb.source, 'medium.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    const run = startCli(['run', 'target', '--config', sb.config]);
    await run.waitForStdoutLine(/copying state/, 20_000);
    // What a pipe into `head -1` does once head has its line: the reading end goes away.
    run.child.stdout?.destroy();
    const r = await run.finish(30_000);
    expect.soft(r.stderr).not.toContain("Unhandled 'error' event");
    // A preBackup hook may have stopped a service: its postBackup must run whatever happens to the console.
    expect.soft(existsSync(sb.postResult), `the postBackup hook did not run\n${shown(r)}`).toBe(true);
    const logs = path.join(sb.drive, 'plugback', HOST, 'logs');
    const [logName] = await fs.readdir(logs);
    const logLines = parseLogLines(await fs.readFile(path.join(logs, logName ?? ''), 'utf8'));
    expect.soft(logLines.at(-1)?.result, 'the log on the drive ends with the job result').toBeDefined();
    expect.soft(await rsyncProcessesUnder(sb.dir)).toEqual([]);
  });
});

describe('plugback demo', () => {
  it('backs up a generated tree twice and shows two snapshots sharing unchanged files through hard links', async () => {
    const sb = await sandbox();
    const dir = path.join(sb.dir, 'demo');
    const r = await cli(['demo', '--dir', dir, '--size-mb', '20'], 60_000);
    expect(r.code, shown(r)).toBe(0);
    const snapshotLines = r.stdout.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2}T\d{6}Z\s+\d+ files/.test(l));
    expect(snapshotLines).toHaveLength(2);
    expect(r.stdout).toMatch(/photo-0\.jpg has inode \d+ in both snapshots \(hard link\)/);
    // Then the way back: both versions of the edited file, and what restoring the first snapshot would do.
    expect(r.stdout.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2}T\d{6}Z\s+[\d.]+ KiB\s+modified /.test(l))).toHaveLength(2);
    for (const line of ['  create notes-1.txt', '  change notes-0.txt', '  delete new-after-first-backup.txt', 'dry run: nothing was changed']) {
      expect(r.stdout.split('\n'), r.stdout).toContain(line);
    }
  });
});

describe('plugback led', () => {
  it('lists the sticks plugged in, or says there are none and how to check', async () => {
    const r = await cli(['led', 'list']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toMatch(/^(no BlinkStick found \(plugged in\? `lsusb -d 20a0:41e5`|BS\d+-\d\.\d+ {2}BlinkStick)/);
  });

  it('refuses what is neither a state nor a colour with exit 2, before looking for a stick', async () => {
    const r = await cli(['led', 'show', 'blurple']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('"blurple" is neither a state (idle, detected, working, done, failed, overdue, attention) nor a colour');
  });

  it('says which stick it could not find, with exit 1', async () => {
    const { dir } = await sandbox();
    const config = path.join(dir, 'led.yaml');
    await fs.writeFile(config, `drives:\n  d:\n    path: ${dir}\nstates:\n  s:\n    folders: [/srv]\nled:\n  serial: BS999999-9.9\n`);
    const r = await cli(['led', 'show', 'working', '--config', config]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('no BlinkStick with serial BS999999-9.9 found (see plugback led list)');
  });
});

describe('plugback help and usage errors', () => {
  it('mentions demo, run and config check in the top-level help', async () => {
    const r = await cli(['--help']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toMatch(/^\s+demo\b/m);
    expect(r.stdout).toMatch(/^\s+run\b/m);
    expect(r.stdout).toContain('config check');
  });

  it('lists the exit codes in the help of run', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain('Exit status:\n  0   the backup succeeded\n  1   it failed, or was cancelled before the snapshot was complete');
    expect(r.stdout).toContain('  75  this drive is being backed up already: nothing was done');
  });

  it('exits 2 on an unknown command', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('exits 2 on an unknown option', async () => {
    const r = await cli(['run', 'target', '--frobnicate']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });

  it('rejects a --log-level other than debug, info, warn or error with exit 2 and a usage message', async () => {
    const sb = await adoptedSandbox();
    const r = await cli(['run', 'target', '--log-level', 'verbose', '--config', sb.config]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('verbose');
    expect(r.stderr).not.toContain('unexpected error');
  });

  it('rejects a --size-mb for demo that is not a number with exit 2 and a usage message', async () => {
    const sb = await sandbox();
    const r = await cli(['demo', '--dir', path.join(sb.dir, 'demo'), '--size-mb', 'lots'], 60_000);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('--size-mb');
    expect(r.stderr).not.toContain('unexpected error');
  });
});
