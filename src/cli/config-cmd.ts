// `plugback config check [FILE]`, `plugback config schema` and `plugback config init` (config-init-cmd.ts).
import type { Command } from 'commander';
import { driveRoot } from '../config/model.js';
import { configFileOf, loadConfigOrExit } from './common.js';
import { registerConfigInit } from './config-init-cmd.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check the config, write a first one, or print its JSON Schema');
  config
    .command('check')
    .description('validate a config file (schedules also by systemd-analyze calendar): every problem is listed as FILE:LINE:COL: message (exit 2), or a summary (exit 0)')
    .argument('[file]', 'the config file (default: --config, or /etc/plugback/config.yaml)')
    .action(async (file: string | undefined, _flags: unknown, command: Command) => {
      const loaded = await loadConfigOrExit(file ?? configFileOf(command), { checkSecrets: true, checkCalendars: true });
      const drives = loaded.drives.map((d) => `${d.name} (${d.kind === 'luks' ? `LUKS ${d.uuid}` : `directory ${driveRoot(d)}`}${d.schedule ? `, schedule ${d.schedule.calendar}` : ''})`);
      const folders = loaded.states.reduce((n, s) => n + s.folders.length, 0);
      process.stdout.write(
        `${loaded.file}: valid: ${plural(loaded.drives.length, 'drive')} [${drives.join(', ')}], ` +
          `${plural(loaded.states.length, 'state')} with ${plural(folders, 'folder')}, host "${loaded.host}"\n`,
      );
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file (editors can use it to complete and check the YAML)')
    .action(async () => {
      const { configJsonSchema } = await import('../config/schema.js');
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  registerConfigInit(config);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
