#!/usr/bin/env bash
# hsctl beside a single store (issue 19): `get components` keeps today's
# columns (role standalone in -o json), `member` says the store is not
# replicated instead of timing out, and `snapshot save --data-dir` reads the
# running store's LMDB directly into the same file a save over the bus
# writes (Secrets opened with the store's keyring), which restores.
# About 15 s.
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
ls -d "${TMPDIR:-/tmp}"/hsctl-snapshot-* 2>/dev/null && fail "the private copy was left behind"
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
