// The power-cut driver, run in the guest instead of guest-driver.mjs when params.json says `driver: power-cut.mjs`.
// The guest boots several times from the same root overlay and drive image; params.phase says which boot this is:
//   1  set up (plugback installed, drive A adopted, the daemon running), two good backups (generations 1 and 2; the
//      second one's success mail left in the outbox with the mail server down), then a third (generation 3, slowed
//      to 1 MiB/s) and `VMTEST: powercut rsync` 3 s into its rsync
//   2  check, mail server back, the queued mail delivered; plug: the cut inside `complete`, once the copied data is
//      flushed and before the rename (a `sync` on PATH that runs the real one and then hangs: `powercut complete`)
//   3  check; plug: the cut during prune, the doomed snapshot renamed `.deleting` and its `rm` under way (`powercut prune`)
//   4  check; plug: the backup completes; check again; power off
// Each check opens the drive with the daemon stopped and compares every complete snapshot with the manifest of the
// source generation it holds; what it found goes to the host as one `VMTEST: result <phase> <json>` line, since a
// guest that loses power writes nothing more to its disks.
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const PAYLOAD = '/payload';
const params = JSON.parse(readFileSync(`${PAYLOAD}/params.json`, 'utf8'));
const KEEP = '/var/lib/pc-test'; // on the root overlay: survives the cuts (written with sync)
const MAIL_LOG = `${KEEP}/mail.jsonl`;
const SOURCE = '/srv/photos';
const HOLD_SYNC = '/run/pc-hold-sync';
const HOLD_RM = '/run/pc-hold-rm';
const UUID = params.uuidA;
const DEV = `/dev/disk/by-uuid/${UUID}`;
const result = { phase: params.phase };

const say = (text) => appendFileSync('/dev/ttyS0', `VMTEST: ${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function sh(cmd, allowFail = false) {
  const r = spawnSync('/bin/bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
  appendFileSync(`${KEEP}/driver.log`, `${new Date().toISOString()} [${params.phase}] $ ${cmd} -> ${r.status} ${(r.stderr ?? '').trim().slice(0, 500)}\n`);
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} exited ${r.status}: ${r.stderr || r.stdout}`);
  return (r.stdout ?? '').trim();
}
async function until(what, fn, ms, every = 300) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(every);
  }
}
const running = (pattern) => spawnSync('pgrep', ['-f', pattern]).status === 0;
const rsyncRuns = () => spawnSync('pgrep', ['-x', 'rsync']).status === 0; // under nice and ionice: by its name
/** The daemon's messages since `since` (ms), one a line: its journal lines are pino JSON, read for their `msg`. */
const journal = (since) => sh(`journalctl -u plugback.service --since '@${Math.floor(since / 1000)}' -o cat --no-pager`, true)
  .split('\n').map((l) => { try { return String(JSON.parse(l.replace(/^<\d>/, '')).msg ?? l); } catch { return l; } }).join('\n');
const mails = () => (existsSync(MAIL_LOG) ? readFileSync(MAIL_LOG, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

async function plug() {
  say('plug a disk-a.img');
  await until(`${DEV} to appear`, () => existsSync(DEV), 90_000, 200);
}
async function unplug() {
  say('unplug a');
  await until(`${DEV} to go`, () => !existsSync(DEV), 60_000);
}

function writeConfig(extra = '') {
  writeFileSync('/etc/plugback/config.yaml', `host: guest
drives:
  offsite-a:
    uuid: ${UUID}
    keyFile: /etc/plugback/keys/offsite-a.key
states:
  photos:
    folders: [${SOURCE}]
backup:
  verifySample: 5
  retention: { keepLast: 2, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 }
${extra}
daemon:
  minInterval: 0s
mail:
  to: [admin@guest.test]
  from: plugback@guest.test
  onSuccess: true
  smtp: { host: 127.0.0.1, port: 2525, security: none }
reminders:
  enabled: false
install:
  trigger: daemon
`);
  sh('sync');
}

/** A new source generation: `files` files of `mib` MiB each; its manifest kept on the root disk. */
function newGeneration(gen, files, mib, notes = 30) {
  sh(`mkdir -p ${SOURCE}/gen${gen} && for i in $(seq 1 ${files}); do head -c ${mib}M /dev/urandom > ${SOURCE}/gen${gen}/f$i.bin; done
      for i in $(seq 1 ${notes}); do echo "gen ${gen} note $i" > ${SOURCE}/gen${gen}/note$i.txt; done
      echo ${gen} > ${SOURCE}/.pc-generation`);
  writeFileSync(`${KEEP}/gen-${gen}.manifest`, manifest(SOURCE));
  sh('sync');
}
/** What a tree holds: every entry's type, mode, owner and link target, and every file's sha256. */
function manifest(root) {
  return sh(`cd '${root}' && find . -printf '%y %m %U:%G %s %p %l\\n' | grep -v '^d' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum`);
}

function startMailServer() {
  sh(`systemd-run --unit=smtp-sink-${params.phase}-${Date.now()} /usr/local/bin/node /usr/local/lib/smtp-sink.mjs --modules /opt/plugback/node_modules --port 2525 --log ${MAIL_LOG}`);
  return until('the SMTP server to listen', () => sh('ss -Htln sport = :2525', true).includes('2525'), 120_000);
}
const stopMailServer = () => sh("systemctl stop 'smtp-sink-*.service'", true);

/** The drive's job-end line since `since`, if it ended; jobEnd waits for it. */
const ended = (since) => journal(since).split('\n').find((l) => /drive "offsite-a" (is done: safe to remove|was left unmounted)|backup of "offsite-a" failed/.test(l));
const jobEnd = (since, ms = 600_000) => until('the job to end', () => ended(since), ms, 1000);

/** Opens the drive with the daemon stopped and reports what the cut left on it and in stateDir. */
async function check(label) {
  sh('systemctl stop plugback.service');
  const out = { label };
  await plug();
  try {
    // Read-write mapping, read-only mount: ext4 replays its journal (as the daemon's mount would) and changes nothing else.
    sh(`cryptsetup open --key-file /etc/plugback/keys/offsite-a.key ${DEV} pc-check`);
    sh('mkdir -p /mnt/pc && mount -o ro /dev/mapper/pc-check /mnt/pc');
    const base = '/mnt/pc/plugback/guest';
    const names = readdirSync(`${base}/snapshots`).sort();
    out.entries = names;
    out.latest = sh(`readlink ${base}/latest`, true);
    out.snapshots = {};
    for (const name of names.filter((n) => /^\d{4}-\d\d-\d\dT\d{6}Z$/.test(n))) {
      const s = {};
      const marker = sh(`find ${base}/snapshots/${name} -name .pc-generation | head -n1`, true);
      s.record = existsSync(`${base}/snapshots/${name}/snapshot.json`);
      if (marker) {
        const copy = marker.replace(/\/\.pc-generation$/, '');
        s.generation = Number(readFileSync(marker, 'utf8').trim());
        const want = readFileSync(`${KEEP}/gen-${s.generation}.manifest`, 'utf8');
        s.equal = manifest(copy) === want;
        if (!s.equal) s.diff = sh(`diff <(cd '${copy}' && find . -type f -print0 | sort -z | xargs -0 sha256sum) <(grep -E '^[0-9a-f]{64}  ' ${KEEP}/gen-${s.generation}.manifest) | head -n 20`, true);
      }
      out.snapshots[name] = s;
    }
  } finally {
    sh('umount /mnt/pc', true);
    sh('cryptsetup close pc-check', true);
    await unplug();
  }
  const ledger = sh('cat /var/lib/plugback/ledger.json', true);
  try { out.ledger = JSON.parse(ledger).drives?.['offsite-a'] ?? 'no record'; } catch (e) { out.ledger = `unreadable: ${e.message}`; }
  out.outbox = [];
  for (const f of existsSync('/var/lib/plugback/outbox') ? readdirSync('/var/lib/plugback/outbox') : []) {
    if (f === 'failed') continue;
    try { out.outbox.push({ file: f, subject: JSON.parse(readFileSync(`/var/lib/plugback/outbox/${f}`, 'utf8')).message.subject }); } catch (e) { out.outbox.push({ file: f, unreadable: e.message }); }
  }
  out.mails = mails().map((m) => ({ subject: m.subject, text: m.text.slice(0, 300) }));
  sh('systemctl reset-failed plugback.service; systemctl start plugback.service');
  await until('the daemon', () => sh('systemctl is-active plugback.service', true) === 'active', 60_000);
  say(`checked ${params.phase} ${JSON.stringify(out)}`); // at once, for a person watching the console
  return out;
}

/** Plugs the drive and cuts the power once `holding` runs (a stand-in the driver put on PATH for this one job). */
async function plugAndCut(moment, hold, holding) {
  writeFileSync(hold, '');
  const since = Date.now();
  await plug();
  const seen = await until(`the moment "${moment}"`, () => (running(holding) && 'held') || (ended(since) && 'ended'), 900_000, 250);
  if (seen === 'ended') throw new Error(`the job ended before the moment "${moment}": ${journal(since).split('\n').slice(-15).join(' | ')}`);
  result.journalBeforeCut = journal(since).split('\n').slice(-12);
  say(`result ${params.phase} ${JSON.stringify(result)}`);
  say(`powercut ${moment}`);
  await sleep(600_000);
}

/** `sync` and `rm` as the daemon finds them on PATH: the real program, except that when the hold file is there (in
 * /run, so gone after the cut) `sync` runs the real one and then hangs, and an `rm` of a `.deleting` folder starts the
 * real one and hangs 0.3 s later. The hang is what the driver waits for before it says `powercut`. */
function installHolds() {
  writeFileSync('/usr/local/sbin/sync', `#!/bin/sh\n/usr/bin/sync "$@"; s=$?\n[ -e ${HOLD_SYNC} ] && exec sleep 3601\nexit $s\n`);
  writeFileSync('/usr/local/sbin/rm', `#!/bin/sh\ncase "$*" in *.deleting*) if [ -e ${HOLD_RM} ]; then /usr/bin/rm "$@" & sleep 0.3; exec sleep 3602; fi;; esac\nexec /usr/bin/rm "$@"\n`);
  chmodSync('/usr/local/sbin/sync', 0o755);
  chmodSync('/usr/local/sbin/rm', 0o755);
}

async function setup() {
  sh(`install -m 0755 ${PAYLOAD}/node /usr/local/bin/node`);
  sh(`rm -rf /opt/plugback && cp -a ${PAYLOAD}/plugback /opt/plugback`);
  writeFileSync('/usr/local/bin/plugback', '#!/bin/sh\nexec /usr/local/bin/node /opt/plugback/dist/main.js "$@"\n');
  chmodSync('/usr/local/bin/plugback', 0o755);
  sh('mkdir -p /etc/plugback/keys && chmod 700 /etc/plugback/keys');
  copyFileSync(`${PAYLOAD}/keys/offsite-a.key`, '/etc/plugback/keys/offsite-a.key');
  chmodSync('/etc/plugback/keys/offsite-a.key', 0o600);
  sh(`install -m 0644 ${PAYLOAD}/smtp-sink.mjs /usr/local/lib/smtp-sink.mjs`);
  installHolds();
  writeConfig();
  sh(`mkdir -p ${SOURCE} && ln -sfn gen1/note1.txt ${SOURCE}/a-link`);
  newGeneration(1, 2, 2, 1500); // many files: the cut during prune lands while rm still deletes
  await plug();
  sh(`cryptsetup open --key-file /etc/plugback/keys/offsite-a.key ${DEV} prep-a && mkfs.ext4 -q -L offsite-a /dev/mapper/prep-a`);
  sh('mkdir -p /run/plugback/offsite-a && mount /dev/mapper/prep-a /run/plugback/offsite-a');
  sh('plugback drive adopt offsite-a');
  sh('umount /run/plugback/offsite-a && cryptsetup close prep-a');
  await unplug();
  // TCG on a shared, loaded host: the daemon's start (node, D-Bus, udisks2) can take longer than systemd's default 90 s.
  sh('mkdir -p /etc/systemd/system/plugback.service.d && printf "[Service]\\nTimeoutStartSec=15min\\n" > /etc/systemd/system/plugback.service.d/zz-slow-guest.conf');
  sh('plugback install --write-crypttab && systemctl daemon-reload');
  sh('systemctl start plugback.service && sync');
  await startMailServer();
}

/** One whole backup; returns its end line. */
async function backup() {
  const since = Date.now();
  await plug();
  const end = await jobEnd(since);
  await unplug();
  return end;
}

const phases = {
  async 1() {
    await setup();
    result.job1 = await backup();
    await until('the first success mail', () => mails().length >= 1, 120_000, 1000);
    newGeneration(2, 1, 2);
    stopMailServer(); // the second success mail stays in the outbox across the cut
    result.job2 = await backup();
    newGeneration(3, 12, 1);
    writeConfig('  bandwidthLimit: 1MiB');
    sh('systemctl reload plugback.service');
    await sleep(3000);
    const since = Date.now();
    await plug();
    await until('rsync to start', rsyncRuns, 600_000, 200);
    await sleep(3000);
    result.rsyncRunningAtCut = rsyncRuns();
    result.journalBeforeCut = journal(since).split('\n').slice(-8);
    say(`result 1 ${JSON.stringify(result)}`);
    say('powercut rsync');
    await sleep(600_000);
  },
  async 2() {
    result.check = await check('after the cut during rsync');
    // The server first: a daemon's first delivery after its start tries every waiting mail at once, while its later
    // retries follow the backoff (30 s doubling up to an hour), which the attempts of boots 1 and 2 have stretched.
    await startMailServer();
    writeConfig();
    sh('systemctl restart plugback.service');
    await until('the queued mail to go', () => mails().length >= 2, 600_000, 2000);
    await plugAndCut('complete', HOLD_SYNC, '^sleep 3601');
  },
  async 3() {
    await startMailServer();
    result.check = await check('after the cut inside complete');
    await plugAndCut('prune', HOLD_RM, '^sleep 3602');
  },
  async 4() {
    await startMailServer();
    result.check = await check('after the cut during prune');
    result.job = await backup();
    await sleep(20_000); // the success mail's delivery (and, if it were sent twice, its copy)
    result.final = await check('after the next plug');
    say(`result 4 ${JSON.stringify(result)}`);
  },
};

mkdirSync(KEEP, { recursive: true });
say(`driver power-cut phase ${params.phase}`);
phases[params.phase]()
  .catch((error) => {
    result.fatal = String(error?.stack ?? error);
    result.daemonJournal = sh('journalctl -b -u plugback.service -o short-monotonic --no-pager | tail -n 40', true).split('\n');
    say(`result ${params.phase} ${JSON.stringify(result)}`);
    say(`fatal ${String(error?.message ?? error).split('\n')[0]}`);
  })
  .finally(() => {
    sh(`journalctl -b --no-pager -o short-precise > ${KEEP}/journal-${params.phase}.txt`, true);
    say('done');
    sh('sync; umount /payload', true);
    sh('systemctl --no-block poweroff', true);
  });
