// The templates shipped with plugback (units/, udev/, policy/ next to dist/), read once per command.
import { readFile } from 'node:fs/promises';

export const TEMPLATE_FILES = [
  'units/plugback.service',
  'units/plugback-failure@.service',
  'units/plugback-drive@.service',
  'units/plugback-drive@.timer',
  'units/plugback-drive-scheduled.timer',
  'units/sandbox.conf',
  'units/systemd-cryptsetup-plugback.conf',
  'units/plugback-drive-luks.conf',
  'units/plugback-drive.mount',
  'units/plugback-unmount-lazily@.service',
  'units/plugback-close-mapping@.service',
  'units/plugback-remount-read-only@.service',
  'units/plugback-delete-subvolume@.service',
  'units/plugback-smart@.service',
  'units/plugback-mail.service',
  'units/plugback-mail.timer',
  'udev/70-plugback.rules',
  'policy/io.github.plugback.Daemon1.conf',
  'policy/io.github.plugback.policy',
] as const;

/** A template that cannot be read: plugback's own files are incomplete. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type TemplateName = (typeof TEMPLATE_FILES)[number];
export type Templates = Record<TemplateName, string>;

/** The package's root: dist/units/templates.js and src/units/templates.ts both sit two levels below it. */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** Reads every template; a missing one means a broken installation of plugback, and says which file. */
export async function loadTemplates(root: URL = PACKAGE_ROOT): Promise<Templates> {
  const entries = await Promise.all(
    TEMPLATE_FILES.map(async (name) => {
      const url = new URL(name, root);
      const text = await readFile(url, 'utf8').catch((error: Error) => {
        throw new TemplateError(`cannot read the template ${url.pathname} (${error.message}); reinstall plugback, its package ships units/, udev/ and policy/`);
      });
      return [name, text] as const;
    }),
  );
  return Object.fromEntries(entries) as Templates;
}
