#!/usr/bin/env bash
# Garbage on the bus (docs/architecture.md §8: any process may send garbage; every decode is
# checked, nothing crashes, the offender is logged once and counted).
#
# hs-send puts every kind of broken message, repeatedly, on cmd.pod (which the
# store reads) and ev.pod.x (which only the taps read). Then: hs-bus, hs-store
# and two taps are still alive and working; the taps showed each piece of
# garbage that hs-bus forwards (an oversized envelope only on cmd.*, for the
# store to answer; elsewhere hs-bus drops it and counts it in hb.bus.<id>);
# the store logged one "refused bus message" warning per (reason, offender)
# however often it came, and counts the garbage in hb.store.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): hs-send puts garbage on topics only other identities may publish
# (ev., test.) on a secured bus; tests/security covers garbage from an
# authenticated peer there.
hs_insecure

alive() { exited "$1" && fail "$2 died: $(tail -n 20 "$3" 2>/dev/null)"; return 0; }
# count FILE FIXED-STRING: lines of FILE containing it
count() { grep -cF -- "$2" "$1" || true; }
# at_least N FILE FIXED-STRING
at_least() { [ "$(count "$2" "$3")" -ge "$1" ]; }

HAVE_STORE=0
if [ -x "$HS_BIN/hs-store" ] && [ -x "$HS_BIN/hsctl" ]; then HAVE_STORE=1; fi

start_bus
if [ $HAVE_STORE -eq 1 ]; then
  start_store
else
  echo "SKIP: hs-store or hsctl not built; checking the bus and the taps only"
fi
start_tap lines --exclude hb. --exclude echo.
LINES_PID=$TAP_PID
start_tap json -o json cmd. ev.
JSON_PID=$TAP_PID

ROUNDS=2
PER=3   # --count per hs-send
KINDS="frames decode oversized body topic huge"
for round in $(seq $ROUNDS); do
  for kind in $KINDS; do
    for topic in cmd.pod ev.pod.x; do
      hs-send "$topic" --garbage "$kind" --count $PER || fail "hs-send $topic --garbage $kind exited $?"
    done
  done
done
# A valid message after all of it: the bus still forwards, the taps still read.
hs-send test.after --ping --nonce after-garbage
N=$((ROUNDS * PER))

# ---- the tap showed every piece of garbage (except the huge ones, which the
# broker refuses: it drops the sender's connection, nobody receives them; and
# the oversized ones on ev.pod.x, which it drops and counts)
wait_for 20 "the tap to show the ping sent after the garbage" \
  grep -q "ping nonce=after-garbage" "$T/lines.out"
# Three frames on cmd.* are "stamp" garbage: the third frame is reserved for
# hs-bus's identity stamp, and hs-send's is not an identity.
shown() { if [ "$1" = cmd.pod ] && [ "$2" = frames ]; then echo stamp; else echo "$2"; fi; }
for topic in cmd.pod ev.pod.x; do
  for kind in frames decode oversized body; do
    reason=$(shown $topic $kind)
    [ $topic = ev.pod.x ] && [ $reason = oversized ] && continue
    wait_for 10 "$N '$topic GARBAGE ($reason)' lines" at_least $N "$T/lines.out" "  $topic  GARBAGE ($reason) "
  done
  wait_for 10 "$N '$topic GARBAGE (topic)' lines" at_least $N "$T/lines.out" "  $topic\\x01\\xff\\x20  GARBAGE (topic) "
done
for topic in cmd.pod ev.pod.x; do
  for kind in frames decode oversized body; do
    reason=$(shown $topic $kind)
    want=$N
    [ $topic = ev.pod.x ] && [ $reason = oversized ] && want=0
    c=$(count "$T/lines.out" "  $topic  GARBAGE ($reason) ")
    [ "$c" -eq $want ] || fail "expected $want '$topic GARBAGE ($reason)' lines, got $c"
  done
done
grep -q "GARBAGE (oversized) 2 frames, $((4 * 1024 * 1024 + 1 + 7)) bytes: 00 00" "$T/lines.out" ||
  fail "no oversized line with the exact size: $(grep oversized "$T/lines.out" | head -3)"
! grep -Eq "GARBAGE .* (8388609|83886[0-9][0-9]) bytes" "$T/lines.out" ||
  fail "a huge frame went through the broker"
grep -Eq "  hs-send/[a-z0-9]+  cmd\.pod  GARBAGE \(body\) 2 frames, [0-9]+ bytes, unknown field 99: " \
  "$T/lines.out" || fail "body garbage does not name its sender and the unknown field"
alive "$LINES_PID" "hs-tap (lines)" "$T/lines.err"
alive "$BUS_PID" "hs-bus" "$T/bus.log"
pass "hs-bus survived every kind of garbage; the tap showed each one it forwards, $N times"

# ---- hs-bus counted the oversized envelopes it dropped (those on ev.pod.x)
bus_dropped() {
  timeout 5 hs-tap -o json -c 1 hb.bus. 2>/dev/null | python3 -c '
import json, sys
o = json.loads(sys.stdin.readline())
print(next(int(c.get("value", 0)) for c in o["envelope"]["heartbeat"]["counters"]
           if c["name"] == "dropped_oversized"))'
}
bus_counted() { [ "$(bus_dropped)" -eq $N ]; }
wait_for 10 "hb.bus.<id> to count $N dropped oversized messages" bus_counted
grep -q "dropped a message from peer 127.0.0.1: topic of 8 bytes" "$T/bus.log" ||
  fail "hs-bus did not log the oversized message's peer: $(grep dropped "$T/bus.log")"
pass "hs-bus counted the $N oversized messages it dropped and logged their peer"

# ---- the JSON tap too: every line valid JSON, every reason there
wait_for 10 "the JSON tap to see the ev.pod.x topic garbage" \
  at_least $N "$T/json.out" '"topic":"ev.pod.x\u0001\u00ff ","garbage":"topic"'
alive "$JSON_PID" "hs-tap (json)" "$T/json.err"
python3 - "$T/json.out" "$N" <<'PY' || fail "the JSON tap's output is wrong"
import collections, json, sys
n = int(sys.argv[2])
seen = collections.Counter()
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "garbage" in o:
        assert o["size"] > 0, o
        seen[(o["topic"][:8].rstrip("\x01\xff "), o["garbage"])] += 1
for topic in ("cmd.pod", "ev.pod.x"):
    for reason in ("frames", "decode", "oversized", "body", "topic"):
        if (topic, reason) == ("cmd.pod", "frames"):
            reason = "stamp"
        want = 0 if (topic, reason) == ("ev.pod.x", "oversized") else n
        assert seen[(topic, reason)] == want, (topic, reason, seen)
PY
pass "the JSON tap: valid JSON lines, every garbage reason $N times per topic"

if [ $HAVE_STORE -eq 0 ]; then exit 0; fi

# ---- the store still answers, reads and writes
alive "$STORE_PID" "hs-store" "$T/store.log"
expect_rc 0 hsctl get pods
cat >"$T/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: after-garbage
spec:
  containers:
  - name: c
    command: ["sleep", "1000"]
EOF
expect_out "pod/after-garbage created" hsctl apply -f "$T/pod.yaml"
expect_out "after-garbage" hsctl get pods
pass "hs-store still answers: get and apply work"

# ---- one warning per (reason, offender), however often it came
grep -F "refused bus message" "$T/store.log" >"$T/refused.txt" || true
dups=$(sed -E 's/^[^ ]+ //' "$T/refused.txt" | sort | uniq -d)
[ -z "$dups" ] || fail "the store logged the same garbage warning more than once:
$dups"
for reason in stamp decode oversized; do
  c=$(count "$T/refused.txt" "refused bus message ($reason) from topic cmd.pod;")
  [ "$c" -eq 1 ] || fail "expected one '$reason' warning for topic cmd.pod, got $c:
$(cat "$T/refused.txt")"
done
c=$(count "$T/refused.txt" "refused bus message (topic) from unknown sender;")
[ "$c" -eq 1 ] || fail "expected one 'topic' warning, got $c:
$(cat "$T/refused.txt")"
# body garbage names its sender: one warning per hs-send that sent it to cmd.pod
c=$(grep -Ec "refused bus message \(body\) from sender hs-send/[a-z0-9]+;" "$T/refused.txt" || true)
[ "$c" -eq $ROUNDS ] || fail "expected $ROUNDS 'body' warnings (one per sender), got $c:
$(cat "$T/refused.txt")"
! grep -q "ev.pod.x" "$T/refused.txt" || fail "the store read ev.pod.x, which it does not subscribe to"
pass "the store logged each (reason, offender) once: $(wc -l <"$T/refused.txt") warnings for $((5 * N)) messages"

# ---- and counts it: hb.store's garbage counter, seen through the tap
hb_garbage() {
  timeout 5 hs-tap -o json -c 1 hb.store 2>/dev/null | python3 -c '
import json, sys
o = json.loads(sys.stdin.readline())
print(int(o["envelope"]["storeHeartbeat"].get("garbage", 0)))'
}
store_counted() { [ "$(hb_garbage)" -ge $((5 * N)) ]; }
wait_for 10 "hb.store to count at least $((5 * N)) garbage messages" store_counted
pass "hb.store counts the garbage: $(hb_garbage) (sent $((5 * N)) to cmd.pod)"
