// A failing hook's output (it may print a token) stays in the mail and the root-only logs, and is left out of
// what anyone may read: the D-Bus Drives property and JobFinished signal, and the healthcheck fail ping (D23).
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { driveDicts, resultDict } from '../../src/api/status.js';
import { readLedger } from '../../src/notify/ledger.js';
import { Notifier } from '../../src/notify/notifier.js';
import { OUTPUT_LEFT_OUT } from '../../src/system/program-output.js';
import { BackupFixture, DRIVE } from '../helpers/backup-fixture.js';
import { memoryLogger } from '../helpers/notify.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A local healthcheck server; returns its base URL and the bodies it was sent. */
async function failPings(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => void (bodies.push(body), res.end('OK')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the ping server has no address');
  return { url: `http://127.0.0.1:${address.port}/ping/abc/fail`, bodies };
}

describe('the reason of a failed hook', () => {
  it('keeps the hook output in the job result and the ledger, and leaves it out of D-Bus and the healthcheck fail ping', async () => {
    const f = await BackupFixture.create();
    cleanups.push(() => f.cleanup());
    await fs.writeFile(path.join(f.source, 'a.txt'), 'a\n');
    const { url, bodies } = await failPings();
    await f.configure({
      hooks: { preBackup: 'echo "Authorization: Bearer tok_SECRET123"; echo "and ⟧ tok_SECRET456 ⟦ after a fake end"; exit 1' },
      notify: { healthchecks: { [DRIVE]: { fail: url } } },
    });
    const result = await f.run();
    expect(result.error).toContain('tok_SECRET123');
    expect(result.error).toContain('tok_SECRET456');
    await new Notifier(f.config, memoryLogger().log).jobFinished(DRIVE, result);
    expect((await readLedger(f.stateDir))[DRIVE]?.lastFailure?.reason).toBe(result.error);

    const expected = `the global preBackup hook exited with code 1; ${OUTPUT_LEFT_OUT}`;
    expect(bodies).toEqual([`pre-backup-hooks: ${expected}`]);
    const daemon = { currentConfig: f.config, driveStatus: () => [{ name: DRIVE, kind: 'directory' as const, present: true, queued: false, overdue: false }] };
    expect((await driveDicts(daemon))[DRIVE]?.LastFailureReason?.value).toBe(expected);
    expect(resultDict(result).Error?.value).toBe(expected);
  });
});
