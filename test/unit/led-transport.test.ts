import { describe, expect, it } from 'vitest';
import { readError } from '../../src/led/transport.js';

describe("node-hid's read errors", () => {
  it('become Errors with a message the log can show, whatever the binding handed over', () => {
    expect(readError(new Error('could not read from HID device')).message).toBe('could not read from HID device');
    expect(readError('could not read from HID device').message).toBe('could not read from HID device');
    expect(readError({ message: 'EIO' }).message).toBe('EIO');
    for (const nothing of [undefined, null, '', new Error(''), {}]) {
      expect(readError(nothing).message).toBe('it was unplugged or stopped responding');
    }
  });
});
