// The completion scripts of `plugback completion bash|zsh|fish`, loaded by the real shells: they parse, register,
// and complete command names, subcommands, options, choices and the config's drive and state names.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, docsWorkspace, topLevelCommands, type DocsWorkspace } from '../helpers/docs-workspace.js';
import { run, shown } from '../helpers/run-command.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';

const tempDir = tempDirsRemovedAfterEach();

async function script(shell: 'bash' | 'zsh' | 'fish', name: string): Promise<{ ws: DocsWorkspace; file: string }> {
  const ws = await docsWorkspace(await tempDir(`completion-${shell}`));
  const r = await run(process.execPath, [CLI, 'completion', shell]);
  expect(r.code, shown(r)).toBe(0);
  const file = path.join(ws.dir, name);
  await fs.writeFile(file, r.stdout);
  return { ws, file };
}

const words = (text: string) => text.split('\n').filter((w) => w !== '').sort();

describe('bash completion', () => {
  /** What bash offers for the line `words` (the last one being completed), as bash calls the function. */
  async function complete(ws: DocsWorkspace, file: string, ...line: string[]): Promise<string[]> {
    const code = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _plugback; printf "%s\\n" "${COMPREPLY[@]}"';
    const r = await run('bash', ['-c', code, 'bash', file, ...line], ws.env);
    expect(r.stderr).toBe('');
    return words(r.stdout);
  }

  it('parses, registers for plugback, and completes commands, subcommands, options, choices and drive names', async () => {
    const { ws, file } = await script('bash', 'plugback.bash');
    expect((await run('bash', ['-n', file])).code).toBe(0);
    const registered = await run('bash', ['-c', 'source "$1" && complete -p plugback', 'bash', file]);
    expect(registered.stdout.trim()).toBe('complete -F _plugback plugback');
    expect(await complete(ws, file, 'plugback', '')).toEqual([...topLevelCommands()].sort());
    expect(await complete(ws, file, 'plugback', 'dri')).toEqual(['drive', 'drives']);
    expect(await complete(ws, file, 'plugback', 'led', '')).toEqual(['clear', 'list', 'off', 'show']);
    expect(await complete(ws, file, 'plugback', 'run', '--')).toEqual(['--allow-shrink', '--config', '--help', '--json', '--log-level', '--quiet']);
    expect(await complete(ws, file, 'plugback', 'run', '--log-level', '')).toEqual(['debug', 'error', 'info', 'warn']);
    expect(await complete(ws, file, 'plugback', '--config', ws.config, 'run', '')).toEqual(['nas-disk', 'offsite-a']);
    // archive takes a drive or its subcommand; restore --state takes the config's states.
    expect(await complete(ws, file, 'plugback', 'archive', '-c', ws.config, '')).toEqual(['nas-disk', 'offsite-a', 'restore']);
    expect(await complete(ws, file, 'plugback', 'restore', 'offsite-a', '--config', ws.config, '--state', '')).toEqual(['linkding', 'photos']);
    // After the drive, run takes nothing more.
    expect(await complete(ws, file, 'plugback', '--config', ws.config, 'run', 'offsite-a', '')).toEqual([]);
  });

  it("is found by bash-completion's loader in the completions folder install uses", async () => {
    const { ws, file } = await script('bash', 'plugback.bash');
    const share = path.join(ws.dir, 'usr/local/share');
    await fs.mkdir(path.join(share, 'bash-completion/completions'), { recursive: true });
    await fs.rename(file, path.join(share, 'bash-completion/completions/plugback'));
    const code = 'source /usr/share/bash-completion/bash_completion; __load_completion plugback && complete -p plugback';
    const r = await run('bash', ['-c', code], { ...ws.env, XDG_DATA_DIRS: share });
    expect(r.stdout.trim(), shown(r)).toBe('complete -F _plugback plugback');
  });
});

describe('zsh completion', () => {
  it('parses, and compinit takes it from a folder in $fpath as the completion of plugback (as from site-functions)', async () => {
    const { ws, file } = await script('zsh', '_plugback');
    expect((await run('zsh', ['-n', file])).code).toBe(0);
    const code = `fpath=(${ws.dir} $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[plugback]`;
    const r = await run('zsh', ['-f', '-c', code], ws.env);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('_plugback');
    const sourced = await run('zsh', ['-f', '-c', `autoload -U compinit; compinit -u -D; source ${file}; print -r -- $_comps[plugback]`], ws.env);
    expect(sourced.stderr).toBe('');
    expect(sourced.stdout.trim()).toBe('_plugback');
  });

  it('completes in a real interactive zsh: command names with descriptions, and drive names from --config', async () => {
    const { ws } = await script('zsh', '_plugback');
    const helper = fileURLToPath(new URL('../helpers/zsh-complete.zsh', import.meta.url));
    // timeout(1) only ends a zsh that never shows the text; the test fails then on what it did show.
    const typed = async (line: string, text: string) => {
      const r = await run('timeout', ['40', 'zsh', '-f', helper, ws.dir, line, text], ws.env);
      // What the terminal showed, without its colour and cursor sequences.
      return { ...r, stdout: r.stdout.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '') };
    };
    const commands = await typed('plugback dri', 'drives  -- ');
    expect(commands.code, shown(commands)).toBe(0);
    expect(commands.stdout).toContain('drive   -- prepare backup drives');
    const drives = await typed(`plugback --config ${ws.config} run `, 'offsite-a');
    expect(drives.code, shown(drives)).toBe(0);
    expect(drives.stdout).toMatch(/nas-disk\s+offsite-a/);
    // Every command, each with its description (read up to the last one, versions, whose line is still coming).
    const all = await typed('plugback ', 'versions ');
    for (const name of topLevelCommands()) expect(all.stdout).toMatch(new RegExp(name === 'versions' ? '^versions $' : `^${name} +-- \\S`, 'm'));
    const levels = await typed('plugback run --log-level ', 'warn');
    expect(levels.stdout).toMatch(/debug\s+error\s+info\s+warn/);
  });
});

describe('fish completion', () => {
  const complete = async (ws: DocsWorkspace, source: string, line: string, env: NodeJS.ProcessEnv = {}) => {
    const r = await run('fish', ['-c', `${source}complete -C '${line}'`], { ...ws.env, HOME: ws.dir, XDG_CONFIG_HOME: path.join(ws.dir, 'config'), XDG_DATA_HOME: path.join(ws.dir, 'data'), ...env });
    expect(r.stderr).toBe('');
    return words(r.stdout).map((w) => w.split('\t')[0]);
  };

  it('parses, and completes commands, subcommands, options and drive names', async () => {
    const { ws, file } = await script('fish', 'plugback.fish');
    const parsed = await run('fish', ['-n', file]);
    expect(parsed.code, shown(parsed)).toBe(0);
    const source = `source ${file}; `;
    expect(await complete(ws, source, 'plugback ')).toEqual([...topLevelCommands()].sort());
    expect(await complete(ws, source, 'plugback archive restore --')).toEqual(['--config', '--help', '--passphrase-file', '--to', '--yes']);
    expect(await complete(ws, source, `plugback run --config ${ws.config} `)).toEqual(['nas-disk', 'offsite-a']);
    expect(await complete(ws, source, `plugback restore x --config ${ws.config} --state `)).toEqual(['linkding', 'photos']);
    expect(await complete(ws, source, 'plugback completion ')).toEqual(['bash', 'fish', 'zsh']);
  });

  it('is loaded by fish from the vendor_completions.d folder install uses', async () => {
    const { ws, file } = await script('fish', 'plugback.fish');
    const share = path.join(ws.dir, 'usr/share');
    await fs.mkdir(path.join(share, 'fish/vendor_completions.d'), { recursive: true });
    await fs.rename(file, path.join(share, 'fish/vendor_completions.d/plugback.fish'));
    expect(await complete(ws, '', 'plugback dri', { XDG_DATA_DIRS: share })).toEqual(['drive', 'drives']);
  });
});
