// scripts/setup as a newcomer and CI meet it: a NAS gets only what plugback runs, the test tools only when asked
// for, and README.md's quick start, .ci/run and docs/installing.md say the same thing it does. `--list` prints
// the packages without installing anything, so this runs the real script.
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run, shown } from '../helpers/run-command.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SETUP = `${REPO}scripts/setup`;
const TEST_ONLY = ['qemu-system-x86', 'qemu-utils', 'debootstrap', 'strace', 'jq', 'libxml2-utils', 'dbus-tests'];

async function listed(...args: string[]): Promise<string[]> {
  const r = await run(SETUP, ['--list', ...args]);
  expect(r.code, shown(r)).toBe(0);
  return r.stdout.trim().split(' ');
}

describe('scripts/setup', () => {
  it('installs what plugback runs and none of the test tools unless --test-tools asks for them', async () => {
    const runtime = await listed();
    expect(runtime).toEqual(expect.arrayContaining(['rsync', 'util-linux', 'e2fsprogs', 'libusb-1.0-0', 'libudev1', 'systemd']));
    for (const tool of TEST_ONLY) expect(runtime, tool).not.toContain(tool);
    const withTests = await listed('--test-tools');
    expect(withTests).toEqual(expect.arrayContaining([...runtime, ...TEST_ONLY]));
  });

  it('explains itself with --help and refuses an unknown option with exit 2', async () => {
    const help = await run(SETUP, ['--help']);
    expect(help.code, shown(help)).toBe(0);
    expect(help.stdout).toMatch(/^Usage: scripts\/setup \[--test-tools\] \[--list\]/);
    expect(help.stdout).toContain('qemu-system-x86');
    const bad = await run(SETUP, ['--qemu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown option --qemu');
  });

  it('is called by .ci/run exactly as the test line of README.md\'s quick start', async () => {
    const readme = await fs.readFile(`${REPO}README.md`, 'utf8');
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = quickStart.split('\n').map((l) => l.replace(/#.*/, '').trim());
    const testLine = commands.find((c) => c.endsWith('npm test'));
    expect(testLine).toBe('scripts/setup --test-tools && npm test');
    const ci = (await fs.readFile(`${REPO}.ci/run`, 'utf8')).split('\n');
    expect(ci).toContain(testLine);
  });

  it('lists the same packages as the apt-get line of docs/installing.md', async () => {
    const doc = await fs.readFile(`${REPO}docs/installing.md`, 'utf8');
    const line = /^sudo apt-get install (.+)$/m.exec(doc)?.[1];
    // systemd-cryptsetup is added only where the release ships it apart; the page says so in words.
    expect(line?.split(' ')).toEqual((await listed()).filter((p) => p !== 'systemd-cryptsetup'));
  });
});
