#!/bin/sh
# Manual pages test (ctest: man.pages). For each page in MAN_DIR (the build
# tree's, version filled in): man(1) renders it without a single warning, both
# as `man --warnings -l` does and as lintian runs it; its NAME line is a whatis
# entry; it has the usual sections. migscope(1) has a section for every
# subcommand `migscope --help` lists, and every page documents every long
# option its program's --help lists (the executables are in TOOLS_DIR).
#   man_test.sh MAN_DIR TOOLS_DIR
# Exit 77 (skipped) without man(1) (apt-get install man-db).
set -u
# The long options a --help lists: the first --name of each line that starts
# with an option (descriptions also mention other options).
long_options() { awk '/^ +-/ && match($0, /--[a-z0-9][a-z0-9-]*/) { print substr($0, RSTART, RLENGTH) }' | sort -u; }
man_dir=$1 tools=$2
if ! command -v man >/dev/null 2>&1; then
  echo "man not found (apt-get install man-db): test skipped"
  exit 77
fi
fail=0
for page in migscope.1 analyze-migration.1 vmstate-static-checker.1; do
  f=$man_dir/$page
  pf=0
  [ -f "$f" ] || { echo "FAIL: $f missing"; fail=1; continue; }
  w1=$(man --warnings -l "$f" 2>&1 >/dev/null)
  w2=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
  if [ -n "$w1$w2" ]; then
    echo "FAIL: $page: man --warnings:"; printf '%s\n%s\n' "$w1" "$w2"; pf=1
  fi
  name=${page%.1}
  if ! grep -A1 '^\.SH NAME' "$f" | grep -q "^$name \\\\- "; then
    echo "FAIL: $page: the NAME line is not '$name \\- description'"; pf=1
  fi
  if grep -q '@[A-Z_]*@' "$f"; then
    echo "FAIL: $page: unsubstituted @VARIABLE@"; pf=1
  fi
  for section in SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    grep -q "^\.SH \"\{0,1\}$section" "$f" || { echo "FAIL: $page: no $section section"; pf=1; }
  done
  if [ $pf = 0 ]; then echo "ok: $page renders without warnings, has every section"; else fail=1; fi
done

# Every long option of every --help, in the page (where roff writes \-\-name).
check_options() {  # page, then the command whose --help to read
  page=$1; shift
  opts=$("$@" --help 2>&1 | long_options)
  [ -n "$opts" ] || { echo "FAIL: no options in '$* --help'"; fail=1; return; }
  for o in $opts; do
    roff=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$roff" "$man_dir/$page" || { echo "FAIL: $page does not document $o ($*)"; fail=1; }
  done
}
subs=$("$tools/migscope" --help | sed -n '/^subcommands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$subs" ] || { echo "FAIL: no subcommands in migscope --help"; fail=1; }
for sub in $subs; do
  grep -q "^\.SS \"migscope $sub" "$man_dir/migscope.1" || { echo "FAIL: migscope.1 has no section for $sub"; fail=1; }
  check_options migscope.1 "$tools/migscope" "$sub"
done
check_options analyze-migration.1 "$tools/analyze-migration"
check_options vmstate-static-checker.1 "$tools/vmstate-static-checker"
[ $fail = 0 ] && echo "ok: every subcommand has a section, every --help option is documented ($(echo $subs | wc -w) subcommands)"
exit $fail
