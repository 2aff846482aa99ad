// `plugback run` in a real terminal (a pseudo-terminal from test/helpers/pty-run.py), as a person sees it: the
// terminal is left as it was however the run ends (a normal end, a failure, Ctrl-C once, Ctrl-C twice, SIGTERM),
// hook lines are marked as the hook's, the run closes with a summary and one line for a failure, and a cancel's
// mail advises by its cause and counts what was copied. The real CLI, real rsync (slowed by backup.bandwidthLimit
// so the copy is still running when the keys come), and a sendmail stand-in that keeps the message.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Workspace } from '../helpers/cli-workspace.js';

const execFileP = promisify(execFile);
const PTY = fileURLToPath(new URL('../helpers/pty-run.py', import.meta.url));
const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

type Action = { wait: string } | { send: string } | { signal: 'TERM' | 'INT' };

/** Runs `plugback ARGS` under a pty doing `actions`; the exit code and the bytes the terminal got. */
async function inTerminal(w: Workspace, args: string[], actions: Action[] = []): Promise<{ code: number; bytes: string }> {
  const out = path.join(w.dir, `pty-${Date.now()}.out`);
  const { stdout } = await execFileP('python3', [PTY, out, JSON.stringify(actions), '--', process.execPath, CLI, ...args, '--config', w.config], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: Number(stdout.trim()), bytes: await fs.readFile(out, 'latin1') };
}

/** The terminal modes switched off and not on again by the end of the output: wrap (?7) and the cursor (?25). */
function modesLeftOff(bytes: string): string[] {
  const left: string[] = [];
  for (const mode of ['7', '25']) {
    const switches = [...bytes.matchAll(new RegExp(`\\x1b\\[\\?${mode}([lh])`, 'g'))].map((m) => m[1]);
    if (switches.at(-1) === 'l') left.push(`?${mode} off at the end`);
  }
  return left;
}

/**
 * What the screen shows at the end, line by line, as a terminal draws it: `\r` goes back to the line's start,
 * `ESC[K` erases to its end, other escapes (colours, cursor modes) draw nothing. A leftover fragment stays visible.
 */
function readable(bytes: string): string {
  const text = Buffer.from(bytes, 'latin1').toString('utf8');
  const lines: string[][] = [[]];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const line = lines[lines.length - 1] as string[];
    const c = text[i] as string;
    if (c === '\x1b') {
      const m = /^\x1b\[[0-9;?]*([A-Za-z])/.exec(text.slice(i));
      if (m) {
        if (m[1] === 'K') line.length = Math.min(line.length, col);
        i += m[0].length - 1;
      }
    } else if (c === '\r') col = 0;
    else if (c === '\n') {
      lines.push([]);
      col = 0;
    } else line[col++] = c;
  }
  return lines.map((l) => l.join('')).join('\n');
}

/** A drive with hooks on state photos, a mailing sendmail stand-in, and (`slow`) a source that takes a while to copy. */
async function workspace(slow: boolean): Promise<{ w: Workspace; mailbox: string }> {
  const w = await Workspace.create('directory', slow ? 'bandwidthLimit: 1MiB' : '');
  workspaces.push(w);
  if (slow) await fs.writeFile(path.join(w.src, 'big.bin'), randomBytes(16 * 1024 * 1024));
  const mailbox = path.join(w.dir, 'mailbox');
  const sendmail = path.join(w.dir, 'sendmail');
  await fs.writeFile(sendmail, `#!/bin/sh\ncat > "${mailbox}"\n`, { mode: 0o755 });
  const config = await fs.readFile(w.config, 'utf8');
  const hooks = 'preBackup: "echo stopping the photo service", postBackup: "echo starting the photo service"';
  await fs.writeFile(
    w.config,
    `${config.replace(/states: \{photos: \{folders: \[(.*)\]\}\}/, `states: {photos: {folders: [$1], ${hooks}}}`)}mail:\n  to: [ops@example.org]\n  sendmail: {path: ${sendmail}}\n`,
  );
  return { w, mailbox };
}

/** Some bytes of the copy are done (the status line counts them). */
const COPYING = '[1-9][0-9.]* (KiB|MiB) copied';

describe('plugback run in a terminal', () => {
  it('ends a good run with a summary, shows hook lines as the hook\'s, and leaves wrap and cursor on', async () => {
    const { w } = await workspace(false);
    const r = await inTerminal(w, ['run', 'd1']);
    const text = readable(r.bytes);
    expect(r.code, text).toBe(0);
    expect(modesLeftOff(r.bytes), text).toEqual([]);
    // Wrap is never switched off: log lines printed during the copy wrap at the screen's width.
    expect(r.bytes).not.toContain('\x1b[?7l');
    expect(text).toContain('photos/preBackup │ stopping the photo service');
    expect(text).toContain('photos/postBackup │ starting the photo service');
    expect(text).toMatch(/backup of d1 succeeded\n {2}files: {3}21 new, 0 changed\n {2}copied: {2}\d+ B into snapshot \S+ in \S+\n {2}free: {4}\S+ (KiB|MiB|GiB|TiB) left on the drive/);

    // The second run knows the first: a changed and a deleted file are counted as such.
    await fs.appendFile(path.join(w.src, 'p1.jpg'), 'edited\n');
    await fs.rm(path.join(w.src, 'p2.jpg'));
    await fs.writeFile(path.join(w.src, 'new.jpg'), 'new\n');
    const again = readable((await inTerminal(w, ['run', 'd1'])).bytes);
    expect(again).toContain('files:   1 new, 1 changed, 1 deleted');
  });

  it('restore shows its progress while it copies and closes with a summary', async () => {
    const { w } = await workspace(false);
    expect((await inTerminal(w, ['run', 'd1'])).code).toBe(0);
    const to = path.join(w.dir, 'restored');
    const r = await inTerminal(w, ['restore', 'd1', '--yes', '--to', to]);
    const text = readable(r.bytes);
    expect(r.code, text).toBe(0);
    expect(modesLeftOff(r.bytes), text).toEqual([]);
    // The status line was drawn (and then taken away: the screen ends with the summary).
    expect(Buffer.from(r.bytes, 'latin1').toString('utf8')).toMatch(/\d+% \| photos \| \d+ B copied \|/);
    expect(text).toMatch(/restored 1 item from snapshot \S+\n {2}files: {3}21 in what was restored\n {2}copied: {2}\d+ B in \S+\n {2}free: {4}\S+ (KiB|MiB|GiB|TiB) left/);
    expect(await fs.readFile(path.join(to, w.src, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
  });

  it('says a failed restore once', async () => {
    const { w } = await workspace(false);
    expect((await inTerminal(w, ['run', 'd1'])).code).toBe(0);
    // A mount point cannot be set aside by renaming: the restore in place stops at keep-aside.
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', w.src]);
    try {
      const r = await inTerminal(w, ['restore', 'd1', '--yes']);
      const text = readable(r.bytes);
      expect(r.code, text).toBe(1);
      expect(modesLeftOff(r.bytes), text).toEqual([]);
      expect(text.split('is a mount point').length - 1, text).toBe(1);
      expect(text).toContain('plugback: restore failed at keep-aside: ');
    } finally {
      await execFileP('umount', [w.src]);
    }
  });

  it('says a failure once, with its hint, at the end', async () => {
    const { w } = await workspace(false);
    await fs.rm(w.src, { recursive: true });
    const r = await inTerminal(w, ['run', 'd1']);
    const text = readable(r.bytes);
    expect(r.code, text).toBe(1);
    expect(modesLeftOff(r.bytes), text).toEqual([]);
    expect(text.split(`${w.src} does not exist`).length - 1, text).toBe(1);
    const lines = text.trimEnd().split('\n');
    expect(lines.find((l) => l.startsWith('backup of d1 FAILED at check-source: ')), text).toBeDefined();
    expect(lines.at(-1), text).toMatch(/^ {2}next: {4}A source folder is missing/);
  });

  it('after one Ctrl-C: cleans up, leaves the terminal as it was, and mails advice for a cancel with what was copied', async () => {
    const { w, mailbox } = await workspace(true);
    const r = await inTerminal(w, ['run', 'd1'], [{ wait: COPYING }, { send: '\x03' }]);
    const text = readable(r.bytes);
    expect(r.code, text).toBe(1);
    expect(modesLeftOff(r.bytes), text).toEqual([]);
    // The echoed ^C is wiped before plugback's own line: no fragment in front of it.
    expect(text).toMatch(/\nplugback: SIGINT: cancelling/);
    expect(text).toContain('photos/postBackup │ starting the photo service');
    expect(text).toMatch(/backup of d1 was cancelled during sync\n {2}copied: {2}[1-9][0-9.]* (KiB|MiB) into the copy kept for the next run/);
    const mail = await fs.readFile(mailbox, 'utf8');
    expect(mail).toMatch(/Copied: +[1-9][0-9.]* (KiB|MiB)/);
    expect(mail).toContain('Nothing is wrong with the drive.');
    expect(mail).not.toContain('full drive');
  });

  it('after a second Ctrl-C: quits at once, names the postBackup hook it skipped, and gives the cursor back', async () => {
    const { w } = await workspace(true);
    const r = await inTerminal(w, ['run', 'd1'], [{ wait: COPYING }, { send: '\x03' }, { wait: 'cancelling' }, { send: '\x03' }]);
    const text = readable(r.bytes);
    expect(r.code, text).toBe(130);
    expect(modesLeftOff(r.bytes), text).toEqual([]);
    expect(text).toContain('plugback: skipped postBackup hook of photos: `echo starting the photo service`');
  });

  it('after SIGTERM: cancels cleanly and leaves the terminal as it was', async () => {
    const { w } = await workspace(true);
    const r = await inTerminal(w, ['run', 'd1'], [{ wait: COPYING }, { signal: 'TERM' }]);
    const text = readable(r.bytes);
    expect(r.code, text).toBe(1);
    expect(modesLeftOff(r.bytes), text).toEqual([]);
    expect(text).toContain('backup of d1 was cancelled during sync');
  });
});
