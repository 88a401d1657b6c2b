#!/usr/bin/env bash
# Make a real multi-GiB migration stream with Debian's QEMU from a file-backed
# guest RAM image whose content we chose: pseudo-random, zero, repeated and
# mostly-zero pages. The stream's pc.ram block then equals the image byte for
# byte, so extraction and hashing can be checked against it.
#
#   bench/make-big-stream.sh OUTDIR [SIZE_GIB=4] [VARIANT=0]
#
# Writes OUTDIR/ram.img (the image, sparse where zero) and OUTDIR/big.mig.
# VARIANT N > 0 writes OUTDIR/ram-vN.img and OUTDIR/big-vN.mig instead: the
# same guest with every 97th page rewritten (another save of it, for diff).
set -euo pipefail
out=${1:?usage: make-big-stream.sh OUTDIR [SIZE_GIB]}
gib=${2:-4}
variant=${3:-0}
img="$out/ram.img" mig="$out/big.mig"
if [ "$variant" != 0 ]; then img="$out/ram-v$variant.img" mig="$out/big-v$variant.mig"; fi
mkdir -p "$out"
command -v qemu-system-x86_64 >/dev/null || { echo "needs qemu-system-x86 (apt-get install qemu-system-x86)" >&2; exit 1; }

python3 - "$img" "$gib" "$variant" <<'PY'
import os, random, sys
path, gib, variant = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
changed = random.Random(variant)
page = 4096
pages = gib * 262144
rng = random.Random(20261123)
repeated = rng.randbytes(page)
with open(path, "wb") as f:
    f.truncate(pages * page)           # zero pages stay holes
    chunk = 256                        # pages per write
    for base in range(0, pages, chunk):
        buf = bytearray(chunk * page)
        rnd = rng.randbytes(chunk * page)
        for i in range(chunk):
            kind = (base + i) % 12
            o = i * page
            if kind <= 6:                          # 7/12 pseudo-random
                buf[o:o + page] = rnd[o:o + page]
            elif kind == 9:                        # 1/12 the same page again and again
                buf[o:o + page] = repeated
            elif kind == 10:                       # 1/12 mostly zero, a few bytes set
                for k in range(0, page, 512):
                    buf[o + k] = (base + i + k) & 0xff or 1
            # 7, 8, 11: zero (3/12)
            if variant and (base + i) % 97 == 0:   # the variant's own pages
                buf[o:o + page] = changed.randbytes(page)
        if any(buf):
            f.seek(base * page)
            f.write(buf)
PY

sock="$out/qmp.sock"
rm -f "$sock" "$mig"
qemu-system-x86_64 -nodefaults -display none -S -M pc,memory-backend=pc.ram,accel=tcg -m "${gib}G" \
  -object memory-backend-file,id=pc.ram,size="${gib}G",mem-path="$img",share=on \
  -qmp unix:"$sock",server=on,wait=off &
qpid=$!
trap 'kill $qpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
python3 - "$sock" "$mig" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def cmd(c, **a):
    f.write(json.dumps({"execute": c, "arguments": a} if a else {"execute": c}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r: return r
json.loads(f.readline()); cmd("qmp_capabilities")
cmd("migrate-set-parameters", **{"max-bandwidth": 100 << 30})
print(cmd("migrate", uri="exec:cat > " + sys.argv[2]))
while True:
    st = cmd("query-migrate")["return"].get("status")
    if st in ("completed", "failed", "cancelled"): print("migration", st); break
    time.sleep(0.5)
cmd("quit")
PY
wait $qpid 2>/dev/null || true
ls -l "$mig" "$img"
