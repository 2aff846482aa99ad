// The daemon's start-up clean-up (recoverLeftovers, the real one) against what may sit at a LUKS drive's mount
// point: a tmpfs that is not the drive's mapping, the mapping busy, the mapping idle, the mapping mounted elsewhere.
// The mapping is played by a tmpfs whose mount source is the "device" the test names (no device-mapper here), and
// systemd1 by a stub that records StopUnit and, for the mount point's .mount unit, unmounts it with umount(8) as
// systemd does (the job fails while the mount is busy). Needs root (tmpfs mounts, in a temp dir only).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { recoverLeftovers } from '../../src/daemon/recovery.js';
import type { UnitJobs } from '../../src/system/drive-mounts.js';
import { mountUnit } from '../../src/units/escape.js';
import { memoryLogger } from '../helpers/notify.js';

const execFileP = promisify(execFile);

let root: string | undefined;
const mounts: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.pid) process.kill(child.pid, 'SIGKILL');
  for (const dir of mounts.splice(0).reverse()) {
    // The holders are gone (killed above), so a plain unmount works once they have exited.
    for (let i = 0; i < 50 && (await isMounted(dir)); i++) await execFileP('umount', [dir]).catch(() => new Promise((r) => setTimeout(r, 100)));
  }
  if (root) await fs.rm(root, { recursive: true, force: true });
  root = undefined;
});

async function isMounted(dir: string): Promise<boolean> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === dir);
}

/** A config with one LUKS drive "offsite-a" whose mount point is in a temp dir. */
async function setUp(): Promise<{ config: Config; mountPoint: string; mapping: string }> {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-recovery-'));
  const mountPoint = path.join(root, 'mnt', 'offsite-a');
  await fs.mkdir(mountPoint, { recursive: true });
  await fs.mkdir(path.join(root, 'src'));
  const keyFile = path.join(root, 'offsite-a.key');
  await fs.writeFile(keyFile, 'key', { mode: 0o600 });
  const configFile = path.join(root, 'plugback.yaml');
  await fs.writeFile(
    configFile,
    `host: h\nstateDir: ${root}/state\ndrives:\n  offsite-a:\n    uuid: ${randomUUID()}\n    keyFile: ${keyFile}\n    mountPoint: ${mountPoint}\nstates:\n  s:\n    folders: [${root}/src]\n`,
  );
  return { config: await loadConfig(configFile), mountPoint, mapping: `plugback-test-mapping-${randomUUID().slice(0, 8)}` };
}

async function mountTmpfs(dir: string, source = 'tmpfs'): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=4m', source, dir]);
  mounts.push(dir);
  await fs.writeFile(path.join(dir, 'data.txt'), 'precious\n');
}

/** A process with its working directory in `dir`, keeping the mount busy. */
async function holdBusy(dir: string): Promise<number> {
  const child = spawn('sleep', ['600'], { cwd: dir, stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child.pid as number;
}

/** systemd1 with the drive's cryptsetup unit active and the mount unit of `mountPoint`; records what is stopped and started. */
function stubSystemd(mountPoint = '/nonexistent'): { systemd: UnitJobs; stopped: string[]; started: string[] } {
  const stopped: string[] = [];
  const started: string[] = [];
  const systemd: UnitJobs = {
    unitState: async () => ({ loadState: 'loaded', activeState: 'active', subState: 'exited' }),
    stopUnit: async (unit: string) => {
      stopped.push(unit);
      if (unit !== mountUnit(mountPoint)) return 'done';
      return execFileP('umount', [mountPoint]).then(
        () => 'done',
        () => 'failed',
      );
    },
    startUnit: async (unit: string) => {
      started.push(unit);
      return 'done';
    },
  };
  return { systemd, stopped, started };
}

const cryptsetupUnits = (units: string[]) => units.filter((u) => u.startsWith('systemd-cryptsetup@'));

const messages = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);

describe('recovery at daemon start-up (D19)', () => {
  it('leaves a busy tmpfs that is not the drive\'s mapping mounted, with its files, and detaches nothing (DR1)', async () => {
    const { config, mountPoint } = await setUp();
    await mountTmpfs(mountPoint);
    await holdBusy(mountPoint);
    const { log, lines } = memoryLogger();
    await recoverLeftovers(config, stubSystemd().systemd, log);
    expect(await isMounted(mountPoint)).toBe(true);
    expect(await fs.readFile(path.join(mountPoint, 'data.txt'), 'utf8')).toBe('precious\n');
    const said = messages(lines);
    expect(said).toContain(
      `tmpfs (tmpfs) is mounted at ${mountPoint}, the mount point of drive "offsite-a", but it is not the drive's mapping /dev/mapper/plugback-offsite-a; ` +
        `left as it is: unmount it yourself if it should not be there, or give the drive another mountPoint`,
    );
    expect(said.join('\n')).not.toMatch(/lazily|unmounted tmpfs/);
  });

  it('leaves the drive\'s own mapping mounted when it is busy, names who holds it, and does not stop its cryptsetup unit', async () => {
    const { config, mountPoint, mapping } = await setUp();
    await mountTmpfs(mountPoint, mapping);
    const holder = await holdBusy(mountPoint);
    const { log, lines } = memoryLogger();
    const { systemd, stopped, started } = stubSystemd(mountPoint);
    await recoverLeftovers(config, systemd, log, { mappingOf: () => mapping });
    expect(await isMounted(mountPoint)).toBe(true);
    expect(await fs.readFile(path.join(mountPoint, 'data.txt'), 'utf8')).toBe('precious\n');
    // Its mount unit was asked to stop (and failed: busy); nothing was detached lazily, no mapping closed.
    expect(stopped).toContain(mountUnit(mountPoint));
    expect(cryptsetupUnits(stopped)).toEqual([]);
    expect(started).toEqual([]);
    const said = messages(lines).join('\n');
    expect(said).toContain(`drive "offsite-a" is still mounted at ${mountPoint} from an earlier run and left mounted`);
    expect(said).toContain(`PID ${holder} (`);
    expect(said).toContain(`run "umount ${mountPoint}"`);
    expect(said).not.toMatch(/lazily/);
  });

  it('unmounts the drive\'s own idle mapping and then stops its cryptsetup unit', async () => {
    const { config, mountPoint, mapping } = await setUp();
    await mountTmpfs(mountPoint, mapping);
    const { log, lines } = memoryLogger();
    const { systemd, stopped } = stubSystemd(mountPoint);
    await recoverLeftovers(config, systemd, log, { mappingOf: () => mapping });
    expect(await isMounted(mountPoint)).toBe(false);
    // systemd unmounted it (the mount unit), then the mapping was closed (the cryptsetup unit).
    expect(stopped).toEqual([mountUnit(mountPoint), 'systemd-cryptsetup@plugback\\x2doffsite\\x2da.service']);
    expect(messages(lines)).toContain(`unmounted ${mapping} from ${mountPoint}, left mounted by an earlier run`);
  });

  it('does not stop the cryptsetup unit while the mapping is mounted somewhere else', async () => {
    const { config, mapping } = await setUp();
    const elsewhere = path.join(root as string, 'by-hand');
    await mountTmpfs(elsewhere, mapping);
    const { log, lines } = memoryLogger();
    const { systemd, stopped } = stubSystemd();
    await recoverLeftovers(config, systemd, log, { mappingOf: () => mapping });
    expect(await isMounted(elsewhere)).toBe(true);
    expect(stopped).toEqual([]);
    expect(messages(lines).join('\n')).toContain(`the LUKS mapping ${mapping} of drive "offsite-a" is mounted at ${elsewhere}; it is left open`);
  });
});
