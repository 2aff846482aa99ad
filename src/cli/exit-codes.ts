// The exit codes of every plugback command.
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  warnings: 3,
} as const;
