#!/bin/bash
# usage: syscalls.sh BIN bare|circlekeeper [ROOMS]
# Counts the system calls and context switches of one server (the load bench's child process)
# over 10 s of the steady_1 comparison scenario (ROOMS rooms × 8, default 1,000, each sending
# 1 command/s), with `perf stat` on the syscall tracepoints, and prints them per second and
# per command. BIN is the load bench (`cargo bench --bench load --no-run` prints its path).
# Needs perf and its tracepoints (root, or perf_event_paranoid ≤ -1). Bounded in time: the
# bench run ends by itself after 35 s; nothing is left running.
set -u
BIN=$1; TARGET=$2; ROOMS=${3:-1000}
CHILD=server; [ "$TARGET" = bare ] && CHILD=bare
OUT=${PROFILE_OUT:-target/profile}/syscalls-$TARGET-$ROOMS
mkdir -p "$OUT"
MIMALLOC_PURGE_DELAY=0 timeout 600 "$BIN" --bench --compare --target "$TARGET" --scenario steady_1 \
  --rooms "$ROOMS" --secs 35 --repeat 1 > "$OUT/bench.txt" 2>&1 &
BENCH=$!
SPID=""
for _ in $(seq 1 240); do
  for p in $(pgrep -f "$BIN"); do
    if grep -q "LOAD_CHILD=$CHILD" /proc/$p/environ 2>/dev/null; then SPID=$p; fi
  done
  [ -n "$SPID" ] && break
  sleep 0.5
done
[ -n "$SPID" ] || { echo "the server did not start"; wait $BENCH; exit 1; }
# Setting up the rooms and connecting everyone takes a few seconds; count well inside the run.
sleep 15
perf stat -e 'syscalls:sys_enter_*' -e context-switches,cpu-migrations,task-clock \
  -p "$SPID" -o "$OUT/stat.txt" -- sleep 10 > /dev/null 2>&1
wait $BENCH
echo "$TARGET, $ROOMS rooms × 8, steady 1 command/s per room, 10 s (tracing adds CPU: read the counts, not the time):"
awk -v cmds="$ROOMS" '$1 ~ /^[0-9,]+$/ && $2 !~ /msec/ {
  n = $1; gsub(",", "", n); if (n + 0 == 0) next
  name = $2; sub("syscalls:sys_enter_", "", name)
  printf "  %-22s %9.0f /s %7.2f per command\n", name, n / 10, n / 10 / cmds
}' "$OUT/stat.txt" | sort -k2 -n -r
