// `plugback mail test` and `plugback mail flush` against a real SMTP server (smtp-server, parsed with mailparser),
// run as a user runs them (node dist/main.js).
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';
import { MailServer } from '../helpers/mail-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A workspace whose mail goes to `server` (started or not) on 127.0.0.1. */
async function mailingTo(server: MailServer): Promise<Workspace> {
  const w = await Workspace.create();
  cleanups.push(() => w.cleanup());
  const mail = ['mail:', '  to: [me@example.org]', `  smtp: {host: 127.0.0.1, port: ${server.port}, security: none}`, '  timeout: 5s'];
  await fs.appendFile(w.config, `${mail.join('\n')}\n`);
  return w;
}

async function server(started: boolean): Promise<MailServer> {
  const s = await MailServer.onFreePort();
  if (started) await s.start();
  cleanups.push(() => s.stop());
  return s;
}

const waiting = async (w: Workspace) => (await fs.readdir(path.join(w.state, 'outbox')).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));

describe('plugback mail test', () => {
  it('sends a test mail through the configured server and says to whom', async () => {
    const smtp = await server(true);
    const w = await mailingTo(smtp);
    const r = await w.cli(['mail', 'test']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toBe('sent a test mail to me@example.org\n');
    const [received] = await smtp.waitFor(1);
    expect(received?.mail.subject).toBe('plugback: test mail from h1');
    expect(received?.mail.text).toContain('the mail settings work');
  });

  it('says why it could not send, in plain words, and exits 1 with the mail left in the outbox', async () => {
    const w = await mailingTo(await server(false));
    const r = await w.cli(['mail', 'test']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toMatch(/^plugback: .*ECONNREFUSED/m);
    expect(r.stderr).toContain(`1 mail waits in ${w.state}/outbox`);
    expect(r.stderr).not.toContain('{"level"');
    expect(await waiting(w)).toHaveLength(1);
  });

  it('refuses with exit 2 when the config has no mail section', async () => {
    const w = await Workspace.create();
    cleanups.push(() => w.cleanup());
    const r = await w.cli(['mail', 'test']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('no mail: section in');
  });
});

describe('plugback mail flush', () => {
  it('sends the mail a failed run left in the outbox once the server is back, then has nothing left', async () => {
    const smtp = await server(false);
    const w = await mailingTo(smtp);
    await fs.rm(w.src, { recursive: true });
    const failed = await w.cli(['run', 'd1']);
    expect(failed.code, shown(failed)).toBe(1);
    expect(await waiting(w)).toHaveLength(1);

    await smtp.start();
    const r = await w.cli(['mail', 'flush']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toBe(`sent 1 mail that waited in ${w.state}/outbox\n`);
    const [received] = await smtp.waitFor(1);
    expect(received?.mail.subject).toBe('plugback: backup of d1 on h1 FAILED at check-source');
    expect(await waiting(w)).toEqual([]);

    const again = await w.cli(['mail', 'flush']);
    expect(again.code, shown(again)).toBe(0);
    expect(again.stdout).toBe('no mail waiting\n');
  });
});
