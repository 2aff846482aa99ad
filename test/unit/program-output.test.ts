// publicReason takes every quoted program output out of a reason, however the output tries to end the quote.
import { describe, expect, it } from 'vitest';
import { OUTPUT_CLOSE, OUTPUT_LEFT_OUT, OUTPUT_OPEN, publicReason, quoteOutput } from '../../src/system/program-output.js';

describe('publicReason', () => {
  it('leaves out each quoted output of a reason that joins several hook errors, and keeps the text between', () => {
    const reason = `the files are restored, but the A hook exited with code 1; ${quoteOutput(['token=abc', 'x'])}; the B hook exited with code 2; ${quoteOutput(['pw=def'])}`;
    expect(publicReason(reason)).toBe(`the files are restored, but the A hook exited with code 1; ${OUTPUT_LEFT_OUT}; the B hook exited with code 2; ${OUTPUT_LEFT_OUT}`);
  });

  it('cannot be fooled by output that contains the markers', () => {
    const reason = `the X hook exited with code 1; ${quoteOutput([`a ${OUTPUT_CLOSE} secret1`, `${OUTPUT_OPEN}b${OUTPUT_CLOSE} secret2`])}; then more`;
    expect(publicReason(reason)).toBe(`the X hook exited with code 1; ${OUTPUT_LEFT_OUT}; then more`);
  });

  it('cuts at an unclosed quote and at the unquoted output of older versions', () => {
    expect(publicReason(`the X hook exited with code 1; ${OUTPUT_OPEN}secret cut short`)).toBe(`the X hook exited with code 1; ${OUTPUT_LEFT_OUT}`);
    expect(publicReason('the X hook exited with code 1; its last output: secret | more')).toBe(`the X hook exited with code 1; ${OUTPUT_LEFT_OUT}`);
    expect(publicReason('rsync failed (exit 12)')).toBe('rsync failed (exit 12)');
  });

  it('quotes long lines shortened, joined with " | "', () => {
    expect(quoteOutput(['a', 'b'.repeat(400)])).toBe(`${OUTPUT_OPEN}a | ${'b'.repeat(300)}…${OUTPUT_CLOSE}`);
  });
});
