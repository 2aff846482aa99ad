// The command tree as --help shows it, read through commander's own Help class: what the man page and the
// shell completions are made from, so neither can drift from --help.
import type { Command, Option } from 'commander';

export interface OptionModel {
  /** As --help writes it: "-c, --config <file>". */
  term: string;
  description: string;
  long?: string;
  short?: string;
  /** The value's placeholder ("file", "dir", ...), when the option takes one. */
  value?: string;
  choices?: readonly string[];
}

export interface CommandModel {
  /** The names below plugback: [] for plugback itself, ['archive', 'restore'] for a subcommand. */
  path: string[];
  /** "plugback archive restore [options] <file>". */
  usage: string;
  description: string;
  arguments: { term: string; name: string; description: string; choices?: readonly string[] }[];
  options: OptionModel[];
  subcommands: CommandModel[];
  /** What --help prints after the lists: details, examples, exit status. */
  after: string;
}

/** The visible commands (hidden ones and the implicit `help` left out), depth first. */
export function commandModel(command: Command, path: string[] = []): CommandModel {
  const help = command.createHelp();
  const fullName = ['plugback', ...path].join(' ');
  return {
    path,
    usage: `${fullName} ${command.usage()}`.trim(),
    description: command.description(),
    arguments: help.visibleArguments(command).map((a) => ({ term: help.argumentTerm(a), name: a.name(), description: a.description, ...(a.argChoices ? { choices: a.argChoices } : {}) })),
    options: help.visibleOptions(command).map((o) => optionModel(o, help.optionDescription(o))),
    subcommands: help
      .visibleCommands(command)
      .filter((c) => c.name() !== 'help')
      .map((c) => commandModel(c, [...path, c.name()])),
    after: afterText(command),
  };
}

/** Every command in the tree, the root first. */
export function allCommands(model: CommandModel): CommandModel[] {
  return [model, ...model.subcommands.flatMap(allCommands)];
}

function optionModel(option: Option, description: string): OptionModel {
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1];
  return {
    term: option.flags,
    description,
    ...(option.long ? { long: option.long } : {}),
    ...(option.short ? { short: option.short } : {}),
    ...(value ? { value } : {}),
    ...(option.argChoices ? { choices: option.argChoices } : {}),
  };
}

/** The text added after the help (addHelpText 'after'): the full help, captured, minus commander's own part. */
function afterText(command: Command): string {
  let written = '';
  const saved = command.configureOutput();
  command.configureOutput({ ...saved, writeOut: (s) => (written += s), writeErr: (s) => (written += s) });
  try {
    command.outputHelp();
  } finally {
    command.configureOutput(saved);
  }
  const own = command.helpInformation();
  const at = written.indexOf(own);
  return (at < 0 ? '' : written.slice(at + own.length)).replace(/^\n+/, '').trimEnd();
}
