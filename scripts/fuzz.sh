#!/bin/sh
# Run the libFuzzer targets of tests/fuzz, each for SECONDS (default 600).
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: stream vmdesc xbzrle checker lzop wrappers
# Environment: BUILD (default build-fuzz; configured with -DMIGSCOPE_FUZZ=ON by
# this script if missing), JOBS (targets run at once, default 1), MAX_LEN
# (overrides the per-target -max_len).
# Each target keeps a growing corpus in $BUILD/fuzz-corpus/<target> (started
# from the seeds in $BUILD/fuzz-seeds/<target>) and writes crashes, timeouts
# and out-of-memory inputs to $BUILD/fuzz-artifacts/<target>/; the log of a run
# is $BUILD/fuzz-logs/<target>.log. Exit status 1 if any target found something.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-stream vmdesc xbzrle checker lzop wrappers}
build=${BUILD:-build-fuzz}
jobs=${JOBS:-1}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGSCOPE_FUZZ=ON -DMIGSCOPE_BUILD_TESTS=OFF -DMIGSCOPE_BUILD_BENCH=OFF
fi
fuzz_bins="" ; for t in $targets; do fuzz_bins="$fuzz_bins fuzz_$t"; done
# shellcheck disable=SC2086
ninja -C "$build" $fuzz_bins fuzz_seeds

find_bin() { find "$build" -name "fuzz_$1" -type f -perm -u+x | head -n 1; }
max_len() {
  if [ -n "${MAX_LEN:-}" ]; then echo "$MAX_LEN"; return; fi
  case $1 in
    stream) echo 2097152 ;;   # the trimmed corpus streams fit; most real ones too
    vmdesc) echo 262144 ;;
    xbzrle) echo 70000 ;;     # a 64 KiB page plus slack
    checker) echo 1048576 ;;
    lzop) echo 1048576 ;;     # the libvirt lzop payloads of the corpus fit
    wrappers) echo 131072 ;;  # the seeds are a few KB: headers, tables, the start of a payload
  esac
}

run_one() {
  t=$1
  bin=$(find_bin "$t")
  seeds=$(find "$build" -type d -path "*fuzz-seeds/$t" | head -n 1)
  corpus=$build/fuzz-corpus/$t
  artifacts=$build/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts" "$build/fuzz-logs"
  log=$build/fuzz-logs/$t-$(date +%H%M%S).log
  echo "fuzz_$t: $seconds s, log $log"
  # -rss_limit_mb: the streams are mapped, not copied; 2 GiB is a generous bound.
  "$bin" "$corpus" "$seeds" -max_total_time="$seconds" -max_len="$(max_len "$t")" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  found=$(find "$artifacts" -type f | wc -l)
  echo "fuzz_$t: ${execs:-?} executions, ${cov:-cov: ?}, $found artifact(s) in $artifacts"
}

status=0
running=0
for t in $targets; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait; running=0; fi
done
wait
for t in $targets; do
  if [ -n "$(find "$build/fuzz-artifacts/$t" -type f 2>/dev/null)" ]; then status=1; fi
done
exit $status
