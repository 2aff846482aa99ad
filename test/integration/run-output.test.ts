// What `plugback run` prints off a terminal, as a script reads it: the job's JSON lines on stdout ending in the
// result (docs/backups.md's `tail -n 1 | jq` recipe), the mail's lines on stderr, and --log-level for all of them.
// The real CLI, real rsync, and a sendmail stand-in (a shell script that keeps the message) as the mail system.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const execFileP = promisify(execFile);
const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

/** A workspace whose config mails every run (mail.onSuccess) through a sendmail script that saves the message. */
async function mailingWorkspace(): Promise<{ w: Workspace; mailbox: string }> {
  const w = await Workspace.create();
  workspaces.push(w);
  const mailbox = path.join(w.dir, 'mailbox');
  const sendmail = path.join(w.dir, 'sendmail');
  await fs.writeFile(sendmail, `#!/bin/sh\ncat > "${mailbox}"\n`, { mode: 0o755 });
  const mail = ['mail:', '  to: [ops@example.org]', '  onSuccess: true', `  sendmail: {path: ${sendmail}}`];
  await fs.appendFile(w.config, `${mail.join('\n')}\n`);
  return { w, mailbox };
}

/** The JSON objects of a stream's log lines. */
const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; level?: number; component?: string; result?: { outcome?: string } });

describe('plugback run off a terminal', () => {
  it("ends stdout with the result line even when a mail is sent after the job, so `tail -n 1 | jq` reads the outcome", async () => {
    const { w, mailbox } = await mailingWorkspace();
    const r = await w.cli(['run', 'd1']);
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(mailbox, 'utf8')).toContain('Subject: plugback: backup of d1 on h1');

    const last = jsonLines(r.stdout).at(-1);
    expect(last?.result?.outcome, shown(r)).toBe('success');
    // The recipe as docs/backups.md gives it, through a real pipe and jq-like reading of the last line.
    const { stdout } = await execFileP('sh', ['-c', `"$0" "$1" run d1 --config "$2" 2>/dev/null | tail -n 1`, process.execPath, CLI_PATH, w.config]);
    expect((JSON.parse(stdout) as { result: { outcome: string } }).result.outcome).toBe('success');
    // The mail's own line went to stderr, not after the result on stdout.
    expect(jsonLines(r.stderr).some((l) => l.component === 'notify' && /^mail sent: /.test(l.msg ?? '')), shown(r)).toBe(true);
    expect(jsonLines(r.stdout).some((l) => l.component === 'notify'), shown(r)).toBe(false);
  });

  it('applies --log-level to the mail lines too: at warn, no info line of the notifier is printed', async () => {
    const { w, mailbox } = await mailingWorkspace();
    const r = await w.cli(['run', 'd1', '--log-level', 'warn']);
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(mailbox, 'utf8')).toContain('Subject: plugback: backup of d1 on h1');
    const all = [...jsonLines(r.stdout), ...jsonLines(r.stderr)];
    expect(all.filter((l) => (l.level ?? 0) < 40 && l.result === undefined), shown(r)).toEqual([]);
    expect(all.some((l) => /^mail sent: /.test(l.msg ?? '')), shown(r)).toBe(false);
  });
});

const CLI_PATH = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../dist/main.js');
