// When systemd will next start a timer: `systemctl show`, asked only about timers plugback installed.
import { execa } from 'execa';

/**
 * The next time `unit` elapses, or null when it cannot be known: systemctl missing or failing (no systemd
 * running), the timer not installed (LoadState not "loaded"), not started, or with no next time.
 */
export async function nextElapse(unit: string): Promise<Date | null> {
  const args = ['show', '--timestamp=unix', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'NextElapseUSecRealtime', '--', unit];
  // TZ and LC_ALL fixed, so a systemd that prints the time as text (ignoring --timestamp=unix) prints it in UTC.
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
 * NextElapseUSecRealtime as systemctl prints it: "@SECONDS" with --timestamp=unix, but (not confirmed on every
 * version) also raw microseconds or "Wed 2026-12-02 01:38:00 UTC"; nothing when the timer will not fire again.
 */
export function parseNextElapse(value: string): Date | null {
  const seconds = /^@(\d+)$/.exec(value)?.[1];
  if (seconds !== undefined) return new Date(Number(seconds) * 1000);
  if (/^\d+$/.test(value)) return Number(value) > 0 ? new Date(Number(value) / 1000) : null;
  const text = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/.exec(value);
  return text ? new Date(`${text[1]}T${text[2]}Z`) : null;
}
