// Hooks that misbehave: a child that escapes the process group and keeps the output open, a line of 600 MB,
// and a flood of short lines. Real /bin/sh, real processes; every process a hook leaves behind is killed by PID.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CUT_MARK, MAX_LINE_BYTES } from '../../src/system/hook-output.js';
import { runHook, type HookResult } from '../../src/system/hooks.js';
import { BackupFixture } from '../helpers/backup-fixture.js';
import { sq } from '../helpers/processes.js';

const cleanups: (() => Promise<unknown>)[] = [];
/** Files into which hooks wrote the PIDs of what they left running. */
const pidFiles: string[] = [];

afterEach(async () => {
  for (const file of pidFiles.splice(0)) {
    const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (!(pid > 1)) continue;
    // setsid made it the leader of its own group: the group first, then the process.
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<BackupFixture> {
  const f = await BackupFixture.create();
  cleanups.push(() => f.cleanup());
  await fs.writeFile(path.join(f.source, 'a.txt'), 'a\n');
  return f;
}

function pidFile(f: BackupFixture, name = 'escaped.pid'): string {
  const file = path.join(f.root, name);
  pidFiles.push(file);
  return file;
}

async function alive(file: string): Promise<boolean> {
  const pid = Number((await fs.readFile(file, 'utf8')).trim());
  return fs.access(`/proc/${pid}`).then(() => true, () => false);
}

/** Runs `script` as a hook outside a job; returns its result and every line passed on. */
async function collect(script: string, timeoutMs: number): Promise<{ result: HookResult; lines: string[] }> {
  const lines: string[] = [];
  const inherited = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const result = await runHook({ label: 'test hook', script, inherited, env: {}, timeoutMs, onOutput: (_stream, line) => lines.push(line) });
  return { result, lines };
}

/** The hook's own output lines in the job's log. */
function hookLines(f: BackupFixture): string[] {
  return f.logs.filter((l) => l.stream === 'stdout' || l.stream === 'stderr').map((l) => l.msg);
}

describe('a hook whose child escapes the process group (D15)', () => {
  it('does not hold the job when the shell exits 0 and an escaped child keeps stdout open', async () => {
    const f = await setup();
    const pids = pidFile(f);
    await f.configure({ backup: { hookTimeout: '2m' }, hooks: { preBackup: `setsid sleep 303 & echo $! > ${sq(pids)}; echo "daemon forked"` } });
    const started = Date.now();
    const result = await f.run();
    // The sleep lasts 303 s and the timeout is 120 s: only "stop at the shell's exit" ends the job this early.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.outcome).toBe('success');
    expect(hookLines(f)).toContain('daemon forked');
    expect(f.logged('global preBackup hook exited with code 0, but a process it started still holds its output')).toBe(true);
    expect(await alive(pids)).toBe(true);
  }, 120_000);

  it('fails a hook that exits non-zero with its exit code, saying a process still holds its output (not "timed out")', async () => {
    const f = await setup();
    const pids = pidFile(f);
    await f.configure({ backup: { hookTimeout: '2m' }, hooks: { preBackup: `setsid sleep 305 & echo $! > ${sq(pids)}; echo broken; exit 3` } });
    const started = Date.now();
    const result = await f.run();
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'pre-backup-hooks' });
    expect(result.error).toContain('the global preBackup hook exited with code 3; a process it started still holds its output');
    expect(result.error).toContain('broken');
    expect(result.error).not.toContain('timed out');
  }, 120_000);

  it('enforces hookTimeout even when an escaped child holds the pipes', async () => {
    const f = await setup();
    const pids = pidFile(f);
    const shellPid = pidFile(f, 'shell.pid');
    await f.configure({ backup: { hookTimeout: '1s' }, hooks: { preBackup: `echo $$ > ${sq(shellPid)}; setsid sleep 304 & echo $! > ${sq(pids)}; sleep 100` } });
    const started = Date.now();
    const result = await f.run();
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'pre-backup-hooks' });
    expect(result.error).toContain('global preBackup hook timed out after 1s (backup.hookTimeout) and was killed');
    expect(await alive(shellPid)).toBe(false);
  }, 120_000);
});

describe('hook output (D16, D17)', () => {
  it('cuts a 600 MB line without a newline at 64 KiB instead of crashing, and reads on', async () => {
    const { result, lines } = await collect("head -c 600000000 /dev/zero | tr '\\0' a; echo; echo after", 110_000);
    expect(result).toMatchObject({ ok: true, exitCode: 0, outputHeld: false });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${'a'.repeat(MAX_LINE_BYTES)}${CUT_MARK}`);
    expect(lines[1]).toBe('after');
  }, 120_000);

  it('splits output at newlines across chunks, cuts only the long line, and keeps a last line without a newline', async () => {
    const { result, lines } = await collect("echo one; head -c 200000 /dev/zero | tr '\\0' b; printf '\\ntwo\\r\\nthree'", 30_000);
    expect(result.ok).toBe(true);
    expect(lines).toEqual(['one', `${'b'.repeat(MAX_LINE_BYTES)}${CUT_MARK}`, 'two', 'three']);
  });

  it('logs the first 200 and the last 200 lines of a hook that prints 100 000, and says how many were left out', async () => {
    const f = await setup();
    await f.configure({ hooks: { preBackup: 'seq 1 100000' } });
    const result = await f.run();
    expect(result.outcome).toBe('success');
    const lines = hookLines(f);
    expect(lines).toHaveLength(400);
    expect(lines.slice(0, 2)).toEqual(['1', '2']);
    expect(lines[199]).toBe('200');
    expect(lines[200]).toBe('99801');
    expect(lines.at(-1)).toBe('100000');
    const note = f.logs.find((l) => l.msg.includes('left out here'));
    expect(note?.msg).toContain(`99600 lines (${bytesOfSeq(201, 99800)} bytes) of the global preBackup hook's output left out`);
  });

  it('quotes the last lines of a long output in the error of a failing hook', async () => {
    const f = await setup();
    await f.configure({ hooks: { preBackup: 'seq 1 100000; exit 1' } });
    const result = await f.run();
    expect(result.error).toContain('exited with code 1; its last output: ⟦99996 | 99997 | 99998 | 99999 | 100000⟧');
  });
});

/** Bytes `seq a b` prints. */
function bytesOfSeq(a: number, b: number): number {
  let n = 0;
  for (let i = a; i <= b; i++) n += String(i).length + 1;
  return n;
}

describe('the environment of a hook (D21)', () => {
  const saved = { pw: process.env.PLUGBACK_TEST_SMTP_PASSWORD, creds: process.env.CREDENTIALS_DIRECTORY };
  afterEach(() => {
    for (const [name, value] of [['PLUGBACK_TEST_SMTP_PASSWORD', saved.pw], ['CREDENTIALS_DIRECTORY', saved.creds]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('has neither the SMTP password named by passwordEnv nor CREDENTIALS_DIRECTORY', async () => {
    const f = await setup();
    process.env.PLUGBACK_TEST_SMTP_PASSWORD = 'hunter2-secret';
    process.env.CREDENTIALS_DIRECTORY = '/run/credentials/plugback.service';
    await f.configure({
      hooks: { preBackup: 'echo "hook sees: ${PLUGBACK_TEST_SMTP_PASSWORD:-no password} ${CREDENTIALS_DIRECTORY:-no credentials} $PLUGBACK_EVENT"' },
      notify: { mail: { to: 'me@example.org', smtp: { host: '127.0.0.1', user: 'nas', passwordEnv: 'PLUGBACK_TEST_SMTP_PASSWORD' } } },
    });
    const result = await f.run();
    expect(result.outcome).toBe('success');
    expect(hookLines(f)).toEqual(['hook sees: no password no credentials preBackup']);
  });
});
