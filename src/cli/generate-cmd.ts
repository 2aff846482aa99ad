// `plugback generate`: the systemd units, crypttab lines, udev rules and bus policies for this config,
// printed, written into a folder, or compared with the system.
import type { Command } from 'commander';
import path from 'node:path';
import type { Config } from '../config/model.js';
import { configFileOf, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import type { Generated } from '../units/generate.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('render the systemd units, crypttab lines, udev rules, D-Bus and polkit policies for the config (and the man page and shell completions)')
    .option('--out <dir>', 'write the files into DIR, laid out as on the system (DIR/etc/systemd/system/...)')
    .option('--diff', 'show what `plugback install` would change on the system (exit 1 when anything would)')
    .option('--root <dir>', 'with --diff: compare with this folder instead of /', '/')
    .option('--bin <path>', 'the plugback command the units run (default: this Node.js and this plugback)')
    .addHelpText(
      'after',
      `
Without --out or --diff, every file is printed with its path. The crypttab lines go into /etc/crypttab
only through \`plugback install --write-crypttab\`; --diff counts them as missing until they are there.
Examples:
  plugback generate | less                     read what would be installed
  plugback generate --out /tmp/plugback-files  the same as files
  plugback generate --diff                     what would change; exit 1 if anything would
See docs/installing.md.`,
    )
    .action(async (flags: { out?: string; diff?: boolean; root: string; bin?: string }, command: Command) => {
      const { config, generated } = await generateForCli(command, flags.bin);
      if (flags.diff) {
        const root = path.resolve(flags.root);
        const { planFiles } = await import('../install/plan.js');
        const { describeChanges, describeRemovals } = await import('../install/diff.js');
        const changes =
          (await orUserError(async () => describeChanges(await planFiles(root, generated, true)))) +
          (await describeRemovals(root, config.stateDir, generated));
        process.stdout.write(changes === '' ? `nothing to change under ${root}\n` : changes);
        if (changes !== '') process.exitCode = EXIT.failed;
        return;
      }
      if (flags.out !== undefined) {
        const { writeTree } = await import('../units/write-tree.js');
        const written = await writeTree(flags.out, generated);
        process.stdout.write(`wrote ${written.length} files under ${flags.out}\n`);
        return;
      }
      for (const file of generated.files) {
        process.stdout.write(`==> ${file.path} <== (${file.purpose})\n${'content' in file ? file.content : `symlink to ${file.symlinkTo}\n`}\n`);
      }
      process.stdout.write(`==> lines for /etc/crypttab <==\n${generated.crypttab.join('\n') || '(no LUKS drives)'}\n`);
    });
}

/** Loads the config and renders everything, turning what the user can fix into a UserError. */
export async function generateForCli(command: Command, bin: string | undefined): Promise<{ config: Config; generated: Generated }> {
  const configFile = configFileOf(command);
  const config = await loadConfigOrExit(configFile);
  const { generate } = await import('../units/generate.js');
  const { loadTemplates, PACKAGE_ROOT } = await import('../units/templates.js');
  const { plugbackCommand } = await import('../install/self.js');
  const { VERSION } = await import('../version.js');
  const { fileURLToPath } = await import('node:url');
  const templates = await orUserError(() => loadTemplates());
  const generated = await orUserError(async () =>
    generate(config, templates, {
      command: plugbackCommand(bin),
      configFile: config.file,
      docsDir: fileURLToPath(new URL('docs', PACKAGE_ROOT)),
      version: VERSION,
    }),
  );
  // The man page and completions go with the units, so install, --diff and uninstall treat them alike.
  const { docFiles } = await import('./docs-gen/doc-files.js');
  generated.files.push(...docFiles(command));
  return { config, generated };
}

/** Exit codes of plugback's own refusals: what the config or the command line asks for (2), or what the system holds (1). */
const REFUSALS: Record<string, number> = {
  CrypttabError: EXIT.usage,
  EscapeError: EXIT.usage,
  BinError: EXIT.usage,
  InstallError: EXIT.failed,
  TemplateError: EXIT.failed,
};

/** Runs `work`, turning plugback's own refusals (a crypttab clash, a bad --bin, a failed groupadd...) into messages. */
export async function orUserError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const exitCode = REFUSALS[(error as Error).name];
    if (exitCode !== undefined) throw new UserError((error as Error).message, exitCode);
    throw error;
  }
}
