#!/usr/bin/env bash
# Regenerate migscope's corpus of real QEMU migration streams.
#
#   corpus/make-corpus.sh [--qemu10] [--only NAME]... [--keep-work] [--no-xz]
#
# Default: every QEMU 7.2 stream (the host's Debian bookworm QEMU) into corpus/streams/.
# --qemu10: additionally (only, if combined with nothing else) the QEMU 10.0 streams into
#           corpus/streams-10.0/, run inside a Debian trixie chroot (default /srv/trixie,
#           override with TRIXIE_ROOT=...; see corpus/README.md for how to make it).
# --only NAME: make just that stream (repeatable).
# --no-xz: leave the streams uncompressed (NAME.mig) instead of NAME.mig.xz.
#
# Every QEMU is started paused (-S) unless the stream needs a running guest, driven over
# QMP on a unix socket by a tiny Python client written into the work directory, and asked
# to migrate to "exec:cat > FILE" (or to a unix socket served by a small sink when the
# stream needs a return path). Each stream is recorded in streams/manifest.tsv with its
# exact command line and QMP commands. Afterwards the RAM of the compress/xbzrle streams
# is loaded into a destination QEMU whose RAM is a shared file, and the file's sha256 is
# written to golden/NAME.ram-oracle.sha256.
#
# Needs: qemu-system-{x86_64,aarch64,ppc64,s390x,riscv64} 7.2, python3, xz, as, ld.
set -euo pipefail

CORPUS=$(cd "$(dirname "$0")" && pwd)
DO72=1 DO10=0 KEEP=0 XZ=1
ONLY=() FAILS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --qemu10) DO10=1 ;;
        --qemu10-only) DO10=1 DO72=0 ;;
        --only) ONLY+=("$2"); shift ;;
        --keep-work) KEEP=1 ;;
        --no-xz) XZ=0 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

WORK=$(mktemp -d /tmp/migscope-corpus.XXXXXX)
cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
    if [ "$KEEP" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
# helpers written into the work directory

# QMP client: qmp.py SOCKET JSON-LIST-OF-COMMANDS
# Each command is ["qmp-command", {arguments}] or one of the pseudo commands
#   ["wait-migrate"]            poll query-migrate until completed (fail on failed/cancelled)
#   ["wait-migrate-active"]     poll until status is active (or later)
#   ["wait-incoming"]           poll query-migrate until the incoming load has completed
#   ["wait-guest", ADDR]        poll guest memory until the dword at ADDR is non-zero
#   ["wait-dirty-sync", N]      poll query-migrate until ram.dirty-sync-count >= N
#   ["expect", "a.b", N]        query-migrate's value a.b must be >= N, else exit status 3
#   ["sleep", seconds]
#   ["noquit"]                  do not send quit at the end
cat > "$WORK/qmp.py" <<'EOF'
import json, socket, sys, time
path, cmds = sys.argv[1], json.loads(sys.argv[2])
for _ in range(400):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("cannot connect to " + path)
f = s.makefile('rw')
def rd():
    while True:
        line = f.readline()
        if not line: sys.exit("QMP connection closed")
        m = json.loads(line)
        if 'event' not in m: return m
rd()
def x(cmd, **a):
    m = {'execute': cmd}
    if a: m['arguments'] = a
    f.write(json.dumps(m) + '\n'); f.flush()
    r = rd()
    if 'error' in r: sys.exit('QMP %s failed: %s' % (cmd, r['error']))
    return r['return']
x('qmp_capabilities')
quit = True
for c in cmds:
    if c[0] == 'wait-migrate':
        t0 = time.time()
        while True:
            st = x('query-migrate').get('status')
            if st == 'completed': break
            if st in ('failed', 'cancelled'): sys.exit('migration ' + st + ': ' + json.dumps(x('query-migrate')))
            if time.time() - t0 > 300: sys.exit('migration timeout')
            time.sleep(0.05)
    elif c[0] == 'wait-migrate-active':
        while x('query-migrate').get('status') in (None, 'none', 'setup'):
            time.sleep(0.02)
    elif c[0] == 'wait-incoming':
        # destination (-S -incoming defer): done when query-migrate says completed
        t0 = time.time()
        while True:
            mig = x('query-migrate')
            st = mig.get('status')
            if st == 'completed': break
            if st in ('failed', 'cancelled'): sys.exit('incoming ' + st + ': ' + json.dumps(mig))
            if time.time() - t0 > 300: sys.exit('incoming timeout')
            time.sleep(0.05)
        st = x('query-status')['status']
        if st == 'inmigrate': sys.exit('incoming: VM still inmigrate')
    elif c[0] == 'wait-guest':
        # poll guest memory (HMP xp) until the dword at physical address c[1] is non-zero
        t0 = time.time()
        while True:
            out = x('human-monitor-command', **{'command-line': 'xp /1wx 0x%x' % c[1]})
            if int(out.split(':')[1].split()[0], 16) != 0: break
            if time.time() - t0 > 60: sys.exit('guest did not start')
            time.sleep(0.1)
    elif c[0] == 'wait-dirty-sync':
        # poll query-migrate until ram.dirty-sync-count >= c[1] (or completion)
        t0 = time.time()
        while True:
            mig = x('query-migrate')
            if mig.get('status') in ('completed', 'failed', 'cancelled'): break
            if mig.get('ram', {}).get('dirty-sync-count', 0) >= c[1]: break
            if time.time() - t0 > 120: sys.exit('dirty-sync-count timeout')
            time.sleep(0.05)
    elif c[0] == 'expect':
        # after completion: query-migrate value at dotted path c[1] must be >= c[2],
        # else exit 3 (the caller retries: timing of running guests varies)
        v = x('query-migrate')
        for k in c[1].split('.'): v = v.get(k, {}) if isinstance(v, dict) else {}
        if not isinstance(v, int) or v < c[2]:
            try: x('quit')
            except (Exception, SystemExit): pass
            print('expectation %s >= %s not met (got %s)' % (c[1], c[2], v), file=sys.stderr)
            sys.exit(3)
    elif c[0] == 'sleep':
        time.sleep(c[1])
    elif c[0] == 'noquit':
        quit = False
    else:
        x(c[0], **(c[1] if len(c) > 1 else {}))
if quit:
    try:
        f.write(json.dumps({'execute': 'quit'}) + '\n'); f.flush(); rd()
    except (Exception, SystemExit):
        pass
EOF

# Return-path sink: rp-sink.py SOCKET OUTFILE [QUIET_SECONDS]
# Accepts one migration connection on a unix socket, stores every byte, and once the
# stream has been quiet for QUIET_SECONDS answers MIG_RP_MSG_SHUT (be16 type 1, be16 len 4,
# be32 0) on the same connection, which lets the source's return-path thread finish.
cat > "$WORK/rp-sink.py" <<'EOF'
import os, select, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
quiet = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
if os.path.exists(path): os.unlink(path)
ls = socket.socket(socket.AF_UNIX); ls.bind(path); ls.listen(1)
c, _ = ls.accept()
total = 0
with open(out, 'wb') as f:
    while True:
        r, _, _ = select.select([c], [], [], quiet)
        if not r:
            if total: break
            continue
        d = c.recv(1 << 20)
        if not d: break
        f.write(d); total += len(d)
try:
    c.sendall(struct.pack('>HHI', 1, 4, 0))
    while True:                     # drain until the source closes
        r, _, _ = select.select([c], [], [], 5)
        if not r: break
        d = c.recv(1 << 20)
        if not d: break
        sys.exit('unexpected %d bytes after SHUT' % len(d))
except OSError:
    pass
EOF

# ---------------------------------------------------------------------------------------

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"  # want, show


manifest_add() {   # NAME DIR QMPJSON CMD...
    local name=$1 dir=$2 qmpj=$3; shift 3
    local mf="$dir/manifest.tsv"
    [ -f "$mf" ] || printf 'name\tcommand\tqmp\n' > "$mf"
    grep -v "^$name	" "$mf" > "$mf.tmp" || true
    printf '%s\t%s\t%s\n' "$name" "$(show "$@")" "${qmpj//$WORK/\$WORK}" >> "$mf.tmp"
    { head -n1 "$mf.tmp"; tail -n +2 "$mf.tmp" | sort; } > "$mf"
    rm -f "$mf.tmp"
}

store() {   # NAME DIR: move $WORK/NAME.mig into DIR (xz-compressed unless --no-xz)
    local name=$1 dir=$2
    rm -f "$dir/$name.mig" "$dir/$name.mig.xz"
    if [ "$XZ" = 1 ]; then
        xz -9 -T1 -c "$WORK/$name.mig" > "$dir/$name.mig.xz"
    else
        cp "$WORK/$name.mig" "$dir/$name.mig"
    fi
    printf '  %-40s %9d bytes\n' "$name" "$(stat -c %s "$WORK/$name.mig")"
}

# mig NAME QMPJSON [--sink [quiet]] -- QEMU ARGS...
# Runs QEMU (paused unless the args contain no -S: we add -S ourselves only via args),
# sends the QMP commands (@OUT@ = output file, @SOCK@ = sink socket, @WORK@ = work dir),
# waits for it to exit and stores the stream.
mig() {
    local name=$1 qmpj=$2; shift 2
    local sink=0 quiet=1.5
    if [ "$1" = --sink ]; then sink=1; shift; if [ "$1" != -- ]; then quiet=$1; shift; fi; fi
    [ "$1" = -- ] && shift
    want "$name" || return 0
    local dir=${OUTDIR:?}
    local out="$WORK/$name.mig" sock="$WORK/$name.qmp" rps="$WORK/$name.rp"
    rm -f "$out"
    local j=${qmpj//@OUT@/$out}; j=${j//@SOCK@/$rps}; j=${j//@WORK@/$WORK}
    local cmd=("$@" -chardev "socket,id=qmp,path=$sock,server=on,wait=off" -mon chardev=qmp,mode=control)
    local sinkpid="" rc try
    for try in $(seq 12); do
        rm -f "$out"; sinkpid=""
        if [ "$sink" = 1 ]; then
            python3 "$WORK/rp-sink.py" "$rps" "$out" "$quiet" & sinkpid=$!
            for _ in $(seq 100); do [ -S "$rps" ] && break; sleep 0.05; done
        fi
        "${QPREFIX[@]}" "${cmd[@]}" > "$WORK/$name.log" 2>&1 & local qpid=$!
        rc=0; timeout 400 python3 "$WORK/qmp.py" "$sock" "$j" || rc=$?
        if [ "$rc" = 3 ]; then      # running guest did not produce what we want: retry
            wait "$qpid" || true
            if [ -n "$sinkpid" ]; then kill "$sinkpid" 2>/dev/null || true; wait "$sinkpid" || true; fi
            echo "  ($name: retry $try)" >&2; continue
        fi
        break
    done
    if [ "$rc" != 0 ]; then
        echo "FAILED: $name (log follows)" >&2; cat "$WORK/$name.log" >&2
        kill "$qpid" 2>/dev/null || true
        if [ -n "$sinkpid" ]; then kill "$sinkpid" 2>/dev/null || true; fi
        FAILS+=("$name"); return 0
    fi
    wait "$qpid" || true
    if [ -n "$sinkpid" ] && ! wait "$sinkpid"; then
        echo "FAILED: sink for $name" >&2; FAILS+=("$name"); return 0
    fi
    manifest_add "$name" "$dir" "$qmpj" "${QPREFIX[@]}" "$@"
    store "$name" "$dir"
}

# oracle NAME QMPJSON BLOCK -- DEST QEMU ARGS...
# Loads the stream into a destination QEMU (-incoming defer + migrate-incoming) whose RAM is
# a shared file backend $WORK/oracle-NAME.ram named BLOCK, then hashes that file.
oracle() {
    local name=$1 qmpj=$2 block=$3; shift 3; [ "$1" = -- ] && shift
    want "$name" || return 0
    [ -f "$WORK/$name.mig" ] || return 0
    local dir=${OUTDIR:?} gold=${GOLDDIR:?}
    local sock="$WORK/oracle-$name.qmp" ram="$WORK/oracle-$name.ram"
    rm -f "$ram"
    local j=${qmpj//@IN@/$WORK/$name.mig}; j=${j//@RAM@/$ram}; j=${j//@WORK@/$WORK}
    local args=(); local a
    for a in "$@"; do a=${a//@RAM@/$ram}; args+=("$a"); done
    "${QPREFIX[@]}" "${args[@]}" -incoming defer \
        -chardev "socket,id=qmp,path=$sock,server=on,wait=off" -mon chardev=qmp,mode=control \
        > "$WORK/oracle-$name.log" 2>&1 & local qpid=$!
    if ! timeout 400 python3 "$WORK/qmp.py" "$sock" "$j"; then
        echo "FAILED: oracle for $name" >&2; cat "$WORK/oracle-$name.log" >&2
        kill "$qpid" 2>/dev/null || true; FAILS+=("oracle:$name"); return 0
    fi
    wait "$qpid" || true
    mkdir -p "$gold"
    printf '%s  %s\n' "$(sha256sum < "$ram" | cut -d' ' -f1)" "$block" > "$gold/$name.ram-oracle.sha256"
    printf '  oracle %-33s %s\n' "$name" "$(cat "$gold/$name.ram-oracle.sha256")"
    printf '%s\t%s\t%s\n' "$name" "$(show "${QPREFIX[@]}" "$@" -incoming defer)" "${qmpj//$WORK/\$WORK}" >> "$WORK/oracle-manifest"
}

# QMP snippets
caps() {   # caps CAP... -> migrate-set-capabilities JSON element
    local c out=""
    for c in "$@"; do out+="{\"capability\":\"$c\",\"state\":true},"; done
    printf '["migrate-set-capabilities",{"capabilities":[%s]}]' "${out%,}"
}
MIGRATE='["migrate",{"uri":"exec:cat > @OUT@"}],["wait-migrate"]'
MIGRATE_SINK='["migrate",{"uri":"unix:@SOCK@"}],["wait-migrate"]'
COMMON=(-nodefaults -display none -rtc base=2024-01-01T00:00:00,clock=vm)

# guest programs for streams that need a running guest ------------------------------------
source "$(dirname "${BASH_SOURCE[0]}")/boot-sector.sh"  # make_boot_sector

# =======================================================================================
if [ "$DO72" = 1 ]; then
OUTDIR="$CORPUS/streams" GOLDDIR="$CORPUS/golden"
mkdir -p "$OUTDIR" "$GOLDDIR"
QPREFIX=()
X86=qemu-system-x86_64
echo "QEMU 7.2 streams -> $OUTDIR ($($X86 --version | head -1))"

# --- x86_64 plain machines ---
mig x86_64-pc-7.2          "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-i440fx-7.2,accel=tcg -m 16
mig x86_64-q35-7.2         "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg -m 16
mig x86_64-q35-7.2-smp4    "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg -m 16 -smp 4
mig x86_64-pc-i440fx-2.0   "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-i440fx-2.0,accel=tcg -m 16
mig x86_64-pc-i440fx-2.4   "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-i440fx-2.4,accel=tcg -m 16
mig x86_64-pc-q35-4.2      "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-q35-4.2,accel=tcg -m 16
mig x86_64-q35-7.2-devices "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg -m 16 \
    -vga std -nic none \
    -netdev user,id=n0 -device e1000,netdev=n0 \
    -netdev user,id=n1 -device virtio-net-pci,netdev=n1 \
    -netdev user,id=n2 -device rtl8139,netdev=n2 \
    -device ahci,id=ahci0 -device ide-cd,bus=ahci0.0 \
    -device qemu-xhci,id=xhci -device usb-tablet,bus=xhci.0 \
    -device virtio-serial-pci -device virtio-balloon-pci \
    -audiodev none,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0 \
    -device i6300esb -device pvpanic

# --- other targets ---
mig aarch64-virt-7.2       "[$MIGRATE]" -- qemu-system-aarch64 "${COMMON[@]}" -S -M virt-7.2,accel=tcg -cpu cortex-a57 -m 16
mig ppc64-pseries-7.2      "[$MIGRATE]" -- qemu-system-ppc64 "${COMMON[@]}" -S -M pseries-7.2,accel=tcg -m 256
mig s390x-s390-ccw-virtio-7.2 "[$MIGRATE]" -- qemu-system-s390x "${COMMON[@]}" -S -M s390-ccw-virtio-7.2,accel=tcg -m 16
mig riscv64-virt-7.2       "[$MIGRATE]" -- qemu-system-riscv64 "${COMMON[@]}" -S -M virt,accel=tcg -m 16

# --- capability / property variants on q35 ---
Q35=($X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg -m 16)
mig x86_64-q35-7.2-compress \
    "[$(caps compress),[\"migrate-set-parameters\",{\"compress-threads\":1,\"compress-level\":6,\"max-bandwidth\":1048576}],$MIGRATE]" \
    -- "${Q35[@]}"
truncate -s 16M "$WORK/shared.ram"
mig x86_64-q35-7.2-x-ignore-shared "[$(caps x-ignore-shared),$MIGRATE]" -- \
    $X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg,memory-backend=pc.ram -m 16 \
    -object memory-backend-file,id=pc.ram,size=16M,mem-path="$WORK/shared.ram",share=on
mig x86_64-q35-7.2-validate-uuid "[$(caps validate-uuid),$MIGRATE]" -- \
    "${Q35[@]}" -uuid 6d1f3c5e-0b2a-4c1e-9f00-123456789abc
mig x86_64-q35-7.2-return-path "[$(caps return-path),$MIGRATE_SINK]" --sink -- "${Q35[@]}"
# 1 MiB raw disk: 64 KiB of a fixed pattern, the rest zero
python3 -c "import sys; sys.stdout.buffer.write(bytes((i * 7 + (i >> 8)) & 255 for i in range(65536)) + bytes(1048576 - 65536))" > "$WORK/disk.raw"
mig x86_64-q35-7.2-block '[["migrate",{"uri":"exec:cat > @OUT@","blk":true}],["wait-migrate"]]' -- \
    "${Q35[@]}" -drive file="$WORK/disk.raw",format=raw,if=none,id=disk0 -device virtio-blk-pci,drive=disk0
mig x86_64-q35-7.2-no-config "[$MIGRATE]" -- "${Q35[@]}" -global migration.send-configuration=off
mig x86_64-q35-7.2-no-footer "[$MIGRATE]" -- "${Q35[@]}" -global migration.send-section-footer=off
mig x86_64-q35-7.2-no-vmdesc "[$MIGRATE]" -- \
    $X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg,suppress-vmdesc=on -m 16

# --- streams that need a running guest ---
if want x86_64-q35-7.2-xbzrle || want x86_64-q35-7.2-postcopy || want x86_64-q35-7.2-compress-running; then
    make_boot_sector
fi
# thread=single: with multi-threaded TCG, migration's dirty tracking often loses the guest's
# writes after a few passes (the stream then converges at once). Single-threaded TCG is better
# but a bitmap sync can still find nothing dirty now and then (host scheduling), which ends
# the migration early; the "expect" checks then make mig() retry.
BOOTQ35=($X86 "${COMMON[@]}" -S -M pc-q35-7.2 -accel tcg,thread=single -m 16 -drive file="$WORK/boot.bin",format=raw,if=ide,index=0)
# compress with a running guest: many iterations, pages compressed again and again
mig x86_64-q35-7.2-compress-running \
    "[$(caps compress),[\"migrate-set-parameters\",{\"compress-threads\":1,\"max-bandwidth\":1048576,\"downtime-limit\":1}],[\"cont\"],[\"wait-guest\",2097152],[\"migrate\",{\"uri\":\"exec:cat > @OUT@\"}],[\"wait-dirty-sync\",12],[\"migrate-set-parameters\",{\"max-bandwidth\":1073741824,\"downtime-limit\":2000}],[\"wait-migrate\"],[\"expect\",\"ram.dirty-sync-count\",10],[\"expect\",\"compression.pages\",400]]" \
    -- "${BOOTQ35[@]}"
# xbzrle: guest runs the boot-sector loop; low bandwidth -> several passes with XBZRLE pages
mig x86_64-q35-7.2-xbzrle \
    "[$(caps xbzrle),[\"migrate-set-parameters\",{\"xbzrle-cache-size\":4194304,\"max-bandwidth\":2097152,\"downtime-limit\":1}],[\"cont\"],[\"wait-guest\",2097152],[\"migrate\",{\"uri\":\"exec:cat > @OUT@\"}],[\"wait-dirty-sync\",20],[\"migrate-set-parameters\",{\"max-bandwidth\":1073741824,\"downtime-limit\":2000}],[\"wait-migrate\"],[\"expect\",\"ram.dirty-sync-count\",10],[\"expect\",\"xbzrle-cache.pages\",200]]" \
    -- "${BOOTQ35[@]}"
# postcopy: running guest, throttled precopy, then migrate-start-postcopy
mig x86_64-q35-7.2-postcopy \
    "[$(caps postcopy-ram),[\"migrate-set-parameters\",{\"max-bandwidth\":1048576,\"downtime-limit\":1}],[\"cont\"],[\"wait-guest\",2097152],[\"migrate\",{\"uri\":\"unix:@SOCK@\"}],[\"wait-dirty-sync\",3],[\"migrate-start-postcopy\"],[\"wait-migrate\"]]" \
    --sink 2 -- "${BOOTQ35[@]}"

# --- RAM oracles: load compress / xbzrle streams into a QEMU whose RAM is a shared file ---
rm -f "$WORK/oracle-manifest"
DSTQ35=($X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg,memory-backend=pc.ram -m 16
        -object memory-backend-file,id=pc.ram,size=16M,mem-path=@RAM@,share=on)
oracle x86_64-q35-7.2-compress \
    "[$(caps compress),[\"migrate-set-parameters\",{\"decompress-threads\":1}],[\"migrate-incoming\",{\"uri\":\"exec:cat @IN@\"}],[\"wait-incoming\"]]" \
    pc.ram -- "${DSTQ35[@]}"
oracle x86_64-q35-7.2-compress-running \
    "[$(caps compress),[\"migrate-set-parameters\",{\"decompress-threads\":1}],[\"migrate-incoming\",{\"uri\":\"exec:cat @IN@\"}],[\"wait-incoming\"]]" \
    pc.ram -- "${DSTQ35[@]}" -drive file="$WORK/boot.bin",format=raw,if=ide,index=0
oracle x86_64-q35-7.2-xbzrle \
    "[$(caps xbzrle),[\"migrate-incoming\",{\"uri\":\"exec:cat @IN@\"}],[\"wait-incoming\"]]" \
    pc.ram -- "${DSTQ35[@]}" -drive file="$WORK/boot.bin",format=raw,if=ide,index=0
if [ -f "$WORK/oracle-manifest" ]; then
    mf="$OUTDIR/oracle-manifest.tsv"
    [ -f "$mf" ] || printf 'name\tcommand\tqmp\n' > "$mf"
    cut -f1 "$WORK/oracle-manifest" | while read -r n; do grep -v "^$n	" "$mf" > "$mf.tmp" || true; mv "$mf.tmp" "$mf"; done
    cat "$WORK/oracle-manifest" >> "$mf"
    { head -n1 "$mf"; tail -n +2 "$mf" | sort; } > "$mf.tmp"; mv "$mf.tmp" "$mf"
fi
fi

# =======================================================================================
if [ "$DO10" = 1 ]; then
TRIXIE_ROOT=${TRIXIE_ROOT:-/srv/trixie}
OUTDIR="$CORPUS/streams-10.0" GOLDDIR="$CORPUS/golden-10.0"
mkdir -p "$OUTDIR" "$GOLDDIR"
[ -x "$TRIXIE_ROOT/usr/bin/qemu-system-x86_64" ] || { echo "no QEMU in $TRIXIE_ROOT (see README)" >&2; exit 1; }
mountpoint -q "$TRIXIE_ROOT/proc" || mount -t proc proc "$TRIXIE_ROOT/proc"
# the chroot must see the work directory under the same path
mkdir -p "$TRIXIE_ROOT$WORK"
mount --bind "$WORK" "$TRIXIE_ROOT$WORK"
trap 'umount "$TRIXIE_ROOT$WORK" 2>/dev/null || true; rmdir "$TRIXIE_ROOT$WORK" 2>/dev/null || true; cleanup' EXIT
QPREFIX=(chroot "$TRIXIE_ROOT")
echo "QEMU 10.0 streams -> $OUTDIR ($(chroot "$TRIXIE_ROOT" qemu-system-x86_64 --version | head -1))"
X86=qemu-system-x86_64
mig x86_64-q35-10.0        "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-q35-10.0,accel=tcg -m 16
mig x86_64-pc-10.0         "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-i440fx-10.0,accel=tcg -m 16
mig x86_64-q35-7.2-on-10.0 "[$MIGRATE]" -- $X86 "${COMMON[@]}" -S -M pc-q35-7.2,accel=tcg -m 16
mig aarch64-virt-10.0      "[$MIGRATE]" -- qemu-system-aarch64 "${COMMON[@]}" -S -M virt-10.0,accel=tcg -cpu cortex-a57 -m 16
mig s390x-s390-ccw-virtio-10.0 "[$MIGRATE]" -- qemu-system-s390x "${COMMON[@]}" -S -M s390-ccw-virtio-10.0,accel=tcg -m 16
mig x86_64-q35-10.0-mapped-ram \
    "[$(caps mapped-ram),[\"migrate\",{\"uri\":\"file:@OUT@\"}],[\"wait-migrate\"]]" \
    -- $X86 "${COMMON[@]}" -S -M pc-q35-10.0,accel=tcg -m 16
truncate -s 16M "$WORK/shared.ram"
mig x86_64-q35-10.0-x-ignore-shared "[$(caps x-ignore-shared),$MIGRATE]" -- \
    $X86 "${COMMON[@]}" -S -M pc-q35-10.0,accel=tcg,memory-backend=pc.ram -m 16 \
    -object memory-backend-file,id=pc.ram,size=16M,mem-path="$WORK/shared.ram",share=on
mig x86_64-q35-10.0-validate-uuid "[$(caps validate-uuid),$MIGRATE]" -- \
    $X86 "${COMMON[@]}" -S -M pc-q35-10.0,accel=tcg -m 16 -uuid 6d1f3c5e-0b2a-4c1e-9f00-123456789abc
fi

if [ ${#FAILS[@]} -gt 0 ]; then echo "failed: ${FAILS[*]}" >&2; exit 1; fi
echo done
