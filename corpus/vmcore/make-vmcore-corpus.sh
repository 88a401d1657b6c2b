#!/usr/bin/env bash
# Make the QEMU 7.2 streams of the vmcore corpus (corpus/vmcore/NAME.mig.xz + manifest.tsv).
#
#   corpus/vmcore/make-vmcore-corpus.sh [--only NAME]... [--keep-work] [--no-xz]
#
# Five x86_64 streams whose guest ran its firmware (SeaBIOS) for ~2 s before being stopped
# and migrated, so the PAM/SMRAM registers are what SeaBIOS leaves:
#   x86_64-pc-7.2-3584m        pc-i440fx-7.2, 3584 MiB (RAM straddles the PCI hole)
#   x86_64-q35-7.2-3g          pc-q35-7.2, 3072 MiB (RAM straddles the PCI hole)
#   x86_64-pc-7.2-below4g-2g   pc-i440fx-7.2,max-ram-below-4g=2G, 3 GiB
#   x86_64-pc-7.2-vga          pc-i440fx-7.2, 64 MiB, -device VGA
#   x86_64-q35-7.2-booted      pc-q35-7.2, 64 MiB
# The three big guests get their RAM from a memory-backend-file (id pc.ram, so the RAM block
# is still named pc.ram; share=off, so the image is never written) over a sparse image made by
# gen-ram-image.py: a distinct page every MiB, marker pages at each GiB edge and at the end.
# Every QEMU is driven over QMP (qmp.py): cont, sleep 2, stop, migrate "exec:cat > FILE".
# Needs: qemu-system-x86_64 7.2, python3, xz. Takes about a minute.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KEEP=0 XZ=1
ONLY=() FAILS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) ONLY+=("$2"); shift ;;
        --keep-work) KEEP=1 ;;
        --no-xz) XZ=0 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

WORK=$(mktemp -d /tmp/migscope-vmcore.XXXXXX)
cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
    if [ "$KEEP" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

want() {
    [ ${#ONLY[@]} -eq 0 ] && return 0
    local n; for n in "${ONLY[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

# command line for the manifest, work dir shown as $WORK (same quoting as make-corpus.sh)
show() {
    local a out=""
    for a in "$@"; do
        a=${a//$WORK/\$WORK}
        case "$a" in *[\ \"\'\>\<\|\;\&\$\*]*) out+=" '$a'" ;; *) out+=" $a" ;; esac
    done
    printf '%s' "${out# }"
}

manifest_add() {   # NAME QMPJSON CMD...
    local name=$1 qmpj=$2; shift 2
    local mf="$HERE/manifest.tsv"
    [ -f "$mf" ] || printf 'name\tcommand\tqmp\n' > "$mf"
    grep -v "^$name	" "$mf" > "$mf.tmp" || true
    printf '%s\t%s\t%s\n' "$name" "$(show "$@")" "${qmpj//$WORK/\$WORK}" >> "$mf.tmp"
    { head -n1 "$mf.tmp"; tail -n +2 "$mf.tmp" | sort; } > "$mf"
    rm -f "$mf.tmp"
}

# mig NAME QMPJSON -- QEMU ARGS...   (@OUT@ in QMPJSON = the output file)
mig() {
    local name=$1 qmpj=$2; shift 2; [ "$1" = -- ] && shift
    want "$name" || return 0
    local out="$WORK/$name.mig" sock="$WORK/$name.qmp"
    rm -f "$out"
    local t0=$SECONDS rc=0
    "$@" -chardev "socket,id=qmp,path=$sock,server=on,wait=off" -mon chardev=qmp,mode=control \
        > "$WORK/$name.log" 2>&1 & local qpid=$!
    timeout 600 python3 "$HERE/qmp.py" "$sock" "${qmpj//@OUT@/$out}" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "FAILED: $name (log follows)" >&2; cat "$WORK/$name.log" >&2
        kill "$qpid" 2>/dev/null || true; wait "$qpid" || true
        FAILS+=("$name"); return 0
    fi
    wait "$qpid" || true
    manifest_add "$name" "$qmpj" "$@"
    rm -f "$HERE/$name.mig" "$HERE/$name.mig.xz"
    if [ "$XZ" = 1 ]; then
        xz -9 -T1 -c "$out" > "$HERE/$name.mig.xz"
        printf '  %-28s %10d bytes raw, %8d bytes xz, %3d s\n' "$name" "$(stat -c %s "$out")" \
            "$(stat -c %s "$HERE/$name.mig.xz")" $((SECONDS - t0))
    else
        cp "$out" "$HERE/$name.mig"
        printf '  %-28s %10d bytes raw\n' "$name" "$(stat -c %s "$out")"
    fi
    rm -f "$out"
}

X86=qemu-system-x86_64
echo "vmcore streams -> $HERE ($($X86 --version | head -1))"
COMMON=(-nodefaults -display none -rtc base=2024-01-01T00:00:00,clock=vm)
# let SeaBIOS run (it finds no boot device and waits), then stop and migrate
BOOTED='[["cont"],["sleep",2],["stop"],["migrate-set-parameters",{"max-bandwidth":107374182400}],["migrate",{"uri":"exec:cat > @OUT@"}],["wait-migrate"]]'

# big(NAME SIZE_MIB MACHINE): RAM from a sparse patterned image through memory-backend-file
big() {
    local name=$1 mib=$2 machine=$3
    want "$name" || return 0
    python3 "$HERE/gen-ram-image.py" "$mib" "$WORK/$name.img" > /dev/null
    mig "$name" "$BOOTED" -- $X86 "${COMMON[@]}" -S -M "$machine,memory-backend=pc.ram" -accel tcg \
        -m "$mib" -object "memory-backend-file,id=pc.ram,size=${mib}M,mem-path=$WORK/$name.img,share=off"
    rm -f "$WORK/$name.img"
}
big x86_64-pc-7.2-3584m 3584 pc-i440fx-7.2
big x86_64-q35-7.2-3g 3072 pc-q35-7.2
big x86_64-pc-7.2-below4g-2g 3072 pc-i440fx-7.2,max-ram-below-4g=2G
mig x86_64-pc-7.2-vga "$BOOTED" -- $X86 "${COMMON[@]}" -S -M pc-i440fx-7.2 -accel tcg -m 64 -device VGA
mig x86_64-q35-7.2-booted "$BOOTED" -- $X86 "${COMMON[@]}" -S -M pc-q35-7.2 -accel tcg -m 64

if [ ${#FAILS[@]} -gt 0 ]; then echo "failed: ${FAILS[*]}" >&2; exit 1; fi
echo done
