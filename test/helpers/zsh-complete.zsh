# Types a line into a real interactive zsh (on a pseudo-terminal, through zsh/zpty) with compinit and $1 in
# $fpath, presses Tab twice, and prints what the terminal showed once it holds $3. Usage: zsh -f THIS DIR LINE TEXT
zmodload zsh/zpty
zpty shell 'TERM=xterm zsh -f -i'
zpty -w shell "PROMPT='> '; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D; zstyle ':completion:*' list-prompt ''; print ST\"\"ARTED"
# Reads until the text appears (the echo of the line above reads ST""ARTED, so only the output matches).
waitfor() { zpty -r shell out "*${(b)1}*" }
waitfor $'STARTED\r'
# The line editor is reading once it has switched on bracketed paste.
waitfor $'\e[?2004h'
zpty -w -n shell "$2"$'\t\t'
waitfor "$3"
print -r -- "$out"
zpty -d shell
