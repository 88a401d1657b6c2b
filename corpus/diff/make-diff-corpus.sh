#!/usr/bin/env bash
# Regenerate corpus/diff/: pairs of real QEMU 7.2 migration streams of ONE guest, taken a few
# seconds apart, for testing `migscope diff A B`.
#
#   corpus/diff/make-diff-corpus.sh [--only PAIR]... [--keep-work] [--gap SECONDS]
#
# Pairs (PAIR-1.mig.xz, PAIR-2.mig.xz):
#   running  q35 guest running the boot-sector loop (see corpus/make-corpus.sh): migrate once
#            the guest has written 0x200000, cont, run --gap seconds (default 3), migrate again
#   smp      the same with -smp 2 (the second CPU stays waiting for SIPI)
#   paused   i440fx guest never started (-S) with e1000 + virtio-balloon-pci: migrate,
#            system_reset (postmigrate -> prelaunch, still never run), migrate again
# One QEMU at a time. Each QEMU is driven over QMP by corpus/vmcore/qmp.py (one connection per
# step, "noquit" between steps). After each migration has completed (source in postmigrate,
# i.e. exactly the state that was sent) the script also records the guest's EBX (the loop's
# pass counter) and a pmemsave of guest-physical 0..16 MiB, from which ram-oracle.tsv lists the
# 4 KiB pages whose content differs between the two saves.
#
# Writes manifest.tsv (command line, QMP commands, seconds between saves, cmp results) and
# ram-oracle.tsv. Needs: qemu-system-x86_64 7.2, python3, xz, cmp, as, ld (binutils).
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "$0")" && pwd)
QMP="$HERE/../vmcore/qmp.py"
[ -f "$QMP" ] || { echo "missing $QMP" >&2; exit 1; }
KEEP=0 GAP=3
ONLY=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) ONLY+=("$2"); shift ;;
        --keep-work) KEEP=1 ;;
        --gap) GAP=$2; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

WORK=$(mktemp -d /tmp/migscope-diff.XXXXXX)
QPID=""
cleanup() {
    if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; fi
    if [ "$KEEP" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"  # want, show


# ---------------------------------------------------------------------------------------
# guest: the boot sector of corpus/make-corpus.sh
source "$(dirname "${BASH_SOURCE[0]}")/../boot-sector.sh"  # make_boot_sector

# ---------------------------------------------------------------------------------------
# QMP steps (each one connection to the QEMU's QMP socket)

qmp() {   # qmp JSON-LIST: run the commands, keep QEMU alive
    timeout 300 python3 "$QMP" "$SOCK" "${1%]},[\"noquit\"]]"
}

wait_guest() {   # poll guest-physical dword ADDR until non-zero (the guest's marker)
    local addr=$1 t
    for t in $(seq 600); do
        qmp "[[\"hmp\",\"xp /1wx $addr\",\"$WORK/xp.txt\"]]"
        # "0000000000200000: 0x12345678"
        if [ "$(( $(sed -n 's/.*: *\(0x[0-9a-fA-F]*\).*/\1/p' "$WORK/xp.txt" | head -1) ))" != 0 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "guest never wrote $addr" >&2; return 1
}

snapshot_info() {   # after a completed migration (postmigrate): EBX and guest RAM image
    local tag=$1
    qmp "[[\"hmp\",\"info registers\",\"$WORK/$tag.regs\"],[\"pmemsave\",{\"val\":0,\"size\":16777216,\"filename\":\"$WORK/$tag.ram\"}]]"
    sed -n 's/.*EBX=\([0-9a-f]*\).*/\1/p' "$WORK/$tag.regs" | head -1
}

now() { date +%s.%N; }

start_qemu() {   # start_qemu ARGS...: QEMU with a QMP socket, in the background
    SOCK="$WORK/$PAIR.qmp"
    "$@" -chardev "socket,id=qmp,path=$SOCK,server=on,wait=off" -mon chardev=qmp,mode=control \
        > "$WORK/$PAIR.log" 2>&1 &
    QPID=$!
}

stop_qemu() {
    timeout 60 python3 "$QMP" "$SOCK" '[]' || true     # sends quit
    wait "$QPID" || true
    QPID=""
}

migrate_json() { printf '["migrate",{"uri":"exec:cat > %s"}],["wait-migrate"]' "$1"; }

# ---------------------------------------------------------------------------------------
# bookkeeping

MANI="$HERE/manifest.tsv" ORACLE="$HERE/ram-oracle.tsv"
row_replace() {   # FILE HEADER ROW: replace the row of the same first field, keep sorted
    local f=$1 hdr=$2 row=$3 name=${3%%	*}
    [ -f "$f" ] || printf '%s\n' "$hdr" > "$f"
    { printf '%s\n' "$hdr"; tail -n +2 "$f" | grep -v "^$name	" || true; } > "$f.tmp"
    { head -n1 "$f.tmp"; { tail -n +2 "$f.tmp"; printf '%s\n' "$row"; } | sort; } > "$f"
    rm -f "$f.tmp"
}

ram_pages() {   # ram_pages A B: differing 4 KiB pages of two RAM images, as hex page ranges
    python3 - "$1" "$2" <<'EOF'
import sys
a = open(sys.argv[1], 'rb').read(); b = open(sys.argv[2], 'rb').read()
assert len(a) == len(b)
pages = [p for p in range(len(a) // 4096) if a[p*4096:(p+1)*4096] != b[p*4096:(p+1)*4096]]
out, i = [], 0
while i < len(pages):
    j = i
    while j + 1 < len(pages) and pages[j + 1] == pages[j] + 1: j += 1
    out.append('0x%x' % pages[i] if i == j else '0x%x-0x%x' % (pages[i], pages[j]))
    i = j + 1
print('%d\t%s' % (len(pages), ','.join(out) or '-'))
EOF
}

finish_pair() {   # finish_pair GAP_SECONDS EBX1 EBX2 QMPJSON CMD...
    local gap=$1 e1=$2 e2=$3 qmpj=$4; shift 4
    local m1="$WORK/$PAIR-1.mig" m2="$WORK/$PAIR-2.mig"
    local s1 s2 ndiff first
    s1=$(stat -c %s "$m1"); s2=$(stat -c %s "$m2")
    ndiff=$(cmp -l "$m1" "$m2" 2>/dev/null | wc -l || true)
    first=$(cmp "$m1" "$m2" 2>/dev/null | sed -n 's/.*differ: byte \([0-9]*\).*/\1/p' || true)
    [ -n "$first" ] || first=-
    if [ "$s1" = "$s2" ] && [ "$ndiff" = 0 ]; then first=identical; fi
    local ram; ram=$(ram_pages "$WORK/$PAIR-1.ram" "$WORK/$PAIR-2.ram")
    xz -9 -T1 -c "$m1" > "$HERE/$PAIR-1.mig.xz"
    xz -9 -T1 -c "$m2" > "$HERE/$PAIR-2.mig.xz"
    row_replace "$MANI" "$(printf 'name\tcommand\tqmp\tseconds_between_saves\tsize_1\tsize_2\tcmp_first_diff\tcmp_l_bytes\tguest_ebx_1\tguest_ebx_2')" \
        "$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$PAIR" "$(show "$@")" "${qmpj//$WORK/\$WORK}" \
            "$gap" "$s1" "$s2" "$first" "$ndiff" "${e1:--}" "${e2:--}")"
    row_replace "$ORACLE" "$(printf 'name\tram_sha256_1\tram_sha256_2\tpages_differing\tpage_numbers')" \
        "$(printf '%s\t%s\t%s\t%s' "$PAIR" "$(sha256sum < "$WORK/$PAIR-1.ram" | cut -d' ' -f1)" \
            "$(sha256sum < "$WORK/$PAIR-2.ram" | cut -d' ' -f1)" "$ram")"
    printf '  %-8s sizes %d / %d (xz %d / %d), cmp -l: %s bytes differ (first: %s), gap %s s, EBX %s -> %s, RAM pages differing: %s\n' \
        "$PAIR" "$s1" "$s2" "$(stat -c %s "$HERE/$PAIR-1.mig.xz")" "$(stat -c %s "$HERE/$PAIR-2.mig.xz")" \
        "$ndiff" "$first" "$gap" "${e1:--}" "${e2:--}" "${ram%%	*}"
    cmp -l "$m1" "$m2" 2>/dev/null | head -n 5 | sed 's/^/      /' || true
}

# ---------------------------------------------------------------------------------------
X86=qemu-system-x86_64
COMMON=(-nodefaults -display none -rtc base=2024-01-01T00:00:00,clock=vm)
echo "corpus/diff -> $HERE ($($X86 --version | head -1))"
make_boot_sector

running_pair() {   # running_pair NAME QEMU ARGS...
    PAIR=$1; shift
    want "$PAIR" || return 0
    local m1="$WORK/$PAIR-1.mig" m2="$WORK/$PAIR-2.mig" t1 t2 e1 e2 mj1 mj2
    mj1=$(migrate_json "$m1"); mj2=$(migrate_json "$m2")
    start_qemu "$@"
    qmp '[["migrate-set-parameters",{"max-bandwidth":1073741824}],["cont"]]'
    wait_guest 0x200000
    qmp "[$mj1]"; t1=$(now)
    e1=$(snapshot_info "$PAIR-1")
    qmp "[[\"cont\"],[\"sleep\",$GAP],$mj2]"; t2=$(now)
    e2=$(snapshot_info "$PAIR-2")
    stop_qemu
    [ "$e1" != "$e2" ] || { echo "$PAIR: guest did not run between the saves" >&2; exit 1; }
    local qmpj="[[\"migrate-set-parameters\",{\"max-bandwidth\":1073741824}],[\"cont\"],[\"poll-until-nonzero\",\"xp /1wx 0x200000\"],$(migrate_json '$WORK/'$PAIR'-1.mig'),[\"cont\"],[\"sleep\",$GAP],$(migrate_json '$WORK/'$PAIR'-2.mig')]"
    finish_pair "$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b - a}')" "$e1" "$e2" "$qmpj" "$@"
}

BOOTQ35=($X86 "${COMMON[@]}" -S -M pc-q35-7.2 -accel tcg,thread=single -m 16
         -drive file="$WORK/boot.bin",format=raw,if=ide,index=0)
running_pair running "${BOOTQ35[@]}"
running_pair smp "${BOOTQ35[@]}" -smp 2

paused_pair() {
    PAIR=paused
    want "$PAIR" || return 0
    local m1="$WORK/$PAIR-1.mig" m2="$WORK/$PAIR-2.mig" t1 t2
    local cmd=($X86 "${COMMON[@]}" -S -M pc-i440fx-7.2,accel=tcg -m 16 -device e1000 -device virtio-balloon-pci)
    start_qemu "${cmd[@]}"
    qmp "[$(migrate_json "$m1")]"; t1=$(now)
    snapshot_info "$PAIR-1" > /dev/null
    # QEMU 7.2 refuses to migrate from postmigrate ("Can't migrate the vm that was paused due
    # to previous migration"); system_reset takes a never-started VM back to prelaunch
    # without running it.
    qmp '[["system_reset"]]'
    local t
    for t in $(seq 100); do
        qmp "[[\"status\",\"$WORK/status.txt\"]]"
        [ "$(cat "$WORK/status.txt")" = prelaunch ] && break
        sleep 0.05
    done
    [ "$(cat "$WORK/status.txt")" = prelaunch ] || { echo "paused: not in prelaunch after system_reset" >&2; exit 1; }
    qmp "[$(migrate_json "$m2")]"; t2=$(now)
    snapshot_info "$PAIR-2" > /dev/null
    stop_qemu
    finish_pair "$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b - a}')" "" "" \
        "[$(migrate_json '$WORK/paused-1.mig'),[\"system_reset\"],[\"poll-until\",\"query-status\",\"prelaunch\"],$(migrate_json '$WORK/paused-2.mig')]" "${cmd[@]}"
}
paused_pair

echo done
