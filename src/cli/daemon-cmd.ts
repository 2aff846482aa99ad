// `plugback daemon`: the long-running process (normally started by systemd as plugback.service).
import { Option, type Command } from 'commander';
import type { Level } from 'pino';
import { configFileOf, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run in the foreground, backing up each configured drive when it is plugged in (systemd runs this as plugback.service)')
    .addOption(new Option('--log-level <level>', 'how much to log').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addHelpText(
      'after',
      `
The daemon watches udisks2 (or, without it, systemd's device units) for the LUKS drives in the config.
When one is plugged in it unlocks it through systemd-cryptsetup@<cryptName>.service (so /etc/crypttab
needs its line), mounts it at its mountPoint, backs it up, unmounts it, closes it and powers it down;
then the LED turns green: safe to remove. Other drives are ignored. One backup runs at a time; drives
plugged in meanwhile wait their turn.

Logs are JSON lines on stdout; under systemd, sentences with their priority (journalctl -u plugback -p warning).
SIGHUP, or saving the config file, reloads the config; an invalid config is refused and the old one
stays in force. SIGTERM cancels a running backup cleanly (the partial copy stays for the next run),
unmounts and closes the drive, and exits 0.

Examples:
  plugback daemon
  plugback daemon --config ./plugback.yaml --log-level debug`,
    )
    .action(async (flags: { logLevel?: Level }, command: Command) => {
      const configFile = configFileOf(command);
      const config = await loadConfigOrExit(configFile);
      const [{ Daemon }, { journalSink }, { loadConfig }] = await Promise.all([
        import('../daemon/daemon.js'),
        import('../daemon/journal-log.js'),
        import('../config/load.js'),
      ]);
      let fatal: Error | undefined;
      let wake: (why: string) => void = () => {};
      const stopRequested = new Promise<string>((resolve) => (wake = resolve));
      const daemon = new Daemon(config, {
        configFile,
        sink: journalSink(),
        logLevel: flags.logLevel ?? 'info',
        loadConfig,
        onFatal: (error) => {
          fatal = error;
          wake('fatal error');
        },
      });
      // `on`, not `once`: execa's signal-exit re-raises a signal when it finds no other listener left, and a
      // `once` listener is gone by the time it looks, which would kill us in the middle of the clean-up.
      const onSignal = (signal: NodeJS.Signals) => wake(signal);
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await daemon.start();
      } catch (error) {
        await daemon.stop('start-up failed').catch(() => {});
        throw new UserError(`the daemon could not start: ${(error as Error).message}`, EXIT.failed);
      }
      await daemon.stop(await stopRequested);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.exitCode = fatal ? EXIT.failed : EXIT.ok;
    });
}
