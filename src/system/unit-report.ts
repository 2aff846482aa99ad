// A systemd unit's status and the end of its journal, as text for a mail. Either may be missing (no systemd
// in a container, no permission for the journal): the mail then says why instead.

export interface UnitReport {
  status: string;
  journal: string;
}

const TIMEOUT_MS = 15_000;

/** `systemctl status UNIT` and the last `lines` lines of `journalctl -u UNIT`. */
export async function unitReport(unit: string, lines: number): Promise<UnitReport> {
  const [status, journal] = await Promise.all([
    output('systemctl', ['status', '--no-pager', '--full', '--lines=0', '--', unit]),
    output('journalctl', ['--no-pager', '--output=short-iso', `--lines=${lines}`, `--unit=${unit}`]),
  ]);
  return { status, journal };
}

/** What a command printed; `systemctl status` exits 3 for a failed unit, which is the normal case here. */
async function output(command: string, args: string[]): Promise<string> {
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
  const result = await execa(command, args, { reject: false, timeout: TIMEOUT_MS, all: true, stdin: 'ignore' });
  const text = (result.all ?? '').trim();
  if (result.failed && text === '') return `(${command} ${args.join(' ')} gave nothing: ${result.shortMessage})`;
  return text;
}
