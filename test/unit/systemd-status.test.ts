// What `systemctl status plugback` shows while a drive is backed up: the whole job's figure, as a terminal shows
// it, not rsync's per-file estimate (which said `0ms left` halfway through a state).
import { describe, expect, it } from 'vitest';
import type { Config, Drive } from '../../src/config/model.js';
import type { SyncProgress } from '../../src/job/events.js';
import { SystemdStatus } from '../../src/daemon/systemd-status.js';

const progress = (p: Partial<SyncProgress>): SyncProgress =>
  ({ percent: 50, state: 'photos', stateIndex: 1, stateCount: 1, bytes: 64 * 1024 * 1024, rate: 2 * 1024 * 1024, etaSeconds: 0, ...p }) as SyncProgress;

describe('the daemon\'s STATUS= line', () => {
  it('says which drive, the job\'s percentage, the bytes and rate, and no time left it cannot know', async () => {
    const sent: Record<string, string>[] = [];
    const status = new SystemdStatus(async (fields) => {
      sent.push(fields);
    });
    const hooks = status.subscriber({ name: 'offsite-a' } as Drive, {} as Config);
    await hooks.started?.();
    hooks.event?.({ type: 'progress', progress: progress({}) });
    const lines = sent.map((f) => f.STATUS);
    expect(lines).toEqual(['backing up "offsite-a"', 'offsite-a: backing up, 50% | photos | 64.0 MiB copied | 2.00 MiB/s | estimating']);
    expect(lines.join('\n')).not.toMatch(/0ms left/);
  });
});
