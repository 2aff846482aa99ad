// The shell blocks in the docs that the tests run: fenced blocks whose info string has the word `runnable`
// (```sh runnable, optionally `exit=N` for the exit code the block must end with; default 0).
import fs from 'node:fs/promises';
import path from 'node:path';

export interface DocBlock {
  /** The file, relative to the checkout. */
  file: string;
  /** The line of the opening fence (1-based). */
  line: number;
  code: string;
  exit: number;
}

const FENCE = /^(`{3,}|~{3,})\s*(.*)$/;

/** The runnable blocks of one markdown text, in order. */
export function runnableBlocks(markdown: string, file: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const [, fence, info] = open as unknown as [string, string, string];
    const end = lines.findIndex((l, j) => j > i && l.trimEnd() === fence);
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that is never closed`);
    const words = info.split(/\s+/);
    if (words.includes('runnable')) {
      const exit = Number(/^exit=(\d+)$/.exec(words.find((w) => w.startsWith('exit=')) ?? 'exit=0')?.[1]);
      blocks.push({ file, line: i + 1, code: lines.slice(i + 1, end).join('\n'), exit });
    }
    i = end;
  }
  return blocks;
}

/** Every runnable block of README.md and docs/ (all depths) under `checkout`. */
export async function docBlocks(checkout: string): Promise<DocBlock[]> {
  const docs = (await fs.readdir(path.join(checkout, 'docs'), { recursive: true }))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f))
    .sort();
  const blocks: DocBlock[] = [];
  for (const file of ['README.md', ...docs]) blocks.push(...runnableBlocks(await fs.readFile(path.join(checkout, file), 'utf8'), file));
  return blocks;
}
