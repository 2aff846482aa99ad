// The zsh completion function (_plugback): autoloaded from a folder in $fpath by compinit, or sourced after it.
import { kindWord } from './completion-bash.js';
import { header, singleQuoted, type CompletionSpec } from './completion.js';

export function zshCompletion(spec: CompletionSpec, version: string): string {
  const subs = spec.commands.flatMap((c) => c.subcommands.map((s) => `${c.path}/${s.name}`));
  const described = (name: string, description: string) => singleQuoted(`${name.replace(/:/g, '\\:')}:${description}`);
  return `#compdef plugback
${header('zsh', version)}
# Drive and state names come from the config (--config on the line, or the default) through plugback itself.
_plugback_names() {
  local i
  local -a config
  for ((i = 2; i < CURRENT; i++)); do
    case \${words[i]} in
      (-c|--config) config=(--config "\${words[i+1]}") ;;
      (--config=*) config=("\${words[i]}") ;;
    esac
  done
  \${words[1]} complete-names "$1" "\${config[@]}" 2>/dev/null
}

_plugback_values() {
  # $1: drives, states, files, dirs, none, or "choices WORD...".
  local -a found
  case $1 in
    (drives|states) found=(\${(f)"$(_plugback_names $1)"}); compadd -a found ;;
    (files) _files ;;
    (dirs) _files -/ ;;
    (choices\\ *) found=(\${(s: :)\${1#choices }}); compadd -a found ;;
  esac
}

_plugback() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} cmdpath= npos=0 i w
  local -a subs opts
  # The command so far: subcommand names, then positional arguments; options and their values skipped.
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    case $w in
      (${spec.valued.flatMap((v) => v.flags).join('|')}) ((i++)) ;;
      (-*) ;;
      (*)
        case "$cmdpath/$w" in
          (${subs.map(singleQuoted).join('|')}) if ((npos == 0)); then cmdpath=\${cmdpath:+$cmdpath }$w; else ((npos++)); fi ;;
          (*) ((npos++)) ;;
        esac ;;
    esac
  done
  if ((CURRENT > 2)); then
    case $prev in
${spec.valued.map((v) => `      (${v.flags.join('|')}) _plugback_values ${singleQuoted(kindWord(v.kind))}; return ;;`).join('\n')}
    esac
  fi
  if [[ $cur == -* ]]; then
    case $cmdpath in
${spec.commands.map((c) => `      (${singleQuoted(c.path)}) opts=(${c.options.flatMap((o) => o.flags.map((f) => described(f, o.description))).join(' ')}) ;;`).join('\n')}
    esac
    _describe -t options option opts
    return
  fi
  if ((npos == 0)); then
    case $cmdpath in
${spec.commands
  .filter((c) => c.subcommands.length > 0)
  .map((c) => `      (${singleQuoted(c.path)}) subs=(${c.subcommands.map((s) => described(s.name, s.description)).join(' ')}) ;;`)
  .join('\n')}
    esac
    ((\${#subs})) && _describe -t commands command subs
  fi
  case "$cmdpath:$npos" in
${spec.commands.flatMap((c) => c.positionals.map((k, n) => `    (${singleQuoted(`${c.path}:${n}`)}) _plugback_values ${singleQuoted(kindWord(k))} ;;`)).join('\n')}
  esac
}

if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _plugback "$@"
else
  compdef _plugback plugback
fi
`;
}
