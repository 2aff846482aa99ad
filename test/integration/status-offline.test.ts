// `plugback status` when no daemon owns its name on the (private) system bus: it says so, shows what this
// machine's history knows, names the right way to start things for the trigger, and answers --json in JSON.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonFixture } from '../helpers/daemon-fixture.js';

const MAIN = path.resolve('dist/main.js');
let fixture: DaemonFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

function plugback(f: DaemonFixture, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args, '--config', f.configFile], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: f.bus.address } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A bus without a daemon, and a directory drive "home" backed up once by `plugback run` (so the ledger knows it). */
async function backedUpOnce(): Promise<DaemonFixture> {
  const f = await DaemonFixture.create();
  fixture = f;
  await f.addDirectoryDrive('home');
  const run = await plugback(f, ['run', 'home']);
  expect(run.code, run.stderr).toBe(0);
  return f;
}

describe('plugback status without a daemon', () => {
  it('says the daemon is not running and how to start it, lists what the history knows, and exits 1', async () => {
    const f = await backedUpOnce();
    const r = await plugback(f, ['status']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('plugback daemon: not running; start it with "systemctl start plugback"');
    expect(r.stdout).toMatch(/^home\s+just now\s+success/m);
  });

  it('answers --json with a JSON document saying so, with the drives from the history', async () => {
    const f = await backedUpOnce();
    const r = await plugback(f, ['status', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const answer = JSON.parse(r.stdout) as { format: number; daemon: string; trigger: string; drives: { drive: string; record: { lastRun: { outcome: string } } }[] };
    expect(answer).toMatchObject({ format: 1, daemon: 'not running', trigger: 'daemon' });
    expect(answer.drives.map((d) => [d.drive, d.record.lastRun.outcome])).toEqual([['home', 'success']]);
  });

  it('with install.trigger: units, names the per-drive unit instead of the daemon and exits 0', async () => {
    const f = await backedUpOnce();
    await f.writeConfig({ install: { trigger: 'units' } });
    const r = await plugback(f, ['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('install.trigger is units: systemd runs plugback-drive@DRIVE.service');
    expect(r.stdout).not.toContain('systemctl start plugback');
  });
});
