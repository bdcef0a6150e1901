#!/bin/bash
# usage: prof.sh BIN TAG MODE(idle|steady) ROOMS [HEAPTRACK=1]
# Starts BIN as the bench's server child (LOAD_CHILD=server) [under heaptrack], runs the bench
# (same BIN) against it, and kills the server (SIGKILL) at the point to profile: idle = 15 s
# after every participant is in (no steps: --interval-ms 600000), steady = 60 s into the run.
# Prints RSS samples. Everything bounded in time.
set -u
BIN=$1; TAG=$2; MODE=$3; ROOMS=$4; HT=${5:-0}
OUT=${HEAP_OUT:-target/heap}/$TAG-$MODE-$ROOMS
rm -rf $OUT; mkdir -p $OUT
mkfifo $OUT/in
if [ "$HT" = 1 ]; then
  (LOAD_CHILD=server LOAD_LISTENERS=4 timeout 600 heaptrack -o $OUT/heap $BIN < $OUT/in > $OUT/server.out 2> $OUT/server.err &)
else
  (LOAD_CHILD=server LOAD_LISTENERS=4 timeout 600 $BIN < $OUT/in > $OUT/server.out 2> $OUT/server.err &)
fi
exec 7> $OUT/in   # hold the server's stdin open
for i in $(seq 1 120); do grep -q '^ready' $OUT/server.out 2>/dev/null && break; sleep 0.5; done
ADDRS=$(grep '^ready' $OUT/server.out | head -1 | cut -d' ' -f2- | tr ' ' ',')
# the server process itself (heaptrack runs it as a child)
SPID=""
for p in $(pgrep -f "$BIN"); do
  if [ "$(readlink /proc/$p/exe)" = "$(readlink -f $BIN)" ] && grep -q LOAD_CHILD=server /proc/$p/environ 2>/dev/null; then SPID=$p; fi
done
echo "server $SPID at $ADDRS"
grep VmRSS /proc/$SPID/status | tee $OUT/base.txt
if [ "$MODE" = idle ]; then
  ARGS="--scenario steady --secs 40 --interval-ms 600000"; AFTER=15
else
  ARGS="--scenario steady --secs 75"; AFTER=60
fi
timeout 900 $BIN --bench $ARGS --rooms $ROOMS --participants 8 --server $ADDRS --server-pid $SPID > $OUT/bench.out 2> $OUT/bench.err &
BPID=$!
# wait for the run phase
for i in $(seq 1 600); do grep -q ' run ' $OUT/bench.err 2>/dev/null && break; sleep 1; done
echo "run phase after ${i}s"; grep VmRSS /proc/$SPID/status
sleep $AFTER
grep -E 'VmRSS|RssAnon|VmData' /proc/$SPID/status | tee $OUT/rss.txt
B=$(awk '{print $2}' $OUT/base.txt); A=$(awk '/VmRSS/{print $2}' $OUT/rss.txt)
echo "$TAG $MODE $ROOMS x 8: RSS base ${B} kB, at the moment ${A} kB: $(( (A-B)*1024/(ROOMS*8) )) bytes per participant" | tee $OUT/result.txt
kill -9 $SPID
exec 7>&-
for i in $(seq 1 120); do kill -0 $BPID 2>/dev/null || break; sleep 1; done
kill $BPID 2>/dev/null
sleep 2
ls $OUT
tail -3 $OUT/bench.err
