# The running guest of the corpus scripts (make-corpus.sh, diff/make-diff-corpus.sh):
# `make_boot_sector` writes $WORK/boot.bin, a 1 MiB disk whose boot sector dirties
# memory in a known pattern. Sourced, not run.
make_boot_sector() {
    # Boot sector (switches to 32-bit protected mode, flat segments), then forever:
    # { for each of 48 pages from 1 MiB bump one dword at a page-dependent offset (small
    # delta -> XBZRLE); every 64th pass rewrite 4 pages at 2 MiB entirely with an LCG
    # pattern (-> PAGE); toggle CR4.PSE to flush the TCG TLB so that migration's dirty
    # tracking keeps seeing the writes; busy-wait a little }.
    cat > "$WORK/boot.S" <<'EOF'
        .code16
        .globl _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %ss
        movw    $0x7c00, %sp
        lgdt    gdtr
        movl    %cr0, %eax
        orl     $1, %eax
        movl    %eax, %cr0
        ljmpl   $0x08, $pm
        .code32
pm:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        xorl    %ebx, %ebx              # pass counter
loop:
        incl    %ebx
        # small deltas: 48 pages at 1 MiB, one dword each
        movl    $0x100000, %edi
        movl    $48, %ecx
1:      movl    %ecx, %eax
        shll    $6, %eax                # offset within page = ecx*64
        addl    %ebx, (%edi,%eax)
        addl    $0x1000, %edi
        loop    1b
        # full rewrites: 4 pages at 2 MiB every 64th pass
        testl   $63, %ebx
        jnz     3f
        movl    $0x200000, %edi
        movl    $4096, %ecx
        movl    %ebx, %eax
2:      movl    %eax, (%edi)
        imull   $1103515245, %eax, %eax
        addl    $12345, %eax
        addl    $4, %edi
        loop    2b
3:      # flush TLB: toggle CR4.PSE twice
        movl    %cr4, %eax
        xorl    $0x10, %eax
        movl    %eax, %cr4
        xorl    $0x10, %eax
        movl    %eax, %cr4
        # burn some time so that the dirty rate stays modest
        movl    $20000, %ecx
4:      loop    4b
        jmp     loop

        .p2align 3
gdt:    .quad   0
        .quad   0x00cf9a000000ffff      # code 0x08
        .quad   0x00cf92000000ffff      # data 0x10
gdtr:   .word   gdtr - gdt - 1
        .long   gdt
        .org    510
        .word   0xaa55
EOF
    as --32 -o "$WORK/boot.o" "$WORK/boot.S"
    ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$WORK/boot.bin" "$WORK/boot.o"
    [ "$(stat -c %s "$WORK/boot.bin")" = 512 ]
    truncate -s 1M "$WORK/boot.bin"     # SeaBIOS does not boot a 512-byte disk
}
