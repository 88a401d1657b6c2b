#!/usr/bin/env bash
# Time migscope on wrapped inputs (libvirt save images, whole-file compressed
# streams, qcow2 internal snapshots) against each input's natural peer, and
# print a markdown table (median wall time of N round-robin runs, min–max,
# peak RSS, time ratio against the peer with the issue-11 targets).
#
#   scripts/bench-wrapped.sh FILE... [--stream BIG.mig] [--runs N] [--ops LIST]
#                    [--threads N] [--snapshot ID|NAME] [--build DIR]
#                    [--workdir DIR] [--tmpdir DIR] [--json FILE] [--recache]
#
# FILEs: what bench/make-big-wrapped.sh makes (OUTDIR/big-*.save,
# big-dump.mig.zst, big-snap.qcow2), or any such input; the kind is read from
# the file (libvirt header and its format field, compression magic, qcow2
# magic, a plain QEMU stream). --stream BIG.mig adds the bare stream as one
# more input and gives the GB/s column (stream bytes / median time).
# Peers (the decompressor alone on the payload bytes, writing to /dev/null):
#   libvirt save, format F   PROG -dc reading the file from 92 + data_len
#   compressed stream        PROG -dc FILE
#   libvirt save, raw        cat of the payload;  qcow2: cat IMAGE;  plain: cat
# The peer reads from a descriptor seeked to the payload (dd skip=N count=0,
# an lseek, outside the timed region): no extra copy through a pipe.
# Rows per input: the peer, then migscope info|state|hash -jN|extract -jN
# (--ops, default info,state,hash,extract; qcow2 with --snapshot, default the
# first snapshot that has a VM state).
# Targets (issue 11): compressed inputs: info, state <= 1.1x the peer's time,
# hash, extract <= 1.25x; qcow2 info --snapshot <= 1.2x cat IMAGE; peak RSS
# <= 100 MiB. Rows without a target show the ratio only.
# Inputs are measured one after another (several 2-3 GB inputs do not fit in the
# page cache together): each is read with cat first (--recache: dropped from the
# cache first, then read, so it sits in large folios as a file read from disk),
# then --runs rounds, every row once per round. Every run is preceded by `sync`
# outside the timed region (migscope spools compressed inputs into $TMPDIR;
# extract writes into a fresh directory under --workdir, default next to the
# input, deleted after the run). --tmpdir sets TMPDIR for migscope (default: as
# found). Wall time from bash's EPOCHREALTIME, peak RSS from GNU time (%M).
set -euo pipefail

usage() { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

declare -a files=()
stream="" runs=3 ops="info,state,hash,extract" threads="" snapshot="" build="" workdir="" tmpdir="" json="" recache=0
while [ $# -gt 0 ]; do
  case "$1" in
    --stream) stream=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --snapshot) snapshot=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --tmpdir) tmpdir=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --recache) recache=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "bench-wrapped.sh: unknown option $1" >&2; usage 2 ;;
    *) files+=("$1"); shift ;;
  esac
done
[ -z "$stream" ] || files=("$stream" "${files[@]}")
[ "${#files[@]}" -gt 0 ] || usage 2
for f in "${files[@]}"; do [ -f "$f" ] || { echo "bench-wrapped.sh: $f: no such file" >&2; exit 2; }; done
threads=${threads:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${build:-$root/build}
migscope=$build/tools/migscope
[ -x "$migscope" ] || { echo "bench-wrapped.sh: $migscope not built (bash scripts/build.sh)" >&2; exit 2; }
if [ ! -x /usr/bin/time ]; then
  echo "bench-wrapped.sh: installing GNU time" >&2
  apt-get install -y time >/dev/null
fi
[ -z "$tmpdir" ] || { mkdir -p "$tmpdir"; export TMPDIR=$tmpdir; }
spooldir=${TMPDIR:-/tmp}
stream_size=""; [ -z "$stream" ] || stream_size=$(stat -c %s "$stream")

# ---- what each input is: kind, compression, payload offset ----
hexat() { od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'; }
u32at() { # file offset byte-order(le|be)
  local h; h=$(hexat "$1" "$2" 4)
  if [ "$3" = le ]; then echo $((16#${h:6:2}${h:4:2}${h:2:2}${h:0:2})); else echo $((16#$h)); fi; }
magic_comp() { # the compression whose magic starts at offset $2, or ""
  local h; h=$(hexat "$1" "$2" 9)
  case $h in
    1f8b*) echo gzip ;; 425a68*) echo bzip2 ;; fd377a585a00*) echo xz ;; 28b52ffd*) echo zstd ;;
    894c5a4f000d0a1a0a) echo lzop ;; 5?2a4d18*) echo zstd ;; *) echo "" ;;
  esac; }
probe() { # -> "kind comp offset"
  local f=$1 h bo fmt dl
  h=$(hexat "$f" 0 16)
  if [ "$h" = "$(printf LibvirtQemudSave | od -An -tx1 | tr -d ' \n')" ]; then
    bo=le; [ "$(u32at "$f" 16 le)" -le 2 ] || bo=be
    fmt=$(u32at "$f" 28 $bo); dl=$(u32at "$f" 20 $bo)
    case $fmt in 0) echo "libvirt raw $((92 + dl))" ;; 1) echo "libvirt gzip $((92 + dl))" ;;
      2) echo "libvirt bzip2 $((92 + dl))" ;; 3) echo "libvirt xz $((92 + dl))" ;; 4) echo "libvirt lzop $((92 + dl))" ;;
      5) echo "libvirt zstd $((92 + dl))" ;; 6) echo "libvirt sparse 0" ;; *) echo "libvirt unknown 0" ;; esac
  elif [ "${h:0:8}" = 514649fb ]; then echo "qcow2 none 0"
  elif [ "${h:0:8}" = 5145564d ]; then echo "plain none 0"
  else local c; c=$(magic_comp "$f" 0); [ -n "$c" ] && echo "compressed $c 0" || echo "unknown none 0"; fi; }

declare -a kind comp off label snap
for i in "${!files[@]}"; do
  files[$i]=$(realpath "${files[$i]}")
  read -r kind[$i] comp[$i] off[$i] < <(probe "${files[$i]}")
  case ${kind[$i]}:${comp[$i]} in
    libvirt:raw|libvirt:gzip|libvirt:bzip2|libvirt:xz|libvirt:lzop|libvirt:zstd|compressed:*|qcow2:*|plain:*) ;;
    *) echo "bench-wrapped.sh: ${files[$i]}: ${kind[$i]} ${comp[$i]}: not measured here" >&2; exit 2 ;;
  esac
  if [ "${kind[$i]}" = libvirt ] && [ "${comp[$i]}" != raw ]; then
    c=$(magic_comp "${files[$i]}" "${off[$i]}")
    [ "$c" = "${comp[$i]}" ] || { echo "bench-wrapped.sh: ${files[$i]}: header says ${comp[$i]}, payload is '${c:-unknown}'" >&2; exit 2; }
  fi
  snap[$i]=""
  if [ "${kind[$i]}" = qcow2 ]; then
    snap[$i]=${snapshot:-$("$migscope" snapshots --json "${files[$i]}" | python3 -c '
import json, sys
print(next(s["name"] or s["id"] for s in json.load(sys.stdin)["snapshots"] if s["vm_state_size"]))')}
  fi
  case ${kind[$i]} in
    libvirt) label[$i]="libvirt save, ${comp[$i]}" ;; compressed) label[$i]="bare ${comp[$i]} stream" ;;
    qcow2) label[$i]="qcow2 snapshot ${snap[$i]}" ;; plain) label[$i]="bare stream" ;;
  esac
done

peer_cmd() { # the peer's command line for input $1, as shown in the table
  local i=$1
  case ${kind[$i]}:${comp[$i]} in
    libvirt:raw) echo "cat (payload from ${off[$i]})" ;;
    libvirt:*) echo "${comp[$i]} -dc (payload from ${off[$i]})" ;;
    compressed:*) echo "${comp[$i]} -dc FILE" ;;
    qcow2:*|plain:*) echo "cat FILE" ;;
  esac; }

workroot=${workdir:-}
declare -a modes=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/.migscope-bench-wrapped.XXXXXX")
outs=()
cleanup() { rm -rf "$tmp"; for o in "${outs[@]}"; do rm -rf "$o"; done; }
trap cleanup EXIT; trap 'exit 130' INT TERM
mkdir "$tmp/times"

# One timed run of mode $2 on input $1: appends "wall_seconds peak_rss_kib" to times/$1.$2.
run_once() {
  local i=$1 m=$2 f=${files[$1]} tf="$tmp/gnutime" t0 t1 out sarg=()
  [ -z "${snap[$i]}" ] || sarg=(--snapshot "${snap[$i]}")
  out="${workroot:-$(dirname "$f")}/.migscope-bench-wrapped-out.$$"
  case $m in extract) rm -rf "$out"; mkdir "$out"; outs=("$out") ;; esac
  sync
  case $m in
    peer)
      exec 3<"$f"
      dd iflag=skip_bytes skip="${off[$i]}" count=0 status=none <&3
      t0=$EPOCHREALTIME
      case ${comp[$i]} in
        none|raw) /usr/bin/time -o "$tf" -f '%e %M' cat <&3 >/dev/null ;;
        *) /usr/bin/time -o "$tf" -f '%e %M' "${comp[$i]}" -dc <&3 >/dev/null ;;
      esac
      t1=$EPOCHREALTIME
      exec 3<&- ;;
    *)
      t0=$EPOCHREALTIME
      case $m in
        info) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" info "$f" "${sarg[@]}" >/dev/null ;;
        state) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" state "$f" "${sarg[@]}" >/dev/null ;;
        hash) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" hash -j "$threads" "$f" "${sarg[@]}" >/dev/null ;;
        extract) /usr/bin/time -o "$tf" -f '%e %M' "$migscope" extract -j "$threads" "$f" "${sarg[@]}" -o "$out/x" >/dev/null ;;
      esac
      t1=$EPOCHREALTIME ;;
  esac
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}') $(awk '{print $2}' "$tf" | tail -1)" >>"$tmp/times/$i.$m"
  case $m in extract) rm -rf "$out"; outs=() ;; esac
}

declare -a rowmodes=(peer)
for o in ${ops//,/ }; do
  case $o in info|state|hash|extract) rowmodes+=("$o") ;; *) echo "bench-wrapped.sh: unknown op $o" >&2; exit 2 ;; esac
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in "${!files[@]}"; do
  f=${files[$i]}
  echo "# input $((i + 1))/${#files[@]}: $f (${label[$i]}, $(stat -c %s "$f") bytes)" >&2
  if [ "$recache" = 1 ]; then dd if="$f" iflag=nocache count=0 status=none; fi
  cat "$f" >/dev/null
  for ((r = 1; r <= runs; r++)); do
    for m in "${rowmodes[@]}"; do
      echo "#   round $r/$runs: $m" >&2
      run_once "$i" "$m"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- statistics ----
stats() { sort -g -k1,1 "$tmp/times/$1" | awk '{w[NR]=$1; r[NR]=$2} END {
  n=NR; m=(n%2)?w[(n+1)/2]:(w[n/2]+w[n/2+1])/2; maxr=0; for(i=1;i<=n;i++) if(r[i]>maxr) maxr=r[i];
  printf "%.4f %.4f %.4f %d %d\n", m, w[1], w[n], maxr, n }'; }
declare -A med rss lo hi
for i in "${!files[@]}"; do
  for m in "${rowmodes[@]}"; do
    read -r md mn mx rs _ < <(stats "$i.$m"); med[$i.$m]=$md; rss[$i.$m]=$rs; lo[$i.$m]=$mn; hi[$i.$m]=$mx
  done
done
plain=""; for i in "${!files[@]}"; do [ "${kind[$i]}" != plain ] || { plain=$i; break; }; done

tratio() { awk -v a="${med[$1]}" -v b="${med[$2]}" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "–" }'; }
target() { # input mode -> the issue-11 bound on time/peer, or ""
  case ${kind[$1]}:${comp[$1]}:$2 in
    libvirt:raw:*|plain:*) echo "" ;;
    libvirt:*:info|libvirt:*:state|compressed:*:info|compressed:*:state) echo 1.1 ;;
    libvirt:*:hash|libvirt:*:extract|compressed:*:hash|compressed:*:extract) echo 1.25 ;;
    qcow2:*:info) echo 1.2 ;;
    *) echo "" ;;
  esac; }
compare() { # input mode -> the ratio cell
  local i=$1 m=$2 r t parts=()
  [ "$m" != peer ] || { echo ""; return; }
  r=$(tratio "$i.$m" "$i.peer"); t=$(target "$i" "$m")
  if [ -n "$t" ]; then parts+=("$r× peer (≤$t $(awk -v r="$r" -v t="$t" 'BEGIN{print (r<=t) ? "✓" : "✗"}'))")
  else parts+=("$r× peer"); fi
  if [ -n "$plain" ] && [ "$i" != "$plain" ] && [ -n "${med[$plain.$m]:-}" ]; then
    parts+=("$(tratio "$i.$m" "$plain.$m")× bare stream")
  fi
  local IFS=';'; echo "${parts[*]}" | sed 's/;/; /g'; }
cmdname() { # input mode
  local i=$1 s=""; [ -z "${snap[$i]}" ] || s=" --snapshot ${snap[$i]}"
  case $2 in
    peer) echo "\`$(peer_cmd "$i")\`" ;;
    info|state) echo "\`migscope $2$s\`" ;;
    hash|extract) echo "\`migscope $2 -j$threads$s\`" ;;
  esac; }

host_cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
{
  echo "Inputs: $(for i in "${!files[@]}"; do printf '`%s` (%s, %.2f GB); ' "$(basename "${files[$i]}")" "${label[$i]}" "$(awk -v s="$(stat -c %s "${files[$i]}")" 'BEGIN{print s/1e9}')"; done | sed 's/; $//')"
  [ -z "$stream" ] || echo "Stream: \`$stream\` ($stream_size bytes); GB/s = stream bytes / median"
  echo "Machine: $(nproc) × $host_cpu, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; $("$migscope" --version); spool TMPDIR=$spooldir ($(stat -f -c %T "$spooldir"))"
  echo "Hot page cache ($( [ "$recache" = 1 ] && echo "re-read from disk: --recache" || echo "as found")), one input at a time; median of $runs round-robin runs; load average before $load_before, after $load_after"
  echo
  echo "| input | command | median s (min–max) | GB/s of stream | peak RSS MiB | time ÷ peer's (target) |"
  echo "|---|---|---|---|---|---|"
  for i in "${!files[@]}"; do
    for m in "${rowmodes[@]}"; do
      gbs="–"; [ -z "$stream_size" ] || gbs=$(awk -v s="$stream_size" -v t="${med[$i.$m]}" 'BEGIN{ if (t>0) printf "%.2f", s/t/1e9; else print "–" }')
      mib=$(awk -v k="${rss[$i.$m]}" 'BEGIN{printf "%.1f", k/1024}')
      rss_ok=""; [ "$m" = peer ] || rss_ok=" $(awk -v k="${rss[$i.$m]}" 'BEGIN{print (k<=102400) ? "✓" : "✗"}')"
      inp=""; [ "$m" != peer ] || inp="${label[$i]}"
      printf '| %s | %s | %.3f (%.3f–%.3f) | %s | %s%s | %s |\n' "$inp" "$(cmdname "$i" "$m")" "${med[$i.$m]}" "${lo[$i.$m]}" "${hi[$i.$m]}" "$gbs" "$mib" "$rss_ok" "$(compare "$i" "$m")"
    done
  done
  echo
  echo "Targets (issue 11): on compressed inputs info and state within 1.1× of the decompressor alone on the payload, hash and extract within 1.25×; qcow2 \`info --snapshot\` within 1.2× of \`cat IMAGE\`; peak RSS ≤ 100 MiB. Raw saves and the bare stream: ratios only."
} | tee "$tmp/table.md"

if [ -n "$json" ]; then
  {
    echo "{\"runs\": $runs, \"threads\": $threads, \"tmpdir\": \"$spooldir\", \"recache\": $recache, \"stream_size\": ${stream_size:-null}, \"load_before\": \"$load_before\", \"load_after\": \"$load_after\", \"inputs\": ["
    for i in "${!files[@]}"; do
      [ "$i" = 0 ] || echo ","
      printf '  {"file": "%s", "kind": "%s", "compression": "%s", "payload_offset": %s, "size": %s, "snapshot": "%s", "peer": "%s", "modes": {' \
        "${files[$i]}" "${kind[$i]}" "${comp[$i]}" "${off[$i]}" "$(stat -c %s "${files[$i]}")" "${snap[$i]}" "$(peer_cmd "$i")"
      first=1
      for m in "${rowmodes[@]}"; do
        [ $first = 1 ] || printf ','; first=0
        printf '\n    "%s": {"median_s": %s, "min_s": %s, "max_s": %s, "peak_rss_kib": %s, "runs": [%s]}' "$m" "${med[$i.$m]}" "${lo[$i.$m]}" "${hi[$i.$m]}" "${rss[$i.$m]}" \
          "$(awk '{printf "%s[%s, %s]", (NR>1?", ":""), $1, $2}' "$tmp/times/$i.$m")"
      done
      printf '}}'
    done
    echo; echo "]}"
  } >"$json"
fi
