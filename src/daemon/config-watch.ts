// Reload triggers: SIGHUP (systemctl reload) and the config file changing on disk. Editors save by writing a
// new file and renaming it over the old one; chokidar reports that as a change, and a short debounce turns
// the burst of events of one save into one reload.
import { watch } from 'chokidar';

const DEBOUNCE_MS = 300;

/** Starts watching; resolves once chokidar is watching (a change before that would be missed), with the function that stops it. */
export async function watchForReload(file: string, reload: (why: string) => void): Promise<() => Promise<void>> {
  let timer: NodeJS.Timeout | undefined;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => reload(`${file} changed`), DEBOUNCE_MS);
  };
  const watcher = watch(file, { ignoreInitial: true, atomic: true });
  watcher.on('change', soon).on('add', soon);
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  return async () => {
    clearTimeout(timer);
    process.off('SIGHUP', onHup);
    await watcher.close();
  };
}
