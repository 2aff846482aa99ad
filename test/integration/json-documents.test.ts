// The JSON documents of `snapshots`, `versions`, `drives`, `config check` and `status` with --json, and
// `drives --check` as a monitoring check: the real CLI on a directory drive backed up by real rsync, each
// document checked against the shape docs/json.md documents (docs/json/*.schema.json).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, shown, Workspace } from '../helpers/cli-workspace.js';
import { DaemonFixture } from '../helpers/daemon-fixture.js';
import { expectDocument } from '../helpers/json-shapes.js';

const workspaces: Workspace[] = [];
let fixture: DaemonFixture | undefined;
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
  await fixture?.cleanup();
  fixture = undefined;
});

/** A workspace with one good backup of d1. */
async function backedUp(): Promise<Workspace> {
  const w = await Workspace.create();
  workspaces.push(w);
  const r = await w.cli(['run', 'd1']);
  expect(r.code, shown(r)).toBe(0);
  return w;
}

describe('the --json documents', () => {
  it('snapshots, versions and drives describe the backup just made, in the documented shapes', async () => {
    const w = await backedUp();
    const [name] = await w.completeSnapshots();
    const snapshots = expectDocument<{ snapshots: { snapshot: string; files: number }[] }>('snapshots', (await w.cli(['snapshots', 'd1', '--json'])).stdout);
    expect(snapshots.snapshots).toMatchObject([{ snapshot: name, files: 21 }]);

    const file = path.join(w.src, 'p1.jpg');
    const versions = expectDocument<{ versions: { snapshot: string; bytes: number }[] }>('versions', (await w.cli(['versions', 'd1', file, '--json'])).stdout);
    expect(versions.versions).toMatchObject([{ snapshot: name, bytes: 'photo 1\n'.length }]);

    const drives = expectDocument<{ drives: { drive: string; problems: string[]; record: { lastRun: { snapshot: string } } }[] }>('drives', (await w.cli(['drives', '--json'])).stdout);
    expect(drives.drives).toMatchObject([{ drive: 'd1', problems: [], record: { lastRun: { snapshot: name } } }]);
  });

  it('config check --json: valid with the drives and states (exit 0), or every problem with its line (exit 2)', async () => {
    const w = await backedUp();
    const good = await w.cli(['config', 'check', '--json']);
    expect(good.code, shown(good)).toBe(0);
    expect(expectDocument('config-check', good.stdout)).toMatchObject({ valid: true, host: 'h1', drives: [{ drive: 'd1', kind: 'directory', path: w.drive }] });

    await fs.appendFile(w.config, 'surprise: 1\n');
    const bad = await w.cli(['config', 'check', '--json']);
    expect(bad.code, shown(bad)).toBe(2);
    const answer = expectDocument<{ valid: boolean; problems: { line: number; message: string }[] }>('config-check', bad.stdout);
    expect(answer.valid).toBe(false);
    expect(answer.problems.some((p) => p.line > 1 && /surprise/.test(p.message)), bad.stdout).toBe(true);
  });

  it('status --json answers in JSON whether the daemon runs or not', async () => {
    const f = await DaemonFixture.create();
    fixture = f;
    await f.addDirectoryDrive('home');
    const status = () => plugbackOnBus(f, ['status', '--json']);
    const down = await status();
    expect(down.code, down.stderr).toBe(1);
    expect(expectDocument('status', down.stdout)).toMatchObject({ daemon: 'not running', trigger: 'daemon' });
    await f.startDaemon();
    const up = await status();
    expect(up.code, up.stderr).toBe(0);
    expect(expectDocument('status', up.stdout)).toMatchObject({ daemon: 'running', state: 'idle', drives: [{ drive: 'home', kind: 'directory' }] });
  });
});

describe('plugback drives --check', () => {
  it('is quiet with exit 0 while all is well, names a failed last run (exit 1), and forgets it after a good backup', async () => {
    const w = await backedUp();
    const check = () => w.cli(['drives', '--check']);
    const fine = await check();
    expect(fine.code, shown(fine)).toBe(0);
    expect(fine.stdout).toBe('');

    await fs.rename(w.src, `${w.src}.away`);
    expect((await w.cli(['run', 'd1'])).code).toBe(1);
    const failed = await check();
    expect(failed.code, shown(failed)).toBe(1);
    expect(failed.stdout).toMatch(/^d1: last run failed just now at check-source: the source is not all there, so nothing was copied: .*\n$/);

    await fs.rename(`${w.src}.away`, w.src);
    const again = await w.cli(['run', 'd1']);
    expect(again.code, shown(again)).toBe(0);
    expect((await check()).code).toBe(0);
  });

  it('names an overdue drive (exit 1): the last good backup older than overdueAfterDays', async () => {
    const w = await backedUp();
    // The ledger as it would be 30 days after that backup (reminders.overdueAfterDays is 14 by default).
    const file = path.join(w.state, 'ledger.json');
    const ledger = JSON.parse(await fs.readFile(file, 'utf8')) as { drives: Record<string, { lastSuccess: string }> };
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    (ledger.drives.d1 as { lastSuccess: string }).lastSuccess = old;
    await fs.writeFile(file, JSON.stringify(ledger));
    const r = await w.cli(['drives', '--check']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stdout).toBe('d1: overdue: last good backup 30 days ago\n');
    const json = expectDocument<{ drives: { overdue: boolean; problems: string[] }[] }>('drives', (await w.cli(['drives', '--json', '--check'])).stdout);
    expect(json.drives).toMatchObject([{ overdue: true, problems: ['overdue: last good backup 30 days ago'] }]);
  });
});

/** `plugback ARGS --config <fixture's>` against the fixture's private system bus. */
function plugbackOnBus(f: DaemonFixture, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--config', f.configFile], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: f.bus.address } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
