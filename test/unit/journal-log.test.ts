import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { journalSink } from '../../src/daemon/journal-log.js';
import { lineLogger } from '../../src/job/job-log.js';

function logged(toJournal: boolean, log: (l: ReturnType<typeof lineLogger>) => void): string[] {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  log(lineLogger(journalSink(out, toJournal), 'debug', { component: 'daemon' }));
  return chunks.join('').split('\n').filter(Boolean);
}

describe('the daemon log under systemd', () => {
  it('prefixes each JSON line with the syslog priority of its level, so journalctl -p filters it', () => {
    const lines = logged(true, (log) => {
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');
      log.fatal('f');
    });
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<7>', '<6>', '<4>', '<3>', '<2>']);
    expect(JSON.parse(lines[2]!.slice(3))).toMatchObject({ msg: 'w', component: 'daemon' });
  });

  it('writes plain JSON lines when stdout is not the journal', () => {
    const lines = logged(false, (log) => log.warn('w'));
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, msg: 'w' });
  });
});
