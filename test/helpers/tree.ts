// Test helpers: snapshot any tree's metadata and diff two snapshots (tree-build.ts builds the fidelity tree).
// Everything here works on real files and needs root (chown, trusted.* xattrs) plus attr/acl tools.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'other';

export interface TreeEntry {
  /** Relative path ('.' for the root); backslash, control and non-UTF-8 bytes escaped as `\\` / `\xHH`. */
  path: string;
  type: EntryType;
  /** st_mode & 0o7777 */
  mode: number;
  uid: number;
  gid: number;
  /** Byte size for files and symlinks; 0 for dirs and specials (dir sizes are filesystem noise). */
  size: number;
  /** mtime in ms, truncated to whole seconds. */
  mtimeMs: number;
  sha256?: string;
  linkTarget?: string;
  /** Path of the first entry (in sort order) sharing this inode, when several paths in the tree do. */
  hardLinkGroup?: string;
  /** user.* and trusted.* xattrs: name -> hex value (no 0x prefix). */
  xattrs: Record<string, string>;
  /** getfacl body (access + default ACL), one entry per line; '' for symlinks. */
  acl: string;
  /** st_blocks, regular files only. */
  allocatedBlocks?: number;
}

export interface DiffOptions {
  ignoreMtimeFor?: (p: string) => boolean;
  ignoreRootMtime?: boolean;
}
// Snapshot
// ---------------------------------------------------------------------------

export interface Found {
  /** Relative path bytes; '.' for the root. */
  rel: Buffer;
  abs: Buffer;
  st: Stats;
}

const SLASH = Buffer.from('/');
const DOT = Buffer.from('.');

/** Sorts by relative path bytes, with the root pinned first. */
function compareRel(a: Buffer, b: Buffer): number {
  if (a.equals(DOT) || b.equals(DOT)) return Number(b.equals(DOT)) - Number(a.equals(DOT));
  return Buffer.compare(a, b);
}

/** lstat-walks root with Buffer paths (never following symlinks). */
export async function walk(root: string): Promise<Found[]> {
  const rootBuf = Buffer.from(root);
  const out: Found[] = [];
  const visit = async (rel: Buffer | undefined): Promise<void> => {
    const abs = rel ? Buffer.concat([rootBuf, SLASH, rel]) : rootBuf;
    const st = await fs.lstat(abs);
    out.push({ rel: rel ?? DOT, abs, st });
    if (!st.isDirectory()) return;
    for (const name of await fs.readdir(abs, { encoding: 'buffer' })) {
      await visit(rel ? Buffer.concat([rel, SLASH, name]) : name);
    }
  };
  await visit(undefined);
  return out.sort((a, b) => compareRel(a.rel, b.rel));
}

// Records metadata of every entry under root (root itself as '.'), sorted by relative path bytes.
export async function snapshotTree(root: string): Promise<TreeEntry[]> {
  const found = await walk(root);
  const xattrDump = parseDump(await runTool('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], root));
  const aclDump = parseDump(await runTool('getfacl', ['-R', '-P', '-n', '.'], root));
  const groups = hardLinkGroups(found);
  const entries: TreeEntry[] = [];
  for (const f of found) {
    const key = f.rel.toString('latin1');
    entries.push(await describeEntry(f, groups.get(key), parseXattrs(xattrDump.get(key) ?? []), (aclDump.get(key) ?? []).join('\n')));
  }
  return entries;
}

async function describeEntry(f: Found, hardLinkGroup: string | undefined, xattrs: Record<string, string>, acl: string): Promise<TreeEntry> {
  const type = typeOf(f.st);
  const entry: TreeEntry = {
    path: renderPath(f.rel),
    type,
    mode: f.st.mode & 0o7777,
    uid: f.st.uid,
    gid: f.st.gid,
    size: type === 'file' || type === 'symlink' ? f.st.size : 0,
    mtimeMs: Math.floor(f.st.mtimeMs / 1000) * 1000,
    xattrs,
    acl: type === 'symlink' ? '' : acl,
  };
  if (type === 'file') {
    entry.sha256 = await sha256(f.abs);
    entry.allocatedBlocks = f.st.blocks;
  }
  if (type === 'symlink') entry.linkTarget = renderPath(await fs.readlink(f.abs, { encoding: 'buffer' }));
  if (hardLinkGroup !== undefined) entry.hardLinkGroup = hardLinkGroup;
  return entry;
}

function typeOf(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/**
 * Labels files whose inode is shared by several paths *within this tree* with the first such path.
 * (Counting nlink alone would flag snapshot files hard-linked to a previous snapshot.)
 */
function hardLinkGroups(found: Found[]): Map<string, string> {
  const byInode = new Map<string, Found[]>();
  for (const f of found) {
    if (!f.st.isFile() || f.st.nlink < 2) continue;
    const id = `${f.st.dev}:${f.st.ino}`;
    byInode.set(id, [...(byInode.get(id) ?? []), f]);
  }
  const labels = new Map<string, string>();
  for (const members of byInode.values()) {
    const first = members[0];
    if (members.length < 2 || first === undefined) continue;
    for (const m of members) labels.set(m.rel.toString('latin1'), renderPath(first.rel));
  }
  return labels;
}

async function sha256(p: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Renders path bytes as a string: valid UTF-8 kept, `\` doubled, control and invalid bytes as \xHH.
export function renderPath(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const [text, length] = renderAt(bytes, i);
    out += text;
    i += length;
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function renderAt(bytes: Buffer, i: number): [string, number] {
  const byte = bytes[i] ?? 0;
  const hex = `\\x${byte.toString(16).padStart(2, '0')}`;
  if (byte === 0x5c) return ['\\\\', 1];
  if (byte < 0x20 || byte === 0x7f) return [hex, 1];
  if (byte < 0x80) return [String.fromCharCode(byte), 1];
  for (let length = 2; length <= 4; length++) {
    try {
      return [strictUtf8.decode(bytes.subarray(i, i + length)), length];
    } catch {
      // incomplete or invalid sequence at this length: try the next one
    }
  }
  return [hex, 1];
}

/** Runs an attr/acl tool without a shell, in the C locale, returning raw stdout bytes. */
async function runTool(cmd: string, args: string[], cwd: string): Promise<Buffer> {
  const { stdout } = await execFileP(cmd, args, {
    cwd,
    encoding: 'buffer',
    maxBuffer: 256 * MiB,
    env: { ...process.env, LC_ALL: 'C' },
  });
  return stdout;
}

/**
 * Splits recursive getfattr/getfacl output into per-path body lines ("# ..." header lines dropped).
 * Keys are the unescaped path bytes as a latin1 string; both tools escape "\n" and "\" in names
 * (getfattr as \012 / \134, getfacl as \012 / \\) but print other bytes, even invalid UTF-8, raw.
 */
function parseDump(out: Buffer): Map<string, string[]> {
  const records = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = [];
      records.set(normalizeDumpPath(unescapeTool(line.slice('# file: '.length))), current);
    } else if (line !== '' && !line.startsWith('# ')) {
      current.push(line);
    }
  }
  return records;
}

function unescapeTool(s: string): string {
  return s.replace(/\\(\\|[0-7]{3})/g, (_, m: string) => (m === '\\' ? '\\' : String.fromCharCode(parseInt(m, 8))));
}

function normalizeDumpPath(p: string): string {
  return p.startsWith('./') ? p.slice(2) : p;
}

/** Parses "name=0xHEX" lines, keeping user.* and trusted.* (system.* ACLs are compared via getfacl). */
function parseXattrs(lines: string[]): Record<string, string> {
  const xattrs: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    const name = unescapeTool(eq < 0 ? line : line.slice(0, eq));
    const value = eq < 0 ? '' : line.slice(eq + 1).replace(/^0x/, '');
    if (name.startsWith('user.') || name.startsWith('trusted.')) xattrs[name] = value;
  }
  return xattrs;
}

// ---------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------

// Human-readable differences between two snapshots; [] means identical.
export function diffTrees(a: TreeEntry[], b: TreeEntry[], opts: DiffOptions = {}): string[] {
  const inB = new Map(b.map((e) => [e.path, e]));
  const inA = new Set(a.map((e) => e.path));
  const diffs: string[] = [];
  for (const ea of a) {
    const eb = inB.get(ea.path);
    if (eb === undefined) diffs.push(`missing in b: ${ea.path}`);
    else diffs.push(...diffEntry(ea, eb, opts));
  }
  for (const eb of b) if (!inA.has(eb.path)) diffs.push(`missing in a: ${eb.path}`);
  return diffs;
}

function diffEntry(a: TreeEntry, b: TreeEntry, opts: DiffOptions): string[] {
  const p = a.path;
  const out: string[] = [];
  const cmp = (what: string, x: unknown, y: unknown): void => {
    if (x !== y) out.push(`${p}: ${what} ${String(x)} != ${String(y)}`);
  };
  cmp('type', a.type, b.type);
  cmp('mode', a.mode.toString(8), b.mode.toString(8));
  cmp('uid', a.uid, b.uid);
  cmp('gid', a.gid, b.gid);
  cmp('size', a.size, b.size);
  if (!ignoreMtime(p, opts)) cmp('mtime', isoTime(a.mtimeMs), isoTime(b.mtimeMs));
  cmp('sha256', a.sha256, b.sha256);
  cmp('linkTarget', a.linkTarget, b.linkTarget);
  cmp('hardLinkGroup', a.hardLinkGroup, b.hardLinkGroup);
  cmp('sparse', isSparse(a), isSparse(b));
  if (a.acl !== b.acl) out.push(`${p}: acl ${JSON.stringify(a.acl)} != ${JSON.stringify(b.acl)}`);
  out.push(...diffXattrs(p, a.xattrs, b.xattrs));
  return out;
}

function ignoreMtime(p: string, opts: DiffOptions): boolean {
  return (opts.ignoreRootMtime === true && p === '.') || (opts.ignoreMtimeFor?.(p) ?? false);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Sparse = a file of at least 1 MiB with less than half its size allocated; undefined for non-files. */
function isSparse(e: TreeEntry): boolean | undefined {
  if (e.allocatedBlocks === undefined) return undefined;
  return e.size >= MiB && e.allocatedBlocks * 512 < e.size / 2;
}

function diffXattrs(p: string, a: Record<string, string>, b: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: string[] = [];
  for (const n of names) {
    if (a[n] !== b[n]) out.push(`${p}: xattr ${n} ${a[n] ?? '(absent)'} != ${b[n] ?? '(absent)'}`);
  }
  return out;
}

// lstat inode number of a path (does not follow symlinks).
export async function inodeOf(p: string): Promise<number> {
  return (await fs.lstat(p)).ino;
}
