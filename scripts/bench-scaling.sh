#!/usr/bin/env bash
# Size scaling (issue 16): synthetic guests of growing RAM, each timed in every
# mode with scripts/bench.sh and, wrapped as a zstd libvirt save, with
# scripts/bench-wrapped.sh; then one table of seconds per GiB of guest and peak
# RSS per size, so linear time and flat memory can be read off it.
#
#   scripts/bench-scaling.sh DIR [--sizes 1,4,16,64] [--mix SPEC] [--runs N]
#                            [--modes LIST] [--wrapped-ops LIST] [--no-wrapped]
#                            [--keep] [--build DIR] [--json-prefix PREFIX]
#
# DIR holds the streams (build/bench/migscope-synth --size NG, one page mix for
# every size: default random=1,zero=15, so a 64 GiB guest is a 4.4 GB stream and
# its raw image fits on the disk too), the raw images (for cp and extract), the
# zstd saves (bench/make-big-wrapped.sh STREAM DIR zstd) and the outputs. Each
# size is made, measured and deleted (unless --keep) before the next, so only
# one size needs the disk at a time. --modes is bench.sh's --only (default
# cat,xxhsum,cp,info,state,hash-j1,hash-j2,extract-j2,vmcore-j2); --wrapped-ops
# is bench-wrapped.sh's --ops (default info,state,hash,extract). Every run
# drops the inputs from the page cache first (--recache). JSON per size:
# PREFIX-sNG.json and PREFIX-sNG-zstd.json (default
# bench/results/scaling-<date>); the summary table goes to stdout.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

dir="" sizes="1,4,16,64" mix="random=1,zero=15" runs=3 keep=0 wrapped=1 build="" prefix=""
modes="cat,xxhsum,cp,info,state,hash-j1,hash-j2,extract-j2,vmcore-j2"
wops="info,state,hash,extract"
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --wrapped-ops) wops=$2; shift 2 ;;
    --no-wrapped) wrapped=0; shift ;;
    --keep) keep=1; shift ;;
    --build) build=$2; shift 2 ;;
    --json-prefix) prefix=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "bench-scaling.sh: unknown option $1" >&2; usage 2 ;;
    *) [ -z "$dir" ] || { echo "bench-scaling.sh: one DIR only" >&2; exit 2; }; dir=$1; shift ;;
  esac
done
[ -n "$dir" ] || usage 2
case $runs in ''|*[!0-9]*|0) echo "bench-scaling.sh: --runs N: a positive number" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${build:-$root/build}
synth=$build/bench/migscope-synth
[ -x "$synth" ] || { echo "bench-scaling.sh: $synth not built (bash scripts/build.sh)" >&2; exit 2; }
prefix=${prefix:-$root/bench/results/scaling-$(date +%F)}
mkdir -p "$dir"

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
IFS=, read -r -a size_list <<< "$sizes"
for n in "${size_list[@]}"; do
  case $n in ''|*[!0-9]*|0) echo "bench-scaling.sh: --sizes: whole GiB, comma-separated" >&2; exit 2 ;; esac
  stream=$dir/s$n.mig raw=$dir/s$n.img save=$dir/big-zstd.save
  echo "# $n GiB: making $stream" >&2
  "$synth" --size "${n}G" --mix "$mix" -o "$stream.partial" --raw "$raw.partial"
  mv "$stream.partial" "$stream"
  mv "$raw.partial" "$raw"
  bash "$root/scripts/bench.sh" "$stream" --raw "$raw" --only "$modes" --runs "$runs" --recache \
    --build "$build" --json "$prefix-s${n}G.json" > "$dir/s$n.md"
  # The rows of the table: "| `command` | median (min–max) | GB/s | RSS | ratio |".
  awk -v n="$n" -F'|' '/^\| `/ { gsub(/^ +| +$/, "", $2); split($3, t, " "); gsub(/^ +| +$/, "", $5); print n "\t" $2 "\t" t[1] "\t" $5 }' \
    "$dir/s$n.md" >> "$summary"
  if [ "$wrapped" = 1 ]; then
    echo "# $n GiB: zstd libvirt save" >&2
    bash "$root/bench/make-big-wrapped.sh" "$stream" "$dir" zstd --ram "$raw" --build "$build" >&2
    bash "$root/scripts/bench-wrapped.sh" "$save" --ops "$wops" --runs "$runs" --recache --build "$build" \
      --workdir "$dir" --json "$prefix-s${n}G-zstd.json" > "$dir/s$n-zstd.md"
    # "| input | command | median (min–max) | GB/s | RSS | ratio |"
    awk -v n="$n" -F'|' '/^\| / && !/^\| input/ && !/^\|---/ { gsub(/^ +| +$/, "", $3); split($4, t, " "); gsub(/^ +| +$/, "", $6); print n "\tzstd save: " $3 "\t" t[1] "\t" $6 }' \
      "$dir/s$n-zstd.md" >> "$summary"
  fi
  [ "$keep" = 1 ] || rm -f "$stream" "$raw" "$save"
done

# One row per command: seconds per GiB of guest and peak RSS at each size.
python3 - "$summary" "${size_list[@]}" <<'PY'
import sys
path, sizes = sys.argv[1], sys.argv[2:]
rows = {}
for line in open(path):
    n, cmd, secs, rss = line.rstrip("\n").split("\t")
    try:
        rows.setdefault(cmd, {})[n] = (float(secs), rss)
    except ValueError:
        pass
print("| command | " + " | ".join("%s GiB: s, s/GiB, RSS MiB" % n for n in sizes) + " |")
print("|---|" + "---|" * len(sizes))
for cmd, by in rows.items():
    cells = []
    for n in sizes:
        if n in by:
            s, rss = by[n]
            cells.append("%.3f, %.4f, %s" % (s, s / int(n), rss))
        else:
            cells.append("–")
    print("| %s | %s |" % (cmd, " | ".join(cells)))
PY
