// The health step in real backups onto a loop-mounted ext4 image: smartctl is either the real one (a loop device
// has no SMART) or a stand-in on PATH that prints a capture of a real smartctl run (test/fixtures/smartctl/README.md)
// and exits with the status that run gave.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';
import { SMARTCTL_FIXTURES, smartctlStandIn } from '../helpers/smartctl-stand-in.js';

const FIXTURES = SMARTCTL_FIXTURES;
const HEALTHY = 'smartctl_exporter-sat-Hitachi_HDS721010CLA332-sda.json';
const FAILING = 'scrutiny-smart-fail2-usbjmicron-HDS721050DLE630.json';
const FEWER_BAD = 'smartctl_exporter-ST3500418AS_11.json';
const MORE_BAD = 'smartctl_exporter-ST3500418AS_12.json';
const UNKNOWN_BRIDGE = 'smartmontools-go-usb-unknown-bridge-048d_1234.json';
const NO_SMART_WITH_SAT = 'plugback-loop-device-d-sat.json';

let workspace: Workspace | undefined;
let bin: string | undefined;
afterEach(async () => {
  await workspace?.cleanup();
  if (bin) await fs.rm(bin, { recursive: true, force: true });
  workspace = bin = undefined;
});

/** An adopted ext4 image drive, with `health` set when given, and a stand-in smartctl answering with `fixture`. */
async function setUp(fixture: string, health?: string): Promise<Workspace> {
  workspace = await Workspace.create('ext4');
  if (health) {
    const text = await fs.readFile(workspace.config, 'utf8');
    await fs.writeFile(workspace.config, text.replace(/drives: \{d1: \{path: ([^}]+)\}\}/, `drives: {d1: {path: $1, health: ${health}}}`));
  }
  bin = await smartctlStandIn(fixture);
  return workspace;
}

async function answer(fixture: string, sat?: string): Promise<void> {
  await fs.writeFile(path.join(bin as string, 'answer'), path.join(FIXTURES, fixture));
  if (sat) await fs.writeFile(path.join(bin as string, 'answer-sat'), path.join(FIXTURES, sat));
}

const withStandIn = () => ({ env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });

async function calls(): Promise<string[][]> {
  const text = await fs.readFile(path.join(bin as string, 'calls'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
}

/** The loop device the drive's image is mounted from: the whole disk smartctl must be asked about. */
async function loopDevice(w: Workspace): Promise<string> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const line = mounts.split('\n').find((l) => l.split(' ')[4] === w.drive) as string;
  return line.split(' - ')[1]?.split(' ')[1] as string;
}

async function driveTree(w: Workspace): Promise<Record<string, string>> {
  return w.tree(w.drive);
}

describe('drive health (SMART) before a backup', () => {
  it('a healthy disk: the backup runs, the log names the disk, and plugback drives shows it passed', async () => {
    const w = await setUp(HEALTHY);
    const run = await w.cli(['run', 'd1'], withStandIn());
    expect(run.code, shown(run)).toBe(0);
    const disk = await loopDevice(w);
    expect(run.messages).toContain(`SMART of drive "d1" (${disk}, Hitachi HDS721010CLA332, serial REDACTED): passed`);
    expect(await calls()).toEqual([['--json=c', '-H', '-i', '-A', disk]]);
    expect(await w.completeSnapshots()).toHaveLength(1);

    const table = await w.cli(['drives']);
    expect(table.stdout).toMatch(/HEALTH/);
    expect(table.stdout.split('\n').find((l) => l.startsWith('d1'))).toContain('passed');
    const json = JSON.parse((await w.cli(['drives', '--json'])).stdout) as { drives: { record: { health: Record<string, unknown> } }[] };
    expect(json.drives[0]?.record.health).toMatchObject({ verdict: 'passed', disk, model: 'Hitachi HDS721010CLA332', reallocated: 0, pending: 0, offlineUncorrectable: 0 });
  });

  it('a disk whose SMART says FAILED: the backup is refused with what to do, nothing is written to the drive', async () => {
    const w = await setUp(FAILING);
    const before = await driveTree(w);
    const run = await w.cli(['run', 'd1'], withStandIn());
    expect(run.code, shown(run)).toBe(1);
    expect(run.stdout).toContain('says it is FAILING (SMART overall-health: FAILED), so nothing was written to it');
    expect(run.stdout).toContain('Copy what you need from it and replace it with a new drive');
    expect(run.stdout).toContain(`set drives.d1.health: warn in ${w.config}`);
    expect(await w.completeSnapshots()).toEqual([]);
    expect(await driveTree(w)).toEqual(before);

    const table = await w.cli(['drives']);
    expect(table.stdout.split('\n').find((l) => l.startsWith('d1'))).toContain('FAILING, 1975 reallocated, 8 pending');
    const check = await w.cli(['drives', '--check']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('d1: the disk says it is failing (SMART, read just now): replace it\n');
  });

  it('a FAILED disk with health: warn: the backup is done, with a warning that says to replace it', async () => {
    const w = await setUp(FAILING, 'warn');
    const run = await w.cli(['run', 'd1'], withStandIn());
    expect(run.code, shown(run)).toBe(3);
    expect(run.stdout).toContain('says it is FAILING (SMART overall-health: FAILED); backing up onto it anyway, as drives.d1.health is warn. Replace it soon');
    expect(await w.completeSnapshots()).toHaveLength(1);
  });

  it('bad sectors that rose since the last backup are a warning in the log, the ledger and the metrics', async () => {
    const w = await setUp(FEWER_BAD);
    const metrics = path.join(w.dir, 'plugback.prom');
    await fs.appendFile(w.config, `metrics: {textfile: ${metrics}}\n`);
    const first = await w.cli(['run', 'd1'], withStandIn());
    expect(first.code, shown(first)).toBe(0);
    await answer(MORE_BAD);
    const second = await w.cli(['run', 'd1'], withStandIn());
    expect(second.code, shown(second)).toBe(3);
    expect(second.stdout).toContain('has more bad sectors than at its last reading: Reallocated_Sector_Ct 1 -> 304');
    expect(second.stdout).toContain('check it with \\"smartctl -a /dev/loop');
    expect(await w.completeSnapshots()).toHaveLength(2);

    const json = JSON.parse((await w.cli(['drives', '--json'])).stdout) as { drives: { record: { health: Record<string, unknown> } }[] };
    expect(json.drives[0]?.record.health).toMatchObject({ verdict: 'passed', reallocated: 304, rising: ['Reallocated_Sector_Ct 1 -> 304'] });
    expect((await w.cli(['drives'])).stdout).toContain('passed, 304 reallocated, RISING');
    expect((await w.cli(['drives', '--check'])).stdout).toBe('d1: bad sectors rising (SMART, read just now): Reallocated_Sector_Ct 1 -> 304\n');
    const prom = await fs.readFile(metrics, 'utf8');
    expect(prom).toContain('plugback_drive_health{drive="d1"} 1');
    expect(prom).toContain('plugback_drive_reallocated_sectors{drive="d1"} 304');
    expect(prom).toContain('plugback_drive_pending_sectors{drive="d1"} 0');
  });

  it('a USB bridge that passes no SMART through: -d sat is tried, the backup runs, a note and no warning', async () => {
    const w = await setUp(UNKNOWN_BRIDGE);
    await answer(UNKNOWN_BRIDGE, NO_SMART_WITH_SAT);
    const run = await w.cli(['run', 'd1'], withStandIn());
    expect(run.code, shown(run)).toBe(0);
    const disk = await loopDevice(w);
    expect(await calls()).toEqual([
      ['--json=c', '-H', '-i', '-A', disk],
      ['--json=c', '-H', '-i', '-A', '-d', 'sat', disk],
    ]);
    const note = run.messages.find((m) => m.startsWith('no SMART reading'));
    expect(note).toContain('Unknown USB bridge [0x048d:0x1234 (0x200)]; with -d sat: smartctl could not read it (exit status 2)');
    expect(run.stdout).not.toContain('"level":40');
    expect((await w.cli(['drives'])).stdout.split('\n').find((l) => l.startsWith('d1'))).toContain('no SMART');
  });

  it('the real smartctl on a loop device: no SMART there, a plain note, the backup runs', async () => {
    workspace = await Workspace.create('ext4');
    const run = await workspace.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(0);
    // smartmontools is a suggestion of plugback's, not a dependency: where it is missing, the note says so instead.
    const installed = await fs.access('/usr/sbin/smartctl').then(() => true, () => false);
    const note = run.messages.find((m) => m.startsWith('no SMART reading'));
    expect(note).toContain(installed ? '/dev/loop' : 'smartctl is not installed');
    if (installed) expect(note).toContain('Unable to detect device type; with -d sat: smartctl could not read it (exit status 2)');
  });

  it('no smartctl installed: a note that says how to install it, the backup runs', async () => {
    workspace = await Workspace.create('ext4');
    const run = await workspace.cli(['run', 'd1'], { env: { PATH: '/usr/bin:/bin' } });
    expect(run.code, shown(run)).toBe(0);
    expect(run.messages.find((m) => m.startsWith('no SMART reading'))).toContain('smartctl is not installed (apt install smartmontools)');
  });

  it('health: off reads no SMART, even of a failing disk', async () => {
    const w = await setUp(FAILING, 'off');
    const run = await w.cli(['run', 'd1'], withStandIn());
    expect(run.code, shown(run)).toBe(0);
    expect(run.messages).toContain('SMART is not read for drive "d1" (drives.d1.health: off)');
    expect(await calls()).toEqual([]);
  });
});
