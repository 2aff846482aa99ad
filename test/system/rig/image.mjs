// The guest's root file system: a Debian bookworm minbase tree made by debootstrap from the host's own apt mirror,
// packed into an ext4 image with `mkfs.ext4 -d` (no loop mount), with the kernel and initrd beside it for a direct
// kernel boot. Built once and cached under a folder named by a hash of everything that goes into it (the package
// list, the mirror, the rig version and this file's guest setup); the project itself is NOT part of it: it goes in
// per run on a second disk (see payload.mjs), so a code change never forces a debootstrap.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.mjs';

/** Bump when the guest setup below changes in a way the hash would not see. */
export const RIG_VERSION = 3;
export const SUITE = 'bookworm';

// debootstrap skips Recommends: polkitd and libblockdev-crypto2 (udisks2's LUKS plugin) by hand; libpam-systemd so
// polkitd configures (it wants a logind). libusb-1.0-0 and libudev1: what node-hid's prebuilt binding links against.
// btrfs-progs: plugback's btrfs snapshots (scenario 13) and mkfs.btrfs for its drive. fdisk: sfdisk, the partition
// table `plugback drive prepare` writes (scenario 14).
export const PACKAGES = [
  'systemd', 'systemd-sysv', 'udev', 'dbus', 'udisks2', 'cryptsetup', 'cryptsetup-bin', 'rsync', 'linux-image-amd64',
  'kmod', 'iproute2', 'libpam-systemd', 'polkitd', 'libblockdev-crypto2', 'libusb-1.0-0', 'libudev1', 'acl', 'attr',
  'e2fsprogs', 'util-linux', 'mount', 'procps', 'psmisc', 'passwd', 'diffutils', 'btrfs-progs', 'fdisk',
];

// The unit that runs the scenario script from the payload disk once the system is up. Type=simple: with oneshot,
// `systemctl is-system-running --wait` inside it would wait for ever.
const TEST_UNIT = `[Unit]
Description=plugback system test driver (payload disk /dev/vdb)
After=multi-user.target

[Service]
Type=simple
ExecStart=/bin/sh -c 'mkdir -p /payload && mount /dev/vdb /payload && exec /payload/guest-run.sh'
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
`;

/** The first `URIs:` of the host's deb822 sources, else the first `deb` line of sources.list: never a hard-coded host. */
export function hostMirror() {
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sources')).sort() : [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const block of text.split(/\n\s*\n/)) {
      const suites = /^Suites:\s*(.+)$/m.exec(block)?.[1] ?? '';
      const uri = /^URIs:\s*(\S+)/m.exec(block)?.[1];
      if (uri && suites.split(/\s+/).includes(SUITE)) return uri;
    }
  }
  const list = '/etc/apt/sources.list';
  if (existsSync(list)) {
    for (const line of readFileSync(list, 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m && m[2] === SUITE) return m[1];
    }
  }
  throw new Error(`no apt source for ${SUITE} in ${dir}/*.sources or ${list}: cannot debootstrap the guest`);
}

export function imageKey(mirror) {
  const h = createHash('sha256');
  h.update(JSON.stringify({ RIG_VERSION, SUITE, PACKAGES, mirror, TEST_UNIT }));
  return h.digest('hex').slice(0, 16);
}

export function cacheRoot() {
  return process.env.PLUGBACK_SYSTEM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'plugback-system-test');
}

/** Returns { dir, root, kernel, initrd, built, seconds }: from the cache, or built now (debootstrap, about 2.5 min). */
export async function guestImage(log = console.log) {
  const mirror = hostMirror();
  const key = imageKey(mirror);
  const dir = join(cacheRoot(), `guest-${key}`);
  const files = { dir, root: join(dir, 'root.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') };
  if (existsSync(join(dir, 'complete'))) return { ...files, built: false, seconds: 0 };

  const started = Date.now();
  mkdirSync(cacheRoot(), { recursive: true });
  // A tree that debootstrap finished in an earlier, interrupted build is used again (the key is the same).
  const work = `${dir}.building`;
  const tree = join(work, 'tree');
  const bootstrapped = join(work, 'debootstrap-done');
  try {
    if (!existsSync(bootstrapped)) {
      rmSync(work, { recursive: true, force: true });
      mkdirSync(tree, { recursive: true });
      log(`system test: building the guest image ${key} (debootstrap ${SUITE} from ${mirror}; a few minutes)`);
      await run('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, tree, mirror]);
      writeFileSync(bootstrapped, '');
    } else {
      log(`system test: finishing the guest image ${key} from the tree debootstrap made earlier`);
    }

    writeFileSync(join(tree, 'etc/hostname'), 'plugback-guest\n');
    writeFileSync(join(tree, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 plugback-guest\n');
    writeFileSync(join(tree, 'etc/fstab'), '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
    writeFileSync(join(tree, 'etc/systemd/system/plugback-systemtest.service'), TEST_UNIT);
    const wants = join(tree, 'etc/systemd/system/multi-user.target.wants');
    mkdirSync(wants, { recursive: true });
    await run('ln', ['-sf', '/etc/systemd/system/plugback-systemtest.service', join(wants, 'plugback-systemtest.service')]);
    // Nothing on the console but the test's markers (kernel messages are quietened on the command line), and nothing
    // slow the test does not need at boot.
    for (const unit of ['serial-getty@ttyS0.service', 'getty@tty1.service', 'e2scrub_reap.service', 'e2scrub_all.timer',
      'apt-daily.timer', 'apt-daily-upgrade.timer', 'fstrim.timer', 'man-db.timer']) {
      await run('ln', ['-sf', '/dev/null', join(tree, 'etc/systemd/system', unit)]);
    }
    // The journal in RAM only: the root image stays as built (runs write to a qcow2 overlay anyway).
    mkdirSync(join(tree, 'etc/systemd/journald.conf.d'), { recursive: true });
    writeFileSync(join(tree, 'etc/systemd/journald.conf.d/systemtest.conf'), '[Journal]\nStorage=volatile\n');
    writeFileSync(join(tree, 'etc/machine-id'), '');

    const boot = join(tree, 'boot');
    const kernel = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
    const initrd = readdirSync(boot).find((f) => f.startsWith('initrd.img-'));
    if (!kernel || !initrd) throw new Error(`no kernel or initrd in ${boot}: ${readdirSync(boot).join(' ')}`);
    await run('cp', [join(boot, kernel), join(work, 'vmlinuz')]);
    await run('cp', [join(boot, initrd), join(work, 'initrd.img')]);
    chmodSync(join(work, 'vmlinuz'), 0o644);
    await run('mkfs.ext4', ['-q', '-F', '-L', 'vmroot', '-d', tree, join(work, 'root.img'), '3G']);
    rmSync(tree, { recursive: true, force: true });
    writeFileSync(join(work, 'complete'), `${new Date().toISOString()} ${mirror} ${PACKAGES.join(' ')}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } catch (error) {
    if (!existsSync(bootstrapped)) rmSync(work, { recursive: true, force: true });
    throw error;
  }
  const seconds = (Date.now() - started) / 1000;
  log(`system test: guest image built in ${seconds.toFixed(0)} s, cached in ${dir}`);
  return { ...files, built: true, seconds };
}
