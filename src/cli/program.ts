// The plugback command line: one module per command, wired here.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerArchive } from './archive-cmd.js';
import { registerSetAside } from './set-aside-cmd.js';
import { UserError } from './common.js';
import { JOURNAL_PRIORITY, stderrNote } from '../daemon/journal-log.js';
import { registerConfig } from './config-cmd.js';
import { registerDaemon } from './daemon-cmd.js';
import { registerDemo } from './demo.js';
import { DOCS_DIR } from './docs-gen/places.js';
import { registerDocs } from './docs-cmd.js';
import { registerDrive } from './drive-cmd.js';
import { registerDrives } from './drives-cmd.js';
import { registerGenerate } from './generate-cmd.js';
import { registerInstall } from './install-cmd.js';
import { registerLed } from './led-cmd.js';
import { EXIT } from './exit-codes.js';
import { addExitStatus } from './exit-status.js';
import { registerNotifyFailure } from './notify-failure-cmd.js';
import { registerMail } from './mail-cmd.js';
import { registerRestore } from './restore-cmd.js';
import { registerRun } from './run.js';
import { registerForget } from './forget-cmd.js';
import { registerOpen } from './open-cmd.js';
import { registerCheck } from './check-cmd.js';
import { registerPrune } from './prune-cmd.js';
import { registerSmartRead } from './smart-read-cmd.js';
import { registerSnapshots } from './snapshots-cmd.js';
import { registerStatus } from './status-cmd.js';
import { registerVersions } from './versions-cmd.js';

/** Builds the command tree; exported so tests can check the help text. */
export function buildProgram(): Command {
  const program = new Command('plugback')
    .description('Plug in an encrypted USB drive, glance at the LED, take it away when it is green.')
    .version(VERSION)
    .option('-c, --config <file>', 'the config file', '/etc/plugback/config.yaml')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Try it:       plugback demo
Check config: plugback config check /etc/plugback/config.yaml
Back up now:  plugback run offsite-a
The daemon:   plugback status --follow   (plugback start DRIVE, plugback cancel)
See history:  plugback snapshots offsite-a
Free room:    plugback prune offsite-a --dry-run, then plugback forget offsite-a SNAPSHOT
All drives:   plugback drives
Get it back:  plugback restore offsite-a --dry-run
An archive:   plugback archive offsite-a --to /srv/archives
Docs: man plugback (or plugback man | man -l -), and the guides in ${DOCS_DIR}/ (README.md first).`,
    );
  for (const register of [registerRun, registerSnapshots, registerForget, registerPrune, registerVersions, registerRestore, registerOpen, registerCheck, registerArchive, registerDrive, registerDrives, registerNotifyFailure, registerMail, registerLed, registerDaemon, registerStatus, registerConfig, registerSetAside, registerGenerate, registerInstall, registerDemo, registerDocs, registerSmartRead]) register(program);
  addExitStatus(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UserError) {
      stderrNote(JOURNAL_PRIORITY.err, `${error.bare ? '' : 'plugback: '}${error.message}`);
      return error.exitCode;
    }
    stderrNote(JOURNAL_PRIORITY.err, `plugback: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.failed;
  }
}
