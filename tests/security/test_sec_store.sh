#!/usr/bin/env bash
# test_sec_store.sh: what hs-store lets each identity write (issue 16 item 3,
# notes/security.md §2.5 and §7 tests 8-10).
#
# Host 1 (a network namespace) runs a real, secured hs-bus, hs-store and the
# agent of node a with one pod ("victim"). Host 2 runs store_attacker.py (raw
# ZeroMQ and protobuf by hand, no Homeostat library) with node b's key, then
# with the admin's key. Each refusal is checked in the ack (Forbidden, with
# kubectl's wording), in the stored objects (unchanged) and in hs-store's
# `forbidden` counter:
#   - node:b cannot update the status of a's pod, delete it, bind it, change
#     Node a, create a pod, plant a mirror pod on a, or create a Deployment;
#     it can register its own Node, update its status and mirror its own pod;
#   - node:b cannot squat another client's request: a command under a client
#     id that is not its own is dropped unanswered, and a request id it used
#     first does not answer the admin's command with the same ids (the
#     request table is keyed by identity).
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/hosts.sh"
source "$(dirname "$0")/sec.sh"
need_root_cgroups
ATT=$HS_SRC/tests/security/store_attacker.py

sec_up node:b tap:t
sec_agent_a
cat >"$T/victim.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  nodeName: a
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: none, command: ["/bin/sleep", "100201"]}]
YAML
ctl apply -f "$T/victim.yaml" >/dev/null
podjson() { ctl get pod victim -o json; }
victim_runs() { local o; o=$(podjson) && grep -q '"phase": *"Running"' <<<"$o"; }
wait_for 20 "victim to run on a" victim_runs
before=$(podjson)
rv() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["resourceVersion"])' "$1"; }
pass "secured hs-bus, hs-store and node a's agent on host 1; pod victim runs on a"

# forbidden: hb.store's counter, read by a tap with its own key
forbidden() {
  local out
  out=$(on_host 1 env HS_CREDENTIAL="$PKI/creds/tap-t.cred" timeout 5 "$HS_BIN/hs-tap" \
          --bus "$BUSADDR" -o json -c 1 hb.store 2>/dev/null) || { echo -1; return; }
  "$PY" -c 'import json,sys; print(int(json.loads(sys.argv[1])["envelope"]["storeHeartbeat"].get("forbidden", 0)))' "$out"
}
attack() { on_host 2 "$PY" "$ATT" --bus "$BUSADDR" --broker-key "$BK" "$@"; }
# ack_of JSON WRITE: "code|message|replayed" of one write's ack ("none" when unanswered)
ack_of() {
  "$PY" -c '
import json, sys
a = json.loads(sys.argv[1])[sys.argv[2]]
print("none" if a is None else "%s|%s|%s" % (a["code"], a["message"], a["replayed"]))' "$1" "$2"
}

# ---- node:b against node a's pod and Node, and outside its role
f0=$(forbidden)
[ "$f0" -ge 0 ] || fail "no hb.store heartbeat"
out=$(attack --cred "$PKI/creds/node-b.cred" node-writes b a victim)
for w in status_victim_pod delete_victim_pod status_victim_node create_pod mirror_on_victim bind deployment; do
  a=$(ack_of "$out" "$w")
  [[ "$a" == Forbidden\|* ]] || fail "node:b's $w was not refused as Forbidden: $a"
  [[ "$a" == *'User "node:b"'* ]] || fail "node:b's $w refusal does not name the user: $a"
done
a=$(ack_of "$out" status_victim_pod)
[[ "$a" == *'pods "victim" is forbidden: User "node:b" cannot update pods bound to node "a"'* ]] ||
  fail "the status refusal is not in kubectl's words: $a"
a=$(ack_of "$out" deployment)
[[ "$a" == *'cannot create resource "deployments" in API group "apps"'* ]] ||
  fail "the Deployment refusal is not in kubectl's words: $a"
for w in create_own_node own_node_status mirror_on_self; do
  a=$(ack_of "$out" "$w")
  [[ "$a" == OK\|* ]] || fail "node:b's own $w was refused: $a"
done
after=$(podjson)
[ "$(rv "$before")" = "$(rv "$after")" ] || fail "victim changed: rv $(rv "$before") -> $(rv "$after")"
grep -q '"phase": *"Running"' <<<"$after" || fail "victim is not Running any more: $after"
nodes=$(ctl get nodes)
grep -Eq '^a +Ready' <<<"$nodes" || fail "node a is not Ready after node:b's attempt: $nodes"
pods=$(ctl get pods -A)
grep -Eq 'planted' <<<"$pods" && fail "a refused pod exists: $pods"
grep -q 'own-mirror' <<<"$pods" || fail "node:b's own mirror pod is missing: $pods"
forbidden_at_least() { [ "$(forbidden)" -ge "$1" ]; }
wait_for 10 "hb.store's forbidden to count 7 refusals" forbidden_at_least $((f0 + 7))
pass "node:b: 7 writes outside its node and role Forbidden (kubectl's words, counted), victim unchanged; its own Node and mirror pod accepted"

# ---- request squatting
out=$(attack --cred "$PKI/creds/node-b.cred" squat hsctl-victim r1)
[ "$(ack_of "$out" ack)" = none ] || fail "a command under another client's id was answered: $out"
out=$(attack --cred "$PKI/creds/node-b.cred" squat b r-shared)
[[ "$(ack_of "$out" ack)" == Forbidden\|* ]] || fail "node:b's own planted request was not refused: $out"
out=$(attack --cred "$PKI/creds/admin-root.cred" create hsctl-victim r1 after-squat-1)
[ "$(ack_of "$out" ack)" = "OK||False" ] || fail "the admin's command under the squatted ids: $out"
out=$(attack --cred "$PKI/creds/admin-root.cred" create b r-shared after-squat-2)
[ "$(ack_of "$out" ack)" = "OK||False" ] ||
  fail "the admin's command under node:b's request id was answered from node:b's: $out"
pods=$(ctl get pods)
grep -q after-squat-1 <<<"$pods" && grep -q after-squat-2 <<<"$pods" || fail "the admin's pods are missing: $pods"
pass "request squatting: a foreign client id is dropped; the same client and request ids under another identity apply (replayed=false)"
