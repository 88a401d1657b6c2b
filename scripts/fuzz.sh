#!/bin/sh
# Run the libFuzzer targets of tests/fuzz, each for SECONDS (default 600).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   targets: stream vmdesc xbzrle checker lzop wrappers qcow2 diff layout
# Environment: BUILD (default build-fuzz; configured with -DMIGSCOPE_FUZZ=ON by
# this script if missing), JOBS (targets run at once, default 1), MAX_LEN
# (overrides the per-target -max_len), MERGE (default 1; 0: do not merge the
# grown corpus back into tests/fuzz/corpus/), FUZZ_KNOWN_BUGS (checks of the
# targets that are skipped because their finding is known and not fixed yet;
# default empty: no finding is open; see tests/fuzz/README.md).
#
# Each target starts from its committed corpus tests/fuzz/corpus/<target>/
# plus the seeds the build generates in $BUILD/fuzz-seeds/<target>/; what it
# finds new goes to $BUILD/fuzz-corpus/<target>/. At the end of the run the
# committed corpus and the new inputs are merged (-merge=1, into a fresh
# directory that holds the seeds, so that only what adds to the seeds is kept)
# into a minimal set, files over 256 KB left out and at most 2 MB per target
# (the largest inputs go first), which replaces tests/fuzz/corpus/<target>/:
# the next run resumes there.
# Crashes, timeouts and out-of-memory inputs go to $BUILD/fuzz-artifacts/<target>/;
# the log of a run is $BUILD/fuzz-logs/<target>-<time>.log (merge: .merge.log);
# one line per run (time, target, seconds, CPU seconds, executions, cov, ft,
# corpus files and bytes, artifacts) is appended to $BUILD/fuzz-logs/runs.tsv.
# Exit status 1 if any target found something.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-stream vmdesc xbzrle checker lzop wrappers qcow2 diff layout}
build=${BUILD:-build-fuzz}
jobs=${JOBS:-1}
merge=${MERGE:-1}
FUZZ_KNOWN_BUGS=${FUZZ_KNOWN_BUGS-}
export FUZZ_KNOWN_BUGS
committed_root=tests/fuzz/corpus
max_file=262144    # bytes: larger inputs are not committed
max_total=2097152  # bytes per target committed: the largest inputs go first

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGSCOPE_FUZZ=ON -DMIGSCOPE_BUILD_TESTS=OFF -DMIGSCOPE_BUILD_BENCH=OFF
fi
fuzz_bins="" ; for t in $targets; do fuzz_bins="$fuzz_bins fuzz_$t"; done
# Two fuzz.sh at once (one per core, each its own targets) must not rebuild the
# same tree together: the seed generation of one removed the other's
# directory (2026-12-07). The build takes a lock; the runs do not.
# shellcheck disable=SC2086
if command -v flock >/dev/null; then
  flock "$build/.fuzz-build.lock" ninja -j "${NINJA_JOBS:-$(nproc)}" -C "$build" $fuzz_bins fuzz_seeds
else
  ninja -j "${NINJA_JOBS:-$(nproc)}" -C "$build" $fuzz_bins fuzz_seeds
fi

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
    qcow2) echo 1048576 ;;    # the real zstd image (832 KiB) fits; the rebuilt ones are a few KB
    diff) echo 262144 ;;      # two state documents of a few sections each
    layout) echo 65536 ;;     # the facts of a stream are a few KB of text
    *) echo 1048576 ;;
  esac
}
dir_files() { find "$1" -type f 2>/dev/null | wc -l | tr -d ' '; }
dir_bytes() { find "$1" -type f -exec cat {} + 2>/dev/null | wc -c | tr -d ' '; }

run_one() {
  t=$1
  bin=$(find_bin "$t")
  seeds=$build/fuzz-seeds/$t
  work=$build/fuzz-corpus/$t
  committed=$committed_root/$t
  artifacts=$build/fuzz-artifacts/$t
  mkdir -p "$work" "$committed" "$seeds" "$artifacts" "$build/fuzz-logs"
  stamp=$(date -u +%Y%m%dT%H%M%S)
  log=$build/fuzz-logs/$t-$stamp.log
  len=$(max_len "$t")
  echo "fuzz_$t: $seconds s, log $log"
  # -rss_limit_mb: the streams are mapped, not copied; 2 GiB is a generous bound.
  start=$(date +%s)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%U %S' -o "$log.cpu" "$bin" "$work" "$committed" "$seeds" -max_total_time="$seconds" \
      -max_len="$len" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      >"$log" 2>&1 || true
  else
    "$bin" "$work" "$committed" "$seeds" -max_total_time="$seconds" -max_len="$len" -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || true
  fi
  wall=$(( $(date +%s) - start ))
  cpu=$wall
  if [ -s "$log.cpu" ]; then
    cpu=$(awk 'END { if (NF >= 2) printf "%d", $(NF-1) + $NF }' "$log.cpu")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | sed 's/ft: //')

  if [ "$merge" = 1 ]; then
    # A minimal corpus into a fresh directory that starts with a copy of the
    # seeds (their features count as had, so only inputs that add to them are
    # taken); the copies are then removed, and so are files over max_file,
    # then the largest ones until the corpus fits in max_total. It replaces
    # the committed one only if the merge ran through.
    fresh=$build/fuzz-merge/$t
    rm -rf "$fresh" && mkdir -p "$fresh"
    find "$seeds" -type f -exec cp {} "$fresh/" \;
    (cd "$fresh" && find . -type f | sed 's|^\./||') >"$fresh.seeds"
    if "$bin" -merge=1 -max_len="$len" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/" "$fresh" "$committed" "$work" \
      >"$log.merge.log" 2>&1; then
      while read -r f; do rm -f "$fresh/$f"; done <"$fresh.seeds"
      find "$fresh" -type f -size +"$((max_file / 1024))"k -exec rm -f {} +
      total=0
      # shellcheck disable=SC2012  # (libFuzzer names its files by their SHA-1)
      ls -Sr "$fresh" | while read -r f; do
        total=$((total + $(wc -c <"$fresh/$f")))
        if [ "$total" -gt "$max_total" ]; then rm -f "$fresh/$f"; fi
      done
      rm -rf "$committed.old" && mv "$committed" "$committed.old" && mv "$fresh" "$committed" && rm -rf "$committed.old"
    else
      echo "fuzz_$t: merge failed (see $log.merge.log); $committed left as it was" >&2
    fi
    rm -f "$fresh.seeds"
  fi
  files=$(dir_files "$committed")
  bytes=$(dir_bytes "$committed")
  found=$(dir_files "$artifacts")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$t" "$wall" "$cpu" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$files" "$bytes" "$found" >>"$build/fuzz-logs/runs.tsv"
  echo "fuzz_$t: ${execs:-?} executions in ${cpu} CPU s, cov ${cov:-?} ft ${ft:-?}, corpus $files files $bytes bytes," \
    "$found artifact(s) in $artifacts"
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
