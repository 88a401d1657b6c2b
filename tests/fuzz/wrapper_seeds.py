#!/usr/bin/env python3
"""Seeds for fuzz_wrappers, from the real files of corpus/wrapped/ (decompressed
into the build tree). Every seed is a few KB:

  * each libvirt save: its real header, domain XML and cookie with the padding
    cut (data_len rewritten), then the first 3 KB of its payload (a compressed
    payload is then cut short); the same header before a whole small payload
    made by the real compressor of its format (gzip, bzip2, xz -3, lzop, zstd,
    as libvirt runs them) from the first 8 KB of its ground-truth stream; a few
    of them with the fields in big-endian byte order or the 'LibvirtQemudPart'
    magic of a save that never finished;
  * whole-file compressed streams: the first 4 KB of the real compressed dumps,
    and the real tools' output for 8 KB of stream (two gzip members, two zstd
    frames, a zstd skippable frame first);
  * qcow2: the first 4 KB of the real image (its header; tables beyond the
    end), and small images rebuilt from it: its real snapshot entries (ids,
    names, dates, VM clocks, extra data) over a 512-byte or 4 KiB cluster
    layout holding the first 3 KB of each snapshot's real VM state in normal,
    zero-flagged, deflate- or zstd-compressed clusters (v2, v3, extended L2,
    compression type zstd);
  * the domain XML alone.

usage: wrapper_seeds.py BUILD_CORPUS_DIR OUT_DIR
"""
import glob
import hashlib
import os
import struct
import subprocess
import sys
import zlib

corpus, out = sys.argv[1:3]
wrapped = os.path.join(corpus, "wrapped")
os.makedirs(out, exist_ok=True)


def put(data):
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def tool(argv, data):
    try:
        r = subprocess.run(argv, input=data, capture_output=True)
    except OSError:
        return None  # scripts/install-deps.sh installs them
    return r.stdout if r.returncode == 0 else None


COMPRESSORS = {1: ["gzip", "-c"], 2: ["bzip2", "-c"], 3: ["xz", "-c", "-3"], 4: ["lzop", "-c"], 5: ["zstd", "-c", "-q"]}


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- libvirt saves ----------------------------------------------------------
saves = sorted(glob.glob(os.path.join(wrapped, "*.save")))
headers = []
for path in saves:
    data = read(path)
    if len(data) < 92:
        continue
    magic, version, data_len, was_running, fmt, cookie_offset = struct.unpack("<16s5I", data[:36])
    body = data[92:92 + data_len]
    xml_end = body.find(b"\0")
    xml_end = len(body) if xml_end < 0 else xml_end + 1
    cookie_end = xml_end
    if cookie_offset:
        c = body.find(b"\0", cookie_offset)
        cookie_end = len(body) if c < 0 else c + 1
    kept = body[:cookie_end] + b"\0" * 8
    header = struct.pack("<16s5I", magic, version, len(kept), was_running, fmt, cookie_offset) + data[36:92]
    payload = data[92 + data_len:]
    put(header + kept + payload[:3072])
    headers.append((os.path.basename(path), header, kept, fmt))
    if fmt == 0 and len(body[:xml_end]) > 1:
        put(body[:xml_end - 1])  # the domain XML alone
    stream_path = path[:-len(".save")] + ".stream.mig"
    if fmt in COMPRESSORS and os.path.exists(stream_path):
        small = tool(COMPRESSORS[fmt], read(stream_path)[:8192])
        if small:
            put(header + kept + small)


def swapped(header):
    fields = struct.unpack("<5I", header[16:36])
    return header[:16] + struct.pack(">5I", *fields) + header[36:]


for name, header, kept, fmt in headers:
    if "q35-raw" in name or "q35-gzip" in name or "zstd" in name:
        stream = read(os.path.join(wrapped, name[:-len(".save")] + ".stream.mig"))
        payload = stream[:3072] if fmt == 0 else (tool(COMPRESSORS[fmt], stream[:8192]) or b"")
        put(swapped(header) + kept + payload)
        put(b"LibvirtQemudPart" + header[16:] + kept + payload[: len(payload) // 2])

# ---- whole-file compressed streams -----------------------------------------
for path in sorted(glob.glob(os.path.join(wrapped, "*.mig.gz")) + glob.glob(os.path.join(wrapped, "*.mig.xz"))):
    put(read(path)[:4096])
streams = sorted(glob.glob(os.path.join(wrapped, "*.stream.mig")))
if streams:
    piece = read(streams[0])[:8192]
    for argv in COMPRESSORS.values():
        z = tool(argv, piece)
        if z:
            put(z)
    g = tool(["gzip", "-c"], piece[:4096])
    if g:
        put(g + tool(["gzip", "-c"], piece[4096:]))
    z1, z2 = tool(["zstd", "-c", "-q"], piece[:4096]), tool(["zstd", "-c", "-q"], piece[4096:])
    if z1 and z2:
        put(z1 + z2)
        put(struct.pack("<II", 0x184D2A50, 5) + b"skip!" + z1)

# ---- qcow2 ------------------------------------------------------------------
qcow2_path = os.path.join(wrapped, "q35-2snaps.qcow2")
if os.path.exists(qcow2_path):
    img = read(qcow2_path)
    put(img[:4096])

    def be(o, n):
        return int.from_bytes(img[o:o + n], "big")

    snaps = []
    at = be(64, 8)
    for i in range(be(60, 4)):
        id_size, name_size = be(at + 12, 2), be(at + 14, 2)
        extra = be(at + 36, 4)
        sn = {
            "date": img[at + 16:at + 32],  # date_sec, date_nsec, vm_clock_nsec
            "extra": bytearray(img[at + 40:at + 40 + extra]),
            "id": img[at + 40 + extra:at + 40 + extra + id_size],
            "name": img[at + 40 + extra + id_size:at + 40 + extra + id_size + name_size],
        }
        stream = os.path.join(wrapped, "q35-2snaps.s%d.stream.mig" % (i + 1))
        sn["state"] = read(stream)[:3072] if os.path.exists(stream) else b"QEVM\0\0\0\3"
        snaps.append(sn)
        at += (40 + extra + id_size + name_size + 7) // 8 * 8

    def zstd_cluster(data):
        return tool(["zstd", "-c", "-q", "--no-check"], data)

    def build(version, cluster_bits, extended=False, ctype=0, kinds="nzcn"):
        """A qcow2 image of `snaps`, each VM state's clusters stored as `kinds`
        says in turn: n normal, z zero flag (its bytes then read as zeros: a seed
        need not hold a valid stream), c compressed; an all-zero cluster is a zero one."""
        cs = 1 << cluster_bits
        l2_bits = cluster_bits - (4 if extended else 3)
        shift = cluster_bits + l2_bits
        disk = cs * 4  # a small disk: the VM state is at L1 index 1
        l1_index = (disk + (1 << shift) - 1) >> shift
        f = bytearray(cs * 2)  # header cluster, snapshot table cluster
        clusters = [f]

        def alloc(n=1):
            off = sum(len(c) for c in clusters)
            clusters.append(bytearray(cs * n))
            return off, clusters[-1]

        entries = bytearray()
        for sn in snaps:
            state = sn["state"]
            l1_off, l1 = alloc()
            l2_off, l2 = alloc()
            struct.pack_into(">Q", l1, 8 * l1_index, l2_off | (1 << 63))
            for k in range(0, (len(state) + cs - 1) // cs):
                chunk = state[k * cs:(k + 1) * cs].ljust(cs, b"\0")
                kind = kinds[k % len(kinds)]
                esz = 16 if extended else 8
                if kind == "z" or chunk == bytes(cs):
                    entry, bitmap = 1, 0xFFFFFFFF << 32
                elif kind == "c":
                    if ctype == 1:
                        packed = zstd_cluster(chunk)
                    else:
                        co = zlib.compressobj(9, zlib.DEFLATED, -12)
                        packed = co.compress(chunk) + co.flush()
                    off, _ = alloc()
                    clusters[-1][:len(packed)] = packed
                    x = 62 - (cluster_bits - 8)
                    sectors = (len(packed) + 511) // 512
                    entry, bitmap = (1 << 62) | ((sectors - 1) << x) | off, 0
                else:
                    off, c = alloc()
                    c[:] = chunk
                    entry, bitmap = off | (1 << 63), 0xFFFFFFFF
                struct.pack_into(">Q", l2, esz * k, entry)
                if extended:
                    struct.pack_into(">Q", l2, esz * k + 8, bitmap if not entry & (1 << 62) else 0)
            extra = bytearray(sn["extra"])
            if len(extra) >= 16:
                struct.pack_into(">QQ", extra, 0, len(state), disk)
            e = struct.pack(">QIHH", l1_off, l1_index + 1, len(sn["id"]), len(sn["name"])) + sn["date"]
            e += struct.pack(">II", len(state), len(extra)) + bytes(extra) + sn["id"] + sn["name"]
            entries += e + b"\0" * ((-len(e)) % 8)
        hdr = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", version, 0, 0, cluster_bits, disk, 0, 1, 0, 0, 0,
                          len(snaps), cs)
        if version == 3:
            incompat = (8 if ctype else 0) | (16 if extended else 0)
            hdr += struct.pack(">QQQII", incompat, 0, 0, 4, 112 if ctype else 104)
            if ctype:
                hdr += bytes([ctype]) + b"\0" * 7
        f[:len(hdr)] = hdr
        f[len(hdr):len(hdr) + 8] = b"\0" * 8  # end of header extensions
        f[cs:cs + len(entries)] = entries[:cs]
        return bytes(b"".join(clusters))

    for image in (build(3, 9), build(2, 9, kinds="n"), build(3, 12, extended=True), build(3, 9, ctype=1, kinds="cn")):
        if len(image) <= 64 << 10:
            put(image)
