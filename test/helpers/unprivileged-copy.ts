// What a test runs as another user (uid 65534) must be readable by that user, and the checkout may sit in a
// directory only root can enter. So the built CLI, the API-call helper, package.json and the runtime packages they
// import are copied into a temp dir that user can read, kept the way node resolves them; removed by cleanup().
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface UnprivilegedCopy {
  /** node dist/main.js, in the copy. */
  main: string;
  /** test/helpers/api-call.mjs, in the copy. */
  apiCall: string;
  cleanup(): Promise<void>;
}

export async function copyForUnprivileged(checkout = process.cwd()): Promise<UnprivilegedCopy> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-unpriv-'));
  try {
    await fs.chmod(dir, 0o755);
    await fs.cp(path.join(checkout, 'dist'), path.join(dir, 'dist'), { recursive: true });
    await fs.copyFile(path.join(checkout, 'package.json'), path.join(dir, 'package.json'));
    await fs.mkdir(path.join(dir, 'test', 'helpers'), { recursive: true });
    await fs.copyFile(path.join(checkout, 'test', 'helpers', 'api-call.mjs'), path.join(dir, 'test', 'helpers', 'api-call.mjs'));
    await copyPackages(checkout, dir);
    await openUp(dir);
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    main: path.join(dir, 'dist', 'main.js'),
    apiCall: path.join(dir, 'test', 'helpers', 'api-call.mjs'),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The runtime dependency closure of the checkout, each package copied to the same place under `dir`. */
async function copyPackages(checkout: string, dir: string): Promise<void> {
  const copied = new Set<string>();
  const queue: { name: string; from: string }[] = [];
  const enqueue = async (from: string) => {
    const m = await readManifest(from);
    for (const name of Object.keys({ ...m.dependencies, ...m.optionalDependencies })) queue.push({ name, from });
  };
  await enqueue(checkout);
  for (let next = queue.shift(); next; next = queue.shift()) {
    const found = await locate(next.name, next.from, checkout);
    if (!found || copied.has(found.relative)) continue;
    copied.add(found.relative);
    // dereference: node_modules may be a symlink to another checkout's.
    await fs.cp(found.real, path.join(dir, found.relative), { recursive: true, dereference: true });
    await enqueue(found.real);
  }
}

/** Finds `name` as node does from package dir `from` (walking up node_modules folders), relative to the checkout. */
async function locate(name: string, from: string, checkout: string): Promise<{ real: string; relative: string } | undefined> {
  for (let at = from; ; at = path.dirname(at)) {
    const candidate = path.join(at, 'node_modules', name);
    if (await fs.stat(path.join(candidate, 'package.json')).then(() => true, () => false)) {
      const relative = path.relative(checkout, candidate);
      // Inside the checkout's tree (possibly through the node_modules link): keep its place; else flatten to the top.
      return { real: candidate, relative: relative.startsWith('..') ? path.join('node_modules', name) : relative };
    }
    if (at === checkout || path.dirname(at) === at) return undefined;
  }
}

/** Readable (and directories enterable) by everyone, whatever the umask or the source modes were. */
async function openUp(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await openUp(p);
    else if (entry.isFile()) await fs.chmod(p, ((await fs.stat(p)).mode & 0o777) | 0o444);
  }
}
