// When systemd will next start a timer: `systemctl show`, asked only about timers plugback installed.
import { execa } from 'execa';

/**
 * The next time `unit` elapses, or null when it cannot be known: systemctl missing or failing (no systemd
 * running), the timer not installed (LoadState not "loaded"), not started, or with no next time.
 */
export async function nextElapse(unit: string): Promise<Date | null> {
  const args = ['show', '--timestamp=unix', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'NextElapseUSecRealtime', '--', unit];
  const result = await execa('systemctl', args, { reject: false, timeout: 5_000 });
  if (result.exitCode !== 0) return null;
  const properties = new Map(
    result.stdout.split('\n').map((line): [string, string] => {
      const eq = line.indexOf('=');
      return eq < 0 ? [line, ''] : [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
  if (properties.get('LoadState') !== 'loaded' || properties.get('ActiveState') !== 'active') return null;
  // --timestamp=unix prints "@SECONDS"; an unset time (a timer that will not fire again) prints nothing.
  const seconds = /^@(\d+)$/.exec(properties.get('NextElapseUSecRealtime') ?? '')?.[1];
  return seconds === undefined ? null : new Date(Number(seconds) * 1000);
}
