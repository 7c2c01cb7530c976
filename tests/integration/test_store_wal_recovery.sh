#!/usr/bin/env bash
# kill -9 of hs-store after writes were acked (durable in its write-ahead
# log) but before any checkpoint committed them to LMDB.
#
# HS_STORE_TEST_NO_CHECKPOINT=1 turns off the store's due checkpoints (only
# snapshot requests and a clean shutdown would checkpoint, and this test
# sends neither before the kill). After the restart, every acked pod must be
# there with the uid and resourceVersion its ack carried, and a retried
# request id must be answered from the store's memory (replayed), not
# applied again.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): hs-send sends the commands, and its own PUB
# socket speaks no CURVE yet (tools/tap/send_main.c), so it cannot reach a
# secured bus.
hs_insecure

N=30
start_bus
HS_STORE_TEST_NO_CHECKPOINT=1 start_store

start_tap acks ack.itest -o json -c "$N"
# One create of pod wal-N under request id req-N, from client "itest".
create() {
  printf '{"command": {"clientID": "itest", "requestID": "req-%s", "writes": [{"op": "OP_CREATE", "object": {"pod": {"metadata": {"name": "wal-%s"}, "spec": {"containers": [{"name": "main", "command": ["sleep", "1"]}]}}}}]}}' "$1" "$1"
}
for i in $(seq 1 "$N"); do
  hs-send cmd.pod --envelope "$(create "$i")" >/dev/null || fail "hs-send $i failed"
done
wait_for 30 "$N acks" exited "$TAP_PID"

# name uid resourceVersion, per ack.
python3 - "$T/acks.out" >"$T/acked" <<'PY' || fail "acks do not parse: $(head -3 "$T/acks.out")"
import json, sys
for line in open(sys.argv[1]):
    ack = json.loads(line)["envelope"]["ack"]
    assert ack.get("code", "CODE_OK") in ("CODE_OK", 0), ack
    r = ack["results"][0]
    print(r["name"], r["uid"], r["resourceVersion"])
PY
[ "$(wc -l <"$T/acked")" -eq "$N" ] || fail "expected $N acks, got $(wc -l <"$T/acked")"
pass "$N creates acked"

# The point of the test: LMDB does not have them yet, the log does.
[ -s "$T/store/wal" ] || fail "the write-ahead log is empty: a checkpoint happened, nothing is tested"
kill -9 "$STORE_PID"
wait "$STORE_PID" 2>/dev/null || true
pass "hs-store killed with $(stat -c %s "$T/store/wal") bytes in its write-ahead log"

start store "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
STORE_PID=$LAST_PID
wait_for 20 "hs-store to answer after the restart" hsctl get nodes
grep -q "replayed .* batches" "$T/store.log" || fail "no replay in the store's log: $(tail -5 "$T/store.log")"
[ ! -s "$T/store/wal" ] || fail "the log was not emptied after recovery"

hsctl get pods -o json >"$T/pods.json"
python3 - "$T/pods.json" "$T/acked" <<'PY' || fail "acked pods differ after the restart"
import json, sys
doc = json.load(open(sys.argv[1]))
items = doc["items"] if isinstance(doc, dict) and "items" in doc else doc
got = {o["metadata"]["name"]: (o["metadata"]["uid"], str(o["metadata"]["resourceVersion"]))
       for o in items}
bad = 0
for line in open(sys.argv[2]):
    name, uid, rv = line.split()
    if got.get(name) != (uid, rv):
        print(f"{name}: acked {uid} rv {rv}, found {got.get(name)}", file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
pass "every acked pod is back with the uid and resourceVersion it was acked with"

# A retry of an acked request: the remembered answer, not a second apply.
start_tap retry ack.itest -o json -c 1
hs-send cmd.pod --envelope "$(create 7)" >/dev/null || fail "hs-send retry failed"
wait_for 20 "the retry's ack" exited "$TAP_PID"
python3 - "$T/retry.out" "$T/acked" <<'PY' || fail "the retry was not replayed: $(cat "$T/retry.out")"
import json, sys
ack = json.loads(open(sys.argv[1]).readline())["envelope"]["ack"]
want = [l.split() for l in open(sys.argv[2]) if l.startswith("wal-7 ")][0]
r = ack["results"][0]
assert ack.get("replayed") is True, ack
assert ack.get("code", "CODE_OK") in ("CODE_OK", 0), ack
assert [r["name"], r["uid"], str(r["resourceVersion"])] == want, (r, want)
PY
pass "a retried request id is replayed with its original uid and resourceVersion"
