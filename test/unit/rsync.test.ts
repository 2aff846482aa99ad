import { describe, expect, it } from 'vitest';
import {
  classifyRsyncExit,
  parseProgressLine,
  parseRsyncStats,
  rsyncArgs,
  RsyncOutputSplitter,
  withLowPriority,
  type RsyncProgress,
} from '../../src/system/rsync.js';

describe('rsync progress2 output', () => {
  it('parses an update in the middle of a file, with the time left', () => {
    expect(parseProgressLine('       32768   0%    0.00kB/s    0:01:05  ')).toEqual({ bytes: 32768, percent: 0, rate: 0, etaSeconds: 65 });
  });

  it('does not take the time elapsed, printed at the end of each file, for the time left', () => {
    expect(parseProgressLine('       30000000  99%  211.70MB/s    0:01:05 (xfr#1, to-chk=1/6)')).toEqual({
      bytes: 30_000_000,
      percent: 99,
      rate: 211.7 * 1024 * 1024,
      etaSeconds: undefined,
    });
  });

  it('leaves the ETA unknown while rsync cannot tell it', () => {
    expect(parseProgressLine('  1000   1%  1.00GB/s    ??:??:??')?.etaSeconds).toBeUndefined();
  });

  it('does not take statistics or file names for progress', () => {
    expect(parseProgressLine('Number of files: 6 (reg: 2, dir: 4)')).toBeUndefined();
    expect(parseProgressLine('1234 photos from 2019')).toBeUndefined();
  });

  it('splits \\r-separated updates from \\n-separated lines across chunk boundaries', () => {
    const progress: RsyncProgress[] = [];
    const lines: string[] = [];
    const splitter = new RsyncOutputSplitter((p) => progress.push(p), (l) => lines.push(l));
    const output = '\r   100  10%  1.00MB/s    0:00:09\r   500  50%  1.00MB/s    0:00:05 (xfr#1, to-chk=1/2)\r  1000 100%  1.00MB/s    0:00:00 (xfr#2, to-chk=0/2)\n\nNumber of files: 3 (reg: 2, dir: 1)\nTotal file size: 1000 bytes\n';
    for (let i = 0; i < output.length; i += 7) splitter.push(output.slice(i, i + 7));
    splitter.end();
    expect(progress.map((p) => p.percent)).toEqual([10, 50, 100]);
    expect(lines).toEqual(['Number of files: 3 (reg: 2, dir: 1)', 'Total file size: 1000 bytes']);
  });

  it('parses only the newest of the updates that arrive together, without losing other lines', () => {
    const progress: RsyncProgress[] = [];
    const lines: string[] = [];
    const splitter = new RsyncOutputSplitter((p) => progress.push(p), (l) => lines.push(l));
    const updates = Array.from({ length: 1000 }, (_, i) => `  ${i * 10} ${Math.floor(i / 10)}%  1.00MB/s    0:00:09 (xfr#${i}, to-chk=1/2)`);
    splitter.push(`\r${updates.join('\r')}\nNumber of files: 3 (reg: 2, dir: 1)\n`);
    splitter.end();
    expect(progress).toEqual([{ bytes: 9990, percent: 99, rate: 1024 * 1024, etaSeconds: undefined }]);
    expect(lines).toEqual(['Number of files: 3 (reg: 2, dir: 1)']);
  });

  it('keeps memory bounded when a line never ends', () => {
    const splitter = new RsyncOutputSplitter(() => undefined, () => undefined);
    for (let i = 0; i < 1000; i++) splitter.push('x'.repeat(1000));
    expect((splitter as unknown as { pending: string }).pending.length).toBeLessThanOrEqual(4096);
  });
});

describe('rsync statistics', () => {
  it('reads the source totals and the transferred bytes', () => {
    const lines = [
      'Number of files: 50123 (reg: 48000, dir: 2000, link: 123)',
      'Number of created files: 6 (reg: 2, dir: 4)',
      'Total file size: 1073741824 bytes',
      'Total transferred file size: 10737418 bytes',
    ];
    expect(parseRsyncStats(lines)).toEqual({ entries: 50123, files: 48000, bytes: 1073741824, transferredBytes: 10737418 });
  });

  it('handles a source with no regular files', () => {
    expect(parseRsyncStats(['Number of files: 1 (dir: 1)', 'Total file size: 0 bytes'])).toMatchObject({ files: 0, entries: 1 });
  });

  it('returns nothing when the statistics are missing', () => {
    expect(parseRsyncStats(['rsync error: some files could not be transferred'])).toBeUndefined();
  });
});

describe('rsync exit codes', () => {
  it('treats 24 (vanished files) and 23 (partial transfer) as warnings and the rest as failures', () => {
    expect(classifyRsyncExit(0)).toEqual({ kind: 'ok' });
    expect(classifyRsyncExit(24)).toMatchObject({ kind: 'warning', code: 24 });
    expect(classifyRsyncExit(23)).toMatchObject({ kind: 'warning', code: 23, meaning: expect.stringContaining('completed with errors') });
    expect(classifyRsyncExit(11)).toMatchObject({ kind: 'failed', meaning: expect.stringContaining('drive full') });
    expect(classifyRsyncExit(20)).toMatchObject({ kind: 'failed', meaning: expect.stringContaining('signal') });
    expect(classifyRsyncExit(99)).toMatchObject({ kind: 'failed', meaning: 'unknown exit code 99' });
  });
});

describe('the rsync command line', () => {
  it('copies with full fidelity, links to the previous snapshot and limits bandwidth in KiB', () => {
    const args = rsyncArgs({
      sources: ['/srv/a', '/'],
      dest: '/mnt/snap/s',
      linkDest: '/mnt/prev/s',
      excludes: ['*.tmp'],
      bandwidthLimitBytes: 20 * 1024 * 1024,
      xattrs: true,
      acls: true,
      fineTimes: true,
    });
    expect(args).toEqual([
      '-aHS', '--numeric-ids', '--relative', '--delete', '--delete-excluded', '-A', '-X', '--modify-window=-1',
      '--info=progress2', '--no-h', '--stats', '--link-dest=/mnt/prev/s', '--bwlimit=20480', '--exclude=*.tmp',
      '--', '/srv/a/', '/', '/mnt/snap/s/',
    ]);
  });

  it('leaves out ACLs and xattrs when the target cannot keep them', () => {
    const args = rsyncArgs({ sources: ['/a'], dest: '/d', excludes: [], xattrs: false, acls: false });
    expect(args).not.toContain('-A');
    expect(args).not.toContain('-X');
    expect(args.some((a) => a.startsWith('--link-dest'))).toBe(false);
  });

  it('runs under ionice and nice as configured', () => {
    expect(withLowPriority('rsync', ['-a'], { nice: 19, ioClass: 'idle', ioPriority: 7 })).toEqual({
      command: 'ionice',
      args: ['-c', '3', 'nice', '-n', '19', 'rsync', '-a'],
    });
    expect(withLowPriority('rsync', ['-a'], { nice: 0, ioClass: 'best-effort', ioPriority: 4 })).toEqual({
      command: 'ionice',
      args: ['-c', '2', '-n', '4', 'rsync', '-a'],
    });
    expect(withLowPriority('rsync', ['-a'], { nice: 0, ioClass: 'none', ioPriority: 7 })).toEqual({ command: 'rsync', args: ['-a'] });
  });
});
