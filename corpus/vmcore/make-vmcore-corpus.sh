#!/usr/bin/env bash
# Make the QEMU 7.2 streams of the vmcore corpus (corpus/vmcore/NAME.mig.xz + manifest.tsv).
#
#   corpus/vmcore/make-vmcore-corpus.sh [--only NAME]... [--keep-work] [--no-xz]
#
# Six x86_64 streams whose guest ran its firmware (SeaBIOS) for ~2 s before being stopped
# and migrated, so the PAM/SMRAM registers are what SeaBIOS leaves:
#   x86_64-pc-7.2-3584m        pc-i440fx-7.2, 3584 MiB (RAM straddles the PCI hole)
#   x86_64-q35-7.2-3g          pc-q35-7.2, 3072 MiB (RAM straddles the PCI hole)
#   x86_64-pc-7.2-below4g-2g   pc-i440fx-7.2,max-ram-below-4g=2G, 3 GiB
#   x86_64-pc-7.2-vga          pc-i440fx-7.2, 64 MiB, -device VGA
#   x86_64-q35-7.2-booted      pc-q35-7.2, 64 MiB
#   x86_64-q35-7.2-longmode    pc-q35-7.2, 64 MiB, SeaBIOS boots a boot sector that enters
#                              64-bit long mode, loads known values into all GPRs and
#                              FS/GS/KERNEL_GS base and spins (so QEMU dumps an EM_X86_64 core)
# The three big guests get their RAM from a memory-backend-file (id pc.ram, so the RAM block
# is still named pc.ram; share=off, so the image is never written) over a sparse image made by
# gen-ram-image.py: a distinct page every MiB, marker pages at each GiB edge and at the end.
# Every QEMU is driven over QMP (qmp.py): cont, sleep 2, stop, migrate "exec:cat > FILE".
# Needs: qemu-system-x86_64 7.2, python3, xz, as/ld (binutils). Takes about a minute.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KEEP=0 XZ=1
ONLY=() FAILS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) ONLY+=("$2"); shift ;;
        --keep-work) KEEP=1 ;;
        --no-xz) XZ=0 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
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

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"  # want, show


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
    if [ -n "${CHECK[$name]:-}" ] && ! ${CHECK[$name]} "$name"; then
        echo "FAILED: $name (guest state check)" >&2; FAILS+=("$name"); return 0
    fi
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
declare -A CHECK=()   # NAME -> function run with NAME after the source QEMU exits; nonzero = fail
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

# x86_64-q35-7.2-longmode: boot sector (assembled like ../make-corpus.sh's) that goes straight
# from real mode to 64-bit long mode: zeroes 0x1000-0x3fff, builds PML4 0x1000 -> PDPT 0x2000 ->
# PD 0x3000 (512 x 2 MiB pages: identity map of 0-1 GiB), CR4.PAE, CR3=0x1000, EFER.LME,
# CR0.PG|PE, GDT (0x08 64-bit code, 0x10 flat data), ljmp 0x08:lm. In 64-bit code: ds/es/ss/fs/gs
# = 0x10, FS_BASE=0x00000f5f5f5f5f5f, GS_BASE=0x00000a6a6a6a6a6a,
# KERNEL_GS_BASE=0xffff8b7b7b7b7b7b (wrmsr), the quad "LONGMODE" at 0x500 (the marker the check
# below reads), rax..rbp = 0x1111..1 .. 0x7777..7, r8..r15 = 0x8888..8 .. 0xffff..f,
# rsp=0x0123456789abcdef (no stack is used after that), then `spin: jmp spin` at 0x7d70.
make_longmode_boot() {
    cat > "$WORK/longmode.S" <<'EOF'
        .code16
        .globl _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        cld
        movw    $0x1000, %di            # zero PML4 0x1000, PDPT 0x2000, PD 0x3000
        movw    $0x1800, %cx
        rep stosw
        movl    $0x2003, 0x1000         # PML4[0] -> PDPT, present+writable
        movl    $0x3003, 0x2000         # PDPT[0] -> PD
        movw    $0x3000, %di            # PD[i] = i * 2 MiB | PS|RW|P: identity map 0-1 GiB
        movl    $0x83, %eax
        movw    $512, %cx
1:      movl    %eax, (%di)
        addl    $0x200000, %eax
        addw    $8, %di
        loop    1b
        movl    %cr4, %eax
        orl     $0x20, %eax             # CR4.PAE
        movl    %eax, %cr4
        movl    $0x1000, %eax
        movl    %eax, %cr3
        movl    $0xc0000080, %ecx       # EFER.LME
        rdmsr
        orl     $0x100, %eax
        wrmsr
        lgdt    gdtr
        movl    %cr0, %eax
        orl     $0x80000001, %eax       # CR0.PG|PE: straight from real mode to long mode
        movl    %eax, %cr0
        ljmpl   $0x08, $lm
        .code64
lm:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    %ax, %fs
        movw    %ax, %gs
        movl    $0xc0000100, %ecx       # FS_BASE
        movl    $0x5f5f5f5f, %eax
        movl    $0x00000f5f, %edx
        wrmsr
        movl    $0xc0000101, %ecx       # GS_BASE
        movl    $0x6a6a6a6a, %eax
        movl    $0x00000a6a, %edx
        wrmsr
        movl    $0xc0000102, %ecx       # KERNEL_GS_BASE
        movl    $0x7b7b7b7b, %eax
        movl    $0xffff8b7b, %edx
        wrmsr
        movabsq $0x45444f4d474e4f4c, %rax   # "LONGMODE" at 0x500: the 64-bit code ran
        movq    %rax, 0x500
        movabsq $0x1111111111111111, %rax
        movabsq $0x2222222222222222, %rbx
        movabsq $0x3333333333333333, %rcx
        movabsq $0x4444444444444444, %rdx
        movabsq $0x5555555555555555, %rsi
        movabsq $0x6666666666666666, %rdi
        movabsq $0x7777777777777777, %rbp
        movabsq $0x8888888888888888, %r8
        movabsq $0x9999999999999999, %r9
        movabsq $0xaaaaaaaaaaaaaaaa, %r10
        movabsq $0xbbbbbbbbbbbbbbbb, %r11
        movabsq $0xcccccccccccccccc, %r12
        movabsq $0xdddddddddddddddd, %r13
        movabsq $0xeeeeeeeeeeeeeeee, %r14
        movabsq $0xffffffffffffffff, %r15
        movabsq $0x0123456789abcdef, %rsp   # no stack is used from here on
spin:   jmp     spin

        .p2align 3
gdt:    .quad   0
        .quad   0x00af9a000000ffff      # 0x08: 64-bit code (L=1)
        .quad   0x00cf92000000ffff      # 0x10: flat data
gdtr:   .word   gdtr - gdt - 1
        .long   gdt
        .org    510
        .word   0xaa55
EOF
    as --64 -o "$WORK/longmode.o" "$WORK/longmode.S"
    ld -m elf_x86_64 -Ttext 0x7c00 --oformat binary -o "$WORK/longmode.bin" "$WORK/longmode.o"
    [ "$(stat -c %s "$WORK/longmode.bin")" = 512 ]
    truncate -s 1M "$WORK/longmode.bin"     # SeaBIOS does not boot a 512-byte disk
}
# the source was stopped in long mode, in the final loop, with the marker written
check_longmode() {
    local m="$WORK/$1.marker" r="$WORK/$1.regs"
    sed -i 's/\r$//' "$m" "$r"     # HMP text comes with CRLF
    grep -q ': 0x45444f4d474e4f4c$' "$m" && grep -q '^EFER=0000000000000500' "$r" &&
        grep -q '^CS =0008 .* CS64' "$r" && grep -q '^RIP=0000000000007d70 ' "$r" &&
        grep -q '^R15=ffffffffffffffff' <(sed 's/ R15=/\nR15=/' "$r") ||
        { echo "longmode: guest not in the final loop" >&2; cat "$m" "$r" >&2; return 1; }
    echo "  longmode guest: $(grep -o 'RIP=[0-9a-f]*' "$r"), $(grep -o '^EFER=[0-9a-f]*' "$r")"
}
if want x86_64-q35-7.2-longmode; then
    make_longmode_boot
    CHECK[x86_64-q35-7.2-longmode]=check_longmode
    # cont; SeaBIOS boots the disk (< 1 s), the boot sector enters long mode; stop after 2 s and
    # record the marker at 0x500 and `info registers` for the check
    LM='[["cont"],["sleep",2],["stop"],["hmp","xp /1gx 0x500","'$WORK'/x86_64-q35-7.2-longmode.marker"],["hmp","info registers","'$WORK'/x86_64-q35-7.2-longmode.regs"],["migrate-set-parameters",{"max-bandwidth":107374182400}],["migrate",{"uri":"exec:cat > @OUT@"}],["wait-migrate"]]'
    mig x86_64-q35-7.2-longmode "$LM" -- $X86 "${COMMON[@]}" -S -M pc-q35-7.2 -accel tcg -m 64 \
        -drive file="$WORK/longmode.bin",format=raw,if=ide
fi

if [ ${#FAILS[@]} -gt 0 ]; then echo "failed: ${FAILS[*]}" >&2; exit 1; fi
echo done
