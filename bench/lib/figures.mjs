// How the benchmarks print figures: medians, seconds, ratios and sizes.
import { GiB, MiB } from './tree-data.mjs';

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const seconds = (s) => s.toFixed(3);
export const ratio = (x) => x.toFixed(3);
export const human = (bytes) => (bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`);
export const elapsed = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

export function printRound(kind, i, rounds, r, extra) {
  const order = r.plugbackFirst ? 'plugback first' : 'rsync first';
  console.log(`${kind.padEnd(5)} round ${i + 1}/${rounds} (${order})  ` +
    `plugback ${seconds(r.plugback)} s  rsync ${seconds(r.rsync)} s  rsync+sync ${seconds(r.rsyncSync)} s  ` +
    `ratio ${ratio(r.plugback / r.rsync)} (vs rsync+sync ${ratio(r.plugback / r.rsyncSync)})` +
    (extra ? `  [${extra}]` : ''));
}

// Medians of the per-round seconds, and the median of the per-round ratios
// (pairing each plugback run with the baseline of its own round).
export function summaryLine(label, results) {
  const pb = median(results.map((r) => r.plugback));
  const rs = median(results.map((r) => r.rsync));
  const rss = median(results.map((r) => r.rsyncSync));
  const vsRsync = median(results.map((r) => r.plugback / r.rsync));
  const vsRsyncSync = median(results.map((r) => r.plugback / r.rsyncSync));
  return `${label.padEnd(16)} plugback ${pb.toFixed(2)} s  rsync ${rs.toFixed(2)} s  ` +
    `rsync+sync ${rss.toFixed(2)} s  ratio ${ratio(vsRsync)} (vs rsync+sync ${ratio(vsRsyncSync)})`;
}
