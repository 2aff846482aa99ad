import { describe, expect, it } from 'vitest';
import { archiveNames, archiveSuffix, datedToDelete, formatOf, parseArchiveName, rollingName, weekdayOf } from '../../src/archive/naming.js';

const zst = { compression: 'zstd', encrypted: false } as const;
const gzGpg = { compression: 'gzip', encrypted: true } as const;
const snap = { name: '2026-11-22T101500Z', time: new Date('2026-11-22T10:15:00Z') };

describe('archive names', () => {
  it('names a dated archive after the snapshot and a rolling one after its local weekday, in that order for both', () => {
    expect(archiveNames('nas', snap, 'dated', zst)).toEqual(['nas-2026-11-22T101500Z.tar.zst']);
    expect(archiveNames('nas', snap, 'rolling', gzGpg)).toEqual([`nas-${weekdayOf(snap.time)}.tar.gz.gpg`]);
    expect(archiveNames('nas', snap, 'both', zst)).toEqual(['nas-2026-11-22T101500Z.tar.zst', `nas-${snap.time.getDay()}.tar.zst`]);
  });

  it('has one suffix per compression and encryption', () => {
    expect(archiveSuffix(zst)).toBe('.tar.zst');
    expect(archiveSuffix({ compression: 'zstd', encrypted: true })).toBe('.tar.zst.gpg');
    expect(archiveSuffix({ compression: 'gzip', encrypted: false })).toBe('.tar.gz');
    expect(archiveSuffix(gzGpg)).toBe('.tar.gz.gpg');
    expect(formatOf('x.tar.gz.gpg')).toEqual(gzGpg);
    expect(formatOf('x.tar.zst')).toEqual(zst);
    expect(formatOf('x.tar')).toBeUndefined();
    expect(formatOf('x.tar.zst.gpg.tmp')).toBeUndefined();
  });

  it('refuses a weekday outside 0-6', () => {
    expect(() => rollingName('nas', 7, zst)).toThrow(/0-6/);
  });

  it('parses only names of this host that plugback makes', () => {
    expect(parseArchiveName('nas', 'nas-2026-11-22T101500Z.tar.zst')).toEqual({ kind: 'dated', snapshot: '2026-11-22T101500Z', format: zst });
    expect(parseArchiveName('nas', 'nas-6.tar.gz.gpg')).toEqual({ kind: 'rolling', weekday: 6, format: gzGpg });
    for (const other of [
      'nas-7.tar.zst', // no such weekday
      'nas-2026-13-22T101500Z.tar.zst', // no such month
      'nas-b-2026-11-22T101500Z.tar.zst', // host nas-b
      'nas2-1.tar.zst',
      'other-1.tar.zst',
      '.nas-1.tar.zst.0123456789abcdef01234567.tmp', // a half-written one
      'nas-1.tar.zst.bak',
      'nas-1.tar',
      'notes.txt',
    ]) {
      expect(parseArchiveName('nas', other), other).toBeUndefined();
    }
    // A host whose name starts like another's still only sees its own.
    expect(parseArchiveName('nas-b', 'nas-b-2026-11-22T101500Z.tar.zst')?.kind).toBe('dated');
    expect(parseArchiveName('nas-b', 'nas-2026-11-22T101500Z.tar.zst')).toBeUndefined();
  });
});

describe('dated retention', () => {
  const files = [
    'nas-2026-11-20T000000Z.tar.zst',
    'nas-2026-11-21T000000Z.tar.zst',
    'nas-2026-11-21T000000Z.tar.gz.gpg', // the same snapshot in another format: counted once
    'nas-2026-11-22T000000Z.tar.zst',
    'nas-3.tar.zst', // rolling: never counted, never deleted
    'other-2026-11-01T000000Z.tar.zst',
    'nas-2026-11-01T000000Z.tar.zst.bak',
    'readme.txt',
  ];

  it('keeps the newest N snapshots and deletes only older dated archives of this host', () => {
    expect(datedToDelete('nas', files, 2)).toEqual(['nas-2026-11-20T000000Z.tar.zst']);
    expect(datedToDelete('nas', files, 1)).toEqual(['nas-2026-11-20T000000Z.tar.zst', 'nas-2026-11-21T000000Z.tar.gz.gpg', 'nas-2026-11-21T000000Z.tar.zst']);
    expect(datedToDelete('nas', files, 3)).toEqual([]);
    expect(datedToDelete('nas', files, 10)).toEqual([]);
  });

  it('refuses to keep nothing', () => {
    expect(() => datedToDelete('nas', files, 0)).toThrow(/at least 1/);
  });
});
