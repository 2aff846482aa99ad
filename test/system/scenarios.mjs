// Which scenario groups a run of the full-OS suite plays. All of them, in this order, unless PLUGBACK_SYSTEM_ONLY
// names some ("10", "1,3", "7 9"), for development; a group brings the groups it builds on. The guest gets the
// list in params.json and plays setup plus those groups; the host defines the tests of those groups only, so a
// group not played has no test at all (nothing skipped, nothing passing without having run).

/** The groups in the order the guest plays them (scenario "s9a-..." and "s9b-..." are group "9"). */
export const GROUPS = ['1', '2', '4', '3', '5', '6', '8', '7', '10', '11', '12', '13', '14', '15', '9'];

/** What a group's assertions or steps rely on from an earlier group. */
const NEEDS = {
  '3': ['1'], // its scenario 1 snapshot must survive the pulled drive
  '8': ['1'], // restores from the snapshot scenario 1 made
  '7': ['8'], // its new snapshot is compared with the latest one scenario 8 saw
  '11': ['1'], // backs up drive offsite-a again, which scenario 1 adopted
  '12': ['1'], // the same
  '15': ['1'], // its drill and check read drive A's snapshots, the oldest scenario 1's
};

/** The groups to play, in play order, from PLUGBACK_SYSTEM_ONLY's value (unset or empty: all). */
export function selectGroups(only = '') {
  const asked = only.split(/[\s,]+/).filter(Boolean);
  if (asked.length === 0) return [...GROUPS];
  const unknown = asked.filter((g) => !GROUPS.includes(g));
  if (unknown.length > 0) throw new Error(`PLUGBACK_SYSTEM_ONLY: no scenario group ${unknown.join(', ')} (there are ${GROUPS.join(', ')})`);
  const chosen = new Set();
  const add = (g) => {
    if (chosen.has(g)) return;
    chosen.add(g);
    for (const n of NEEDS[g] ?? []) add(n);
  };
  asked.forEach(add);
  return GROUPS.filter((g) => chosen.has(g));
}
