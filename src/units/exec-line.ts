// Writing command lines for ExecStart= and friends, so paths with spaces, "%" or "$" reach the program intact.

/** One argument as systemd's command-line parser reads it back: quoted when needed, "%" and "$" doubled. */
export function execArg(arg: string): string {
  // Specifiers (%i) and variables ($FOO) are expanded by systemd, so literal ones are doubled.
  const literal = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (literal !== '' && !/[\s"'\\;]/.test(literal)) return literal;
  return `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A whole command line from literal arguments. */
export function execLine(args: readonly string[]): string {
  return args.map(execArg).join(' ');
}
