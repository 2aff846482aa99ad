// Asking polkit whether the caller of a method may do what it asks. Root may always; without polkit on the
// system, only root may.
import { DbusConnection, errorName, Variant } from '../system/dbus.js';

export interface Decision {
  allowed: boolean;
  /** Why not, for the error the caller gets. */
  reason?: string;
  /** The caller's uid, as the bus says. */
  uid: number;
}

const POLKIT = 'org.freedesktop.PolicyKit1';
/** CheckAuthorization flag: let polkit ask the user (an authentication agent) when the action allows it. */
const ALLOW_USER_INTERACTION = 1;

export async function authorize(dbus: DbusConnection, sender: string, action: string): Promise<Decision> {
  const [uid] = (await dbus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetConnectionUnixUser', signature: 's', body: [sender] })) as [number];
  if (uid === 0) return { allowed: true, uid };
  try {
    const [result] = await dbus.call(
      {
        destination: POLKIT,
        path: '/org/freedesktop/PolicyKit1/Authority',
        interface: 'org.freedesktop.PolicyKit1.Authority',
        member: 'CheckAuthorization',
        signature: '(sa{sv})sa{ss}us',
        body: [['system-bus-name', { name: new Variant('s', sender) }], action, {}, ALLOW_USER_INTERACTION, ''],
      },
      // Long enough for someone to type a password into an authentication agent.
      120_000,
    );
    const [authorized, challenge] = result as [boolean, boolean, Record<string, string>];
    if (authorized) return { allowed: true, uid };
    return { allowed: false, uid, reason: `polkit denied action ${action} to uid ${String(uid)}${challenge ? ' (it needs authentication)' : ''}` };
  } catch (error) {
    const name = errorName(error);
    if (name === 'org.freedesktop.DBus.Error.ServiceUnknown' || name === 'org.freedesktop.DBus.Error.NameHasNoOwner') {
      return { allowed: false, uid, reason: `action ${action} needs root: polkit is not installed, so only root may do it` };
    }
    return { allowed: false, uid, reason: `action ${action} could not be checked with polkit: ${(error as Error).message}` };
  }
}
