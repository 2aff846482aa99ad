// What a block device is and what it holds, for `plugback drive prepare`: lsblk for the tree (disk, partitions,
// the mappings and holders on them) and what is mounted, wipefs for the signatures, blkid for the ids that
// fstab and crypttab name. Without udev (a container, a test machine) lsblk knows no FSTYPE or UUID, so those
// come from probing the device itself (wipefs, blkid -p), which works with or without udev.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface BlockNode {
  name: string;
  path: string;
  /** lsblk's TYPE: disk, loop, part, crypt, lvm, rom... */
  type: string;
  size: number;
  model?: string | undefined;
  serial?: string | undefined;
  readOnly: boolean;
  /** Where it is mounted (`[SWAP]` for active swap). */
  mountPoints: string[];
  children: BlockNode[];
}

export interface Signature {
  /** The node it was found on (loop1, loop1p1). */
  device: string;
  type: string;
  offset: string;
}

interface LsblkNode {
  name: string;
  path: string;
  type: string;
  size: number;
  model: string | null;
  serial: string | null;
  ro: boolean;
  mountpoints: (string | null)[];
  children?: LsblkNode[];
}

/** A program's stdout, or an Error carrying its stderr. */
export async function programOutput(command: string, args: string[], input?: string): Promise<string> {
  const { execa } = await import('execa');
  const result = await execa(command, args, { reject: false, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0) {
    const said = (result.stderr || result.stdout).trim() || (result.failed && result.exitCode === undefined ? result.message : `exit ${result.exitCode}`);
    throw new Error(`${command} ${args.join(' ')}: ${said}`);
  }
  return result.stdout;
}

const toNode = (n: LsblkNode): BlockNode => ({
  name: n.name,
  path: n.path,
  type: n.type,
  size: n.size,
  model: n.model?.trim() || undefined,
  serial: n.serial?.trim() || undefined,
  readOnly: n.ro,
  mountPoints: n.mountpoints.filter((m): m is string => m !== null),
  children: (n.children ?? []).map(toNode),
});

/** The device and everything on it (partitions, and what holds them: a dm-crypt mapping, LVM...). */
export async function probeBlockDevice(device: string): Promise<BlockNode> {
  const text = await programOutput('lsblk', ['--json', '--bytes', '--output', 'NAME,PATH,TYPE,SIZE,MODEL,SERIAL,RO,MOUNTPOINTS', device]);
  const tree = JSON.parse(text) as { blockdevices: LsblkNode[] };
  const top = tree.blockdevices[0];
  if (!top) throw new Error(`lsblk knows no device ${device}`);
  return toNode(top);
}

/** The device and its descendants, flattened. */
export function allNodes(node: BlockNode): BlockNode[] {
  return [node, ...node.children.flatMap(allNodes)];
}

/** The partitions directly on the disk. */
export const partitionsOf = (disk: BlockNode): BlockNode[] => disk.children.filter((c) => c.type === 'part');

/** Signatures (partition tables, file systems, LUKS headers, RAID...) on the device and its partitions. */
export async function signaturesOn(disk: BlockNode): Promise<Signature[]> {
  const found: Signature[] = [];
  for (const node of [disk, ...partitionsOf(disk)]) {
    const text = await programOutput('wipefs', ['--json', node.path]);
    // wipefs prints nothing at all (not an empty list) for a device with no signature.
    if (text.trim() === '') continue;
    const list = JSON.parse(text) as { signatures: Signature[] };
    found.push(...list.signatures);
  }
  return found;
}

/** The names fstab and crypttab may use for a node: UUID=, LABEL=, PARTUUID=, PARTLABEL=, as `KEY=value`. */
export async function idsOf(node: BlockNode): Promise<string[]> {
  const text = await programOutput('blkid', ['--probe', '--output', 'export', node.path]).catch(() => '');
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.split('=');
    const value = rest.join('=');
    const as = { UUID: 'UUID', LABEL: 'LABEL', PART_ENTRY_UUID: 'PARTUUID', PART_ENTRY_NAME: 'PARTLABEL' }[key ?? ''];
    if (as && value) ids.push(`${as}=${value}`);
  }
  return ids;
}

/** Kernel holders of a node (/sys/class/block/NAME/holders): a mapping or array using it, open or not. */
export async function holdersOf(node: BlockNode): Promise<string[]> {
  return readdir(path.join('/sys/class/block', node.name, 'holders')).catch(() => []);
}

/** The one partition on the disk once the kernel has it, re-read with `partx -u` (a loop device without udev). */
export async function waitForPartition(disk: string, tries = 50): Promise<BlockNode> {
  for (let i = 0; i < tries; i++) {
    // On a disk the kernel re-reads the table when sfdisk asks; a loop device may need partx to add it.
    await programOutput('partx', ['--update', disk]).catch(() => undefined);
    const [part] = partitionsOf(await probeBlockDevice(disk));
    if (part && (await exists(part.path))) return part;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the new partition on ${disk} did not appear (lsblk ${disk} shows none): unplug the drive and plug it in again`);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isBlockDevice(),
    () => false,
  );
}
