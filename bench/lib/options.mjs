// The benchmarks' command lines: parseArgs with --help, a usage error (exit 2) that prints the usage, and
// positive whole numbers checked by name.
import { parseArgs } from 'node:util';

/**
 * Parses `argv` against `options` (node:util parseArgs, strict, with --help added); prints `usage` and exits 0
 * for --help, 2 with the reason for anything it cannot take. Returns the values and `int(name)`, which reads
 * option `name` as a positive integer or ends the same way.
 */
export function benchOptions(name, usage, options, argv = process.argv.slice(2)) {
  const fail = (message) => {
    console.error(`${name}: ${message}\n${usage}`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { ...options, help: { type: 'boolean', default: false } } }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const int = (option) => {
    const n = Number(values[option]);
    if (!Number.isInteger(n) || n < 1) fail(`--${option} wants a positive integer, got ${values[option]}`);
    return n;
  };
  return { values, int, fail };
}
