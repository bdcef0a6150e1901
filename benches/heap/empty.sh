#!/bin/bash
# usage: empty.sh BIN TAG N [HEAPTRACK=1]: RSS (and heap) of N open rooms with nobody in them.
set -u
BIN=$1; TAG=$2; N=$3; HT=${4:-0}
OUT=${HEAP_OUT:-target/heap}/$TAG-empty-$N
rm -rf $OUT; mkdir -p $OUT; mkfifo $OUT/in
if [ "$HT" = 1 ]; then
  (LOAD_CHILD=server LOAD_LISTENERS=1 timeout 600 heaptrack -o $OUT/heap $BIN < $OUT/in > $OUT/server.out 2> $OUT/server.err &)
else
  (LOAD_CHILD=server LOAD_LISTENERS=1 timeout 600 $BIN < $OUT/in > $OUT/server.out 2> $OUT/server.err &)
fi
exec 7> $OUT/in
for i in $(seq 1 120); do grep -q '^ready' $OUT/server.out 2>/dev/null && break; sleep 0.5; done
ADDR=$(grep '^ready' $OUT/server.out | head -1 | cut -d' ' -f2)
SPID=""
for p in $(pgrep -f "$BIN"); do
  if [ "$(readlink /proc/$p/exe)" = "$(readlink -f $BIN)" ] && grep -q LOAD_CHILD=server /proc/$p/environ 2>/dev/null; then SPID=$p; fi
done
BODY='{"title":"load","format":{"name":"Load circle","stages":[{"kind":"check_in","title":"Round","timebox_ms":10000,"speaking":"round","per_speaker_ms":1500},{"kind":"discussion","title":"Open floor","timebox_ms":6000,"speaking":"hand_queue","per_speaker_ms":1500}]},"options":{"warn_before_ms":1000}}'
# warm up (first allocations of the runtime, sled, the HTTP stack) with 20 rooms
for i in $(seq 1 20); do curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data "$BODY" http://$ADDR/api/rooms; done
sleep 2
B=$(awk '/VmRSS/{print $2}' /proc/$SPID/status)
seq 1 $N | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' --data "$BODY" http://$ADDR/api/rooms > $OUT/codes.txt
sleep 3
A=$(awk '/VmRSS/{print $2}' /proc/$SPID/status)
echo "rooms $N: codes $(sort $OUT/codes.txt | uniq -c | tr '\n' ' ') RSS before ${B} kB after ${A} kB: $(( (A-B)*1024/N )) bytes per empty room" | tee $OUT/result.txt
kill -9 $SPID
exec 7>&-
sleep 2
