#!/usr/bin/env bash
# What hsctl shows survives the store: kill -9 hs-store and restart it, the
# objects are still listed; `hsctl snapshot save` then `restore` into a fresh
# data directory, served by a new hs-store, shows the same objects.
source "$(dirname "$0")/lib.sh"

start_bus
start_store

hsctl apply -f "$HS_SRC/examples/" >"$T/apply.out" 2>&1 || fail "apply examples: $(cat "$T/apply.out")"
cat >"$T/extra.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: keeper
  namespace: team-a
  labels: {app: keeper}
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
YAML
hsctl apply -f "$T/extra.yaml" >/dev/null
listing() { hsctl get "$@" -A -o name 2>&1; }
listing pods,rs,deploy,jobs,svc >"$T/before.txt"
[ "$(cat "$T/before.txt")" = "pod/web
pod/keeper
replicaset.apps/echo
deployment.apps/api
job.batch/hello
service/web" ] || fail "unexpected listing before the crash: $(cat "$T/before.txt")"

# ---- kill -9 the store, start it again on the same directory
kill -9 "$STORE_PID"
wait "$STORE_PID" 2>/dev/null || true
RC=0; hsctl --request-timeout 1 get pods >"$T/down.out" 2>&1 || RC=$?
[ $RC -eq 1 ] || fail "get pods with the store down exited $RC"
grep -qx "Unable to connect to the server: the store did not answer within 1s" "$T/down.out" \
  || fail "with the store down: $(cat "$T/down.out")"
start_store
listing pods,rs,deploy,jobs,svc >"$T/after.txt"
diff -u "$T/before.txt" "$T/after.txt" || fail "objects changed across kill -9 of hs-store"
RC=0; hsctl get pods >"$T/out" 2>&1 || RC=$?
[ $RC -eq 0 ] && grep -Eq '^web +0/1 +Pending' "$T/out" || fail "get pods after restart: $(cat "$T/out")"
pod_uid() { hsctl get pod web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])'; }
UID_BEFORE=$(pod_uid)
pass "objects survive kill -9 of hs-store"

# ---- snapshot save / status / restore
RC=0; hsctl snapshot save "$T/backup.snap" >"$T/save.out" 2>&1 || RC=$?
[ $RC -eq 0 ] || fail "snapshot save exited $RC: $(cat "$T/save.out")"
grep -Eqx "Snapshot saved at $T/backup.snap \(6 objects, revision [0-9]+\)" "$T/save.out" \
  || fail "snapshot save printed: $(cat "$T/save.out")"
[ ! -e "$T/backup.snap.tmp" ] || fail "snapshot save left its .tmp file"
REV=$(sed -E 's/.*revision ([0-9]+)\)$/\1/' "$T/save.out")
hsctl snapshot status "$T/backup.snap" >"$T/status.out" 2>&1 || fail "snapshot status: $(cat "$T/status.out")"
grep -Eqx "Revision: +$REV" "$T/status.out" || fail "status revision: $(cat "$T/status.out")"
grep -Eqx "Objects: +6" "$T/status.out" || fail "status objects: $(cat "$T/status.out")"
grep -Eqx "  pods: +2" "$T/status.out" || fail "status pods: $(cat "$T/status.out")"
grep -Eqx "  deployments: +1" "$T/status.out" || fail "status deployments: $(cat "$T/status.out")"

# a change after the backup must not be in the restored store
hsctl delete pod keeper -n team-a >/dev/null

RC=0; hsctl snapshot restore "$T/backup.snap" --data-dir "$T/restored" >"$T/restore.out" 2>&1 || RC=$?
[ $RC -eq 0 ] || fail "snapshot restore exited $RC: $(cat "$T/restore.out")"
[ "$(cat "$T/restore.out")" = "Restored 6 objects (revision $REV) into $T/restored; start hs-store with --data $T/restored" ] \
  || fail "snapshot restore printed: $(cat "$T/restore.out")"
RC=0; hsctl snapshot restore "$T/backup.snap" --data-dir "$T/restored" >"$T/out" 2>&1 || RC=$?
[ $RC -eq 1 ] && grep -q "already holds a store" "$T/out" || fail "restore over a store: rc $RC: $(cat "$T/out")"
printf 'not a snapshot' >"$T/junk.snap"
RC=0; hsctl snapshot status "$T/junk.snap" >"$T/out" 2>&1 || RC=$?
[ $RC -eq 1 ] && grep -q "^error: cannot read snapshot $T/junk.snap" "$T/out" || fail "junk snapshot: rc $RC: $(cat "$T/out")"

# serve the restored directory with a new store (the old one stopped)
kill -9 "$STORE_PID"
wait "$STORE_PID" 2>/dev/null || true
start store2 "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/restored"
wait_for 20 "the restored hs-store to answer" hsctl get nodes
listing pods,rs,deploy,jobs,svc >"$T/restored.txt"
diff -u "$T/before.txt" "$T/restored.txt" || fail "the restored store does not hold the saved objects"
[ "$(pod_uid)" = "$UID_BEFORE" ] || fail "pod web's uid changed across backup and restore"
RC=0; hsctl describe pod keeper -n team-a >"$T/out" 2>&1 || RC=$?
[ $RC -eq 0 ] && grep -Eq '^Labels: +app=keeper$' "$T/out" || fail "describe restored keeper: $(cat "$T/out")"
pass "snapshot save, status and restore into a fresh store"
