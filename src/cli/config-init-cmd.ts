// `plugback config init`: writes a first, commented config for this machine (to stdout or --out FILE).
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

interface InitFlags {
  uuid: string[];
  targetDir: string[];
  folder: string[];
  host?: string;
  out?: string;
  force?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerConfigInit(config: Command): void {
  config
    .command('init')
    .description('write a commented config for this machine: its host name, the drives and the folders given (stdout, or --out FILE)')
    .option('--uuid <[name=]uuid>', 'a LUKS drive by the UUID of its LUKS container (repeatable; named usb1, usb2... unless NAME= is given)', collect, [])
    .option('--target-dir <[name=]dir>', 'a directory target (repeatable; named disk1, disk2... unless NAME= is given)', collect, [])
    .option('--folder <[name=]dir>', 'a folder to back up, as a state of its own named after the folder (repeatable)', collect, [])
    .option('--host <name>', "this machine's name on the drives (default: its short host name)")
    .option('--out <file>', 'write the config to FILE (mode 0600) instead of stdout')
    .option('--force', 'replace FILE when it exists')
    .addHelpText(
      'after',
      `
At least one drive (--uuid or --target-dir) and one --folder are needed. The config is checked before it
is written, and passes plugback config check as it is; a LUKS drive also needs its key file and the
preparation docs/drives.md describes. An existing FILE is left alone unless --force is given.

Examples:
  plugback config init --uuid 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 --folder /srv/photos --out /etc/plugback/config.yaml
  plugback config init --target-dir nas=/srv/backup-disk --folder /srv/photos --folder db=/var/backup/db`,
    )
    .action(async (flags: InitFlags) => {
      const [{ initConfigText, InitError }, { defaultHost }, { ConfigError, parseConfig }] = await Promise.all([
        import('../config/init.js'),
        import('../config/model.js'),
        import('../config/load.js'),
      ]);
      let text: string;
      try {
        text = initConfigText({ host: flags.host ?? defaultHost(), uuids: flags.uuid, targetDirs: flags.targetDir, folders: flags.folder, now: new Date() });
        // The same checks as config check's (but the files'), so what is written loads.
        parseConfig(text, flags.out ?? '(config init)');
      } catch (error) {
        if (error instanceof InitError || error instanceof ConfigError) throw new UserError(`config init: ${error.message}`, EXIT.usage);
        throw error;
      }
      if (flags.out === undefined) {
        process.stdout.write(text);
        return;
      }
      await writeConfigFile(path.resolve(flags.out), text, flags.force ?? false);
    });
}

/** Writes the config readable by root alone; an existing file only with `force`. */
async function writeConfigFile(file: string, text: string, force: boolean): Promise<void> {
  const { ensureDirDurable, writeFileAtomic, writeFileOnce } = await import('../system/atomic-file.js');
  try {
    await ensureDirDurable(path.dirname(file), 0o755);
    if (force) await writeFileAtomic(file, text, 0o600);
    else if (!(await writeFileOnce(file, text, 0o600))) {
      throw new UserError(`config init: ${file} exists; it was left as it is (give --force to replace it)`, EXIT.usage);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`config init: cannot write ${file}: ${(error as Error).message}`, EXIT.failed);
  }
  process.stderr.write(`wrote ${file}; check it with: plugback config check ${file}\n`);
}
