// `plugback install` and `plugback uninstall`: the generated files on the system (or under --root), and off it again.
import type { Command } from 'commander';
import path from 'node:path';
import { configFileOf, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { generateForCli, orUserError } from './generate-cmd.js';
import type { TimerChanges } from '../install/reload.js';

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description('write the units, udev rules, policies, man page and shell completions, create the state and log folders and the plugback group')
    .option('--root <dir>', 'install under DIR instead of / (for images and tests; nothing is reloaded)', '/')
    .option('--bin <path>', 'the plugback command the units run (default: this Node.js and this plugback)')
    .option('--write-crypttab', "add the drives' lines to /etc/crypttab (after a backup copy); without it they are printed")
    .addHelpText(
      'after',
      `
Safe to run again: it changes only what the config changed, and says what that was. On / it runs
systemctl daemon-reload and reloads udev's rules when units or rules changed.
Examples:
  plugback generate --diff && echo "already installed"
  sudo plugback install --write-crypttab
  sudo plugback install --root /mnt/image --bin /usr/bin/plugback
See docs/installing.md.`,
    )
    .action(async (flags: { root: string; bin?: string; writeCrypttab?: boolean }, command: Command) => {
      const root = path.resolve(flags.root);
      needRoot(root, 'install');
      const { config, generated } = await generateForCli(command, flags.bin);
      const { install } = await import('../install/install.js');
      const report = await orUserError(() => install(root, generated, config.stateDir, flags.writeCrypttab ?? false));
      for (const note of report.notes) process.stdout.write(`${note}\n`);
      for (const file of report.changed) process.stdout.write(`wrote ${onRoot(root, file)}\n`);
      for (const file of report.removed) process.stdout.write(`removed ${onRoot(root, file)} (no longer generated)\n`);
      if (report.changed.length === 0 && report.removed.length === 0 && report.notes.length === 0) process.stdout.write(`nothing to change under ${root}\n`);
      if (!flags.writeCrypttab && generated.crypttab.length > 0) {
        process.stdout.write(
          `\n/etc/crypttab needs these lines (add them, or run install again with --write-crypttab):\n${generated.crypttab.join('\n')}\n`,
        );
      }
      await reloadIfRoot(root, report.reload, report.timers);
    });

  program
    .command('uninstall')
    .description('remove what `plugback install` wrote (files changed since are kept), and nothing else')
    .option('--root <dir>', 'uninstall from under DIR instead of /', '/')
    .addHelpText(
      'after',
      `
Snapshots, drives, keys and the config are never touched. Files you changed after installing them are kept
and listed. Example:
  sudo plugback uninstall`,
    )
    .action(async (flags: { root: string }, command: Command) => {
      const root = path.resolve(flags.root);
      needRoot(root, 'uninstall');
      const { stateDirOf } = await import('./install-state.js');
      const { uninstall } = await import('../install/uninstall.js');
      const stateDir = await stateDirOf(configFileOf(command));
      const report = await orUserError(() => uninstall(root, stateDir));
      for (const file of report.removed) process.stdout.write(`removed ${onRoot(root, file)}\n`);
      for (const file of report.kept) process.stdout.write(`kept ${onRoot(root, file)}\n`);
      if (report.removed.length === 0) process.stdout.write(`nothing of plugback's installed under ${root}\n`);
      await reloadIfRoot(root, report.reload, { enable: [], stop: report.stopTimers });
    });
}

/** A path of the target system as it is on disk: under --root DIR, DIR/etc/..., so no line reads as if / was touched. */
function onRoot(root: string, line: string): string {
  return root === '/' || !line.startsWith('/') ? line : `${root}${line}`;
}

/** Installing on / writes to /etc and /usr/share: say so up front rather than fail half-way. */
function needRoot(root: string, verb: string): void {
  if (root === '/' && process.getuid?.() !== 0) {
    throw new UserError(`plugback ${verb} changes /etc and /usr/share: run it as root (sudo plugback ${verb}), or give --root DIR to ${verb} under a folder`, EXIT.failed);
  }
}

/** Only on /: a --root install has written the files and the timers' wants links, which is all an image needs. */
async function reloadIfRoot(root: string, what: { systemd: boolean; udev: boolean }, timers: TimerChanges): Promise<void> {
  if (root !== '/' || (!what.systemd && !what.udev)) return;
  const { reloadSystem } = await import('../install/reload.js');
  for (const problem of await reloadSystem(what, timers)) process.stderr.write(`plugback: ${problem}\n`);
}
