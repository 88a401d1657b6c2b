#!/usr/bin/env python3
"""Load one migration stream into a destination QEMU and print the outcome as one JSON line.

    load-one.py --source SRC --dest NAME --caps JSON --params JSON --stream FILE \
                --stderr FILE --sock SOCK [--work DIR] -- QEMU-BINARY ARGS...

The destination is started with the given arguments plus a QMP monitor on SOCK and
`-incoming defer`. Over QMP: qmp_capabilities, migrate-set-capabilities (if --caps is a
non-empty list of capability names), migrate-set-parameters (if --params is a non-empty
object), then migrate-incoming {"uri": "exec:cat STREAM"}. query-migrate is polled every
50 ms until "completed" (loaded, and query-status must have left "inmigrate") or "failed",
or until the process exits; the limit is 60 s (status "timeout"). A process that exits by
itself is recorded with status "exited" and its exit code (QEMU 7.2 exits with status 1
after "load of migration failed"; a negative code is a signal). Afterwards the destination
is told to quit (killed if it does not). Occurrences of the work directory in QEMU's stderr
are replaced by $WORK so that the output does not depend on where it ran.
"""
import argparse, json, os, socket, subprocess, sys, time

ap = argparse.ArgumentParser()
for a in ('source', 'dest', 'caps', 'params', 'stream', 'stderr', 'sock', 'work'):
    ap.add_argument('--' + a, default='')
ap.add_argument('--timeout', type=float, default=60.0)
ap.add_argument('cmd', nargs=argparse.REMAINDER)
o = ap.parse_args()
cmd = o.cmd[1:] if o.cmd and o.cmd[0] == '--' else o.cmd
caps = json.loads(o.caps or '[]')
params = json.loads(o.params or '{}')

if os.path.exists(o.sock):
    os.unlink(o.sock)
full = cmd + ['-chardev', 'socket,id=qmp,path=%s,server=on,wait=off' % o.sock,
              '-mon', 'chardev=qmp,mode=control', '-incoming', 'defer']
errf = open(o.stderr, 'wb')
p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf)

result = {'source': o.source, 'dest': o.dest, 'loaded': False, 'status': None,
          'exit_code': None, 'errors': []}


class Gone(Exception):
    pass


def connect():
    for _ in range(400):
        if p.poll() is not None:
            raise Gone()
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(o.sock)
            return s
        except OSError:
            time.sleep(0.05)
    raise Gone()


f = None


def rd():
    while True:
        try:
            line = f.readline()
        except OSError:
            raise Gone()
        if not line:
            raise Gone()
        m = json.loads(line)
        if 'event' not in m:
            return m


def x(c, **a):
    m = {'execute': c}
    if a:
        m['arguments'] = a
    try:
        f.write(json.dumps(m) + '\n')
        f.flush()
    except OSError:
        raise Gone()
    r = rd()
    if 'error' in r:
        raise RuntimeError('QMP %s: %s' % (c, r['error'].get('desc', r['error'])))
    return r['return']


try:
    s = connect()
    f = s.makefile('rw')
    rd()
    x('qmp_capabilities')
    if caps:
        x('migrate-set-capabilities',
          capabilities=[{'capability': c, 'state': True} for c in caps])
    if params:
        x('migrate-set-parameters', **params)
    x('migrate-incoming', uri='exec:cat ' + o.stream)
    t0 = time.time()
    while True:
        st = x('query-migrate').get('status')
        if st == 'completed':
            if x('query-status')['status'] == 'inmigrate':
                time.sleep(0.05)
                continue
            result['loaded'] = True
            result['status'] = st
            break
        if st == 'failed':
            # 7.2 exits right after setting "failed": give it a moment, so that the
            # recorded status does not depend on when the last poll happened.
            try:
                p.wait(timeout=3)
                raise Gone()
            except subprocess.TimeoutExpired:
                result['status'] = st
                break
        if time.time() - t0 > o.timeout:
            result['status'] = 'timeout'
            break
        time.sleep(0.05)
except Gone:
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    if p.poll() is not None:
        result['status'] = 'exited'
        result['exit_code'] = p.returncode
    else:
        result['status'] = 'qmp-lost'
except RuntimeError as e:
    result['status'] = 'qmp-error'
    result['qmp_error'] = str(e)

if p.poll() is None:
    try:
        f.write(json.dumps({'execute': 'quit'}) + '\n')
        f.flush()
    except Exception:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
errf.close()
with open(o.stderr, 'rb') as e:
    txt = e.read().decode('utf-8', 'replace')
if o.work:
    txt = txt.replace(o.work, '$WORK')
result['errors'] = [l.strip() for l in txt.splitlines() if l.strip()]
print(json.dumps(result))
