// The names of plugback's D-Bus API, chosen once and kept: the generated bus policy and polkit actions use them.

export const BUS_NAME = 'io.github.plugback.Daemon1';
export const OBJECT_PATH = '/io/github/plugback/Daemon1';
export const INTERFACE = 'io.github.plugback.Daemon1';

/** The polkit action that guards each method that changes something. */
export const ACTIONS = {
  Start: 'io.github.plugback.start',
  Cancel: 'io.github.plugback.cancel',
  DeleteSnapshot: 'io.github.plugback.delete-snapshot',
  /** CreateArchive, CancelArchive and DeleteArchive. */
  Archive: 'io.github.plugback.archive',
  /** OpenDrive and CloseDrive. */
  OpenDrive: 'io.github.plugback.open-drive',
} as const;

export const ERRORS = {
  /** polkit (or, without polkit, the root-only rule) said no. */
  notAuthorized: `${INTERFACE}.Error.NotAuthorized`,
  /** The request cannot be carried out now: unknown drive, drive not plugged in, no job running, ... */
  failed: `${INTERFACE}.Error.Failed`,
} as const;
