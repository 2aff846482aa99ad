import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../../src/config/units.js';

describe('durations', () => {
  it('reads single and combined units', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });

  it('refuses a number without a unit and words', () => {
    expect(parseDuration('30')).toBeUndefined();
    expect(parseDuration('10 minutes')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });

  it('prints the two largest parts', () => {
    expect(formatDuration(350)).toBe('350ms');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(3_900_000)).toBe('1h 5m');
    expect(formatDuration(90_061_000)).toBe('1d 1h');
    // Only the two largest adjacent units: a gap is not filled with a smaller one.
    expect(formatDuration((47 * 86_400 + 1) * 1000)).toBe('47d');
    expect(formatDuration(3_605_000)).toBe('1h');
  });
});

describe('sizes', () => {
  it('counts K, M, G and KiB, MiB, GiB in powers of 1024 and KB, MB, GB in powers of 1000', () => {
    expect(parseSize('512')).toBe(512);
    expect(parseSize('512K')).toBe(524_288);
    expect(parseSize('20MiB')).toBe(20_971_520);
    expect(parseSize('1.5G')).toBe(1_610_612_736);
    expect(parseSize('300MB')).toBe(300_000_000);
    expect(parseSize('2 TB')).toBe(2_000_000_000_000);
  });

  it('refuses what is not a size', () => {
    expect(parseSize('20 MB/s')).toBeUndefined();
    expect(parseSize('fast')).toBeUndefined();
    expect(parseSize('10X')).toBeUndefined();
  });

  it('prints binary units', () => {
    expect(formatBytes(900)).toBe('900 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(1_288_490_189)).toBe('1.20 GiB');
  });
});
