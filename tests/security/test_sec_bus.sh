#!/usr/bin/env bash
# test_sec_bus.sh: the secured bus against an attacker (issue 16, notes/security.md §7).
#
# Host 1 (a network namespace) runs a real hs-bus and hs-store secured with
# keys in a temp PKI dir (made with hs_cred by tests/security/mkpki), and an
# hs-tap with a tap key that records everything the bus delivers. Host 2 runs
# tests/security/attacker.py: raw ZeroMQ (python3-zmq), no Homeostat library.
# Each attempt is checked by what subscribers saw AND by hs-bus's counters
# (auth_refused, handshake_failed, denied, malformed, dropped_oversized in
# hb.bus.<id>) and hs-store's (commands, garbage in hb.store):
#   - no key (plaintext): reads nothing, writes nothing, counted;
#   - an unregistered CURVE key: the same, refused by ZAP;
#   - node:b's key: cannot publish ev./ack./snap./probe./exec./hb.store or
#     node a's heartbeat, cannot send a 3-frame cmd with its own stamp; its
#     commands arrive stamped node:b;
#   - the tap's key: cannot publish commands;
#   - node:b's key removed: its next publish on the open connection is
#     dropped, and it cannot connect again;
#   - oversize topics and frames and random bytes from an authenticated
#     peer: counted, nothing crashes;
#   - hs-bus refuses to start when ZAP would not be enforced (fault flag).
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/hosts.sh"
unset HS_INSECURE # this suite runs the bus secured
PY=/usr/bin/python3
"$PY" -c 'import zmq; assert zmq.has("curve")' 2>/dev/null || { echo "SKIP: no python3-zmq with CURVE"; exit 77; }
ATTACKER=$HS_SRC/tests/security/attacker.py

hosts_up 2
PKI=$T/pki
mkpki "$PKI" store node:a node:b tap:t admin:root >"$T/pki.txt"
BK=$(awk '$1 == "broker" {print $2}' "$T/pki.txt")
[ ${#BK} = 40 ] || fail "mkpki printed no broker key: $(cat "$T/pki.txt")"
H1=$(host_ip 1)
PORT=7400
BUSADDR=$H1:$PORT

start bus on_host 1 "$HS_BIN/hs-bus" --pki "$PKI" --bind "$H1" --port $PORT
BUS_PID=$LAST_PID
wait_for 10 "hs-bus to pass its self-test" grep -q "self-test: a key not in" "$T/bus.log"
mkdir -p "$T/store"
start store on_host 1 env HS_CREDENTIAL="$PKI/creds/store.cred" "$HS_BIN/hs-store" --bus "$BUSADDR" --data "$T/store"
STORE_PID=$LAST_PID
ctl() { on_host 1 env HS_CREDENTIAL="$PKI/creds/admin-root.cred" "$HS_BIN/hsctl" --bus "$BUSADDR" "$@"; }
wait_for 20 "hs-store to answer an admin" ctl get nodes
start seen on_host 1 env HS_CREDENTIAL="$PKI/creds/tap-t.cred" "$HS_BIN/hs-tap" --bus "$BUSADDR" -o json
TAP_PID=$LAST_PID
wait_for 10 "the tap to listen" grep -q "listening on" "$T/seen.log"
pass "secured hs-bus (self-test passed), hs-store and a tap on host 1"

# counter NAME [hb.bus.|hb.store]: a counter of the next heartbeat, read by
# a tap with its own key.
counter() {
  local name=$1 topic=${2:-hb.bus.} out
  out=$(on_host 1 env HS_CREDENTIAL="$PKI/creds/tap-t.cred" timeout 5 "$HS_BIN/hs-tap" \
          --bus "$BUSADDR" -o json -c 1 "$topic" 2>/dev/null) || { echo -1; return; }
  "$PY" -c '
import json, sys
e = json.loads(sys.argv[1])["envelope"]
if "storeHeartbeat" in e:
    print(int(e["storeHeartbeat"].get(sys.argv[2], 0)))
else:
    print(next((int(c.get("value", 0)) for c in e["heartbeat"]["counters"]
                if c["name"] == sys.argv[2]), -1))' "$out" "$name"
}
# counter_at_least NAME N: for wait_for
counter_at_least() { [ "$(counter "$1")" -ge "$2" ]; }
attack() { on_host 2 "$PY" "$ATTACKER" --bus "$BUSADDR" --broker-key "$BK" "$@"; }
# field JSON KEY
field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# never_seen TOPIC: no subscriber was given a message on TOPIC (the tap
# subscribes to everything).
never_seen() {
  local n
  n=$(grep -cF "\"topic\":\"$1\"" "$T/seen.log" || true)
  [ "$n" = 0 ] || fail "a subscriber received $n message(s) on $1: $(grep -F "\"topic\":\"$1\"" "$T/seen.log" | head -2)"
}

# ---- 1. no key at all: plaintext is refused, reads and writes nothing
cmds0=$(counter commands hb.store)
hf0=$(counter handshake_failed)
out=$(attack nokey)
[ "$(field "$out" received)" = 0 ] || fail "a plaintext client read from the bus: $out"
[ "$(field "$out" handshake_ok)" = 0 ] || fail "a plaintext client completed a handshake: $out"
wait_for 10 "handshake_failed to count the plaintext client" counter_at_least handshake_failed $((hf0 + 1))
cmds1=$(counter commands hb.store)
[ "$cmds1" = "$cmds0" ] || fail "the store's commands went from $cmds0 to $cmds1 after a plaintext attack"
never_seen "ev.pod.a/default/victim"
pass "no key: plaintext refused (handshake_failed $hf0 -> $(counter handshake_failed)), read nothing, store commands unchanged ($cmds0)"

# ---- 2. a CURVE key the bus does not know: ZAP refuses it
ar0=$(counter auth_refused)
out=$(attack unknown)
[ "$(field "$out" received)" = 0 ] || fail "an unregistered key read from the bus: $out"
[ "$(field "$out" auth_failed)" -ge 1 ] || fail "no ZAP refusal seen by the unregistered client: $out"
wait_for 10 "auth_refused to count the unregistered key" counter_at_least auth_refused $((ar0 + 1))
[ "$(counter commands hb.store)" = "$cmds0" ] || fail "the store's commands changed after an unregistered key's attack"
never_seen "ev.pod.a/default/victim"
pass "unregistered key: refused by ZAP (auth_refused $ar0 -> $(counter auth_refused)), read nothing, wrote nothing"

# ---- 3. node:b's own key: forged topics, a self-made stamp, bad framing
den0=$(counter denied)
mal0=$(counter malformed)
out=$(attack --cred "$PKI/creds/node-b.cred" --own-hb hb.agent.b forge)
[ "$(field "$out" joined)" = True ] || fail "node:b could not join: $out"
[ "$(field "$out" fenced)" = True ] || fail "node:b's fence never came back: $out"
for t in "ev.pod.a/default/victim" "ack.hsctl-victim/" "snap.hsctl-victim/" "probe.a/" "hb.agent.a" "exec.a/"; do
  never_seen "$t"
done
! grep -F '"topic":"hb.store"' "$T/seen.log" | grep -qF '"sender":"attacker/' ||
  fail "node:b's forged hb.store reached a subscriber"
wait_for 10 "denied to count node:b's 7 forged topics" counter_at_least denied $((den0 + 7))
den1=$(counter denied)
[ "$den1" = $((den0 + 7)) ] || fail "denied went from $den0 to $den1, not +7"
# the 3-frame message and the one-frame message, and the batch's lone frame
wait_for 10 "malformed to count 3" counter_at_least malformed $((mal0 + 3))
mal1=$(counter malformed)
[ "$mal1" = $((mal0 + 3)) ] || fail "malformed went from $mal0 to $mal1, not +3"
# the allowed ones arrived, stamped node:b; no message ever carried admin:root
grep -F '"clientID":"allowed"' "$T/seen.log" | grep -qF '"identity":"node:b"' ||
  fail "node:b's own command did not arrive stamped node:b: $(grep -F allowed "$T/seen.log")"
grep -F '"clientID":"batched"' "$T/seen.log" | grep -qF '"identity":"node:b"' ||
  fail "node:b's batched command did not arrive stamped node:b"
! grep -qF '"identity":"admin:root"' "$T/seen.log" || fail "a self-made stamp admin:root went through"
grep -F '"topic":"hb.agent.b"' "$T/seen.log" | grep -qF 'attacker/' ||
  fail "node:b's own heartbeat (allowed) did not arrive"
pass "node:b: 7 forged topics dropped (denied $den0 -> $den1), a self-made stamp and bad framing dropped (malformed $mal0 -> $mal1), its commands stamped node:b"

# ---- 4. the tap's key may only echo
den0=$(counter denied)
out=$(attack --cred "$PKI/creds/tap-t.cred" forge)
[ "$(field "$out" fenced)" = True ] || fail "the tap key's fence never came back: $out"
wait_for 10 "denied to count the tap's publishes" counter_at_least denied $((den0 + 8))
! grep -F '"topic":"cmd.pod"' "$T/seen.log" | grep -qF '"identity":"tap:t"' ||
  fail "a tap key published a command"
pass "tap:t: commands and every forged topic dropped (denied $den0 -> $(counter denied))"

# ---- 5. revocation: remove node:b's key file while it is connected
den0=$(counter denied)
rel0=$(counter key_reloads)
attack --cred "$PKI/creds/node-b.cred" --out "$T/revoke.json" revoke 2>"$T/revoke.err" &
REV_PID=$!
HS_PIDS+=("$REV_PID")
wait_for 20 "the revoke attacker to join" test -s "$T/revoke.json.joined"
[ "$(cat "$T/revoke.json.joined")" = 1 ] || fail "node:b could not join before revocation"
rm "$PKI/keys/node-b.key"
wait_for 10 "hs-bus to reload its key directory" counter_at_least key_reloads $((rel0 + 1))
wait "$REV_PID" || fail "the revoke attacker failed: $(cat "$T/revoke.err")"
out=$(cat "$T/revoke.json")
[ "$(field "$out" stopped)" = True ] || fail "node:b's echoes kept coming after its key was removed: $out"
[ "$(field "$out" reads_after_revoke)" = 0 ] || fail "node:b still reads the bus after its key was removed: $out"
[ "$(field "$out" reconnect_refused)" = True ] || fail "node:b reconnected with a removed key: $out"
[ "$(field "$out" reconnect_ok)" = False ] || fail "node:b completed a handshake with a removed key: $out"
! grep -qF '"clientID":"after-revoke"' "$T/seen.log" || fail "node:b's command after revocation arrived"
wait_for 10 "denied to count node:b's publishes after revocation" counter_at_least denied $((den0 + 2))
grep -q "its key is not in the key directory" "$T/bus.log" || fail "hs-bus did not log the revoked key"
[ "$(counter subscriber_cuts)" -ge 1 ] || fail "hs-bus did not cut the subscribers after a revocation"
# the legitimate tap was cut too, and came back on its own
seen_lines=$(wc -l <"$T/seen.log")
wait_for 10 "the tap to read again after the cut" \
  sh -c "tail -n +$((seen_lines + 1)) '$T/seen.log' | grep -q '\"topic\":\"hb.store\"'"
pass "revoked node:b: dropped on its open connection at once ($(field "$out" echoes_before_stop) echoes before), reads nothing after the subscriber cut, refused on reconnect"

# ---- 6. garbage from an authenticated peer: counted, nothing crashes
drop0=$(counter dropped_oversized)
garb0=$(counter garbage hb.store)
out=$(attack --cred "$PKI/creds/node-a.cred" garbage)
[ "$(field "$out" joined)" = True ] || fail "node:a could not join: $out"
[ "$(field "$out" rejoined)" = True ] || fail "the bus did not take node:a back after its garbage: $out"
wait_for 10 "dropped_oversized to count the long topic and the 5 MiB echo" counter_at_least dropped_oversized $((drop0 + 2))
garb_ok() { [ "$(counter garbage hb.store)" -gt "$garb0" ]; }
wait_for 10 "the store to count the random bytes as garbage" garb_ok
kill -0 "$BUS_PID" 2>/dev/null || fail "hs-bus died: $(tail -5 "$T/bus.log")"
kill -0 "$STORE_PID" 2>/dev/null || fail "hs-store died: $(tail -5 "$T/store.log")"
ctl get nodes >/dev/null || fail "the store no longer answers"
pass "garbage from node:a: counted (dropped_oversized $drop0 -> $(counter dropped_oversized), store garbage $garb0 -> $(counter garbage hb.store)), hs-bus and hs-store alive"

# ---- 7. hs-bus will not serve if authentication is not in force
env HS_BUS_FAULT_NO_ZAP=1 timeout 30 "$HS_BIN/hs-bus" --pki "$PKI" --bind 127.0.0.1 --port "$(free_port_pair)" \
  >"$T/nozap.log" 2>&1 && fail "hs-bus without ZAP served"
grep -q "self-test FAILED: a client with an unregistered key was admitted" "$T/nozap.log" ||
  fail "hs-bus without ZAP did not say why: $(cat "$T/nozap.log")"
pass "hs-bus with its ZAP handler disabled (fault flag) fails its self-test and exits"

# ---- what a user sees
evil=$T/evil
mkdir -p "$evil"
cp "$PKI/broker.key_secret" "$evil/"
mkpki "$evil" admin:evil >/dev/null
msg=$(on_host 1 env HS_CREDENTIAL="$evil/creds/admin-evil.cred" timeout 10 "$HS_BIN/hsctl" --bus "$BUSADDR" get pods 2>&1) &&
  fail "hsctl with an unknown key succeeded"
case "$msg" in
  "error: the bus refused this client's key (unknown key "*) ;;
  *) fail "hsctl with an unknown key said: $msg" ;;
esac
msg=$(on_host 1 env HS_CREDENTIAL= timeout 10 "$HS_BIN/hsctl" --bus "$BUSADDR" get pods 2>&1) &&
  fail "hsctl without a credential succeeded"
case "$msg" in "error: no bus credential: set HS_CREDENTIAL"*) ;; *) fail "hsctl without a credential said: $msg" ;; esac
pass "hsctl: one clear line for an unknown key and for no credential"
