// udisks2 over D-Bus, as far as plugback needs it: a cache of its objects kept current by the ObjectManager
// signals, the LUKS containers in it, the cleartext device of an unlocked one, and Drive.PowerOff.
import { DbusConnection, decodeBytestring, errorName, Variant, variantValue, type Signal } from '../system/dbus.js';

const UDISKS = 'org.freedesktop.UDisks2';
const ROOT = '/org/freedesktop/UDisks2';
const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const BLOCK = 'org.freedesktop.UDisks2.Block';
const ENCRYPTED = 'org.freedesktop.UDisks2.Encrypted';
const DRIVE = 'org.freedesktop.UDisks2.Drive';

type Props = Record<string, unknown>;
type Interfaces = Map<string, Props>;
type ManagedObjects = Record<string, Record<string, Props>>;

/** A block device as plugback cares about it. */
export interface BlockInfo {
  path: string;
  device: string;
  uuid: string;
  idUsage: string;
  idType: string;
  encrypted: boolean;
  /** The udisks2 Drive object the block is on ('/' when none). */
  drive: string;
  /** For a cleartext device: the encrypted block it is the unlocked form of ('/' otherwise). */
  cryptoBackingDevice: string;
}

export interface UdisksListener {
  blockAdded(block: BlockInfo): void;
  blockRemoved(block: BlockInfo): void;
  /** udisks2 came back after a restart and its objects were read again (`error` when that failed). */
  restarted(error?: Error): void;
}

export class UdisksClient {
  private readonly objects = new Map<string, Interfaces>();
  private readonly cleartextWaiters = new Set<() => void>();
  /** Off while the initial GetManagedObjects is read: the caller asks for blocks() once connect() returns. */
  private announcing = false;

  private constructor(
    private readonly dbus: DbusConnection,
    private readonly listener: UdisksListener,
  ) {}

  /**
   * Connects to udisks2 (starting it through D-Bus activation if needed) and reads its objects. Returns
   * undefined when udisks2 is not available on this system, so the caller can fall back to systemd.
   */
  static async connect(dbus: DbusConnection, listener: UdisksListener): Promise<UdisksClient | undefined> {
    const client = new UdisksClient(dbus, listener);
    // Listen first, then read: an object added in between is then seen twice (harmless), never missed.
    await dbus.onSignal({ sender: UDISKS, interface: OBJECT_MANAGER, path: ROOT }, (s) => client.objectManagerSignal(s));
    await dbus.onSignal({ sender: UDISKS, interface: PROPERTIES, member: 'PropertiesChanged', pathNamespace: ROOT }, (s) => client.propertiesChanged(s));
    let managed: ManagedObjects;
    try {
      managed = await client.managedObjects();
    } catch (error) {
      const name = errorName(error);
      if (name === 'org.freedesktop.DBus.Error.ServiceUnknown' || name === 'org.freedesktop.DBus.Error.NameHasNoOwner') return undefined;
      throw error;
    }
    for (const [path, interfaces] of Object.entries(managed)) client.addInterfaces(path, interfaces);
    client.announcing = true;
    // A restarted udisks2 (a package upgrade) says nothing about the disks it finds: read them all again.
    dbus.onOwnerChanged(UDISKS, (owner) => {
      if (owner) void client.readAgain();
    });
    return client;
  }

  /** Every block device udisks2 knows now. */
  blocks(): BlockInfo[] {
    return [...this.objects.keys()].map((path) => this.block(path)).filter((b): b is BlockInfo => b !== undefined);
  }

  /** The cleartext block of an unlocked container, waiting up to `timeoutMs` for udisks2 to announce it. */
  async cleartextOf(encryptedPath: string, timeoutMs: number): Promise<BlockInfo | undefined> {
    const find = () => this.blocks().find((b) => b.cryptoBackingDevice === encryptedPath);
    const found = find();
    if (found || timeoutMs <= 0) return found;
    return new Promise((resolve) => {
      const check = () => {
        const block = find();
        if (block) done(block);
      };
      const done = (block: BlockInfo | undefined) => {
        clearTimeout(timer);
        this.cleartextWaiters.delete(check);
        resolve(block);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.cleartextWaiters.add(check);
    });
  }

  /** Whether the drive can be powered off, and its name for messages. */
  driveInfo(drivePath: string): { canPowerOff: boolean; name: string } | undefined {
    const drive = this.objects.get(drivePath)?.get(DRIVE);
    if (!drive) return undefined;
    const text = (key: string) => String(variantValue(drive[key]) ?? '').trim();
    return { canPowerOff: variantValue(drive.CanPowerOff) === true, name: [text('Vendor'), text('Model')].filter(Boolean).join(' ') || drivePath };
  }

  /** Drive.PowerOff: the USB device is deconfigured and its port switched off. */
  async powerOff(drivePath: string, timeoutMs: number): Promise<void> {
    await this.dbus.call(
      { destination: UDISKS, path: drivePath, interface: DRIVE, member: 'PowerOff', signature: 'a{sv}', body: [{ 'auth.no_user_interaction': new Variant('b', true) }] },
      timeoutMs,
    );
  }

  /**
   * Replaces the cache with udisks2's objects now and announces the difference: disks plugged in or pulled out
   * while it was down. A disk present before and after (a drive being backed up) is not news.
   */
  private async readAgain(): Promise<void> {
    let managed: ManagedObjects;
    try {
      managed = await this.managedObjects();
    } catch (error) {
      this.listener.restarted(error as Error);
      return;
    }
    // Taken after the reply, so what signals added meanwhile counts as known.
    const before = new Map(this.blocks().map((b) => [b.path, b]));
    this.objects.clear();
    for (const [path, interfaces] of Object.entries(managed)) {
      this.objects.set(path, new Map(Object.entries(interfaces).map(([name, props]) => [name, { ...props }])));
    }
    const after = new Map(this.blocks().map((b) => [b.path, b]));
    for (const [path, old] of before) {
      if (after.get(path)?.uuid !== old.uuid) this.listener.blockRemoved(old);
    }
    for (const [path, now] of after) {
      const old = before.get(path);
      if (!old || old.uuid !== now.uuid || old.encrypted !== now.encrypted) this.listener.blockAdded(now);
    }
    for (const check of this.cleartextWaiters) check();
    this.listener.restarted();
  }

  /** udisks2's every object with its interfaces and properties (ObjectManager.GetManagedObjects). */
  private async managedObjects(): Promise<ManagedObjects> {
    const [managed] = await this.dbus.call({ destination: UDISKS, path: ROOT, interface: OBJECT_MANAGER, member: 'GetManagedObjects' });
    return managed as ManagedObjects;
  }

  private block(path: string): BlockInfo | undefined {
    const interfaces = this.objects.get(path);
    const block = interfaces?.get(BLOCK);
    if (!interfaces || !block) return undefined;
    const text = (key: string) => String(variantValue(block[key]) ?? '');
    return {
      path,
      device: decodeBytestring(variantValue(block.Device)),
      uuid: text('IdUUID'),
      idUsage: text('IdUsage'),
      idType: text('IdType'),
      encrypted: interfaces.has(ENCRYPTED),
      drive: text('Drive') || '/',
      cryptoBackingDevice: text('CryptoBackingDevice') || '/',
    };
  }

  private objectManagerSignal(signal: Signal): void {
    if (signal.member === 'InterfacesAdded') {
      const [path, interfaces] = signal.body as [string, Record<string, Props>];
      this.addInterfaces(path, interfaces);
    } else if (signal.member === 'InterfacesRemoved') {
      const [path, names] = signal.body as [string, string[]];
      const before = this.block(path);
      const interfaces = this.objects.get(path);
      if (!interfaces) return;
      for (const name of names) interfaces.delete(name);
      if (interfaces.size === 0) this.objects.delete(path);
      if (this.announcing && before && !this.objects.get(path)?.has(BLOCK)) this.listener.blockRemoved(before);
    }
  }

  private addInterfaces(path: string, added: Record<string, Props>): void {
    const before = this.block(path);
    const interfaces = this.objects.get(path) ?? new Map<string, Props>();
    for (const [name, props] of Object.entries(added)) interfaces.set(name, { ...interfaces.get(name), ...props });
    this.objects.set(path, interfaces);
    this.announceIfNew(before, this.block(path));
  }

  private propertiesChanged(signal: Signal): void {
    const [iface, changed] = signal.body as [string, Props];
    const props = this.objects.get(signal.path)?.get(iface);
    if (!props) return;
    const before = this.block(signal.path);
    Object.assign(props, changed);
    this.announceIfNew(before, this.block(signal.path));
  }

  /** A block is announced when it appears, and again when udev's probe fills in its UUID or encryption later. */
  private announceIfNew(before: BlockInfo | undefined, after: BlockInfo | undefined): void {
    if (this.announcing && after && (!before || before.uuid !== after.uuid || before.encrypted !== after.encrypted)) this.listener.blockAdded(after);
    if (after) for (const check of this.cleartextWaiters) check();
  }
}
