// The config lines `plugback drive prepare` prints, and --write-config's edit of the config file: the drive added
// under drives:, the user's comments kept, the file's mode kept, an existing name refused with the file unchanged.
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addToConfig, configLines } from '../../src/cli/drive-prepare-config.js';
import { parseConfig } from '../../src/config/load.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';

const tempDir = tempDirsRemovedAfterEach();
const DRIVE = { name: 'offsite-a', uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', keyFile: '/etc/plugback/keys/offsite-a.key' };
const CONFIG = `# my backup config
host: h1
drives:
  d1:
    path: /srv/backup-disk   # the always-attached disk
states:
  photos:
    folders: [/srv/photos]
`;

describe('the config of a prepared drive', () => {
  it('prints lines that load as a LUKS drive with its key file', () => {
    const text = `${configLines(DRIVE)}states:\n  photos:\n    folders: [/srv/photos]\n`;
    const drive = parseConfig(text, 'pasted.yaml').drives[0];
    expect(drive).toMatchObject({ kind: 'luks', name: 'offsite-a', uuid: DRIVE.uuid, keyFile: DRIVE.keyFile, mountPoint: '/run/plugback/offsite-a' });
  });

  it('--write-config adds the drive and keeps the comments and the mode of the file', async () => {
    const file = path.join(await tempDir('prepare-config'), 'config.yaml');
    await fs.writeFile(file, CONFIG, { mode: 0o600 });
    await addToConfig(file, DRIVE);
    const text = await fs.readFile(file, 'utf8');
    expect(text).toContain('# my backup config');
    expect(text).toContain('path: /srv/backup-disk # the always-attached disk');
    expect(text).toContain('folders: [/srv/photos]');
    expect(text).toContain(`  offsite-a:\n    uuid: ${DRIVE.uuid}\n    keyFile: ${DRIVE.keyFile}\n`);
    expect(parseConfig(text, file).drives.map((d) => d.name)).toEqual(['d1', 'offsite-a']);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('--write-config refuses a name the file has already, and leaves the file as it was', async () => {
    const file = path.join(await tempDir('prepare-config'), 'config.yaml');
    await fs.writeFile(file, CONFIG, { mode: 0o600 });
    await expect(addToConfig(file, { ...DRIVE, name: 'd1' })).rejects.toThrow(`${file} has a drive "d1" already; it was left as it is`);
    expect(await fs.readFile(file, 'utf8')).toBe(CONFIG);
  });
});
