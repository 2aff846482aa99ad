// `plugback demo`: the whole backup engine on a generated tree in a temporary folder, in under a minute.
// Its options here; the demo itself is in demo-run.ts, loaded when it runs.
import { InvalidArgumentError, type Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('try plugback safely: back up a generated tree to a directory drive twice, list the snapshots, the versions of a file and what a restore would change')
    .option('--dir <dir>', 'work here instead of a new temporary folder')
    .option('--size-mb <n>', 'how much sample data to generate, in MB', positiveNumber, 200)
    .action(async (flags: { dir?: string; sizeMb: number }) => {
      const { demo } = await import('./demo-run.js');
      process.exitCode = await demo(flags.dir, flags.sizeMb);
    });
}

function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of megabytes, like 200');
  return n;
}
