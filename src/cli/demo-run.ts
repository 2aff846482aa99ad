// `plugback demo`: the whole backup engine on a generated tree in a temporary folder, in under a minute.
import { randomBytes } from 'node:crypto';
import { appendFile, link, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoPaths } from '../repo/layout.js';
import { adoptDrive } from './drive-adopt.js';
import { EXIT } from './exit-codes.js';
import { exitCodeOf } from './run.js';
import { snapshotSummaries } from './snapshots-cmd.js';
import { jobConsole } from './terminal.js';

/** The demo itself; resolves to its exit code. */
export async function demo(dirFlag: string | undefined, sizeMb: number): Promise<number> {
  const { loadConfig } = await import('../config/load.js');
  const { runBackupJob } = await import('../job/backup-job.js');
  const dir = dirFlag ? path.resolve(dirFlag) : await mkdtemp(path.join(os.tmpdir(), 'plugback-demo-'));
  const say = (text: string) => process.stdout.write(`\n== ${text}\n`);
  const source = path.join(dir, 'source');
  const drive = path.join(dir, 'drive');
  const configFile = path.join(dir, 'plugback.yaml');

  say(`generating ${sizeMb} MB of sample data in ${source}`);
  await rm(source, { recursive: true, force: true });
  await generateSampleTree(source, sizeMb);
  await mkdir(drive, { recursive: true });
  await writeFile(configFile, demoConfig(dir, source, drive));
  const config = await loadConfig(configFile);
  const target = config.drives[0];
  if (!target) return EXIT.failed;
  const identity = await adoptDrive(config, target, false);
  say(`adopted ${drive} as drive "demo" (id ${identity.id}); config: ${configFile}`);

  for (const round of [1, 2]) {
    if (round === 2) {
      say('changing some files: one edited, one added, one deleted');
      await appendFile(path.join(source, 'documents', 'notes-0.txt'), 'an edit after the first backup\n');
      await writeFile(path.join(source, 'documents', 'new-after-first-backup.txt'), 'new\n');
      await rm(path.join(source, 'documents', 'notes-1.txt'));
    }
    say(`backup ${round}: plugback run demo --config ${configFile}`);
    const terminal = await jobConsole();
    const result = await runBackupJob({ config, drive: target, console: terminal.sink, onEvent: terminal.onEvent });
    if (exitCodeOf(result) !== EXIT.ok) return exitCodeOf(result);
  }

  say(`snapshots: plugback snapshots demo --config ${configFile}`);
  const { summaries } = await snapshotSummaries(config, target);
  for (const s of summaries) {
    process.stdout.write(`${s.name}  ${s.files} files  ${((s.bytes ?? 0) / 1e6).toFixed(0)} MB  ${((s.transferredBytes ?? 0) / 1e6).toFixed(1)} MB new\n`);
  }
  const [first, second] = summaries;
  if (first && second) {
    const snapshots = repoPaths(drive, config.host).snapshots;
    const inFirst = await stat(path.join(snapshots, first.name, 'media', source, 'media', 'photo-0.jpg'));
    const inSecond = await stat(path.join(snapshots, second.name, 'media', source, 'media', 'photo-0.jpg'));
    process.stdout.write(
      `an unchanged file is stored once: photo-0.jpg has inode ${inFirst.ino} in both snapshots (${inFirst.ino === inSecond.ino ? 'hard link' : 'copy!'})\n`,
    );
  }
  if (first) {
    // The moment that matters: getting a version back. Shown as the commands a user types, run as they are.
    const edited = path.join(source, 'documents', 'notes-0.txt');
    say(`every version of the edited file: plugback versions demo ${edited} --config ${configFile}`);
    if ((await ownCommand(['versions', 'demo', edited, '--config', configFile])) !== EXIT.ok) return EXIT.failed;
    say(`what restoring the first snapshot would change (a dry run changes nothing): plugback restore demo --snapshot ${first.name} --state documents --dry-run --config ${configFile}`);
    if ((await ownCommand(['restore', 'demo', '--snapshot', first.name, '--state', 'documents', '--dry-run', '--config', configFile])) !== EXIT.ok) return EXIT.failed;
  }
  say(`look around with ls ${path.join(drive, 'plugback')}; remove it all with: rm -rf ${dir}`);
  return EXIT.ok;
}

/** Runs this plugback with `args`, its output going straight to ours; resolves to its exit code. */
async function ownCommand(args: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [process.argv[1] as string, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? EXIT.failed)));
}

function demoConfig(dir: string, source: string, drive: string): string {
  return `# Written by plugback demo.
host: demo-host
stateDir: ${dir}/state
drives:
  demo:
    path: ${drive}
states:
  media:
    folders: [${source}/media]
  documents:
    folders: [${source}/documents]
    exclude: ["*.tmp"]
    preBackup: |
      echo "pretending to stop a service before the backup of $PLUGBACK_STATE"
    postBackup: |
      echo "restarting it; the backup said: $PLUGBACK_RESULT"
backup:
  lockFile: ${dir}/plugback.lock
  lockWait: 10s
`;
}

/** Photos (a few MB each), many small documents, a hard link, a symlink and a file to exclude. */
async function generateSampleTree(root: string, sizeMb: number): Promise<void> {
  const media = path.join(root, 'media');
  const documents = path.join(root, 'documents');
  await mkdir(media, { recursive: true });
  await mkdir(documents, { recursive: true });
  const block = randomBytes(4 * 1024 * 1024);
  const photos = Math.max(1, Math.round((sizeMb * 0.9) / 4));
  for (let i = 0; i < photos; i++) await writeFile(path.join(media, `photo-${i}.jpg`), Buffer.concat([Buffer.from(`${i}`), block]));
  for (let i = 0; i < 500; i++) {
    await writeFile(path.join(documents, `notes-${i}.txt`), `note ${i}\n${randomBytes(2048).toString('base64')}\n`);
  }
  await link(path.join(documents, 'notes-2.txt'), path.join(documents, 'notes-2 (hard link).txt'));
  await symlink('notes-3.txt', path.join(documents, 'latest-note'));
  await writeFile(path.join(documents, 'scratch.tmp'), 'excluded by the config\n');
}
