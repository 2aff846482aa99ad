// The checksum list's line format (src/repo/checksums/format.ts): names of any bytes survive the escaping, the
// order is a depth-first walk's, and anything that is not exactly a line plugback writes is refused.
import { describe, expect, it } from 'vitest';
import { compareKeys, escapeName, formatLine, parseLine, splitKey, unescapeName } from '../../src/repo/checksums/format.js';

const HASH = 'a'.repeat(64);

describe('checksum list names', () => {
  it('escapes every byte that is not printable ASCII, and the percent sign, and gets the same bytes back', () => {
    const name = Buffer.from([0x61, 0x20, 0x0a, 0x25, 0xff, 0xc3, 0xa9, 0x7e]);
    expect(escapeName(name)).toBe('a%20%0A%25%FF%C3%A9~');
    expect(unescapeName(escapeName(name))).toEqual(name);
  });

  it('refuses an escaped name plugback would not write: a slash, dot entries, a lowercase or needless escape', () => {
    for (const bad of ['a/b', '.', '..', '%2E', '%2e%2e', '%41', '%0a', 'a b', '%2', '%00', '']) expect(unescapeName(bad), bad).toBeUndefined();
    expect(unescapeName('%2E%2E')).toBeUndefined();
    expect(unescapeName('.hidden')).toEqual(Buffer.from('.hidden'));
  });

  it('orders keys as a walk visits them: a folder\'s contents before the names that sort after the folder', () => {
    const keys = ['s/a-b', 's/a/z', 's/a', 's/a!', 's/b'];
    expect([...keys].sort(compareKeys)).toEqual(['s/a', 's/a/z', 's/a!', 's/a-b', 's/b']);
  });
});

describe('checksum list lines', () => {
  it('reads back what it writes', () => {
    const entry = { key: 'photos/tmp/x%0Ay', hash: HASH, size: 12n, ino: 99n, mtimeNs: 1764700000123456789n };
    expect(parseLine(formatLine(entry).trimEnd())).toEqual(entry);
    expect(splitKey(entry.key)).toEqual({ state: 'photos', names: [Buffer.from('tmp'), Buffer.from('x\ny')] });
  });

  it('refuses a forged or damaged line', () => {
    for (const bad of [
      `${HASH} 12 99 1 photos`,
      `${HASH} 12 99 1 photos/../etc/shadow`,
      `${HASH} 12 99 1 photos//x`,
      `${HASH.slice(1)} 12 99 1 photos/x`,
      `${HASH.toUpperCase()} 12 99 1 photos/x`,
      `${HASH} -1 99 1 photos/x`,
      `${HASH} 12 99 1 photos/x extra`,
      `${HASH} 123456789012345678901 99 1 photos/x`,
    ]) expect(parseLine(bad), bad).toBeUndefined();
  });
});
