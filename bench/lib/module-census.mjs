// Which modules a plugback command loads, and when: `node --import ./bench/lib/module-census.mjs dist/main.js
// run DRIVE ...` prints on stderr, as the process exits, each package (or dist/ folder) with its number of ES
// modules and the millisecond (since the process started) of its first one. Node 20's loader pays about a
// millisecond a module, so the count is most of the cost. CommonJS files a package requires are not counted.
import { register } from 'node:module';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const HOOK = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (!result.url.startsWith('node:')) port.postMessage({ url: result.url, at: performance.timeOrigin + performance.now() });
  return result;
}`;

const { port1, port2 } = new MessageChannel();
register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { port: port2 }, transferList: [port2] });
port1.unref();

/** `node_modules/zod/v4/core/api.js` -> `zod`; `.../dist/job/steps/sync.js` -> `dist/job`. */
function groupOf(url) {
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inPackage) return inPackage[1];
  const inDist = /\/dist\/(.+)$/.exec(url)?.[1].split('/');
  return inDist ? `dist/${inDist.length > 1 ? inDist[0] : ''}` : url;
}

process.on('exit', () => {
  const seen = new Set();
  const groups = new Map();
  for (let message; (message = receiveMessageOnPort(port1)); ) {
    const { url, at } = message.message;
    if (seen.has(url)) continue;
    seen.add(url);
    const group = groups.get(groupOf(url)) ?? { modules: 0, first: at - performance.timeOrigin };
    group.modules++;
    groups.set(groupOf(url), group);
  }
  const rows = [...groups].sort((a, b) => a[1].first - b[1].first);
  process.stderr.write(`module census: ${seen.size} ES modules\n  first at   modules  package or folder\n`);
  for (const [name, g] of rows) process.stderr.write(`  ${g.first.toFixed(0).padStart(5)} ms  ${String(g.modules).padStart(7)}  ${name}\n`);
});
