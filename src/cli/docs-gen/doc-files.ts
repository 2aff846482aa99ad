// The man page and the completion scripts, made from the program's command tree; as files for `plugback install`.
import type { Command } from 'commander';
import type { GeneratedFile } from '../../units/generate.js';
import { VERSION } from '../../version.js';
import { commandModel } from './command-model.js';
import { bashCompletion } from './completion-bash.js';
import { fishCompletion } from './completion-fish.js';
import { zshCompletion } from './completion-zsh.js';
import { completionSpec, type Shell } from './completion.js';
import { manPage } from './man-page.js';
import { COMPLETIONS, DOCS_DIR, MAN_PAGE } from './places.js';

/** The program itself: the top of the tree a command belongs to. */
export function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

export function manPageOf(program: Command): string {
  return manPage(commandModel(rootOf(program)), { version: VERSION, docsDir: DOCS_DIR });
}

export function completionOf(program: Command, shell: Shell): string {
  const spec = completionSpec(commandModel(rootOf(program)));
  const make = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion }[shell];
  return make(spec, VERSION);
}

export function docFiles(program: Command): GeneratedFile[] {
  return [
    { path: MAN_PAGE, purpose: 'the manual page: man plugback', content: manPageOf(program) },
    ...(Object.entries(COMPLETIONS) as [Shell, string][]).map(([shell, file]) => ({
      path: file,
      purpose: `${shell} completion of commands, options and drive names`,
      content: completionOf(program, shell),
    })),
  ];
}
