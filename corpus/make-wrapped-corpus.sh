#!/usr/bin/env bash
# Regenerate corpus/wrapped/: real libvirt save images (every compression format), a managed
# save, `virsh dump` files, an external snapshot memory file and a qcow2 with two internal
# snapshots (and one whose VM state is in zstd clusters), each with the bare QEMU stream the REAL tools extract.
#
#   corpus/make-wrapped-corpus.sh [--no-trixie] [--trixie-only] [--only NAME]... [--keep-work]
#   corpus/make-wrapped-corpus.sh --readme-only     # rewrite README.md from manifest.jsonl
#
# Results are merged into wrapped/manifest.jsonl by name, so --only / --trixie-only runs
# replace just their own entries.
# Needs root (libvirt's embedded QEMU driver runs QEMU as root; the trixie part uses chroot and
# bind mounts). No libvirtd: every virsh process uses "qemu:///embed?root=DIR", a private driver
# root with its own qemu.conf (written per image, see mkroot). Each image is made by ONE virsh
# process (the domain state lives in it): define, start, let the guest run 2 s (virsh's
# `event --all --loop --timeout 2`, SeaBIOS dirties RAM meanwhile), then save/dump/snapshot.
#
# Host part (Debian bookworm): libvirt 9.0 + QEMU 7.2 from the host. Install with
#   apt-get install -y --no-install-recommends libvirt-daemon-driver-qemu libvirt-clients \
#       libvirt-daemon qemu-system-x86 qemu-utils lzop bzip2 xz-utils zstd
# Trixie part (zstd and sparse saves; skip with --no-trixie): libvirt 11.3 + QEMU 10.0 in a
# Debian trixie chroot (TRIXIE_ROOT, default /srv/trixie), made with
#   debootstrap --variant=minbase trixie /srv/trixie http://deb.debian.org/debian
#   mount -t proc proc /srv/trixie/proc
#   chroot /srv/trixie apt-get install -y --no-install-recommends libvirt-daemon-driver-qemu \
#       libvirt-clients libvirt-daemon qemu-system-x86 qemu-utils lzop bzip2 xz-utils zstd
# The work directory is bind-mounted into the chroot under the same path.
#
# Ground truth is made by the real tools only: for a save image
# `tail -c +$((92 + data_len + 1)) F | <prog> -dc` (data_len = header u32 at offset 20, host byte
# order, read with od), for a dump `<prog> -dc F`, for the qcow2 `qemu-img snapshot -a NAME` on a
# copy and `qemu-io -r -c 'read -b -v 0 SIZE'` (SIZE = vm-state-size from `qemu-img info`,
# rounded up to 512 because qemu-io wants sector-aligned counts; the hex dump is converted to
# bytes and cut to vm-state-size). Every stream must pass `migscope info` (MIGSCOPE, default
# build/tools/migscope). The guests run, so every run gives different bytes: the images and
# their streams belong together; regenerate them together.
#
# Output: wrapped/NAME.xz (xz -9 of the file exactly as libvirt/QEMU wrote it),
# wrapped/BASE.stream.mig.xz (ground truth), wrapped/manifest.jsonl (every fact), and
# wrapped/README.md (generated from the manifest).
set -euo pipefail

CORPUS=$(cd "$(dirname "$0")" && pwd)
OUT="$CORPUS/wrapped"
MIGSCOPE=${MIGSCOPE:-$CORPUS/../build/tools/migscope}
TRIXIE_ROOT=${TRIXIE_ROOT:-/srv/trixie}
DOHOST=1 DOTRIXIE=1 KEEP=0 READMEONLY=0
ONLY=() FAILS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-trixie) DOTRIXIE=0 ;;
        --trixie-only) DOHOST=0 ;;
        --only) ONLY+=("$2"); shift ;;
        --keep-work) KEEP=1 ;;
        --readme-only) READMEONLY=1 DOHOST=0 DOTRIXIE=0 ;;
        -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$READMEONLY" = 1 ] || [ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
[ -x "$MIGSCOPE" ] || { echo "no migscope binary at $MIGSCOPE (set MIGSCOPE=...)" >&2; exit 1; }
for t in virsh qemu-img qemu-io gzip bzip2 xz lzop zstd python3 od sha256sum; do
    command -v $t >/dev/null || { echo "missing $t" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/migscope-wrapped.XXXXXX)
MOUNTED=()   # mounts made in the trixie chroot, undone in reverse order
cleanup() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[i]}" 2>/dev/null || true; done
    [ -d "$TRIXIE_ROOT$WORK" ] && rmdir "$TRIXIE_ROOT$WORK" 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$OUT"
want() { [ ${#ONLY[@]} = 0 ] && return 0; local n; for n in "${ONLY[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

# libvirt's defaults name these users/groups even when qemu.conf says root
ensure_users() {   # [chroot prefix...]
    "$@" sh -c 'getent group kvm >/dev/null || groupadd -r kvm
                getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
                id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -s /usr/sbin/nologin libvirt-qemu'
}

# ---------------------------------------------------------------------------------------
# helper: header parser, qemu-io hex dump converter, manifest and README writer
cat > "$WORK/wrapped.py" <<'PYEOF'
import hashlib, json, lzma, os, re, struct, subprocess, sys, zlib, bz2
import xml.etree.ElementTree as ET

FORMATS = {0: 'raw', 1: 'gzip', 2: 'bzip2', 3: 'xz', 4: 'lzop', 5: 'zstd', 6: 'sparse'}

def header(path):
    with open(path, 'rb') as f:
        h = f.read(92)
        magic = h[:16].decode('latin1')
        le = struct.unpack_from('<I', h, 16)[0]
        order = '<' if le < 0x10000 else '>'
        version, data_len, was_running, fmt, cookie_off = struct.unpack_from(order + '5I', h, 16)
        unused = struct.unpack_from(order + '14I', h, 36)
        data = f.read(data_len)
        first = f.read(16)
    xml_end = data.index(b'\0')
    xml = data[:xml_end].decode()
    rest = data[cookie_off:] if cookie_off else b''
    cookie = ''
    if cookie_off and rest[:1] not in (b'', b'\0'):
        cookie = rest[:rest.index(b'\0')].decode()
    used = (cookie_off + len(cookie.encode()) + 1) if cookie else xml_end + 1
    pad = data[used:]
    d = ET.fromstring(xml)
    osT = d.find('os/type')
    mem = d.find('memory')
    return dict(magic=magic, byte_order='little' if order == '<' else 'big', version=version,
                data_len=data_len, was_running=was_running, format=fmt,
                format_name=FORMATS.get(fmt, '?'), cookieOffset=cookie_off,
                unused_all_zero=all(u == 0 for u in unused), xml_len=xml_end,
                cookie_len=len(cookie.encode()), padding_len=len(pad),
                padding_all_zero=pad.count(0) == len(pad), stream_offset=92 + data_len,
                payload_first_bytes=first.hex(), cookie=cookie,
                domain=dict(name=d.findtext('name'), uuid=d.findtext('uuid'),
                            memory=f"{mem.text} {mem.get('unit', 'KiB')}",
                            vcpus=d.findtext('vcpu'), machine=osT.get('machine'),
                            type=d.get('type')))

def payload_info(path, offset, fmt_name):
    """What the compressed payload looks like (members, blocks, trailing bytes)."""
    with open(path, 'rb') as f:
        f.seek(offset)
        p = f.read()
    r = dict(payload_len=len(p))
    if fmt_name == 'gzip':
        members, rest = 0, p
        while rest[:2] == b'\x1f\x8b':
            o = zlib.decompressobj(31); o.decompress(rest); members += 1; rest = o.unused_data
        r.update(gzip_members=members, trailing_bytes=len(rest),
                 gzip_mtime=struct.unpack_from('<I', p, 4)[0], gzip_xfl=p[8], gzip_os=p[9])
    elif fmt_name == 'bzip2':
        streams, rest = 0, p
        while rest[:3] == b'BZh':
            o = bz2.BZ2Decompressor(); o.decompress(rest); streams += 1; rest = o.unused_data
        r.update(bzip2_streams=streams, bzip2_level=chr(p[3]), trailing_bytes=len(rest))
    elif fmt_name == 'xz':
        tmp = path + '.payload.xz'   # xz --list cannot read standard input
        open(tmp, 'wb').write(p)
        out = subprocess.run(['xz', '--robot', '-lvv', tmp], capture_output=True).stdout.decode()
        os.unlink(tmp)
        for line in out.splitlines():
            t = line.split('\t')
            if t[0] == 'totals':
                r.update(xz_streams=int(t[1]), xz_blocks=int(t[2]), xz_check=t[6], xz_sizes_in_headers=t[10])
            if t[0] == 'block' and 'xz_filters' not in r:
                r['xz_filters'] = t[-1]
        o = lzma.LZMADecompressor(); o.decompress(p); r['trailing_bytes'] = len(o.unused_data)
    elif fmt_name == 'lzop':
        r.update(lzop_parse(p))
    elif fmt_name == 'zstd':
        tmp = path + '.payload.zst'
        open(tmp, 'wb').write(p)
        out = subprocess.run(['zstd', '-lv', tmp], capture_output=True)
        os.unlink(tmp)
        txt = (out.stdout + out.stderr).decode(errors='replace')
        m = re.search(r'# Zstandard Frames:\s*(\d+)', txt)
        r['zstd_frames'] = int(m.group(1)) if m else None
        m = re.search(r'Window Size:\s*(.*)', txt)
        r['zstd_window'] = m.group(1).strip() if m else None
        m = re.search(r'Check:\s*(.*)', txt)
        r['zstd_check'] = m.group(1).strip() if m else None
        r['trailing_bytes'] = 0 if out.returncode == 0 else None
    return r

def lzop_parse(p):
    F_ADLER32_D, F_ADLER32_C, F_CRC32_D, F_CRC32_C = 1, 2, 0x100, 0x200
    F_H_EXTRA_FIELD, F_H_FILTER, F_H_CRC32 = 0x40, 0x800, 0x1000
    assert p[:9] == b'\x89LZO\x00\r\n\x1a\n'
    o = 9
    ver, libver, extver = struct.unpack_from('>HHH', p, o); o += 6
    method, level = p[o], p[o + 1]; o += 2
    flags, = struct.unpack_from('>I', p, o); o += 4
    if flags & F_H_FILTER: o += 4
    mode, mtime_lo, mtime_hi = struct.unpack_from('>III', p, o); o += 12
    nlen = p[o]; name = p[o + 1:o + 1 + nlen].decode('latin1'); o += 1 + nlen
    o += 4   # header checksum
    if flags & F_H_EXTRA_FIELD:
        l, = struct.unpack_from('>I', p, o); o += 4 + l + 4
    hdr_len = o
    sizes = []
    while True:
        dlen, = struct.unpack_from('>I', p, o); o += 4
        if dlen == 0: break
        clen, = struct.unpack_from('>I', p, o); o += 4
        if flags & F_ADLER32_D: o += 4
        if flags & F_CRC32_D: o += 4
        if clen < dlen:
            if flags & F_ADLER32_C: o += 4
            if flags & F_CRC32_C: o += 4
        o += clen
        sizes.append((dlen, clen))
    names = {0x1: 'ADLER32_D', 0x2: 'ADLER32_C', 0x4: 'STDIN', 0x8: 'STDOUT', 0x10: 'NAME_DEFAULT',
             0x20: 'DOSISH', 0x40: 'H_EXTRA_FIELD', 0x80: 'H_GMTDIFF', 0x100: 'CRC32_D',
             0x200: 'CRC32_C', 0x400: 'MULTIPART', 0x800: 'H_FILTER', 0x1000: 'H_CRC32', 0x2000: 'H_PATH'}
    fl = [n for b, n in names.items() if flags & b] + ['OS=%d' % (flags >> 24)]
    return dict(lzop_version=hex(ver), lzop_lib_version=hex(libver), lzop_extract_version=hex(extver),
                lzop_method=method, lzop_level=level, lzop_flags=hex(flags) + ' (' + '|'.join(fl) + ')', lzop_mode=oct(mode),
                lzop_mtime=mtime_lo | (mtime_hi << 32), lzop_name=name, lzop_header_len=hdr_len,
                lzop_blocks=len(sizes), lzop_block_sizes=sorted(set(d for d, _ in sizes)),
                lzop_stored_blocks=sum(1 for d, c in sizes if c >= d),
                trailing_bytes=len(p) - o)

def qmp_log(path):
    """The migration-related QMP commands libvirt sent (from its monitor debug log)."""
    keep = ('stop', 'cont', 'migrate-set-capabilities', 'migrate-set-parameters', 'migrate', 'getfd',
            'human-monitor-command', 'snapshot-save', 'transaction', 'add-fd', 'dump-guest-memory')
    res = []
    if not os.path.exists(path): return res
    for line in open(path, errors='replace'):
        m = re.search(r'QEMU_MONITOR_SEND_MSG: mon=\S+ msg=(.*)$', line)
        if not m: continue
        try: c = json.loads(m.group(1).strip())
        except ValueError: continue
        ex = c.get('execute', '')
        if ex not in keep: continue
        a = c.get('arguments', {})
        if ex == 'migrate-set-capabilities':
            on = [x['capability'] for x in a.get('capabilities', []) if x.get('state')]
            res.append('migrate-set-capabilities on: ' + (', '.join(on) if on else '(none)'))
        else:
            res.append(ex + (' ' + json.dumps(a, sort_keys=True) if a else ''))
    return res

def extents(path):
    fd = os.open(path, os.O_RDONLY); out = []; off = 0; end = os.fstat(fd).st_size
    try:
        while off < end:
            try: d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError: break
            h = os.lseek(fd, d, os.SEEK_HOLE)
            out.append([d, h - d]); off = h
    finally:
        os.close(fd)
    return out

def hex2bin(hexfile, out, size):
    b = bytearray()
    for line in open(hexfile):
        m = re.match(r'^([0-9a-f]{8}):  ((?:[0-9a-f]{2} ){1,16})', line)
        if not m: continue
        off = int(m.group(1), 16)
        assert off == len(b), (off, len(b))
        b += bytes.fromhex(m.group(2).replace(' ', ''))
    assert len(b) >= size, (len(b), size)
    b = bytes(b[:size])
    assert b[:4] == b'QEVM', b[:4]
    open(out, 'wb').write(b)

def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for c in iter(lambda: f.read(1 << 20), b''): h.update(c)
    return h.hexdigest()

def migscope_info(migscope, path):
    p = subprocess.run([migscope, 'info', path], capture_output=True)
    out = p.stdout.decode(errors='replace').replace(os.path.dirname(path) + '/', '')
    keep = {}
    for k in ('format', 'machine', 'vmdesc', 'EOF', 'footers', 'commands', 'sections'):
        m = re.search(r'^%s:\s*(.*)$' % re.escape(k), out, re.M)
        if m: keep[k] = m.group(1).strip()
    return dict(rc=p.returncode, summary=keep, stdout=out, stderr=p.stderr.decode(errors='replace'))

def record(args):
    # record MANIFEST JSON-OF-FIXED-FIELDS
    manifest, fixed = args[0], json.loads(args[1])
    e = dict(fixed)
    img = e['image_path']
    e['image_size'] = os.path.getsize(img)
    e['image_disk_usage'] = os.stat(img).st_blocks * 512
    e['image_sha256'] = sha(img)
    if e['kind'] in ('save', 'managedsave', 'snapshot-memory'):
        e['header'] = header(img)
        e['payload'] = payload_info(img, e['header']['stream_offset'], e['header']['format_name']) \
            if e['header']['format_name'] != 'sparse' else {}
    elif e['kind'] == 'dump':
        e['payload'] = payload_info(img, 0, e['compression'])
    for s in e.get('streams', []):
        s['size'] = os.path.getsize(s['path'])
        s['sha256'] = sha(s['path'])
        s['migscope_info'] = migscope_info(e['migscope'], s['path'])
        if s['migscope_info']['rc'] != 0:
            print('migscope info failed on', s['path'], s['migscope_info']['stderr'], file=sys.stderr)
            sys.exit(1)
        s['migscope_info'].pop('stdout'); s['migscope_info'].pop('stderr')
        if e.get('domain') and '-' not in e['domain']['machine']:
            e['domain']['machine'] += ' (stream: %s)' % s['migscope_info']['summary'].get('machine')
    e['qmp'] = qmp_log(e.pop('monitor_log', ''))
    if e['image_disk_usage'] < e['image_size'] and e['kind'] != 'qcow2':
        e['data_extents'] = extents(img)
    if e.get('info_on_image'):
        e['migscope_info_image'] = migscope_info(e['migscope'], img)
    e.pop('image_path'); e.pop('migscope')
    for s in e.get('streams', []):
        s.pop('path')
    lines = [l for l in open(manifest)] if os.path.exists(manifest) else []
    lines = [l for l in lines if json.loads(l)['name'] != e['name']]
    lines.append(json.dumps(e, sort_keys=True) + '\n')
    order = lambda l: json.loads(l)['order']
    open(manifest, 'w').writelines(sorted(lines, key=order))

def readme(args):
    manifest, template, out, outdir = args
    es = [json.loads(l) for l in open(manifest)]
    def xzsize(f):
        p = os.path.join(outdir, f)
        return os.path.getsize(p) if os.path.exists(p) else None
    cell = lambda t: str(t).replace('|', '\\|').replace('\n', ' ')
    code = lambda t: '`' + cell(t) + '`'
    T = ['| file (in git) | raw size / .xz size (bytes) | what | libvirt / QEMU |',
         '|---|---|---|---|']
    H = ['| file | magic | version | data_len | was_running | format | cookieOffset | byte order | XML + NUL | cookie + NUL | zero padding | stream at | domain name, uuid, memory, vCPUs, machine |',
         '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    P = ['| file | payload (the compressed data from the stream offset to EOF, or the dump file) |', '|---|---|']
    for e in es:
        sz = f"{e['image_size']} / {xzsize(e['file'])}"
        if e['image_disk_usage'] < e['image_size']:
            sz += f" (sparse, {e['image_disk_usage']} allocated)"
        T.append(f"| {code(e['file'])} | {sz} | {cell(e['what'])} | {cell(e['versions'])} |")
        hd = e.get('header')
        if hd:
            dm = hd['domain']
            H.append(f"| {code(e['file'])} | `{hd['magic']}` | {hd['version']} | {hd['data_len']} | {hd['was_running']} | "
                     f"{hd['format']} ({hd['format_name']}) | {hd['cookieOffset']} | {hd['byte_order']} | {hd['xml_len']}+1 | "
                     f"{hd['cookie_len']}+1 | {hd['padding_len']} | {hd['stream_offset']} | "
                     f"{dm['name']}, {dm['uuid']}, {dm['memory']}, {dm['vcpus']}, {dm['machine']} |")
        pl = dict(e.get('payload', {}))
        if e.get('data_extents'):
            pl['data_extents (offset, length)'] = e['data_extents']
        if pl:
            P.append(f"| {code(e['file'])} | " + cell('; '.join(f'{k} {v}' for k, v in sorted(pl.items()))) + ' |')
    S = ['| stream (in git) | from | how extracted (F = the image as libvirt wrote it) | raw size / .xz size | sha256 of the raw stream | `migscope info` |',
         '|---|---|---|---|---|---|']
    for e in es:
        for s in e.get('streams', []):
            mi = s['migscope_info']; sm = mi['summary']
            S.append(f"| {code(s['file'])} | {code(e['file'])} | {code(s['how'])} | {s['size']} / {xzsize(s['file'])} | `{s['sha256']}` | "
                     + cell(f"exit {mi['rc']}; {sm.get('format', '')}; machine {sm.get('machine', '')}; vmdesc {sm.get('vmdesc', '')}; EOF {sm.get('EOF', '')}; commands {sm.get('commands', '')}; sections {sm.get('sections', '')}") + ' |')
    C = ['| file | virsh commands (one process: `virsh -c \'qemu:///embed?root=$R\' \'...\'`; `$W` = work dir, `$R` = embed root) | qemu.conf (besides the common settings) | QMP commands libvirt sent for it (migration related, from its monitor log) |',
         '|---|---|---|---|']
    for e in es:
        C.append(f"| {code(e['file'])} | {code(e['virsh'])} | {cell(e['conf'])} | " + cell('; '.join(e.get('qmp', []))) + ' |')
    X = []
    for e in es:
        if e.get('domain_xml'):
            X.append(f"`{e['file']}`:\n\n```xml\n{e['domain_xml'].rstrip()}\n```\n")
    Q = []
    for e in es:
        if e['kind'] != 'qcow2': continue
        Q.append(f"`{e['file']}`:\n")
        Q.append('| id | name | vm-state-size (bytes) | date (UTC) | date-sec, date-nsec | vm clock | stream |')
        Q.append('|---|---|---|---|---|---|---|')
        for sn in e['snapshots']:
            Q.append(f"| {sn['id']} | {sn['name']} | {sn['vm-state-size']} | {sn['date']} | {sn['date-sec']}, {sn['date-nsec']} | "
                     f"{sn['vm-clock-sec']}.{sn['vm-clock-nsec']:09d} s | `{sn['stream']}` |")
        Q.append(f"\n`qemu-img snapshot -l` printed:\n\n```\n{e['snapshot_list'].rstrip()}\n```\n")
        Q.append(f"Header and snapshot table (read back from the file): {e['qcow2_facts']}\n")
    M = []
    for e in es:
        if e.get('migscope_info_image'):
            mi = e['migscope_info_image']
            M.append(f"`migscope info {e['file'][:-3]}` (exit {mi['rc']}):\n\n```\n{(mi['stdout'] + mi['stderr']).rstrip()}\n```\n")
    cookies = sorted(set(e['header']['cookie'] for e in es if e.get('header')))
    total = sum(os.path.getsize(os.path.join(outdir, f)) for f in os.listdir(outdir))
    txt = open(template).read()
    for k, v in (('@IMAGES@', T), ('@HEADERS@', H), ('@PAYLOADS@', P), ('@STREAMS@', S), ('@COMMANDS@', C),
                 ('@QCOW2@', Q), ('@SPARSEINFO@', M or ['(no sparse images in this run)\n']), ('@DOMXML@', X),
                 ('@COOKIES@', [f'```xml\n{c.rstrip()}\n```\n' for c in cookies]), ('@TOTAL@', [str(total)])):
        txt = txt.replace(k, '\n'.join(v))
    open(out, 'w').write(txt)

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'header': print(json.dumps(header(args[0]), indent=1))
    elif cmd == 'hex2bin': hex2bin(args[0], args[1], int(args[2]))
    elif cmd == 'record': record(args)
    elif cmd == 'readme': readme(args)
    else: sys.exit('unknown ' + cmd)
PYEOF
PY="python3 $WORK/wrapped.py"
MANIFEST="$OUT/manifest.jsonl"
ORDER=0

# ---------------------------------------------------------------------------------------
# VPREFIX: empty for the host, (chroot $TRIXIE_ROOT) for trixie
VPREFIX=()
COMMONCONF='user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
namespaces = []
cgroup_controllers = []
security_driver = "none"
stdio_handler = "file"'

# mkroot DIR SAVEFMT DUMPFMT SNAPFMT: a fresh embedded-driver root
mkroot() {
    rm -rf "$1"; mkdir -p "$1/etc/libvirt"
    printf 'save_image_format = "%s"\ndump_image_format = "%s"\nsnapshot_image_format = "%s"\n%s\n' \
        "$2" "$3" "$4" "$COMMONCONF" > "$1/etc/libvirt/qemu.conf"
    cp "$1/etc/libvirt/qemu.conf" "$1/etc/qemu.conf"
}
# domxml NAME MACHINE UUID [QCOW2]
domxml() {
    local disk=""
    [ -n "${4:-}" ] && disk="<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$4'/><target dev='vda' bus='virtio'/></disk>"
    cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$3</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='$2'>hvm</type></os>
  <clock offset='utc'/>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    $disk
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
# virt ROOT LOG "virsh commands": one virsh process
virt() {
    local root=$1 log=$2; shift 2
    echo "+ virsh -c qemu:///embed?root=$root \"$*\"" >> "$log"
    LIBVIRT_LOG_FILTERS="1:qemu.qemu_monitor 4:*" LIBVIRT_LOG_OUTPUTS="1:file:${log%.log}.monitor.log" \
        "${VPREFIX[@]}" virsh -c "qemu:///embed?root=$root" "$*" >> "$log" 2>&1
}
prog_of() {   # format number -> decompressor
    case "$1" in 0) echo cat ;; 1) echo "gzip -dc" ;; 2) echo "bzip2 -dc" ;; 3) echo "xz -dc" ;;
                 4) echo "lzop -dc --ignore-warn" ;; 5) echo "zstd -dc" ;; *) return 1 ;; esac
}
u32at() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }   # host byte order, like libvirt
# ground truth of a save-format file -> $2; prints the exact command used
save_stream() {
    local f=$1 out=$2 dl fmt prog
    dl=$(u32at "$f" 20); fmt=$(u32at "$f" 28)
    prog=$(prog_of "$fmt")
    tail -c +$((92 + dl + 1)) "$f" | $prog > "$out"
    if [ "$fmt" = 0 ]; then
        echo "tail -c +\$((92 + $dl + 1)) F > stream"
    else
        echo "tail -c +\$((92 + $dl + 1)) F | $prog > stream"
    fi
}
store() {   # store SRC DSTNAME: xz -9 into OUT
    xz -9 -T1 -c "$1" > "$OUT/$2.tmp"; mv "$OUT/$2.tmp" "$OUT/$2"
}
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# make_save NAME MACHINE UUID FORMAT [KIND] : virsh save (KIND save) / managedsave / snapshot-memory
make_save() {
    local name=$1 machine=$2 uuid=$3 fmt=$4 kind=${5:-save} ext=${6:-save}
    ORDER=$((ORDER + 1))
    want "$name" || return 0
    local d="$WORK/$name" root="$WORK/$name/root" dom="mig-$name"
    mkdir -p "$d"; mkroot "$root" "$fmt" "$fmt" "$fmt"
    domxml "$dom" "$machine" "$uuid" > "$d/dom.xml"
    local img cmds extra=""
    case "$kind" in
        save) img="$d/$name.save"
              cmds="define $d/dom.xml; start $dom; event --all --loop --timeout 2; save $dom $img${SAVEOPTS:+ $SAVEOPTS}; list --all" ;;
        managedsave) img="$root/lib/qemu/save/$dom.save"
              cmds="define $d/dom.xml; start $dom; event --all --loop --timeout 2; managedsave $dom; list --all; dominfo $dom" ;;
        snapshot-memory) img="$d/$name.mem"
              cmds="define $d/dom.xml; start $dom; event --all --loop --timeout 2; snapshot-create-as $dom s1 --memspec file=$img,snapshot=external; snapshot-list $dom; destroy $dom" ;;
    esac
    echo "== $name ($kind, $machine, $fmt)"
    if ! virt "$root" "$d/virsh.log" "$cmds" || [ ! -s "$img" ]; then
        echo "FAILED: $name (see below)" >&2; tail -20 "$d/virsh.log" >&2; FAILS+=("$name"); return 0
    fi
    local how=""
    [ "$fmt" = sparse ] || how=$(save_stream "$img" "$d/stream.mig")
    local file="$name.$ext.xz" sfile="$name.stream.mig.xz"
    local shown=${cmds//$WORK\/$name\/root/\$R}; shown=${shown//$WORK\/$name/\$W}
    $PY record "$MANIFEST" "$(cat <<EOF
{"name": "$name", "order": $ORDER, "kind": "$kind", "file": "$file", "image_path": "$img",
 "what": $(jstr "$WHAT"), "versions": $(jstr "$VERSIONS"), "migscope": "$MIGSCOPE", "monitor_log": "$d/virsh.monitor.log",
 "virsh": $(jstr "$shown"), "conf": $(jstr "save_image_format = \"$fmt\", dump_image_format = \"$fmt\", snapshot_image_format = \"$fmt\""),
 "info_on_image": $([ "$fmt" = sparse ] && echo true || echo false),
 "streams": [$( [ "$fmt" = sparse ] || echo "{\"file\": \"$sfile\", \"path\": \"$d/stream.mig\", \"how\": $(jstr "$how")}")]}
EOF
)"
    store "$img" "$file"
    [ "$fmt" = sparse ] || store "$d/stream.mig" "$sfile"
    rm -f "$d/stream.mig"
}

# make_dump NAME MACHINE UUID FORMAT EXT
make_dump() {
    local name=$1 machine=$2 uuid=$3 fmt=$4 ext=$5
    ORDER=$((ORDER + 1))
    want "$name" || return 0
    local d="$WORK/$name" root="$WORK/$name/root" dom="mig-$name"
    mkdir -p "$d"; mkroot "$root" raw "$fmt" raw
    domxml "$dom" "$machine" "$uuid" > "$d/dom.xml"
    local img="$d/$name.$ext"
    local cmds="define $d/dom.xml; start $dom; event --all --loop --timeout 2; dump $dom $img; destroy $dom"
    echo "== $name (dump, $machine, $fmt)"
    if ! virt "$root" "$d/virsh.log" "$cmds" || [ ! -s "$img" ]; then
        echo "FAILED: $name" >&2; tail -20 "$d/virsh.log" >&2; FAILS+=("$name"); return 0
    fi
    local prog; prog=$(prog_of "$(case $fmt in raw) echo 0;; gzip) echo 1;; bzip2) echo 2;; xz) echo 3;; lzop) echo 4;; zstd) echo 5;; esac)")
    $prog "$img" > "$d/stream.mig"
    local file="$name.$ext.xz" sfile="$name.stream.mig.xz"
    local shown=${cmds//$WORK\/$name\/root/\$R}; shown=${shown//$WORK\/$name/\$W}
    $PY record "$MANIFEST" "$(cat <<EOF
{"name": "$name", "order": $ORDER, "kind": "dump", "compression": "$fmt", "file": "$file", "image_path": "$img",
 "what": $(jstr "$WHAT"), "versions": $(jstr "$VERSIONS"), "migscope": "$MIGSCOPE", "monitor_log": "$d/virsh.monitor.log",
 "domain": {"name": "$dom", "uuid": "$uuid", "memory": "128 MiB", "vcpus": "1", "machine": "$machine"},
 "virsh": $(jstr "$shown"), "conf": $(jstr "dump_image_format = \"$fmt\""),
 "streams": [{"file": "$sfile", "path": "$d/stream.mig", "how": $(jstr "$prog F > stream")}]}
EOF
)"
    store "$img" "$file"; store "$d/stream.mig" "$sfile"; rm -f "$d/stream.mig"
}

# qcow2_facts IMG: its header and snapshot table, read back from the file, in one line
qcow2_facts() {
    python3 - "$1" <<'EOF'
import struct, sys
h = open(sys.argv[1], 'rb').read(112)
magic, ver = h[:4], struct.unpack_from('>I', h, 4)[0]
cb, = struct.unpack_from('>I', h, 20); size, = struct.unpack_from('>Q', h, 24)
l1s, = struct.unpack_from('>I', h, 36); l1o, = struct.unpack_from('>Q', h, 40)
ns, = struct.unpack_from('>I', h, 60); so, = struct.unpack_from('>Q', h, 64)
f = open(sys.argv[1], 'rb'); f.seek(so); t = f.read(65536)
o, ents = 0, []
for i in range(ns):
    l1off, l1sz, idl, nml, ds, dn, vmc, vss, eds = struct.unpack_from('>QIHHIIQII', t, o)
    extra = t[o + 40:o + 40 + eds]
    o2 = o + 40 + eds
    idstr = t[o2:o2 + idl].decode(); nm = t[o2 + idl:o2 + idl + nml].decode()
    ex = struct.unpack_from('>%dQ' % (eds // 8), extra)
    ents.append(f"id {idstr} name {nm} l1_table_offset {l1off:#x} l1_size {l1sz} vm_state_size {vss} extra_data_size {eds} extra {list(ex)}")
    o = (o2 + idl + nml + 7) & ~7
hl, = struct.unpack_from('>I', h, 100) if ver == 3 else (72,)
ct = f", incompatible_features {struct.unpack_from('>Q', h, 72)[0]:#x}, compression_type {h[104]}" if ver == 3 and hl > 104 else ""
print(f"version {ver}, cluster_bits {cb}, virtual size {size}, l1_size {l1s}, nb_snapshots {ns}, snapshots_offset {so:#x}{ct}; table: " + '; '.join(ents))
EOF
}
# qcow2_snaps INFO_JSON NAME: the snapshots of `qemu-img info --output=json`, for the manifest
qcow2_snaps() {
    python3 - "$1" "$2" <<'EOF'
import json, sys, datetime
s = json.load(open(sys.argv[1]))['snapshots']
for x in s:
    x['date'] = datetime.datetime.utcfromtimestamp(x['date-sec']).strftime('%Y-%m-%d %H:%M:%S')
    x['stream'] = f"{sys.argv[2]}.{x['name']}.stream.mig.xz"
print(json.dumps(s))
EOF
}

# make_qcow2 NAME MACHINE UUID: guest with a 16 MiB qcow2 disk, internal snapshots s1 and s2
make_qcow2() {
    local name=$1 machine=$2 uuid=$3
    ORDER=$((ORDER + 1))
    want "$name" || return 0
    local d="$WORK/$name" root="$WORK/$name/root" dom="mig-$name"
    mkdir -p "$d"; mkroot "$root" raw raw raw
    local img="$d/$name.qcow2"
    qemu-img create -q -f qcow2 "$img" 16M
    domxml "$dom" "$machine" "$uuid" "$img" > "$d/dom.xml"
    local cmds="define $d/dom.xml; start $dom; event --all --loop --timeout 2; snapshot-create-as $dom s1; event --all --loop --timeout 1; snapshot-create-as $dom s2; snapshot-list $dom; destroy $dom"
    echo "== $name (qcow2 internal snapshots, $machine)"
    if ! virt "$root" "$d/virsh.log" "$cmds"; then
        echo "FAILED: $name" >&2; tail -20 "$d/virsh.log" >&2; FAILS+=("$name"); return 0
    fi
    qemu-img snapshot -l "$img" > "$d/snapshot-list.txt"
    qemu-img info --output=json "$img" > "$d/info.json"
    local streams="" snaps="" sn size
    for sn in s1 s2; do
        size=$(python3 -c 'import json,sys; print([s for s in json.load(open(sys.argv[1]))["snapshots"] if s["name"]==sys.argv[2]][0]["vm-state-size"])' "$d/info.json" "$sn")
        cp "$img" "$d/copy.qcow2"
        qemu-img snapshot -a "$sn" "$d/copy.qcow2"
        local rsize=$(( (size + 511) / 512 * 512 ))
        qemu-io -f qcow2 -r -c "read -b -v 0 $rsize" "$d/copy.qcow2" > "$d/$sn.hex"
        $PY hex2bin "$d/$sn.hex" "$d/$sn.mig" "$size"
        rm -f "$d/copy.qcow2" "$d/$sn.hex"
        streams+="${streams:+,}{\"file\": \"$name.$sn.stream.mig.xz\", \"path\": \"$d/$sn.mig\", \"how\": $(jstr "cp F C; qemu-img snapshot -a $sn C; qemu-io -f qcow2 -r -c 'read -b -v 0 $rsize' C | (hex dump -> bytes, first $size)")}"
    done
    local facts snaps
    facts=$(qcow2_facts "$img")
    snaps=$(qcow2_snaps "$d/info.json" "$name")
    local shown=${cmds//$WORK\/$name\/root/\$R}; shown=${shown//$WORK\/$name/\$W}
    $PY record "$MANIFEST" "$(cat <<EOF
{"name": "$name", "order": $ORDER, "kind": "qcow2", "file": "$name.qcow2.xz", "image_path": "$img",
 "what": $(jstr "$WHAT"), "versions": $(jstr "$VERSIONS"), "migscope": "$MIGSCOPE", "monitor_log": "$d/virsh.monitor.log",
 "domain": {"name": "$dom", "uuid": "$uuid", "memory": "128 MiB", "vcpus": "1", "machine": "$machine"},
 "virsh": $(jstr "qemu-img create -f qcow2 \$W/$name.qcow2 16M; $shown"), "conf": "(formats irrelevant)",
 "snapshots": $snaps, "snapshot_list": $(jstr "$(cat "$d/snapshot-list.txt")"), "qcow2_facts": $(jstr "$facts"),
 "streams": [$streams]}
EOF
)"
    store "$img" "$name.qcow2.xz"
    for sn in s1 s2; do store "$d/$sn.mig" "$name.$sn.stream.mig.xz"; rm -f "$d/$sn.mig"; done
}

# make_qcow2_zstd NAME MACHINE UUID: a snapshot whose VM state is in zstd-compressed clusters.
# QEMU writes a VM state with plain writes only (qemu-io `write -b -c` too), so none of its own
# images has a compressed VM state cluster; this one is made of QEMU's own pieces:
#   1. a real savevm (libvirt's internal snapshot s1) into a qcow2 made with compression_type=zstd,
#      and its VM state as qemu-io reads it (G);
#   2. `qemu-img convert -c -o compression_type=zstd` of a raw file that holds G at the guest
#      offset where the VM state of a 16 MiB disk lives (512 MiB with 64 KiB clusters): QEMU's
#      own compressor writes G into zstd clusters; `qemu-img snapshot -c s1` then keeps them in
#      the snapshot's L1 table, and `qemu-img resize --shrink` back to 16 MiB drops them from
#      the active layer (as savevm does after writing a VM state);
#   3. the snapshot entry's vm_state_size (u32 and vm_state_size_large) and disk_size are set to
#      those of step 1, its date, VM clock and icount copied from it: the only bytes not QEMU's.
# Ground truth: qemu-io reads the VM state of the result (after `qemu-img snapshot -a`), through
# QEMU's zstd decompression; it must equal G, and `qemu-img check` must find no error.
make_qcow2_zstd() {
    local name=$1 machine=$2 uuid=$3
    ORDER=$((ORDER + 1))
    want "$name" || return 0
    local d="$WORK/$name" root="$WORK/$name/root" dom="mig-$name"
    mkdir -p "$d"; mkroot "$root" raw raw raw
    local saved="$d/saved.qcow2" img="$d/$name.qcow2"
    qemu-img create -q -f qcow2 -o compression_type=zstd "$saved" 16M
    domxml "$dom" "$machine" "$uuid" "$saved" > "$d/dom.xml"
    local cmds="define $d/dom.xml; start $dom; event --all --loop --timeout 2; snapshot-create-as $dom s1; snapshot-list $dom; destroy $dom"
    echo "== $name (qcow2, VM state in zstd clusters, $machine)"
    if ! virt "$root" "$d/virsh.log" "$cmds"; then
        echo "FAILED: $name" >&2; tail -20 "$d/virsh.log" >&2; FAILS+=("$name"); return 0
    fi
    local size rsize
    size=$(qemu-img info --output=json "$saved" | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][0]["vm-state-size"])')
    rsize=$(( (size + 511) / 512 * 512 ))
    vmstate_of() {   # vmstate_of IMAGE OUT: qemu-io's reading of snapshot s1's VM state
        cp "$1" "$d/copy.qcow2"; qemu-img snapshot -a s1 "$d/copy.qcow2"
        qemu-io -f qcow2 -r -c "read -b -v 0 $rsize" "$d/copy.qcow2" > "$d/vm.hex"
        $PY hex2bin "$d/vm.hex" "$2" "$size"; rm -f "$d/copy.qcow2" "$d/vm.hex"
    }
    vmstate_of "$saved" "$d/saved.mig"
    truncate -s $((512 << 20)) "$d/raw.img"; cat "$d/saved.mig" >> "$d/raw.img"
    qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd "$d/raw.img" "$img"
    rm -f "$d/raw.img"
    qemu-img snapshot -c s1 "$img"
    qemu-img resize -q --shrink "$img" 16M
    python3 - "$img" "$saved" "$size" $((16 << 20)) <<'EOF'
import struct, sys
img, donor, n, disk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def entry(d):
    at = struct.unpack_from('>Q', d, 64)[0]
    return at, struct.unpack_from('>I', d, at + 36)[0]
d = bytearray(open(img, 'rb').read()); o = open(donor, 'rb').read()
at, extra = entry(d); oat, oextra = entry(o)
assert struct.unpack_from('>I', d, 60)[0] == 1 and extra >= 16 and oextra >= 16
d[at + 16:at + 32] = o[oat + 16:oat + 32]           # date_sec, date_nsec, vm_clock_nsec
struct.pack_into('>I', d, at + 32, n)                # vm_state_size
struct.pack_into('>QQ', d, at + 40, n, disk)         # vm_state_size_large, disk_size
if extra >= 24 and oextra >= 24: d[at + 56:at + 64] = o[oat + 56:oat + 64]  # icount
open(img, 'wb').write(d)
EOF
    qemu-img check "$img" > "$d/check.txt" || { echo "FAILED: $name: qemu-img check" >&2; cat "$d/check.txt" >&2; FAILS+=("$name"); return 0; }
    vmstate_of "$img" "$d/s1.mig"
    cmp "$d/s1.mig" "$d/saved.mig" || { echo "FAILED: $name: qemu-io reads another VM state" >&2; FAILS+=("$name"); return 0; }
    local clusters; clusters=$(python3 - "$img" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
cb, = struct.unpack_from('>I', d, 20); so, = struct.unpack_from('>Q', d, 64)
l1o, l1s = struct.unpack_from('>QI', d, so)
l2 = struct.unpack_from('>Q', d, l1o + 8)[0] & 0x00fffffffffffe00
x = 62 - (cb - 8); kinds = {'compressed': 0, 'normal': 0, 'unallocated': 0}
for j in range(1 << (cb - 3)):
    e, = struct.unpack_from('>Q', d, l2 + 8 * j)
    kinds['compressed' if e >> 62 & 1 else 'normal' if e & 0x00fffffffffffe00 else 'unallocated'] += 1
first = struct.unpack_from('>Q', d, l2)[0] & ((1 << x) - 1)
print(f"VM state L2 table at {l2:#x}: {kinds['compressed']} compressed entries (zstd, the first at {first:#x}, magic {d[first:first + 4].hex()}), "
      f"{kinds['normal']} normal, {kinds['unallocated']} unallocated")
EOF
)
    qemu-img snapshot -l "$img" > "$d/snapshot-list.txt"
    qemu-img info --output=json "$img" > "$d/info.json"
    local facts snaps
    facts="$(qcow2_facts "$img"); $clusters; qemu-img check: $(tr '\n' ' ' < "$d/check.txt")"
    snaps=$(qcow2_snaps "$d/info.json" "$name")
    local streams="{\"file\": \"$name.s1.stream.mig.xz\", \"path\": \"$d/s1.mig\", \"how\": $(jstr "cp F C; qemu-img snapshot -a s1 C; qemu-io -f qcow2 -r -c 'read -b -v 0 $rsize' C | (hex dump -> bytes, first $size); equal to the same reading of the savevm image of step 1")}"
    local shown=${cmds//$WORK\/$name\/root/\$R}; shown=${shown//$WORK\/$name/\$W}
    $PY record "$MANIFEST" "$(cat <<EOF
{"name": "$name", "order": $ORDER, "kind": "qcow2", "file": "$name.qcow2.xz", "image_path": "$img",
 "what": $(jstr "$WHAT"), "versions": $(jstr "$VERSIONS"), "migscope": "$MIGSCOPE", "monitor_log": "$d/virsh.monitor.log",
 "domain": {"name": "$dom", "uuid": "$uuid", "memory": "128 MiB", "vcpus": "1", "machine": "$machine"},
 "virsh": $(jstr "qemu-img create -f qcow2 -o compression_type=zstd \$W/saved.qcow2 16M; $shown; then: truncate -s 512M raw; cat (its VM state) >> raw; qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd raw F; qemu-img snapshot -c s1 F; qemu-img resize --shrink F 16M; snapshot entry: vm_state_size $size, disk_size 16 MiB, date/VM clock/icount of saved.qcow2's s1"),
 "conf": "(formats irrelevant)",
 "snapshots": $snaps, "snapshot_list": $(jstr "$(cat "$d/snapshot-list.txt")"), "qcow2_facts": $(jstr "$facts"),
 "streams": [$streams]}
EOF
)"
    store "$img" "$name.qcow2.xz"
    store "$d/s1.mig" "$name.s1.stream.mig.xz"; rm -f "$d/s1.mig" "$d/saved.mig"
}

# =======================================================================================
if [ "$DOHOST" = 1 ]; then
ensure_users
VERSIONS="libvirt $(virsh --version) (Debian $(dpkg-query -W -f '${Version}' libvirt-daemon-driver-qemu)) / QEMU $(qemu-system-x86_64 --version | head -1 | sed 's/.*version //'), Debian bookworm host"
echo "host: $VERSIONS"
PCU=6d1f3c5e-0b2a-4c1e-9f00-00000000
for m in pc q35; do
    i=0
    for f in raw gzip bzip2 xz lzop; do
        i=$((i + 1))
        WHAT="virsh save, machine $m, save_image_format $f, guest running 2 s"
        make_save "$m-$f" "$m" "$PCU$( [ $m = pc ] && echo 01 || echo 02 )$(printf %02d $i)" "$f"
    done
done
WHAT="virsh managedsave (file from \$R/lib/qemu/save/), machine q35, save_image_format gzip, guest running 2 s"
make_save q35-managed q35 ${PCU}0301 gzip managedsave
WHAT="external snapshot memory file (snapshot-create-as --memspec ...,snapshot=external, domain without disks), machine q35, snapshot_image_format raw"
make_save q35-snapmem q35 ${PCU}0302 raw snapshot-memory
WHAT="virsh dump without --memory-only (bare stream), dump_image_format gzip, machine q35"
make_dump q35-dump-gzip q35 ${PCU}0401 gzip mig.gz
WHAT="virsh dump without --memory-only (bare stream), dump_image_format xz, machine q35"
make_dump q35-dump-xz q35 ${PCU}0402 xz mig.xz
WHAT="qcow2 (16 MiB virtual, virtio disk) with two internal snapshots with VM state: snapshot-create-as s1 after 2 s, s2 1 s later"
make_qcow2 q35-2snaps q35 ${PCU}0501
WHAT="qcow2 (compression type zstd, 16 MiB virtual) with one internal snapshot whose VM state (a real savevm: snapshot-create-as s1 after 2 s) is in zstd-compressed clusters written by qemu-img convert -c (see make_qcow2_zstd)"
make_qcow2_zstd q35-zstd-vmstate q35 ${PCU}0502
fi

# =======================================================================================
if [ "$DOTRIXIE" = 1 ]; then
if [ ! -x "$TRIXIE_ROOT/usr/bin/virsh" ]; then
    echo "no libvirt in $TRIXIE_ROOT (see the header of this script); skipping the trixie part" >&2
    FAILS+=(trixie)
else
# libvirt 11.3 needs /proc and /sys (without /sys the start fails with "An error occurred, but
# the cause is unknown"), the guests' <console type='pty'/> a devpts (debootstrap leaves
# dev/pts empty), and the work directory must appear under the same path
mountpoint -q "$TRIXIE_ROOT/proc" || { mount -t proc proc "$TRIXIE_ROOT/proc"; MOUNTED+=("$TRIXIE_ROOT/proc"); }
mountpoint -q "$TRIXIE_ROOT/sys" || { mount --bind /sys "$TRIXIE_ROOT/sys"; MOUNTED+=("$TRIXIE_ROOT/sys"); }
mountpoint -q "$TRIXIE_ROOT/dev/pts" || { mount --bind /dev/pts "$TRIXIE_ROOT/dev/pts"; MOUNTED+=("$TRIXIE_ROOT/dev/pts"); }
mkdir -p "$TRIXIE_ROOT$WORK"; mount --bind "$WORK" "$TRIXIE_ROOT$WORK"; MOUNTED+=("$TRIXIE_ROOT$WORK")
VPREFIX=(chroot "$TRIXIE_ROOT")
ensure_users chroot "$TRIXIE_ROOT"
VERSIONS="libvirt $(chroot "$TRIXIE_ROOT" virsh --version) (Debian $(chroot "$TRIXIE_ROOT" dpkg-query -W -f '${Version}' libvirt-daemon-driver-qemu)) / QEMU $(chroot "$TRIXIE_ROOT" qemu-system-x86_64 --version | head -1 | sed 's/.*version //'), Debian trixie chroot"
echo "trixie: $VERSIONS"
PCU=6d1f3c5e-0b2a-4c1e-9f00-00000000
ORDER=100
WHAT="virsh save, machine q35, save_image_format zstd, guest running 2 s"
make_save q35-10.0-zstd q35 ${PCU}0601 zstd
WHAT="virsh save, machine q35, save_image_format sparse (QEMU mapped-ram into the file), guest running 2 s"
make_save q35-10.0-sparse q35 ${PCU}0602 sparse
WHAT="virsh save --parallel-channels 2, machine q35, save_image_format sparse (mapped-ram + multifd), guest running 2 s"
SAVEOPTS="--parallel-channels 2" make_save q35-10.0-sparse-2ch q35 ${PCU}0603 sparse
fi
fi

# =======================================================================================
# README template: @NAME@ placeholders are filled in from manifest.jsonl by wrapped.py readme
cat > "$WORK/readme.in" <<'README_EOF'
# corpus/wrapped: real libvirt save images, managed save, dumps, snapshot memory, qcow2 snapshots

<!-- Generated by ../make-wrapped-corpus.sh from manifest.jsonl; edit the template near the end
     of that script, then run `corpus/make-wrapped-corpus.sh --readme-only`. -->

Inputs for migscope's wrapped-input readers (see `/work/shared/docs/wrapped-inputs.md` for the
formats), all written by the real programs: libvirt's `virsh save` in every compression format,
`virsh managedsave`, `virsh dump`, an external snapshot memory file, a qcow2 holding two internal
snapshots with VM state, a qcow2 whose snapshot's VM state is in zstd-compressed clusters (QEMU's
pieces put together: see the end of this page), and (from a Debian trixie chroot) zstd and sparse
saves. Next to each image is the bare QEMU stream that the **real tools** extract from it
(`gzip -dc`, `qemu-io`, ...), never our own code.

## File conventions

* `NAME.xz` is `xz -9` of the file **exactly as libvirt/QEMU wrote it** (so an already compressed
  save is compressed once more); the build decompresses every `corpus/**/*.xz` into
  `build/corpus/`, so tests find e.g. `build/corpus/wrapped/pc-gzip.save`,
  `build/corpus/wrapped/q35-dump-gzip.mig.gz`, `build/corpus/wrapped/q35-2snaps.qcow2`.
* `BASE.stream.mig.xz` (`BASE.sN.stream.mig.xz` for the qcow2 snapshots) is the ground-truth bare
  stream (`QEVM`...) of that image; every one parses with `migscope info` (exit 0) and its sha256
  is listed below.
* The two sparse saves have no ground-truth stream (the mapped-ram payload only makes sense at
  its absolute file offsets); `migscope info` on the image itself is recorded instead. Their
  files are 137 601 717 bytes with only ~650 kB allocated; **decompressed by the build they are no
  longer sparse** (2 x 131 MiB in `build/corpus/wrapped/`).
* `manifest.jsonl`: everything below, machine-readable (one JSON object per image).
* Whole directory: @TOTAL@ bytes.
* Guests ran for 2 s before each save, so every run gives different bytes: an image and its
  stream belong together; regenerate them together (`make-wrapped-corpus.sh`, ~3 min, root).

## How they were made

`make-wrapped-corpus.sh` (root). No libvirtd: libvirt's embedded QEMU driver runs inside the
`virsh` process with a private root, one fresh root `$R` per image, one virsh process per image:
`virsh -c 'qemu:///embed?root=$R' 'define ...; start ...; event --all --loop --timeout 2; save ...'`
(`event ... --timeout 2` is only a 2-second wait inside the same process; the guest is running,
SeaBIOS finds no bootable disk and sits in its boot loop, having dirtied some RAM).

`$R/etc/libvirt/qemu.conf` (also copied to `$R/etc/qemu.conf`): the three `*_image_format`
settings named per image below, plus always

```
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
namespaces = []
cgroup_controllers = []
security_driver = "none"
stdio_handler = "file"
```

Domain XML (NAME `mig-BASE`, MACHINE `pc` or `q35`, fixed UUIDs `6d1f3c5e-0b2a-4c1e-9f00-0000000xxxxx`;
the qcow2 guest adds `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source
file='$W/q35-2snaps.qcow2'/><target dev='vda' bus='virtio'/></disk>`, a 16 MiB qcow2 made with
`qemu-img create -f qcow2`):

```xml
<domain type='qemu'>
  <name>NAME</name>
  <uuid>UUID</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='MACHINE'>hvm</type></os>
  <clock offset='utc'/>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
```

(libvirt expands it: the XML stored in each save header is libvirt's full live XML, with
`pc-i440fx-7.2` / `pc-q35-7.2` / `pc-q35-10.0`, PCI controllers, USB, serial, ...).

Host: Debian bookworm, `apt-get install --no-install-recommends libvirt-daemon-driver-qemu
libvirt-clients libvirt-daemon qemu-system-x86 qemu-utils lzop bzip2 xz-utils zstd`. Trixie:
`debootstrap --variant=minbase trixie /srv/trixie`, the same packages installed inside, and the
script bind-mounts `/sys`, `/dev/pts` and its work directory into the chroot (libvirt 11.3 cannot
start a guest without `/sys`: "An error occurred, but the cause is unknown"; the pty console
needs `/dev/pts`). TCG (`type='qemu'`) everywhere.

## Images

@IMAGES@

## Save headers (libvirt `virQEMUSaveHeader`, 92 bytes)

"XML + NUL" is the domain XML length plus its terminating NUL (= `cookieOffset`); then the cookie
XML plus NUL, then zero padding; `data_len` = all three; the QEMU stream (or the compressed
stream) starts at `92 + data_len`. `unused[14]` was all zero in every file.

@HEADERS@

The cookie was the same in every save:

@COOKIES@

## Payloads

@PAYLOADS@

## Ground-truth streams

@STREAMS@

## Exact commands

@COMMANDS@

## qcow2 internal snapshots

@QCOW2@

## Sparse saves: `migscope info` on the image (the binary at the time of the run)

@SPARSEINFO@

## What the files show

* **Header**: written in host byte order (little-endian here: x86_64), magic `LibvirtQemudSave`
  (the `LibvirtQemudPart` of an incomplete save was never seen: each save completed), version 2,
  `was_running` 1 (the guests were running), `cookieOffset` = XML length + 1. After the cookie's
  NUL come exactly **65 536 zero bytes** of padding in every image, both libvirt versions; so
  `data_len` = XML + 1 + cookie + 1 + 65 536. `unused[14]` is zero.
* **Raw** (format 0, also the snapshot memory file): the stream runs from `92 + data_len` to EOF,
  nothing after it.
* **How libvirt migrates**: QMP `stop`, then `migrate` to `fd:migrate` (libvirt 9.0 with
  `"detach": true`), no migration capability on except `events`, `max-bandwidth` unlimited, so
  each save stream is a single pass over a paused guest, in the ordinary precopy format:
  configuration section, section footers and **a vmdesc trailer** (both machines, all formats, the
  dumps and the qcow2 snapshots). QEMU 7.2 streams have no commands; the 10.0 ones one
  `SWITCHOVER_START`. A stream's size still varies by one RAM `PART` section (18 bytes) from
  run to run.
* **gzip**: one member, MTIME 0, no name, OS 3 (Unix); nothing after it.
* **bzip2**: `BZh9`, one stream.
* **xz**: one stream, one block, CRC64, `--lzma2=dict=4MiB` (libvirt runs `xz -c -3`), no sizes in
  the block headers (streamed).
* **lzop** (1.04, `lzop -c` reading a pipe): method 1 (LZO1X-1), level 5, flags
  `ADLER32_D|STDIN|STDOUT` with OS Unix (so only an Adler-32 of the uncompressed data per block, no
  checksum of the compressed data), empty name, mode 0, but **mtime = the time of the save** (not
  0); the data is in **several 256 KiB blocks** (3 for the pc saves, 4 for q35), the last one
  shorter, then the zero end marker; no block is stored uncompressed.
* **zstd** (libvirt 11.3): one frame, XXH64 content checksum, 2 MiB window.
* **sparse** (libvirt 11.3, format 6): libvirt turns on `multifd` **and** `mapped-ram` even without
  `--parallel-channels` (then `multifd-channels` 1; with `--parallel-channels 2`, 2), passes the
  file with `add-fd` and migrates to `file:/dev/fdset/0,offset=<92 + data_len>`. The two files have
  the same size and the same data extents (`SEEK_DATA`/`SEEK_HOLE`, table above): the channel count
  is not visible in the layout.
* **Dumps**: `virsh dump` without `--memory-only` is the same stop + `fd:` migration, compressed as
  a whole per `dump_image_format`, with no libvirt header; libvirt sends `cont` afterwards.
* **Managed save**: same format as `virsh save`; the file is `$R/lib/qemu/save/mig-q35-managed.save`.
* **qcow2**: libvirt 9.0 takes internal snapshots with HMP `savevm` (through
  `human-monitor-command`); the snapshot table entries carry 24 bytes of extra data
  (`vm_state_size_large`, `disk_size`, `icount` = -1, i.e. none).
* **qcow2, VM state in zstd clusters** (`q35-zstd-vmstate.qcow2`, compression type zstd:
  incompatible feature bit 3, byte 104 = 1): QEMU writes a VM state with plain writes only
  (savevm, and `qemu-io write -b -c` too, into a zstd image), so no image of its own has a
  compressed VM state cluster. This one is QEMU's pieces put together (`make_qcow2_zstd` in the
  script): a real savevm into a zstd qcow2, whose VM state `qemu-img convert -c` compresses into
  zstd clusters at the guest offset where a 16 MiB disk's VM state lives; `qemu-img snapshot -c`
  keeps them in the snapshot's L1 table and `qemu-img resize --shrink` returns the disk to
  16 MiB; only the snapshot entry's VM state size, disk size, date, VM clock and icount are
  then set by the script (to those of the real savevm). `qemu-img check` finds no error, and
  qemu-io reads back (through QEMU's zstd decompression) exactly the VM state of the real savevm,
  which is its ground-truth stream.
README_EOF
if [ -f "$MANIFEST" ]; then
    $PY readme "$MANIFEST" "$WORK/readme.in" "$OUT/README.md" "$OUT"
fi
if [ ${#FAILS[@]} -gt 0 ]; then echo "failed: ${FAILS[*]}" >&2; exit 1; fi
echo done

