import { describe, expect, it } from 'vitest';
import type { LuksDrive } from '../../src/config/model.js';
import { CRYPTTAB_BEGIN, CRYPTTAB_END, crypttabLine, mergeCrypttab, removeCrypttabBlock } from '../../src/units/crypttab.js';
import { execArg } from '../../src/units/exec-line.js';

const drive: LuksDrive = {
  kind: 'luks',
  name: 'offsite-a',
  uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  keyFile: '/etc/plugback/keys/offsite-a.key',
  cryptName: 'plugback-offsite-a',
  mountPoint: '/run/plugback/offsite-a',
  deviceTimeout: 30_000,
  btrfsCompression: 'off',
  health: 'refuse',
};
const LINE = 'plugback-offsite-a UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 /etc/plugback/keys/offsite-a.key luks,noauto,nofail,headless=true,x-systemd.device-timeout=30s';
const USER = '# my disks\nhome UUID=11111111-2222-3333-4444-555555555555 none luks\n\n';

describe('crypttab lines', () => {
  it('name the mapping, the LUKS UUID, the key file and the options the daemon relies on', () => {
    expect(crypttabLine(drive)).toBe(LINE);
    expect(crypttabLine({ ...drive, deviceTimeout: 1500 })).toMatch(/x-systemd\.device-timeout=1500ms$/);
  });

  it('refuse a key file path with a space, which crypttab cannot hold', () => {
    expect(() => crypttabLine({ ...drive, keyFile: '/etc/plugback/my key' })).toThrow(/white space/);
  });
});

describe('merging into /etc/crypttab', () => {
  it('appends a marked block after the user\'s lines, comments and blank lines', () => {
    expect(mergeCrypttab(USER, [LINE])).toBe(`${USER}${CRYPTTAB_BEGIN}\n${LINE}\n${CRYPTTAB_END}\n`);
    expect(mergeCrypttab('', [LINE])).toBe(`${CRYPTTAB_BEGIN}\n${LINE}\n${CRYPTTAB_END}\n`);
  });

  it('changes nothing the second time, and replaces the block in place when the lines change', () => {
    const once = mergeCrypttab(USER, [LINE]);
    expect(mergeCrypttab(once, [LINE])).toBe(once);
    const withTail = `${once}# after\n`;
    const changed = LINE.replace('30s', '45s');
    expect(mergeCrypttab(withTail, [changed])).toBe(`${USER}${CRYPTTAB_BEGIN}\n${changed}\n${CRYPTTAB_END}\n# after\n`);
  });

  it('leaves a line the user already wrote exactly like plugback\'s, and refuses one with the same name but other fields', () => {
    const byHand = `${USER}${LINE}\n`;
    expect(mergeCrypttab(byHand, [LINE])).toBe(byHand);
    expect(() => mergeCrypttab(`plugback-offsite-a /dev/sdz1 none luks\n`, [LINE])).toThrow(/already has a line for plugback-offsite-a/);
  });

  it('takes plugback\'s block out again, and only that', () => {
    expect(removeCrypttabBlock(mergeCrypttab(USER, [LINE]))).toBe(USER);
    expect(removeCrypttabBlock(USER)).toBe(USER);
  });
});

describe('arguments of ExecStart= lines', () => {
  it('stay bare when plain, and are quoted with "%" and "$" doubled otherwise', () => {
    expect(execArg('/usr/bin/node')).toBe('/usr/bin/node');
    expect(execArg('/run/plugback/offsite b')).toBe('"/run/plugback/offsite b"');
    expect(execArg('/srv/100%')).toBe('/srv/100%%');
    expect(execArg('/srv/$HOME')).toBe('/srv/$$HOME');
    expect(execArg('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(execArg('/opt/$x/plugback', 'command')).toBe('/opt/$x/plugback');
  });
});
