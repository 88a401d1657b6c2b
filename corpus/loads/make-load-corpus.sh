#!/usr/bin/env bash
# Regenerate migscope's corpus of real "does this stream load?" outcomes (corpus/loads/).
#
#   corpus/loads/make-load-corpus.sh [--sid]
#
# Destination: the host's QEMU 7.2 (Debian bookworm qemu-system-x86_64, TCG), always.
#  1. dests/MACHINE.vmstate.json.xz: `qemu-system-x86_64 -M MACHINE -dump-vmstate` for every
#     machine type named in dests.tsv (column 3).
#  2. dests/NAME.mig.xz: a stream made by each destination configuration itself (its
#     arguments from dests.tsv, paused, capabilities of column 4 set, migrate to exec:cat).
#  3. outcomes.jsonl: every (source, dest) pair of cases.tsv, loaded by load-one.py
#     (-incoming defer, capabilities of the dest, migrate-incoming exec:cat STREAM, poll
#     query-migrate).
#  4. The outcome table in README.md (between the "outcomes:" markers).
# Sources are the committed streams corpus/streams/*.mig.xz, corpus/streams-10.0/*.mig.xz and
# corpus/loads/sources/*.mig.xz (QEMU 11.1). --sid additionally remakes the latter from a
# Debian sid chroot (/srv/sid, as in sources.tsv; see README.md), per sources.tsv.
# Work directory: /tmp/loads-work (LOADS_WORK=...), removed and recreated; the path appears
# as $WORK in dests.tsv, sources.tsv and recorded stderr lines. At most one QEMU runs at a time.
# Needs: qemu-system-x86_64 7.2, python3, xz.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(dirname "$HERE")
WORK=${LOADS_WORK:-/tmp/loads-work}
SID_ROOT=/srv/sid   # fixed: sources.tsv names it
DOSID=0
while [ $# -gt 0 ]; do
    case "$1" in
        --sid) DOSID=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
QEMU=qemu-system-x86_64
QMP="$CORPUS/vmcore/qmp.py"

rm -rf "$WORK"
mkdir -p "$WORK/src" "$WORK/dests" "$WORK/cases" "$HERE/dests"
truncate -s 16M "$WORK/shared.ram"
truncate -s 1M "$WORK/disk.raw"
QMPSOCK="$WORK/qmp.sock"

# words of an argument column, with $WORK expanded (no argument contains a space)
args_of() { local s=${1//\$WORK/$WORK}; read -ra ARGS <<< "$s"; }

# caps column ("-" or a,b,c) -> JSON list of capability names
caps_json() {
    if [ "$1" = - ]; then echo '[]'; else
        python3 -c 'import json,sys; print(json.dumps(sys.argv[1].split(",")))' "$1"; fi
}

# make_stream OUT CAPS-JSON QEMU-ARGV... : paused QEMU, migrate to exec:cat > OUT
make_stream() {
    local out=$1 caps=$2; shift 2
    rm -f "$QMPSOCK"
    "$@" -chardev socket,id=qmp,path="$QMPSOCK",server=on,wait=off \
        -mon chardev=qmp,mode=control > "$out.log" 2>&1 &
    local pid=$!
    local cmds
    cmds=$(python3 - "$caps" "$out" <<'PY'
import json, sys
caps, out = json.loads(sys.argv[1]), sys.argv[2]
# postcopy-ram on the sending side needs a return path, which exec: lacks (the migration
# never completes), so the destination stream of a postcopy-ram destination is made without it
caps = [x for x in caps if x != "postcopy-ram"]
c = []
if caps:
    c.append(["migrate-set-capabilities",
              {"capabilities": [{"capability": x, "state": True} for x in caps]}])
if "compress" in caps:
    c.append(["migrate-set-parameters", {"compress-threads": 1}])
c += [["migrate", {"uri": "exec:cat > " + out}], ["wait-migrate"]]
print(json.dumps(c))
PY
)
    if ! python3 "$QMP" "$QMPSOCK" "$cmds"; then
        kill "$pid" 2>/dev/null || true; wait "$pid" || true
        cat "$out.log" >&2; echo "stream $out failed" >&2; return 1
    fi
    wait "$pid" || true
}

# ---- optional: QEMU 11.1 sources from a sid chroot
if [ "$DOSID" = 1 ]; then
    mkdir -p "$HERE/sources" "$SID_ROOT$WORK"
    mountpoint -q "$SID_ROOT/proc" || mount -t proc proc "$SID_ROOT/proc"
    chroot "$SID_ROOT" qemu-system-x86_64 --version | head -1 > "$HERE/sources/QEMU-VERSION"
    tail -n +2 "$HERE/sources.tsv" | while IFS=$'\t' read -r name cmd qmp; do
        # run inside the chroot: the stream file and socket are under $SID_ROOT$WORK
        s=${cmd//\$WORK/$WORK}; read -ra A <<< "$s"
        rm -f "$SID_ROOT$WORK/$name.mig"
        out="$WORK/$name.mig"; sock="$SID_ROOT$WORK/qmp.sock"; rm -f "$sock"
        "${A[@]}" -chardev socket,id=qmp,path="$WORK/qmp.sock",server=on,wait=off \
            -mon chardev=qmp,mode=control > "$WORK/$name.sid.log" 2>&1 &
        pid=$!
        python3 "$QMP" "$sock" "${qmp//@OUT@/$out}"
        wait "$pid" || true
        xz -9e -T1 -c "$SID_ROOT$out" > "$HERE/sources/$name.mig.xz"
    done
    umount "$SID_ROOT/proc" || true
fi

# ---- sources
tail -n +2 "$HERE/cases.tsv" | cut -f1 | sort -u | while read -r src; do
    case "$src" in
        sources/*) f="$HERE/$src.mig.xz" ;;
        *) f="$CORPUS/$src.mig.xz" ;;
    esac
    mkdir -p "$WORK/src/$(dirname "$src")"
    xz -dc "$f" > "$WORK/src/$src.mig"
done

# ---- destinations: vmstate dumps and destination streams
"$QEMU" --version | head -1 > "$HERE/dests/QEMU-VERSION"
rm -f "$HERE"/dests/*.vmstate.json.xz "$HERE"/dests/*.mig.xz
tail -n +2 "$HERE/dests.tsv" | while IFS=$'\t' read -r name args vmstate caps; do
    if [ ! -e "$HERE/dests/$vmstate.vmstate.json.xz" ]; then
        echo "vmstate $vmstate" >&2
        "$QEMU" -nodefaults -display none -M "$vmstate" -dump-vmstate "$WORK/dests/$vmstate.json"
        xz -9e -T1 -c "$WORK/dests/$vmstate.json" > "$HERE/dests/$vmstate.vmstate.json.xz"
    fi
    echo "dest stream $name" >&2
    args_of "$args"
    make_stream "$WORK/dests/$name.mig" "$(caps_json "$caps")" "$QEMU" "${ARGS[@]}" < /dev/null
    xz -9e -T1 -c "$WORK/dests/$name.mig" > "$HERE/dests/$name.mig.xz"
done

# ---- outcomes (load-one.py records every outcome, even a failed load, so it exits 0)
: > "$WORK/outcomes.jsonl"
n=0
tail -n +2 "$HERE/cases.tsv" | while IFS=$'\t' read -r src dest why; do
    n=$((n + 1))
    line=$(awk -F'\t' -v d="$dest" '$1 == d' "$HERE/dests.tsv")
    [ -n "$line" ] || { echo "unknown dest $dest" >&2; exit 1; }
    IFS=$'\t' read -r _ args _ caps <<< "$line"
    args_of "$args"
    echo "load $src -> $dest" >&2
    python3 "$HERE/load-one.py" --source "$src" --dest "$dest" --caps "$(caps_json "$caps")" \
        --stream "$WORK/src/$src.mig" --stderr "$WORK/cases/$n.stderr" \
        --sock "$QMPSOCK" --work "$WORK" -- "$QEMU" "${ARGS[@]}" \
        < /dev/null >> "$WORK/outcomes.jsonl"
done
cp "$WORK/outcomes.jsonl" "$HERE/outcomes.jsonl"

# ---- README table
python3 - "$HERE" <<'PY'
import json, re, sys
here = sys.argv[1]
why = {}
with open(here + '/cases.tsv') as f:
    next(f)
    for l in f:
        s, d, w = l.rstrip('\n').split('\t')
        why[(s, d)] = w
rows = ['| source | dest | why | loaded | status (exit code) | first error line (failed) / first stderr line (loaded) |', '|---|---|---|---|---|---|']
for l in open(here + '/outcomes.jsonl'):
    o = json.loads(l)
    # failed: the first line that is neither a warning nor block migration's progress output;
    # loaded: the first stderr line, if any (a warning)
    skip = re.compile(r'warning:|^Receiving block device images$|^Completed \d+ %$')
    err = next((e for e in o['errors'] if not skip.search(e)), '') if not o['loaded'] \
        else (o['errors'][0] if o['errors'] else '')
    st = o['status'] + ('' if o['exit_code'] is None else ' (%d)' % o['exit_code'])
    rows.append('| `%s` | `%s` | %s | %s | %s | %s |' % (
        o['source'], o['dest'], why[(o['source'], o['dest'])],
        '**yes**' if o['loaded'] else 'no', st,
        ('`%s`' % err.replace('|', '\\|')) if err else ''))
p = here + '/README.md'
t = open(p).read()
a, b = '<!-- outcomes: begin -->\n', '<!-- outcomes: end -->'
i, j = t.index(a) + len(a), t.index(b)
open(p, 'w').write(t[:i] + '\n'.join(rows) + '\n' + t[j:])
PY
echo "done: $(wc -l < "$HERE/outcomes.jsonl") outcomes" >&2
