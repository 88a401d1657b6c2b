#!/bin/sh
# Regenerate vmdesc/<arch>-<machine>.json: the VMDESCRIPTION trailer of a real
# migration stream saved by the installed QEMU (Debian 12: 7.2) from a stopped
# guest with 32 MiB of RAM and no default devices. The stream itself is not
# kept (it is mostly RAM); only its trailer JSON is (format.md §8: the bytes
# after 0x06 + be32 length at the end of the file). Two whole streams are kept,
# xz-compressed, in streams/ to test `migscope check A.mig B.mig`.
set -eu
cd "$(dirname "$0")"
mkdir -p vmdesc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
save() {  # save ARCH MACHINE [extra qemu args...]
  arch=$1 machine=$2; shift 2
  mig="$tmp/$arch-$machine.mig"
  printf 'migrate "exec:cat > %s"\nquit\n' "$mig" |
    "qemu-system-$arch" -nodefaults -display none -M "$machine" -m 32 -S -monitor stdio "$@" > /dev/null
  python3 - "$mig" "vmdesc/$arch-$machine.json" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
assert data[:4] == b'QEVM', 'not a stream'
for p in range(len(data) - 5, 0, -1):   # exact rule: 0x06, be32 len, JSON to end of file
    if data[p] == 6 and struct.unpack('>I', data[p + 1:p + 5])[0] == len(data) - p - 5:
        open(sys.argv[2], 'wb').write(data[p + 5:])
        break
else:
    sys.exit('no vmdesc trailer in ' + sys.argv[1])
PY
}
save x86_64 pc-q35-7.2
save x86_64 pc-q35-4.2
mkdir -p streams
for m in pc-q35-7.2 pc-q35-4.2; do xz -9 -c "$tmp/x86_64-$m.mig" > "streams/x86_64-$m.mig.xz"; done
save x86_64 pc-i440fx-7.2
save x86_64 pc-i440fx-2.4
save aarch64 virt-7.2 -cpu cortex-a57
save aarch64 virt-6.2 -cpu cortex-a57
