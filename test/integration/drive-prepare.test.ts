// `plugback drive prepare` on loop devices backed by image files (never a host disk), run as root through the real
// CLI: every refusal leaves the disk as it was, and a failure half way says what it wrote and can be started over.
// This machine has no device-mapper, so nothing here opens a LUKS container; the whole way (open, mkfs, identity,
// a backup onto it) is the full-OS suite's part.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli-workspace.js';
import { inNamespace, loopDisksRemovedAfterEach, mkfs, partitioned, signatures, type Namespace } from '../helpers/loop-disk.js';
import { run, shown, type Run } from '../helpers/run-command.js';

const STAND_INS = fileURLToPath(new URL('../fixtures/prepare', import.meta.url));
const PTY = fileURLToPath(new URL('../helpers/pty-run.py', import.meta.url));
const disks = loopDisksRemovedAfterEach();

interface Setup {
  dir: string;
  config: string;
  keys: string;
  passphrase: string;
}

async function setup(): Promise<Setup> {
  const dir = await disks.dir();
  const config = path.join(dir, 'config.yaml');
  const src = path.join(dir, 'src');
  await fs.mkdir(src, { recursive: true });
  await fs.writeFile(
    config,
    `# the test's config: its comments must stay\nhost: h1\nstateDir: ${path.join(dir, 'state')}\ndrives:\n  d1:\n    path: ${path.join(dir, 'target')}\nstates:\n  photos:\n    folders: [${src}]\n`,
  );
  const passphrase = path.join(dir, 'passphrase');
  await fs.writeFile(passphrase, 'correct horse battery\n');
  return { dir, config, keys: path.join(dir, 'keys'), passphrase };
}

/** `plugback drive prepare ARGS` with quick KDF settings and test folders; `ns` runs it in a private namespace. */
async function prepare(s: Setup, args: string[], options: { ns?: Namespace; standIn?: boolean } = {}): Promise<Run> {
  const argv = [process.execPath, CLI, 'drive', 'prepare', ...args, '--config', s.config, '--key-dir', s.keys, '--passphrase-file', s.passphrase, '--kdf-memory', '16', '--kdf-time', '200'];
  const env = options.standIn ? { PATH: `${STAND_INS}:${process.env.PATH}` } : {};
  if (!options.ns) return run(argv[0] as string, argv.slice(1), env);
  const wrapped = await inNamespace(options.ns, argv, s.dir);
  return run(wrapped[0] as string, wrapped.slice(1), env);
}

describe('plugback drive prepare refuses a disk in use, and changes nothing', () => {
  it('refuses a disk that carries a file system, without --wipe', async () => {
    const s = await setup();
    const disk = await disks.make();
    await mkfs('ext4', disk);
    const r = await prepare(s, ['offsite-a', disk]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${disk} is not blank: it carries ext4 on ${disk}. If its data may go, run again with --wipe`);
    expect(await signatures(disk)).toBe('ext4');
    await expect(fs.readdir(s.keys)).rejects.toThrow();
  });

  it('refuses a disk whose partition is mounted, even with --wipe', async () => {
    const s = await setup();
    const disk = await disks.make();
    const part = await partitioned(disk);
    await mkfs('ext4', part);
    const at = await disks.mount(part);
    const r = await prepare(s, ['offsite-a', disk, '--wipe', '--yes', disk]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${part} is mounted at ${at}: unmount it first`);
    expect(await signatures(part)).toBe('ext4');
  });

  it("refuses the system's disk (one holding /boot)", async () => {
    const s = await setup();
    const disk = await disks.make();
    await mkfs('ext4', disk);
    const r = await prepare(s, ['offsite-a', disk, '--wipe', '--yes', disk], { ns: { mount: { device: disk, at: '/boot' } } });
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${disk} is this system's disk (${disk} is mounted at /boot): prepare only an external drive`);
    expect(await signatures(disk)).toBe('ext4');
  });

  it('refuses a disk named in /etc/fstab by the UUID of its file system', async () => {
    const s = await setup();
    const disk = await disks.make();
    const part = await partitioned(disk);
    await mkfs('ext4', part);
    const { stdout: uuid } = await run('blkid', ['--probe', '--match-tag', 'UUID', '--output', 'value', part]);
    const line = `UUID=${uuid.trim()} /srv/old ext4 defaults 0 2`;
    const r = await prepare(s, ['offsite-a', disk, '--wipe', '--yes', disk], { ns: { etc: { fstab: `# /etc/fstab\n${line}\n` } } });
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${part} is named in /etc/fstab ("${line}"): remove that line first`);
    expect(await signatures(part)).toBe('ext4');
  });

  it('refuses a disk named in /etc/crypttab by its device path', async () => {
    const s = await setup();
    const disk = await disks.make();
    await mkfs('ext4', disk);
    const line = `old ${disk} none luks`;
    const r = await prepare(s, ['offsite-a', disk, '--wipe', '--yes', disk], { ns: { etc: { crypttab: `${line}\n` } } });
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${disk} is named in /etc/crypttab ("${line}")`);
  });

  it('refuses --wipe --yes with the wrong serial, after showing the disk', async () => {
    const s = await setup();
    const disk = await disks.make('128M'); // the smallest btrfs is about 110 MiB
    await mkfs('btrfs', await partitioned(disk));
    const r = await prepare(s, ['offsite-a', disk, '--wipe', '--yes', 'WD-WX12A3456789']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain(`${disk}: (no model), serial none (give --yes ${disk}), 128.0 MiB`);
    expect(r.stderr).toContain(`--yes WD-WX12A3456789 does not match ${disk}, which has no serial, so --yes takes its path; nothing was changed`);
    expect(await signatures(`${disk}p1`)).toBe('btrfs');
    // On a blank disk too: the serial names the disk the script meant.
    const blank = await disks.make();
    const other = await prepare(s, ['offsite-a', blank, '--yes', disk]);
    expect(other.code, shown(other)).toBe(2);
    expect(other.stderr).toContain(`--yes ${disk} does not match ${blank}`);
    expect(await signatures(blank)).toBe('');
  });

  it("refuses --wipe on a terminal when another name than the drive's is typed back", async () => {
    const s = await setup();
    const disk = await disks.make();
    await mkfs('ext4', disk);
    const out = path.join(s.dir, 'terminal.out');
    const argv = [process.execPath, CLI, 'drive', 'prepare', 'offsite-a', disk, '--wipe', '--config', s.config, '--key-dir', s.keys, '--passphrase-file', s.passphrase];
    const actions = [{ wait: 'Type the drive.s name \\(offsite-a\\) to go on: ' }, { send: 'offsite-b\r' }];
    const r = await run('python3', [PTY, out, JSON.stringify(actions), '--', ...argv]);
    const screen = await fs.readFile(out, 'utf8');
    expect(r.stdout.trim(), screen).toBe('2');
    expect(screen).toContain(`Everything on ${disk} will be erased.`);
    expect(screen).toContain('"offsite-b" is not "offsite-a"; nothing was changed');
    expect(await signatures(disk)).toBe('ext4');
  });

  it('refuses --wipe without --yes when there is no terminal to ask on', async () => {
    const s = await setup();
    const disk = await disks.make();
    await mkfs('ext4', disk);
    const r = await prepare(s, ['offsite-a', disk, '--wipe']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain(`--wipe erases ${disk} and stdin is not a terminal, so it cannot ask: add --yes ${disk}`);
    expect(await signatures(disk)).toBe('ext4');
  });

  it('refuses a partition instead of the whole disk', async () => {
    const s = await setup();
    const part = await partitioned(await disks.make());
    const r = await prepare(s, ['offsite-a', part]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${part} is a part, not a whole disk: give the disk itself`);
  });

  it('refuses a name the config has, a key file that exists, and a key folder others may write', async () => {
    const s = await setup();
    const disk = await disks.make();
    const known = await prepare(s, ['d1', disk]);
    expect(known.code, shown(known)).toBe(2);
    expect(known.stderr).toContain(`${s.config} has a drive "d1" already: choose another name`);
    await fs.mkdir(s.keys);
    await fs.writeFile(path.join(s.keys, 'offsite-a.key'), 'an older key\n');
    const key = await prepare(s, ['offsite-a', disk]);
    expect(key.code, shown(key)).toBe(2);
    expect(key.stderr).toContain(`${path.join(s.keys, 'offsite-a.key')} exists (it may open another drive)`);
    await fs.rm(path.join(s.keys, 'offsite-a.key'));
    await fs.chmod(s.keys, 0o777);
    const open = await prepare(s, ['offsite-a', disk]);
    expect(open.code, shown(open)).toBe(2);
    expect(open.stderr).toContain(`the key folder ${s.keys} is writable by its group and all users (mode 0777), who could take a key away or swap it`);
    expect(await signatures(disk)).toBe('');
  });

  it('refuses a bad name, an unknown --fs, a --kdf-memory too small and a device that is not a disk, as usage errors', async () => {
    const s = await setup();
    const disk = await disks.make();
    const cases: [string[], string][] = [
      [['off site', disk], '"off site" cannot be a drive name: use letters, digits, "-" and "_"'],
      [['offsite-a', disk, '--fs', 'xfs'], "option '--fs <kind>' argument 'xfs' is invalid. Allowed choices are ext4, btrfs."],
      [['offsite-a', disk, '--kdf-memory', '4'], '--kdf-memory takes a whole number, at least 8 (not "4")'],
      [['offsite-a', path.join(s.dir, 'disk0.img')], 'is not a block device lsblk knows'],
    ];
    for (const [args, message] of cases) {
      const r = await prepare(s, args);
      expect(r.code, shown(r)).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(await signatures(disk)).toBe('');
  });

  it('refuses to go on without a passphrase when there is no terminal to ask on', async () => {
    const s = await setup();
    const disk = await disks.make();
    const r = await run(process.execPath, [CLI, 'drive', 'prepare', 'offsite-a', disk, '--config', s.config, '--key-dir', s.keys]);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('stdin is not a terminal to ask for it: give --passphrase-file FILE');
  });
});

/** `plugback drive prepare offsite-a DISK` on a terminal (no --passphrase-file), typing as `actions` say. */
async function onTerminal(s: Setup, disk: string, actions: object[], env: NodeJS.ProcessEnv = {}): Promise<{ code: string; screen: string }> {
  const out = path.join(s.dir, 'terminal.out');
  const argv = [process.execPath, CLI, 'drive', 'prepare', 'offsite-a', disk, '--config', s.config, '--key-dir', s.keys, '--kdf-memory', '16', '--kdf-time', '200'];
  const r = await run('python3', [PTY, out, JSON.stringify(actions), '--', ...argv], env);
  return { code: r.stdout.trim(), screen: await fs.readFile(out, 'utf8') };
}

const FIRST = { wait: 'New passphrase for drive "offsite-a": ' };
const AGAIN = { wait: 'The same passphrase again: ' };

describe('plugback drive prepare asks for the passphrase on a terminal, before it writes anything', () => {
  it('takes the passphrase typed twice, unseen, for the second key slot', async () => {
    const s = await setup();
    const disk = await disks.make();
    const t = await onTerminal(s, disk, [FIRST, { send: 'typed secret\r' }, AGAIN, { send: 'typed secret\r' }], { PATH: `${STAND_INS}:${process.env.PATH}` });
    expect(t.code, t.screen).toBe('1'); // the stand-in's open fails after the LUKS header is written
    expect(t.screen).toContain('The drive also gets a passphrase, to open it on another machine (keep it off this one).');
    expect(t.screen).not.toContain('typed secret');
    const typed = await run('sh', ['-c', `echo 'typed secret' | cryptsetup open --test-passphrase ${disk}p1`]);
    expect(typed.code, shown(typed)).toBe(0);
  });

  it('refuses two passphrases that differ, and changes nothing', async () => {
    const s = await setup();
    const disk = await disks.make();
    const t = await onTerminal(s, disk, [FIRST, { send: 'one secret\r' }, AGAIN, { send: 'another\r' }]);
    expect(t.code, t.screen).toBe('2');
    expect(t.screen).toContain('the two passphrases differ; nothing was changed');
    expect(await signatures(disk)).toBe('');
  });

  it('stops at Ctrl-C, and changes nothing', async () => {
    const s = await setup();
    const disk = await disks.make();
    const t = await onTerminal(s, disk, [FIRST, { send: '\u0003' }]);
    expect(t.code, t.screen).toBe('2');
    expect(t.screen).toContain('stopped (Ctrl-C) at the passphrase; nothing was changed');
    expect(await signatures(disk)).toBe('');
  });
});

describe('plugback drive prepare stopped half way', () => {
  it('says what it wrote, removes the key file and header backup, and starts over with --wipe', async () => {
    const s = await setup();
    const disk = await disks.make();
    const first = await prepare(s, ['offsite-a', disk], { standIn: true });
    expect(first.code, shown(first)).toBe(1);
    expect(first.stderr).toContain('Cannot initialize device-mapper. Is dm_mod kernel module loaded?');
    expect(first.stderr).toContain(
      `Done on ${disk} so far: a GPT partition table with one partition was written to ${disk}; a LUKS2 container was made on ${disk}p1.`,
    );
    expect(first.stderr).toContain('The key file and header backup made for it were removed again.\nTo start over, run the same command again with --wipe.');
    expect(await fs.readdir(s.keys)).toEqual([]);
    expect(await signatures(`${disk}p1`)).toBe('crypto_LUKS crypto_LUKS');
    // The passphrase slot was written from the file, without its newline, as a person would type it.
    const typed = await run('sh', ['-c', `echo 'correct horse battery' | cryptsetup open --test-passphrase ${disk}p1`]);
    expect(typed.code, shown(typed)).toBe(0);

    const before = await run('cryptsetup', ['luksUUID', `${disk}p1`]);

    const again = await prepare(s, ['offsite-a', disk], { standIn: true });
    expect(again.stderr).toContain(`${disk} is not blank: it carries gpt on ${disk}, PMBR on ${disk}, crypto_LUKS on ${disk}p1`);
    const over = await prepare(s, ['offsite-a', disk, '--wipe', '--yes', disk], { standIn: true });
    expect(over.code, shown(over)).toBe(1);
    expect(over.stderr).toContain(`Done on ${disk} so far: the old partition table and file system signatures on ${disk} were wiped; a GPT partition table`);
    expect(await fs.readdir(s.keys)).toEqual([]);
    const after = await run('cryptsetup', ['luksUUID', `${disk}p1`]);
    expect(after.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    expect(after.stdout, 'a new LUKS container').not.toBe(before.stdout);
  });
});
