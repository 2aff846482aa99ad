// drives.<name>.archive: what a valid section becomes, and the shapes that are refused, each at its place.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config-problems.js';

const FILE = 'plugback.yaml';
const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';

/** A config whose drive nas-disk (line 2) has the archive lines `lines` (from line 4 on, indented under archive:). */
const withArchive = (lines: string[]) =>
  ['drives:', '  nas-disk:', '    path: /srv/backup', '    archive:', ...lines.map((l) => `      ${l}`), 'states:', '  photos:', '    folders: [/srv/photos]', 'stateDir: /var/lib/pb'].join('\n');

const problemsOf = (lines: string[]) => configProblems(withArchive(lines), FILE);

describe('drives.<name>.archive', () => {
  it('fills in the defaults: dated zstd archives in <stateDir>/archives, not encrypted, all kept', () => {
    const drive = parseConfig(withArchive(['{}']).replace('archive:\n      {}', 'archive: {}'), FILE).drives[0];
    expect(drive?.archive).toEqual({ to: '/var/lib/pb/archives', naming: 'dated', compression: 'zstd', encryption: { kind: 'none' }, owner: undefined, keep: undefined });
  });

  it('takes every option, and fingerprints written as gpg prints them (spaces, lower case)', () => {
    const config = parseConfig(
      withArchive(['to: /srv/archives/', 'naming: both', 'compression: gzip', 'keep: 14', 'owner: "backup:backup"', 'recipients: ["0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567"]']),
      FILE,
    );
    expect(config.drives[0]?.archive).toEqual({
      to: '/srv/archives',
      naming: 'both',
      compression: 'gzip',
      keep: 14,
      owner: 'backup:backup',
      encryption: { kind: 'recipients', fingerprints: [FPR] },
    });
    expect(parseConfig(withArchive(['keyring: /etc/plugback/keys.asc']), FILE).drives[0]?.archive?.encryption).toEqual({ kind: 'keyring', file: '/etc/plugback/keys.asc' });
    expect(parseConfig(withArchive(['passphraseFile: /etc/plugback/archive.pass']), FILE).drives[0]?.archive?.encryption).toEqual({ kind: 'passphrase', file: '/etc/plugback/archive.pass' });
  });

  it('leaves a drive without archive: without one', () => {
    expect(parseConfig(['drives: {d: {path: /srv/b}}', 'states: {s: {folders: [/srv/s]}}'].join('\n'), FILE).drives[0]?.archive).toBeUndefined();
  });

  it('refuses two ways to encrypt, at the second one', () => {
    expect(problemsOf([`recipients: [${FPR}]`, 'passphraseFile: /etc/plugback/archive.pass'])).toEqual([
      `${FILE}:6:23: drives.nas-disk.archive.passphraseFile: choose one way to encrypt: recipients and passphraseFile are both given; keep one (or none for an unencrypted archive), got "/etc/plugback/archive.pass"`,
    ]);
  });

  it('refuses keep with rolling names, a short fingerprint, an empty list, a relative folder and a bad owner', () => {
    expect(problemsOf(['naming: rolling', 'keep: 3'])).toEqual([
      `${FILE}:6:13: drives.nas-disk.archive.keep: keep counts dated archives, and naming rolling makes none: use naming dated or both, or remove keep`,
    ]);
    expect(problemsOf(['recipients: [0123456789ABCDEF]'])).toEqual([
      `${FILE}:5:20: drives.nas-disk.archive.recipients[0]: expected a key's full fingerprint (40 hex digits, see gpg --fingerprint), got "0123456789ABCDEF"`,
    ]);
    expect(problemsOf(['recipients: []'])).toEqual([`${FILE}:5:19: drives.nas-disk.archive.recipients: give at least one fingerprint, or leave recipients out`]);
    expect(problemsOf(['to: archives'])).toEqual([`${FILE}:5:11: drives.nas-disk.archive.to: archive.to must be an absolute path (starting with /), got "archives"`]);
    expect(problemsOf(['owner: "pi:staff:x"'])).toEqual([
      `${FILE}:5:14: drives.nas-disk.archive.owner: expected USER or USER:GROUP (names or numbers), like pi or backup:backup, got "pi:staff:x"`,
    ]);
    expect(problemsOf(['naming: weekly'])).toEqual([`${FILE}:5:15: drives.nas-disk.archive.naming: expected one of "dated", "rolling", "both"`]);
    expect(problemsOf(['keep: 0'])).toEqual([`${FILE}:5:13: drives.nas-disk.archive.keep: must be at least 1`]);
  });

  it('refuses a passphrase written into the config without repeating it, and suggests the key a typo meant', () => {
    const problems = problemsOf(['passphrase: hunter2']);
    expect(problems).toContain(
      `${FILE}:5:7: drives.nas-disk.archive.passphrase: a passphrase in the config is refused (anyone who can read this file could read it): write it to a file only root can read (chmod 600) and give that file as passphraseFile`,
    );
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problemsOf(['compresion: gzip'])).toEqual([`${FILE}:5:7: drives.nas-disk.archive.compresion: unknown key "compresion"; did you mean "compression"?`]);
  });

  it('refuses an archive folder on a drive or inside a source folder', () => {
    expect(problemsOf(['to: /srv/backup/archives'])).toEqual([
      `${FILE}:5:11: drives.nas-disk.archive.to: /srv/backup/archives is inside the path /srv/backup of drive "nas-disk": archives go into a folder on this machine, apart from the drives`,
    ]);
    expect(problemsOf(['to: /srv/photos/archives'])).toEqual([
      `${FILE}:5:11: drives.nas-disk.archive.to: /srv/photos/archives is inside the folder /srv/photos of state "photos": each backup would copy the archives again; put them in a folder that is not backed up`,
    ]);
  });
});
