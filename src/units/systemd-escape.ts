// Unit-name escaping exactly as systemd-escape does it (src/basic/unit-name.c): the daemon needs the names of
// the cryptsetup service and of a drive's device unit, and a name that is off by one byte is another unit.

const VALID = /^[0-9A-Za-z:_.]$/;

/** `systemd-escape STRING`: "/" becomes "-", anything else outside [0-9A-Za-z:_.] (and a leading ".") becomes \xNN. */
export function escapeUnitName(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  bytes.forEach((byte, index) => {
    const char = String.fromCharCode(byte);
    if (byte === 0x2f) out += '-';
    else if ((index === 0 && char === '.') || byte >= 0x80 || !VALID.test(char)) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += char;
  });
  return out;
}

/** `systemd-escape --path PATH`. */
export function escapePath(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new Error(`${path} is not a normalized file system path`);
  return parts.length === 0 ? '-' : escapeUnitName(parts.join('/'));
}

/** `systemd-escape --template=TEMPLATE INSTANCE`, e.g. systemd-cryptsetup@.service + plugback-a. */
export function templateInstance(template: string, instance: string): string {
  const at = template.indexOf('@.');
  if (at < 0) throw new Error(`${template} is not a template unit name (expected NAME@.TYPE)`);
  return `${template.slice(0, at + 1)}${escapeUnitName(instance)}${template.slice(at + 1)}`;
}

/** The systemd unit of a LUKS drive's unlocked mapping, as systemd-cryptsetup-generator names it. */
export function cryptsetupUnit(cryptName: string): string {
  return templateInstance('systemd-cryptsetup@.service', cryptName);
}

/** The device unit systemd keeps for /dev/disk/by-uuid/UUID. */
export function uuidDeviceUnit(uuid: string): string {
  return `${escapePath(`/dev/disk/by-uuid/${uuid}`)}.device`;
}
