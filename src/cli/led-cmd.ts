// `plugback led list|show|off|clear`: the BlinkStick by hand.
import type { Command } from 'commander';
import { access } from 'node:fs/promises';
import type { LedSettings } from '../config/model.js';
import type { LedState } from '../led/patterns.js';
import { configFileOf, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export function registerLed(program: Command): void {
  const led = program
    .command('led')
    .description('the status LED (a BlinkStick): list sticks, show a state or colour, turn it off')
    .addHelpText(
      'after',
      `
The daemon and \`plugback run\` drive the LED themselves; these commands are for trying colours and
for clearing a red "failed" light by hand. Settings (stick, LED index, brightness, colours) come from
the led: section of the config, or its defaults when there is no config file.`,
    );
  led
    .command('list')
    .description('list the BlinkSticks plugged in: serial, variant, LED count')
    .action(async () => {
      const { nodeHidTransport } = await import('../led/transport.js');
      const { describeStick } = await import('../led/stick.js');
      const sticks = (await (await nodeHidTransport()).list()).map(describeStick);
      if (sticks.length === 0) {
        process.stdout.write('no BlinkStick found (plugged in? `lsusb -d 20a0:41e5` shows it; a non-root user needs the udev rule)\n');
        return;
      }
      for (const s of sticks) process.stdout.write(`${s.serial}  ${s.variant}  ${s.ledCount} LED${s.ledCount === 1 ? '' : 's'}  ${s.path}\n`);
    });
  led
    .command('show')
    .description('show a state (idle, detected, working, done, failed, overdue, attention) or a colour (CSS name, #rgb, #rrggbb)')
    .argument('<state-or-colour>')
    .action(async (what: string, _flags: unknown, command: Command) => {
      const settings = await ledSettings(command);
      const { LED_STATES, colourOf } = await import('../led/patterns.js');
      const { parseColour } = await import('../led/colour.js');
      const colour = LED_STATES.includes(what as LedState) ? colourOf(settings, what as LedState) : parseColour(what);
      if (!colour) throw new UserError(`"${what}" is neither a state (${LED_STATES.join(', ')}) nor a colour`, EXIT.usage);
      await onStick(settings, (output) => output.showColour(colour, true));
    });
  led
    .command('off')
    .description('turn every LED of the stick off')
    .action(async (_flags: unknown, command: Command) => {
      await onStick(await ledSettings(command), (output) => output.showFrame(Array.from({ length: output.ledCount }, () => ({ r: 0, g: 0, b: 0 }))));
    });
  led
    .command('clear')
    .description('clear a "failed" light: show the idle colour')
    .action(async (_flags: unknown, command: Command) => {
      const settings = await ledSettings(command);
      const { colourOf } = await import('../led/patterns.js');
      await onStick(settings, (output) => output.showColour(colourOf(settings, 'idle'), true));
    });
}

/** The led: settings of the config, or their defaults when there is no config file at all. */
async function ledSettings(command: Command): Promise<LedSettings> {
  const file = configFileOf(command);
  if (await access(file).then(() => true, () => false)) return (await loadConfigOrExit(file)).led;
  const { ledSchema } = await import('../config/schema.js');
  return ledSchema.parse({});
}

/** Opens the configured stick, does `act` on it, and closes it; a missing stick is an error here. */
async function onStick(settings: LedSettings, act: (output: import('../led/stick.js').StickConnection) => Promise<void>): Promise<void> {
  const { JobLog } = await import('../job/job-log.js');
  const log = new JobLog((line) => process.stderr.write(line), 'warn').logger;
  const { nodeHidTransport } = await import('../led/transport.js');
  const { StickConnection } = await import('../led/stick.js');
  const stick = new StickConnection(await nodeHidTransport(), settings, log);
  await stick.start();
  try {
    if (!stick.connected) {
      throw new UserError(`no BlinkStick${settings.serial ? ` with serial ${settings.serial}` : ''} found (see plugback led list)`, EXIT.failed);
    }
    await act(stick);
  } finally {
    await stick.close();
  }
}
