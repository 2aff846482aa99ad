// Where the man page and completions go: the places Debian's man, bash (bash-completion), zsh and fish look
// without any set-up. fish looks under /usr/local/share only when XDG_DATA_DIRS says so, hence /usr/share for it.
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../units/templates.js';
import type { Shell } from './completion.js';

export const MAN_PAGE = '/usr/local/share/man/man1/plugback.1';
export const COMPLETIONS: Record<Shell, string> = {
  bash: '/usr/local/share/bash-completion/completions/plugback',
  zsh: '/usr/local/share/zsh/site-functions/_plugback',
  fish: '/usr/share/fish/vendor_completions.d/plugback.fish',
};

/** This installation's docs/ folder (the package's, next to dist/). */
export const DOCS_DIR = fileURLToPath(new URL('docs', PACKAGE_ROOT));

