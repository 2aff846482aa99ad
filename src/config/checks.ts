// Checks that need the whole config at once: which drive is which, and folders that overlap.
import { archiveFindings } from './checks-archive.js';
import { allFolders, isSameOrInside, targetOf, type CheckedView, type Finding } from './checked-view.js';

/** Every cross-field problem of a config that passed the schema. */
export function crossChecks(config: CheckedView): Finding[] {
  return [
    ...driveKindFindings(config),
    ...duplicateDriveFindings(config),
    ...folderFindings(config),
    ...targetInSourceFindings(config),
    ...secretFindings(config),
    ...healthcheckFindings(config),
    ...archiveFindings(config),
  ];
}

/** A password written into the config is refused: configs get shared, pasted and read by other users. */
function secretFindings(config: CheckedView): Finding[] {
  if (!config.inlinePassword) return [];
  return [
    {
      path: ['mail', 'smtp', 'password'],
      atKey: true,
      message:
        'a password in the config is refused (anyone who can read this file could read it): write it to a file only root can read (chmod 600) and give that file as passwordFile, or name an environment variable in passwordEnv',
    },
  ];
}

function healthcheckFindings(config: CheckedView): Finding[] {
  const known = Object.keys(config.drives);
  return (config.healthcheckDrives ?? [])
    .filter((name) => !known.includes(name))
    .map((name) => ({
      path: ['healthchecks', name],
      atKey: true,
      message: `there is no drive "${name}" under drives: (drives: ${known.join(', ') || 'none'})`,
    }));
}

function driveKindFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  for (const [name, drive] of Object.entries(config.drives)) {
    if (drive.uuid === undefined && drive.path === undefined) {
      findings.push({
        path: ['drives', name],
        message: `drive "${name}" needs either uuid (a LUKS drive) or path (a directory target)`,
      });
    } else if (drive.uuid !== undefined && drive.path !== undefined) {
      findings.push({ path: ['drives', name, 'path'], atKey: true, message: `drive "${name}" has both uuid and path: keep one` });
    } else if (drive.path !== undefined) {
      for (const key of ['keyFile', 'cryptName', 'mountPoint', 'deviceTimeout', 'btrfsCompression'] as const) {
        if (drive[key] !== undefined) {
          findings.push({
            path: ['drives', name, key],
            atKey: true,
            message: `${key} only applies to LUKS drives (with uuid); drive "${name}" is a directory target (path)`,
          });
        }
      }
    }
  }
  return findings;
}

function duplicateDriveFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  const byUuid = new Map<string, string>();
  const byRoot = new Map<string, string>();
  const byCryptName = new Map<string, string>();
  for (const [name, drive] of Object.entries(config.drives)) {
    if (drive.uuid !== undefined) {
      // Two crypttab lines with one name: systemd would make one unit of them and unlock only one drive.
      const cryptName = drive.cryptName ?? `plugback-${name}`;
      const other = byCryptName.get(cryptName);
      if (other) findings.push({ path: ['drives', name, drive.cryptName ? 'cryptName' : 'uuid'], message: `cryptName ${cryptName} is already used by drive "${other}"` });
      else byCryptName.set(cryptName, name);
      const first = byUuid.get(drive.uuid);
      if (first) findings.push({ path: ['drives', name, 'uuid'], message: `uuid ${drive.uuid} is already used by drive "${first}"` });
      else byUuid.set(drive.uuid, name);
    }
    const target = targetOf(name, drive);
    if (target === undefined) continue;
    const { root, key } = target;
    const first = byRoot.get(root);
    if (first) findings.push({ path: ['drives', name, key], message: `${root} is already the target of drive "${first}"` });
    else byRoot.set(root, name);
  }
  return findings;
}

function folderFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  const folders = allFolders(config);
  for (const [i, later] of folders.entries()) {
    for (const earlier of folders.slice(0, i)) {
      const where = `state "${earlier.state}" (folders[${earlier.index}])`;
      let message: string | undefined;
      if (later.folder === earlier.folder) message = `${later.folder} is already listed in ${where}`;
      else if (isSameOrInside(later.folder, earlier.folder)) message = `${later.folder} is inside ${earlier.folder} of ${where}: its files would be backed up twice`;
      else if (isSameOrInside(earlier.folder, later.folder)) message = `${later.folder} contains ${earlier.folder} of ${where}: its files would be backed up twice`;
      if (message) findings.push({ path: ['states', later.state, 'folders', later.index], message });
    }
  }
  return findings;
}

function targetInSourceFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  for (const [name, drive] of Object.entries(config.drives)) {
    const target = targetOf(name, drive);
    if (target === undefined) continue;
    const { root, key } = target;
    for (const ref of allFolders(config)) {
      if (isSameOrInside(root, ref.folder)) {
        findings.push({
          path: ['drives', name, key],
          message: `${key} ${root} of drive "${name}" is inside the folder ${ref.folder} of state "${ref.state}": the backup would copy itself`,
        });
      } else if (isSameOrInside(ref.folder, root)) {
        findings.push({
          path: ['states', ref.state, 'folders', ref.index],
          message: `${ref.folder} is inside the ${key} ${root} of drive "${name}": a state cannot back up the backup drive`,
        });
      }
    }
  }
  return findings;
}
