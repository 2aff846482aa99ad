// Audit D20: paths from the config and the config's own path never inject directives into generated units.
// Checked by systemd-analyze verify on the written files, and through the real CLI (`npm run build` first).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { generate } from '../../src/units/generate.js';
import { loadTemplates } from '../../src/units/templates.js';
import { writeTree } from '../../src/units/write-tree.js';

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-hostile-gen-'));
  temps.push(dir);
  return dir;
}

const options = (configFile: string) => ({ command: ['/bin/true'], configFile, docsDir: '/usr/share/doc/plugback', version: 'test' });

describe('generated units with hostile paths (D20)', () => {
  it('escape "%", "\\" and \'"\' in ReadWritePaths=, so systemd-analyze verify reads the stateDir back cleanly', async () => {
    const dir = await tempDir();
    const stateDir = '/var/lib/pb "quoted" 100%Z back\\slash';
    const config = parseConfig(`stateDir: ${JSON.stringify(stateDir)}\ndrives:\n  a: {path: /srv/t}\nstates:\n  s: {folders: [/srv/d]}\n`, path.join(dir, 'c.yaml'));
    expect(config.stateDir).toBe(stateDir);
    await writeTree(dir, generate(config, await loadTemplates(), options(path.join(dir, 'c.yaml'))));
    const unitDir = path.join(dir, 'etc/systemd/system');
    const unit = await fs.readFile(path.join(unitDir, 'plugback-failure@.service'), 'utf8');
    expect(unit).toContain('ReadWritePaths="/var/lib/pb \\"quoted\\" 100%%Z back\\\\slash"\n');
    const r = await execa('systemd-analyze', ['verify', '--man=no', 'plugback-failure@plugback.service.service'], {
      env: { SYSTEMD_UNIT_PATH: `${unitDir}:` },
      reject: false,
    });
    // An unbalanced quote or an unknown specifier (%Z) would be a warning on stderr.
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('refuse a line break in a path or the config path, even one that did not come through the schema', async () => {
    const base = parseConfig(`drives:\n  a: {uuid: ${UUID}}\nstates:\n  s: {folders: [/srv/d]}\ninstall: {trigger: units}\n`, '/etc/plugback/c.yaml');
    const templates = await loadTemplates();
    const injected = '\nExecStartPre=/nonexistent/INJECTED';
    const withStateDir: Config = { ...base, stateDir: `/var/lib/pb${injected}` };
    expect(() => generate(withStateDir, templates, options('/etc/plugback/c.yaml'))).toThrow(/stateDir .* contains a control character/);
    const luks = base.drives[0];
    if (luks?.kind !== 'luks') throw new Error('the config has a LUKS drive');
    const withMount: Config = { ...base, drives: [{ ...luks, mountPoint: `/run/pb${injected}` }] };
    expect(() => generate(withMount, templates, options('/etc/plugback/c.yaml'))).toThrow(/drives\.a\.mountPoint .* contains a control character/);
    expect(() => generate(base, templates, options(`/etc/plugback${injected}/c.yaml`))).toThrow(/the config path .* contains a control character/);
  });

  it('through the CLI: a mountPoint with a line break is refused at its place and nothing is written', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'c.yaml');
    await fs.writeFile(config, `drives:\n  a:\n    uuid: ${UUID}\n    mountPoint: "/run/pb\\nExecStartPre=/nonexistent/INJECTED"\nstates:\n  s: {folders: [/srv/d]}\ninstall: {trigger: units}\n`);
    const r = await execa(process.execPath, [CLI, 'generate', '--config', config, '--out', path.join(dir, 'out')], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${config}:4:17: drives\\.a\\.mountPoint: mountPoint contains U\\+000A \\(a line break\\)`));
    await expect(fs.access(path.join(dir, 'out'))).rejects.toThrow(/ENOENT/);
  });

  it('through the CLI: a config in a folder whose name holds a line break is refused by generate', async () => {
    const dir = await tempDir();
    const odd = path.join(dir, 'x\nExecStartPre=INJECTED');
    await fs.mkdir(odd);
    const config = path.join(odd, 'c.yaml');
    await fs.writeFile(config, 'drives:\n  a: {path: /srv/t}\nstates:\n  s: {folders: [/srv/d]}\n');
    const r = await execa(process.execPath, [CLI, 'generate', '--config', config, '--out', path.join(dir, 'out')], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the config path');
    expect(r.stderr).toContain('contains a control character (such as a line break), which a systemd unit cannot hold');
    await expect(fs.access(path.join(dir, 'out'))).rejects.toThrow(/ENOENT/);
  });
});
