// The LED colours the host asserts, at led.brightness 100 with led.pulse false (steady), and the last one written.
export const GREEN = '0,128,0'; // led.colours.done (CSS green)
export const RED = '255,0,0'; // led.colours.failed
export const WORKING = '51,194,128'; // led.colours.working (#33c280)

/** The last colour written to the stick's LED (report 1), from the emulator's log. */
export function lastColour(list) {
  return list.filter((c) => c.id === 1).at(-1)?.value;
}
