// zod as plugback uses it: every schema module imports z from here, so the setting below holds before any parse.
import { z } from 'zod';

// Without the JIT, zod does not compile a parser on an object schema's first parse. A plugback process parses
// its config once and a record at a time, so the compiling never paid off: loading a config took 5-9 ms
// longer with it (bench/README.md), while 5000 snapshot records parse as fast either way.
z.config({ jitless: true });

export { z };
