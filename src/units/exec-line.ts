// Writing command lines for ExecStart= and friends, and quoted values for settings such as ReadWritePaths=,
// so paths with spaces, "%", "$", "\" or '"' reach the program intact and nothing can start a new line.
import { EscapeError } from './escape.js';

/** C0 controls and DEL: a line break would end the setting and start a directive of the text's choosing. */
const CONTROL = /[\x00-\x1f\x7f]/;

/** Throws EscapeError when `text` holds a character no unit file line can carry. */
export function refuseControls(text: string, what: string): void {
  if (CONTROL.test(text)) {
    throw new EscapeError(`${what} ${JSON.stringify(text)} contains a control character (such as a line break), which a systemd unit cannot hold: use one without`);
  }
}

/** A value systemd reads back with its quote rules and specifier expansion: quoted when needed, "%" doubled. */
export function quotedWord(value: string, what = 'the value'): string {
  refuseControls(value, what);
  const literal = value.replace(/%/g, '%%');
  if (literal !== '' && !/[\s"'\\;]/.test(literal)) return literal;
  return `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * One word as systemd's command-line parser reads it back: quotedWord and, in arguments but not in the command
 * itself, "$" doubled (variables are expanded only in arguments).
 */
export function execArg(arg: string, position: 'command' | 'argument' = 'argument'): string {
  const literal = position === 'argument' ? arg.replace(/\$/g, '$$$$') : arg;
  return quotedWord(literal, position === 'command' ? 'the command' : 'the argument');
}

/** A whole command line from literal words, the first being the command. */
export function execLine(args: readonly string[]): string {
  return args.map((arg, i) => execArg(arg, i === 0 ? 'command' : 'argument')).join(' ');
}
