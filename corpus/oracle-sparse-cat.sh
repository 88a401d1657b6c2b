#!/usr/bin/env bash
# Oracle: does REAL QEMU 10.0 load the bare mapped-ram stream that `migscope cat` writes for a
# libvirt "sparse" save? For each sparse save (q35-10.0-sparse, q35-10.0-sparse-2ch):
#   1. migscope cat SAVE -o NAME.bare.mig
#   2. control: a destination QEMU 10.0 (Debian trixie chroot) loads the ORIGINAL save the way
#      libvirt does: file:SAVE,offset=<92 + data_len>
#   3. the identical destination command line loads NAME.bare.mig: file:NAME.bare.mig
# each once with the capabilities libvirt set (multifd + mapped-ram, multifd-channels 1 or 2)
# and once with mapped-ram alone. Verdict = QEMU's query-migrate status, its stderr and exit.
#
#   corpus/oracle-sparse-cat.sh [OUTPUT.txt]     (root; default output: print to stdout)
#
# Needs root (chroot, mount), TRIXIE_ROOT (default /srv/trixie) with qemu-system-x86 10.0
# installed (see make-wrapped-corpus.sh), python3 on the host, MIGSCOPE (default
# build/tools/migscope) and the decompressed corpus in build/corpus/wrapped/.
# The destination reproduces libvirt 11.3's command line for the domain XML stored in the saves
# (`migscope info --domain-xml`): q35 10.0, acpi=off (no <acpi/> feature), 128 MiB as a
# memory-backend-ram "pc.ram", 1 vCPU qemu64, TCG, -nodefaults, two pcie-root-ports at 00:01.0/1,
# qemu-xhci behind the first, isa-serial; the built-in ich9-ahci, ps2 mouse, vmmouse and hpet
# come from the machine. The device list matches the vmdesc of the streams (`migscope desc`).
set -euo pipefail

CORPUS=$(cd "$(dirname "$0")" && pwd)
MIGSCOPE=${MIGSCOPE:-$CORPUS/../build/tools/migscope}
SAVES=${SAVES:-$CORPUS/../build/corpus/wrapped}
TRIXIE_ROOT=${TRIXIE_ROOT:-/srv/trixie}
REPORT=${1:-}
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
[ -x "$MIGSCOPE" ] || { echo "no migscope at $MIGSCOPE" >&2; exit 1; }
[ -x "$TRIXIE_ROOT/usr/bin/qemu-system-x86_64" ] || { echo "no QEMU in $TRIXIE_ROOT" >&2; exit 1; }

IN=$(mktemp -d "$TRIXIE_ROOT/tmp/oracle-sparse-cat.XXXXXX")   # seen as ${IN#$TRIXIE_ROOT} inside
CIN=${IN#"$TRIXIE_ROOT"}
MOUNTED=()
cleanup() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[i]}" 2>/dev/null || true; done
    rm -rf "$IN"
}
trap cleanup EXIT
if ! mountpoint -q "$TRIXIE_ROOT/proc"; then mount -t proc proc "$TRIXIE_ROOT/proc"; MOUNTED+=("$TRIXIE_ROOT/proc"); fi
if ! mountpoint -q "$TRIXIE_ROOT/sys"; then mount --bind /sys "$TRIXIE_ROOT/sys"; MOUNTED+=("$TRIXIE_ROOT/sys"); fi

LOG="$IN/report.txt"
{
echo "# oracle-sparse-cat.sh run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# destination: $(chroot "$TRIXIE_ROOT" qemu-system-x86_64 --version | head -1) in $TRIXIE_ROOT ($(. "$TRIXIE_ROOT/etc/os-release"; echo "$PRETTY_NAME"))"
echo "# migscope: $MIGSCOPE (git $(git -C "$CORPUS/.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "# For each sparse save: migscope cat -> NAME.bare.mig; a destination QEMU with libvirt's command"
echo "# line for the domain loads (control) the original save at file:SAVE,offset=92+data_len and (bare)"
echo "# the bare stream at file:NAME.bare.mig, with multifd+mapped-ram (libvirt's capabilities and"
echo "# channel count) and with mapped-ram alone; negative = the save without offset (must fail);"
echo "# baseline = no load (its RAM checksum must differ). VERDICT = final query-migrate status."
} > "$LOG"

for name in q35-10.0-sparse q35-10.0-sparse-2ch; do
    save=$SAVES/$name.save
    [ -f "$save" ] || { echo "missing $save" >&2; exit 1; }
    cp --sparse=always "$save" "$IN/$name.save"
    {
        echo
        echo "=================================================================================="
        echo "## $name"
        echo "\$ migscope cat $name.save -o $name.bare.mig"
    } >> "$LOG"
    "$MIGSCOPE" cat "$IN/$name.save" -o "$IN/$name.bare.mig" 2>> "$LOG" || { echo "migscope cat failed" >> "$LOG"; exit 1; }
    sed -i "s|$IN/||g" "$LOG"
    data_len=$("$MIGSCOPE" info --json "$IN/$name.save" | python3 -c 'import json,sys; print(json.load(sys.stdin)["libvirt"]["data_len"])')
    offset=$((92 + data_len))
    ch=1; [ "$name" = q35-10.0-sparse-2ch ] && ch=2
    uuid=$("$MIGSCOPE" info --json "$IN/$name.save" | python3 -c 'import json,sys; print(json.load(sys.stdin)["libvirt"]["domain"]["uuid"])')
    echo "data_len $data_len -> libvirt's stream offset $offset; libvirt set multifd + mapped-ram, multifd-channels $ch" >> "$LOG"
    echo "sha256: $(sha256sum "$IN/$name.save" | cut -c1-64) $name.save; $(sha256sum "$IN/$name.bare.mig" | cut -c1-64) $name.bare.mig" >> "$LOG"
    # control + bare with both capability sets; then two sanity checks that the verdict means
    # something: "negative" = the original save WITHOUT its offset (must fail), "baseline" = no
    # load at all (its RAM checksum must differ from the loaded ones)
    for run in multifd:control multifd:bare none:control none:bare multifd:negative none:baseline; do
            caps=${run%%:*} which=${run#*:}
            case $which in
                control) uri="file:$CIN/$name.save,offset=$offset" ;;
                bare) uri="file:$CIN/$name.bare.mig" ;;
                negative) uri="file:$CIN/$name.save" ;;
                baseline) uri="" ;;
            esac
            python3 - "$TRIXIE_ROOT" "$CIN" "$IN" "$uri" "$caps" "$ch" "$uuid" "$name/$which/caps=$caps" >> "$LOG" <<'PYEOF'
import json, os, socket, subprocess, sys, time
root, cin, hin, uri, caps, ch, uuid, label = sys.argv[1:]
sock_c = cin + '/qmp.sock'; sock_h = hin + '/qmp.sock'
if os.path.exists(sock_h): os.unlink(sock_h)
cmd = ['chroot', root, 'qemu-system-x86_64',
       '-name', 'guest=oracle,debug-threads=on', '-S',
       '-machine', 'pc-q35-10.0,usb=off,dump-guest-core=off,memory-backend=pc.ram,acpi=off',
       '-accel', 'tcg', '-cpu', 'qemu64', '-m', 'size=131072k',
       '-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":134217728}',
       '-overcommit', 'mem-lock=off', '-smp', '1,sockets=1,cores=1,threads=1',
       '-uuid', uuid, '-display', 'none', '-no-user-config', '-nodefaults',
       '-qmp', 'unix:%s,server=on,wait=off' % sock_c,
       '-rtc', 'base=utc', '-no-shutdown', '-boot', 'strict=on',
       '-device', '{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}',
       '-device', '{"driver":"pcie-root-port","port":9,"chassis":2,"id":"pci.2","bus":"pcie.0","addr":"0x1.0x1"}',
       '-device', '{"driver":"qemu-xhci","id":"usb","bus":"pci.1","addr":"0x0"}',
       '-chardev', 'null,id=charserial0',
       '-device', '{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}',
       '-audiodev', '{"id":"audio1","driver":"none"}',
       '-msg', 'timestamp=on', '-incoming', 'defer']
print('\n---- %s' % label)
print('$ ' + ' '.join(("'%s'" % a) if any(c in a for c in ' {"') else a for a in cmd))
errf = open(hin + '/stderr.txt', 'w+')
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf)
for _ in range(200):
    if os.path.exists(sock_h) or p.poll() is not None: break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX); s.connect(sock_h); f = s.makefile('rw')
def rd():
    while True:
        m = json.loads(f.readline())
        if 'event' in m: print('<- (event) ' + json.dumps(m)); continue
        return m
def qmp(ex, args=None, quiet=False):
    c = {'execute': ex}
    if args is not None: c['arguments'] = args
    f.write(json.dumps(c) + '\n'); f.flush()
    r = rd()
    if not quiet: print('-> ' + json.dumps(c)); print('<- ' + json.dumps(r))
    return r
greet = json.loads(f.readline()); print('<- ' + json.dumps(greet))
qmp('qmp_capabilities')
capl = [{'capability': 'mapped-ram', 'state': True}]
if caps == 'multifd': capl.insert(0, {'capability': 'multifd', 'state': True})
qmp('migrate-set-capabilities', {'capabilities': capl})
if caps == 'multifd': qmp('migrate-set-parameters', {'multifd-channels': int(ch)})
st, r = None, {}
try:
    if uri:
        qmp('migrate-incoming', {'uri': uri})
        t0 = time.time(); last = None; n = 0
        while True:
            r = qmp('query-migrate', quiet=True); n += 1
            st = r.get('return', {}).get('status')
            if st in ('completed', 'failed', 'cancelled') or time.time() - t0 > 120: break
            time.sleep(0.1)
        print('-> {"execute": "query-migrate"}  (polled %d times, %.1f s)' % (n, time.time() - t0))
        print('<- ' + json.dumps(r))
    else:
        print('   (baseline: no migrate-incoming)')
        st, r = 'not-loaded', {}
    qs = qmp('query-status')
    if st in ('completed', 'not-loaded'):
        # a look at guest RAM after the load: a checksum of guest-physical [0, 128 MiB)
        # via pmemsave (control and bare must agree; baseline = a QEMU that loaded nothing)
        dump = cin + '/ram.bin'
        qmp('pmemsave', {'val': 0, 'size': 134217728, 'filename': dump})
        import hashlib
        h = hashlib.sha256(open(hin + '/ram.bin', 'rb').read()).hexdigest()
        os.unlink(hin + '/ram.bin')
        print('   guest RAM [0, 128 MiB) sha256 (pmemsave): ' + h)
    qmp('quit')
except (ConnectionError, ValueError, BrokenPipeError) as e:
    # QEMU ends itself when an incoming migration fails (exit-on-error, libvirt's default)
    print('   QMP connection lost (%s): QEMU exited' % type(e).__name__)
    if st is None or st not in ('completed', 'failed'): st = 'failed'
try: p.wait(20)
except subprocess.TimeoutExpired: p.kill(); p.wait()
errf.seek(0); err = errf.read()
print('QEMU exit status: %s' % p.returncode)
print('QEMU stderr:' + (' (empty)' if not err.strip() else '\n' + '\n'.join('   | ' + l for l in err.rstrip().splitlines())))
why = r.get('return', {}).get('error-desc') or (err.strip().splitlines() or [''])[0].split(': ', 1)[-1]
print('VERDICT %s: %s%s' % (label, st, ' (QEMU exit %s: %s)' % (p.returncode, why) if st == 'failed' else ''))
PYEOF
    done
    rm -f "$IN/$name.save" "$IN/$name.bare.mig"
done
echo >> "$LOG"
echo "## summary" >> "$LOG"
grep '^VERDICT' "$LOG" > "$IN/summary"; cat "$IN/summary" >> "$LOG"
if [ -n "$REPORT" ]; then cp "$LOG" "$REPORT"; else cat "$LOG"; fi
# exit 0 only if every control and bare run completed and every negative run failed
if grep -E '/(control|bare)/' "$IN/summary" | grep -vq ': completed' ||
   grep '/negative/' "$IN/summary" | grep -vq ': failed'; then exit 1; else exit 0; fi
