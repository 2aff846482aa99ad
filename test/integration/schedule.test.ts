// Scheduled drives end to end on the machine's own systemd tools: the config check agrees with the real
// `systemd-analyze calendar`, generated timers pass `systemd-analyze verify`, install --root writes the timer and
// its wants link and uninstall takes them away, and `plugback drives --json` shows the schedule and next run.
// Everything happens in temporary folders; nothing touches the host's systemd.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem, loadConfig } from '../../src/config/load.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';
import { run, shown } from '../helpers/run-command.js';

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const TIMER = 'plugback-drive@nas\\x2ddisk.timer';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [CLI, ...args], env);

const tempDir = tempDirsRemovedAfterEach();

/** A config whose directory drive nas-disk has `driveLines`; a LUKS drive without a schedule sits next to it. */
async function writeConfig(dir: string, driveLines: string[]): Promise<string> {
  const file = path.join(dir, 'plugback.yaml');
  const lines = ['stateDir: /var/lib/plugback-test', 'drives:', '  nas-disk:', '    path: /srv/backup-disk', ...driveLines];
  lines.push('  offsite-a:', '    uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', 'states:', '  photos:', '    folders: [/srv/photos]', '');
  await fs.writeFile(file, lines.join('\n'), { mode: 0o600 });
  return file;
}

/** What `plugback config check` says of a schedule: undefined when it takes it, else its FILE:LINE:COL problems. */
async function configCheckOf(schedule: string): Promise<string | undefined> {
  const file = await writeConfig(await tempDir('cal'), [`    schedule: ${JSON.stringify(schedule)}`]);
  try {
    await loadConfig(file, { checkCalendars: true });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem).join('\n');
    throw error;
  }
}

/** Whether systemd itself would run a timer on it: parsed, and with a next time. */
async function systemdTakes(schedule: string): Promise<boolean> {
  const r = await run('systemd-analyze', ['calendar', '--', schedule]);
  return r.code === 0 && !/Next elapse: never/.test(r.stdout);
}

describe('the config check of schedules', () => {
  // Good and bad by systemd's parser, and some systemd takes that plugback refuses on purpose (they could not
  // reach a unit file safely, or never repeat).
  const good = ['daily', 'hourly', 'weekly UTC', 'Mon *-*-* 03:00', '*-*-* 02:30:00', '*:0/15', 'Sat..Sun 10:00', 'Mon,Fri 8:00 Europe/Berlin', '*-*~01', 'quarterly'];
  const refusedBySystemd = ['sometimes', '*-*-* 25:00', 'Mon/2', 'Mon *-*-* 3:00:00:00', '2020-01-01', '*-02-30 00:00', 'daily UTC UTC'];
  const refusedByPlugback = ['daily\nExecStart=/bin/sh', 'daily ', '@1700000000', '', 'daily # comment', 'daily\\'];

  it('takes exactly what systemd-analyze calendar takes, and refuses the rest at the schedule\'s line', async () => {
    for (const schedule of [...good, ...refusedBySystemd, ...refusedByPlugback]) {
      const verdict = await configCheckOf(schedule);
      const label = JSON.stringify(schedule);
      // Everything the check accepts, systemd accepts; everything systemd refuses, the check refuses.
      if (verdict === undefined) expect(await systemdTakes(schedule), label).toBe(true);
      if (!(await systemdTakes(schedule))) expect(verdict, label).toMatch(/plugback\.yaml:5:15: drives\.nas-disk\.schedule: /);
    }
    for (const schedule of good) expect(await configCheckOf(schedule), JSON.stringify(schedule)).toBeUndefined();
    for (const schedule of [...refusedBySystemd, ...refusedByPlugback]) expect(await configCheckOf(schedule), JSON.stringify(schedule)).toBeDefined();
    expect(await configCheckOf('*-*-* 25:00')).toContain('systemd-analyze calendar refuses it (Failed to parse calendar specification');
    expect(await configCheckOf('2020-01-01')).toContain('never comes');
  });

  it('is what `plugback config check` prints, FILE:LINE:COL first, exit 2', async () => {
    const file = await writeConfig(await tempDir('cal'), ['    schedule: Mon/2']);
    const r = await cli(['config', 'check', file]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:5:15: drives\\.nas-disk\\.schedule: "Mon/2" systemd-analyze calendar refuses it`));
    await writeConfig(path.dirname(file), ['    schedule: daily']);
    const ok = await cli(['config', 'check', file]);
    expect(ok.code, shown(ok)).toBe(0);
    expect(ok.stdout).toContain('nas-disk (directory /srv/backup-disk, schedule daily)');
  });
});

describe('the timer of a scheduled drive', () => {
  it('passes systemd-analyze verify, with the service it starts', async () => {
    const dir = await tempDir('gen');
    const config = await writeConfig(dir, ['    schedule: Mon,Fri *-*-* 02:30:00 Europe/Berlin', '    scheduleRandomDelay: 1h']);
    const out = path.join(dir, 'out');
    const r = await cli(['generate', '--config', config, '--out', out]);
    expect(r.code, shown(r)).toBe(0);
    const unitDir = path.join(out, 'etc/systemd/system');
    const timer = await fs.readFile(path.join(unitDir, TIMER), 'utf8');
    expect(timer.split('\n')).toEqual(
      expect.arrayContaining(['OnCalendar=Mon,Fri *-*-* 02:30:00 Europe/Berlin', 'RandomizedDelaySec=3600s', 'Persistent=true', 'Unit=plugback-drive@nas\\x2ddisk.service']),
    );
    expect(await fs.readlink(path.join(unitDir, 'timers.target.wants', TIMER))).toBe(`/etc/systemd/system/${TIMER}`);
    const verified = await run('systemd-analyze', ['verify', '--man=no', TIMER, 'plugback-drive@nas\\x2ddisk.service'], { SYSTEMD_UNIT_PATH: `${unitDir}:` });
    // verify only warns (exit 0) about unknown settings, so its stderr must be empty too.
    expect(verified.stderr).toBe('');
    expect(verified.code, shown(verified)).toBe(0);
    // The check can fail: a timer systemd cannot read is reported.
    await fs.appendFile(path.join(unitDir, TIMER), 'OnCalendars=daily\n');
    const broken = await run('systemd-analyze', ['verify', '--man=no', TIMER], { SYSTEMD_UNIT_PATH: `${unitDir}:` });
    expect(broken.stderr).toMatch(/Unknown key 'OnCalendars'/);
  });

  it('is written with its wants link by install --root, taken away when the schedule goes, and by uninstall', async () => {
    const root = await tempDir('root');
    await fs.mkdir(path.join(root, 'etc/systemd/system'), { recursive: true });
    await fs.writeFile(path.join(root, 'etc/group'), 'root:x:0:\n');
    const dir = await tempDir('cfg');
    const config = await writeConfig(dir, ['    schedule: daily']);
    const unitDir = path.join(root, 'etc/systemd/system');
    const installed = await cli(['install', '--config', config, '--root', root]);
    expect(installed.code, shown(installed)).toBe(0);
    expect(installed.stdout).toContain(`wrote ${root}/etc/systemd/system/${TIMER}\n`);
    expect(installed.stdout).toContain(`wrote ${root}/etc/systemd/system/timers.target.wants/${TIMER}\n`);
    expect(await fs.readFile(path.join(unitDir, TIMER), 'utf8')).toContain('OnCalendar=daily\n');
    expect(await fs.readlink(path.join(unitDir, 'timers.target.wants', TIMER))).toBe(`/etc/systemd/system/${TIMER}`);

    await writeConfig(dir, []);
    const unscheduled = await cli(['install', '--config', config, '--root', root]);
    expect(unscheduled.code, shown(unscheduled)).toBe(0);
    expect(unscheduled.stdout).toContain(`removed ${root}/etc/systemd/system/${TIMER} (no longer generated)`);
    await expect(fs.lstat(path.join(unitDir, 'timers.target.wants', TIMER))).rejects.toThrow(/ENOENT/);

    await writeConfig(dir, ['    schedule: daily']);
    expect((await cli(['install', '--config', config, '--root', root])).code).toBe(0);
    const removed = await cli(['uninstall', '--config', config, '--root', root]);
    expect(removed.code, shown(removed)).toBe(0);
    expect(removed.stdout).toContain(`removed ${root}/etc/systemd/system/${TIMER}\n`);
    await expect(fs.lstat(path.join(unitDir, TIMER))).rejects.toThrow(/ENOENT/);
    await expect(fs.lstat(path.join(unitDir, 'timers.target.wants'))).rejects.toThrow(/ENOENT/);
  });
});

describe('plugback drives and a scheduled drive', () => {
  it('shows the schedule, and nextRun null without an installed timer', async () => {
    const dir = await tempDir('drives');
    // No timer was installed: systemctl says not-found, or fails where no systemd runs; either way, null.
    const config = await writeConfig(dir, ['    schedule: "*-*-* 02:30:00"']);
    const r = await cli(['drives', '--json', '--config', config]);
    expect(r.code, shown(r)).toBe(0);
    const rows = (JSON.parse(r.stdout) as { drives: { drive: string; schedule: string | null; nextRun: string | null }[] }).drives;
    expect(rows.find((d) => d.drive === 'nas-disk')).toMatchObject({ schedule: '*-*-* 02:30:00', nextRun: null });
    expect(rows.find((d) => d.drive === 'offsite-a')).toMatchObject({ schedule: null, nextRun: null });
  });

  it("shows the next run systemd reports for a running timer (systemctl on PATH answering as systemd 252 does)", async () => {
    const dir = await tempDir('drives');
    const config = await writeConfig(dir, ['    schedule: daily']);
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin);
    await fs.writeFile(
      path.join(bin, 'systemctl'),
      `#!/bin/sh\necho "$@" >> "${bin}/systemctl.args"\nprintf 'LoadState=loaded\\nActiveState=active\\nNextElapseUSecRealtime=@1796256000\\n'\n`,
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    const r = await cli(['drives', '--json', '--config', config], env);
    expect(r.code, shown(r)).toBe(0);
    const rows = (JSON.parse(r.stdout) as { drives: { drive: string; nextRun: string | null }[] }).drives;
    expect(rows.find((d) => d.drive === 'nas-disk')?.nextRun).toBe('2026-12-03T00:00:00.000Z');
    expect(await fs.readFile(path.join(bin, 'systemctl.args'), 'utf8')).toBe(
      `show --timestamp=unix -p LoadState -p ActiveState -p NextElapseUSecRealtime -- ${TIMER}\n`,
    );
    const table = await cli(['drives', '--config', config], { ...env, TZ: 'UTC' });
    expect(table.stdout).toMatch(/^nas-disk .*schedule daily, next run 2026-12-03 00:00$/m);
  });
});
