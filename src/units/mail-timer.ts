// install.trigger units: no daemon retries the mail in the outbox, so a timer runs `plugback mail flush`
// (only when the config has a mail: section; healthchecks pings are not queued).
import type { Config } from '../config/model.js';
import { quotedWord } from './exec-line.js';
import type { GeneratedFile, Render } from './generated-file.js';

const UNIT_DIR = '/etc/systemd/system';
export const MAIL_TIMER = 'plugback-mail.timer';
/** How often waiting mail is tried: often enough that a failure mail is not a day late, rarely enough to be quiet. */
const INTERVAL = '15min';

/** plugback-mail.service and .timer, and the timer's link in timers.target.wants, or nothing. */
export function mailTimerFiles(config: Config, render: Render, execMailFlush: string): GeneratedFile[] {
  if (config.install.trigger !== 'units' || !config.mail) return [];
  return [
    {
      path: `${UNIT_DIR}/plugback-mail.service`,
      purpose: 'sends the mail waiting in the outbox (plugback mail flush), started by plugback-mail.timer',
      content: render('units/plugback-mail.service', { EXEC_MAIL_FLUSH: execMailFlush, STATE_DIR: quotedWord(config.stateDir, 'stateDir') }),
    },
    { path: `${UNIT_DIR}/${MAIL_TIMER}`, purpose: `tries the waiting mail every ${INTERVAL}: no daemon does with install.trigger units`, content: render('units/plugback-mail.timer', { INTERVAL }) },
    { path: `${UNIT_DIR}/timers.target.wants/${MAIL_TIMER}`, purpose: 'the mail timer starts at boot (systemctl enable)', symlinkTo: `${UNIT_DIR}/${MAIL_TIMER}` },
  ];
}
