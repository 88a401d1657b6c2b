#!/usr/bin/env bash
# Regenerate the upstream "golden" outputs for every corpus stream.
#
#   corpus/make-goldens.sh /path/to/analyze-migration.py [--only NAME]...
#
# The script is QEMU's scripts/analyze-migration.py at commit
# 0002b0db1377808e3c2abcb4f02f3d3aa8ce304a (git blob e81deab8f92fa5ded116403c5980b0a575e0a0da);
# it is not part of this repository. For each stream corpus/streams/NAME.mig[.xz]
# (and corpus/streams-10.0/ -> corpus/golden-10.0/) it writes
#   golden/NAME.state.json       stdout of `analyze-migration.py -f STREAM -d state` (exit 0 only)
#   golden/NAME.desc.json        stdout of `analyze-migration.py -f STREAM -d desc`  (exit 0 only)
#   golden/NAME.extract.sha256   `<sha256>  <block>` of every RAM block file `-x` writes
#                                (in the order -x prints them; exit 0 only)
#                                (a JSON golden over 1 MiB is stored xz-compressed as NAME.*.json.xz)
#   golden/upstream-failures.txt `<name> <state|desc|extract>: <message>` for each failed run.
# Every exception inside the script is re-raised by it as
# `Exception: ('Full JSON dump:\n%s', '<whole vmdesc>')`, so the message recorded is the first
# line of the ORIGINAL exception (the last line of the first traceback), e.g.
# `Exception: Unknown section type: 5`.
# Runs with python3 from PATH (override with PYTHON=...).
set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,22p' "$0"; exit 2; }
SCRIPT=$(realpath "$1"); shift
ONLY=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) ONLY+=("$2"); shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
PY=${PYTHON:-python3}
BIG=$((1024 * 1024))
CORPUS=$(cd "$(dirname "$0")" && pwd)
[ -f "$SCRIPT" ] || { echo "no such file: $SCRIPT" >&2; exit 2; }
if command -v git >/dev/null; then
    h=$(git hash-object "$SCRIPT")
    [ "$h" = e81deab8f92fa5ded116403c5980b0a575e0a0da ] ||
        echo "warning: $SCRIPT has git blob $h, not e81deab8f9 (commit 0002b0db13)" >&2
fi

TMP=$(mktemp -d /tmp/migscope-goldens.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

want() {
    [ ${#ONLY[@]} -eq 0 ] && return 0
    local n; for n in "${ONLY[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

# first line of the original exception in a traceback on stderr
root_cause() {
    "$PY" - "$1" <<'EOF'
import sys
lines = open(sys.argv[1], errors='replace').read().split('\n')
# cut at the chained-exception separator, if any
for i, l in enumerate(lines):
    if l.startswith('During handling of the above exception'):
        lines = lines[:i]
        break
# last line of the first traceback that is not indented = the exception line(s);
# take the first line of that message
tb = [i for i, l in enumerate(lines) if l.startswith('Traceback')]
start = tb[0] if tb else 0
msg = [i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(' ')]
print(lines[msg[0]] if msg else (lines[-1] if lines else 'unknown error'))
EOF
}

golden_one() {   # STREAMFILE GOLDDIR FAILFILE
    local f=$1 gdir=$2 fails=$3
    local name; name=$(basename "$f"); name=${name%.xz}; name=${name%.mig}
    want "$name" || return 0
    local s="$TMP/$name.mig"
    case "$f" in *.xz) xz -dc "$f" > "$s" ;; *) cp "$f" "$s" ;; esac
    rm -f "$gdir/$name".{state,desc}.json{,.xz} "$gdir/$name.extract.sha256"
    local what out status
    for what in state desc; do
        if "$PY" "$SCRIPT" -f "$s" -d "$what" > "$TMP/out" 2> "$TMP/err"; then
            if [ "$(stat -c %s "$TMP/out")" -gt "$BIG" ]; then
                xz -9 -T1 -c "$TMP/out" > "$gdir/$name.$what.json.xz"; status+=" $what=ok(xz)"
            else
                mv "$TMP/out" "$gdir/$name.$what.json"; status+=" $what=ok"
            fi
        else
            echo "$name $what: $(root_cause "$TMP/err")" >> "$fails"; status+=" $what=FAIL"
        fi
    done
    rm -rf "$TMP/x"; mkdir "$TMP/x"
    if (cd "$TMP/x" && "$PY" "$SCRIPT" -f "$s" -x > "$TMP/out" 2> "$TMP/err"); then
        : > "$TMP/sums"
        local b
        while IFS= read -r b; do
            case "$b" in desc.json|state.json) continue ;; esac
            printf '%s  %s\n' "$(sha256sum < "$TMP/x/$b" | cut -d' ' -f1)" "$b" >> "$TMP/sums"
        done < "$TMP/out"
        mv "$TMP/sums" "$gdir/$name.extract.sha256"; status+=" extract=ok"
    else
        echo "$name extract: $(root_cause "$TMP/err")" >> "$fails"; status+=" extract=FAIL"
    fi
    rm -f "$s"
    printf '  %-40s%s\n' "$name" "$status"
}

for pair in "streams:golden" "streams-10.0:golden-10.0"; do
    sdir="$CORPUS/${pair%%:*}" gdir="$CORPUS/${pair#*:}"
    [ -d "$sdir" ] || continue
    mkdir -p "$gdir"
    fails="$gdir/upstream-failures.txt"
    # keep the failure lines of streams not regenerated this time
    touch "$fails"; : > "$TMP/fails"
    while IFS= read -r l; do want "${l%% *}" || echo "$l" >> "$TMP/fails"; done < "$fails"
    echo "goldens for $sdir -> $gdir"
    for f in "$sdir"/*.mig "$sdir"/*.mig.xz; do
        [ -e "$f" ] || continue
        golden_one "$f" "$gdir" "$TMP/fails"
    done
    sort "$TMP/fails" > "$fails"
done
