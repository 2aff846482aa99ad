// The guest driver's plumbing (plain Node, in the guest): commands with their outcome noted in driver.log, the
// VMTEST: markers the host reads on the serial console, and what the scenarios watch: plugback.service's journal,
// the emulated BlinkStick's colour log and the mail the SMTP sink received.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

export const PAYLOAD = '/payload';
export const RESULTS = `${PAYLOAD}/results`;
export const params = JSON.parse(readFileSync(`${PAYLOAD}/params.json`, 'utf8'));
export const COLOUR_LOG = '/run/blinkstick-colours.log';
export const MAIL_LOG = '/run/smtp-sink.jsonl';
export const CONFIG = '/etc/plugback/config.yaml';
export const results = { params, setup: {}, scenarios: {} };
mkdirSync(RESULTS, { recursive: true });

export function saveResults() {
  writeFileSync(`${RESULTS}/results.json`, JSON.stringify(results, null, 2));
}

export function marker(text) {
  appendFileSync('/dev/ttyS0', `VMTEST: ${text}\n`);
}
export function note(text) {
  appendFileSync(`${RESULTS}/driver.log`, `${new Date().toISOString()} ${text}\n`);
}
export function sh(cmd, { allowFail = false } = {}) {
  const r = spawnSync('/bin/bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
  note(`$ ${cmd} -> ${r.status}${r.stderr ? ` stderr: ${r.stderr.trim().slice(0, 2000)}` : ''}`);
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} exited ${r.status}: ${r.stderr || r.stdout}`);
  return allowFail ? { code: r.status, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() } : (r.stdout ?? '').trim();
}
/**
 * A command run in the background (`sh` blocks the driver): what it printed so far, and `done`, its outcome as
 * `sh(..., { allowFail: true })` gives it. For a command that waits for something the driver does next.
 */
export function shBackground(cmd) {
  const child = spawn('/bin/bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = { out: '', err: '', exited: false };
  child.stdout.setEncoding('utf8').on('data', (d) => { seen.out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { seen.err += d; });
  const done = new Promise((resolve) => child.on('close', (code, signal) => {
    seen.exited = true;
    note(`$ ${cmd} (background) -> ${code ?? signal}${seen.err ? ` stderr: ${seen.err.trim().slice(0, 2000)}` : ''}`);
    resolve({ code: code ?? signal, out: seen.out.trim(), err: seen.err.trim() });
  }));
  note(`$ ${cmd} (background, pid ${child.pid})`);
  return { seen, done, stop: () => { if (!seen.exited) child.kill('SIGTERM'); } };
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function waitFor(what, fn, timeoutMs, everyMs = 300) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

// --- the journal of plugback.service, as messages with their time ---
export const DAEMON_UNIT = 'plugback.service';
/** Starts the daemon by hand: clears the start limit first, which the suite's many stops, starts and kills reach. */
export function startDaemon({ allowFail = false } = {}) {
  return sh(`systemctl reset-failed ${DAEMON_UNIT}; systemctl start ${DAEMON_UNIT}`, { allowFail });
}
export function journalCursor() {
  // The whole journal's cursor: it marks a moment, whichever unit is read after it.
  const out = sh('journalctl -n 1 --show-cursor -q --no-pager -o cat', { allowFail: true }).out;
  return /-- cursor: (.+)/.exec(out)?.[1]?.trim() ?? '';
}
export function journalSince(cursor, unit = DAEMON_UNIT) {
  const arg = cursor ? `--after-cursor='${cursor}'` : '-b';
  const out = sh(`journalctl -u '${unit}' ${arg} -o json --no-pager`, { allowFail: true }).out;
  const entries = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    let e;
    try { e = JSON.parse(line); } catch { continue; }
    let message = e.MESSAGE;
    if (Array.isArray(message)) message = Buffer.from(message).toString('utf8');
    let msg = String(message ?? '');
    let level;
    if (msg.startsWith('{')) {
      try { const j = JSON.parse(msg); msg = String(j.msg ?? msg); level = j.level; } catch { /* a plain line */ }
    }
    // Under systemd plugback writes sentences with a <N> prefix, which journald keeps as PRIORITY: pino's level from it.
    level ??= { 2: 60, 3: 50, 4: 40, 6: 30, 7: 20 }[e.PRIORITY];
    entries.push({ t: Math.round(Number(e.__REALTIME_TIMESTAMP) / 1000), msg, level, priority: e.PRIORITY });
  }
  return entries;
}
export async function waitJournal(cursor, re, timeoutMs, what, unit = DAEMON_UNIT) {
  let found;
  await waitFor(what ?? `the log line ${re}`, () => {
    found = journalSince(cursor, unit).find((e) => re.test(e.msg));
    return found;
  }, timeoutMs, 1000);
  return found;
}

// --- the emulated BlinkStick's colour log ---
export function colours() {
  if (!existsSync(COLOUR_LOG)) return [];
  return readFileSync(COLOUR_LOG, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [t, id, ...rest] = l.split(' ');
    return { t: Number(t), id: Number(id), value: rest.join(' ') };
  });
}
/** Waits until no colour has been written for `quietMs` (the LED settled), at most `timeoutMs`. */
export async function colourQuiet(quietMs = 3000, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = colours().at(-1);
    if (!last || Date.now() - last.t >= quietMs || Date.now() > deadline) return colours().length;
    await sleep(500);
  }
}

// --- the mail the guest's SMTP server received ---
export function mails() {
  if (!existsSync(MAIL_LOG)) return [];
  return readFileSync(MAIL_LOG, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
/** Waits for a mail after the first `since` whose subject matches `re`. */
export async function waitMail(since, re, timeoutMs = 90_000) {
  return waitFor(`a mail with the subject ${re}`, () => mails().slice(since).find((m) => re.test(m.subject)), timeoutMs, 500);
}

