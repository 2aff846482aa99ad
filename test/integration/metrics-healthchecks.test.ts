// The Prometheus textfile after real jobs, read with a Prometheus text-format parser; and healthcheck pings
// received by a local HTTP server, including one that never answers.
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/notify/ledger.js';
import { Notifier } from '../../src/notify/notifier.js';
import { driveFacts } from '../../src/notify/drive-facts.js';
import { BackupFixture, DRIVE } from '../helpers/backup-fixture.js';
import { memoryLogger } from '../helpers/notify.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fixture(): Promise<BackupFixture> {
  const f = await BackupFixture.create();
  cleanups.push(() => f.cleanup());
  await fs.writeFile(path.join(f.source, 'file.bin'), Buffer.alloc(50_000, 1));
  return f;
}

/** Every sample of the textfile as "name{labels}" -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of parsePrometheusTextFormat(text)) {
    expect(family.type).toBe('GAUGE');
    expect(family.help).not.toBe('');
    for (const m of family.metrics) {
      const labels = Object.entries(m.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      out.set(`${family.name}{${labels}}`, Number(m.value));
    }
  }
  return out;
}

describe('metrics textfile', () => {
  it('holds per-drive last success time, duration, bytes, result, snapshots and free space after each job', async () => {
    const f = await fixture();
    const textfile = path.join(f.root, 'textfile', 'plugback.prom');
    await fs.mkdir(path.dirname(textfile));
    await f.configure({ notify: { metrics: { textfile } } });
    const notifier = new Notifier(f.config, memoryLogger().log);

    const good = await f.run();
    expect(good.outcome).toBe('success');
    await notifier.jobFinished(DRIVE, good, await driveFacts(f.config, f.drive, good.logFile !== undefined));
    let m = samples(await fs.readFile(textfile, 'utf8'));
    expect(m.get(`plugback_last_success_timestamp_seconds{drive=${DRIVE}}`)).toBe(Date.parse(good.finishedAt) / 1000);
    expect(m.get(`plugback_last_run_duration_seconds{drive=${DRIVE}}`)).toBe(good.durationMs / 1000);
    expect(m.get(`plugback_last_run_transferred_bytes{drive=${DRIVE}}`)).toBe(good.transferredBytes);
    expect(good.transferredBytes).toBeGreaterThanOrEqual(50_000);
    expect(m.get(`plugback_last_run_result{drive=${DRIVE},result=success}`)).toBe(1);
    expect(m.get(`plugback_last_run_result{drive=${DRIVE},result=failed}`)).toBe(0);
    expect(m.get(`plugback_snapshots{drive=${DRIVE}}`)).toBe(1);
    expect(m.get(`plugback_drive_free_bytes{drive=${DRIVE}}`)).toBeGreaterThan(0);
    expect(m.get(`plugback_drive_overdue{drive=${DRIVE}}`)).toBe(0);

    // A failed run changes the result, keeps the last success, and leaves no temporary file beside the textfile.
    await fs.rm(f.source, { recursive: true });
    const bad = await f.run();
    expect(bad.outcome).toBe('failed');
    await notifier.jobFinished(DRIVE, bad, await driveFacts(f.config, f.drive, bad.logFile !== undefined));
    m = samples(await fs.readFile(textfile, 'utf8'));
    expect(m.get(`plugback_last_run_result{drive=${DRIVE},result=failed}`)).toBe(1);
    expect(m.get(`plugback_last_run_result{drive=${DRIVE},result=success}`)).toBe(0);
    expect(m.get(`plugback_last_success_timestamp_seconds{drive=${DRIVE}}`)).toBe(Date.parse(good.finishedAt) / 1000);
    expect(await fs.readdir(path.dirname(textfile))).toEqual(['plugback.prom']);

    const record = (await readLedger(f.stateDir))[DRIVE];
    expect(record?.lastFailure).toEqual({ at: bad.finishedAt, step: 'check-source', reason: bad.error });
    expect(record?.lastSuccess).toBe(good.finishedAt);
    expect(record?.snapshotCount).toBe(1);
  });

  it('is rewritten by the reminder check, with the overdue drive marked', async () => {
    const f = await fixture();
    const textfile = path.join(f.root, 'plugback.prom');
    await f.configure({ notify: { metrics: { textfile }, reminders: { overdueAfterDays: 1 } } });
    const long = new Date(Date.now() + 3 * 86_400_000);
    await new Notifier(f.config, memoryLogger().log).jobFinished(DRIVE, await f.run());
    await new Notifier(f.config, memoryLogger().log, { now: () => long }).checkReminders();
    expect(samples(await fs.readFile(textfile, 'utf8')).get(`plugback_drive_overdue{drive=${DRIVE}}`)).toBe(1);
  });
});

interface Ping {
  method: string;
  url: string;
  body: string;
}

async function pingServer(answer = true): Promise<{ base: string; pings: Ping[] }> {
  const pings: Ping[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      pings.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (answer) res.end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return { base: `http://127.0.0.1:${address.port}/ping/abc`, pings };
}

describe('healthcheck pings', () => {
  it('pings start and success for a good run, and POSTs the failed step and error to fail', async () => {
    const f = await fixture();
    const { base, pings } = await pingServer();
    await f.configure({ notify: { healthchecks: { [DRIVE]: { start: `${base}/start`, success: base, fail: `${base}/fail` } } } });
    const notifier = new Notifier(f.config, memoryLogger().log);
    await notifier.jobStarted(DRIVE);
    await notifier.jobFinished(DRIVE, await f.run());
    await fs.rm(f.source, { recursive: true });
    await notifier.jobStarted(DRIVE);
    const bad = await f.run();
    await notifier.jobFinished(DRIVE, bad);
    expect(pings.map((p) => `${p.method} ${p.url}`)).toEqual([
      'GET /ping/abc/start',
      'GET /ping/abc',
      'GET /ping/abc/start',
      'POST /ping/abc/fail',
    ]);
    expect(pings[3]!.body).toBe(`check-source: ${bad.error}`);
  });

  it('does not hold a job up when the healthcheck server never answers, and logs why', async () => {
    const f = await fixture();
    const { base, pings } = await pingServer(false);
    await f.configure({ notify: { healthchecks: { [DRIVE]: { start: base, success: base, timeout: '1s' } } } });
    const { log, lines } = memoryLogger();
    const notifier = new Notifier(f.config, log);
    await notifier.jobStarted(DRIVE);
    const result = await f.run();
    await notifier.jobFinished(DRIVE, result);
    expect(pings).toHaveLength(2);
    expect((await readLedger(f.stateDir))[DRIVE]?.lastSuccess).toBe(result.finishedAt);
    expect(lines.join('')).toContain('healthcheck success ping to http://127.0.0.1');
    expect(lines.join('')).toContain('no answer within 1s; the backup goes on');
    expect(lines.join('')).not.toContain('/ping/abc');
  });
});
