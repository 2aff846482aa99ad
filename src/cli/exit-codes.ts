// The exit codes of every plugback command.
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  warnings: 3,
  /** EX_TEMPFAIL (sysexits.h): the same drive is being backed up already; nothing was done. */
  busy: 75,
} as const;
