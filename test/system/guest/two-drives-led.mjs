// Scenarios 5 and 6 in the guest: two drives plugged in together (queued, never two mounted at once), and the
// BlinkStick pulled and put back while a job runs.
import { spawnSync } from 'node:child_process';
import { COLOUR_LOG, colourQuiet, colours, journalCursor, journalSince, marker, params, sh, sleep, waitFor, waitJournal } from './lib.mjs';
import { DRIVES, followJob, jobEnd, plugTracked, plugged, reconfigure, scenario, state, unplugTracked, verifyDrive } from './drives.mjs';

export async function twoDrivesAndLedScenarios() {
  await scenario('s5-two-drives', async (r) => {
    // Both plugged at once: the daemon queues the second and backs them up one after the other.
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    marker(`plug a ${params.imageA}`);
    marker(`plug b ${params.imageB}`);
    plugged.set('a', params.uuidA);
    plugged.set('b', params.uuidB);
    r.plugAt = Date.now();
    // Sample the drives' mounts until both are done: at no moment may two be mounted.
    const seen = new Set();
    r.mostMountedAtOnce = 0;
    const done = {};
    const deadline = Date.now() + 900_000;
    while (!(done.a && done.b)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for both drives: ${JSON.stringify(done)}`);
      const mounted = sh("findmnt -rn -o TARGET | grep '^/run/plugback/' || true").split('\n').filter(Boolean);
      mounted.forEach((m) => seen.add(m));
      r.mostMountedAtOnce = Math.max(r.mostMountedAtOnce, mounted.length);
      const journal = journalSince(cursor);
      for (const [id, d] of Object.entries(DRIVES)) {
        done[id] ??= journal.find((e) => jobEnd(d.name).test(e.msg));
      }
      await sleep(250);
    }
    r.mountsSeen = [...seen].sort();
    r.done = { a: done.a, b: done.b };
    r.queued = journalSince(cursor).find((e) => /is queued: it is backed up after/.test(e.msg))?.msg;
    await sleep(2000);
    r.after = { a: state('offsite-a'), b: state('offsite-b') };
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    await unplugTracked('b', params.uuidB);
    r.verifyA = await verifyDrive('a');
    r.verifyB = await verifyDrive('b');
  });

  await scenario('s6-led-replugged', async (r) => {
    // A job slowed to 1 MiB/s over 16 MiB of new data, so the stick can go and come back while it runs.
    sh('mkdir -p /srv/photos/2027 && for i in $(seq 1 16); do head -c 1M /dev/urandom > /srv/photos/2027/new$i.bin; done');
    await reconfigure(r, '  bandwidthLimit: 1MiB');
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    await waitFor('rsync to start', () => spawnSync('pgrep', ['-x', 'rsync']).status === 0, 600_000, 200);
    await sleep(2000);
    r.coloursBeforeUnplug = colours().slice(c0);
    // Unplug the stick: the emulator destroys its uhid device, as a pulled USB stick vanishes.
    sh('systemctl stop blinkstick-uhid.service');
    r.stickGoneAt = Date.now();
    r.lost = (await waitJournal(cursor, /BlinkStick stopped answering/, 30_000).catch((e) => ({ msg: `(none: ${e.message})` }))).msg;
    await sleep(2000);
    const c1 = colours().length;
    sh(`systemd-run --unit=blinkstick-uhid-again /usr/local/bin/node /usr/local/lib/blinkstick-uhid.mjs --serial ${params.ledSerial} --log ${COLOUR_LOG}`);
    r.stickBackAt = Date.now();
    // The first colour the daemon draws on the stick that came back, and whether the job was still running then.
    r.redrawn = await waitFor('a colour on the replugged stick', () => colours()[c1], 60_000, 200);
    r.rsyncRunningAtRedraw = spawnSync('pgrep', ['-x', 'rsync']).status === 0;
    r.found = (await waitJournal(cursor, /using .*BS000001/, 30_000).catch((e) => ({ msg: `(none: ${e.message})` }))).msg;
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.doneMsg = t.done.msg;
    await colourQuiet();
    r.coloursAfterReplug = colours().slice(c1);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    await reconfigure(r);
  });
}
