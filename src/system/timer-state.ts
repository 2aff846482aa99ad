// When systemd will next start a timer: `systemctl show`, asked only about timers plugback installed.

/**
 * The next time `unit` elapses, or null when it cannot be known: systemctl missing or failing (no systemd
 * running), the timer not installed (LoadState not "loaded"), not started, or with no next time.
 */
export async function nextElapse(unit: string): Promise<Date | null> {
  const args = ['show', '--timestamp=unix', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'NextElapseUSecRealtime', '--', unit];
  // TZ and LC_ALL fixed: systemd 252's show ignores --timestamp=unix and prints local text time, so make that UTC.
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
  const result = await execa('systemctl', args, { reject: false, timeout: 5_000, env: { TZ: 'UTC', LC_ALL: 'C' } });
  if (result.exitCode !== 0) return null;
  const properties = new Map(
    result.stdout.split('\n').map((line): [string, string] => {
      const eq = line.indexOf('=');
      return eq < 0 ? [line, ''] : [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
  if (properties.get('LoadState') !== 'loaded' || properties.get('ActiveState') !== 'active') return null;
  return parseNextElapse(properties.get('NextElapseUSecRealtime') ?? '');
}

/**
 * NextElapseUSecRealtime as systemctl prints it. systemd 252 prints "Thu 2026-12-03 02:42:00 UTC" (local time, to
 * the second, the random delay drawn already; test/fixtures/systemctl-show-timer.json, captured in the full-OS
 * guest) whatever --timestamp says; "@SECONDS" (the --timestamp=unix form, which 252's show never printed) and raw
 * microseconds (the bus's own form) are read too. Empty or 0 when the timer will not fire again.
 */
export function parseNextElapse(value: string): Date | null {
  const seconds = /^@(\d+)$/.exec(value)?.[1];
  if (seconds !== undefined) return new Date(Number(seconds) * 1000);
  if (/^\d+$/.test(value)) return Number(value) > 0 ? new Date(Number(value) / 1000) : null;
  const text = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/.exec(value);
  return text ? new Date(`${text[1]}T${text[2]}Z`) : null;
}
