// plugback(1) as man renders it, the Exit status of every command's --help, and `install --root` placing the man
// page and the completion scripts where Debian looks (and `uninstall` taking them away).
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { EXIT_STATUS } from '../../src/cli/exit-status.js';
import { CLI, commandPaths, docsWorkspace } from '../helpers/docs-workspace.js';
import { run, shown } from '../helpers/run-command.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';

const tempDir = tempDirsRemovedAfterEach();
const plugback = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [CLI, ...args], env);

async function manPageFile(): Promise<string> {
  const r = await plugback(['man']);
  expect(r.code, shown(r)).toBe(0);
  const file = path.join(await tempDir('man'), 'plugback.1');
  await fs.writeFile(file, r.stdout);
  return file;
}

/** man's own rendering at 80 columns, with groff's warnings on stderr. */
const render = (file: string) => run('man', ['-l', '--warnings', file], { MANWIDTH: '80', MAN_KEEP_FORMATTING: '', PAGER: 'cat' });

describe('plugback(1)', () => {
  it('renders with man -l and groff -ww without a warning', async () => {
    const file = await manPageFile();
    const man = await render(file);
    expect(man.stderr).toBe('');
    expect(man.code, shown(man)).toBe(0);
    expect(man.stdout).toMatch(/^PLUGBACK\(1\)/);
    const groff = await run('groff', ['-man', '-ww', '-z', file]);
    expect(groff.stderr).toBe('');
    expect(groff.code, shown(groff)).toBe(0);
  });

  it('would show a warning for a broken page (the check above can fail)', async () => {
    const file = await manPageFile();
    await fs.appendFile(file, '.TP\n.BOGUS x\n');
    expect((await render(file)).stderr).toMatch(/warning: macro 'BOGUS' not defined/);
    expect((await run('groff', ['-man', '-ww', '-z', file])).stderr).toMatch(/warning: macro 'BOGUS' not defined/);
  });

  it('has a section for every command of buildProgram(), with its options and exit status', async () => {
    const man = (await render(await manPageFile())).stdout.replace(/\u2010\n\s*/g, '');
    const paths = commandPaths({ hidden: false });
    expect(paths.length).toBeGreaterThan(25);
    for (const p of paths) expect(man, p.join(' ')).toMatch(new RegExp(`^ {3}plugback ${p.join(' ')}\\b`, 'm'));
    for (const heading of ['NAME', 'SYNOPSIS', 'OPTIONS', 'COMMANDS', 'EXIT STATUS', 'FILES', 'SEE ALSO']) expect(man).toMatch(new RegExp(`^${heading}$`, 'm'));
    expect(man).toContain('--allow-shrink');
    expect(man).toMatch(/^ {7}75 {3}this drive is being backed up already/m);
    // Hyphens stay ASCII minus signs, so an option copied from the page works.
    expect(man).not.toMatch(/\u2010-allow/);
  });
});

describe('--help', () => {
  it('of every command, hidden ones too, ends with its Exit status', async () => {
    const program = buildProgram();
    const paths = commandPaths({ hidden: true });
    for (const p of [[], ...paths]) {
      const command = p.reduce((c, name) => c.commands.find((s) => s.name() === name) ?? c, program);
      let help = '';
      command.configureOutput({ writeOut: (s) => (help += s) });
      command.outputHelp();
      expect(help, `plugback ${p.join(' ')} --help`).toMatch(/\nExit status:\n {2}0 {3}\S/);
      for (const [code] of EXIT_STATUS[p.join(' ')] ?? []) expect(help).toMatch(new RegExp(`\n  ${code} +\\S`));
    }
    // And the table names no command that is gone.
    expect(Object.keys(EXIT_STATUS).sort()).toEqual(['', ...paths.map((p) => p.join(' '))].sort());
  });

  it('points at docs that exist: man plugback and this installation\'s docs folder', async () => {
    const r = await plugback(['--help']);
    expect(r.code, shown(r)).toBe(0);
    const docs = /the guides in (\S+)\/ \(README\.md first\)/.exec(r.stdout)?.[1];
    expect(r.stdout).toContain('Docs: man plugback (or plugback man | man -l -)');
    expect(docs).toBeDefined();
    expect((await fs.stat(path.join(docs ?? '/nonexistent', 'README.md'))).isFile()).toBe(true);
  });
});

describe('install --root', () => {
  it('puts the man page and the bash, zsh and fish completions where Debian looks, and uninstall takes them away', async () => {
    const ws = await docsWorkspace(await tempDir('docs-install'));
    const root = path.join(ws.dir, 'root');
    await fs.mkdir(root);
    const installed = await plugback(['install', '--root', root, '--config', ws.config]);
    expect(installed.code, shown(installed)).toBe(0);
    const places = {
      '/usr/local/share/man/man1/plugback.1': ['man'],
      '/usr/local/share/bash-completion/completions/plugback': ['completion', 'bash'],
      '/usr/local/share/zsh/site-functions/_plugback': ['completion', 'zsh'],
      '/usr/share/fish/vendor_completions.d/plugback.fish': ['completion', 'fish'],
    };
    for (const [place, args] of Object.entries(places)) {
      expect(installed.stdout).toContain(`wrote ${root}${place}`);
      expect(await fs.readFile(path.join(root, place), 'utf8')).toBe((await plugback(args)).stdout);
    }
    // man finds the page under the root's /usr/local/share/man, as it does on / (MANDATORY_MANPATH on Debian).
    const man = await run('man', ['--manpath', path.join(root, 'usr/local/share/man'), '-w', 'plugback']);
    expect(man.stdout.trim()).toBe(path.join(root, 'usr/local/share/man/man1/plugback.1'));

    const again = await plugback(['install', '--root', root, '--config', ws.config]);
    expect(again.stdout).toContain('nothing to change');
    const removed = await plugback(['uninstall', '--root', root, '--config', ws.config]);
    expect(removed.code, shown(removed)).toBe(0);
    for (const place of Object.keys(places)) expect(removed.stdout).toContain(`removed ${root}${place}`);
    expect(await fs.readdir(root)).toEqual([]);
  });
});
