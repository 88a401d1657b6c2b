# bash completion for migscope, analyze-migration and vmstate-static-checker.
# Installed as share/bash-completion/completions/migscope (the two drop-ins'
# names are symbolic links to it). Works with or without the bash-completion
# package: its helpers are used when they are loaded.

_migscope_subcommands="info state desc hash extract check cat snapshots vmcore diff report"
# QEMU's migration capabilities, for check --against --capability.
_migscope_capabilities="xbzrle rdma-pin-all auto-converge zero-blocks compress events
  postcopy-ram x-colo release-ram block return-path pause-before-switchover multifd
  dirty-bitmaps postcopy-blocktime late-block-activate x-ignore-shared validate-uuid
  background-snapshot zero-copy-send postcopy-preempt switchover-ack dirty-limit mapped-ram"

# COMPREPLY = the words of $1 that start with $2.
_migscope_words() {
  local IFS=$' \t\n'
  COMPREPLY=()
  local w
  for w in $1; do
    [[ $w == "$2"* ]] && COMPREPLY+=("$w")
  done
}

# COMPREPLY = file names (directories only with -d) completing $cur.
_migscope_files() {
  if declare -F _filedir >/dev/null 2>&1; then
    _filedir "$@"
    return
  fi
  compopt -o filenames 2>/dev/null
  local IFS=$'\n'
  if [[ ${1:-} == -d ]]; then
    COMPREPLY=($(compgen -d -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}

# The options of each subcommand, and those that take a value.
_migscope_options() {
  case $1 in
    info) echo "--json --domain-xml --keep-going --vmdesc --snapshot --progress --quiet -q --strict --help" ;;
    state) echo "--memory -m --page-size --keep-going --vmdesc --snapshot --progress --quiet -q --strict --help" ;;
    desc) echo "--snapshot --progress --quiet -q --strict --help" ;;
    hash) echo "--threads -j --vmdesc --snapshot --progress --quiet -q --strict --help" ;;
    extract) echo "--output -o --force --threads -j --vmdesc --snapshot --progress --quiet -q --strict --help" ;;
    cat) echo "--output -o --force --snapshot --progress --quiet -q --strict --help" ;;
    snapshots) echo "--json --progress --quiet -q --strict --help" ;;
    vmcore) echo "--output -o --format --force --threads -j --snapshot --vmdesc --machine
                  --below-4g --above-4g-start --place --progress --quiet -q --strict --help" ;;
    check) echo "--reverse --format --fail-on --renames --no-builtin-renames --lenient --baseline
                 --write-baseline --output -o --against --snapshot --capability --progress --quiet -q --strict --help" ;;
    diff) echo "--format --pages --ignore --no-default-ignores --threads -j --sequential
                --vmdesc-a --vmdesc-b --snapshot-a --snapshot-b --output -o --progress --quiet -q --strict --help" ;;
    report) echo "--output -o --force --snapshot --vmdesc --progress --quiet -q --strict --help" ;;
  esac
}

# Complete the value of option $2 of subcommand $1; return 1 if $2 takes none.
_migscope_value() {
  local sub=$1 opt=$2
  case $opt in
    --format)
      case $sub in
        check) _migscope_words "text json junit" "$cur" ;;
        diff) _migscope_words "text json jsonl" "$cur" ;;
        vmcore) _migscope_words "elf raw" "$cur" ;;
        *) COMPREPLY=() ;;
      esac ;;
    --fail-on) _migscope_words "info warning error" "$cur" ;;
    --capability) _migscope_words "$_migscope_capabilities" "$cur" ;;
    -o|--output)
      if [[ $sub == extract ]]; then _migscope_files -d; else _migscope_files; fi ;;
    --vmdesc|--vmdesc-a|--vmdesc-b|--renames|--baseline|--write-baseline|--against)
      _migscope_files ;;
    -j|--threads|--page-size|--snapshot|--snapshot-a|--snapshot-b|--machine|--below-4g|\
    --above-4g-start|--place|--ignore)
      COMPREPLY=() ;;  # free text
    *) return 1 ;;
  esac
  return 0
}

_migscope() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    if [[ $cur == -* ]]; then
      _migscope_words "--help --version" "$cur"
    else
      _migscope_words "$_migscope_subcommands" "$cur"
    fi
    return 0
  fi
  local sub=${COMP_WORDS[1]}
  [[ " $_migscope_subcommands " == *" $sub "* ]] || return 0
  if [[ $cur == --*=* ]]; then  # --format=json
    local opt=${cur%%=*}
    cur=${cur#*=}
    _migscope_value "$sub" "$opt" || COMPREPLY=()
    return 0
  fi
  # COMP_WORDBREAKS usually holds '=': "--format=j" arrives as "--format" "=" "j".
  if [[ $prev == = ]] && ((COMP_CWORD > 3)); then
    _migscope_value "$sub" "${COMP_WORDS[COMP_CWORD - 2]}" || COMPREPLY=()
    return 0
  fi
  if [[ $cur == = ]] && [[ $prev == --* ]]; then
    cur=
    _migscope_value "$sub" "$prev" || COMPREPLY=()
    return 0
  fi
  ((COMP_CWORD > 2)) && _migscope_value "$sub" "$prev" && return 0
  if [[ $cur == -* ]]; then
    _migscope_words "$(_migscope_options "$sub")" "$cur"
  else
    _migscope_files
  fi
  return 0
}

_analyze_migration() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  case $prev in
    -f|--file) _migscope_files; return 0 ;;
    -d|--dump) _migscope_words "state desc" "$cur"; return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    _migscope_words "--file -f --dump -d --memory -m --extract -x --help -h" "$cur"
  fi
  return 0
}

_vmstate_static_checker() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  case $prev in
    -s|--src|-d|--dest) _migscope_files; return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    _migscope_words "--src -s --dest -d --reverse --help -h" "$cur"
  fi
  return 0
}

complete -F _migscope migscope
complete -F _analyze_migration analyze-migration
complete -F _vmstate_static_checker vmstate-static-checker
