// `plugback config check [FILE]`, `plugback config schema` and `plugback config init` (config-init-cmd.ts).
import type { Command } from 'commander';
import type { ConfigProblem } from '../config/load.js';
import { driveRoot } from '../config/model.js';
import { configFileOf, loadConfigOrExit } from './common.js';
import { registerConfigInit } from './config-init-cmd.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check the config, write a first one, or print its JSON Schema');
  config
    .command('check')
    .description('validate a config file (schedules also by systemd-analyze calendar): every problem is listed as FILE:LINE:COL: message (exit 2), or a summary (exit 0) after any warnings (missing folders and key files)')
    .argument('[file]', 'the config file (default: --config, or /etc/plugback/config.yaml)')
    .option('--json', 'print the verdict as JSON: valid with its drives and states, or every problem (docs/json.md)')
    .action(async (file: string | undefined, flags: { json?: boolean }, command: Command) => {
      if (flags.json) {
        const { configCheckJson } = await import('./config-check-json.js');
        process.exitCode = await configCheckJson(file ?? configFileOf(command));
        return;
      }
      const warnings: ConfigProblem[] = [];
      const loaded = await loadConfigOrExit(file ?? configFileOf(command), { checkSecrets: true, checkCalendars: true, onWarning: (w) => warnings.push(w) });
      // Not errors: a folder or key may be made after the config. Each as FILE:LINE:COL: warning: message.
      for (const w of warnings.sort((a, b) => a.line - b.line || a.col - b.col)) process.stderr.write(`${w.file}:${w.line}:${w.col}: warning: ${w.message}\n`);
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
