#!/usr/bin/env bash
# Wrap a big real stream (bench/make-big-stream.sh output) the ways production
# dumps arrive, for scripts/bench-wrapped.sh:
#
#   bench/make-big-wrapped.sh BIG.mig OUTDIR [FORMATS] [--ram RAM.img]
#                             [--template SAVE[.xz]] [--verify] [--build DIR]
#
# FORMATS, comma-separated (default all): raw,gzip,bzip2,xz,lzop,zstd (libvirt
# save images OUTDIR/big-FMT.save), dump-zstd (OUTDIR/big-dump.mig.zst, a bare
# zstd stream as `virsh dump` writes with dump_image_format = "zstd"), qcow2
# (OUTDIR/big-snap.qcow2, a savevm internal snapshot "big" of a guest whose RAM
# is RAM.img, default: ram.img next to BIG.mig).
#
# libvirt saves: the 92-byte header, domain XML and cookie come from a real
# small save (--template, default corpus/wrapped/pc-raw.save.xz, libvirt 9.0,
# machine pc-i440fx-7.2 like make-big-stream.sh). The XML gets the guest's
# memory (the stream's pc.ram block) and the name migscope-big; then the header
# is written as libvirt's virQEMUSaveDataWrite does for a new save: data_len =
# XML + NUL + cookie + NUL + 64 KiB of zeros, cookieOffset = XML + NUL, format
# code 0 raw 1 gzip 2 bzip2 3 xz 4 lzop 5 zstd, magic LibvirtQemudSave, the
# template's byte order and was_running. The stream follows, piped through
# `PROG -c` at the tool's default level (gzip -6, bzip2 -9, xz -6 single
# thread, lzop -3, zstd -3; libvirt itself runs `xz -c -3`: XZ_LEVEL=-3 gives
# that). Every file is written as NAME.partial and renamed when complete.
#
# qcow2: qemu-img create -f qcow2 (1 GiB disk), QEMU paused (-S) with RAM =
# memory-backend-file RAM.img share=off (the image is not written) and that disk
# as a drive on no device (-drive if=none: savevm finds it all the same), so the
# guest's devices and ACPI tables are those of make-big-stream.sh's guest and
# the snapshot's RAM is BIG.mig's; then `savevm big` over QMP
# (human-monitor-command).
#
# --verify: `migscope info` on each file must succeed and `migscope hash` must
# print what it prints for BIG.mig (build/tools/migscope, or --build DIR).
# Needs qemu-system-x86 and qemu-utils for qcow2, and gzip bzip2 xz-utils lzop zstd.
set -euo pipefail

usage() { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
root=$(cd "$(dirname "$0")/.." && pwd)
big="" out="" formats="" ram="" template="$root/corpus/wrapped/pc-raw.save.xz" verify=0 build="$root/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --ram) ram=$2; shift 2 ;;
    --template) template=$2; shift 2 ;;
    --verify) verify=1; shift ;;
    --build) build=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "make-big-wrapped.sh: unknown option $1" >&2; usage 2 ;;
    *) if [ -z "$big" ]; then big=$1; elif [ -z "$out" ]; then out=$1; elif [ -z "$formats" ]; then formats=$1
       else echo "make-big-wrapped.sh: too many arguments" >&2; usage 2; fi; shift ;;
  esac
done
[ -n "$big" ] && [ -n "$out" ] || usage 2
[ -f "$big" ] || { echo "make-big-wrapped.sh: $big: no such file" >&2; exit 2; }
formats=${formats:-raw,gzip,bzip2,xz,lzop,zstd,dump-zstd,qcow2}
big=$(realpath "$big")
ram=${ram:-$(dirname "$big")/ram.img}
mkdir -p "$out"; out=$(realpath "$out")
migscope=$build/tools/migscope
[ "$verify" = 0 ] || [ -x "$migscope" ] || { echo "make-big-wrapped.sh: --verify needs $migscope" >&2; exit 2; }

for f in ${formats//,/ }; do
  case $f in
    raw) ;;
    gzip|bzip2|xz|lzop|zstd) command -v "$f" >/dev/null || { echo "make-big-wrapped.sh: needs $f" >&2; exit 2; } ;;
    dump-zstd) command -v zstd >/dev/null || { echo "make-big-wrapped.sh: needs zstd" >&2; exit 2; } ;;
    qcow2) command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null ||
             { echo "make-big-wrapped.sh: qcow2 needs qemu-system-x86 and qemu-utils" >&2; exit 2; }
           [ -f "$ram" ] || { echo "make-big-wrapped.sh: qcow2 needs the RAM image $ram (--ram)" >&2; exit 2; } ;;
    *) echo "make-big-wrapped.sh: unknown format $f" >&2; exit 2 ;;
  esac
done

# The libvirt header + XML + cookie + padding for format code $1, written to $2.
write_header() {
  python3 - "$template" "$big" "$1" "$2" <<'PY'
import lzma, re, struct, sys
template, big, code, dest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
opener = lzma.open if template.endswith(".xz") else open
with opener(template, "rb") as f:
    head = f.read(92)
    if head[:16] != b"LibvirtQemudSave":
        sys.exit(f"{template}: not a complete libvirt save image")
    bo = "<" if struct.unpack_from("<I", head, 16)[0] <= 2 else ">"
    version, data_len, was_running, fmt, cookie_off = struct.unpack_from(bo + "5I", head, 16)
    data = f.read(data_len)
xml = data[:cookie_off].split(b"\0", 1)[0] if cookie_off else data.split(b"\0", 1)[0]
cookie = data[cookie_off:].split(b"\0", 1)[0] if cookie_off else b""

# The guest's memory: the length of the stream's pc.ram block (else its largest block),
# from the RAM section's MEM_SIZE record: be64 total | 0x4, then (u8 len, name, be64 length)...
with open(big, "rb") as f:
    s = f.read(1 << 20)
m = re.search(rb"\x01....\x03ram\x00\x00\x00\x00\x00\x00\x00\x04", s, re.S)
if not m:
    sys.exit(f"{big}: no RAM section start in the first MiB")
p = m.end()
total = struct.unpack_from(">Q", s, p)[0]
if not total & 0x4:
    sys.exit(f"{big}: the RAM section does not start with MEM_SIZE")
total &= ~0xfff; p += 8; blocks = {}
while sum(blocks.values()) < total:
    n = s[p]; name = s[p + 1:p + 1 + n].decode(); length = struct.unpack_from(">Q", s, p + 1 + n)[0]
    blocks[name] = length; p += 1 + n + 8
mem = blocks.get("pc.ram") or max(blocks.values())
kib = str(mem // 1024).encode()

xml = re.sub(rb"<name>[^<]*</name>", b"<name>migscope-big</name>", xml, count=1)
xml = re.sub(rb"(<memory unit='KiB'>)\d+", rb"\g<1>" + kib, xml, count=1)
xml = re.sub(rb"(<currentMemory unit='KiB'>)\d+", rb"\g<1>" + kib, xml, count=1)
xml_len = len(xml) + 1
cookie_len = len(cookie) + 1 if cookie else 0
data_len = xml_len + cookie_len + 64 * 1024            # libvirt: len + (64 * 1024)
hdr = b"LibvirtQemudSave" + struct.pack(bo + "5I", version, data_len, was_running, code,
                                        xml_len if cookie else 0) + bytes(56)
with open(dest, "wb") as f:
    f.write(hdr + xml + b"\0" + (cookie + b"\0" if cookie else b"") + bytes(64 * 1024))
print(f"{dest}: data_len {data_len}, xml {xml_len}, cookie {cookie_len}, memory {mem} bytes, "
      f"stream at {92 + data_len}", file=sys.stderr)
PY
}

# Compress the stream as libvirt does: QEMU's output piped into `PROG -c`.
compress() { # prog
  local level=""
  case $1 in xz) level=${XZ_LEVEL:-} ;; esac
  # shellcheck disable=SC2086
  cat "$big" | "$1" -c $level
}

code_of() { case $1 in raw) echo 0 ;; gzip) echo 1 ;; bzip2) echo 2 ;; xz) echo 3 ;; lzop) echo 4 ;; zstd) echo 5 ;; esac; }

manifest="$out/MANIFEST"
note() { echo "$*" | tee -a "$manifest" >&2; }
note "# $(date -u +%FT%TZ) make-big-wrapped.sh $big -> $out ($formats); template $template"

made=()
for f in ${formats//,/ }; do
  t0=$EPOCHREALTIME
  case $f in
    raw|gzip|bzip2|xz|lzop|zstd)
      dest="$out/big-$f.save"
      rm -f "$dest" "$dest.partial"
      write_header "$(code_of "$f")" "$dest.partial"
      if [ "$f" = raw ]; then cat "$big" >>"$dest.partial"; else compress "$f" >>"$dest.partial"; fi
      mv "$dest.partial" "$dest" ;;
    dump-zstd)
      dest="$out/big-dump.mig.zst"
      rm -f "$dest" "$dest.partial"
      compress zstd >"$dest.partial"
      mv "$dest.partial" "$dest" ;;
    qcow2)
      dest="$out/big-snap.qcow2"
      rm -f "$dest" "$dest.partial"
      qemu-img create -q -f qcow2 "$dest.partial" 1G
      gib=$(( $(stat -c %s "$ram") / 1073741824 ))
      sock="$out/.qmp.$$.sock"; rm -f "$sock"
      qemu-system-x86_64 -nodefaults -display none -S -M pc,memory-backend=pc.ram,accel=tcg -m "${gib}G" \
        -object memory-backend-file,id=pc.ram,size="${gib}G",mem-path="$ram",share=off \
        -drive file="$dest.partial",format=qcow2,if=none,id=disk0 \
        -qmp unix:"$sock",server=on,wait=off &
      qpid=$!
      trap 'kill $qpid 2>/dev/null || true; rm -f "$sock"' EXIT
      for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
      python3 - "$sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def cmd(c, **a):
    f.write(json.dumps({"execute": c, "arguments": a} if a else {"execute": c}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r: return r
json.loads(f.readline()); cmd("qmp_capabilities")
r = cmd("human-monitor-command", **{"command-line": "savevm big"})
if "error" in r or r.get("return"):
    sys.exit(f"savevm: {r}")
print(cmd("human-monitor-command", **{"command-line": "info snapshots"})["return"], file=sys.stderr, end="")
cmd("quit")
PY
      wait $qpid || true
      trap - EXIT
      rm -f "$sock"
      mv "$dest.partial" "$dest" ;;
  esac
  t1=$EPOCHREALTIME
  note "$(basename "$dest")  $(stat -c %s "$dest") bytes  made in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
  made+=("$dest")
done

if [ "$verify" = 1 ]; then
  want=$(mktemp "${TMPDIR:-/tmp}/.make-big-wrapped.XXXXXX"); got="$want.got"
  trap 'rm -f "$want" "$got"' EXIT
  "$migscope" hash "$big" >"$want"
  for dest in "${made[@]}"; do
    rc=0; "$migscope" info "$dest" >/dev/null || rc=$?
    [ "$rc" = 0 ] || { note "VERIFY FAILED: migscope info $(basename "$dest") (exit $rc)"; exit 1; }
    rc=0; "$migscope" hash "$dest" >"$got" || rc=$?
    [ "$rc" = 0 ] || { note "VERIFY FAILED: migscope hash $(basename "$dest") (exit $rc)"; exit 1; }
    if cmp -s "$want" "$got"; then
      note "verified $(basename "$dest"): info ok, hash output identical to hash of $(basename "$big") ($(wc -l <"$want") lines, XXH3 $(xxhsum -H3 <"$want" | awk '{print $NF}'))"
    else note "VERIFY FAILED: migscope hash $(basename "$dest") differs from $(basename "$big")"; exit 1; fi
  done
fi
