// What a power cut may not undo, checked on the real CLI under strace: `plugback drive adopt` and `plugback run` (with
// a success mail to a real SMTP server and a metrics textfile), each file flushed before the rename or link that
// gives it its name, the folder flushed after; the copied data flushed (syncfs) before the rename that makes the
// snapshot complete; a sent mail's outbox file removed and that removal flushed right after the server's 250.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';
import { MailServer } from '../helpers/mail-server.js';
import { parseTrace, type TraceEvent } from '../helpers/strace.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function traced(w: Workspace, args: string[]): Promise<TraceEvent[]> {
  const file = path.join(w.dir, `trace-${args[0]}.txt`);
  const r = await w.cli(args, { wrapper: ['strace', '-f', '-y', '-qq', '-s', '120', '-o', file, '-e', 'trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,link,linkat,unlink,unlinkat,mkdir,mkdirat,read'] });
  expect(r.code, shown(r)).toBe(0);
  return parseTrace(await fs.readFile(file, 'utf8'));
}

/** Index of the first event at or after `from` that matches; fails naming what was looked for. */
function find(events: TraceEvent[], what: string, match: (e: TraceEvent) => boolean, from = 0): number {
  const i = events.findIndex((e, k) => k >= from && match(e));
  expect(i, `${what} (after event ${from}) in the trace:\n${events.slice(from, from + 40).map((e) => e.line).join('\n')}`).toBeGreaterThanOrEqual(0);
  return i;
}
const fsyncOf = (re: RegExp) => (e: TraceEvent) => /^f(data)?sync$/.test(e.call) && re.test(e.fdPath ?? '');
const named = (call: RegExp, re: RegExp) => (e: TraceEvent) => call.test(e.call) && re.test(e.args);

/** A small file given its name by `call`: its temp flushed first, the folder `dir` flushed after. */
function expectDurable(events: TraceEvent[], name: string, dir: string, call = /^rename/): void {
  const temp = new RegExp(`/\\.${name.replaceAll('.', '\\.')}\\.[0-9a-f]+\\.tmp$`);
  const named_ = find(events, `${name} given its name`, named(call, new RegExp(`\\.tmp", "[^"]*/${name.replaceAll('.', '\\.')}"`)));
  const flushed = events.slice(0, named_).findLastIndex(fsyncOf(temp));
  expect(flushed, `${name}: its temporary file flushed before ${events[named_]?.line}`).toBeGreaterThanOrEqual(0);
  find(events, `${dir} flushed after ${name}`, fsyncOf(new RegExp(`^${dir}$`)), named_ + 1);
}

describe('writes that must survive a power cut', () => {
  it('adopt and run: every record flushed before its rename, data before the snapshot is complete, a sent mail removed durably', async () => {
    const w = await Workspace.create('ext4', '', false);
    cleanups.push(() => w.cleanup());
    const server = await MailServer.onFreePort();
    await server.start();
    cleanups.push(() => server.stop());
    const textfile = path.join(w.dir, 'metrics', 'plugback.prom');
    await fs.mkdir(path.dirname(textfile));
    await fs.appendFile(w.config, `mail: {to: [a@example.org], onSuccess: true, smtp: {host: 127.0.0.1, port: ${server.port}, security: none}}\nmetrics: {textfile: ${textfile}}\n`);

    const events = [...(await traced(w, ['drive', 'adopt', 'd1'])), ...(await traced(w, ['run', 'd1']))];
    const host = path.join(w.drive, 'plugback', 'h1');
    const snapshots = path.join(host, 'snapshots');

    // stateDir: the installation id (linked into place: never an empty file), the drive ids, the ledger, metrics.
    expectDurable(events, 'installation-id', w.state, /^link/);
    expectDurable(events, 'known-drives.json', w.state);
    expectDurable(events, 'ledger.json', w.state);
    expectDurable(events, 'plugback.prom', path.dirname(textfile));
    // The drive: its folders flushed into their parents when made; its identity, the owner record, the snapshot's record.
    for (const [made, parent] of [['plugback', w.drive], ['h1', path.join(w.drive, 'plugback')], ['snapshots', host]] as const) {
      const i = find(events, `${made}/ made on the drive`, named(/^mkdir/, new RegExp(`/${made}"`)));
      find(events, `${parent} flushed after ${made}/ was made`, fsyncOf(new RegExp(`^${parent}$`)), i + 1);
    }
    expectDurable(events, 'drive.json', path.join(w.drive, 'plugback'));
    expectDurable(events, 'installation.json', host);

    // complete: record, then the whole file system flushed, then the rename, then the folder; then latest.
    const record = find(events, 'snapshot.json renamed into the .incomplete folder', named(/^rename/, /\.tmp", "[^"]*\/snapshot\.json"/));
    const syncfs = find(events, 'syncfs of the drive after the record', (e) => e.call === 'syncfs' && (e.fdPath ?? '').startsWith(w.drive), record);
    const done = find(events, 'the .incomplete folder renamed complete after syncfs', named(/^rename/, /\.incomplete", "[^"]*\/\d{4}-\d\d-\d\dT\d{6}Z"/), syncfs);
    find(events, 'snapshots/ flushed after the rename', fsyncOf(new RegExp(`^${snapshots}$`)), done + 1);
    const latest = find(events, 'latest replaced', named(/^rename/, /\.tmp", "[^"]*\/latest"/), done);
    find(events, `${host} flushed after latest`, fsyncOf(new RegExp(`^${host}$`)), latest + 1);

    // The success mail: queued durably, then removed right after the server's 250, and that removal flushed.
    const outbox = path.join(w.state, 'outbox');
    const queued = find(events, 'the mail queued', named(/^rename/, /\/outbox\/\.[^"]+\.tmp", "[^"]+\.json"/));
    find(events, 'outbox/ flushed after queueing', fsyncOf(new RegExp(`^${outbox}$`)), queued + 1);
    const accepted = find(events, "the server's 250 for the mail", (e) => e.call === 'read' && e.args.includes('250 OK: message queued'));
    const removed = find(events, 'the sent mail removed', named(/^unlink/, /\/outbox\/[^"]+\.json\.sending-/), accepted);
    const flushed = find(events, 'outbox/ flushed after the removal', fsyncOf(new RegExp(`^${outbox}$`)), removed + 1);
    // No other rename, link or unlink between the 250 and the flushed removal: that is the whole window for a second send.
    const between = events.slice(accepted + 1, flushed).filter((e) => /^(rename|link|unlink)/.test(e.call) && e !== events[removed]);
    expect(between.map((e) => e.line)).toEqual([]);
    expect(await server.waitFor(1)).toHaveLength(1);
  });
});
