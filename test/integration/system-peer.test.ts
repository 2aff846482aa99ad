// The fake udisks2 + systemd1 (test/helpers/system-peer.mjs) is only useful if it behaves like the real ones, so
// this checks it with raw dbus-next, not plugback code: the wire types (ay with its NUL, t as bigint, a{sv} of
// Variants), ObjectManager signals, Subscribe() gating, jobs and their JobRemoved, unit PropertiesChanged.
import dbus, { DBusError, Message, Variant, type MessageBus } from 'dbus-next';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../helpers/private-bus.js';
import {
  cryptsetupUnitName,
  deviceUnitName,
  startSystemPeer,
  udisksBlockPath,
  udisksDrivePath,
  unitObjectPath,
  type SystemPeer,
} from '../helpers/system-peer-client.js';

const { MessageType } = dbus;

const UDISKS = 'org.freedesktop.UDisks2';
const UDISKS_ROOT = '/org/freedesktop/UDisks2';
const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const BLOCK = 'org.freedesktop.UDisks2.Block';
const ENCRYPTED = 'org.freedesktop.UDisks2.Encrypted';
const SYSTEMD = 'org.freedesktop.systemd1';
const SYSTEMD_ROOT = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UUID = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const CRYPT = 'backup-disk';
const CLEARTEXT = '/tmp/plugback-test-cleartext.img';
/** Only so that a broken peer fails the test instead of hanging it. */
const EVENT_TIMEOUT_MS = 10_000;

interface Received {
  path: string;
  interface: string;
  member: string;
  body: unknown[];
}

/** A raw dbus-next connection that records every signal it gets (after match rules are added). */
class RawClient {
  readonly signals: Received[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly bus: MessageBus) {
    bus.on('message', (msg: Message) => {
      if (msg.type !== MessageType.SIGNAL || msg.sender === 'org.freedesktop.DBus') return;
      const body: unknown = msg.body;
      this.signals.push({ path: msg.path, interface: msg.interface, member: msg.member, body: Array.isArray(body) ? (body as unknown[]) : [] });
      for (const wake of this.waiters) wake();
    });
  }

  static async connect(address: string): Promise<RawClient> {
    const bus = dbus.sessionBus({ busAddress: address });
    await new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve());
      bus.once('error', (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))));
    });
    bus.on('error', () => undefined);
    return new RawClient(bus);
  }

  async call(destination: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    const reply = await this.bus.call(new Message({ type: MessageType.METHOD_CALL, destination, path, interface: iface, member, signature, body }));
    const replyBody: unknown = reply?.body;
    return Array.isArray(replyBody) ? (replyBody as unknown[]) : [];
  }

  async listen(rule: string): Promise<void> {
    await this.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [rule]);
  }

  systemd(member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    return this.call(SYSTEMD, SYSTEMD_ROOT, MANAGER, member, signature, body);
  }

  async property(destination: string, path: string, iface: string, name: string): Promise<unknown> {
    const [value] = await this.call(destination, path, PROPERTIES, 'Get', 'ss', [iface, name]);
    return value instanceof Variant ? value.value : value;
  }

  /**
   * A round trip to the peer. Its messages reach us in the order it sent them, so once the reply is here, every
   * signal it sent before has been delivered to this connection.
   */
  async barrier(): Promise<void> {
    await this.call(SYSTEMD, SYSTEMD_ROOT, 'org.freedesktop.DBus.Peer', 'Ping');
  }

  /** The first signal (already received or still to come) that matches. */
  waitFor(what: string, match: (s: Received) => boolean): Promise<Received> {
    const found = this.signals.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${what} within ${EVENT_TIMEOUT_MS} ms; got ${this.signals.map((s) => `${s.member}@${s.path}`).join(', ')}`));
      }, EVENT_TIMEOUT_MS);
      const check = () => {
        const s = this.signals.find(match);
        if (!s) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(s);
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.bus.disconnect();
  }
}

const variantValue = (v: unknown): unknown => (v instanceof Variant ? v.value : v);
const record = (v: unknown): Record<string, unknown> => {
  if (!v || typeof v !== 'object') throw new Error(`not an object: ${String(v)}`);
  return v as Record<string, unknown>;
};
const jobRemoved = (s: Received, job: unknown): boolean => s.member === 'JobRemoved' && s.interface === MANAGER && s.body[1] === job;
const activeStateChange = (unitPath: string, state: string) => (s: Received): boolean =>
  s.path === unitPath && s.member === 'PropertiesChanged' && s.body[0] === 'org.freedesktop.systemd1.Unit' && variantValue(record(s.body[1]).ActiveState) === state;

let bus: PrivateBus | undefined;
let peer: SystemPeer | undefined;
let client: RawClient | undefined;

async function setup(): Promise<{ peer: SystemPeer; client: RawClient }> {
  bus = await startPrivateBus();
  peer = await startSystemPeer(bus);
  client = await RawClient.connect(bus.address);
  await client.listen(`type='signal',sender='${UDISKS}'`);
  await client.listen(`type='signal',sender='${SYSTEMD}'`);
  return { peer, client };
}

/** A LUKS disk `sdb` with a crypttab entry, plugged, with this client subscribed to systemd. */
async function pluggedLuksDisk(p: SystemPeer, c: RawClient, canPowerOff = false): Promise<void> {
  await p.addDisk('sdb', UUID, true, CLEARTEXT, canPowerOff);
  await p.setCrypttab(CRYPT, UUID);
  await c.systemd('Subscribe');
  await p.plug('sdb');
}

beforeEach(async () => {
  await setup();
});

afterEach(async () => {
  client?.close();
  await peer?.stop();
  await bus?.stop();
  client = undefined;
  peer = undefined;
  bus = undefined;
});

describe('system peer', () => {
  it('serves udisks2 objects with the real wire types (ay with NUL, t as bigint, a{sv} of Variants)', async () => {
    const p = peer!;
    const c = client!;
    await p.addDisk('sdb', UUID, true, CLEARTEXT, true);
    await p.plug('sdb');
    const [managed] = await c.call(UDISKS, UDISKS_ROOT, OBJECT_MANAGER, 'GetManagedObjects');
    const block = record(record(record(managed)[udisksBlockPath('sdb')])[BLOCK]);
    const device = block.Device;
    expect(device).toBeInstanceOf(Variant);
    expect((device as Variant).signature).toBe('ay');
    const bytes: unknown = variantValue(device);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect((bytes as Buffer).at(-1)).toBe(0);
    expect((bytes as Buffer).subarray(0, -1).toString()).toBe('/dev/sdb1');
    expect(typeof variantValue(block.Size)).toBe('bigint');
    expect(variantValue(block.IdUUID)).toBe(UUID);
    expect(variantValue(block.Drive)).toBe(udisksDrivePath('sdb'));
    const symlinks = variantValue(block.Symlinks);
    expect(Array.isArray(symlinks) && symlinks.map((b: unknown) => (Buffer.isBuffer(b) ? b.toString() : b))).toEqual([`/dev/disk/by-uuid/${UUID}\0`]);
    const drive = record(record(record(managed)[udisksDrivePath('sdb')])['org.freedesktop.UDisks2.Drive']);
    expect(variantValue(drive.CanPowerOff)).toBe(true);
    expect(typeof variantValue(drive.Size)).toBe('bigint');
    expect(await c.property(UDISKS, `${UDISKS_ROOT}/Manager`, 'org.freedesktop.UDisks2.Manager', 'Version')).toBe('2.9.4');
  });

  it('announces a plugged LUKS disk with InterfacesAdded carrying Block and Encrypted', async () => {
    const p = peer!;
    const c = client!;
    await p.addDisk('sdb', UUID, true, CLEARTEXT);
    await p.plug('sdb');
    const added = await c.waitFor('InterfacesAdded of the LUKS block', (s) => s.member === 'InterfacesAdded' && s.body[0] === udisksBlockPath('sdb'));
    expect(added.path).toBe(UDISKS_ROOT);
    const ifaces = record(added.body[1]);
    expect(Object.keys(ifaces).sort()).toEqual([BLOCK, ENCRYPTED]);
    expect(variantValue(record(ifaces[BLOCK]).IdType)).toBe('crypto_LUKS');
    expect(variantValue(record(ifaces[ENCRYPTED]).CleartextDevice)).toBe('/');
  });

  it('sends systemd signals only once a client has subscribed', async () => {
    const p = peer!;
    const c = client!;
    await p.addDisk('sdb', UUID, true, CLEARTEXT);
    await p.plug('sdb');
    await c.barrier();
    expect(c.signals.filter((s) => s.interface === MANAGER || s.path.startsWith(`${SYSTEMD_ROOT}/`))).toEqual([]);
    expect(await p.activeState(deviceUnitName(UUID))).toBe('active');

    await c.systemd('Subscribe');
    await p.unplug('sdb');
    await c.waitFor('device unit going inactive', activeStateChange(unitObjectPath(deviceUnitName(UUID)), 'inactive'));
  });

  it('starts the cryptsetup unit: JobRemoved "done" for the returned job, and the cleartext block appears', async () => {
    const p = peer!;
    const c = client!;
    await pluggedLuksDisk(p, c);
    const [job] = await c.systemd('StartUnit', 'ss', [cryptsetupUnitName(CRYPT), 'replace']);
    expect(job).toMatch(/^\/org\/freedesktop\/systemd1\/job\/\d+$/);
    const removed = await c.waitFor('JobRemoved', (s) => jobRemoved(s, job));
    expect(removed.body).toEqual([expect.any(Number), job, cryptsetupUnitName(CRYPT), 'done']);

    const added = await c.waitFor('cleartext InterfacesAdded', (s) => s.member === 'InterfacesAdded' && String(s.body[0]).startsWith(`${UDISKS_ROOT}/block_devices/dm_2d`));
    const block = record(record(added.body[1])[BLOCK]);
    expect(variantValue(block.CryptoBackingDevice)).toBe(udisksBlockPath('sdb'));
    expect(String(variantValue(block.Device))).toBe(`${CLEARTEXT}\0`);
    expect(await c.property(UDISKS, udisksBlockPath('sdb'), ENCRYPTED, 'CleartextDevice')).toBe(added.body[0]);
    const [unitPath] = await c.systemd('GetUnit', 's', [cryptsetupUnitName(CRYPT)]);
    expect(unitPath).toBe(unitObjectPath(cryptsetupUnitName(CRYPT)));
    expect(await c.property(SYSTEMD, String(unitPath), 'org.freedesktop.systemd1.Unit', 'ActiveState')).toBe('active');
    expect((await p.calls()).filter((call) => call.member === 'StartUnit')).toEqual([
      { iface: MANAGER, member: 'StartUnit', path: SYSTEMD_ROOT, args: [cryptsetupUnitName(CRYPT), 'replace'] },
    ]);

    // Stopped from outside (the control interface): the same signals, and not in the call log.
    expect(await p.stopUnit(cryptsetupUnitName(CRYPT))).toBe('done');
    await c.waitFor('cleartext InterfacesRemoved', (s) => s.member === 'InterfacesRemoved' && s.body[0] === added.body[0]);
    await c.waitFor('cryptsetup unit inactive', activeStateChange(String(unitPath), 'inactive'));
    expect(await p.startUnit(cryptsetupUnitName(CRYPT))).toBe('done');
    expect(await p.activeState(cryptsetupUnitName(CRYPT))).toBe('active');
    expect((await p.calls()).filter((call) => call.member === 'StartUnit' || call.member === 'StopUnit')).toHaveLength(1);
  });

  it('fails the start job when the unlock fails, and can send JobRemoved before the StartUnit reply', async () => {
    const p = peer!;
    const c = client!;
    await pluggedLuksDisk(p, c);
    await p.setUnlockResult(CRYPT, 'failed');
    await p.setJobRemovedBeforeReply(true);
    const [job] = await c.systemd('StartUnit', 'ss', [cryptsetupUnitName(CRYPT), 'replace']);
    // Already here: it was sent before the reply, on the same connection.
    const removed = c.signals.find((s) => jobRemoved(s, job));
    expect(removed?.body[3]).toBe('failed');
    expect(await p.activeState(cryptsetupUnitName(CRYPT))).toBe('failed');
    expect(c.signals.some((s) => s.member === 'InterfacesAdded' && String(s.body[0]).includes('dm_2d'))).toBe(false);
  });

  it('answers NoSuchUnit for a cryptsetup unit without a crypttab entry', async () => {
    const c = client!;
    const name = cryptsetupUnitName('not-in-crypttab');
    const error = await c.systemd('StartUnit', 'ss', [name, 'replace']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DBusError);
    expect((error as DBusError).type).toBe('org.freedesktop.systemd1.NoSuchUnit');
    expect((error as DBusError).text).toBe(`Unit ${name} not found.`);
    const [path] = await c.systemd('LoadUnit', 's', [name]);
    expect(await c.property(SYSTEMD, String(path), 'org.freedesktop.systemd1.Unit', 'LoadState')).toBe('not-found');
  });

  it('on unplug removes the objects, deactivates the device unit and (BindsTo) stops the cryptsetup unit', async () => {
    const p = peer!;
    const c = client!;
    await pluggedLuksDisk(p, c);
    const [job] = await c.systemd('StartUnit', 'ss', [cryptsetupUnitName(CRYPT), 'replace']);
    await c.waitFor('JobRemoved', (s) => jobRemoved(s, job));
    await p.unplug('sdb');
    const removed = (path: string) => (s: Received) => s.member === 'InterfacesRemoved' && s.body[0] === path;
    await c.waitFor('InterfacesRemoved of the LUKS block', removed(udisksBlockPath('sdb')));
    await c.waitFor('InterfacesRemoved of the drive', removed(udisksDrivePath('sdb')));
    await c.waitFor('InterfacesRemoved of the cleartext block', (s) => s.member === 'InterfacesRemoved' && String(s.body[0]).includes('dm_2d'));
    await c.waitFor('device unit inactive', activeStateChange(unitObjectPath(deviceUnitName(UUID)), 'inactive'));
    await c.waitFor('cryptsetup unit inactive', activeStateChange(unitObjectPath(cryptsetupUnitName(CRYPT)), 'inactive'));
    const order = c.signals.filter((s) => s.member === 'InterfacesRemoved').map((s) => String(s.body[0]));
    expect(order.slice(1)).toEqual([udisksBlockPath('sdb'), udisksDrivePath('sdb')]);
  });

  it('powers off a drive that can be powered off (it disappears) and refuses one that cannot', async () => {
    const p = peer!;
    const c = client!;
    await pluggedLuksDisk(p, c, true);
    await p.addDisk('sdc', 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', false);
    await p.plug('sdc');
    const options = { 'auth.no_user_interaction': new Variant('b', true) };

    const refused = await c.call(UDISKS, udisksDrivePath('sdc'), 'org.freedesktop.UDisks2.Drive', 'PowerOff', 'a{sv}', [options]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DBusError);
    expect((refused as DBusError).type).toBe('org.freedesktop.UDisks2.Error.Failed');

    await c.call(UDISKS, udisksDrivePath('sdb'), 'org.freedesktop.UDisks2.Drive', 'PowerOff', 'a{sv}', [options]);
    await c.waitFor('InterfacesRemoved of the drive', (s) => s.member === 'InterfacesRemoved' && s.body[0] === udisksDrivePath('sdb'));
    await c.waitFor('device unit inactive', activeStateChange(unitObjectPath(deviceUnitName(UUID)), 'inactive'));
    const [managed] = await c.call(UDISKS, UDISKS_ROOT, OBJECT_MANAGER, 'GetManagedObjects');
    expect(Object.keys(record(managed)).sort()).toEqual([udisksBlockPath('sdc'), udisksDrivePath('sdc')]);
    const powerOffs = (await p.calls()).filter((call) => call.member === 'PowerOff');
    expect(powerOffs.map((call) => [call.path, call.args])).toEqual([
      [udisksDrivePath('sdc'), [{ 'auth.no_user_interaction': true }]],
      [udisksDrivePath('sdb'), [{ 'auth.no_user_interaction': true }]],
    ]);
  });
});
