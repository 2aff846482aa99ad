// The outbox after a power cut: a mail claimed by a daemon that lost power while sending is sent by the daemon of
// the next boot, also when that daemon got the same PID (daemons started at the same point of the boot often do),
// and never by a second process of the same boot while the first one is still sending.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unitFailureMail } from '../../src/notify/mail-message.js';
import { sendMail } from '../../src/notify/mail-transport.js';
import { Outbox } from '../../src/notify/outbox.js';
import { BackupFixture } from '../helpers/backup-fixture.js';
import { MailServer } from '../helpers/mail-server.js';
import { memoryLogger } from '../helpers/notify.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the outbox across a reboot', () => {
  it('sends a mail whose claim an earlier boot left, even under the same PID; a claim of this boot stays its owner\'s', async () => {
    const server = await MailServer.onFreePort();
    await server.start();
    cleanups.push(() => server.stop());
    const f = await BackupFixture.create();
    cleanups.push(() => f.cleanup());
    await f.configure({ notify: { mail: { to: ['admin@example.org'], smtp: { host: '127.0.0.1', port: server.port, security: 'none' }, timeout: '5s' } } });
    const dir = path.join(f.stateDir, 'outbox');
    const { log } = memoryLogger();
    const realSend = (m: Parameters<typeof sendMail>[2]) => sendMail(f.config.mail!, f.config.host, m);

    // Boot A: the daemon claims the mail and loses power before the server answers (its send never returns).
    const before = new Outbox(dir, () => new Promise<void>(() => undefined), log, undefined, 'boot-a');
    await before.add(unitFailureMail(f.config.host, 'plugback.service', 'failed', 'the journal'));
    void before.deliver();
    for (let i = 0; !(await fs.readdir(dir)).some((n) => n.includes('.sending-')); i++) {
      expect(i, 'the first outbox claims the mail').toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 10));
    }

    // Still boot A, another process: the claim is held by a living process of this boot, so it is left alone.
    const sameBoot = new Outbox(dir, realSend, log, undefined, 'boot-a');
    expect((await sameBoot.deliver(true)).sent).toBe(0);
    expect(server.received).toHaveLength(0);

    // Boot B: the new daemon has the very same PID; the claim is from another boot, so the mail goes, once.
    const after = new Outbox(dir, realSend, log, undefined, 'boot-b');
    expect(await after.deliver(true)).toMatchObject({ sent: 1, left: 0 });
    expect((await server.waitFor(1)).map((r) => r.mail.subject)).toHaveLength(1);
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
