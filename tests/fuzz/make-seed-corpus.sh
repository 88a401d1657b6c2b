#!/bin/sh
# Seed corpora for the fuzz targets, from the decompressed corpus of a build.
# usage: make-seed-corpus.sh MIGSCOPE BUILD_CORPUS_DIR OUT_DIR
#   OUT/stream   whole streams (<= 2 MiB), and each stream with all but its
#                smallest RAM PART section cut out (small, every device section
#                and the trailer kept)
#   OUT/vmdesc   trailer JSON NUL idstr NUL body, for every device section
#   OUT/xbzrle   XBZRLE deltas from the xbzrle stream, plus hand-made ones
#   OUT/checker  pairs of -dump-vmstate subsets and of vmdesc trailers, NUL-separated
#   OUT/lzop     files made by the real lzop (small streams, every method and checksum
#                option, a filter, empty, one byte) and the payloads of libvirt's lzop saves
#   OUT/wrappers the real libvirt saves, compressed dumps and qcow2 image of
#                corpus/wrapped/, cut to a few KB (see wrapper_seeds.py)
#   OUT/qcow2    the qcow2 seeds of OUT/wrappers, and the real images of
#                corpus/wrapped/ up to 1 MiB
#   OUT/diff     pairs of `migscope state` documents of corpus/diff/ (a few
#                sections each, the same ones or not), NUL, NUL, ignore globs
#   OUT/layout   the machine facts of every corpus stream as fuzz_layout text:
#                machine type, RAM blocks, sections, RTC CMOS, host bridge and
#                VGA config space, a CPU field of the arch; some with overrides
set -eu
migscope=$1 corpus=$2 out=$3
rm -rf "$out.tmp" && mkdir -p "$out.tmp/stream" "$out.tmp/vmdesc" "$out.tmp/xbzrle" "$out.tmp/checker" "$out.tmp/lzop" "$out.tmp/wrappers" \
  "$out.tmp/qcow2" "$out.tmp/diff" "$out.tmp/layout"
python3 - "$migscope" "$corpus" "$out.tmp" <<'PY'
import glob, hashlib, json, os, random, struct, subprocess, sys
migscope, corpus, out = sys.argv[1:4]
random.seed(6)

def put(kind, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(out, kind, name), "wb") as f:
        f.write(data)

def info(path):
    r = subprocess.run([migscope, "info", "--json", path], capture_output=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)

def trailer(data):
    # 0x06, be32 length reaching the end, JSON object
    for q in range(len(data) - 2, 4, -1):
        if data[q:q+1] == b"{" and data[q-5] == 6 and struct.unpack(">I", data[q-4:q])[0] == len(data) - q:
            return data[q:]
    return None

streams = sorted(glob.glob(os.path.join(corpus, "streams*", "*.mig")) + glob.glob(os.path.join(corpus, "vmstate", "streams", "*.mig")))
vmdescs = []
for path in streams:
    data = open(path, "rb").read()
    meta = info(path)
    if len(data) <= 2 << 20:
        put("stream", data)
    js = trailer(data)
    if js:
        vmdescs.append(js)
    if not meta:
        continue
    secs = meta.get("sections", [])
    parts = [s for s in secs if s["kind"] == "ram" and s["type"] == "SECTION_PART" and s.get("depth", 0) == 0]
    if parts:
        keep = min(parts, key=lambda s: s["size"])
        cut = bytearray()
        pos = 0
        for s in parts:
            if s is keep:
                continue
            cut += data[pos:s["offset"]]
            pos = s["offset"] + s["size"]
        cut += data[pos:]
        if len(cut) <= 2 << 20:
            put("stream", bytes(cut))
    if js:
        for s in secs:
            if s["kind"] != "device":
                continue
            end = s["offset"] + s["size"] - (5 if s.get("footer") else 0)
            body = data[end - s["body_size"]:end]
            put("vmdesc", js + b"\0" + s["name"].encode() + b"\0" + body[:65536])
    # XBZRLE records: header be64 with flag 0x40, [name], 0x01, be16 len, delta
    if b"xbzrle" in os.path.basename(path).encode():
        n = 0
        i = 0
        while n < 300:
            i = data.find(b"\x01", i + 1)
            if i < 0 or i + 3 > len(data):
                break
            ln = struct.unpack(">H", data[i+1:i+3])[0]
            if 2 <= ln <= 4096 and i >= 8 and (data[i-8+7] & 0x40 or data[i-1] != 0):
                delta = data[i+3:i+3+ln]
                # accept only deltas QEMU's decoder accepts
                put("xbzrle", bytes([0, n & 0xff]) + delta)
                n += 1
            i += 3
for d in (b"\x00\x01\x10", b"\x05\x04\x01\xaa", b"\x80\x01\x02\xbb\xcc", b"\x7f\x7f" + b"\x11" * 127, b"\xff\x1f\x01\x00"):
    put("xbzrle", b"\x00\x00" + d)

dumps = sorted(glob.glob(os.path.join(corpus, "vmstate", "dumps", "*.json")))
docs = []
for p in dumps:
    try:
        docs.append(json.load(open(p)))
    except Exception:
        pass
def subset(doc, k):
    keys = list(doc.keys())
    pick = sorted(random.sample(range(len(keys)), min(k, len(keys))))
    return {keys[i]: doc[keys[i]] for i in pick}
for i in range(60):
    a, b = random.choice(docs), random.choice(docs)
    k = random.choice([1, 3, 8, 20])
    sa = subset(a, k)
    sb = {key: b[key] for key in sa if key in b}
    for key in list(subset(b, 2)):
        sb.setdefault(key, b[key])
    if random.random() < 0.5:
        sa["vmschkmachine"] = a.get("vmschkmachine", {"Name": "pc"})
        sb["vmschkmachine"] = b.get("vmschkmachine", {"Name": "pc"})
    put("checker", json.dumps(sa).encode() + b"\0" + json.dumps(sb).encode())
for i in range(20):
    if len(vmdescs) >= 2:
        a, b = random.sample(vmdescs, 2)
        put("checker", a + b"\0" + b)

# lzop: as libvirt runs it (`lzop -c` from a pipe) and with the other options.
def lzop(data, *opts):
    try:
        r = subprocess.run(["lzop", "-c", *opts], input=data, capture_output=True)
    except OSError:
        return None  # no lzop: scripts/install-deps.sh installs it
    return r.stdout if r.returncode == 0 else None
small = [open(p, "rb").read() for p in streams if os.path.getsize(p) <= 400 << 10][:4]
inputs = [b"", b"x", bytes(random.getrandbits(8) for _ in range(3000)) + bytes(300 << 10)] + small
options = [[], ["-9"], ["-1"], ["-CC"], ["--crc32", "-CC"], ["-F"], ["--filter=3"]]
for i, data in enumerate(inputs):
    for opts in (options if i < 3 else options[:3]):
        z = lzop(data, *opts)
        if z:
            put("lzop", z)
for path in sorted(glob.glob(os.path.join(corpus, "wrapped", "*-lzop.save"))):
    data = open(path, "rb").read()
    if len(data) > 92:
        data_len = struct.unpack("<I", data[20:24])[0]
        payload = data[92 + data_len:]
        if payload[:4] == b"\x89LZO" and len(payload) <= 1 << 20:
            put("lzop", payload)
PY
python3 "$(dirname "$0")/wrapper_seeds.py" "$corpus" "$out.tmp/wrappers"
python3 - "$migscope" "$corpus" "$out.tmp" <<'PY'
import glob, hashlib, json, os, random, subprocess, sys
migscope, corpus, out = sys.argv[1:4]
random.seed(7)

def put(kind, data):
    with open(os.path.join(out, kind, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def run(*argv):
    r = subprocess.run([migscope, *argv], capture_output=True)
    return r.stdout if r.returncode == 0 else None

# qcow2: the wrapper seeds that are images, and the real images that fit -max_len.
for p in sorted(glob.glob(os.path.join(out, "wrappers", "*"))):
    data = open(p, "rb").read()
    if data[:4] == b"QFI\xfb":
        put("qcow2", data)
for p in sorted(glob.glob(os.path.join(corpus, "wrapped", "*.qcow2"))):
    if os.path.getsize(p) <= 1 << 20:
        put("qcow2", open(p, "rb").read())

# diff: sections of two state documents of one guest (or of two guests).
states = {}
for p in sorted(glob.glob(os.path.join(corpus, "diff", "*.mig"))):
    js = run("state", "-q", p)
    if js:
        states[os.path.basename(p)] = json.loads(js)
globs = [b"", b"timer*\n*/env.tsc*", b"cpu (*)/env.regs[*]\nram*", b"*", b"[\n*/\n**"]
def small(doc):
    return [k for k in doc if len(json.dumps(doc[k])) <= 12000]
names = sorted(states)
for i in range(40):
    if not names:
        break
    a = random.choice(names)
    b = a[:-5] + ("2" if a[-5] == "1" else "1") + ".mig" if random.random() < 0.8 else random.choice(names)
    da, db = states[a], states.get(b, states[a])
    keys = random.sample(small(da), min(random.choice([1, 2, 4, 8]), len(small(da))))
    sa = {k: da[k] for k in keys}
    sb = {k: db[k] for k in keys if k in db}
    extra = small(db)
    if extra and random.random() < 0.5:
        k = random.choice(extra)
        sb[k] = db[k]
    put("diff", json.dumps(sa).encode() + b"\0" + json.dumps(sb).encode() + b"\0" + random.choice(globs))

# layout: the facts of each stream, as compute_layout gets them.
ARCH_FIELD = {"x86_64": "env.eip", "aarch64": "env.xregs[0]", "riscv64": "env.misa_mxl", "s390x": "env.psw.mask", "ppc64": "env.nip"}
def find_hex(v, prefix):
    if isinstance(v, dict):
        for k, x in v.items():
            if k.startswith(prefix) and isinstance(x, str):
                return x.replace(" ", "")
            h = find_hex(x, prefix)
            if h:
                return h
    return None
paths = sorted(glob.glob(os.path.join(corpus, "streams*", "*.mig")) + glob.glob(os.path.join(corpus, "vmcore", "*.mig")) +
               glob.glob(os.path.join(corpus, "diff", "*-1.mig")))
for p in paths:
    js = run("info", "--json", p)
    if not js:
        continue
    meta = json.loads(js)
    lines = []
    machine = (meta.get("configuration") or {}).get("machine")
    if machine:
        lines.append("machine " + machine)
    for b in meta.get("ram_blocks", []):
        lines.append("block %s 0x%x" % (b["name"], b["length"]))
    seen = []
    for s in meta.get("sections", []):
        if s["name"] not in seen:
            seen.append(s["name"])
    lines += ["section " + n for n in seen[:64]]
    arch = (meta.get("guest_physical") or {}).get("arch")
    if arch in ARCH_FIELD:
        lines += ["cpu-next", "cpu %s 0000000000001000" % ARCH_FIELD[arch]]
    if os.path.getsize(p) <= 2 << 20:
        st = run("state", "-q", p)
        doc = json.loads(st) if st else {}
        for k, v in doc.items():
            idstr = k.rsplit(" (", 1)[0]
            if idstr == "mc146818rtc":
                h = find_hex(v, "cmos_data")
                if h:
                    lines.append("cmos " + h)
            elif "/" in idstr:
                h = find_hex(v, "config")
                if h:
                    path, dev = idstr.split("/", 1)
                    lines.append("pci %s %s %s" % (path, dev, h))
        if doc:
            lines.append("device-state")
    text = "\n".join(lines) + "\n"
    put("layout", text.encode())
    if arch == "x86_64":
        put("layout", (text + "below 0x800000\nabove-start 0x10000000000\n").encode())
        blocks = [b["name"] for b in meta.get("ram_blocks", [])]
        if blocks:
            put("layout", (text + "place %s 0x200000000\n" % blocks[-1]).encode())
for text in ["machine virt\nblock mach-virt.ram 0x40000000\n", "block riscv_virt_board.ram 0x8000000\nblock riscv_virt_board.mrom 0xf000\n",
             "machine microvm\nblock microvm.ram 0x100000000\n", "machine isapc\nblock pc.ram 0x2000000\nblock pc.bios 0x40000\nsection vga\n",
             "machine pseries-7.2\nblock ppc_spapr.ram 0x40000000\n", "machine s390-ccw-virtio-7.2\nblock s390.ram 0x40000000\n",
             "machine pc-q35-7.2\nblock pc.ram 0x1c0000000\nblock pc.bios 0x40000\nblock pc.rom 0x20000\npci 0000:00:00.0 mch " + "00" * 256 + "\n",
             "machine pc-q35-7.2\nblock pc.ram 0x200000000\nblock 0000:00:01.0/vga.vram 0x1000000\npci 0000:00:01.0 vga " +
             "00" * 4 + "02" + "00" * 11 + "000000fd" + "00" * 232 + "\nsection 0000:00:01.0/vga\n",
             "block memdimm0 0x10000000\nplace memdimm0 0x100000000\n"]:
    put("layout", text.encode())
PY
rm -rf "$out" && mv "$out.tmp" "$out"
for k in stream vmdesc xbzrle checker lzop wrappers qcow2 diff layout; do echo "$k: $(ls "$out/$k" | wc -l) seeds"; done
