// One job at a time per host, through real `plugback run` processes (node dist/main.js, after npm run build): a
// second run of the same drive is refused before anything happens, a run of another drive waits its turn, and the
// lock is taken before any hook. Needs root, rsync and flock(1).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { adoptDrive } from '../../src/cli/drive-adopt.js';
import { loadConfig } from '../../src/config/load.js';
import { BackupFixture, DRIVE } from '../helpers/backup-fixture.js';
import { sq } from '../helpers/processes.js';

const MAIN = path.resolve('dist/main.js');
const fixtures: BackupFixture[] = [];

afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
});

interface Run {
  pid: number;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function plugbackRun(f: BackupFixture, drive: string): Run {
  const child = spawn(process.execPath, [MAIN, 'run', drive, '--config', f.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  f.track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return { pid: child.pid as number, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The holder's record in the lock file, once the holder is `pid`. */
const recordOf = (f: BackupFixture, pid: number) =>
  waitFor(`PID ${pid} to record itself in the lock file`, async () => {
    const text = await fs.readFile(f.lockFile, 'utf8').catch(() => '');
    const record = text ? (JSON.parse(text) as { pid: number; what: string; drive: string; since: string }) : undefined;
    return record?.pid === pid ? record : undefined;
  });

/** A fixture whose copy takes several seconds, with hooks and failure mail recorded in files. */
async function slowFixture(): Promise<{ f: BackupFixture; hookLog: string; mailLog: string }> {
  const f = await BackupFixture.create();
  fixtures.push(f);
  await fs.writeFile(path.join(f.source, 'big.bin'), Buffer.concat(Array.from({ length: 8 }, () => randomBytes(1024 * 1024))));
  const hookLog = path.join(f.root, 'hooks.log');
  const mailLog = path.join(f.root, 'mail.log');
  const sendmail = path.join(f.root, 'sendmail');
  await fs.writeFile(sendmail, `#!/bin/sh\ncat >> ${sq(mailLog)}\n`, { mode: 0o755 });
  await f.configure({
    backup: { bandwidthLimit: '1MiB', verifySample: 0, lockWait: '5m' },
    // The pre hook notes who holds the lock as it runs.
    hooks: { preBackup: `echo "pre $PLUGBACK_DRIVE $(cat ${sq(f.lockFile)})" >> ${sq(hookLog)}`, postBackup: `echo "post $PLUGBACK_DRIVE" >> ${sq(hookLog)}` },
    notify: { mail: { to: ['admin@example.org'], sendmail: { path: sendmail } } },
  });
  return { f, hookLog, mailLog };
}

const hhmm = (iso: string) => {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

describe('plugback run and the lock', () => {
  it('refuses a second run of the same drive at once: exit 75, "already backing up", no hooks, no mail, no record', async () => {
    const { f, hookLog, mailLog } = await slowFixture();
    const first = plugbackRun(f, DRIVE);
    const record = await recordOf(f, first.pid);
    expect(record).toMatchObject({ what: 'backup', drive: DRIVE });

    const second = await plugbackRun(f, DRIVE).done;
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`plugback: already backing up ${DRIVE} (PID ${first.pid}, since ${hhmm(record.since)})`);
    expect(second.stdout).toBe('');

    const firstDone = await first.done;
    expect(firstDone.code).toBe(0);
    // Only the first run's hooks ran, and nothing was mailed (the first succeeded, the second left no trace).
    const hooks = (await fs.readFile(hookLog, 'utf8')).split('\n').filter(Boolean);
    expect(hooks).toHaveLength(2);
    expect(hooks[0]).toContain(`pre ${DRIVE} {"pid":${first.pid},`);
    expect(hooks[1]).toBe(`post ${DRIVE}`);
    expect(await fs.readFile(mailLog, 'utf8').catch(() => 'no mail')).toBe('no mail');
    const ledger = JSON.parse(await fs.readFile(path.join(f.stateDir, 'ledger.json'), 'utf8')) as { drives: Record<string, { lastFailure?: unknown; lastSuccess?: string }> };
    expect(ledger.drives[DRIVE]?.lastFailure).toBeUndefined();
    expect(ledger.drives[DRIVE]?.lastSuccess).toBeDefined();
    expect(await fs.readFile(f.lockFile, 'utf8')).toBe('');
  });

  it('lets a run of another drive wait its turn, naming the plugback process that holds the lock, and run no hook before it has it', async () => {
    const { f, hookLog } = await slowFixture();
    // A second directory drive in the same config.
    const otherDir = path.join(f.root, 'other-drive');
    await fs.mkdir(otherDir);
    const doc = parse(await fs.readFile(f.configFile, 'utf8')) as { drives: Record<string, unknown> };
    doc.drives.other = { path: otherDir };
    await fs.writeFile(f.configFile, stringify(doc));
    const config = await loadConfig(f.configFile);
    await adoptDrive(config, config.drives.find((d) => d.name === 'other')!, false);

    const first = plugbackRun(f, DRIVE);
    await recordOf(f, first.pid);
    const second = plugbackRun(f, 'other');
    const [firstDone, secondDone] = await Promise.all([first.done, second.done]);
    expect(firstDone.code).toBe(0);
    expect(secondDone.code).toBe(0);
    expect(secondDone.stderr).toMatch(new RegExp(`waiting for the lock ${f.lockFile}, held by PID ${first.pid} \\(\\S*node \\S*main\\.js run ${DRIVE} `));
    expect(secondDone.stderr).not.toContain('exited');
    // Each preBackup ran while its own run held the lock: the other drive's not while the first copied.
    const hooks = (await fs.readFile(hookLog, 'utf8')).split('\n').filter((l) => l.startsWith('pre '));
    expect(hooks).toHaveLength(2);
    expect(hooks[0]).toContain(`pre ${DRIVE} {"pid":${first.pid},`);
    expect(hooks[1]).toContain(`pre other {"pid":${second.pid},`);
  });

  it('takes the lock before naming the snapshot: two jobs of one drive started together both complete (W28)', async () => {
    const f = await BackupFixture.create();
    fixtures.push(f);
    await fs.writeFile(path.join(f.source, 'a.txt'), 'a\n');
    await f.configure({ backup: { lockWait: '1m' } });
    const [a, b] = await Promise.all([f.run(), f.run()]);
    expect(a.outcome).toBe('success');
    expect(b.outcome).toBe('success');
    expect(a.snapshot).not.toBe(b.snapshot);
    expect((await f.listSnapshotNames()).filter((n) => n.endsWith('.incomplete'))).toEqual([]);
  });
});
