// Scenario 15 in the guest (issue 16): the daemon's restore drill after a backup onto drive A; then, between two
// plugs, the host flips one byte of drive A's image inside a file of its oldest snapshot, and `plugback check --all`
// in the guest must find it. The drive is opened read-only with `plugback open` while the daemon runs, as in
// scenario 8. The host asserts (checks/check-drill.mjs).
import { readFileSync } from 'node:fs';
import { journalCursor, journalSince, marker, params, sh, shBackground, waitFor } from './lib.mjs';
import { followJob, jobEnd, plugTracked, reconfigure, scenario, state, unplugTracked } from './drives.mjs';

const DRIVE = 'offsite-a';
const MOUNT = `/run/plugback/${DRIVE}`;
const MAPPING = `plugback-${DRIVE}`;
const SNAPSHOTS = `${MOUNT}/plugback/guest/snapshots`;
const LEDGER = '/var/lib/plugback/ledger.json';
// drives.offsite-a.drill (src/config/schema-care.ts): a drill after every good backup, 20 files.
const DRILL = ['    drill:', '      everyBackups: 1', '      files: 20'].join('\n');
const CHANGED = '/srv/photos/2024/summer/img3.txt';
// Where in the file's first block the flipped byte is.
const IN_BLOCK = 1000;

export async function checkDrillScenario() {
  await scenario('s15-check-drill', async (r) => {
    try {
      r.reload = await reconfigure(r, '', { extraDriveA: DRILL });
      sh(`echo "changed for the drill $(date +%s%N)" >> ${CHANGED}`);
      r.backup = await backUpWithDrill();
      r.pick = {};
      await openWhilePlugged(r.pick, pickByte);
      // The host flips it between this unplug and the next plug: it handles the markers in order.
      marker(`flip ${params.imageA} ${r.pick.offset}`);
      r.flipped = true;
      r.check = { file: r.pick.file };
      await openWhilePlugged(r.check, checkAll);
    } finally {
      // XOR again: drive A whole again for whoever plugs it next (the drive is unplugged here).
      if (r.flipped) marker(`flip ${params.imageA} ${r.pick.offset}`);
      r.configBack = {};
      r.configBack.answer = await reconfigure(r.configBack);
    }
  });
}

/** Drive A plugged for the daemon with the drill configured, to the end of its job. */
async function backUpWithDrill() {
  const out = { startedAt: new Date().toISOString() };
  const cursor = journalCursor();
  await plugTracked('a', params.imageA, params.uuidA);
  try {
    const t = await followJob(cursor, jobEnd(DRIVE), 600_000);
    out.doneMsg = t.done.msg;
    out.journal = journalSince(cursor).map((e) => e.msg);
    out.drillLines = out.journal.filter((m) => /drill/i.test(m));
    out.after = state(DRIVE);
    try { out.ledger = JSON.parse(readFileSync(LEDGER, 'utf8')).drives?.[DRIVE] ?? 'no record'; } catch (e) { out.ledger = `unreadable: ${e.message}`; }
  } finally {
    await unplugTracked('a', params.uuidA);
  }
  return out;
}

/**
 * `plugback open` with the daemon running (it waits for the plug-in, as scenario 8), `body(out)` on the open drive,
 * `plugback close`, unplugged. What it saw goes into `out` as it comes, so a failure keeps what came before.
 */
async function openWhilePlugged(out, body) {
  const opening = shBackground(`plugback open ${DRIVE}`);
  let pluggedIn = false;
  try {
    await waitFor(`plugback open to ask for drive A`, () => opening.seen.exited || opening.seen.err.includes(`plug drive "${DRIVE}" in now`), 300_000);
    out.openAsked = opening.seen.err.trim();
    if (opening.seen.exited) throw new Error(`plugback open ${DRIVE} ended before asking for the drive: ${(await opening.done).err}`);
    pluggedIn = true;
    await plugTracked('a', params.imageA, params.uuidA);
    out.open = await opening.done;
    if (out.open.code !== 0) throw new Error(`plugback open ${DRIVE} failed: ${out.open.err}`);
    out.mountOptions = sh(`findmnt -n -o OPTIONS ${MOUNT}`, { allowFail: true }).out;
    body(out);
    out.close = sh(`plugback close ${DRIVE}`, { allowFail: true });
    out.afterClose = state(DRIVE);
  } finally {
    opening.stop();
    if (!out.close) sh(`plugback close ${DRIVE}`, { allowFail: true });
    if (pluggedIn) await unplugTracked('a', params.uuidA);
  }
}

/**
 * A file of at least 64 KiB in the oldest snapshot, the one with the fewest hard links (each other name of it reads
 * back damaged too), and where byte IN_BLOCK of its first block lies in the drive image.
 */
function pickByte(out) {
  out.oldest = JSON.parse(sh(`plugback snapshots ${DRIVE} --json`)).snapshots[0].snapshot;
  const dir = `${SNAPSHOTS}/${out.oldest}`;
  const [links, file] = sh(`find '${dir}' -type f -size +65535c -printf '%n %p\\n' | sort -n | head -n 1`).split(/ (.*)/);
  if (!file) throw new Error(`no file of 64 KiB or more in snapshot ${out.oldest}`);
  Object.assign(out, { file, links: Number(links), ...asListed(file) });
  // Its other names on the drive (hard links into later snapshots, or in the same one): damaged with it.
  out.sameFile = sh(`find '${SNAPSHOTS}' -samefile '${file}'`).split('\n').filter(Boolean).map(asListed);
  out.filefrag = sh(`filefrag -v -b4096 '${file}'`);
  const extent = /^\s*0:\s*(\d+)\.\.\s*\d+:\s*(\d+)\.\./m.exec(out.filefrag);
  if (!extent || extent[1] !== '0') throw new Error(`no first extent at logical block 0 in: ${out.filefrag}`);
  out.block = Number(extent[2]);
  out.cryptStatus = sh(`cryptsetup status ${MAPPING}`);
  const sectors = /^\s*offset:\s*(\d+) sectors/m.exec(out.cryptStatus);
  if (!sectors) throw new Error(`no "offset: N sectors" in: ${out.cryptStatus}`);
  out.dataOffsetSectors = Number(sectors[1]);
  out.offset = out.dataOffsetSectors * 512 + out.block * 4096 + IN_BLOCK;
  out.firstBlockHash = firstBlockHash(file);
}

/** `plugback check --all`, JSON and plain text, on the drive with the flipped byte. */
function checkAll(out) {
  const json = sh(`plugback check ${DRIVE} --all --json`, { allowFail: true });
  let doc;
  try { doc = JSON.parse(json.out); } catch { doc = undefined; }
  out.json = { code: json.code, err: json.err, doc };
  out.text = sh(`plugback check ${DRIVE} --all`, { allowFail: true });
  // dm-crypt decrypts the whole sector around the flipped byte to something else: the first block changed.
  out.firstBlockHash = firstBlockHash(out.file);
}

/** A file on the drive as check names it: its snapshot, state and source path (snapshots/<name>/<state>/<path>). */
function asListed(file) {
  const [snapshot, state, ...names] = file.slice(SNAPSHOTS.length + 1).split('/');
  return { snapshot, state, path: `/${names.join('/')}` };
}

const firstBlockHash = (file) => sh(`head -c 4096 '${file}' | sha256sum`, { allowFail: true }).out.split(' ')[0];
