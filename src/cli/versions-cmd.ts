// `plugback versions DRIVE PATH`: the snapshots that hold a path, with size and modification time.
import type { Command } from 'commander';
import { driveRoot } from '../config/model.js';
import { formatBytes } from '../config/units.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';

export function registerVersions(program: Command): void {
  program
    .command('versions')
    .description('list every snapshot that holds PATH, with its size and modification time, to pick one to restore')
    .argument('<drive>', 'the name of a drive in the config')
    .argument('<path>', 'an absolute path as it was backed up, e.g. /srv/photos/2019/beach.jpg')
    .option('--json', 'print JSON instead of a table (docs/json.md)')
    .addHelpText('after', '\nThen: plugback restore DRIVE --snapshot SNAPSHOT --path PATH [--to DIR]')
    .action(async (driveName: string, target: string, flags: { json?: boolean }, command: Command) => {
      // A trailing / is harmless; "..", "." or "//" could climb out of the snapshot, so they are refused.
      const trimmed = target.length > 1 ? target.replace(/\/+$/, '') : target;
      const { backedUpPathProblem } = await import('../restore/source.js');
      const problem = backedUpPathProblem(trimmed, 'PATH');
      if (problem) throw new UserError(problem, EXIT.usage);
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = findDrive(config, driveName);
      const { openVerifiedRepository } = await import('../repo/verify-drive.js');
      const { pathVersions } = await import('../restore/versions.js');
      const { repo } = await openVerifiedRepository(config, drive).catch((e: Error) => Promise.reject(new UserError(e.message, EXIT.failed)));
      const versions = await pathVersions(repo, trimmed).finally(() => repo.close());
      if (flags.json) {
        // `bytes` for a size in every JSON plugback prints (docs/json.md).
        const shown = versions.map(({ size, ...v }) => ({ ...v, bytes: size }));
        process.stdout.write(`${JSON.stringify({ format: JSON_FORMAT, drive: driveName, path: target, versions: shown }, null, 2)}\n`);
      } else if (versions.length === 0) {
        process.stdout.write(`no snapshot on drive "${driveName}" holds ${target}\n`);
      } else {
        for (const v of versions) {
          const size = v.type === 'file' ? formatBytes(v.size) : v.type;
          process.stdout.write(`${v.snapshot}  ${size.padStart(10)}  modified ${v.modified.slice(0, 19).replace('T', ' ')} UTC${v.sameAsPrevious ? '  (unchanged)' : ''}${v.future ? '  (dated in the future: the clock was ahead)' : ''}\n`);
        }
      }
      if (versions.length === 0) process.exitCode = EXIT.failed;
    });
}
