#!/usr/bin/env bash
# hs-apiserver's watch ring is bounded by bytes as well as by count
# (api_cache.c, --watch-ring-bytes; review finding 6): many patches of a
# ~900 KiB ConfigMap keep the gateway's memory bounded (a ring by count
# alone, default 100000 events, would keep every copy), a watch from
# before the events that left gets 410 Expired, and a watch from a recent
# revision still replays (the packed copy unpacks to the same object). No
# agent, no root.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
API_PORT=$(free_port_pair)
API_URL="https://127.0.0.1:$API_PORT"
RING_MIB=8
start apiserver "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --pki "$HS_PKI" \
  --listen "127.0.0.1:$API_PORT" --watch-ring-bytes "${RING_MIB}Mi"
API_PID=$LAST_PID
TOKEN=$(sed -n 's/^ *token: *//p' "$HS_PKI/kubeconfig" | head -1)
[ -n "$TOKEN" ] || fail "no token in $HS_PKI/kubeconfig"

# api METHOD PATH [BODY-FILE [CONTENT-TYPE]]: body in $T/body, code in $CODE.
api() {
  local args=(-sS --max-time 30 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN"
    -H "Accept: application/json" -X "$1" -o "$T/body" -w '%{http_code}')
  [ -n "${3-}" ] && args+=(-H "Content-Type: ${4:-application/merge-patch+json}" --data-binary "@$3")
  CODE=$(curl "${args[@]}" "$API_URL$2") || CODE=000
}
code_is() { [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $(head -c 400 "$T/body")"; }
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); print(($1))"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$API_PID/status"; }
listed() { api GET /api/v1/namespaces/default/configmaps && [ "$CODE" = 200 ]; }
wait_for 20 "hs-apiserver to list configmaps" listed
P=/api/v1/namespaces/default/configmaps
SIZE=$((900 * 1024))

# body FILE CHAR: a ConfigMap (patch) whose one value is SIZE bytes of CHAR.
body() {
  python3 -c "import json,sys; print(json.dumps({'metadata':{'name':'big'},'data':{'v':sys.argv[1]*$SIZE}}))" \
    "$2" >"$1"
}
body "$T/create.json" a
api POST $P "$T/create.json" application/json
code_is 201 "create a 900 KiB ConfigMap"
# patch N: the N-th patch (a different value each time).
CHARS=abcdefghijklmnopqrstuvwxyz
patch() {
  body "$T/patch.json" "${CHARS:$(($1 % 26)):1}"
  api PATCH $P/big "$T/patch.json"
  code_is 200 "patch $1"
}
for i in 1 2 3 4 5 6 7 8 9 10; do patch "$i"; done
api GET $P
code_is 200 "list"
RV0=$(py 'd["metadata"]["resourceVersion"]')
RSS0=$(rss_kb)
N=100
for i in $(seq 11 $((N - 1))); do patch "$i"; done
api GET $P
RV_PREV=$(py 'd["metadata"]["resourceVersion"]')
patch $N
LAST=${CHARS:$((N % 26)):1}
RSS1=$(rss_kb)
GROWTH_MB=$(((RSS1 - RSS0) / 1024))
echo "RSS: ${RSS0} kB after 10 patches, ${RSS1} kB after $N (+${GROWTH_MB} MB);" \
  "by count the ring would hold ~$((N * 9 / 10)) MB more"

# Not under a sanitizer: ASan's quarantine keeps freed blocks (256 MB).
if grep -qa __asan_init "$HS_BIN/hs-apiserver"; then
  echo "skip: RSS bound under ASan (its quarantine holds freed memory)"
else
  [ "$GROWTH_MB" -lt 40 ] ||
    fail "RSS grew ${GROWTH_MB} MB over $((N - 10)) patches of 900 KiB (ring ${RING_MIB} MiB)"
fi
pass "$N patches of a 900 KiB ConfigMap: RSS bounded by the ring's ${RING_MIB} MiB"

api GET "$P?watch=1&resourceVersion=$RV0&timeoutSeconds=1"
code_is 200 "watch from before the events that left"
python3 - "$T/body" "$RV0" <<'PY' || fail "410 Expired: $(head -c 600 "$T/body")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(ev) == 1 and ev[0]["type"] == "ERROR", ev
st = ev[0]["object"]
assert st["code"] == 410 and st["reason"] == "Expired", st
rv0 = int(sys.argv[2])
msg = st["message"]
assert msg.startswith("too old resource version: %d (" % rv0), msg
assert int(msg.rsplit("(", 1)[1].rstrip(")")) > rv0, msg
PY
api GET "$P?watch=1&resourceVersion=$RV_PREV&timeoutSeconds=1"
code_is 200 "watch from the last patch but one"
python3 - "$T/body" "$LAST" "$SIZE" <<'PY' || fail "replay of the last patch: $(head -c 300 "$T/body")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [e["type"] for e in ev] == ["MODIFIED"], [e["type"] for e in ev]
v = ev[0]["object"]["data"]["v"]
assert v == sys.argv[2] * int(sys.argv[3]), (len(v), v[:10])
PY
pass "a watch from an event that left gets 410 Expired; a recent one replays the object whole"

kill -TERM "$API_PID"
wait_for 20 "hs-apiserver to stop" exited "$API_PID"
API_RC=0
wait "$API_PID" 2>/dev/null || API_RC=$?
[ "$API_RC" = 0 ] || fail "hs-apiserver exited $API_RC on SIGTERM"
! grep -q "Sanitizer\|runtime error" "$T/apiserver.log" || fail "sanitizer report in apiserver.log"
pass "hs-apiserver watch ring bounded by bytes"
