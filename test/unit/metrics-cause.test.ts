import { describe, expect, it } from 'vitest';
import type { Ledger } from '../../src/notify/ledger.js';
import { renderMetrics } from '../../src/notify/metrics.js';

const run = { startedAt: '2026-12-02T02:15:00.000Z', finishedAt: '2026-12-02T02:20:00.000Z', durationMs: 300_000, transferredBytes: 1 };

describe('plugback_last_run_cause', () => {
  it('marks a good run whose drive was pulled before it was put away as result warning, cause removed', () => {
    const ledger: Ledger = { a: { trackedSince: run.startedAt, lastRun: { ...run, outcome: 'warning', cause: 'removed', step: 'prune' } } };
    const text = renderMetrics(ledger, ['a'], []);
    expect(text).toContain('plugback_last_run_result{drive="a",result="warning"} 1');
    expect(text).toContain('plugback_last_run_cause{drive="a",cause="removed"} 1');
    expect(text).toContain('plugback_last_run_cause{drive="a",cause="none"} 0');
  });

  it('gives runs recorded before the cause was kept the cause their outcome implies', () => {
    const ledger: Ledger = { a: { trackedSince: run.startedAt, lastRun: { ...run, outcome: 'failed' } }, b: { trackedSince: run.startedAt, lastRun: { ...run, outcome: 'success' } } };
    const text = renderMetrics(ledger, ['a', 'b'], []);
    expect(text).toContain('plugback_last_run_cause{drive="a",cause="failed"} 1');
    expect(text).toContain('plugback_last_run_cause{drive="b",cause="none"} 1');
  });
});
