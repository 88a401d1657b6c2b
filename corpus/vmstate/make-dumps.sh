#!/bin/sh
# Regenerate the real -dump-vmstate files in dumps/ with the QEMU installed on
# this machine (Debian 12's QEMU 7.2: `apt-get install qemu-system`).
# Files are named <arch>-<machine>.json and stored xz-compressed (.json.xz);
# tests decompress them into a temporary directory.
set -eu
cd "$(dirname "$0")/dumps"
dump() {  # dump ARCH MACHINE
  out="$1-$2.json"
  "qemu-system-$1" -nodefaults -display none -M "$2" -dump-vmstate "$out"
  xz -9e -f "$out"
}
dump x86_64 pc-i440fx-7.2
dump x86_64 pc-q35-7.2
dump x86_64 pc-i440fx-2.0
dump x86_64 pc-q35-4.2
dump i386 pc-i440fx-7.2
dump aarch64 virt-7.2
dump aarch64 virt-4.2
dump arm virt-7.2
dump ppc64 pseries-7.2
dump ppc64 pseries-4.2
dump ppc mac99
dump s390x s390-ccw-virtio-7.2
dump s390x s390-ccw-virtio-4.2
dump riscv64 virt
dump riscv32 virt
dump m68k virt-7.2
dump m68k virt-6.0
dump loongarch64 virt
"qemu-system-x86_64" --version | head -n 1 > QEMU-VERSION
