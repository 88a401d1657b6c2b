#!/usr/bin/env bash
# QEMU's own vmcore of every QEMU 7.2 stream in the corpus: corpus/vmcore/oracle/NAME.json
# (ELF header, PT_LOADs with sha256, notes in hex, gdb's registers) and NAME.mtree.txt
# (flat view of address space "memory"); streams QEMU cannot load or dump are listed in
# corpus/vmcore/oracle-failures.txt.
#
#   corpus/vmcore/make-vmcore-oracle.sh [--only NAME]... [--keep-work] [--keep-elf]
#
# Streams: every row of corpus/streams/manifest.tsv (all QEMU 7.2) and corpus/vmcore/manifest.tsv.
# Each is loaded into a destination QEMU 7.2 with the source's command line plus -incoming defer
# (details in vmcore-oracle.py), dumped with QMP dump-guest-memory (paging false, ELF), and the
# ELF is parsed by elf-oracle.py and deleted. One QEMU at a time. Takes about 2-3 minutes; the
# work dir needs room for the largest ELF (3.5 GiB).
# Needs: qemu-system-{x86_64,aarch64,ppc64,s390x,riscv64} 7.2, python3, xz, gdb, gdb-multiarch.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KEEP=0 PASS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) PASS+=(--only "$2"); shift ;;
        --keep-elf) PASS+=(--keep-elf); KEEP=1 ;;
        --keep-work) KEEP=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
WORK=$(mktemp -d /tmp/migscope-vmcore-oracle.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
echo "vmcore oracles -> $HERE/oracle ($(qemu-system-x86_64 --version | head -1))"
python3 "$HERE/vmcore-oracle.py" "$(dirname "$HERE")" "$WORK" ${PASS[@]+"${PASS[@]}"}
