// The bash completion script. Plain `complete -F` (bash-completion's helpers are not needed), so it also works
// when sourced from ~/.bashrc; bash-completion loads it on demand from its completions folder.
import { header, singleQuoted, type CompletionSpec, type ValueKind } from './completion.js';

export function bashCompletion(spec: CompletionSpec, version: string): string {
  const subs = spec.commands.flatMap((c) => c.subcommands.map((s) => `${c.path}/${s.name}`));
  const valuedFlags = spec.valued.flatMap((v) => v.flags);
  return `${header('bash', version)}
# Drive and state names come from the config (--config on the line, or the default) through plugback itself.
_plugback_names() {
  local i config=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -c|--config) config=(--config "\${COMP_WORDS[i+1]}") ;;
      --config=*) config=("\${COMP_WORDS[i]}") ;;
    esac
  done
  "\${COMP_WORDS[0]}" complete-names "$1" "\${config[@]}" 2>/dev/null
}

_plugback_complete() {
  # $1: drives, states, files, dirs, none, or "choices WORD...".
  local cur=$2 kind=$1
  case $kind in
    drives|states) mapfile -t COMPREPLY < <(compgen -W "$(_plugback_names "$kind")" -- "$cur") ;;
    files) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    dirs) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    choices\\ *) mapfile -t COMPREPLY < <(compgen -W "\${kind#choices }" -- "$cur") ;;
    *) COMPREPLY=() ;;
  esac
}

_plugback() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmdpath= npos=0 i w
  # The command so far: subcommand names, then positional arguments; options and their values skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case $w in
      ${valuedFlags.join('|')}) ((i++)) ;;
      -*) ;;
      *)
        case "$cmdpath/$w" in
          ${subs.map(singleQuoted).join('|')}) [[ $npos -eq 0 ]] && cmdpath=\${cmdpath:+$cmdpath }$w || ((npos++)) ;;
          *) ((npos++)) ;;
        esac ;;
    esac
  done
  if [[ $COMP_CWORD -gt 1 ]]; then
    case $prev in
${spec.valued.map((v) => `      ${v.flags.join('|')}) _plugback_complete ${singleQuoted(kindWord(v.kind))} "$cur"; return ;;`).join('\n')}
    esac
  fi
  if [[ $cur == -* ]]; then
    case $cmdpath in
${spec.commands.map((c) => `      ${singleQuoted(c.path)}) mapfile -t COMPREPLY < <(compgen -W ${singleQuoted(c.options.flatMap((o) => o.flags).join(' '))} -- "$cur") ;;`).join('\n')}
    esac
    return
  fi
  # A command's subcommands (before any argument), then what its next argument is.
  local subs=()
  if [[ $npos -eq 0 ]]; then
    case $cmdpath in
${spec.commands
  .filter((c) => c.subcommands.length > 0)
  .map((c) => `      ${singleQuoted(c.path)}) mapfile -t subs < <(compgen -W ${singleQuoted(c.subcommands.map((s) => s.name).join(' '))} -- "$cur") ;;`)
  .join('\n')}
    esac
  fi
  COMPREPLY=()
  case "$cmdpath:$npos" in
${spec.commands.flatMap((c) => c.positionals.map((k, n) => `    ${singleQuoted(`${c.path}:${n}`)}) _plugback_complete ${singleQuoted(kindWord(k))} "$cur" ;;`)).join('\n')}
  esac
  COMPREPLY=("\${subs[@]}" "\${COMPREPLY[@]}")
}

complete -F _plugback plugback
`;
}

/** The kind as one word for _plugback_complete. */
export function kindWord(kind: ValueKind): string {
  return kind.kind === 'choices' ? `choices ${kind.values.join(' ')}` : kind.kind;
}
