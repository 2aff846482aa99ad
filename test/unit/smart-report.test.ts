// smartctl's JSON reports (real captures, test/fixtures/smartctl/README.md) read into verdicts and counters, and
// how a new reading compares with the one the ledger kept.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareReading } from '../../src/drives/health-change.js';
import type { HealthRecord } from '../../src/notify/ledger.js';
import { needsDeviceType, readSmartReport } from '../../src/system/smart-report.js';

/** The capture and the exit status real smartctl gave with it. */
function capture(name: string): [string, number] {
  const text = readFileSync(new URL(`../fixtures/smartctl/${name}`, import.meta.url), 'utf8');
  return [text, (JSON.parse(text) as { smartctl: { exit_status: number } }).smartctl.exit_status];
}

describe('reading a smartctl report', () => {
  it('a healthy SATA disk passes, with its model, serial and counters', () => {
    expect(readSmartReport(...capture('smartctl_exporter-sat-Hitachi_HDS721010CLA332-sda.json'))).toEqual({
      verdict: 'passed',
      model: 'Hitachi HDS721010CLA332',
      serial: 'REDACTED',
      reallocated: 0,
      pending: 0,
      offlineUncorrectable: 0,
    });
  });

  it('a disk whose SMART status is FAILED fails, with its bad-sector counts', () => {
    expect(readSmartReport(...capture('scrutiny-smart-fail2-usbjmicron-HDS721050DLE630.json'))).toMatchObject({
      verdict: 'failed',
      model: 'Hitachi HDS721050DLE630',
      serial: 'MSK423Y20S3HBC',
      reallocated: 1975,
      pending: 8,
      offlineUncorrectable: 0,
    });
  });

  it('exit status bit 3 ("disk failing") fails a disk even when the report lacks smart_status', () => {
    const [text] = capture('smartctl_exporter-ST3500418AS_11.json');
    const json = JSON.parse(text) as Record<string, unknown>;
    delete json.smart_status;
    expect(readSmartReport(JSON.stringify(json), 8).verdict).toBe('failed');
  });

  it('an unknown USB bridge has no verdict: smartctl said why, and -d sat is worth a try', () => {
    const [text, status] = capture('smartmontools-go-usb-unknown-bridge-048d_1234.json');
    expect(needsDeviceType(text, status)).toBe(true);
    expect(readSmartReport(text, status)).toEqual({
      verdict: 'unavailable',
      note: '/dev/disk/by-id/usb-Flash_Disk_3.0_7966051146147389472-0:0: Unknown USB bridge [0x048d:0x1234 (0x200)]',
    });
  });

  it('a device that -d sat cannot open either has no verdict and no second retry', () => {
    const [text, status] = capture('plugback-loop-device-d-sat.json');
    expect(needsDeviceType(text, status)).toBe(false);
    expect(readSmartReport(text, status)).toEqual({ verdict: 'unavailable', note: 'smartctl could not read it (exit status 2)' });
  });

  it('a disk smartctl may not open says what reading SMART needs', () => {
    expect(readSmartReport(...capture('plugback-loop-device-d-sat-as-nobody.json')).note).toBe(
      "Smartctl open device: /dev/loop3 [SAT] failed: Permission denied (reading SMART needs the raw disk: root outside the sandbox of plugback's units, e.g. sudo plugback run DRIVE (docs/health.md))",
    );
  });

  it('a healthy disk needs no retry, and output that is not JSON has no verdict', () => {
    expect(needsDeviceType(...capture('smartctl_exporter-sat-Hitachi_HDS721010CLA332-sda.json'))).toBe(false);
    expect(readSmartReport('smartctl: command line did not parse', 1)).toEqual({ verdict: 'unavailable', note: 'smartctl printed no report plugback could read (exit status 1)' });
  });
});

describe('comparing a reading with the last one', () => {
  const at = new Date('2026-12-03T10:00:00Z');
  const before: HealthRecord = { at: '2026-11-01T10:00:00.000Z', verdict: 'passed', serial: 'S1', reallocated: 3, pending: 0, offlineUncorrectable: 0, countersAt: '2026-11-01T10:00:00.000Z' };

  it('pending sectors that rose are named with both counts', () => {
    const change = compareReading(before, { verdict: 'passed', serial: 'S1', reallocated: 3, pending: 8, offlineUncorrectable: 0 }, '/dev/sdb', at);
    expect(change.rising).toEqual(['Current_Pending_Sector 0 -> 8']);
    expect(change.record).toMatchObject({ pending: 8, rising: ['Current_Pending_Sector 0 -> 8'], countersAt: at.toISOString(), disk: '/dev/sdb' });
  });

  it('old bad sectors that did not grow are not news', () => {
    expect(compareReading(before, { verdict: 'passed', serial: 'S1', reallocated: 3, pending: 0, offlineUncorrectable: 0 }, '/dev/sdb', at).rising).toEqual([]);
  });

  it('another disk (another serial number) starts afresh instead of comparing', () => {
    const change = compareReading(before, { verdict: 'passed', serial: 'S2', reallocated: 40, pending: 0 }, '/dev/sdb', at);
    expect(change.rising).toEqual([]);
    expect(change.otherDisk).toContain('serial number is S2, not S1');
  });

  it('a reading without SMART keeps the last counters to compare the next one with', () => {
    const gone = compareReading(before, { verdict: 'unavailable', note: 'no SMART' }, '/dev/sdc', at);
    expect(gone.record).toMatchObject({ verdict: 'unavailable', note: 'no SMART', reallocated: 3, pending: 0, serial: 'S1', countersAt: before.countersAt });
    expect(compareReading(gone.record, { verdict: 'passed', serial: 'S1', reallocated: 5, pending: 0 }, '/dev/sdb', at).rising).toEqual(['Reallocated_Sector_Ct 3 -> 5']);
  });
});
