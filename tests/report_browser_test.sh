#!/bin/sh
# The report page as a browser shows it: headless Chromium loads reports of
# corpus dumps, runs their script, and the DOM it dumps must hold the section
# table's rows, one drawn canvas per RAM block with pages, the device state
# tree, search marks for a query given in the URL, and (for a libvirt save)
# the domain. Exit 77 (ctest SKIP_RETURN_CODE) when no Chromium is installed.
#   report_browser_test.sh MIGSCOPE CORPUS_DIR WORK_DIR
set -eu
migscope=$1 corpus=$2 work=$3
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "SKIP: no headless Chromium (install the Debian package chromium: scripts/install-deps.sh does)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
fail=0
dom() {  # dom REPORT.html [#fragment] > DOM
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
    --dump-dom "file://$1$2" 2>"$work/browser.log"
}
check() {  # check WHAT COMMAND...
  what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fail=1; fi
}
count() { grep -o "$1" "$2" | wc -l | tr -d ' '; }

report() {  # report INPUT NAME
  "$migscope" report "$1" -o "$work/$2.html" --force >/dev/null
  dom "$work/$2.html" "" > "$work/$2.dom"
}

report "$corpus/streams/x86_64-q35-7.2-devices.mig" devices
d=$work/devices.dom
rows=$(count '<tr data-kind=' "$d")
check "devices: 47 section rows rendered ($rows)" [ "$rows" -eq 47 ]
check "devices: the section count line" grep -q '47 of 47 sections' "$d"
canvases=$(count '<canvas[^>]*data-drawn="true"' "$d")
check "devices: 11 block canvases drawn ($canvases)" [ "$canvases" -eq 11 ]
check "devices: a canvas per block name" grep -q '<canvas data-block="pc.ram"' "$d"
check "devices: the byte bars (SVG)" grep -q '<svg[^>]*role="img"' "$d"
check "devices: state tree top nodes" grep -q '<details data-path="timer (0)"' "$d"
check "devices: state tree of 45 sections" grep -q '45 sections, ' "$d"
check "devices: state read" sh -c "! grep -q 'could not be read: [A-Za-z]' '$d'"
check "devices: page counts" grep -q 'data-class="zero" data-pages="4096"' "$d"

dom "$work/devices.html" '#search=e1000%20(43).mac' > "$work/search.dom"
marks=$(count '<mark>' "$work/search.dom")
check "search from the URL: marks ($marks)" [ "$marks" -ge 10 ]
check "search from the URL: matches counted" grep -q '[0-9]* matches' "$work/search.dom"
check "search: only matching nodes" sh -c "! grep -q 'data-path=\"timer (0)\"' '$work/search.dom'"

# A 10 MB state (pseries): inflated and parsed by the page.
report "$corpus/streams/ppc64-pseries-7.2.mig" pseries
check "pseries: state tree" grep -q '<details data-path="spapr' "$work/pseries.dom"
check "pseries: state read" sh -c "! grep -q 'could not be read: [A-Za-z]' '$work/pseries.dom'"

report "$corpus/wrapped/pc-gzip.save" save
check "libvirt save: the domain" grep -q 'mig-pc-gzip' "$work/save.dom"
check "libvirt save: canvases" grep -q 'data-drawn="true"' "$work/save.dom"

report "$corpus/streams/x86_64-q35-7.2-xbzrle.mig" xbzrle
check "xbzrle: canvases" grep -q 'data-drawn="true"' "$work/xbzrle.dom"
check "xbzrle: xbzrle pages counted" grep -q 'data-class="xbzrle" data-pages="[1-9]' "$work/xbzrle.dom"

if [ "$fail" -ne 0 ]; then
  echo "browser log: $work/browser.log"
  exit 1
fi
echo "report pages render in $browser"
