#!/usr/bin/env node
// plugback's command line. Everything lives in src/cli/; this only hands over the arguments and the exit code.
import { main } from './cli/program.js';

process.exitCode = await main(process.argv);
