// --owner USER[:GROUP]: who gets the archive files (IOTstack's "a user to own the files" when run as root).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Owner } from './destination.js';

const execFileP = promisify(execFile);

/** Resolves names through NSS (getent), so LDAP and systemd-homed users work too; numbers are taken as they are. */
export async function resolveOwner(spec: string, what = '--owner'): Promise<Owner> {
  const [user, group, extra] = spec.split(':');
  if (!user || extra !== undefined || group === '') throw new Error(`${what} expects USER or USER:GROUP (names or numbers), got "${spec}"`);
  const passwd = /^\d+$/.test(user) ? undefined : await getent('passwd', user);
  if (passwd === null) throw new Error(`there is no user "${user}" on this machine (getent passwd ${user} found none): check the name given to ${what}`);
  const uid = passwd ? Number(passwd[2]) : Number(user);
  let gid = passwd ? Number(passwd[3]) : Number(user);
  if (group !== undefined) {
    const entry = /^\d+$/.test(group) ? undefined : await getent('group', group);
    if (entry === null) throw new Error(`there is no group "${group}" on this machine (getent group ${group} found none): check the name given to ${what}`);
    gid = entry ? Number(entry[2]) : Number(group);
  }
  return { uid, gid };
}

/** The entry's fields, or null when there is none. */
async function getent(database: 'passwd' | 'group', key: string): Promise<string[] | null> {
  const result = await execFileP('getent', [database, '--', key]).catch(() => undefined);
  const line = result?.stdout.split('\n')[0];
  return line ? line.split(':') : null;
}
