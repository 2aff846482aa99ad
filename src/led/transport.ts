// The seam between plugback and USB HID: node-hid (hidraw backend) in production, a recording fake in tests.

export const BLINKSTICK_VENDOR = 0x20a0;
export const BLINKSTICK_PRODUCT = 0x41e5;

export interface HidDeviceInfo {
  path: string;
  serial: string;
  /** bcdDevice, which tells a Square from a Strip, Nano or Flex. */
  release: number;
}

export interface HidHandle {
  /** Byte 0 is the report id. */
  sendFeatureReport(data: number[]): Promise<void>;
  /** The reply's byte 0 is the report id. */
  getFeatureReport(reportId: number, length: number): Promise<number[]>;
  /** Calls `listener` once the device is gone (unplugged): the kernel tells us, nobody polls. */
  onGone(listener: (error: Error) => void): void;
  close(): Promise<void>;
}

export interface HidTransport {
  /** The BlinkSticks plugged in now. */
  list(): Promise<HidDeviceInfo[]>;
  open(path: string): Promise<HidHandle>;
}

/** node-hid, loaded on demand: it is a native module, and most commands never touch the LED. */
export async function nodeHidTransport(): Promise<HidTransport> {
  let hid: typeof import('node-hid');
  try {
    hid = await import('node-hid');
  } catch (error) {
    const message = (error as Error).message;
    const hint = /libusb|libudev/.test(message) ? ' (install libusb-1.0-0 and libudev1)' : '';
    throw new Error(`cannot load node-hid for the BlinkStick: ${message.split('\n')[0]}${hint}`);
  }
  return {
    async list() {
      const devices = await hid.devicesAsync(BLINKSTICK_VENDOR, BLINKSTICK_PRODUCT);
      return devices
        .filter((d): d is typeof d & { path: string } => typeof d.path === 'string')
        .map((d) => ({ path: d.path, serial: d.serialNumber ?? '', release: d.release }));
    },
    async open(path) {
      const device = await hid.HIDAsync.open(path);
      return {
        async sendFeatureReport(data) {
          await device.sendFeatureReport(data);
        },
        async getFeatureReport(reportId, length) {
          return [...(await device.getFeatureReport(reportId, length))];
        },
        onGone(listener) {
          // A 'data' listener starts node-hid's read loop; when the stick is pulled, the blocked read fails and
          // node-hid emits 'error'. The stick sends no input reports, so the loop costs nothing meanwhile.
          device.on('data', () => undefined);
          device.once('error', (error: unknown) => listener(readError(error)));
        },
        async close() {
          await device.close();
        },
      };
    },
  };
}

/**
 * What node-hid's read loop reports when the stick goes, as an Error with a message: the native binding may hand
 * over a string or a bare object (the full-OS suite saw "stopped answering (undefined)").
 */
export function readError(value: unknown): Error {
  if (value instanceof Error && value.message) return value;
  const text = typeof value === 'string' ? value : (value as { message?: unknown } | undefined)?.message;
  return new Error(typeof text === 'string' && text.trim() ? text.trim() : 'it was unplugged or stopped responding');
}
