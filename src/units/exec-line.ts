// Writing command lines for ExecStart= and friends, so paths with spaces, "%" or "$" reach the program intact.

/**
 * One word as systemd's command-line parser reads it back: quoted when needed, "%" doubled (specifiers are
 * expanded everywhere) and, in arguments but not in the command itself, "$" doubled (variables are expanded
 * only in arguments).
 */
export function execArg(arg: string, position: 'command' | 'argument' = 'argument'): string {
  const percent = arg.replace(/%/g, '%%');
  const literal = position === 'argument' ? percent.replace(/\$/g, '$$$$') : percent;
  if (literal !== '' && !/[\s"'\\;]/.test(literal)) return literal;
  return `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A whole command line from literal words, the first being the command. */
export function execLine(args: readonly string[]): string {
  return args.map((arg, i) => execArg(arg, i === 0 ? 'command' : 'argument')).join(' ');
}
