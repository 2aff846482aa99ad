// Unit-name escaping exactly as systemd-escape does it (systemd 252 src/basic/unit-name.c, path-util.c),
// plain, --path, --suffix and --template, byte for byte: every unit name plugback writes is the one systemd
// looks for.

/** The bytes systemd keeps as they are (VALID_CHARS without "-" and "\", which are always escaped). */
const KEPT = /^[0-9A-Za-z:_.]$/;
/** systemd's UNIT_NAME_MAX is 256 with the terminating NUL. */
const UNIT_NAME_MAX = 255;
const NAME_MAX = 255;
const PATH_MAX = 4096;

/** Thrown for input systemd-escape refuses too (it exits non-zero for it). */
export class EscapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EscapeError';
  }
}

export interface EscapeOptions {
  /** --path: VALUE is a file system path (simplified, "/" alone becomes "-"). */
  path?: boolean;
  /** --template=NAME@.TYPE: the result is an instance of this template unit. */
  template?: string;
  /** --suffix=TYPE: the result is a unit name of this type (not with template, which has its own). */
  suffix?: string;
}

/**
 * `systemd-escape [--path] [--template=T | --suffix=S] VALUE`, byte for byte: "/" becomes "-", a leading "."
 * and every byte outside [0-9A-Za-z:_.] become \xNN. Throws EscapeError where systemd-escape fails.
 */
export function systemdEscape(value: string, options: EscapeOptions = {}): string {
  const escaped = options.path ? escapePath(value) : escapeUnitName(value);
  if (options.template !== undefined) {
    const at = options.template.indexOf('@.');
    if (at < 1) throw new EscapeError(`"${options.template}" is not a template unit name (like name@.service)`);
    if (escaped === '') throw new EscapeError(`an empty instance cannot make a unit name from ${options.template}`);
    return checkedUnitName(`${options.template.slice(0, at + 1)}${escaped}${options.template.slice(at + 1)}`);
  }
  // systemd-escape checks only instances for validity; with --suffix it prints even an overlong name.
  return options.suffix === undefined ? escaped : `${escaped}.${options.suffix}`;
}

function escapeUnitName(text: string): string {
  let out = '';
  const bytes = Buffer.from(text, 'utf8');
  bytes.forEach((byte, i) => {
    const char = String.fromCharCode(byte);
    if (char === '/') out += '-';
    else if (byte < 0x80 && KEPT.test(char) && !(i === 0 && char === '.')) out += char;
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  });
  return out;
}

/** unit_name_path_escape(): simplified first (repeated "/" and "." dropped); "/" and "" become "-". */
function escapePath(path: string): string {
  const simple = simplifyPath(path);
  if (simple === '' || simple === '/') return '-';
  if (!isNormalized(simple)) throw new EscapeError(`"${path}" is not a normalized file system path ("..", or a name longer than ${NAME_MAX} bytes)`);
  return escapeUnitName(simple.replace(/\/+$/, '').replace(/^\/+/, ''));
}

function checkedUnitName(name: string): string {
  if (Buffer.byteLength(name) > UNIT_NAME_MAX) throw new EscapeError(`the unit name ${name.slice(0, 40)}... would be longer than ${UNIT_NAME_MAX} bytes`);
  return name;
}

/** path_simplify(): drops "." components and repeated "/", keeps one leading "/", leaves ".." alone. */
function simplifyPath(path: string): string {
  if (path === '') return path;
  const absolute = path.startsWith('/');
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  // systemd stops simplifying at a component that is too long, leaving the rest as it was.
  const tooLong = parts.findIndex((part) => Buffer.byteLength(part) > NAME_MAX);
  const simplified = (tooLong < 0 ? parts : parts.slice(0, tooLong)).join('/');
  const rest = tooLong < 0 ? '' : `${simplified ? '/' : ''}${path.slice(path.indexOf(parts[tooLong] as string))}`;
  const result = `${absolute ? '/' : ''}${simplified}${rest}`;
  return result === '' ? '.' : result;
}

/** path_is_normalized(): a valid path with no "." or ".." component and no "//". */
function isNormalized(path: string): boolean {
  if (path === '' || Buffer.byteLength(path) >= PATH_MAX) return false;
  const parts = path.split('/');
  if (parts.some((part) => Buffer.byteLength(part) > NAME_MAX || part === '..')) return false;
  if (path === '.' || path.startsWith('./') || path.endsWith('/.')) return false;
  return !path.includes('//') && !path.includes('/./');
}

/** The unit systemd-cryptsetup-generator makes for a crypttab line named `cryptName`. */
export function cryptsetupUnit(cryptName: string): string {
  return systemdEscape(cryptName, { template: 'systemd-cryptsetup@.service' });
}

/** The device unit systemd keeps for /dev/disk/by-uuid/UUID. */
export function uuidDeviceUnit(uuid: string): string {
  return systemdEscape(`/dev/disk/by-uuid/${uuid}`, { path: true, suffix: 'device' });
}

/** The mount unit systemd keeps for a mount at `mountPoint` (whoever mounted it). */
export function mountUnit(mountPoint: string): string {
  return systemdEscape(mountPoint, { path: true, suffix: 'mount' });
}
