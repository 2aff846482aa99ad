// `plugback man` and `plugback completion SHELL`: the man page and completion scripts, made from the command
// definitions themselves (what `plugback install` puts on the system); `complete-names` serves the scripts.
import { Argument, type Command } from 'commander';
import { configFileOf } from './common.js';

export function registerDocs(program: Command): void {
  program
    .command('man')
    .description('print the manual page, plugback(1), in roff (plugback install puts it where man finds it)')
    .addHelpText('after', '\nRead it without installing it:\n  plugback man | man -l -')
    .action(async (_flags: unknown, command: Command) => {
      const { manPageOf } = await import('./docs-gen/doc-files.js');
      process.stdout.write(manPageOf(command));
    });

  program
    .command('completion')
    .description('print the completion script for bash, zsh or fish (plugback install puts all three in place)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
The scripts complete commands, options, and drive and state names from the config.
To use one without installing it:
  source <(plugback completion bash)              in ~/.bashrc
  plugback completion fish | source               in ~/.config/fish/config.fish
  plugback completion zsh > ~/.zfunc/_plugback    once, with ~/.zfunc in $fpath before compinit`,
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish', _flags: unknown, command: Command) => {
      const { completionOf } = await import('./docs-gen/doc-files.js');
      process.stdout.write(completionOf(command, shell));
    });

  // For the completion scripts: the drive or state names of the config, one a line; nothing when it cannot be read.
  program
    .command('complete-names', { hidden: true })
    .argument('<what>', 'drives or states')
    .action(async (what: string, _flags: unknown, command: Command) => {
      const { loadConfig } = await import('../config/load.js');
      const config = await loadConfig(configFileOf(command)).catch(() => undefined);
      const names = what === 'drives' ? config?.drives.map((d) => d.name) : what === 'states' ? config?.states.map((s) => s.name) : [];
      if (names && names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
    });
}
