#!/bin/sh
# A picture of a report page as headless Chromium renders it (script run).
#   scripts/report-screenshot.sh REPORT.html OUT.png [WIDTH,HEIGHT]
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
  exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1400,2000}
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "$0: no Chromium found (Debian: apt-get install chromium)" >&2
  exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --screenshot="$out" --window-size="$size" "file://$report" 2>/dev/null
[ -s "$out" ] || { echo "$0: no screenshot written" >&2; exit 1; }
echo "$out"
