// The kernel's view of a drive's device: a real block device (a loop device the kernel adds and removes through
// /dev/loop-control, as it adds and removes a USB disk's) seen while it is there, and seen gone the moment it is
// removed, with no udisks2 in between.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { devicePresence, settleRemoval, sightDevice } from '../../src/drives/device-presence.js';

const execFileP = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo().catch(() => undefined);
});

/** LOOP_CTL_ADD / LOOP_CTL_REMOVE (linux/loop.h) on /dev/loop-control: the kernel creates or deletes /dev/loop<n>. */
async function loopControl(request: 'add' | 'remove', index: number): Promise<void> {
  const code = request === 'add' ? '0x4C80' : '0x4C81';
  await execFileP('python3', ['-c', `import fcntl, os; fcntl.ioctl(os.open('/dev/loop-control', os.O_RDWR), ${code}, ${index})`]);
}

/** A new loop device at a free index in a high range (other loop users take the lowest); returns its node. */
async function newBlockDevice(): Promise<{ node: string; index: number }> {
  for (let index = 200 + (process.pid % 40); index < 256; index++) {
    const added = await loopControl('add', index).then(() => true, () => false);
    if (!added) continue;
    cleanups.push(() => loopControl('remove', index));
    return { node: `/dev/loop${index}`, index };
  }
  throw new Error('no free loop device index from 200 to 255');
}

describe('device presence by the kernel', () => {
  it('sees a block device while it is there and says "gone" once it is removed', async () => {
    const { node, index } = await newBlockDevice();
    const sighting = await sightDevice(randomUUID(), [node], undefined);
    expect(sighting.sysfs).toBe(`/sys/dev/block/7:${index}`);
    expect(await fs.readFile(`${sighting.sysfs as string}/uevent`, 'utf8')).toContain(`DEVNAME=loop${index}\n`);
    const presence = devicePresence(sighting, undefined);
    expect(await presence.gone()).toBe(false);
    // No news comes (as when udisks2 is late): the device itself says it is gone.
    const news = new Promise((resolve) => setTimeout(resolve, 60_000));
    const settled = settleRemoval(presence, news);
    await loopControl('remove', index);
    expect(await settled).toBe(true);
    expect(await presence.gone()).toBe(true);
  });

  it('says nothing is gone for a device it never saw (no node, no unit): only a view that saw it can', async () => {
    const sighting = await sightDevice(randomUUID(), ['/dev/plugback-no-such-disk1'], undefined);
    expect(sighting).toEqual({});
    expect(await devicePresence(sighting, undefined).gone()).toBe(false);
    expect(await settleRemoval(devicePresence(sighting, undefined), Promise.resolve())).toBe(false);
  });
});
