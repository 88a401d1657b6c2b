#!/usr/bin/env python3
"""Tiny QMP client for the vmcore corpus scripts (standard library only).

    qmp.py SOCKET JSON-LIST-OF-COMMANDS

Each command is ["qmp-command", {arguments}] or a pseudo command:
  ["wait-migrate"]          poll query-migrate until completed (exit 1 on failed/cancelled)
  ["wait-incoming"]         destination: poll query-migrate until completed, then check that
                            query-status is no longer inmigrate
  ["sleep", SECONDS]
  ["hmp", "COMMAND", FILE]  run an HMP command (human-monitor-command), write its text to FILE
  ["status", FILE]          write query-status's status to FILE
  ["noquit"]                do not send quit at the end
Every reply is awaited, so a synchronous command (dump-guest-memory without detach) returns
only when it is done. On a QMP error the message is printed to stderr and the exit status is 1.
"""
import json, socket, sys, time

path, cmds = sys.argv[1], json.loads(sys.argv[2])
for _ in range(600):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("cannot connect to " + path)
f = s.makefile('rw')


def rd():
    while True:
        line = f.readline()
        if not line:
            sys.exit("QMP connection closed")
        m = json.loads(line)
        if 'event' not in m:
            return m


def x(cmd, **a):
    m = {'execute': cmd}
    if a:
        m['arguments'] = a
    f.write(json.dumps(m) + '\n')
    f.flush()
    r = rd()
    if 'error' in r:
        print('QMP %s failed: %s' % (cmd, r['error'].get('desc', r['error'])), file=sys.stderr)
        sys.exit(1)
    return r['return']


def wait_completed(what):
    t0 = time.time()
    while True:
        mig = x('query-migrate')
        st = mig.get('status')
        if st == 'completed':
            return
        if st in ('failed', 'cancelled'):
            print('%s %s: %s' % (what, st, mig.get('error-desc', json.dumps(mig))), file=sys.stderr)
            sys.exit(1)
        if time.time() - t0 > 600:
            print(what + ' timeout', file=sys.stderr)
            sys.exit(1)
        time.sleep(0.05)


rd()
x('qmp_capabilities')
do_quit = True
for c in cmds:
    if c[0] == 'wait-migrate':
        wait_completed('migration')
    elif c[0] == 'wait-incoming':
        wait_completed('incoming migration')
        if x('query-status')['status'] == 'inmigrate':
            print('incoming: VM still inmigrate', file=sys.stderr)
            sys.exit(1)
    elif c[0] == 'sleep':
        time.sleep(c[1])
    elif c[0] == 'hmp':
        with open(c[2], 'w') as o:
            o.write(x('human-monitor-command', **{'command-line': c[1]}))
    elif c[0] == 'status':
        with open(c[1], 'w') as o:
            o.write(x('query-status')['status'] + '\n')
    elif c[0] == 'noquit':
        do_quit = False
    else:
        x(c[0], **(c[1] if len(c) > 1 else {}))
if do_quit:
    try:
        f.write(json.dumps({'execute': 'quit'}) + '\n')
        f.flush()
        rd()
    except (Exception, SystemExit):
        pass
