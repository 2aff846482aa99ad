// What `journalctl -u plugback` shows: under systemd, stdout and stderr are a stream to journald whose device and
// inode systemd puts in JOURNAL_STREAM. The stand-in here is a file: both streams point at it, and its st_dev:st_ino
// is JOURNAL_STREAM, as journald's socket would be. Lines must then be `<N>sentence` (sd-daemon(3) priorities),
// no JSON, no timestamp of plugback's own; the run log on the drive keeps the JSON.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Workspace } from '../helpers/cli-workspace.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

/** Runs the CLI with stdout and stderr on `file`; JOURNAL_STREAM names that file unless `journal` says otherwise. */
async function underJournal(args: string[], file: string, journal: string | 'self' = 'self', env: Record<string, string> = {}): Promise<{ code: number | null; lines: string[] }> {
  const handle = await fs.open(file, 'w');
  const st = await handle.stat();
  const stream = journal === 'self' ? `${st.dev}:${st.ino}` : journal;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', handle.fd, handle.fd], env: { ...process.env, ...env, JOURNAL_STREAM: stream } });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await handle.close();
  return { code, lines: (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean) };
}

const shownLines = (lines: string[]) => lines.join('\n');

/** Every line is a priority and a sentence: no JSON object, no leading timestamp. */
function expectJournalLines(lines: string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line, shownLines(lines)).toMatch(/^<[2-7]>\S/);
    expect(line, shownLines(lines)).not.toMatch(/^<\d>\s*[{[]/);
    expect(line, shownLines(lines)).not.toMatch(/^<\d>\s*\d{4}-\d\d-\d\dT|^<\d>\s*\d\d:\d\d:\d\d/);
  }
}

async function workspace(): Promise<Workspace> {
  const w = await Workspace.create();
  workspaces.push(w);
  return w;
}

describe('plugback run under systemd (plugback-drive@.service)', () => {
  it('writes <6> sentences for the job and <4> for warnings; the run log on the drive stays JSON', async () => {
    const w = await workspace();
    // sendmail fails: a warning from the notifier and one from run itself about the outbox.
    await fs.appendFile(w.config, 'mail:\n  to: [ops@example.org]\n  onSuccess: true\n  sendmail: {path: /bin/false}\n');
    const { code, lines } = await underJournal(['run', 'd1', '--config', w.config], path.join(w.dir, 'journal'));
    expect(code, shownLines(lines)).toBe(0);
    expectJournalLines(lines);
    expect(lines, shownLines(lines)).toContain('<6>backup of drive "d1" started');
    expect(lines.some((l) => /^<6>backup of "d1" finished: snapshot \S+ in /.test(l)), shownLines(lines)).toBe(true);
    expect(lines.some((l) => /^<4>sending mail to ops@example.org via sendmail \/bin\/false failed/.test(l)), shownLines(lines)).toBe(true);
    expect(lines.some((l) => /^<4>plugback: 1 mail\(s\) could not be sent yet/.test(l)), shownLines(lines)).toBe(true);

    const logs = path.join(w.drive, 'plugback', w.host, 'logs');
    const [log] = await fs.readdir(logs);
    const first = JSON.parse((await fs.readFile(path.join(logs, log!), 'utf8')).split('\n')[0]!) as { msg: string; level: number; time: string };
    expect(first).toMatchObject({ msg: 'backup of drive "d1" started', level: 30 });
  });

  it('writes a failure at <3>', async () => {
    const w = await workspace();
    await fs.rm(w.src, { recursive: true });
    const { code, lines } = await underJournal(['run', 'd1', '--config', w.config], path.join(w.dir, 'journal'));
    expect(code, shownLines(lines)).toBe(1);
    expectJournalLines(lines);
    expect(lines.some((l) => /^<3>backup of "d1" failed at check-source: /.test(l)), shownLines(lines)).toBe(true);
  });

  it('keeps the JSON lines when stdout is not the stream JOURNAL_STREAM names (redirected in the unit, say)', async () => {
    const w = await workspace();
    const { code, lines } = await underJournal(['run', 'd1', '--config', w.config], path.join(w.dir, 'journal'), '1:1');
    expect(code, shownLines(lines)).toBe(0);
    expect(lines.every((l) => l.startsWith('{')), shownLines(lines)).toBe(true);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ result: { outcome: 'success' } });
  });
});

describe('plugback mail flush under systemd (plugback-mail.service)', () => {
  it('writes why a mail could not go at <4> and that it still waits at <3>', async () => {
    const w = await workspace();
    await fs.appendFile(w.config, 'mail:\n  to: [ops@example.org]\n  onSuccess: true\n  sendmail: {path: /bin/false}\n');
    const queued = await w.cli(['run', 'd1']);
    expect(queued.stderr).toContain('1 mail(s) could not be sent yet');
    const { code, lines } = await underJournal(['mail', 'flush', '--config', w.config], path.join(w.dir, 'journal'));
    expect(code, shownLines(lines)).toBe(1);
    expectJournalLines(lines);
    expect(lines.some((l) => /^<4>plugback: sending mail to ops@example.org via sendmail \/bin\/false failed/.test(l)), shownLines(lines)).toBe(true);
    expect(lines.some((l) => /^<3>plugback: 1 waiting mail could not all be sent/.test(l)), shownLines(lines)).toBe(true);
  });
});

describe('plugback daemon under systemd (plugback.service)', () => {
  it('writes its log lines and its start-up error as <N> sentences', async () => {
    const w = await workspace();
    // No system bus at this address: the daemon logs its stop and exits with the reason.
    const bus = `unix:path=${path.join(w.dir, 'no-bus')}`;
    const { code, lines } = await underJournal(['daemon', '--config', w.config], path.join(w.dir, 'journal'), 'self', { DBUS_SYSTEM_BUS_ADDRESS: bus });
    expect(code, shownLines(lines)).toBe(1);
    expectJournalLines(lines);
    expect(lines, shownLines(lines)).toContain('<6>plugback daemon stopped (start-up failed)');
    expect(lines.some((l) => /^<3>plugback: the daemon could not start: cannot connect to the D-Bus system bus/.test(l)), shownLines(lines)).toBe(true);
  });
});
