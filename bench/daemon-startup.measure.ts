// How long `plugback daemon` takes from its start to READY=1, on the private bus of the daemon tests: the part
// of a restart after a crash that plugback itself spends (systemd adds RestartSec= before it). Prints the
// median of several runs and where the time went (the daemon logs its start-up phases on its ready line).
// A measurement, not a test: it asserts nothing. `npm run bench:daemon-startup`; RUNS=N for more runs.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, it } from 'vitest';
import { DaemonFixture } from '../test/helpers/daemon-fixture.js';

const RUNS = Number(process.env.RUNS ?? 7);
// The stand-in for systemd's notify socket that test/integration/dbus-api.test.ts uses too.
const NOTIFY_LISTENER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    message = s.recv(4096).decode().replace("\\n", " | ")
    print("%.3f %s" % (time.time() * 1000, message), flush=True)
`;

let fixture: DaemonFixture | undefined;
afterAll(async () => fixture?.cleanup());

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it(`measures start-up to READY=1 (${RUNS} runs each)`, async () => {
  const f = await DaemonFixture.create();
  fixture = f;
  await f.addDrive('offsite-a');
  const socket = path.join(f.root, 'notify.sock');
  const listener = spawn('python3', ['-u', '-c', NOTIFY_LISTENER, socket]);
  let received = '';
  listener.stdout.on('data', (c: Buffer) => (received += c.toString()));
  while (!(await fs.stat(socket).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
  const report: string[] = [];
  try {
    for (const scenario of ['no drive plugged in', 'drive plugged in, its mapping left open'] as const) {
      const totals: number[] = [];
      const phases: Record<string, number[]> = {};
      for (let i = 0; i < RUNS; i++) {
        if (scenario !== 'no drive plugged in') {
          // What a killed daemon leaves: the drive there and its mapping open; recovery closes it.
          await f.plug('offsite-a');
          await f.peer.startUnit('systemd-cryptsetup@plugback\\x2doffsite\\x2da.service');
          await f.writeConfig({ daemon: { minInterval: '1h' } });
        }
        received = '';
        const started = Date.now();
        await f.startDaemon({ NOTIFY_SOCKET: socket });
        while (!received.includes('READY=1')) await new Promise((r) => setTimeout(r, 5));
        const readyAt = Number(/^([\d.]+) .*READY=1/m.exec(received)![1]);
        totals.push(readyAt - started);
        const ready = f.daemon!.lines.find((l) => /plugback daemon ready/.test(l.msg));
        for (const [phase, ms] of Object.entries((ready?.startupMs ?? {}) as Record<string, number>)) (phases[phase] ??= []).push(ms);
        await f.stopDaemon();
        if (scenario !== 'no drive plugged in') await f.unplug('offsite-a');
      }
      report.push(`${scenario}: spawn to READY=1 median ${median(totals)} ms (runs: ${totals.join(', ')})`);
      for (const [phase, ms] of Object.entries(phases)) report.push(`  ${phase}: median ${median(ms)} ms`);
    }
  } finally {
    listener.kill();
  }
  console.log(report.join('\n'));
});
