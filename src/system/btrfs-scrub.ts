// `btrfs scrub`: reads every data and metadata block of a btrfs file system and checks it against its
// checksum. It proves the blocks, not the files: `plugback check` compares content too. Needs CAP_SYS_ADMIN.
// Output of `btrfs scrub start -B -R` (btrfs-progs 6.2, captured in test/integration/check.test.ts's runs):
//   \tdata_bytes_scrubbed: 315392 ... \tcsum_errors: 1 ... \tuncorrectable_errors: 1 ...
// Exit status: 0 clean, 3 uncorrectable errors found (btrfs-scrub(8)); anything else means it did not run.
import { mountAt } from './mounts.js';

export interface ScrubResult {
  dataBytes: number;
  /** Read, checksum, verify and superblock errors: blocks the drive did not give back right. */
  errors: number;
  uncorrectable: number;
  corrected: number;
}

const COUNTERS = ['data_bytes_scrubbed', 'read_errors', 'csum_errors', 'verify_errors', 'super_errors', 'uncorrectable_errors', 'corrected_errors'] as const;

/** The raw counters of `btrfs scrub start -B -R`; undefined when the output holds none of them. */
export function parseScrubOutput(stdout: string): ScrubResult | undefined {
  const values = new Map<string, number>();
  for (const m of stdout.matchAll(/^\s*([a-z_]+): (\d+)$/gm)) values.set(m[1] as string, Number(m[2]));
  if (!COUNTERS.some((c) => values.has(c))) return undefined;
  const n = (c: (typeof COUNTERS)[number]) => values.get(c) ?? 0;
  return {
    dataBytes: n('data_bytes_scrubbed'),
    errors: n('read_errors') + n('csum_errors') + n('verify_errors') + n('super_errors'),
    uncorrectable: n('uncorrectable_errors'),
    corrected: n('corrected_errors'),
  };
}

/**
 * Scrubs the file system mounted at `mountPoint` in the foreground, at idle I/O priority. On a drive mounted
 * read-only (`plugback open`) it only reads (-r): a repairing scrub fails there with EROFS.
 */
export async function scrub(mountPoint: string): Promise<ScrubResult> {
  const { execa } = await import('execa');
  const readOnly = (await mountAt(mountPoint).catch(() => undefined))?.readOnly === true;
  const run = await execa('btrfs', ['scrub', 'start', '-B', '-R', '-c', '3', ...(readOnly ? ['-r'] : []), mountPoint], { reject: false });
  const parsed = run.exitCode === 0 || run.exitCode === 3 ? parseScrubOutput(String(run.stdout)) : undefined;
  if (!parsed) {
    const why = String(run.stderr).trim().split('\n').at(-1) || `exit status ${run.exitCode}`;
    throw new Error(`btrfs scrub did not run on ${mountPoint}: ${why}`);
  }
  return parsed;
}
