#!/usr/bin/env bash
# Counts the flushes (fsync, fdatasync) each hit-bridge process a bench run starts makes, split
# into its event loop's thread and the others (the SQLite write thread), with their durations.
# What it answers: does anything wait for the disk on the event loop? The attached strace slows
# the services, so read the counts, not the latencies.
#
# usage (from the repository's root, peers named in the environment as for BENCH_PEERS=external):
#   bash bench/fsyncs-by-thread.sh OUT_DIR [BENCH_PARTS, default busy]
set -euo pipefail
out=${1:?an output folder}
parts=${2:-busy}
command -v strace >/dev/null || { echo "needs strace (Debian package strace)" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out"
(BENCH_PEERS=external BENCH_PARTS="$parts" BENCH_OUT="$out/result.json" npx node bench/run.ts > "$out/bench.log" 2>&1 || true
 touch "$out/done") &
# The services run the built JavaScript from the run's work folder (bench/tmp-*/dist).
while [ ! -e "$out/done" ]; do
  for pid in $(pgrep -f "bench/tmp-.*/dist/src" || true); do
    [ -e "$out/$pid.started" ] && continue
    touch "$out/$pid.started"
    strace -f --seccomp-bpf -tt -T -e trace=fsync,fdatasync -o "$out/$pid.trace" -p "$pid" 2>/dev/null &
  done
  sleep 0.2
done
wait
grep -A3 'offered/s' "$out/bench.log" || tail -5 "$out/bench.log"
for trace in "$out"/*.trace; do
  pid=$(basename "${trace%.trace}")
  echo "== process $pid"
  # A line: "<tid> <time> fsync(<fd>) = 0 <seconds>"; calls cut by another thread's line are left out.
  awk -v P="$pid" '$3 ~ /^f(data)?sync\(/ {
      split($3, call, "[()]"); seconds = $NF; gsub(/[<>]/, "", seconds)
      who = ($1 == P ? "event loop" : "thread " $1); key = who " fd " call[2]
      n[key]++; sum[key] += seconds; if (seconds > max[key]) max[key] = seconds
    }
    END { for (key in n) printf "  %s: %d, %.1f ms in all, longest %.1f ms\n", key, n[key], sum[key] * 1000, max[key] * 1000 }' "$trace" | sort
done
