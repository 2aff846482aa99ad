// Unit-name escaping exactly as systemd-escape does it (systemd 252 src/basic/unit-name.c, path-util.c):
// plain, --path and --template, byte for byte, so every unit name plugback writes is the one systemd looks for.

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

/** `systemd-escape STRING`: "/" becomes "-", a leading "." and every byte outside [0-9A-Za-z:_.] become \xNN. */
export function escapeUnitName(text: string): string {
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

/** `systemd-escape --path PATH`: simplified first (repeated "/" and "." dropped); "/" and "" become "-". */
export function escapePath(path: string): string {
  const simple = simplifyPath(path);
  if (simple === '' || simple === '/') return '-';
  if (!isNormalized(simple)) throw new EscapeError(`"${path}" is not a normalized file system path ("..", or a name longer than ${NAME_MAX} bytes)`);
  return escapeUnitName(simple.replace(/\/+$/, '').replace(/^\/+/, ''));
}

/** `systemd-escape --template=TEMPLATE [--path] VALUE`: the instance of a template unit, like foo@bar.service. */
export function templateInstance(template: string, value: string, options: { path?: boolean } = {}): string {
  const at = template.indexOf('@.');
  if (at < 1) throw new EscapeError(`"${template}" is not a template unit name (like name@.service)`);
  const instance = options.path ? escapePath(value) : escapeUnitName(value);
  if (instance === '') throw new EscapeError(`an empty instance cannot make a unit name from ${template}`);
  return checkedUnitName(`${template.slice(0, at + 1)}${instance}${template.slice(at + 1)}`);
}

/** `systemd-escape --path --suffix=SUFFIX PATH`: the unit systemd names after a path, like a .device or .mount. */
export function pathUnitName(path: string, suffix: 'device' | 'mount' | 'automount' | 'swap' | 'path'): string {
  return checkedUnitName(`${escapePath(path)}.${suffix}`);
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
