#!/bin/sh
# Regenerate golden/<pair>.txt (stdout) and golden/<pair>.exit (exit status)
# by running upstream's checker on every pair listed in pairs.txt.
# usage: make-goldens.sh /path/to/vmstate-static-checker.py   (QEMU 10.2, blob 89b100e6cc)
set -eu
script=${1:?usage: $0 /path/to/upstream/vmstate-static-checker.py}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
resolve() {  # print a readable path for a corpus-relative file, decompressing .xz
  case "$1" in
    *.xz) out="$tmp/$(basename "$1" .xz)"; [ -f "$out" ] || xz -dc "$here/$1" > "$out"; echo "$out" ;;
    *) echo "$here/$1" ;;
  esac
}
mkdir -p "$here/golden"
grep -v '^#' "$here/pairs.txt" | while read -r name src dest flag; do
  [ -n "$name" ] || continue
  s=$(resolve "$src"); d=$(resolve "$dest")
  set +e
  python3 "$script" -s "$s" -d "$d" $flag > "$here/golden/$name.txt"
  echo $? > "$here/golden/$name.exit"
  set -e
  printf '%-40s exit %s, %s lines\n' "$name" "$(cat "$here/golden/$name.exit")" "$(wc -l < "$here/golden/$name.txt")"
done
