// plugback's lines in /etc/crypttab: one per LUKS drive, kept in a marked block so that rewriting it
// leaves the user's own lines and comments exactly as they were.
import type { LuksDrive } from '../config/model.js';

export const CRYPTTAB_BEGIN = '# BEGIN plugback: lines written by `plugback install --write-crypttab`; change the config, not these lines';
export const CRYPTTAB_END = '# END plugback';

/** Thrown when the crypttab cannot take plugback's lines as it is. */
export class CrypttabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrypttabError';
  }
}

/** x-systemd.device-timeout= as systemd reads time spans. */
export function timeSpan(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The crypttab line of a LUKS drive: unlocked only on request (noauto), never holding up boot (nofail), never asking for a password (headless). */
export function crypttabLine(drive: LuksDrive): string {
  if (/\s/.test(drive.keyFile)) {
    throw new CrypttabError(`the keyFile of drive "${drive.name}" (${drive.keyFile}) contains white space, which crypttab cannot hold; move the key to a path without spaces`);
  }
  const options = ['luks', 'noauto', 'nofail', 'headless=true', `x-systemd.device-timeout=${timeSpan(drive.deviceTimeout)}`];
  return `${drive.cryptName} UUID=${drive.uuid} ${drive.keyFile} ${options.join(',')}`;
}

/** What to do when systemd has no cryptsetup unit `unit` for the drive: its crypttab line is missing. */
export function missingCrypttabLine(drive: LuksDrive, unit: string): string {
  return (
    `systemd has no unit ${unit}: /etc/crypttab has no line for "${drive.cryptName}". Run "plugback install --write-crypttab", ` +
    `or add this line to /etc/crypttab and run "systemctl daemon-reload":\n  ${crypttabLine(drive)}`
  );
}

/** The crypttab with plugback's block holding `lines` (replaced in place, or appended); unchanged when every line is there already. */
export function mergeCrypttab(existing: string, lines: readonly string[]): string {
  const { before, block, after } = splitBlock(existing);
  const outside = [...before, ...after];
  if (lines.every((line) => outside.includes(line) || block?.includes(line)) && (block === undefined || block.every((l) => lines.includes(l)))) {
    return existing;
  }
  const ours = new Set(lines.filter((line) => !outside.includes(line)));
  for (const line of outside) {
    const name = volumeName(line);
    const clash = name !== undefined && [...ours].find((l) => volumeName(l) === name);
    if (clash) {
      throw new CrypttabError(`/etc/crypttab already has a line for ${name} that plugback did not write ("${line}"); remove it, or set drives.<drive>.cryptName to another name`);
    }
  }
  const blockLines = ours.size === 0 ? [] : [CRYPTTAB_BEGIN, ...ours, CRYPTTAB_END];
  return joinLines([...before, ...blockLines, ...after]);
}

/** The crypttab without plugback's block (unchanged when there is none). */
export function removeCrypttabBlock(existing: string): string {
  const { before, block, after } = splitBlock(existing);
  return block === undefined ? existing : joinLines([...before, ...after]);
}

/** The lines before, inside and after plugback's block; `block` is undefined when there is none. */
function splitBlock(text: string): { before: string[]; block: string[] | undefined; after: string[] } {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const start = lines.indexOf(CRYPTTAB_BEGIN);
  const end = start < 0 ? -1 : lines.indexOf(CRYPTTAB_END, start);
  if (start < 0 || end < 0) return { before: lines, block: undefined, after: [] };
  return { before: lines.slice(0, start), block: lines.slice(start + 1, end), after: lines.slice(end + 1) };
}

/** The volume name of a crypttab line, or undefined for comments and blank lines. */
function volumeName(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  return trimmed.split(/\s+/)[0];
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
