// A thin layer over dbus-next's low-level API: method calls with a timeout, and signal subscriptions by match
// rule. We use the low-level API on purpose: dbus-next's proxies add one match per object path, and we need
// whole namespaces (every udisks2 object) and listeners in place before a call whose reply races its signals.
import dbus, { Message, type MessageBus } from 'dbus-next';

const { MessageType } = dbus;

export { DBusError, Variant } from 'dbus-next';

export interface CallSpec {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

/** A signal as delivered to listeners. */
export interface Signal {
  sender: string;
  path: string;
  interface: string;
  member: string;
  body: unknown[];
}

export interface SignalFilter {
  /** A well-known name: only signals from its current owner pass. */
  sender: string;
  interface: string;
  member?: string;
  path?: string;
  pathNamespace?: string;
}

const DEFAULT_CALL_TIMEOUT_MS = 25_000;

export class DbusConnection {
  private readonly owners = new Map<string, string>();
  private closed = false;

  private constructor(readonly bus: MessageBus) {
    bus.on('message', (msg: Message) => this.trackOwners(msg));
  }

  /** The system bus, or the bus at DBUS_SYSTEM_BUS_ADDRESS (tests point that at a private dbus-daemon). */
  static async system(): Promise<DbusConnection> {
    const bus = dbus.systemBus();
    const connection = new DbusConnection(bus);
    await new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve());
      bus.once('error', (error: unknown) => reject(new Error(`cannot connect to the D-Bus system bus: ${errorText(error)} (is dbus running? "systemctl status dbus")`)));
    });
    await connection.addMatch("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged'");
    return connection;
  }

  /** Our unique name on the bus. */
  get uniqueName(): string {
    return (this.bus as unknown as { name: string }).name;
  }

  /** Calls a method; rejects with a DBusError for an error reply, or an Error after `timeoutMs`. */
  async call(spec: CallSpec, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<unknown[]> {
    const message = new Message({ type: MessageType.METHOD_CALL, ...spec, signature: spec.signature ?? '', body: spec.body ?? [] });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from ${spec.destination} to ${spec.interface}.${spec.member} within ${Math.round(timeoutMs / 1000)}s`)),
        timeoutMs,
      );
    });
    try {
      const reply = await Promise.race([this.bus.call(message), timeout]);
      return reply?.body ?? [];
    } finally {
      clearTimeout(timer);
    }
  }

  async addMatch(rule: string): Promise<void> {
    await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
  }

  /** The unique name that owns `name` now, or undefined when nobody does. */
  async nameOwner(name: string): Promise<string | undefined> {
    try {
      const [owner] = await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetNameOwner', signature: 's', body: [name] });
      this.owners.set(name, owner as string);
      return owner as string;
    } catch {
      this.owners.delete(name);
      return undefined;
    }
  }

  /**
   * Adds the match rule for `filter` and calls `listener` for each matching signal from the current owner of
   * `filter.sender`. Resolves once the bus has the rule, so signals sent after that are not missed.
   */
  async onSignal(filter: SignalFilter, listener: (signal: Signal) => void): Promise<() => void> {
    const parts = [`type='signal'`, `sender='${filter.sender}'`, `interface='${filter.interface}'`];
    if (filter.member) parts.push(`member='${filter.member}'`);
    if (filter.path) parts.push(`path='${filter.path}'`);
    if (filter.pathNamespace) parts.push(`path_namespace='${filter.pathNamespace}'`);
    const handler = (msg: Message) => {
      if (msg.type !== MessageType.SIGNAL || msg.interface !== filter.interface) return;
      if (filter.member && msg.member !== filter.member) return;
      if (filter.path && msg.path !== filter.path) return;
      if (filter.pathNamespace && msg.path !== filter.pathNamespace && !msg.path.startsWith(`${filter.pathNamespace}/`)) return;
      // Only the real owner of the name may speak for it.
      if (msg.sender !== filter.sender && msg.sender !== this.owners.get(filter.sender)) return;
      listener({ sender: msg.sender, path: msg.path, interface: msg.interface, member: msg.member, body: msg.body as unknown[] });
    };
    this.bus.on('message', handler);
    await this.addMatch(parts.join(','));
    await this.nameOwner(filter.sender);
    return () => this.bus.off('message', handler);
  }

  /** Calls `listener` when `name` gets a new owner (a restart) or loses it. */
  onOwnerChanged(name: string, listener: (owner: string | undefined) => void): () => void {
    const handler = (msg: Message) => {
      if (msg.type !== MessageType.SIGNAL || msg.member !== 'NameOwnerChanged' || msg.interface !== 'org.freedesktop.DBus') return;
      const [changed, , owner] = msg.body as [string, string, string];
      if (changed === name) listener(owner || undefined);
    };
    this.bus.on('message', handler);
    return () => this.bus.off('message', handler);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.disconnect();
  }

  private trackOwners(msg: Message): void {
    if (msg.type !== MessageType.SIGNAL || msg.member !== 'NameOwnerChanged' || msg.sender !== 'org.freedesktop.DBus') return;
    const [name, , owner] = msg.body as [string, string, string];
    if (name.startsWith(':')) return;
    if (owner) this.owners.set(name, owner);
    else this.owners.delete(name);
  }
}

/** A D-Bus error's name and text, or an Error's message. */
export function errorText(error: unknown): string {
  if (error && typeof error === 'object' && 'type' in error && 'text' in error) {
    return `${String((error as { type: string }).type)}: ${String((error as { text: string }).text)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The D-Bus error name of a failed call, if it was a D-Bus error. */
export function errorName(error: unknown): string | undefined {
  return error && typeof error === 'object' && 'type' in error ? String((error as { type: string }).type) : undefined;
}

/** A byte string from udisks2 (`ay`): it carries a trailing NUL that is not part of the text. */
export function decodeBytestring(value: unknown): string {
  if (!Buffer.isBuffer(value)) return '';
  const end = value.indexOf(0);
  return value.subarray(0, end === -1 ? value.length : end).toString('utf8');
}

/** The plain value of a variant (dbus-next gives `{ signature, value }`). */
export function variantValue(value: unknown): unknown {
  return value && typeof value === 'object' && 'signature' in value && 'value' in value ? (value as { value: unknown }).value : value;
}
