// Tests for test/helpers/tree.ts: the helper must see real metadata and must be able to fail.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFidelityTree } from '../helpers/tree-build.js';
import { diffTrees, inodeOf, snapshotTree, type TreeEntry } from '../helpers/tree.js';

const execFileP = promisify(execFile);
const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-tree-'));
  tempDirs.push(dir);
  return dir;
}

async function copyTree(src: string, cpFlags: string[] = []): Promise<string> {
  const dst = await tempDir();
  await execFileP('cp', ['-a', ...cpFlags, src + '/.', dst]);
  return dst;
}

function entry(snapshot: TreeEntry[], p: string): TreeEntry {
  const found = snapshot.find((e) => e.path === p);
  if (found === undefined) throw new Error(`no entry ${JSON.stringify(p)} in snapshot`);
  return found;
}

describe('tree helper', () => {
  let src = '';
  let before: TreeEntry[] = [];

  beforeAll(async () => {
    src = await tempDir();
    await buildFidelityTree(src);
    before = await snapshotTree(src);
  });

  afterEach(async () => {
    // Keep the shared source tree (first temp dir); remove per-test copies.
    const copies = tempDirs.splice(1);
    await Promise.all(copies.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  afterAll(async () => {
    await Promise.all(tempDirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('records the metadata the fidelity tree is made of', () => {
    expect(before[0]?.path).toBe('.');
    expect(entry(before, 'modes/setuid-4755').mode).toBe(0o4755);
    expect(entry(before, 'modes/sticky-1777')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(entry(before, 'names/f\\xff\\xfe.t').type).toBe('file');
    expect(entry(before, 'names/f\\xff\\xfe.t').acl).toContain('user::rw-');
    expect(entry(before, 'names/new\\x0aline').xattrs).toEqual({ 'user.plugback.name': '6f6464' });
    expect(entry(before, 'names/back\\\\slash').xattrs).toEqual({ 'user.plugback.name': '6f6464' });
    expect(entry(before, 'names/-rf').type).toBe('file');
    expect(entry(before, 'names/$(touch pwned) `id`').type).toBe('file');
    expect(entry(before, 'links/target.txt').hardLinkGroup).toBe('links/hardlink-twin.txt');
    expect(entry(before, 'links/two/shared-too.bin').hardLinkGroup).toBe('links/one/shared.bin');
    expect(entry(before, 'modes/plain-0644.txt').hardLinkGroup).toBeUndefined();
    expect(entry(before, 'links/relative-link')).toMatchObject({ type: 'symlink', linkTarget: 'target.txt', acl: '' });
    expect(entry(before, 'links/dangling-link').linkTarget).toBe('does/not/exist');
    expect(entry(before, 'links/dir-link')).toMatchObject({ type: 'symlink', linkTarget: 'sub' });
    expect(entry(before, 'owned-12345.txt')).toMatchObject({ uid: 12345, gid: 54321 });
    expect(entry(before, 'owned-dir')).toMatchObject({ type: 'dir', uid: 23456, gid: 65432 });
    expect(entry(before, 'xattrs.txt').xattrs).toEqual({
      'user.plugback.test': Buffer.from('hello').toString('hex'),
      'user.plugback.binary': '00ff10',
    });
    expect(entry(before, 'acl.txt').acl).toContain('user:12345:rw-');
    expect(entry(before, 'acl-default-dir').acl).toContain('default:group:54321:r-x');
    expect(entry(before, 'acl-default-dir/inherits.txt').acl).toContain('group:54321:r-x');
    const sparse = entry(before, 'sparse.bin');
    expect(sparse.size).toBe(64 * 1024 * 1024);
    expect((sparse.allocatedBlocks ?? Infinity) * 512).toBeLessThan(1024 * 1024);
    expect(entry(before, 'empty-file')).toMatchObject({ type: 'file', size: 0 });
    expect(entry(before, 'empty-dir').type).toBe('dir');
    expect(entry(before, 'fifo').type).toBe('fifo');
    // Fixed past mtimes everywhere, directories included (so they were set after their children).
    const notIn2001 = before.filter((e) => new Date(e.mtimeMs).getUTCFullYear() !== 2001).map((e) => e.path);
    expect(notIn2001).toEqual([]);
  });

  it('inodeOf sees hard links as one inode and distinct files as two', async () => {
    const links = path.join(src, 'links');
    expect(await inodeOf(path.join(links, 'target.txt'))).toBe(await inodeOf(path.join(links, 'hardlink-twin.txt')));
    expect(await inodeOf(path.join(links, 'target.txt'))).not.toBe(await inodeOf(path.join(links, 'relative-link')));
  });

  it('is deterministic and sees a cp -a copy as identical', async () => {
    expect(diffTrees(before, await snapshotTree(src))).toEqual([]);
    const copy = await copyTree(src);
    expect(diffTrees(before, await snapshotTree(copy))).toEqual([]);
  });

  it('reports a changed xattr, mode, ACL and content byte', async () => {
    const copy = await copyTree(src);
    await execFileP('setfattr', ['-n', 'user.plugback.test', '-v', 'changed', path.join(copy, 'xattrs.txt')]);
    await fs.chmod(path.join(copy, 'modes/plain-0644.txt'), 0o600);
    await execFileP('setfacl', ['-m', 'u:777:r', path.join(copy, 'acl.txt')]);
    await flipByteKeepingMtime(path.join(copy, 'modes/noise-300k.bin'), 1000);

    expect(diffTrees(before, await snapshotTree(copy))).toEqual([
      expect.stringMatching(/^acl\.txt: acl ".*" != ".*user:777:r--.*"$/),
      expect.stringMatching(/^modes\/noise-300k\.bin: sha256 [0-9a-f]{64} != [0-9a-f]{64}$/),
      'modes/plain-0644.txt: mode 644 != 600',
      expect.stringMatching(/^modes\/plain-0644\.txt: acl ".*group::r--.*" != ".*group::---.*"$/),
      `xattrs.txt: xattr user.plugback.test ${Buffer.from('hello').toString('hex')} != ${Buffer.from('changed').toString('hex')}`,
    ]);
  });

  it('reports lost sparseness', async () => {
    const copy = await copyTree(src, ['--sparse=never']);
    expect(diffTrees(before, await snapshotTree(copy))).toEqual(['sparse.bin: sparse true != false']);
  });

  it('reports a broken hard link, honouring ignoreMtimeFor', async () => {
    const copy = await copyTree(src);
    const twin = path.join(copy, 'links/two/shared-too.bin');
    await execFileP('cp', ['-p', twin, twin + '.tmp']);
    await fs.rename(twin + '.tmp', twin);
    const after = await snapshotTree(copy);

    expect(diffTrees(before, after)).toContain('links/two: mtime ' + isoOf(entry(before, 'links/two')) + ' != ' + isoOf(entry(after, 'links/two')));
    expect(diffTrees(before, after, { ignoreMtimeFor: (p) => p === 'links/two' })).toEqual([
      'links/one/shared.bin: hardLinkGroup links/one/shared.bin != undefined',
      'links/two/shared-too.bin: hardLinkGroup links/one/shared.bin != undefined',
    ]);
  });

  it('reports missing entries and honours ignoreRootMtime', async () => {
    const copy = await copyTree(src);
    await fs.rm(path.join(copy, 'empty-file'));
    await fs.writeFile(path.join(copy, 'extra'), 'x');
    const t = Date.UTC(2020, 0, 1) / 1000;
    await fs.utimes(copy, t, t);
    const after = await snapshotTree(copy);

    expect(diffTrees(before, after, { ignoreRootMtime: true })).toEqual(['missing in b: empty-file', 'missing in a: extra']);
    expect(diffTrees(before, after)).toContain(`.: mtime ${isoOf(entry(before, '.'))} != 2020-01-01T00:00:00.000Z`);
  });
});

function isoOf(e: TreeEntry): string {
  return new Date(e.mtimeMs).toISOString();
}

/** Inverts one byte in place, then restores the mtime so only the content differs. */
async function flipByteKeepingMtime(file: string, offset: number): Promise<void> {
  const st = await fs.stat(file);
  const handle = await fs.open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
  await fs.utimes(file, st.atime, st.mtime);
}
