// For the man page and completion tests: the built plugback as a `plugback` command on PATH (the completion
// scripts call it for drive names), a config with two drives and two states, and the commands of buildProgram().
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface DocsWorkspace {
  dir: string;
  /** PATH with the folder holding `plugback` first. */
  env: NodeJS.ProcessEnv;
  config: string;
}

export async function docsWorkspace(dir: string): Promise<DocsWorkspace> {
  await fs.mkdir(path.join(dir, 'bin'));
  await fs.writeFile(path.join(dir, 'bin/plugback'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
  const config = path.join(dir, 'config.yaml');
  const lines = [
    'host: nas',
    `stateDir: ${dir}/state`,
    'drives:',
    '  offsite-a: {uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}',
    `  nas-disk: {path: ${dir}/disk}`,
    'states:',
    '  photos: {folders: [/srv/photos]}',
    '  linkding: {folders: [/srv/linkding]}',
  ];
  await fs.writeFile(config, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { dir, config, env: { PATH: `${dir}/bin:${process.env.PATH ?? ''}` } };
}

/** Every command below plugback, hidden ones too when asked, as paths: ['archive', 'restore']. */
export function commandPaths(options: { hidden: boolean }): string[][] {
  const walk = (command: Command, above: string[]): string[][] => {
    const subs = options.hidden ? command.commands : command.createHelp().visibleCommands(command).filter((c) => c.name() !== 'help');
    return subs.flatMap((c) => [[...above, c.name()], ...walk(c, [...above, c.name()])]);
  };
  return walk(buildProgram(), []);
}

/** The names of the top-level commands a user sees in --help. */
export function topLevelCommands(): string[] {
  return commandPaths({ hidden: false })
    .filter((p) => p.length === 1)
    .map((p) => p[0] as string);
}
