// What a program printed, quoted inside an error message between two fixed markers, so that one function can
// take it out again. The full message goes to the mail and the root-only logs; publicReason() is what anyone
// may read (the D-Bus Drives property and JobFinished signal, the healthcheck fail ping): a hook's output can
// hold a token or a password.

/** Opens quoted output in an error message; everything up to OUTPUT_CLOSE is program output. */
export const OUTPUT_OPEN = 'its last output: ⟦';
export const OUTPUT_CLOSE = '⟧';

/** Each quoted line at most this long: the message is for a mail and a journal line, not for the whole output. */
const QUOTED_LINE_CHARS = 300;

/** `lines` as quoted output, " | "-joined; the markers are replaced inside, so nothing a program prints can end the quote. */
export function quoteOutput(lines: readonly string[]): string {
  const clean = lines.map((line) => {
    const text = line.replaceAll('⟦', '[').replaceAll('⟧', ']');
    return text.length > QUOTED_LINE_CHARS ? `${text.slice(0, QUOTED_LINE_CHARS)}…` : text;
  });
  return `${OUTPUT_OPEN}${clean.join(' | ')}${OUTPUT_CLOSE}`;
}

/** Said in place of the quoted output. */
export const OUTPUT_LEFT_OUT = 'its output is in the job log';

/**
 * The reason without any quoted output: for everyone who is not root. A quote left unclosed (a message cut short)
 * is taken out to the end. Reasons of older versions ("; its last output: a | b", unquoted) are cut there too.
 */
export function publicReason(reason: string): string {
  let out = '';
  let rest = reason;
  for (;;) {
    const at = rest.indexOf('its last output: ');
    if (at < 0) return out + rest;
    out += `${rest.slice(0, at)}${OUTPUT_LEFT_OUT}`;
    const close = rest.startsWith(OUTPUT_OPEN, at) ? rest.indexOf(OUTPUT_CLOSE, at + OUTPUT_OPEN.length) : -1;
    if (close < 0) return out;
    rest = rest.slice(close + OUTPUT_CLOSE.length);
  }
}
