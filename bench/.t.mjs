const { z } = await import('zod');
if (process.argv[2] === 'jitless') z.config({ jitless: true });
const L = await import('../dist/config/load.js');
const fs = await import('node:fs');
const text = fs.readFileSync('/tmp/sb/c.yaml','utf8');
let t=performance.now(); L.parseConfig(text, '/tmp/sb/c.yaml'); const a=performance.now()-t;
t=performance.now(); L.parseConfig(text, '/tmp/sb/c.yaml'); const b=performance.now()-t;
t=performance.now(); await L.loadConfig('/tmp/sb/c.yaml'); const c=performance.now()-t;
console.log(process.argv[2], 'parse1', a.toFixed(1), 'parse2', b.toFixed(1), 'load3', c.toFixed(1));
