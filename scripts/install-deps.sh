#!/usr/bin/env bash
# Install the Debian packages migscope needs to build and test, if missing.
# Run as root (or with sudo available). Safe to run again.
#   install-deps.sh          build + test suite
#   install-deps.sh --full   also clang and its runtime, for the libFuzzer targets
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config xz-utils
  libboost-iostreams-dev libboost-program-options-dev
  rapidjson-dev libxxhash-dev zlib1g-dev liblzo2-dev libzstd-dev
  libgtest-dev libbenchmark-dev
  libxml2-utils lzop
  gdb  # tests: gdb -c loads the vmcore ELF and reads the registers QEMU's own dump gives
  # packaging tests: cpack -G DEB (dpkg-shlibdeps), lintian, man --warnings, the zsh completion
  dpkg-dev lintian man-db zsh
  chromium  # tests: report.browser renders report pages headless (skipped without it)
)
if [ "${1:-}" = "--full" ]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${#missing[@]} Debian packages (a few minutes on a fresh machine): ${missing[*]}" >&2
started=$SECONDS
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update" >&2
$SUDO apt-get update -qq
echo "install-deps: apt-get install" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done in $((SECONDS - started)) s" >&2
