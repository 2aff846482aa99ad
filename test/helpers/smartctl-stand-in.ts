// A stand-in for smartctl on PATH: prints a capture of a real smartctl run (test/fixtures/smartctl/README.md)
// and exits with the status that run gave.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SMARTCTL_FIXTURES = fileURLToPath(new URL('../fixtures/smartctl/', import.meta.url));

export const SMARTCTL_STAND_IN = `
// Stand-in for smartctl: prints the capture named in ./answer (./answer-sat for a -d sat call) and exits with the
// status the real smartctl run gave for it. Each call's arguments go to ./calls.
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls'), JSON.stringify(args) + '\\n');
const sat = path.join(__dirname, 'answer-sat');
const answer = args.includes('sat') && fs.existsSync(sat) ? sat : path.join(__dirname, 'answer');
const capture = fs.readFileSync(fs.readFileSync(answer, 'utf8').trim(), 'utf8');
process.stdout.write(capture);
process.exitCode = JSON.parse(capture).smartctl.exit_status;
`;

/** A new folder holding the stand-in `smartctl`, answering with the capture `fixture`; returns the folder. */
export async function smartctlStandIn(fixture: string): Promise<string> {
  const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-smartctl-'));
  await fs.writeFile(path.join(bin, 'smartctl'), `#!${process.execPath}\n${SMARTCTL_STAND_IN}`, { mode: 0o755 });
  await fs.writeFile(path.join(bin, 'answer'), path.join(SMARTCTL_FIXTURES, fixture));
  return bin;
}
