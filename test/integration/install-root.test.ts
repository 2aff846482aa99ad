// `plugback install --root DIR` and `uninstall --root DIR` on an empty folder, as when building an image: it
// works without a group database there (making one, and taking it away again), and every path it prints is
// the path on disk (DIR/etc/...), so nothing reads as if the real system had been touched.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function emptyRoot(): Promise<{ root: string; config: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-install-root-'));
  dirs.push(dir);
  const root = path.join(dir, 'root');
  await fs.mkdir(root);
  const config = path.join(dir, 'config.yaml');
  const lines = ['host: nas', 'stateDir: /var/lib/plugback', 'drives: {offsite-a: {uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}}', 'states: {photos: {folders: [/srv/photos]}}'];
  await fs.writeFile(config, `${lines.join('\n')}\n`);
  return { root, config };
}

const plugback = async (...args: string[]) => (await execFileP(process.execPath, [CLI, ...args])).stdout;

describe('install --root on an empty folder', () => {
  it('creates the group in a new DIR/etc/group, prints every path under DIR, and uninstall leaves the folder empty', async () => {
    const { root, config } = await emptyRoot();
    const installed = await plugback('install', '--root', root, '--config', config);
    expect(await fs.readFile(path.join(root, 'etc/group'), 'utf8')).toMatch(/^plugback:x:\d+:$/m);
    expect(installed).toContain(`created ${root}/etc/group (this root had no group database)`);
    expect(installed).toContain(`wrote ${root}/etc/systemd/system/plugback.service`);
    expect(installed).toContain(`created ${root}/var/lib/plugback`);
    // Every line that names a path names it under the root (the crypttab advice after the blank line aside).
    const paths = installed.split('\n\n')[0]?.split('\n').flatMap((l) => l.match(/ (\/\S+)/g) ?? []) ?? [];
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) expect(p.trim().startsWith(root), p).toBe(true);

    const removed = await plugback('uninstall', '--root', root, '--config', config);
    expect(removed).toContain(`removed ${root}/etc/systemd/system/plugback.service`);
    expect(removed).toContain('removed the group plugback');
    expect(removed).not.toMatch(/^removed \/(etc|var|usr)\//m);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it("keeps a root's own group database, adding plugback's line and taking only that away again", async () => {
    const { root, config } = await emptyRoot();
    await fs.mkdir(path.join(root, 'etc'));
    await fs.writeFile(path.join(root, 'etc/group'), 'root:x:0:\n');
    await plugback('install', '--root', root, '--config', config);
    expect(await fs.readFile(path.join(root, 'etc/group'), 'utf8')).toMatch(/^root:x:0:\nplugback:x:\d+:\n$/);
    await plugback('uninstall', '--root', root, '--config', config);
    expect(await fs.readFile(path.join(root, 'etc/group'), 'utf8')).toBe('root:x:0:\n');
  });
});
