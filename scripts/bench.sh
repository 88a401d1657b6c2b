#!/usr/bin/env bash
# Time migscope on one stream against the machine's anchors and upstream, in
# one run, and print a markdown table (median wall time of N round-robin runs,
# throughput, peak RSS, ratios against the issue-5 targets).
#
#   scripts/bench.sh STREAM [--raw RAM.img] [--upstream analyze-migration.py]
#                    [--runs N] [--upstream-runs N] [--threads N] [--build DIR]
#                    [--workdir DIR] [--only MODES] [--json FILE] [--bench] [--recache]
#                    [--other STREAM2] [--dumps SRC,DEST] [--upstream-checker SCRIPT]
#                    [--fast-loops K] [--wrapped FILE[,FILE...]] [--wrapped-runs N]
#
# --other STREAM2 (another save of the same guest, e.g. bench/make-big-stream.sh
# OUTDIR 4 1) adds `diff STREAM STREAM2` against `hash` on both (one after the
# other), and `check STREAM --against STREAM2` against `info` on both.
# `report STREAM` (the HTML page) is timed against `state`.
# --dumps SRC,DEST (two -dump-vmstate documents, e.g. the 790 KB x86_64 pair of
# build/corpus/vmstate/dumps) adds `vmstate-static-checker -s SRC -d DEST` and
# `migscope check SRC DEST`; --upstream-checker (QEMU's
# scripts/vmstate-static-checker.py) adds upstream's script, the peer. These run
# in milliseconds: each timed run is K back-to-back invocations (--fast-loops,
# default 20) divided by K, so fork and GNU time's overhead do not swamp them.
# --wrapped (what bench/make-big-wrapped.sh makes from STREAM: libvirt saves in
# every format, a compressed `virsh dump`, a qcow2 snapshot) runs
# scripts/bench-wrapped.sh on them after the stream's rows (--wrapped-runs,
# default 3; --recache, --threads, --build passed on): its table follows this
# one and its JSON is the "wrapped" member of --json.
# Hot page cache: STREAM and RAM.img are read with cat before the first run.
# --recache first drops them from the page cache (dd iflag=nocache), so they
# are cached as a reader finds a file it read from disk: in large folios on
# Linux >= 6.16 ext4, which maps 10-30x cheaper than a file just written (4 KiB
# folios). Without it, the cache is as found. See bench/README.md.
# Modes that only read run first (all their rounds), then those that write:
# writing GBs splits the stream's large folios in the page cache.
# Write modes (cp, extract, vmcore, upstream -x) write into a fresh directory on the
# same file system as --workdir (default: next to STREAM), delete it after each
# run and `sync` before the next one, outside the timed region, so no run pays
# for the previous run's writeback. Wall time from bash's EPOCHREALTIME, peak
# RSS from GNU time (%M). See bench/README.md.
set -euo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

stream="" other="" raw="" upstream="" dumps="" upchecker="" fast_loops=20 wrapped="" wrapped_runs=3 runs=5 upstream_runs="" threads="" build="" workdir="" only="" json="" micro=0 recache=0
while [ $# -gt 0 ]; do
  case "$1" in
    --raw) raw=$2; shift 2 ;;
    --other) other=$2; shift 2 ;;
    --dumps) dumps=$2; shift 2 ;;
    --upstream-checker) upchecker=$2; shift 2 ;;
    --fast-loops) fast_loops=$2; shift 2 ;;
    --wrapped) wrapped=$2; shift 2 ;;
    --wrapped-runs) wrapped_runs=$2; shift 2 ;;
    --upstream) upstream=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --upstream-runs) upstream_runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --bench) micro=1; shift ;;
    --recache) recache=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "bench.sh: unknown option $1" >&2; usage 2 ;;
    *) [ -z "$stream" ] || { echo "bench.sh: one STREAM only" >&2; exit 2; }; stream=$1; shift ;;
  esac
done
[ -n "$stream" ] || usage 2
[ -f "$stream" ] || { echo "bench.sh: $stream: no such file" >&2; exit 2; }
[ -z "$raw" ] || [ -f "$raw" ] || { echo "bench.sh: $raw: no such file" >&2; exit 2; }
[ -z "$other" ] || [ -f "$other" ] || { echo "bench.sh: $other: no such file" >&2; exit 2; }
[ -z "$upstream" ] || [ -f "$upstream" ] || { echo "bench.sh: $upstream: no such file" >&2; exit 2; }
dump_src="" dump_dest=""
if [ -n "$dumps" ]; then
  dump_src=${dumps%%,*} dump_dest=${dumps#*,}
  [ -f "$dump_src" ] && [ -f "$dump_dest" ] && [ "$dump_src" != "$dumps" ] || { echo "bench.sh: --dumps SRC,DEST: two files" >&2; exit 2; }
  dump_src=$(realpath "$dump_src") dump_dest=$(realpath "$dump_dest")
fi
[ -z "$upchecker" ] || [ -n "$dumps" ] || { echo "bench.sh: --upstream-checker needs --dumps" >&2; exit 2; }
[ -z "$upchecker" ] || [ -f "$upchecker" ] || { echo "bench.sh: $upchecker: no such file" >&2; exit 2; }
[ -z "$upchecker" ] || upchecker=$(realpath "$upchecker")
declare -a wrapped_files=()
if [ -n "$wrapped" ]; then
  IFS=, read -r -a wrapped_files <<<"$wrapped"
  for f in "${wrapped_files[@]}"; do [ -f "$f" ] || { echo "bench.sh: --wrapped: $f: no such file" >&2; exit 2; }; done
fi
case $wrapped_runs in ''|*[!0-9]*|0) echo "bench.sh: --wrapped-runs N: a positive number" >&2; exit 2 ;; esac
case $fast_loops in ''|*[!0-9]*|0) echo "bench.sh: --fast-loops K: a positive number" >&2; exit 2 ;; esac
upstream_runs=${upstream_runs:-$runs}
threads=${threads:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${build:-$root/build}
migscope=$build/tools/migscope
[ -x "$migscope" ] || { echo "bench.sh: $migscope not built (bash scripts/build.sh)" >&2; exit 2; }
if [ ! -x /usr/bin/time ]; then
  echo "bench.sh: installing GNU time" >&2
  apt-get install -y time >/dev/null
fi
stream=$(realpath "$stream"); [ -z "$other" ] || other=$(realpath "$other"); [ -z "$raw" ] || raw=$(realpath "$raw"); [ -z "$upstream" ] || upstream=$(realpath "$upstream")
workdir=${workdir:-$(dirname "$stream")}
tmp=$(mktemp -d "$workdir/.migscope-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT; trap 'exit 130' INT TERM
mkdir "$tmp/times"
size=$(stat -c %s "$stream")

# ---- modes: name, whether it writes, the command ----
declare -a modes=()
add() { modes+=("$1"); }
add cat; add xxhsum
[ -z "$raw" ] || add cp
add info; add state; add hash-j1; add "hash-j$threads"; add extract-j1; add "extract-j$threads"
add "vmcore-j$threads"; add "vmcore-raw-j$threads"; add report
if [ -n "$other" ]; then add "hash-both-j$threads"; add diff; add info-both; add check-against; fi
if [ -n "$upstream" ]; then add up-state; add up-x; fi
if [ -n "$dumps" ]; then add vsc; add check-dumps; fi
[ -z "$upchecker" ] || add up-vsc
if [ -n "$only" ]; then
  declare -a keep=()
  for m in "${modes[@]}"; do case ",$only," in *",$m,"*|*",${m%-j*},"*) keep+=("$m") ;; esac; done
  modes=("${keep[@]}")
fi

# Modes that write gigabytes; they and `report` (one small page) write into DIR.
writes() { case $1 in cp|extract-*|vmcore-*|up-x) return 0 ;; *) return 1 ;; esac; }
writes_into_dir() { writes "$1" || [ "$1" = report ]; }

# One timed run of mode $1: appends "wall_seconds peak_rss_kib" to times/$1.
run_once() {
  local m=$1 out="$tmp/out" t0 t1 tf="$tmp/gnutime"
  if writes_into_dir "$m"; then rm -rf "$out"; mkdir "$out"; sync; fi
  case $m in
    vsc|check-dumps|up-vsc)
      # K invocations back to back, then one more under GNU time for the RSS.
      local cmd=()
      case $m in
        vsc) cmd=("$build/tools/vmstate-static-checker" -s "$dump_src" -d "$dump_dest") ;;
        check-dumps) cmd=("$migscope" check "$dump_src" "$dump_dest") ;;
        up-vsc) cmd=(python3 "$upchecker" -s "$dump_src" -d "$dump_dest") ;;
      esac
      t0=$EPOCHREALTIME
      for ((k = 0; k < fast_loops; k++)); do "${cmd[@]}" >/dev/null 2>&1 || true; done
      t1=$EPOCHREALTIME
      /usr/bin/time -o "$tf" -f '%e %M' "${cmd[@]}" >/dev/null 2>&1 || true
      echo "$(awk -v a="$t0" -v b="$t1" -v k="$fast_loops" 'BEGIN{printf "%.6f", (b-a)/k}') $(awk '{print $2}' "$tf" | tail -1)" >>"$tmp/times/$m"
      return ;;
  esac
  t0=$EPOCHREALTIME
  case $m in
    cat) /usr/bin/time -o "$tf" -f '%e %M' cat "$stream" >/dev/null ;;
    xxhsum) /usr/bin/time -o "$tf" -f '%e %M' xxhsum -H3 "$stream" >/dev/null ;;
    cp) /usr/bin/time -o "$tf" -f '%e %M' cp --sparse=always "$raw" "$out/ram.img" ;;
    info) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" info "$stream" >/dev/null ;;
    state) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" state "$stream" >/dev/null ;;
    hash-both-j*) /usr/bin/time -o "$tf" -f '%e %M' sh -c '"$0" hash -j "$1" "$2" >/dev/null && "$0" hash -j "$1" "$3" >/dev/null' \
                    "$migscope" "${m#hash-both-j}" "$stream" "$other" ;;
    hash-j*) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" hash -j "${m#hash-j}" "$stream" >/dev/null ;;
    diff) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" diff "$stream" "$other" >/dev/null || [ $? = 1 ] ;;
    info-both) /usr/bin/time -o "$tf" -f '%e %M' sh -c '"$0" info "$1" >/dev/null && "$0" info "$2" >/dev/null' "$migscope" "$stream" "$other" ;;
    check-against) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" check "$stream" --against "$other" >/dev/null || [ $? = 1 ] ;;
    extract-j*) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" extract -j "${m#extract-j}" "$stream" -o "$out/x" >/dev/null ;;
    vmcore-raw-j*) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" vmcore --format raw -j "${m#vmcore-raw-j}" "$stream" -o "$out/x.raw" >/dev/null 2>&1 ;;
    vmcore-j*) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" vmcore -j "${m#vmcore-j}" "$stream" -o "$out/x.core" >/dev/null 2>&1 ;;
    report) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" report "$stream" -o "$out/r.html" >/dev/null 2>&1 ;;
    up-state) /usr/bin/time -o "$tf" -f '%e %M' python3 "$upstream" -f "$stream" -d state >/dev/null ;;
    up-x) (cd "$out" && /usr/bin/time -o "$tf" -f '%e %M' python3 "$upstream" -f "$stream" -x >/dev/null) ;;
  esac
  t1=$EPOCHREALTIME
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}') $(awk '{print $2}' "$tf" | tail -1)" >>"$tmp/times/$m"
  if writes_into_dir "$m"; then rm -rf "$out"; fi
}

echo "# migscope bench: $stream ($size bytes)" >&2
if [ "$recache" = 1 ]; then
  echo "# dropping STREAM$( [ -z "$raw" ] || echo " and RAW") from the page cache" >&2
  dd if="$stream" iflag=nocache count=0 status=none
  [ -z "$raw" ] || dd if="$raw" iflag=nocache count=0 status=none
fi
echo "# warming the page cache" >&2
cat "$stream" >/dev/null
[ -z "$raw" ] || cat "$raw" >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Round-robin: every mode once per round, so drift hits all modes alike; the
# modes that read only go first, all their rounds, then those that write GBs:
# writing the outputs splits the stream's large folios in the page cache
# (measured 2026-12-07: state 0.028-0.036 s in a run of readers only,
# 0.041-0.094 s with every round also writing its outputs).
for phase in read write; do
  for ((r = 1; r <= runs; r++)); do
    for m in "${modes[@]}"; do
      if writes "$m"; then [ "$phase" = write ] || continue; else [ "$phase" = read ] || continue; fi
      case $m in up-*) [ "$r" -le "$upstream_runs" ] || continue ;; esac
      echo "# $phase round $r/$runs: $m" >&2
      run_once "$m"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- statistics ----
# median wall, min, max, median rss (KiB) of a mode
stats() { sort -g -k1,1 "$tmp/times/$1" | awk '{w[NR]=$1; r[NR]=$2} END {
  n=NR; m=(n%2)?w[(n+1)/2]:(w[n/2]+w[n/2+1])/2; maxr=0; for(i=1;i<=n;i++) if(r[i]>maxr) maxr=r[i];
  printf "%.6f %.6f %.6f %d %d\n", m, w[1], w[n], maxr, n }'; }
declare -A med rss lo hi cnt
for m in "${modes[@]}"; do read -r md mn mx rs n < <(stats "$m"); med[$m]=$md; rss[$m]=$rs; lo[$m]=$mn; hi[$m]=$mx; cnt[$m]=$n; done

ratio() { # how many times faster $2 is than $1 (time $2 / time $1), or "–"
  [ -n "${med[$1]:-}" ] && [ -n "${med[$2]:-}" ] || { echo "–"; return; }
  awk -v a="${med[$1]}" -v b="${med[$2]}" 'BEGIN{ if (a>0) printf "%.2f", b/a; else print "–" }'; }
slowest() { # how many times faster $1's slowest run is than $2's median, or "–"
  [ -n "${hi[$1]:-}" ] && [ -n "${med[$2]:-}" ] || { echo "–"; return; }
  awk -v a="${hi[$1]}" -v b="${med[$2]}" 'BEGIN{ if (a>0) printf "%.2f", b/a; else print "–" }'; }
verdict() { # ratio op target
  [ "$1" != "–" ] || { echo ""; return; }
  awk -v r="$1" -v t="$3" -v op="$2" 'BEGIN{ ok = (op==">=") ? r>=t : (op==">") ? r>t : r<=t; print ok ? "✓" : "✗" }'; }

desc() {
  case $1 in
    cat) echo '`cat STREAM > /dev/null`' ;;
    xxhsum) echo '`xxhsum -H3 STREAM`' ;;
    cp) echo '`cp --sparse=always RAW`' ;;
    info) echo '`migscope info`' ;;
    state) echo '`migscope state`' ;;
    hash-both-j*) echo "\`migscope hash -j${1#hash-both-j}\` on both" ;;
    hash-j*) echo "\`migscope hash -j${1#hash-j}\`" ;;
    diff) echo '`migscope diff STREAM STREAM2`' ;;
    info-both) echo '`migscope info` on both' ;;
    check-against) echo '`migscope check STREAM --against STREAM2`' ;;
    extract-j*) echo "\`migscope extract -j${1#extract-j}\`" ;;
    vmcore-raw-j*) echo "\`migscope vmcore --format raw -j${1#vmcore-raw-j}\`" ;;
    vmcore-j*) echo "\`migscope vmcore -j${1#vmcore-j}\` (ELF)" ;;
    up-state) echo 'upstream `-d state`' ;;
    up-x) echo 'upstream `-x`' ;;
    report) echo '`migscope report -o R.html`' ;;
    vsc) echo '`vmstate-static-checker -s SRC -d DEST`' ;;
    check-dumps) echo '`migscope check SRC DEST`' ;;
    up-vsc) echo "upstream \`vmstate-static-checker.py\`" ;;
  esac
}
compare() { # the ratio columns for mode $1: "vs what: ratio (target) verdict"
  local m=$1 r v parts=()
  case $m in
    info|state)
      # The targets hold in every run: the slowest run against the peer's median too.
      r=$(ratio "$m" cat); v=$(slowest "$m" cat); parts+=("$r× cat, slowest run $v× (>1 $(verdict "$v" ">" 1))")
      if [ -n "${med[up-state]:-}" ]; then
        r=$(ratio "$m" up-state); v=$(slowest "$m" up-state)
        parts+=("$r× upstream -d state, slowest run $v× (≥50 $(verdict "$v" ">=" 50))")
      fi ;;
    diff)
      r=$(ratio "$m" "hash-both-j$threads"); parts+=("$r× hash on both (≥0.83 $(verdict "$r" ">=" 0.83))") ;;
    check-against)
      r=$(ratio "$m" info-both); parts+=("$r× info on both") ;;
    hash-both-j*) ;;
    report)
      r=$(ratio "$m" state); parts+=("$r× state") ;;
    vsc|check-dumps)
      if [ -n "${med[up-vsc]:-}" ]; then r=$(ratio "$m" up-vsc); parts+=("$r× upstream checker (≥10 $(verdict "$r" ">=" 10))"); fi
      parts+=("$(awk -v t="${med[$m]}" 'BEGIN{printf "%.2f ms (≤5 %s)", t*1000, (t<=0.005) ? "✓" : "✗"}')") ;;
    hash-j1)
      r=$(ratio "$m" xxhsum); parts+=("$r× xxhsum -H3 (≥0.8 $(verdict "$r" ">=" 0.8))") ;;
    hash-j*)
      r=$(ratio "$m" xxhsum); parts+=("$r× xxhsum -H3 (≥1.5 $(verdict "$r" ">=" 1.5))") ;;
    vmcore-*)
      if [ -n "${med[cp]:-}" ]; then r=$(ratio "$m" cp); parts+=("$r× cp (≥1 $(verdict "$r" ">=" 1))"); fi ;;
    extract-j*)
      if [ -n "${med[cp]:-}" ]; then r=$(ratio "$m" cp); parts+=("$r× cp (≥0.77 $(verdict "$r" ">=" 0.77))"); fi
      if [ -n "${med[up-x]:-}" ]; then r=$(ratio "$m" up-x); parts+=("$r× upstream -x (≥3 $(verdict "$r" ">=" 3))"); fi ;;
  esac
  local IFS=';'; echo "${parts[*]}" | sed 's/;/; /g'
}

host_cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
{
  echo "Stream: \`$stream\` ($(awk -v s="$size" 'BEGIN{printf "%.2f GiB", s/1073741824}'))$( [ -z "$raw" ] || echo ", raw image \`$raw\`")"
  echo "Machine: $(nproc) × $host_cpu, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; $("$migscope" --version)"
  echo "Hot page cache ($( [ "$recache" = 1 ] && echo "re-read from disk: --recache" || echo "as found")); median of $runs round-robin runs$( [ -z "$upstream" ] || echo " (upstream: $upstream_runs)"); load average before $load_before, after $load_after"
  echo
  echo "| command | median s (min–max) | GB/s of stream | peak RSS MiB | ratio: × faster than (target) |"
  echo "|---|---|---|---|---|"
  for m in "${modes[@]}"; do
    gbs=$(awk -v s="$size" -v t="${med[$m]}" 'BEGIN{ if (t>0) printf "%.2f", s/t/1e9; else print "–" }')
    [ "$m" != cp ] || gbs=$(awk -v s="$(stat -c %s "$raw")" -v t="${med[$m]}" 'BEGIN{ if (t>0) printf "%.2f (of RAW)", s/t/1e9 }')
    mib=$(awk -v k="${rss[$m]}" 'BEGIN{printf "%.1f", k/1024}')
    rss_ok=""; case $m in info|state|hash-*|extract-*|vmcore-*|diff|check-against) rss_ok=" $(awk -v k="${rss[$m]}" 'BEGIN{print (k<102400) ? "✓" : "✗"}')" ;; esac
    case $m in vsc|check-dumps|up-vsc)
      gbs=$(awk -v s="$(( $(stat -c %s "$dump_src") + $(stat -c %s "$dump_dest") ))" -v t="${med[$m]}" 'BEGIN{ if (t>0) printf "%.2f (of SRC+DEST)", s/t/1e9 }')
      printf '| %s | %.4f (%.4f–%.4f) | %s | %s | %s |\n' "$(desc "$m")" "${med[$m]}" "${lo[$m]}" "${hi[$m]}" "$gbs" "$(awk -v k="${rss[$m]}" 'BEGIN{printf "%.1f", k/1024}')" "$(compare "$m")"
      continue ;;
    esac
    printf '| %s | %.3f (%.3f–%.3f) | %s | %s%s | %s |\n' "$(desc "$m")" "${med[$m]}" "${lo[$m]}" "${hi[$m]}" "$gbs" "$mib" "$rss_ok" "$(compare "$m")"
  done
  echo
  echo "Targets (issue 5): info/state faster than cat and ≥50× upstream -d state; hash -j$threads ≥1.5× xxhsum -H3, -j1 within 1.25× of it (ratio ≥0.8); extract within 1.3× of cp (ratio ≥0.77) and ≥3× upstream -x; (issue 12) vmcore ELF and raw at least as fast as cp (ratio ≥1); (issue 13) diff within 1.2× of hash on both (ratio ≥0.83); (issue 16) the checker ≤5 ms for the whole process and ≥10× upstream's script; peak RSS < 100 MiB."
} | tee "$tmp/table.md"

if [ "${#wrapped_files[@]}" -gt 0 ]; then
  echo
  wargs=(--runs "$wrapped_runs" --threads "$threads" --build "$build" --json "$tmp/wrapped.json")
  [ "$recache" = 0 ] || wargs+=(--recache)
  [ -z "$workdir" ] || wargs+=(--workdir "$workdir")
  "$root/scripts/bench-wrapped.sh" "${wrapped_files[@]}" "${wargs[@]}"
fi

if [ -n "$json" ]; then
  {
    echo "{\"stream\": \"$stream\", \"size\": $size, \"dumps\": \"$dumps\", \"fast_loops\": $fast_loops, \"runs\": $runs, \"threads\": $threads, \"load_before\": \"$load_before\", \"load_after\": \"$load_after\", \"modes\": {"
    first=1
    for m in "${modes[@]}"; do
      [ $first = 1 ] || echo ","; first=0
      printf '  "%s": {"median_s": %s, "min_s": %s, "max_s": %s, "peak_rss_kib": %s, "runs": [%s]}' "$m" "${med[$m]}" "${lo[$m]}" "${hi[$m]}" "${rss[$m]}" \
        "$(awk '{printf "%s[%s, %s]", (NR>1?", ":""), $1, $2}' "$tmp/times/$m")"
    done
    echo "}"
    if [ -s "$tmp/wrapped.json" ]; then echo ", \"wrapped\": "; cat "$tmp/wrapped.json"; fi
    echo "}"
  } >"$json"
fi

if [ "$micro" = 1 ]; then
  [ -x "$build/bench/migscope_bench" ] || { echo "bench.sh: $build/bench/migscope_bench not built (cmake --build $build --target bench)" >&2; exit 2; }
  "$build/bench/migscope_bench" --benchmark_min_time=0.2 --benchmark_out="$root/bench/results/micro-$(date +%Y%m%d).json" --benchmark_out_format=json
fi
