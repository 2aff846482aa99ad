// A fake udisks2 + systemd1 for integration tests, run as its own process on a private bus:
//   node test/helpers/system-peer.mjs --address <bus address> [--no-udisks]
// It owns org.freedesktop.UDisks2 (unless --no-udisks), org.freedesktop.systemd1 and org.plugback.Test.Peer,
// speaks their real interfaces with the real signatures and types (platform-facts §2 and §3), and is driven by
// the tests through org.plugback.Test.Peer at /org/plugback/Test/Peer. It prints `ready` on stdout once it owns
// its names, and nothing else there. It exits on SIGTERM, or when its stdin closes (the test process died).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import dbus from 'dbus-next';

const {
  Variant,
  DBusError,
  MessageType,
  Message,
  interface: { Interface },
} = dbus;

// ---------------------------------------------------------------------------------------------------------
// Arguments and logging

const argv = process.argv.slice(2);
const addressIndex = argv.indexOf('--address');
const address = addressIndex >= 0 ? argv[addressIndex + 1] : undefined;
if (!address) {
  process.stderr.write('usage: system-peer.mjs --address <bus address> [--no-udisks]\n');
  process.exit(2);
}
const withUdisks = !argv.includes('--no-udisks');
const DEBUG = Boolean(process.env.PLUGBACK_PEER_DEBUG);
const debug = (...parts) => {
  if (DEBUG) process.stderr.write(`[system-peer] ${parts.join(' ')}\n`);
};

const UDISKS = 'org.freedesktop.UDisks2';
const UDISKS_ROOT = '/org/freedesktop/UDisks2';
const SYSTEMD = 'org.freedesktop.systemd1';
const SYSTEMD_ROOT = '/org/freedesktop/systemd1';
const CONTROL = 'org.plugback.Test.Peer';
const CONTROL_PATH = '/org/plugback/Test/Peer';
/** What plugback-smart@.service runs: this checkout's CLI. */
const PLUGBACK_MAIN = new URL('../../dist/main.js', import.meta.url).pathname;
/** After the reply, by default, a job completes this much later. */
const JOB_DELAY_MS = 20;

// ---------------------------------------------------------------------------------------------------------
// Escaping (platform-facts §3 and §4)

/** systemd `unit_name_escape`: leading `.` → \x2e, `/` → `-`, bytes outside [0-9A-Za-z:_.] → \xNN. */
function unitNameEscape(s) {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const c = String.fromCharCode(b);
    if (i === 0 && c === '.') out += '\\x2e';
    else if (c === '/') out += '-';
    else if (b < 128 && /[0-9A-Za-z:_.]/.test(c)) out += c;
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** systemd `unit_name_path_escape` for normalized absolute paths. */
function unitNamePathEscape(p) {
  const parts = p.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0) return '-';
  return unitNameEscape(parts.join('/'));
}

/** systemd `bus_label_escape`: every byte but [A-Za-z], and [0-9] when not first, → `_xx`. */
function busLabelEscape(s) {
  if (s === '') return '_';
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const c = String.fromCharCode(b);
    if (b < 128 && (/[A-Za-z]/.test(c) || (i > 0 && /[0-9]/.test(c)))) out += c;
    else out += `_${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const deviceUnitName = (uuid) => `${unitNamePathEscape(`/dev/disk/by-uuid/${uuid}`)}.device`;
const cryptsetupUnitName = (cryptName) => `systemd-cryptsetup@${unitNameEscape(cryptName)}.service`;
const unitPath = (name) => `${SYSTEMD_ROOT}/unit/${busLabelEscape(name)}`;
const mountUnitName = (where) => `${unitNamePathEscape(where)}.mount`;
/** systemd `unit_name_path_unescape`: "-" → "/", \xNN → the byte, with the leading "/". */
function unitNamePathUnescape(instance) {
  const text = instance.replace(/-/g, '/').replace(/\\x([0-9a-f]{2})/g, (_m, hex) => String.fromCharCode(parseInt(hex, 16)));
  return `/${text}`;
}
/** A byte string the way udisks sends it: with the trailing NUL. */
const bytestring = (s) => Buffer.from(`${s}\0`, 'utf8');

// ---------------------------------------------------------------------------------------------------------
// Service interfaces, declared from data: read-only properties backed by `$values`, methods, signals.

/**
 * A dbus-next Interface subclass for `name`. `properties` maps each property to its D-Bus signature; `methods`
 * maps each method to `{ in, out, fn }`; `signals` maps each signal to its signature. Calling a signal method
 * with the signal's arguments emits it.
 */
function defineInterface(name, { properties = {}, methods = {}, signals = {} }) {
  class Iface extends Interface {
    constructor(values = {}) {
      super(name);
      this.$values = { ...values };
    }
  }
  for (const prop of Object.keys(properties)) {
    Object.defineProperty(Iface.prototype, prop, {
      get() {
        return this.$values[prop];
      },
      configurable: true,
    });
  }
  for (const [method, spec] of Object.entries(methods)) Iface.prototype[method] = spec.fn;
  for (const [signal, signature] of Object.entries(signals)) {
    // dbus-next wants one value for a one-argument signal and an array otherwise.
    const count = countArgs(signature);
    Iface.prototype[signal] = function (...args) {
      return count === 1 ? args[0] : args;
    };
  }
  Iface.configureMembers({
    properties: Object.fromEntries(Object.entries(properties).map(([k, signature]) => [k, { signature, access: 'read' }])),
    methods: Object.fromEntries(Object.entries(methods).map(([k, spec]) => [k, { inSignature: spec.in ?? '', outSignature: spec.out ?? '' }])),
    signals: Object.fromEntries(Object.entries(signals).map(([k, signature]) => [k, { signature }])),
  });
  return Iface;
}

/** The number of complete types in a signature. */
function countArgs(signature) {
  let count = 0;
  let i = 0;
  const skip = () => {
    const c = signature[i++];
    if (c === 'a') skip();
    else if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (signature[i] !== close) skip();
      i++;
    }
  };
  while (i < signature.length) {
    skip();
    count++;
  }
  return count;
}

/** Sets properties and emits PropertiesChanged (changed values, nothing invalidated) if `emit`. */
function setProps(iface, changes, emit = true) {
  const changed = {};
  for (const [k, v] of Object.entries(changes)) {
    if (iface.$values[k] !== v) changed[k] = v;
    iface.$values[k] = v;
  }
  if (emit && Object.keys(changed).length > 0) Interface.emitPropertiesChanged(iface, changed, []);
}

/** `a{sv}` of an exported interface, each value a Variant with the property's declared signature. */
function propsOf(iface) {
  const out = {};
  for (const [key, options] of Object.entries(iface.$properties ?? {})) out[options.name] = new Variant(options.signature, iface[key]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The method call being handled (dbus-next does not pass it to service methods) and the call log.

/** @type {import('dbus-next').Message | undefined} */
let currentCall;
const calls = [];

function jsonSafe(value) {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) {
    const end = value.indexOf(0);
    return value.subarray(0, end === -1 ? value.length : end).toString('utf8');
  }
  if (value instanceof Variant) return jsonSafe(value.value);
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

function dbusError(name, text) {
  return new DBusError(name, text);
}

// ---------------------------------------------------------------------------------------------------------
// udisks2 interfaces

const ObjectManagerIface = defineInterface('org.freedesktop.DBus.ObjectManager', {
  methods: {
    GetManagedObjects: {
      out: 'a{oa{sa{sv}}}',
      fn() {
        const out = {};
        for (const [path, ifaces] of udisksObjects) out[path] = interfacesOf(ifaces);
        return out;
      },
    },
  },
  signals: { InterfacesAdded: 'oa{sa{sv}}', InterfacesRemoved: 'oas' },
});

const UdisksManagerIface = defineInterface('org.freedesktop.UDisks2.Manager', {
  properties: { Version: 's', SupportedFilesystems: 'as' },
});

const DriveIface = defineInterface('org.freedesktop.UDisks2.Drive', {
  properties: {
    Vendor: 's',
    Model: 's',
    Revision: 's',
    Serial: 's',
    WWN: 's',
    Id: 's',
    Media: 's',
    MediaRemovable: 'b',
    MediaAvailable: 'b',
    Size: 't',
    ConnectionBus: 's',
    Seat: 's',
    Removable: 'b',
    Ejectable: 'b',
    CanPowerOff: 'b',
    SiblingId: 's',
  },
  methods: {
    PowerOff: {
      in: 'a{sv}',
      fn() {
        const disk = this.$disk;
        if (!this.$values.CanPowerOff) {
          throw dbusError('org.freedesktop.UDisks2.Error.Failed', `Error powering off drive ${disk.id}: the drive cannot be powered off`);
        }
        if (!disk.plugged) throw dbusError('org.freedesktop.UDisks2.Error.Failed', `Error powering off drive ${disk.id}: no such device`);
        // As a USB disk often does: the reply first, then the kernel removes the device. With
        // powerOffRemovesFirst, udisks2 tells of the removal before its reply, as seen in the Debian guest.
        if (powerOffRemovesFirst) {
          unplug(disk);
          return new Promise((resolve) => setTimeout(resolve, JOB_DELAY_MS));
        }
        setTimeout(() => {
          if (disk.plugged) unplug(disk);
        }, JOB_DELAY_MS);
      },
    },
  },
});

const BLOCK_PROPERTIES = {
  Device: 'ay',
  PreferredDevice: 'ay',
  Symlinks: 'aay',
  DeviceNumber: 't',
  Id: 's',
  Size: 't',
  ReadOnly: 'b',
  Drive: 'o',
  MDRaid: 'o',
  MDRaidMember: 'o',
  IdUsage: 's',
  IdType: 's',
  IdVersion: 's',
  IdLabel: 's',
  IdUUID: 's',
  Configuration: 'a(sa{sv})',
  CryptoBackingDevice: 'o',
  HintPartitionable: 'b',
  HintSystem: 'b',
  HintIgnore: 'b',
  HintAuto: 'b',
  HintName: 's',
  HintIconName: 's',
  HintSymbolicIconName: 's',
  UserspaceMountOptions: 'as',
};
const BlockIface = defineInterface('org.freedesktop.UDisks2.Block', { properties: BLOCK_PROPERTIES });
const EncryptedIface = defineInterface('org.freedesktop.UDisks2.Encrypted', {
  properties: { CleartextDevice: 'o', HintEncryptionType: 's', MetadataSize: 't', ChildConfiguration: 'a(sa{sv})' },
});
const FilesystemIface = defineInterface('org.freedesktop.UDisks2.Filesystem', {
  properties: { MountPoints: 'aay', Size: 't' },
});

/** path → Map(interface name → Interface instance), for the objects under the ObjectManager. */
const udisksObjects = new Map();
/** While udisks2 is "restarting" (RestartUdisks) its objects change silently: a stopped daemon says nothing. */
let udisksDown = false;

function interfacesOf(ifaces) {
  const out = {};
  for (const [name, iface] of ifaces) out[name] = propsOf(iface);
  return out;
}

function addUdisksObject(path, ifaceList) {
  const ifaces = new Map(ifaceList.map((iface) => [iface.$name, iface]));
  udisksObjects.set(path, ifaces);
  for (const iface of ifaceList) bus.export(path, iface);
  if (!udisksDown) objectManager.InterfacesAdded(path, interfacesOf(ifaces));
}

function removeUdisksObject(path) {
  const ifaces = udisksObjects.get(path);
  if (!ifaces) return;
  udisksObjects.delete(path);
  // unexport(path) with no interface drops the whole object (dbus-next's unexport(path, iface) does too).
  bus.unexport(path);
  if (!udisksDown) objectManager.InterfacesRemoved(path, [...ifaces.keys()]);
}

// ---------------------------------------------------------------------------------------------------------
// Disks

/** id → disk */
const disks = new Map();
/** cryptName → uuid of the disk it is bound to */
const crypttab = new Map();
/** cryptName → 'done' | 'failed' | 'timeout' */
const unlockResults = new Map();
/** mount unit name → { where, cryptName }: the drives' .mount units `plugback install` writes (What=/dev/mapper/<cryptName>). */
const mountUnits = new Map();
let jobRemovedBeforeReply = false;
/** When on, PowerOff removes the disk (with its signals) before it replies. */
let powerOffRemovesFirst = false;
let nextDiskIndex = 0;
let nextDm = 0;

const GiB = 1024n * 1024n * 1024n;
const LUKS_HEADER = 16n * 1024n * 1024n;

function newUuid() {
  return globalThis.crypto.randomUUID();
}

const drivePath = (disk) => `${UDISKS_ROOT}/drives/${disk.id}`;
const blockPath = (disk) => `${UDISKS_ROOT}/block_devices/${disk.id}1`;
const diskByUuid = (uuid) => [...disks.values()].find((d) => d.uuid === uuid);

function plug(disk) {
  if (disk.plugged) return;
  disk.plugged = true;
  if (withUdisks) {
    const drive = new DriveIface({
      Vendor: 'Generic',
      Model: 'Flash Disk',
      Revision: '8.07',
      Serial: `PB${disk.id.toUpperCase()}`,
      WWN: '',
      Id: `Generic-Flash-Disk-PB${disk.id.toUpperCase()}`,
      Media: '',
      MediaRemovable: false,
      MediaAvailable: true,
      Size: disk.size,
      ConnectionBus: 'usb',
      Seat: 'seat0',
      Removable: true,
      Ejectable: false,
      CanPowerOff: disk.canPowerOff,
      SiblingId: '',
    });
    drive.$disk = disk;
    addUdisksObject(drivePath(disk), [drive]);

    const common = {
      Device: bytestring(`/dev/${disk.id}1`),
      PreferredDevice: bytestring(`/dev/${disk.id}1`),
      Symlinks: [bytestring(`/dev/disk/by-uuid/${disk.uuid}`)],
      DeviceNumber: BigInt(8 * 256 + ((16 * disk.index + 1) % 256)),
      Id: `by-uuid-${disk.uuid}`,
      Size: disk.size - 1024n * 1024n,
      ReadOnly: false,
      Drive: drivePath(disk),
      MDRaid: '/',
      MDRaidMember: '/',
      IdLabel: '',
      IdUUID: disk.uuid,
      Configuration: [],
      CryptoBackingDevice: '/',
      HintPartitionable: true,
      HintSystem: false,
      HintIgnore: false,
      HintAuto: true,
      HintName: '',
      HintIconName: '',
      HintSymbolicIconName: '',
      UserspaceMountOptions: [],
    };
    if (disk.luks) {
      const block = new BlockIface({ ...common, IdUsage: 'crypto', IdType: 'crypto_LUKS', IdVersion: '2' });
      const encrypted = new EncryptedIface({ CleartextDevice: '/', HintEncryptionType: 'luks2', MetadataSize: LUKS_HEADER, ChildConfiguration: [] });
      disk.encrypted = encrypted;
      addUdisksObject(blockPath(disk), [block, encrypted]);
    } else {
      const block = new BlockIface({ ...common, IdUsage: 'filesystem', IdType: 'ext4', IdVersion: '1.0' });
      const filesystem = new FilesystemIface({ MountPoints: [], Size: 0n });
      addUdisksObject(blockPath(disk), [block, filesystem]);
    }
  }
  const name = deviceUnitName(disk.uuid);
  const unit = loadUnit(name);
  setUnitState(unit, 'active', 'plugged');
  // Start jobs waiting for the device finish now.
  if (unit.job && unit.job.type === 'start') finishJob(unit.job, 'done');
}

/** `udisksDelayMs`: udisks2 tells of it that much later than systemd does, as the real one can (about 1 s after the kernel). */
function unplug(disk, udisksDelayMs = 0) {
  if (!disk.plugged) return;
  disk.plugged = false;
  if (withUdisks) {
    const objects = [disk.cleartext?.path, blockPath(disk), drivePath(disk)].filter(Boolean);
    const remove = () => objects.forEach((path) => removeUdisksObject(path));
    if (udisksDelayMs > 0) setTimeout(remove, udisksDelayMs);
    else remove();
  }
  disk.cleartext = undefined;
  disk.encrypted = undefined;
  const device = units.get(deviceUnitName(disk.uuid));
  if (device) setUnitState(device, 'inactive', 'dead');
  // BindsTo=: every cryptsetup unit on this disk that is up goes down, through a stop job.
  for (const [cryptName, uuid] of crypttab) {
    if (uuid !== disk.uuid) continue;
    const unit = units.get(cryptsetupUnitName(cryptName));
    if (!unit || !['active', 'activating', 'reloading'].includes(unit.iface.$values.ActiveState)) continue;
    if (unit.job) finishJob(unit.job, 'canceled');
    const job = newJob(unit, 'stop');
    announceJob(job);
    runStop(unit, job);
  }
}

function addCleartext(disk, cryptName) {
  if (!withUdisks || disk.cleartext || !disk.plugged) return;
  const n = nextDm++;
  const path = `${UDISKS_ROOT}/block_devices/dm_2d${n}`;
  const block = new BlockIface({
    Device: bytestring(disk.cleartextPath),
    PreferredDevice: bytestring(`/dev/mapper/${cryptName}`),
    Symlinks: [bytestring(`/dev/disk/by-id/dm-name-${cryptName}`), bytestring(`/dev/disk/by-uuid/${disk.cleartextUuid}`), bytestring(`/dev/mapper/${cryptName}`)],
    DeviceNumber: BigInt(254 * 256 + n),
    Id: `by-id-dm-name-${cryptName}`,
    Size: disk.size - 1024n * 1024n - LUKS_HEADER,
    ReadOnly: false,
    Drive: '/',
    MDRaid: '/',
    MDRaidMember: '/',
    IdUsage: 'filesystem',
    IdType: 'ext4',
    IdVersion: '1.0',
    IdLabel: '',
    IdUUID: disk.cleartextUuid,
    Configuration: [],
    CryptoBackingDevice: blockPath(disk),
    HintPartitionable: false,
    HintSystem: false,
    HintIgnore: false,
    HintAuto: true,
    HintName: '',
    HintIconName: '',
    HintSymbolicIconName: '',
    UserspaceMountOptions: [],
  });
  const filesystem = new FilesystemIface({ MountPoints: [], Size: 0n });
  disk.cleartext = { path, cryptName };
  addUdisksObject(path, [block, filesystem]);
  if (disk.encrypted) setProps(disk.encrypted, { CleartextDevice: path });
}

function removeCleartext(disk) {
  if (!disk.cleartext) return;
  removeUdisksObject(disk.cleartext.path);
  disk.cleartext = undefined;
  if (disk.encrypted) setProps(disk.encrypted, { CleartextDevice: '/' });
}

// ---------------------------------------------------------------------------------------------------------
// systemd1

const ManagerIface = defineInterface('org.freedesktop.systemd1.Manager', {
  properties: { Version: 's' },
  methods: {
    Subscribe: {
      fn() {
        const sender = currentCall?.sender;
        if (subscribers.has(sender)) throw dbusError('org.freedesktop.systemd1.AlreadySubscribed', 'Client is already subscribed.');
        subscribers.add(sender);
      },
    },
    Unsubscribe: {
      fn() {
        const sender = currentCall?.sender;
        if (!subscribers.delete(sender)) throw dbusError('org.freedesktop.systemd1.NotSubscribed', 'Client is not subscribed.');
      },
    },
    Reload: { fn() {} },
    GetUnit: {
      in: 's',
      out: 'o',
      fn(name) {
        const unit = units.get(name);
        if (!unit) throw dbusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
        return unit.path;
      },
    },
    LoadUnit: {
      in: 's',
      out: 'o',
      fn(name) {
        return loadUnit(validUnitName(name)).path;
      },
    },
    StartUnit: {
      in: 'ss',
      out: 'o',
      fn(name, mode) {
        return queueJob(name, mode, 'start');
      },
    },
    StopUnit: {
      in: 'ss',
      out: 'o',
      fn(name, mode) {
        return queueJob(name, mode, 'stop');
      },
    },
    ResetFailedUnit: {
      in: 's',
      fn(name) {
        const unit = units.get(name);
        if (!unit) throw dbusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
        if (unit.iface.$values.ActiveState === 'failed') setUnitState(unit, 'inactive', 'dead');
      },
    },
  },
  signals: { UnitNew: 'so', UnitRemoved: 'so', JobNew: 'uos', JobRemoved: 'uoss' },
});

const UnitIface = defineInterface('org.freedesktop.systemd1.Unit', {
  properties: { Id: 's', Names: 'as', Description: 's', LoadState: 's', ActiveState: 's', SubState: 's' },
});

const JobIface = defineInterface('org.freedesktop.systemd1.Job', {
  properties: { Id: 'u', Unit: '(so)', JobType: 's', State: 's' },
});

/** Unique names of the connections that called Subscribe() and are still here. */
const subscribers = new Set();
/** name → { name, path, iface, kind, job } for every loaded unit */
const units = new Map();
let nextJobId = 1;
/** job path → result, for the control StartUnit/StopUnit */
const lastResults = new Map();

const JOB_MODES = ['replace', 'fail', 'isolate', 'ignore-dependencies', 'ignore-requirements', 'replace-irreversibly', 'flush', 'triggering', 'restart-dependencies'];
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;

function validUnitName(name) {
  if (!UNIT_NAME.test(name) || name.length > 255) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `Unit name ${name} is not valid.`);
  return name;
}

/** Signals systemd only sends while someone is subscribed. */
function managerSignal(signal, ...args) {
  if (subscribers.size === 0) return;
  systemdManager[signal](...args);
}

/** What the name refers to: a device unit (always loadable), a crypttab-generated service, or nothing. */
function describeUnit(name) {
  if (name.endsWith('.device')) {
    const disk = [...disks.values()].find((d) => deviceUnitName(d.uuid) === name);
    return { kind: 'device', disk };
  }
  for (const [cryptName, uuid] of crypttab) {
    if (cryptsetupUnitName(cryptName) === name) return { kind: 'cryptsetup', cryptName, uuid };
  }
  const mount = mountUnits.get(name);
  if (mount) return { kind: 'mount', ...mount, uuid: crypttab.get(mount.cryptName) };
  // The clean-up units plugback.service asks for (units/plugback-unmount-lazily@.service, -close-mapping@).
  const lazily = /^plugback-unmount-lazily@(.+)\.service$/.exec(name);
  if (lazily) return { kind: 'unmount-lazily', where: unitNamePathUnescape(lazily[1]) };
  if (/^plugback-close-mapping@.+\.service$/.test(name)) return { kind: 'close-mapping' };
  const readOnly = /^plugback-remount-read-only@(.+)\.service$/.exec(name);
  if (readOnly) return { kind: 'remount-read-only', where: unitNamePathUnescape(readOnly[1]) };
  const subvolume = /^plugback-delete-subvolume@(.+)\.service$/.exec(name);
  if (subvolume) return { kind: 'delete-subvolume', where: unitNamePathUnescape(subvolume[1]) };
  const smart = /^plugback-smart@(.+)\.service$/.exec(name);
  if (smart) return { kind: 'smart', where: unitNamePathUnescape(smart[1]) };
  return { kind: 'not-found' };
}

function loadUnit(name) {
  let unit = units.get(name);
  if (unit) {
    // A crypttab entry added after a not-found load: as after daemon-reload.
    if (unit.iface.$values.LoadState === 'not-found' && describeUnit(name).kind !== 'not-found') setProps(unit.iface, { LoadState: 'loaded' }, false);
    return unit;
  }
  const described = describeUnit(name);
  const kind = described.kind;
  // Loading the service loads what it BindsTo= (the backing device), as systemd does.
  if (kind === 'cryptsetup') loadUnit(deviceUnitName(described.uuid));
  const iface = new UnitIface({
    Id: name,
    Names: [name],
    Description: kind === 'cryptsetup' ? `Cryptography Setup for ${name}` : name,
    LoadState: kind === 'not-found' ? 'not-found' : 'loaded',
    ActiveState: 'inactive',
    SubState: 'dead',
  });
  unit = { name, path: unitPath(name), iface, job: undefined };
  units.set(name, unit);
  bus.export(unit.path, iface);
  managerSignal('UnitNew', name, unit.path);
  // A device that is already there.
  if (described.kind === 'device' && described.disk?.plugged) setUnitState(unit, 'active', 'plugged');
  return unit;
}

function setUnitState(unit, activeState, subState) {
  setProps(unit.iface, { ActiveState: activeState, SubState: subState }, subscribers.size > 0);
}

function newJob(unit, type) {
  const id = nextJobId++;
  const path = `${SYSTEMD_ROOT}/job/${id}`;
  const iface = new JobIface({ Id: id, Unit: [unit.name, unit.path], JobType: type, State: 'waiting' });
  bus.export(path, iface);
  const job = { id, path, type, unit, iface, timer: undefined, done: false };
  unit.job = job;
  return job;
}

function announceJob(job) {
  managerSignal('JobNew', job.id, job.path, job.unit.name);
}

function finishJob(job, result) {
  if (job.done) return;
  job.done = true;
  lastResults.set(job.path, result);
  if (lastResults.size > 100) lastResults.delete(lastResults.keys().next().value);
  if (job.timer) clearTimeout(job.timer);
  if (job.unit.job === job) job.unit.job = undefined;
  bus.unexport(job.path);
  managerSignal('JobRemoved', job.id, job.path, job.unit.name, result);
}

function queueJob(name, mode, type) {
  validUnitName(name);
  if (!JOB_MODES.includes(mode)) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `Job mode ${mode} invalid.`);
  const unit = loadUnit(name);
  if (unit.iface.$values.LoadState !== 'loaded') {
    if (type === 'start') throw dbusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not found.`);
    if (unit.iface.$values.ActiveState === 'inactive') throw dbusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
  }
  // A job of the same type is merged into the pending one; another type replaces it.
  if (unit.job) {
    if (unit.job.type === type) return unit.job.path;
    finishJob(unit.job, 'canceled');
  }
  const job = newJob(unit, type);
  const run = () => {
    if (job.done) return;
    setProps(job.iface, { State: 'running' }, false);
    const { kind } = describeUnit(name);
    if (kind === 'cryptsetup') {
      if (type === 'start') runStart(unit, job);
      else runStop(unit, job);
    } else if (kind === 'mount') {
      if (type === 'start') runMount(unit, job);
      else runUnmount(unit, job);
    } else if (kind === 'unmount-lazily' && type === 'start') {
      runProgram(job, 'umount', ['--lazy', describeUnit(name).where]);
    } else if (kind === 'remount-read-only' && type === 'start') {
      // As units/plugback-remount-read-only@.service.
      runProgram(job, 'mount', ['-o', 'remount,ro', describeUnit(name).where]);
    } else if (kind === 'delete-subvolume' && type === 'start') {
      // As units/plugback-delete-subvolume@.service: its ExecCondition (the path's shape), then btrfs.
      const { where } = describeUnit(name);
      if (/^\/.*\/plugback\/.*\/snapshots\/.*\.deleting$/.test(where)) runProgram(job, 'btrfs', ['subvolume', 'delete', '--', where]);
      else finishJob(job, 'done');
    } else if (kind === 'smart' && type === 'start') {
      // As units/plugback-smart@.service: the hidden command of this checkout, with the peer's PATH (a smartctl
      // stand-in there) and its PLUGBACK_SMART_DIR.
      runProgram(job, process.execPath, [PLUGBACK_MAIN, 'smart-read', describeUnit(name).where]);
    } else if (kind === 'device') {
      // A start job on a device waits for it to appear; stopping a device changes nothing.
      const disk = describeUnit(name).disk;
      if (type === 'stop' || disk?.plugged) finishJob(job, 'done');
    } else {
      finishJob(job, 'done');
    }
  };
  if (jobRemovedBeforeReply) {
    announceJob(job);
    run();
  } else {
    const state = unit.iface.$values.ActiveState;
    const immediate = (type === 'start' && state === 'active') || (type === 'stop' && ['inactive', 'failed'].includes(state));
    setImmediate(() => {
      announceJob(job);
      if (immediate) run();
      else if (!job.done) job.timer = setTimeout(run, JOB_DELAY_MS);
    });
  }
  return job.path;
}

function runStart(unit, job) {
  const { cryptName, uuid } = describeUnit(unit.name);
  if (unit.iface.$values.ActiveState === 'active') return finishJob(job, 'done');
  const disk = diskByUuid(uuid);
  if (!disk || !disk.plugged) return finishJob(job, 'dependency');
  const result = unlockResults.get(cryptName) ?? 'done';
  if (result === 'timeout') return finishJob(job, 'timeout');
  setUnitState(unit, 'activating', 'start');
  if (result === 'failed') {
    setUnitState(unit, 'failed', 'failed');
    return finishJob(job, 'failed');
  }
  setUnitState(unit, 'active', 'exited');
  addCleartext(disk, cryptName);
  return finishJob(job, 'done');
}

/** Whether something is mounted at `where` now, as systemd learns from /proc/self/mountinfo. */
function mountedAt(where) {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === where);
}

/** A oneshot service's job: done when the program exits 0, failed otherwise. */
function runProgram(job, program, args, then = () => {}) {
  execFile(program, args, (error) => {
    then(!error);
    finishJob(job, error ? 'failed' : 'done');
  });
}

/** The mount unit's start: mounts the disk's cleartext (an image file here) once its cryptsetup unit is up. */
function runMount(unit, job) {
  const { where, cryptName } = describeUnit(unit.name);
  if (mountedAt(where)) {
    setUnitState(unit, 'active', 'mounted');
    return finishJob(job, 'done');
  }
  const crypt = units.get(cryptsetupUnitName(cryptName));
  const disk = diskByUuid(crypttab.get(cryptName));
  if (!crypt || crypt.iface.$values.ActiveState !== 'active' || !disk?.plugged) return finishJob(job, 'dependency');
  mkdirSync(where, { recursive: true, mode: 0o700 });
  setUnitState(unit, 'activating', 'mounting');
  runProgram(job, 'mount', ['-o', 'nodev,nosuid,noexec,noatime', disk.cleartextPath, where], (ok) => setUnitState(unit, ok ? 'active' : 'failed', ok ? 'mounted' : 'failed'));
}

/** The mount unit's stop: unmounts whatever is mounted there (systemd tracks every mount); fails while busy. */
function runUnmount(unit, job) {
  const { where } = describeUnit(unit.name);
  if (!mountedAt(where)) {
    setUnitState(unit, 'inactive', 'dead');
    return finishJob(job, 'done');
  }
  setUnitState(unit, 'deactivating', 'unmounting');
  runProgram(job, 'umount', [where], (ok) => setUnitState(unit, ok ? 'inactive' : 'active', ok ? 'dead' : 'mounted'));
}

function runStop(unit, job) {
  if (!['active', 'activating', 'reloading'].includes(unit.iface.$values.ActiveState)) return finishJob(job, 'done');
  // BindsTo=: the drive's mount unit goes first (a busy mount stays, as with systemd, and the mapping with it).
  const { cryptName: stopping } = describeUnit(unit.name);
  for (const mount of mountUnits.values()) {
    if (mount.cryptName === stopping && mountedAt(mount.where)) execFile('umount', [mount.where], () => {});
  }
  setUnitState(unit, 'deactivating', 'stop');
  setUnitState(unit, 'inactive', 'dead');
  const { uuid } = describeUnit(unit.name);
  const disk = uuid ? diskByUuid(uuid) : undefined;
  if (disk) removeCleartext(disk);
  return finishJob(job, 'done');
}

// ---------------------------------------------------------------------------------------------------------
// Control interface

const ControlIface = defineInterface(CONTROL, {
  methods: {
    AddDisk: {
      in: 'ssbsb',
      fn(id, uuid, luks, cleartextPath, canPowerOff) {
        if (!/^[A-Za-z0-9_]+$/.test(id)) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `disk id must match [A-Za-z0-9_]+: ${id}`);
        if (disks.has(id)) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `disk ${id} exists`);
        if (diskByUuid(uuid)) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `a disk with uuid ${uuid} exists`);
        if (luks && !cleartextPath) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', 'a LUKS disk needs a cleartextPath');
        disks.set(id, {
          id,
          uuid,
          luks,
          cleartextPath,
          canPowerOff,
          index: nextDiskIndex++,
          size: 64n * GiB,
          cleartextUuid: newUuid(),
          plugged: false,
          cleartext: undefined,
          encrypted: undefined,
        });
      },
    },
    Plug: {
      in: 's',
      fn(id) {
        plug(diskNamed(id));
      },
    },
    Unplug: {
      in: 's',
      fn(id) {
        unplug(diskNamed(id));
      },
    },
    UnplugLate: {
      in: 'su',
      fn(id, udisksDelayMs) {
        unplug(diskNamed(id), udisksDelayMs);
      },
    },
    // udisks2 restarting (as on a package upgrade): the name is released, the disks in `plugIds` plugged in and
    // those in `unplugIds` pulled out without a signal, then the name is taken again.
    RestartUdisks: {
      in: 'asas',
      async fn(plugIds, unplugIds) {
        if (!withUdisks) throw dbusError('org.freedesktop.DBus.Error.Failed', 'this peer plays no udisks2');
        udisksDown = true;
        try {
          await bus.releaseName(UDISKS);
          for (const id of unplugIds) unplug(diskNamed(id));
          for (const id of plugIds) plug(diskNamed(id));
        } finally {
          udisksDown = false;
        }
        const reply = await bus.requestName(UDISKS, dbus.NameFlag.DO_NOT_QUEUE);
        if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw dbusError('org.freedesktop.DBus.Error.Failed', `cannot own ${UDISKS} again (reply ${reply})`);
      },
    },
    SetCrypttab: {
      in: 'ss',
      fn(cryptName, uuid) {
        crypttab.set(cryptName, uuid);
        const unit = units.get(cryptsetupUnitName(cryptName));
        if (unit) setProps(unit.iface, { LoadState: 'loaded' }, false);
      },
    },
    // The drive's .mount unit (as `plugback install` writes it): mounts the cleartext of `cryptName` at `where`.
    AddMountUnit: {
      in: 'ss',
      fn(where, cryptName) {
        mountUnits.set(mountUnitName(where), { where, cryptName });
      },
    },
    SetUnlockResult: {
      in: 'ss',
      fn(cryptName, result) {
        if (!['done', 'failed', 'timeout'].includes(result)) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `unlock result must be done, failed or timeout: ${result}`);
        unlockResults.set(cryptName, result);
      },
    },
    SetPowerOffRemovesFirst: {
      in: 'b',
      fn(on) {
        powerOffRemovesFirst = on;
      },
    },
    SetJobRemovedBeforeReply: {
      in: 'b',
      fn(on) {
        jobRemovedBeforeReply = on;
      },
    },
    // The unit started/stopped from outside the code under test (a leftover of an earlier run, an admin): the
    // job runs with all its signals and is complete when this returns; not in Calls().
    StartUnit: {
      in: 's',
      out: 's',
      fn(name) {
        return runJobNow(name, 'start');
      },
    },
    StopUnit: {
      in: 's',
      out: 's',
      fn(name) {
        return runJobNow(name, 'stop');
      },
    },
    Calls: {
      out: 's',
      fn() {
        return JSON.stringify(calls);
      },
    },
    ActiveState: {
      in: 's',
      out: 's',
      fn(name) {
        const unit = units.get(name);
        if (unit) return unit.iface.$values.ActiveState;
        const described = describeUnit(name);
        return described.kind === 'device' && described.disk?.plugged ? 'active' : 'inactive';
      },
    },
  },
});

/** Runs a start/stop job to completion now; returns its JobRemoved result ('waiting' for a device not there). */
function runJobNow(name, type) {
  const saved = jobRemovedBeforeReply;
  jobRemovedBeforeReply = true;
  try {
    const path = queueJob(name, 'replace', type);
    const job = units.get(name)?.job;
    if (job && job.path === path) return 'waiting';
    return lastResults.get(path) ?? 'done';
  } finally {
    jobRemovedBeforeReply = saved;
  }
}

function diskNamed(id) {
  const disk = disks.get(id);
  if (!disk) throw dbusError('org.freedesktop.DBus.Error.InvalidArgs', `no disk ${id}`);
  return disk;
}

// ---------------------------------------------------------------------------------------------------------
// Start

const bus = dbus.sessionBus({ busAddress: address });
const objectManager = new ObjectManagerIface();
const systemdManager = new ManagerIface({ Version: '252.36-1~deb12u1' });

function shutdown(code) {
  try {
    bus.disconnect();
  } catch {
    // already closed
  }
  process.exit(code);
}

bus.on('error', (error) => {
  process.stderr.write(`[system-peer] bus error: ${error?.stack ?? error}\n`);
  shutdown(1);
});
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.stdin.on('end', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();

bus.addMethodHandler((msg) => {
  currentCall = msg;
  if (msg.path !== CONTROL_PATH && msg.interface !== CONTROL) {
    calls.push({ iface: msg.interface ?? '', member: msg.member, path: msg.path, args: jsonSafe(msg.body ?? []) });
    debug('call', msg.interface, msg.member, msg.path);
  }
  // dbus-next replies twice to a Set of a read-only property; answer it here instead.
  if (msg.interface === 'org.freedesktop.DBus.Properties' && msg.member === 'Set') {
    bus.send(Message.newError(msg, 'org.freedesktop.DBus.Error.PropertyReadOnly', `Property '${msg.body?.[1]}' is not writable`));
    return true;
  }
  return false;
});

// Subscribers that leave the bus stop being subscribers.
bus.on('message', (msg) => {
  if (msg.type !== MessageType.SIGNAL || msg.sender !== 'org.freedesktop.DBus' || msg.member !== 'NameOwnerChanged') return;
  const [name, , owner] = msg.body;
  if (name.startsWith(':') && owner === '' && subscribers.delete(name)) debug('subscriber left', name);
});

async function main() {
  await new Promise((resolve, reject) => {
    bus.once('connect', resolve);
    bus.once('error', reject);
  });
  await bus.call(
    new Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: ["type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged'"],
    }),
  );

  bus.export(SYSTEMD_ROOT, systemdManager);
  bus.export(CONTROL_PATH, new ControlIface());
  if (withUdisks) {
    bus.export(UDISKS_ROOT, objectManager);
    bus.export(`${UDISKS_ROOT}/Manager`, new UdisksManagerIface({ Version: '2.9.4', SupportedFilesystems: ['ext4', 'vfat', 'exfat', 'btrfs', 'xfs'] }));
  }

  const names = [...(withUdisks ? [UDISKS] : []), SYSTEMD, CONTROL];
  for (const name of names) {
    const reply = await bus.requestName(name, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`cannot own ${name} (reply ${reply})`);
  }
  process.stdout.write('ready\n');
  debug('ready', bus.name, names.join(' '));
}

main().catch((error) => {
  process.stderr.write(`[system-peer] ${error?.stack ?? error}\n`);
  shutdown(1);
});
