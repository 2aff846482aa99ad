// PLUGBACK_SYSTEM_ONLY for the full-OS suite: which scenario groups a development run plays (test/system/README.md).
import { describe, expect, it } from 'vitest';
import { GROUPS, selectGroups } from '../system/scenarios.mjs';

describe('selectGroups', () => {
  it('plays every group, in the guest order, when nothing is selected', () => {
    expect(selectGroups(undefined)).toEqual([...GROUPS]);
    expect(selectGroups('')).toEqual([...GROUPS]);
    expect(selectGroups('').slice(-7)).toEqual(['10', '11', '12', '13', '14', '15', '9']);
  });

  it('plays the named groups and what they build on, in the guest order', () => {
    expect(selectGroups('10')).toEqual(['10']);
    expect(selectGroups('9, 2')).toEqual(['2', '9']);
    expect(selectGroups('7')).toEqual(['1', '8', '7']);
    expect(selectGroups('3 3')).toEqual(['1', '3']);
    expect(selectGroups('11')).toEqual(['1', '11']);
    expect(selectGroups('13')).toEqual(['13']);
    expect(selectGroups('14')).toEqual(['14']);
    expect(selectGroups('15')).toEqual(['1', '15']);
  });

  it('refuses a group that does not exist, rather than playing nothing', () => {
    expect(() => selectGroups('9a')).toThrow('no scenario group 9a (there are 1, 2, 4, 3, 5, 6, 8, 7, 10, 11, 12, 13, 14, 15, 9)');
  });
});
