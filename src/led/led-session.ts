// The LED for the length of one command: find the stick, let the controller draw on it, and let go at the end.
import type { Logger } from 'pino';
import type { LedSettings } from '../config/model.js';
import { LedController } from './led-controller.js';
import { StickConnection } from './stick.js';
import { nodeHidTransport, type HidTransport } from './transport.js';

export interface LedSession {
  controller: LedController;
  stick: StickConnection;
  /** Waits for the last write, stops animations (the final colour stays lit) and closes the device. */
  close(): Promise<void>;
}

/** Starts the LED if enabled; undefined when it is off or node-hid cannot load (said once in the log). */
export async function startLed(settings: LedSettings, log: Logger, transport?: HidTransport): Promise<LedSession | undefined> {
  if (!settings.enabled) return undefined;
  let hid: HidTransport;
  try {
    hid = transport ?? (await nodeHidTransport());
  } catch (error) {
    log.warn(`no status LED: ${(error as Error).message}`);
    return undefined;
  }
  let controller: LedController | undefined;
  const stick = new StickConnection(hid, settings, log, () => void controller?.redraw());
  controller = new LedController(settings, stick);
  await stick.start();
  const owned = controller;
  return {
    controller: owned,
    stick,
    async close() {
      owned.stop();
      await owned.settled();
      await stick.close();
    },
  };
}
