// The last few lines systemd logged for a unit, for an error message that says why a unit's job failed.

/** The unit's journal lines of the last ten minutes joined with " / ", or "" when journalctl cannot tell. */
export async function journalTail(unit: string, lines = 5): Promise<string> {
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
  const result = await execa('journalctl', ['-u', unit, '-n', String(lines), '-o', 'cat', '--no-pager', '--since', '-10min'], { reject: false, timeout: 5000 });
  return result.exitCode === 0 ? result.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('-- ')).join(' / ') : '';
}

/** "; systemd's log says: ..." or where to look, to end an error message about `unit`. */
export async function journalHint(unit: string): Promise<string> {
  const journal = await journalTail(unit);
  return journal ? `; systemd's log says: ${journal}` : `; see "journalctl -u '${unit}'"`;
}
