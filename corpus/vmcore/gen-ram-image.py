#!/usr/bin/env python3
"""Write the deterministic sparse guest-RAM image of the vmcore corpus.

    gen-ram-image.py SIZE_MIB OUT

OUT becomes a sparse file of SIZE_MIB MiB; offsets are RAM-block (pc.ram) offsets, not
guest-physical addresses. Non-zero pages (everything else is a hole, i.e. zero):
  * at every 1 MiB offset: a "grid" page: 64 chunks of 64 bytes, each chunk = 56 pseudo-random
    bytes (sha256 of the page offset; the same in every chunk of the page) + the chunk's RAM
    offset as little-endian u64. Distinct per page, yet xz packs it into ~90 bytes.
  * the first and the last page of every GiB of RAM offset, and the last page of the RAM:
    a "marker" page: the text "MIGSCOPE-VMCORE <kind> ram-offset=0x... size=0x..." padded with
    '.' to 64 bytes, repeated 64 times (overrides the grid page at a GiB start).
"""
import hashlib, os, struct, sys

PAGE = 4096


def grid_page(off):
    h = hashlib.sha256(b'migscope-vmcore grid %d' % off).digest()
    h += hashlib.sha256(h).digest()
    return b''.join(h[:56] + struct.pack('<Q', off + i * 64) for i in range(64))


def marker_page(off, kind, size):
    t = ('MIGSCOPE-VMCORE %s ram-offset=0x%x size=0x%x ' % (kind, off, size)).encode()
    t = t.ljust(64, b'.')[:64]
    return t * 64


def main():
    size = int(sys.argv[1]) << 20
    out = sys.argv[2]
    pages = {}
    for off in range(0, size, 1 << 20):
        pages[off] = grid_page(off)
    for g in range(0, size, 1 << 30):
        pages[g] = marker_page(g, 'gib-first', size)
        last = min(g + (1 << 30), size) - PAGE
        pages[last] = marker_page(last, 'gib-last', size)
    pages[size - PAGE] = marker_page(size - PAGE, 'ram-last', size)
    with open(out, 'wb') as f:
        for off in sorted(pages):
            f.seek(off)
            f.write(pages[off])
        f.truncate(size)
    print('%s: %d MiB, %d non-zero pages' % (out, size >> 20, len(pages)))


main()
