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
  it('writes each message with the syslog priority of its level, so journalctl -p filters it', () => {
    const lines = logged(true, (log) => {
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error({ drive: 'x' }, 'e');
      log.fatal('f');
    });
    expect(lines).toEqual(['<7>d', '<6>i', '<4>w', '<3>e', '<2>f']);
  });

  it('gives every line of a message its priority (the journal splits at line breaks)', () => {
    expect(logged(true, (log) => log.error('the config was not reloaded:\nline 3: bad'))).toEqual(['<3>the config was not reloaded:', '<3>line 3: bad']);
  });

  it('writes plain JSON lines when stdout is not the journal', () => {
    const lines = logged(false, (log) => log.warn('w'));
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, msg: 'w' });
  });
});
