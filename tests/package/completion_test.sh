#!/bin/sh
# Shell completion test (ctest: completion.bash). Sources the bash completion
# in a plain `bash -c` (no bash-completion package needed), sets COMP_WORDS and
# COMP_CWORD as bash does and calls the completion function, then asserts
# COMPREPLY: the subcommands (every one `migscope --help` lists), each
# subcommand's options (every long one its --help lists), --format and
# --fail-on values, the drop-ins' options. With zsh installed, the zsh
# completion is parsed (zsh -n) and must name every option too.
#   completion_test.sh BASH_COMPLETION ZSH_COMPLETION TOOLS_DIR
set -u
# The long options a --help lists: the first --name of each line that starts
# with an option (descriptions also mention other options).
long_options() { awk '/^ +-/ && match($0, /--[a-z0-9][a-z0-9-]*/) { print substr($0, RSTART, RLENGTH) }' | sort -u; }
bash_file=$1 zsh_file=$2 tools=$3
subs=$("$tools/migscope" --help | sed -n '/^subcommands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' | tr '\n' ' ')
[ -n "$subs" ] || { echo "FAIL: no subcommands in migscope --help"; exit 1; }
opts_of() { "$tools/migscope" "$1" --help 2>&1 | long_options | tr '\n' ' '; }
opts_file=$(mktemp)
trap 'rm -f "$opts_file"' EXIT
for sub in $subs; do echo "$sub $(opts_of "$sub")"; done > "$opts_file"

bash --norc --noprofile -c '
  set -u
  source "$1" || exit 1
  subs=$2 opts_file=$3
  fail=0
  # complete WORD... : COMP_WORDS = the words, the cursor in the last one.
  complete_words() {
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    local fn; fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    [ -n "$fn" ] || { echo "FAIL: no completion function for $1"; fail=1; return; }
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  }
  # expect "WORDS" EXPECTED... : each EXPECTED is in COMPREPLY.
  expect() {
    local words=$1; shift
    read -r -a w <<< "$words"
    [[ $words == *" " ]] && w+=("")
    complete_words "${w[@]}"
    local e
    for e in "$@"; do
      if ! printf "%s\n" "${COMPREPLY[@]}" | grep -qx -- "$e"; then
        echo "FAIL: completing \"$words\": no \"$e\" in (${COMPREPLY[*]})"; fail=1
      fi
    done
  }
  # exactly "WORDS" EXPECTED... : COMPREPLY is EXPECTED, in that order.
  exactly() {
    local words=$1; shift
    read -r -a w <<< "$words"
    [[ $words == *" " ]] && w+=("")
    complete_words "${w[@]}"
    if [[ "${COMPREPLY[*]}" != "$*" ]]; then
      echo "FAIL: completing \"$words\": (${COMPREPLY[*]}), expected ($*)"; fail=1
    fi
  }
  expect "migscope " $subs report
  exactly "migscope diff --f" --format
  exactly "migscope diff --format " text json jsonl
  exactly "migscope diff --format=j" json jsonl
  exactly "migscope check --format " text json junit
  exactly "migscope vmcore --format " elf raw
  exactly "migscope check --fail-on " info warning error
  exactly "migscope check --fail-on w" warning
  exactly "migscope di" diff
  expect "migscope -" --help --version
  expect "migscope check x.json --against d.mig --capability x-" x-ignore-shared
  expect "migscope report --" --output --force --snapshot --vmdesc
  while read -r sub opts; do
    expect "migscope $sub --" $opts
  done < "$opts_file"
  exactly "analyze-migration -d " state desc
  expect "analyze-migration --" --file --dump --memory --extract --help
  expect "vmstate-static-checker --" --src --dest --reverse --help
  # File names where a file goes.
  dir=$(mktemp -d); touch "$dir/guest.mig" "$dir/guest.mig.json"; mkdir "$dir/out"
  expect "migscope info $dir/gue" "$dir/guest.mig" "$dir/guest.mig.json"
  exactly "migscope extract x.mig -o $dir/o" "$dir/out"
  expect "migscope diff --vmdesc-a $dir/guest.mig." "$dir/guest.mig.json"
  expect "analyze-migration -f $dir/guest.m" "$dir/guest.mig"
  rm -r "$dir"
  [ $fail = 0 ] && echo "ok: bash completion (subcommands: $subs)"
  exit $fail
' completion_test "$bash_file" "$subs" "$opts_file" || exit 1

if command -v zsh >/dev/null 2>&1; then
  zsh -n "$zsh_file" || { echo "FAIL: zsh -n $zsh_file"; exit 1; }
  fail=0
  while read -r sub opts; do
    for o in $opts; do
      grep -q -- "$o" "$zsh_file" || { echo "FAIL: $zsh_file does not complete migscope $sub $o"; fail=1; }
    done
  done < "$opts_file"
  [ $fail = 0 ] || exit 1
  echo "ok: zsh completion parses and names every option"
else
  echo "zsh not found: zsh completion not checked"
fi
