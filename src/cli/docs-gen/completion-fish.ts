// The fish completions: one `complete` line per subcommand, option and argument, each under a condition on the
// command typed so far (__plugback_at), which a small walker over the command line works out.
import { header, singleQuoted, type CompletionSpec, type ValueKind } from './completion.js';

export function fishCompletion(spec: CompletionSpec, version: string): string {
  const subs = spec.commands.flatMap((c) => c.subcommands.map((s) => `${c.path}/${s.name}`));
  const at = (path: string, n?: number) => `-n ${singleQuoted(`__plugback_at ${singleQuoted(path)}${n === undefined ? '' : ` ${n}`}`)}`;
  const lines: string[] = [];
  for (const c of spec.commands) {
    for (const s of c.subcommands) lines.push(`complete -c plugback ${at(c.path, 0)} -a ${singleQuoted(s.name)} -d ${singleQuoted(s.description)}`);
    for (const o of c.options) {
      const valued = spec.valued.find((v) => v.flags.join(' ') === o.flags.join(' '));
      const names = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)).join(' ');
      lines.push(`complete -c plugback ${at(c.path)} ${names}${valued ? ` ${valueArgs(valued.kind)}` : ''} -d ${singleQuoted(o.description)}`);
    }
    c.positionals.forEach((k, n) => lines.push(`complete -c plugback ${at(c.path, n)} ${valueArgs(k)}`));
  }
  return `${header('fish', version)}
# Drive and state names come from the config (--config on the line, or the default) through plugback itself.
function __plugback_names
    set -l tokens (commandline -opc)
    set -l config
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case -c --config
                test $i -lt (count $tokens); and set config --config $tokens[(math $i + 1)]
            case '--config=*'
                set config $tokens[$i]
        end
    end
    $tokens[1] complete-names $argv[1] $config 2>/dev/null
end

# Prints "COMMAND PATH:ARGUMENTS SO FAR" for the line being typed: subcommands, then positional arguments.
function __plugback_state
    set -l tokens (commandline -opc)
    set -l cmdpath ''
    set -l npos 0
    set -l skip 0
    for w in $tokens[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case ${spec.valued.flatMap((v) => v.flags).join(' ')}
                set skip 1
            case '-*'
            case '*'
                switch "$cmdpath/$w"
                    case ${subs.map(singleQuoted).join(' ')}
                        if test $npos = 0
                            set cmdpath (string trim -- "$cmdpath $w")
                        else
                            set npos (math $npos + 1)
                        end
                    case '*'
                        set npos (math $npos + 1)
                end
        end
    end
    echo "$cmdpath:$npos"
end

# True when the command typed so far is $argv[1] and (when given) the next argument is number $argv[2].
function __plugback_at
    set -l here (string split -r -m1 : -- (__plugback_state))
    test "$here[1]" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test "$here[2]" = "$argv[2]"
end

complete -c plugback -f
${lines.join('\n')}
`;
}

function valueArgs(kind: ValueKind): string {
  switch (kind.kind) {
    case 'drives':
    case 'states':
      return `-x -a ${singleQuoted(`(__plugback_names ${kind.kind})`)}`;
    case 'files':
      return '-r -F';
    case 'dirs':
      return `-x -a ${singleQuoted('(__fish_complete_directories (commandline -ct))')}`;
    case 'choices':
      return `-x -a ${singleQuoted(kind.values.join(' '))}`;
    default:
      return '-x';
  }
}
