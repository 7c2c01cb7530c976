#!/usr/bin/env bash
# kill -9 of hs-store during 1,000 concurrent applies from several clients.
#
# Every apply creates a new pod, so its only correct answer is "created". If
# the store applied a retried request a second time, the retry would find the
# pod already there and answer "unchanged"; if it lost an acked write, the pod
# would be missing afterwards. So: every client must print "created" for every
# one of its pods, and all 1,000 must be in the store after the restart.
source "$(dirname "$0")/lib.sh"

CLIENTS=10
PER_CLIENT=100
TOTAL=$((CLIENTS * PER_CLIENT))

start_bus
start_store

mkdir -p "$T/m"
for c in $(seq 1 $CLIENTS); do
  for i in $(seq 1 $PER_CLIENT); do
    cat >"$T/m/c$c-$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: crash-c$c-$i
  labels: {test: crash}
spec:
  containers:
  - name: main
    command: ["sleep", "3600"]
YAML
  done
done

client() {
  local c=$1
  for i in $(seq 1 $PER_CLIENT); do
    hsctl apply -f "$T/m/c$c-$i.yaml" --request-timeout 60 >>"$T/client-$c.out" 2>&1 ||
      echo "FAILED c$c-$i rc=$?" >>"$T/client-$c.out"
  done
}

CLIENT_PIDS=()
for c in $(seq 1 $CLIENTS); do
  client "$c" &
  CLIENT_PIDS+=($!)
  HS_PIDS+=($!)
done

done_count() { cat "$T"/client-*.out 2>/dev/null | grep -c created || true; }
at_least() { [ "$(done_count)" -ge "$1" ]; }

# Kill the store in the middle of the run, while clients are writing.
wait_for 120 "300 acked applies before the crash" at_least 300
kill -9 "$STORE_PID"
wait "$STORE_PID" 2>/dev/null || true
echo "killed hs-store after $(done_count) acked applies"
start store "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
STORE_PID=$LAST_PID

for p in "${CLIENT_PIDS[@]}"; do wait "$p" || fail "client $p failed"; done

cat "$T"/client-*.out >"$T/all.out"
if grep -v ' created$' "$T/all.out" | grep -q .; then
  fail "some applies did not answer 'created' (a lost ack, or a retry applied twice):
$(grep -v ' created$' "$T/all.out" | head -20)"
fi
n_created=$(grep -c ' created$' "$T/all.out")
[ "$n_created" -eq "$TOTAL" ] || fail "expected $TOTAL 'created' answers, got $n_created"
pass "$TOTAL applies answered 'created' exactly once each across a kill -9"

n_stored=$(hsctl get pods -l test=crash -o name | wc -l)
[ "$n_stored" -eq "$TOTAL" ] || fail "expected $TOTAL pods in the store after restart, found $n_stored"
pass "all $TOTAL acked pods are in the store after restart"

# Nothing is stored twice and every name is one we sent.
hsctl get pods -l test=crash -o name | sort | uniq -d >"$T/dups"
[ ! -s "$T/dups" ] || fail "duplicate pods: $(cat "$T/dups")"
pass "no duplicates"
