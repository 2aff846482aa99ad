// install.trigger units has no daemon to retry the outbox: `plugback generate` adds plugback-mail.timer and
// plugback-mail.service (running `plugback mail flush`) when mail is configured, checked by systemd-analyze verify;
// and install enables the timer like a drive's schedule.
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { timerChanges } from '../../src/install/remove.js';
import { CLI } from '../helpers/cli-workspace.js';
import { run, shown } from '../helpers/run-command.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';

const tempDir = tempDirsRemovedAfterEach();
const UNITS = 'etc/systemd/system';

/** `plugback generate --out` for a config with one LUKS drive, the trigger and optionally a mail: section. */
async function generated(trigger: 'daemon' | 'units', mail: boolean): Promise<{ out: string; config: string }> {
  const dir = await tempDir('mail-timer');
  const config = path.join(dir, 'plugback.yaml');
  const lines = [
    'stateDir: /var/lib/plugback test',
    'drives: {a: {uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}}',
    'states: {p: {folders: [/srv/photos]}}',
    ...(mail ? ['mail: {to: [ops@example.org], smtp: {host: smtp.example.org}}'] : []),
    `install: {trigger: ${trigger}}`,
  ];
  await fs.writeFile(config, `${lines.join('\n')}\n`);
  const out = path.join(dir, 'out');
  const r = await run(process.execPath, [CLI, 'generate', '--config', config, '--out', out]);
  expect(r.code, shown(r)).toBe(0);
  return { out, config };
}

describe('the mail timer of install.trigger units', () => {
  it('runs `plugback mail flush` every 15 minutes, enabled at boot, and passes systemd-analyze verify', async () => {
    const { out, config } = await generated('units', true);
    const service = await fs.readFile(path.join(out, UNITS, 'plugback-mail.service'), 'utf8');
    expect(service).toMatch(new RegExp(`^ExecStart=\\S+ \\S+main\\.js mail flush --config ${config.replace(/[.]/g, '\\.')}$`, 'm'));
    // Still waiting (exit 1) is the next start's business, not a failed unit.
    expect(service).toContain('\nSuccessExitStatus=1\n');
    expect(service).toContain('\nReadWritePaths="/var/lib/plugback test"\n');
    const timer = await fs.readFile(path.join(out, UNITS, 'plugback-mail.timer'), 'utf8');
    expect(timer).toContain('\nOnUnitInactiveSec=15min\n');
    expect(await fs.readlink(path.join(out, UNITS, 'timers.target.wants/plugback-mail.timer'))).toBe('/etc/systemd/system/plugback-mail.timer');

    const r = await run('systemd-analyze', ['verify', '--man=no', 'plugback-mail.timer', 'plugback-mail.service'], { SYSTEMD_UNIT_PATH: `${path.join(out, UNITS)}:` });
    expect(r.stderr, shown(r)).toBe('');
    expect(r.code, shown(r)).toBe(0);
  });

  it('is not written without a mail: section, nor with the daemon (which retries the outbox itself)', async () => {
    for (const [trigger, mail] of [['units', false], ['daemon', true]] as const) {
      const { out } = await generated(trigger, mail);
      const files = await fs.readdir(path.join(out, UNITS), { recursive: true });
      expect(files.filter((f) => f.includes('plugback-mail')), `${trigger} ${mail}`).toEqual([]);
    }
  });

  it('is enabled and started by install, and stopped when it is taken away', () => {
    const timer = `/${UNITS}/plugback-mail.timer`;
    expect(timerChanges([timer, `/${UNITS}/timers.target.wants/plugback-mail.timer`], [])).toEqual({ enable: ['plugback-mail.timer'], stop: [] });
    expect(timerChanges([], [timer])).toEqual({ enable: [], stop: ['plugback-mail.timer'] });
  });
});
