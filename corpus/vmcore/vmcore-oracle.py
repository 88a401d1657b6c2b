#!/usr/bin/env python3
"""Driver of make-vmcore-oracle.sh: load every QEMU 7.2 stream of the corpus into a destination
QEMU 7.2 and describe the ELF that QMP dump-guest-memory writes (see README.md).

    vmcore-oracle.py CORPUS_DIR WORK_DIR [--only NAME]... [--keep-elf]

For each row of CORPUS_DIR/streams/manifest.tsv and CORPUS_DIR/vmcore/manifest.tsv whose
NAME.mig.xz exists:
  * the destination runs the source's command line ($WORK -> WORK_DIR) plus -incoming defer and a
    QMP socket; every mem-path=FILE becomes a fresh empty (sparse) file of the object's size, every
    -drive file=$WORK/... a fresh 1 MiB zero file (the sources' disk.raw/boot.bin were 1 MiB);
  * the capabilities the source set (migrate-set-capabilities in its QMP column) are set on the
    destination too, plus decompress-threads 1 with compress;
  * QMP: migrate-incoming "exec:xz -dc STREAM.mig.xz", wait until query-migrate says completed,
    query-status, HMP "info mtree -f", dump-guest-memory {paging: false, protocol: file:OUT.elf},
    quit;
  * elf-oracle.py turns OUT.elf into vmcore/oracle/NAME.json (plus the destination's command
    line, QMP commands and run state); the flat view of address space "memory" goes to
    vmcore/oracle/NAME.mtree.txt; OUT.elf is deleted.
A stream that does not load or dump gets a line "NAME: reason (QEMU's message)" in
vmcore/oracle-failures.txt instead. Only one QEMU runs at a time.
"""
import json, os, re, shlex, subprocess, sys, time

corpus, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
only, keep_elf = [], False
args = sys.argv[3:]
while args:
    a = args.pop(0)
    if a == '--only':
        only.append(args.pop(0))
    elif a == '--keep-elf':
        keep_elf = True
    else:
        sys.exit('unknown argument ' + a)
here = os.path.join(corpus, 'vmcore')
odir = os.path.join(here, 'oracle')
os.makedirs(odir, exist_ok=True)
qemu_version = subprocess.run(['qemu-system-x86_64', '--version'], capture_output=True,
                              text=True).stdout.splitlines()[0]


def rows(sub):
    with open(os.path.join(corpus, sub, 'manifest.tsv')) as f:
        lines = f.read().splitlines()
    for l in lines[1:]:
        name, cmd, qmp = l.split('\t')
        yield sub, name, cmd, json.loads(qmp)


def size_of(s):
    m = re.fullmatch(r'(\d+)([KMGT]?)', s)
    return int(m.group(1)) << {'': 0, 'K': 10, 'M': 20, 'G': 30, 'T': 40}[m.group(2)]


def destination(name, cmd):
    argv = [a.replace('$WORK', work) for a in shlex.split(cmd)]
    out = []
    for a in argv:
        if 'mem-path=' in a:
            opts = dict(o.split('=', 1) for o in a.split(',')[1:] if '=' in o)
            fresh = os.path.join(work, 'dest-%s-%s.ram' % (name, opts.get('id', 'mem')))
            with open(fresh, 'wb') as f:
                f.truncate(size_of(opts['size']))
            a = a.replace('mem-path=' + opts['mem-path'], 'mem-path=' + fresh)
        m = re.search(r'(?:^|,)file=(%s/[^,]+)' % re.escape(work), a)
        if m:
            with open(m.group(1), 'wb') as f:
                f.truncate(1 << 20)
        out.append(a)
    return out


def trim_mtree(text):
    # the FlatView section that serves address space "memory"
    blocks = re.split(r'(?m)^(?=FlatView #)', text)
    for b in blocks:
        if re.search(r'(?m)^ AS "memory", root: ', b):
            # QEMU numbers the FlatViews differently from run to run: drop the number
            return re.sub(r'^FlatView #\d+', 'FlatView', b.rstrip('\n')) + '\n'
    return None


def qemu_message(log):
    lines = [l.strip() for l in log.splitlines() if l.strip()]
    return ' | '.join(lines[-4:]) if lines else ''


failures = []
done = []
for sub, name, cmd, srcqmp in list(rows('streams')) + list(rows('vmcore')):
    if only and name not in only:
        continue
    src = os.path.join(corpus, sub, name + '.mig.xz')
    if not os.path.exists(src):
        continue
    relsrc = 'corpus/%s/%s.mig.xz' % (sub, name)
    t0 = time.time()
    argv = destination(name, cmd)
    sock = os.path.join(work, name + '.qmp')
    elf = os.path.join(work, name + '.elf')
    mtree = os.path.join(work, name + '.mtree')
    status = os.path.join(work, name + '.status')
    for p in (sock, elf, mtree, status):
        if os.path.exists(p):
            os.unlink(p)
    caps = []
    for c in srcqmp:
        if c[0] == 'migrate-set-capabilities':
            caps += [x['capability'] for x in c[1]['capabilities'] if x['state']]
    q = []
    if caps:
        q.append(['migrate-set-capabilities',
                  {'capabilities': [{'capability': c, 'state': True} for c in caps]}])
    if 'compress' in caps:
        q.append(['migrate-set-parameters', {'decompress-threads': 1}])
    q += [['migrate-incoming', {'uri': 'exec:xz -dc ' + src}], ['wait-incoming'],
          ['status', status], ['hmp', 'info mtree -f', mtree],
          ['dump-guest-memory', {'paging': False, 'protocol': 'file:' + elf}]]
    full = argv + ['-incoming', 'defer', '-chardev',
                   'socket,id=qmp,path=%s,server=on,wait=off' % sock, '-mon', 'chardev=qmp,mode=control']
    log = open(os.path.join(work, name + '.log'), 'w+')
    qp = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        r = subprocess.run([sys.executable, os.path.join(here, 'qmp.py'), sock, json.dumps(q)],
                           capture_output=True, text=True, timeout=900)
        rc, err = r.returncode, r.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, err = 1, 'QMP client timeout'
    if rc != 0:
        qp.kill()
    try:
        qp.wait(timeout=60)
    except subprocess.TimeoutExpired:
        qp.kill()
        qp.wait()
    log.seek(0)
    qlog = log.read()
    log.close()
    if rc != 0 or not os.path.exists(elf):
        msg = '%s: %s (QEMU: %s)' % (name, err or 'no ELF written', qemu_message(qlog) or 'no output')
        print('FAILED ' + msg, file=sys.stderr)
        failures.append(msg)
        if os.path.exists(elf):
            os.unlink(elf)
        continue
    r = subprocess.run([sys.executable, os.path.join(here, 'elf-oracle.py'), elf, '--stream', name,
                        '--source', relsrc, '--qemu', qemu_version], capture_output=True, text=True)
    if r.returncode != 0:
        failures.append('%s: ELF not parsed (%s)' % (name, r.stderr.strip()))
        continue
    j = json.loads(r.stdout)
    shown = lambda s: s.replace(work, '$WORK').replace(corpus, 'corpus')
    j['destination'] = {
        'command': shown(' '.join(shlex.quote(a) for a in argv + ['-incoming', 'defer'])),
        'qmp': json.loads(shown(json.dumps(q))),
        'status_after_load': open(status).read().strip(),
        'qemu_stderr': [l for l in qlog.splitlines() if l.strip()],
    }
    elfsize = os.path.getsize(elf)
    with open(os.path.join(odir, name + '.json'), 'w') as f:
        json.dump(j, f, indent=1)
        f.write('\n')
    mt = trim_mtree(open(mtree).read()) if os.path.exists(mtree) else None
    if mt:
        with open(os.path.join(odir, name + '.mtree.txt'), 'w') as f:
            f.write(mt)
    if not keep_elf:
        os.unlink(elf)
    for p in os.listdir(work):
        if p.startswith('dest-%s-' % name):
            os.unlink(os.path.join(work, p))
    done.append(name)
    print('  %-34s %2d PT_LOAD, %3d notes, ELF %11d bytes, e_machine %3d, gdb %-3s %4.1f s' % (
        name, len(j['loads']), len(j['notes']), elfsize, j['elf']['machine'],
        'yes' if 'gdb' in j else 'no', time.time() - t0), flush=True)

fpath = os.path.join(here, 'oracle-failures.txt')
old = {}
if only and os.path.exists(fpath):
    for l in open(fpath).read().splitlines():
        old[l.split(':', 1)[0]] = l
for n in only or []:
    old.pop(n, None)
for l in failures:
    old[l.split(':', 1)[0]] = l
with open(fpath, 'w') as f:
    for k in sorted(old):
        f.write(old[k] + '\n')
print('%d oracles, %d failures (%s)' % (len(done), len(failures), fpath))
