#!/usr/bin/env python3
"""Describe an ELF vmcore written by QEMU's dump-guest-memory as the oracle JSON.

    elf-oracle.py ELF --stream NAME --source PATH --qemu VERSION [--no-gdb] > NAME.json

Standard library only (gdb is run as an external program when available). Output:
  stream, source, qemu, elf {class, data, machine, type, version, flags, entry, phoff, shoff,
  ehsize, phentsize, phnum, shentsize, shnum, shstrndx}, note_segments [{offset, filesz}],
  loads [{paddr, vaddr, memsz, filesz, offset, flags, align, sha256, zero}] in phdr order,
  notes [{name, type, descsz, desc (hex)}] in file order, sections [{name, type, offset, size}]
  when the file has section headers, and gdb {pc, registers, command} when gdb can read the core
  (EM_X86_64 cores also gdb.linux_bases {fs_base, gs_base, command}: gdb with osabi GNU/Linux).
Sizes and addresses are hex strings ("0x..."), counts and small enums are numbers.
"""
import argparse, hashlib, json, os, re, struct, subprocess, sys

PT_LOAD, PT_NOTE = 1, 4
CHUNK = 16 << 20
ZERO = bytes(CHUNK)

# e_machine -> gdb program and `set architecture` value to try after the plain attempt
GDB_ARCH = {
    62: ('gdb', ['i386:x86-64']),
    3: ('gdb', ['i386', 'i386:x86-64']),
    183: ('gdb-multiarch', ['aarch64']),
    40: ('gdb-multiarch', ['arm']),
    21: ('gdb-multiarch', ['powerpc:common64']),
    20: ('gdb-multiarch', ['powerpc:common']),
    22: ('gdb-multiarch', ['s390:64-bit']),
    243: ('gdb-multiarch', ['riscv:rv64']),
}


def hx(v):
    return '0x%x' % v


def parse(path):
    f = open(path, 'rb')
    ident = f.read(16)
    if ident[:4] != b'\x7fELF':
        sys.exit('%s: not an ELF file' % path)
    cls = {1: 32, 2: 64}[ident[4]]
    e = {1: '<', 2: '>'}[ident[5]]
    if cls == 64:
        fmt = e + 'HHIQQQIHHHHHH'
    else:
        fmt = e + 'HHIIIIIHHHHHH'
    (etype, machine, version, entry, phoff, shoff, flags, ehsize, phentsize, phnum,
     shentsize, shnum, shstrndx) = struct.unpack(fmt, f.read(struct.calcsize(fmt)))
    elf = {'class': cls, 'data': 'lsb' if e == '<' else 'msb', 'osabi': ident[7],
           'machine': machine, 'type': etype, 'version': version, 'flags': flags,
           'entry': hx(entry), 'phoff': phoff, 'shoff': shoff, 'ehsize': ehsize,
           'phentsize': phentsize, 'phnum': phnum, 'shentsize': shentsize, 'shnum': shnum,
           'shstrndx': shstrndx}
    phdrs = []
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        if cls == 64:
            p_type, p_flags, off, va, pa, fsz, msz, align = struct.unpack(e + 'IIQQQQQQ', f.read(56))
        else:
            p_type, off, va, pa, fsz, msz, p_flags, align = struct.unpack(e + 'IIIIIIII', f.read(32))
        phdrs.append((p_type, p_flags, off, va, pa, fsz, msz, align))
    loads, notes, note_segs = [], [], []
    for (p_type, p_flags, off, va, pa, fsz, msz, align) in phdrs:
        if p_type == PT_LOAD:
            h = hashlib.sha256()
            zero = True
            f.seek(off)
            left = fsz
            while left:
                b = f.read(min(CHUNK, left))
                if not b:
                    sys.exit('%s: PT_LOAD at 0x%x truncated' % (path, off))
                h.update(b)
                if zero and b != ZERO[:len(b)]:
                    zero = False
                left -= len(b)
            loads.append({'paddr': hx(pa), 'vaddr': hx(va), 'memsz': hx(msz), 'filesz': hx(fsz),
                          'offset': hx(off), 'flags': p_flags, 'align': hx(align),
                          'sha256': h.hexdigest(), 'zero': zero})
        elif p_type == PT_NOTE:
            note_segs.append({'offset': hx(off), 'filesz': hx(fsz)})
            f.seek(off)
            data = f.read(fsz)
            pos = 0
            while pos + 12 <= len(data):
                namesz, descsz, ntype = struct.unpack_from(e + 'III', data, pos)
                pos += 12
                name = data[pos:pos + namesz].rstrip(b'\0').decode('ascii', 'replace')
                pos += (namesz + 3) & ~3
                desc = data[pos:pos + descsz]
                pos += (descsz + 3) & ~3
                notes.append({'name': name, 'type': ntype, 'namesz': namesz, 'descsz': descsz,
                              'desc': desc.hex()})
        else:
            note_segs.append({'other_ptype': p_type, 'offset': hx(off), 'filesz': hx(fsz)})
    sections = []
    if shnum and shoff:
        # QEMU 7.2 writes the section headers of big-endian targets little-endian; try the
        # ELF's byte order first, then the other one, and report which was plausible.
        size = os.path.getsize(path)
        for se in (e, '<' if e == '>' else '>'):
            secs = []
            ok = True
            for i in range(shnum):
                f.seek(shoff + i * shentsize)
                if cls == 64:
                    nm, st, sf, sa, so, ss, sl, si, sal, sen = struct.unpack(se + 'IIQQQQIIQQ', f.read(64))
                else:
                    nm, st, sf, sa, so, ss, sl, si, sal, sen = struct.unpack(se + 'IIIIIIIIII', f.read(40))
                if so > size or ss > size:
                    ok = False
                secs.append([nm, st, so, ss])
            if ok:
                break
        strtab = b''
        if ok and shstrndx < len(secs):
            f.seek(secs[shstrndx][2])
            strtab = f.read(secs[shstrndx][3])
        for nm, st, so, ss in secs:
            name = strtab[nm:].split(b'\0', 1)[0].decode('ascii', 'replace') if nm < len(strtab) else ''
            sections.append({'name': name, 'type': st, 'offset': hx(so), 'size': hx(ss)})
        elf['section_header_data'] = ('lsb' if se == '<' else 'msb') if ok else 'unreadable'
    return elf, note_segs, loads, notes, sections


def run_gdb(path, machine):
    prog, arches = GDB_ARCH.get(machine, ('gdb-multiarch', []))
    for arch in [None] + arches:
        cmd = [prog, '-batch', '-nx']
        if arch:
            cmd += ['-ex', 'set architecture ' + arch]
        cmd += ['-c', path, '-ex', 'info registers', '-ex', 'p/x $pc']
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.search(r'^\$1 = (0x[0-9a-f]+)\s*$', r.stdout, re.M)
        if not m:
            continue
        regs = [l for l in r.stdout.splitlines() if not l.startswith('$1 =')
                and not l.startswith('[New ') and not l.startswith('Core was generated')
                and not l.startswith('#0 ') and l.strip()]
        shown = ' '.join(c if ' ' not in c else "'%s'" % c for c in cmd)
        g = {'pc': m.group(1), 'registers': '\n'.join(regs[:24]), 'command': shown}
        if machine == 62:
            g['linux_bases'] = linux_bases(prog, path)
        return g
    return None


def linux_bases(prog, path):
    # x86-64: QEMU's core has OSABI 0, so gdb's plain amd64 register set has no fs_base/gs_base;
    # with osabi GNU/Linux gdb reads them from NT_PRSTATUS (pr_reg[21], pr_reg[22])
    cmd = [prog, '-batch', '-nx', '-ex', 'set osabi GNU/Linux', '-c', path,
           '-ex', 'p/x $fs_base', '-ex', 'p/x $gs_base']
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    v = re.findall(r'^\$[12] = (0x[0-9a-f]+)\s*$', r.stdout, re.M)
    if len(v) != 2:
        return None
    shown = ' '.join(c if ' ' not in c else "'%s'" % c for c in cmd)
    return {'fs_base': v[0], 'gs_base': v[1], 'command': shown.replace(path, 'OUT.elf')}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('elf')
    ap.add_argument('--stream', required=True)
    ap.add_argument('--source', required=True)
    ap.add_argument('--qemu', required=True)
    ap.add_argument('--no-gdb', action='store_true')
    a = ap.parse_args()
    elf, note_segs, loads, notes, sections = parse(a.elf)
    out = {'stream': a.stream, 'source': a.source, 'qemu': a.qemu, 'elf': elf,
           'file_size': os.path.getsize(a.elf), 'note_segments': note_segs,
           'loads': loads, 'notes': notes}
    if sections:
        out['sections'] = sections
    if not a.no_gdb:
        g = run_gdb(os.path.abspath(a.elf), elf['machine'])
        if g:
            g['command'] = g['command'].replace(os.path.abspath(a.elf), 'OUT.elf')
            out['gdb'] = g
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')


main()
