// The checksum list of one snapshot: the SHA-256 of every regular file in it, so `plugback check` can tell a
// file's right content without the source. One gzip-compressed text file, snapshots/<name>/checksums.gz:
//   plugback-checksums 1 sha256
//   <sha256 hex> <size> <inode> <mtime ns> <key>
// A key is <state>/<path inside the state folder>, each name byte-escaped (see escapeName), in walk order
// (compareKeys). The inode, size and time let the next run inherit a hash for a file it did not rewrite.
// The file is read back from the drive, so it is untrusted: parseLine accepts only this exact shape.

export const CHECKSUMS_FILE = 'checksums.gz';
export const CHECKSUMS_HEADER = 'plugback-checksums 1 sha256';
/** Longer than any key can be: 4096 bytes of path, every byte escaped, plus the numbers. */
export const MAX_LINE = 16_384;

export interface ChecksumEntry {
  key: string;
  hash: string;
  size: bigint;
  ino: bigint;
  mtimeNs: bigint;
}

/** A name's bytes as printable ASCII without spaces or slashes: every other byte, and '%' itself, as %XX. */
export function escapeName(name: Buffer): string {
  const text = name.toString('latin1');
  if (SAFE_NAME.test(text)) return text;
  let out = '';
  for (const byte of name) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x25 && byte !== 0x2f ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

/** The bytes of an escaped name; undefined when it is not one escapeName could have written. */
export function unescapeName(name: string): Buffer | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x25) {
      const hex = name.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      const byte = parseInt(hex, 16);
      if (byte > 0x20 && byte < 0x7f && byte !== 0x25 && byte !== 0x2f) return undefined;
      bytes.push(byte);
      i += 2;
    } else if (c > 0x20 && c < 0x7f && c !== 0x2f) {
      bytes.push(c);
    } else {
      return undefined;
    }
  }
  const buffer = Buffer.from(bytes);
  return buffer.length === 0 || buffer.equals(DOT) || buffer.equals(DOT_DOT) || buffer.includes(0) ? undefined : buffer;
}

const SAFE_NAME = /^[\x21-\x24\x26-\x2e\x30-\x7e]+$/;
const DOT = Buffer.from('.');
const DOT_DOT = Buffer.from('..');

/**
 * The order of a depth-first walk that visits each folder's entries sorted by escaped name: name by name, so
 * everything under "a/" comes before "a-b" ('/' sorts before every character a name can hold).
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return (ca === 0x2f ? 0 : ca) - (cb === 0x2f ? 0 : cb);
  }
  return a.length - b.length;
}

export function formatLine(e: ChecksumEntry): string {
  return `${e.hash} ${e.size} ${e.ino} ${e.mtimeNs} ${e.key}\n`;
}

/** At least two names of printable ASCII without '%', none empty: nothing to decode (dot names aside). */
const PLAIN_KEY = /^[\x21-\x24\x26-\x2e\x30-\x7e]+(\/[\x21-\x24\x26-\x2e\x30-\x7e]+)+$/;
const DOT_NAME = /(^|\/)\.\.?(\/|$)/;
const LINE = /^([0-9a-f]{64}) (\d{1,20}) (\d{1,20}) (\d{1,20}) (\S+)$/;

/** One line of a checksum list; undefined for anything else (a damaged or forged list). */
export function parseLine(line: string): ChecksumEntry | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, hash, size, ino, mtimeNs, key] = m as unknown as [string, string, string, string, string, string];
  if (!PLAIN_KEY.test(key) || DOT_NAME.test(key)) {
    // Only a key with escapes needs each name decoded to be sure it is one escapeName could have written.
    const names = key.split('/');
    if (names.length < 2 || names.some((n) => unescapeName(n) === undefined)) return undefined;
  }
  return { key, hash, size: BigInt(size), ino: BigInt(ino), mtimeNs: BigInt(mtimeNs) };
}

/** The path bytes of a key below its state folder, and the state's name. */
export function splitKey(key: string): { state: string; names: Buffer[] } {
  const [state, ...rest] = key.split('/');
  return { state: state as string, names: rest.map((n) => unescapeName(n) as Buffer) };
}
