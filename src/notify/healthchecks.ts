// Pings for a drive's healthcheck (healthchecks.io style: start, success, fail). A ping is best effort: it has
// a time limit and its failure is logged, never thrown, so a monitoring service that is down cannot hold up a backup.
import type { Logger } from 'pino';
import type { HealthcheckSettings } from '../config/model.js';

export type PingKind = 'start' | 'success' | 'fail';

/** Requests the drive's URL for `kind` (POST with `body` when given); resolves when done, failed or timed out. */
export async function ping(settings: HealthcheckSettings | undefined, kind: PingKind, log: Logger, body?: string): Promise<void> {
  const url = settings?.[kind];
  if (!settings || !url) return;
  try {
    const response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'text/plain; charset=utf-8' } }),
      signal: AbortSignal.timeout(settings.timeout),
    });
    // Read the body, so the connection is released.
    await response.arrayBuffer();
    if (!response.ok) log.warn({ ping: kind, status: response.status }, `healthcheck ${kind} ping to ${redact(url)} answered ${response.status}`);
  } catch (error) {
    const code = ((error as Error).cause as { code?: unknown } | undefined)?.code;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${settings.timeout / 1000}s` : `${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`;
    log.warn({ ping: kind }, `healthcheck ${kind} ping to ${redact(url)} failed: ${reason}; the backup goes on`);
  }
}

/** The URL without its path: healthchecks.io URLs carry the check's secret id there. */
function redact(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/...`;
}
