#!/usr/bin/env node
// plugback's command line. Everything lives in src/cli/; this only hands over the arguments and the exit code.
import { main } from './cli/program.js';

// `plugback install --help | head`: the reader is gone, so what is left to print goes nowhere, quietly. The
// command itself goes on: a job must finish (and run its post hooks) whatever happens to its console.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

process.exitCode = await main(process.argv);
