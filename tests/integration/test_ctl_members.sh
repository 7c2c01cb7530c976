#!/usr/bin/env bash
# hsctl beside a single store (issue 19): `get components` keeps today's
# columns (role standalone in -o json), `member` says the store is not
# replicated instead of timing out, and `snapshot save --data-dir` reads the
# running store's LMDB directly into the same file a save over the bus
# writes (Secrets opened with the store's keyring), which restores.
# Then the broker carrying an admin's MemberChange and refusing a node's;
# and, on a plaintext bus of their own, a replicated store's members played
# by hand (hs-send on hb.raft.<member>, a leader answering cmd.members/ with
# an Ack): get components, member list, member add and a refusal,
# hs-metrics' member families (promtool-checked). About 30 s.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
wait_for 20 "the store to answer" hsctl get nodes

# ---- get components: a single store as today
hsctl get components >"$T/cs"
head -n 1 "$T/cs" | grep -Eq '^NAME +INSTANCE +HOST +AGE +REVISION +LAG +OWNED$' ||
  fail "get components header changed for a single store: $(head -n 1 "$T/cs")"
grep -q '^hs-store ' "$T/cs" || fail "no hs-store row: $(cat "$T/cs")"
hsctl get components -o json >"$T/cs.json"
python3 - "$T/cs.json" <<'PY' || fail "get components -o json: $(cat "$T/cs.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
stores = [i for i in doc["items"] if i["name"] == "hs-store"]
assert len(stores) == 1, stores
assert stores[0]["store"]["role"] == "standalone", stores[0]
assert stores[0]["store"]["members"] == [], stores[0]
PY
pass "get components: a single store shows as today, role standalone in -o json"

# ---- member: no members to list or change
expect_rc 1 hsctl member list
grep -q "the store is not replicated" "$T/last.out" || fail "member list: $(cat "$T/last.out")"
expect_rc 1 hsctl member add s4 127.0.0.1:7704 --request-timeout 3s
grep -q "the store is not replicated" "$T/last.out" || fail "member add: $(cat "$T/last.out")"
expect_rc 1 hsctl member add s4 nowhere
grep -q 'invalid raft address "nowhere"' "$T/last.out" || fail "member add nowhere: $(cat "$T/last.out")"
expect_rc 1 hsctl member replace s1 s1 127.0.0.1:1
grep -q 'would replace itself' "$T/last.out" || fail "member replace s1 s1: $(cat "$T/last.out")"
pass "member: a single store is named as such; bad arguments are named"

# ---- snapshot save --data-dir beside the running store
cat >"$T/objs.yaml" <<'YAML'
apiVersion: v1
kind: Secret
metadata: {name: token}
data: {k: aGVsbG8=}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
YAML
hsctl apply -f "$T/objs.yaml" >/dev/null || fail "apply"
hsctl snapshot save "$T/bus.snap" >"$T/bus.out" || fail "save over the bus: $(cat "$T/bus.out")"
# LMDB catches up at the store's next checkpoint: the local copy is as of it
same() {
  hsctl snapshot save "$T/local.snap" --data-dir "$T/store" >"$T/local.out" 2>&1 &&
    cmp -s "$T/bus.snap" "$T/local.snap"
}
wait_for 20 "a local snapshot equal to the bus's" same
ls -d "$T"/local.snap.copy-* 2>/dev/null && fail "the private copy was left behind"
hsctl snapshot restore "$T/local.snap" --data-dir "$T/restored" >"$T/restore.out" ||
  fail "restore: $(cat "$T/restore.out")"
grep -q "Restored 2 objects" "$T/restore.out" || fail "restore: $(cat "$T/restore.out")"
pass "snapshot save --data-dir: the running store's LMDB, byte-equal to a save over the bus, restores"

# a keyring without the Secret's key: named, nothing written
head -c 32 /dev/urandom | base64 | sed 's/^/other /' >"$T/other.key"
expect_rc 1 hsctl snapshot save "$T/bad.snap" --data-dir "$T/store" --encryption-key "$T/other.key"
grep -q "encrypted with a key" "$T/last.out" || fail "wrong key: $(cat "$T/last.out")"
[ ! -e "$T/bad.snap" ] || fail "a snapshot was written without its Secrets"
expect_rc 1 hsctl snapshot save "$T/bad.snap" --data-dir "$T/nothere"
grep -q "holds no store" "$T/last.out" || fail "no store: $(cat "$T/last.out")"
pass "snapshot save --data-dir: a wrong keyring and a missing store are named"

# ---- the broker: cmd.members/ is an admin's alone (the secured bus)
kill "$STORE_PID"
wait_for 10 "the single store to stop" exited "$STORE_PID"
start_tap admin cmd.members/ -o json -c 1
expect_rc 1 hsctl member remove s2 --request-timeout 1s
wait_for 10 "the admin's MemberChange on the bus" grep -q '"identity": *"admin:test"' "$T/admin.out"
start_tap none cmd.members/ -o json
expect_rc 1 env HS_CREDENTIAL="$(hs_node_cred n1)" "$HS_BIN/hsctl" member remove s2 --request-timeout 2s
kill "$TAP_PID" 2>/dev/null || true
wait "$TAP_PID" 2>/dev/null || true
[ ! -s "$T/none.out" ] || fail "a node's MemberChange reached the bus: $(cat "$T/none.out")"
pass "hs-bus carries an admin's MemberChange (stamped admin:test) and refuses a node's"

# ---- a replicated store's members, played by hand on a plaintext bus of
# their own (hs-send speaks plaintext only)
hs_insecure
port=$(free_port_pair)
export HS_BUS="127.0.0.1:$port"
start bus2 "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$port"
wait_for 10 "the plaintext bus" hsctl get components
# hb.raft.<member> as a member sends it: $1 member, $2 role, $3 applied
raft_hb() {
  local match=0
  [ "$2" = leader ] && match=42
  cat <<JSON
{"storeHeartbeat": {"epoch": 7, "revision": $3, "objects": 2, "startedAtNs": 1,
 "member": "$1", "role": "$2", "term": 3, "commitIndex": 42, "appliedIndex": $3,
 "leader": "s1", "clusterID": "c-test", "snapshotIndex": 30, "snapshotsInstalled": 1,
 "members": [
  {"id": 1, "name": "s1", "address": "127.0.0.1:7701", "role": "voter", "matchIndex": $match},
  {"id": 2, "name": "s2", "address": "127.0.0.1:7702", "role": "voter", "matchIndex": $match},
  {"id": 3, "name": "s3", "address": "127.0.0.1:7703", "role": "voter", "matchIndex": $match}]}}
JSON
}
raft_hb s1 leader 42 >"$T/hb-s1.json"
raft_hb s2 follower 41 >"$T/hb-s2.json"
members() {
  # s3 stays silent: unreachable
  while :; do
    for m in s1 s2; do
      "$HS_BIN/hs-send" "hb.raft.$m" --envelope "$(cat "$T/hb-$m.json")" >>"$T/members.log" 2>&1
    done
    sleep 0.2 # the members' heartbeat period, not a wait for a condition
  done
}
members &
HS_PIDS+=($!)
# (hs-send starts a process per heartbeat: under ASan a round may take
# longer than hsctl listens, so each check polls for one output with all)
rows() {
  hsctl get components >"$T/cs" 2>&1 &&
    head -n 1 "$T/cs" | grep -Eq ' ROLE +TERM +COMMIT +APPLIED +LEADER +MEMBERS$' &&
    grep -Eq '^hs-store +s1 .* leader +3 +42 +42 +s1 +2/3$' "$T/cs" &&
    grep -Eq '^hs-store +s2 .* follower +3 +42 +41 +s1 +2/3$' "$T/cs"
}
poll_until 20 rows || fail "get components: $(cat "$T/cs")"
listed() {
  hsctl member list >"$T/ml" 2>&1 &&
    grep -Eq '^s1 +1 +127.0.0.1:7701 +voter +leader +3 +42 +42 +42$' "$T/ml" &&
    grep -Eq '^s2 +2 +127.0.0.1:7702 +voter +follower +3 +42 +41 +42$' "$T/ml" &&
    grep -Eq '^s3 +3 +127.0.0.1:7703 +voter +unreachable ' "$T/ml"
}
poll_until 20 listed || fail "member list: $(cat "$T/ml")"
pass "get components and member list show the members from hb.raft.*"

# member add: the leader (played here) answers the MemberChange with an Ack
answer() { # $1: code name
  rm -f "$T/mc.out"
  start_tap mc cmd.members/ -o json -c 1
  local tap=$TAP_PID
  hsctl member add s4 127.0.0.1:7704 >"$T/add.out" 2>&1 &
  local ctl=$!
  wait_for 10 "the MemberChange on cmd.members/" grep -q memberChange "$T/mc.out"
  read -r cid rid < <(python3 -c '
import json, sys
line = json.loads(open(sys.argv[1]).readline())
mc = line["envelope"]["memberChange"]
assert mc["op"] == "add" and mc["name"] == "s4" and mc["address"] == "127.0.0.1:7704", mc
print(mc["clientID"], mc["requestID"])' "$T/mc.out") || fail "the MemberChange: $(cat "$T/mc.out")"
  local msg=""
  [ "$1" = CODE_OK ] || msg=', "message": "member \"s4\" already exists"'
  "$HS_BIN/hs-send" "ack.$cid/" --envelope "{\"ack\": {\"requestID\": \"$rid\", \"code\": \"$1\"$msg}}" \
    >>"$T/members.log" 2>&1 || fail "hs-send the ack: $(tail -n 3 "$T/members.log")"
  ADD_RC=0
  wait "$ctl" || ADD_RC=$?
  wait "$tap" 2>/dev/null || true
}
answer CODE_OK
[ "$ADD_RC" = 0 ] || fail "member add exited $ADD_RC: $(cat "$T/add.out")"
grep -qx 'member/s4 added (127.0.0.1:7704)' "$T/add.out" || fail "member add: $(cat "$T/add.out")"
answer CODE_ALREADY_EXISTS
[ "$ADD_RC" = 1 ] || fail "member add (refused) exited $ADD_RC: $(cat "$T/add.out")"
grep -qx 'Error from server (AlreadyExists): member "s4" already exists' "$T/add.out" ||
  fail "member add (refused): $(cat "$T/add.out")"
pass "member add: the MemberChange on cmd.members/, the Ack printed, a refusal named"

# hs-metrics: the member families
mport=$(free_port_pair)
start metrics "$HS_BIN/hs-metrics" --listen "127.0.0.1:$mport"
WANT=('homeostat_store_member_role{member="s1",role="leader"} 1'
  'homeostat_store_member_role{member="s2",role="follower"} 1'
  'homeostat_store_member_term{member="s1"} 3'
  'homeostat_store_member_applied_index{member="s2"} 41'
  'homeostat_store_member_commit_index{member="s1"} 42'
  'homeostat_store_member_snapshots_installed_total{member="s1"} 1'
  'homeostat_store_member_up{member="s2"} 1')
# one page with every line (each member heard within 3 s of that scrape)
scraped() {
  curl -sf "http://127.0.0.1:$mport/metrics" >"$T/page" || return 1
  local w
  for w in "${WANT[@]}"; do grep -qxF "$w" "$T/page" || return 1; done
}
poll_until 20 scraped || fail "hs-metrics: not every member line on /metrics: $(grep homeostat_store_member "$T/page")"
if [ -x /usr/bin/promtool ]; then
  /usr/bin/promtool check metrics <"$T/page" >"$T/promtool.out" 2>&1 ||
    fail "promtool: $(cat "$T/promtool.out")"
fi
pass "hs-metrics: homeostat_store_member_* from hb.raft.*"
