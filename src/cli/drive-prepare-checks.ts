// The refusals of `plugback drive prepare`, checked before anything is written: a device in use (mounted, the
// system's disk, named in fstab or crypttab, held by a mapping) is refused even with --wipe; one that carries a
// partition table or file system is refused unless --wipe is given.
import { readFile, realpath } from 'node:fs/promises';
import { allNodes, holdersOf, idsOf, signaturesOn, type BlockNode, type Signature } from '../system/block-device.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

/** Mount points that make a disk the system's own. */
const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '[SWAP]'];

const refuse = (message: string) => new UserError(`drive prepare: ${message}`, EXIT.failed);

/** Refuses a device that is not a whole disk, or that something on this machine uses. */
export async function refuseDeviceInUse(disk: BlockNode): Promise<void> {
  if (disk.type !== 'disk' && disk.type !== 'loop') {
    throw refuse(`${disk.path} is a ${disk.type}, not a whole disk: give the disk itself (lsblk shows it as "disk", e.g. /dev/sdb)`);
  }
  if (disk.readOnly) throw refuse(`${disk.path} is read-only (its write-protect switch, or the kernel's ro flag): nothing was changed`);
  const nodes = allNodes(disk);
  const system = nodes.find((n) => n.mountPoints.some((m) => SYSTEM_MOUNTS.includes(m)));
  if (system) {
    throw refuse(`${disk.path} is this system's disk (${system.path} is mounted at ${system.mountPoints.join(', ')}): prepare only an external drive`);
  }
  const mounted = nodes.find((n) => n.mountPoints.length > 0);
  if (mounted) {
    throw refuse(`${mounted.path} is mounted at ${mounted.mountPoints.join(', ')}: unmount it first (umount ${mounted.mountPoints[0]}) if this is the drive to erase`);
  }
  const mapping = nodes.find((n) => n !== disk && n.type !== 'part');
  if (mapping) throw refuse(`${disk.path} is in use by ${mapping.path} (${mapping.type}): close it first (for a LUKS mapping: cryptsetup close ${mapping.name})`);
  for (const node of nodes) {
    const holders = await holdersOf(node);
    if (holders.length > 0) throw refuse(`${node.path} is in use by ${holders.join(', ')} (see /sys/class/block/${node.name}/holders): close that first`);
  }
  await refuseListed(disk, '/etc/fstab', 0);
  await refuseListed(disk, '/etc/crypttab', 1);
}

/** Refuses a disk named (by path, UUID=, LABEL=, PARTUUID= or PARTLABEL=) in the `field`th column of `table`. */
async function refuseListed(disk: BlockNode, table: string, field: number): Promise<void> {
  const text = await readFile(table, 'utf8').catch(() => '');
  const specs = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => ({ line, spec: (line.split(/\s+/)[field] ?? '').replace(/"/g, '') }));
  if (specs.length === 0) return;
  for (const node of allNodes(disk)) {
    const names = new Set([...(await idsOf(node)), await realpath(node.path).catch(() => node.path)]);
    for (const { line, spec } of specs) {
      const target = spec.startsWith('/') ? await realpath(spec).catch(() => spec) : spec;
      if (names.has(target)) throw refuse(`${node.path} is named in ${table} ("${line}"): remove that line first if this is the drive to erase`);
    }
  }
}

/** What is on the disk, for the refusal without --wipe and for the question with it. */
export async function signaturesFound(disk: BlockNode): Promise<Signature[]> {
  return signaturesOn(disk);
}

/** Refuses a disk that carries anything, when --wipe was not given. */
export function refuseSignatures(disk: BlockNode, found: Signature[]): void {
  if (found.length === 0) return;
  const what = [...new Set(found.map((s) => `${s.type} on /dev/${s.device}`))].join(', ');
  throw refuse(`${disk.path} is not blank: it carries ${what}. If its data may go, run again with --wipe (it shows the drive and asks first)`);
}
