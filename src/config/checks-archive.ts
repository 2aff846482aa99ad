// Cross checks of drives.<name>.archive: no passphrase written into the config, and an archive folder that is
// neither on a backup drive (archives are for this machine) nor inside a source folder (the next backup would
// copy every archive again, growing with each run).
import { allFolders, isSameOrInside, targetOf, type CheckedView, type Finding } from './checked-view.js';

export function archiveFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  for (const [name, drive] of Object.entries(config.drives)) {
    if (drive.archivePassphrase) {
      findings.push({
        path: ['drives', name, 'archive', 'passphrase'],
        atKey: true,
        message:
          'a passphrase in the config is refused (anyone who can read this file could read it): write it to a file only root can read (chmod 600) and give that file as passphraseFile',
      });
    }
    const to = drive.archiveTo;
    if (to === undefined) continue;
    const where: Finding['path'] = ['drives', name, 'archive', 'to'];
    for (const [other, view] of Object.entries(config.drives)) {
      const target = targetOf(other, view);
      if (target && (isSameOrInside(to, target.root) || isSameOrInside(target.root, to))) {
        findings.push({
          path: where,
          message: `${to} ${isSameOrInside(to, target.root) ? 'is inside' : 'contains'} the ${target.key} ${target.root} of drive "${other}": archives go into a folder on this machine, apart from the drives`,
        });
      }
    }
    for (const ref of allFolders(config)) {
      if (isSameOrInside(to, ref.folder)) {
        findings.push({
          path: where,
          message: `${to} is inside the folder ${ref.folder} of state "${ref.state}": each backup would copy the archives again; put them in a folder that is not backed up`,
        });
      }
    }
  }
  return findings;
}
