#!/usr/bin/env bash
# One command on a fresh Debian machine: install what is missing, build, and run
# the main job (summary and device state) on a bundled real QEMU 7.2 dump.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
dump=build/corpus/streams/x86_64-q35-7.2.mig
echo "== migscope info $dump"
build/tools/migscope info "$dump"
state=build/setup-state.json
echo "== migscope state $dump > $state"
build/tools/migscope state "$dump" > "$state"
echo "$(wc -l < "$state") lines of device state JSON in $state; its first devices:"
head -n 12 "$state"
echo "..."
