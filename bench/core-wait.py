#!/usr/bin/env python3
"""How long each hit-bridge service's event loop waited for a core while a bench part ran, and
where the machine's CPU went meanwhile, in 3 s slices.

Runs `npx node bench/run.ts` with BENCH_PEERS=external and the given parts (peers named in the
environment) and samples every 20 ms: for each service the bench starts (the built JavaScript in
its bench/tmp-*/dist), its event loop's thread's time on a core and time runnable but waiting for
one (/proc/<pid>/task/<pid>/schedstat, fields 1 and 2, ns); and every 100 ms the CPU of the
processes named on the command line (name=pid, all their threads) and of the whole machine
(/proc/stat). A loop that waits for a core stands still as surely as one that blocks.

usage (from the repository's root): python3 bench/core-wait.py [BENCH_PARTS] [name=pid ...]
  e.g. python3 bench/core-wait.py busy hapi=<the EHR's JVM's pid>
"""
import collections, glob, os, subprocess, sys, threading, time

parts = sys.argv[1] if len(sys.argv) > 1 and '=' not in sys.argv[1] else 'busy'
named = dict(arg.split('=', 1) for arg in sys.argv[1:] if '=' in arg)
cores = os.cpu_count() or 1
done = threading.Event()
loops = collections.defaultdict(list)  # pid -> [(t, ran ns, waited ns)]
cpu = []  # (t, {name: ticks}, machine ticks, machine idle ticks)
start = time.monotonic()


def is_service(pid, known={}):
    if pid not in known:
        try:
            cmd = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode()
        except OSError:
            return False
        known[pid] = 'bench/tmp-' in cmd and '/dist/src' in cmd
    return known[pid]


def sample_loops():
    while not done.is_set():
        now = time.monotonic() - start
        for path in glob.glob('/proc/[0-9]*'):
            pid = path[6:]
            if not is_service(pid):
                continue
            try:
                ran, waited, _ = open(f'{path}/task/{pid}/schedstat').read().split()
            except OSError:
                continue
            loops[pid].append((now, int(ran), int(waited)))
        time.sleep(0.02)


def process_ticks(pid):
    stat = open(f'/proc/{pid}/stat').read()
    fields = stat[stat.rindex(')') + 2:].split()
    return int(fields[11]) + int(fields[12])


for name, pid in named.items():
    if not pid.isdigit() or not os.path.exists(f'/proc/{pid}/stat'):
        sys.exit(f'{name}={pid}: no such process')


def sample_cpu():
    while not done.is_set():
        values = list(map(int, open('/proc/stat').readline().split()[1:]))
        cpu.append((time.monotonic() - start, {name: process_ticks(pid) for name, pid in named.items()},
                    sum(values), values[3] + values[4]))
        time.sleep(0.1)


samplers = [threading.Thread(target=sample_loops), threading.Thread(target=sample_cpu)]
for sampler in samplers:
    sampler.start()
# The part's results file goes where BENCH_OUT says, else to the temporary folder, not among the
# results the README cites.
env = dict(os.environ, BENCH_PEERS='external', BENCH_PARTS=parts)
env.setdefault('BENCH_OUT', os.path.join(os.environ.get('TMPDIR', '/tmp'), 'core-wait-results.json'))
bench = subprocess.run(['npx', 'node', 'bench/run.ts'], env=env, capture_output=True, text=True)
done.set()
for sampler in samplers:
    sampler.join()
print('\n'.join(line for line in bench.stdout.splitlines() if line.startswith('|')))

for pid, rows in loops.items():
    print(f'\nservice {pid}: its event loop, in 3 s slices (machine and named processes in cores of {cores})')
    for slice_start in range(0, int(rows[-1][0]) + 3, 3):
        inside = [row for row in rows if slice_start <= row[0] < slice_start + 3]
        around = [row for row in cpu if slice_start <= row[0] < slice_start + 3]
        if len(inside) < 2 or len(around) < 2:
            continue
        span = inside[-1][0] - inside[0][0]
        ran = (inside[-1][1] - inside[0][1]) / 1e9 / span
        waited = (inside[-1][2] - inside[0][2]) / 1e9 / span
        total = around[-1][2] - around[0][2]
        machine = (total - (around[-1][3] - around[0][3])) / total * cores
        others = ', '.join(f'{name} {(around[-1][1][name] - around[0][1][name]) / total * cores:.2f}' for name in named)
        print(f'  {slice_start:3d}-{slice_start + 3:3d} s: ran {ran:4.0%}, waited for a core {waited:4.0%};'
              f' machine busy {machine:.2f}{"; " + others if others else ""}')
sys.exit(bench.returncode)
