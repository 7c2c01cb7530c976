#!/usr/bin/env bash
# Secrets at rest and on show (issue 16, item 6): a Secret with a random
# value is applied (data and stringData); neither the value nor its base64
# is in data.mdb, the write-ahead log, the store's log, hsctl's output or
# hs-tap's (lines, JSON, recording), while the store's files do hold the
# sealed Secret and hsctl get -o yaml shows it in base64 as kubectl does.
# Then: a restart reads it back; a key rotation with --rewrite-secrets lets
# the old key go; a Secret over 1 MiB is refused; a missing key file stops
# the store with one line naming it.
source "$(dirname "$0")/lib.sh"

start_bus
start_store

VALUE="v$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"   # 37 random characters
TOKEN="t$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
VALUE_B64=$(printf %s "$VALUE" | base64 -w0)
TOKEN_B64=$(printf %s "$TOKEN" | base64 -w0)
DATA="$T/store"

# Every way a value could leak, checked at once: arguments are file paths.
no_value_in() {
  local f s
  for f in "$@"; do
    [ -e "$f" ] || fail "$f does not exist"
    for s in "$VALUE" "$VALUE_B64" "$TOKEN" "$TOKEN_B64"; do
      if grep -qaF -- "$s" "$f"; then fail "$f holds a Secret's value in clear ($s)"; fi
    done
  done
}

start_tap tap
start_tap tapjson -o json -w "$T/tap.rec"
TAPJSON_PID=$TAP_PID
start_tap tapshow -o json --show-secrets cmd.secret ev.secret
TAPSHOW_PID=$TAP_PID

cat >"$T/secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: db, labels: {app: db}}
data:
  token: $TOKEN_B64
stringData:
  password: "$VALUE"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  mode: fast
  app.conf: |
    listen 8080
binaryData:
  blob: AAEC
YAML
hsctl apply -f "$T/secret.yaml" >"$T/apply.out" 2>&1 || fail "apply: $(cat "$T/apply.out")"
[ "$(cat "$T/apply.out")" = "secret/db created
configmap/settings created" ] || fail "apply printed: $(cat "$T/apply.out")"
pass "applied a Secret (data + stringData) and a ConfigMap"

# ---- hsctl shows them as kubectl does
out=$(hsctl get secrets)
[[ "$out" =~ ^NAME[[:space:]]+TYPE[[:space:]]+DATA[[:space:]]+AGE ]] || fail "get secrets: $out"
[[ "$out" =~ db[[:space:]]+Opaque[[:space:]]+2[[:space:]] ]] || fail "get secrets row: $out"
out=$(hsctl get configmaps)
[[ "$out" =~ ^NAME[[:space:]]+DATA[[:space:]]+AGE ]] || fail "get configmaps: $out"
[[ "$out" =~ settings[[:space:]]+3[[:space:]] ]] || fail "get configmaps row: $out"
yaml=$(hsctl get secret db -o yaml)
case "$yaml" in *"password: $VALUE_B64"*"token: $TOKEN_B64"*) ;;
  *) fail "get secret -o yaml does not show data in base64: $yaml" ;; esac
case "$yaml" in *stringData*) fail "stringData was stored: $yaml" ;; esac
case "$yaml" in *"type: Opaque"*) ;; *) fail "no type Opaque: $yaml" ;; esac
desc=$(hsctl describe secret db)
case "$desc" in *"password:  ${#VALUE} bytes"*"token:     ${#TOKEN} bytes"*) ;;
  *) fail "describe secret: $desc" ;; esac
case "$desc" in *"$VALUE"*|*"$VALUE_B64"*) fail "describe secret shows the value" ;; esac
desc=$(hsctl describe configmap settings)
case "$desc" in *"app.conf:"*"----"*"listen 8080"*"mode:"*"----"*"fast"*"BinaryData"*"blob: 3 bytes"*) ;;
  *) fail "describe configmap: $desc" ;; esac
pass "get secrets/configmaps, get -o yaml (base64), describe (sizes only for a Secret)"

# ---- the taps: redacted, unless --show-secrets
wait_for 10 "the tap to see the Secret's event" grep -q "ev.secret" "$T/tap.out"
wait_for 10 "the JSON tap to see the Secret's event" grep -q '"topic":"ev.secret' "$T/tapjson.out"
wait_for 10 "the --show-secrets tap to see it" grep -qF "$VALUE_B64" "$T/tapshow.out"
grep -qF "\"password\":\"<redacted ${#VALUE} bytes>\"" "$T/tapjson.out" \
  || fail "the JSON tap does not show the redaction: $(grep secret "$T/tapjson.out" | head -3)"
kill -INT "$TAPSHOW_PID" "$TAPJSON_PID"
wait_for 10 "the recording tap to stop" exited "$TAPJSON_PID"
hs-tap -r "$T/tap.rec" -o json --show-secrets >"$T/replay.out" 2>&1 || fail "replay: $(cat "$T/replay.out")"
grep -q '"topic":"ev.secret' "$T/replay.out" || fail "the recording has no ev.secret"
no_value_in "$T/tap.out" "$T/tapjson.out" "$T/tap.rec" "$T/replay.out"
pass "hs-tap redacts Secrets in lines, JSON and recordings; --show-secrets shows them"

# ---- at rest: the log, then LMDB after a checkpoint (the store checkpoints when idle)
grep -qa 'hsenc:v1:' "$DATA/wal" || fail "the write-ahead log holds no sealed Secret"
wait_for 10 "a checkpoint to write the Secret into data.mdb" grep -qa 'hsenc:v1:' "$DATA/data.mdb"
no_value_in "$DATA/data.mdb" "$DATA/wal" "$T/store.log" "$T/apply.out"
key_mode=$(stat -c %a "$DATA/encryption.key")
[ "$key_mode" = 600 ] || fail "encryption.key has mode $key_mode"
pass "neither data.mdb nor the WAL holds the value or its base64; the key file is 0600"

# ---- a restart reads it back
stop_store() {
  kill -TERM "$STORE_PID"
  wait_for 20 "hs-store to stop" exited "$STORE_PID"
}
stop_store
start_store
yaml=$(hsctl get secret db -o yaml)
case "$yaml" in *"password: $VALUE_B64"*) ;; *) fail "after a restart: $yaml" ;; esac
pass "the Secret reads back after a restart"

# ---- rotation: a new first key, --rewrite-secrets, then the old key removed
stop_store
old_key=$(grep -v '^#' "$DATA/encryption.key")
old_name=${old_key%% *}
{ echo "new-1 $(head -c 32 /dev/urandom | base64 -w0)"; cat "$DATA/encryption.key"; } >"$T/k.tmp"
cat "$T/k.tmp" >"$DATA/encryption.key"
hs-store --data "$DATA" --rewrite-secrets >"$T/rewrite.out" 2>&1 || fail "rewrite: $(cat "$T/rewrite.out")"
grep -q 'every Secret is encrypted with key "new-1" .* (1 encrypted anew)' "$T/rewrite.out" \
  || fail "--rewrite-secrets said: $(cat "$T/rewrite.out")"
grep -v "^$old_name " "$T/k.tmp" >"$DATA/encryption.key"
if grep -q "^$old_name " "$DATA/encryption.key"; then fail "the old key is still in the file"; fi
start_store
yaml=$(hsctl get secret db -o yaml)
case "$yaml" in *"password: $VALUE_B64"*"token: $TOKEN_B64"*) ;;
  *) fail "after rotation without the old key: $yaml" ;; esac
grep -qa 'hsenc:v1:new-1:' "$DATA/data.mdb" || fail "data.mdb has no Secret sealed with new-1"
no_value_in "$DATA/data.mdb" "$DATA/wal"
pass "rotated: sealed anew with the new key, readable with the old key removed"

# ---- a Secret over 1 MiB is refused
{
  echo "apiVersion: v1"; echo "kind: Secret"; echo "metadata: {name: huge}"; echo "data:"
  printf '  blob: '; head -c $((1024 * 1024 + 10)) /dev/zero | base64 -w0; echo
} >"$T/huge.yaml"
RC=0; hsctl apply -f "$T/huge.yaml" >"$T/huge.out" 2>&1 || RC=$?
[ $RC -ne 0 ] || fail "a 1 MiB Secret was accepted"
grep -qF 'Secret "huge" is invalid: data: Too long: must have at most 1048576 bytes' "$T/huge.out" \
  || fail "over 1 MiB: $(cat "$T/huge.out")"
RC=0; hsctl get secret huge >/dev/null 2>&1 || RC=$?
[ $RC -ne 0 ] || fail "the refused Secret exists"
pass "a Secret over 1 MiB is refused with kube's message"

# ---- a missing key file stops the store with one line naming it
stop_store
mv "$DATA/encryption.key" "$T/saved.key"
RC=0; hs-store --bus "$HS_BUS" --data "$DATA" >"$T/nokey.out" 2>&1 || RC=$?
[ $RC -eq 1 ] || fail "hs-store without its key file exited $RC: $(cat "$T/nokey.out")"
line=$(grep -c 'error' "$T/nokey.out" || true)
[ "$line" = 1 ] || fail "expected one error line: $(cat "$T/nokey.out")"
grep -qF "the store holds 1 encrypted Secret, but the key file $DATA/encryption.key does not exist" \
  "$T/nokey.out" || fail "missing key file: $(cat "$T/nokey.out")"
[ ! -e "$DATA/encryption.key" ] || fail "a new key file was made over encrypted Secrets"
mv "$T/saved.key" "$DATA/encryption.key"
start_store
yaml=$(hsctl get secret db -o yaml)
case "$yaml" in *"password: $VALUE_B64"*) ;; *) fail "with the key back: $yaml" ;; esac
pass "a missing key file: refused with one line naming it; with it back, all is there"

# ---- a snapshot restore: the backup is 0600; the restored store seals the
# Secrets the file held in clear and compacts data.mdb, so no clear copy
# stays in its free pages
hsctl snapshot save "$T/backup.db" >"$T/save.out" 2>&1 || fail "snapshot save: $(cat "$T/save.out")"
[ "$(stat -c %a "$T/backup.db")" = 600 ] || fail "the backup has mode $(stat -c %a "$T/backup.db")"
stop_store
hsctl snapshot restore "$T/backup.db" --data-dir "$T/restored" >"$T/restore.out" 2>&1 \
  || fail "snapshot restore: $(cat "$T/restore.out")"
DATA_SAVED=$DATA
start store "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/restored"
STORE_PID=$LAST_PID
wait_for 20 "the restored hs-store to answer" "$HS_BIN/hsctl" get nodes
yaml=$(hsctl get secret db -o yaml)
case "$yaml" in *"password: $VALUE_B64"*) ;; *) fail "after a restore: $yaml" ;; esac
grep -q 'compacted .*restored/data.mdb: the 1 Secrets that were stored in clear' "$T/store.log" \
  || fail "the restored store did not compact: $(tail -5 "$T/store.log")"
no_value_in "$T/restored/data.mdb" "$T/restored/wal"
grep -qa 'hsenc:v1:' "$T/restored/data.mdb" || fail "the restored data.mdb holds no sealed Secret"
pass "restored: sealed at start, no clear copy left in data.mdb; the backup file is 0600"

# ---- under a sanitizer build: nothing reported by the store or the taps
stop_store
for f in "$T"/store.log "$T"/*.err "$T/nokey.out" "$T/rewrite.out"; do
  [ -f "$f" ] || continue
  if grep -Eq 'Sanitizer|runtime error' "$f"; then
    fail "sanitizer report in $f: $(grep -E -A20 'Sanitizer|runtime error' "$f")"
  fi
done
pass "no sanitizer report"
