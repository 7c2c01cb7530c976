#!/usr/bin/env bash
# hs-apiserver's verbs on a main resource (api_crud.c, api_cache.c), over
# HTTPS with curl as the admin of `hsctl init`: get, list (JSON, Table,
# selectors), watch (current state, replay from a list's resourceVersion,
# 410 Expired, timeoutSeconds), create (201, 409, dryRun, fieldValidation,
# protobuf 415), update (409 on a stale resourceVersion), patch (merge,
# strategic, JSON patch, server-side apply, 415), delete (DeleteOptions,
# Foreground's Warning) and deletecollection. No agent: nothing here needs
# a pod to run, so it needs no root.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
# Writes before the gateway starts: its watch begins after them, so a watch
# from resourceVersion 1 is older than its ring (410).
for i in 1 2 3; do
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: early%s\ndata:\n  k: v\n' "$i" \
    >"$T/early.yaml"
  hsctl apply -f "$T/early.yaml" >/dev/null
done

API_PORT=$(free_port_pair)
API_URL="https://127.0.0.1:$API_PORT"
start apiserver "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --pki "$HS_PKI" \
  --listen "127.0.0.1:$API_PORT"
API_PID=$LAST_PID
TOKEN=$(sed -n 's/^ *token: *//p' "$HS_PKI/kubeconfig" | head -1)
[ -n "$TOKEN" ] || fail "no token in $HS_PKI/kubeconfig"

# api METHOD PATH [BODY [CONTENT-TYPE [ACCEPT]]]: the answer's body in
# $T/body, headers in $T/hdr, status code in $CODE.
api() {
  local m=$1 p=$2 body=${3-} ct=${4:-application/json} acc=${5:-application/json}
  local args=(-sS --max-time 20 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN"
    -H "Accept: $acc" -X "$m" -o "$T/body" -D "$T/hdr" -w '%{http_code}')
  [ -n "$body" ] && args+=(-H "Content-Type: $ct" --data-binary "$body")
  CODE=$(curl "${args[@]}" "$API_URL$p") || CODE=000
}
code_is() {
  [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $(head -c 600 "$T/body")"
}
# py EXPR: EXPR over d (the JSON body), printed.
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); print(($1))"; }
py_is() {
  local got
  got=$(py "$1") || fail "$3: the body is not JSON: $(head -c 300 "$T/body")"
  [ "$got" = "$2" ] || fail "$3: $1 is '$got', expected '$2'; body: $(head -c 600 "$T/body")"
}
hdr_has() { grep -qiF -- "$1" "$T/hdr" || fail "$2: no header '$1' in: $(cat "$T/hdr")"; }
listed() { api GET /api/v1/namespaces/default/configmaps && [ "$CODE" = 200 ]; }
wait_for 20 "hs-apiserver to list configmaps" listed
P=/api/v1/namespaces/default

# ---- create
api POST $P/pods '{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","1d"]}]}}'
code_is 201 "create pod web (no kind/apiVersion: python's shape)"
py_is 'd["kind"], d["apiVersion"], d["metadata"]["name"]' "('Pod', 'v1', 'web')" "created pod"
py_is 'type(d["metadata"]["resourceVersion"]).__name__' str "resourceVersion is a string"
WEB_RV=$(py 'd["metadata"]["resourceVersion"]')
api POST $P/pods '{"metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","1d"]}]}}'
code_is 409 "create web again"
py_is 'd["reason"], d["message"]' "('AlreadyExists', 'pods \"web\" already exists')" "duplicate"
api POST $P/configmaps '{"metadata":{"generateName":"gen-"},"data":{"a":"b"}}'
code_is 201 "create with generateName"
py_is 'd["metadata"]["name"].startswith("gen-") and len(d["metadata"]["name"]) > 4' True \
  "generateName gave a name"
pass "create: 201, 409 AlreadyExists, generateName"

api POST "$P/configmaps?dryRun=All" '{"metadata":{"name":"dry"},"data":{"a":"b"}}'
code_is 201 "dry-run create"
py_is 'd["metadata"]["name"]' dry "dry-run answer"
api GET $P/configmaps/dry
code_is 404 "the dry-run object must not exist"
py_is 'd["message"]' 'configmaps "dry" not found' "NotFound text"
pass "dryRun=All writes nothing"

api POST "$P/configmaps?fieldValidation=Strict" '{"metadata":{"name":"strict"},"bogus":1}'
code_is 400 "strict create with an unknown field"
api POST "$P/configmaps?fieldValidation=Warn" '{"metadata":{"name":"warned"},"bogus":1}'
code_is 201 "warn create with an unknown field"
hdr_has 'Warning: 299' "fieldValidation=Warn"
api POST $P/configmaps 'k8s-protobuf-bytes' application/vnd.kubernetes.protobuf
code_is 415 "protobuf body"
py_is '"--dry-run=client -o yaml | kubectl apply -f -" in d["message"]' True "415's hint"
pass "fieldValidation Strict/Warn, protobuf 415"

# ---- get, list
api GET $P/pods/web
code_is 200 "get pod web"
py_is 'd["spec"]["containers"][0]["image"]' busybox "get pod web"
api GET $P/pods/web "" "" 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
code_is 200 "get pod web as a Table"
py_is 'd["kind"], len(d["rows"])' "('Table', 1)" "one-row Table"
api POST $P/pods '{"metadata":{"name":"db","labels":{"app":"db"}},"spec":{"containers":[{"name":"c","image":"pg","command":["sleep","1d"]}]}}'
code_is 201 "create pod db"
api GET "$P/pods?labelSelector=app%3Dweb"
code_is 200 "list with a label selector"
py_is 'd["kind"], [i["metadata"]["name"] for i in d["items"]]' "('PodList', ['web'])" "app=web"
py_is 'int(d["metadata"]["resourceVersion"]) > 0' True "a list has a resourceVersion"
api GET "/api/v1/pods?fieldSelector=metadata.name%21%3Dweb&limit=500"
code_is 200 "list all namespaces, field selector, limit"
py_is '[i["metadata"]["name"] for i in d["items"]]' "['db']" "metadata.name!=web"
api GET "$P/pods?labelSelector=app+in+%28web%2Cdb%29&includeObject=Object" "" "" \
  'application/json;as=Table;v=v1;g=meta.k8s.io'
code_is 200 "list as a Table"
py_is 'd["kind"], len(d["rows"]), d["rows"][0]["object"]["kind"]' "('Table', 2, 'Pod')" \
  "Table with includeObject=Object"
api GET $P/pods/nope
code_is 404 "get a missing pod"
py_is 'd["reason"], d["message"]' "('NotFound', 'pods \"nope\" not found')" "NotFound"
api GET /apis/apps/v1/namespaces/other/deployments/nope
code_is 404 "get in a namespace nothing uses"
py_is 'd["message"]' 'deployments.apps "nope" not found' "NotFound in an unused namespace"
pass "get, list, Table, selectors, 404"

# ---- Secrets: a tap: (read-only) user is Kubernetes' `view`, which leaves
# Secrets out: 403 on get, list and watch, in Kubernetes' words; the admin
# reads them; and the value reaches the tap through no other read.
api POST $P/secrets '{"metadata":{"name":"db-pass"},"data":{"pw":"aHVudGVyMi1zM2NyM3Q="}}'
code_is 201 "admin creates a secret"
api GET $P/secrets/db-pass
code_is 200 "admin reads the secret"
py_is 'd["data"]["pw"]' aHVudGVyMi1zM2NyM3Q= "admin sees the secret's data"
TAP=$("$HS_BIN/hsctl" token create --user tap:bob --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$TAP" ] || fail "no tap token"
tap_reads() { TOKEN=$TAP api GET $P/configmaps && [ "$CODE" = 200 ]; }
wait_for 20 "the tap token to read configmaps (the bus loads its key)" tap_reads
# tap_forbidden PATH VERB-TEXT [ACCEPT]: 403 Forbidden with that message.
tap_forbidden() {
  TOKEN=$TAP api GET "$1" "" "" "${3:-application/json}"
  code_is 403 "tap: GET $1"
  py_is 'd["kind"], d["reason"], d["code"]' "('Status', 'Forbidden', 403)" "tap: GET $1"
  py_is 'd["message"]' "$2" "tap: GET $1"
}
IN_DEFAULT='in API group "" in the namespace "default"'
tap_forbidden $P/secrets/db-pass \
  "secrets \"db-pass\" is forbidden: User \"tap:bob\" cannot get resource \"secrets\" $IN_DEFAULT"
tap_forbidden $P/secrets \
  "secrets is forbidden: User \"tap:bob\" cannot list resource \"secrets\" $IN_DEFAULT"
tap_forbidden /api/v1/secrets \
  'secrets is forbidden: User "tap:bob" cannot list resource "secrets" in API group "" at the cluster scope'
tap_forbidden "$P/secrets?watch=1&timeoutSeconds=1" \
  "secrets is forbidden: User \"tap:bob\" cannot watch resource \"secrets\" $IN_DEFAULT"
tap_forbidden "/api/v1/secrets?watch=true&resourceVersion=1" \
  'secrets is forbidden: User "tap:bob" cannot watch resource "secrets" in API group "" at the cluster scope'
tap_forbidden "$P/secrets?includeObject=Object" \
  "secrets is forbidden: User \"tap:bob\" cannot list resource \"secrets\" $IN_DEFAULT" \
  'application/json;as=Table;v=v1;g=meta.k8s.io'
# Every other read a tap may make: the value is in none of them (base64 or
# clear), though tap reads them (200).
for p in /api/v1/configmaps /api/v1/events /api/v1/pods /api/v1/namespaces \
  "/api/v1/namespaces?watch=1&timeoutSeconds=1" "/api/v1/events?watch=1&timeoutSeconds=1" \
  /apis/apps/v1/deployments; do
  TOKEN=$TAP api GET "$p"
  code_is 200 "tap: GET $p"
  ! grep -q 'aHVudGVyMi1zM2NyM3Q\|hunter2-s3cr3t' "$T/body" || fail "tap: $p shows the secret"
done
TOKEN=$TAP api PATCH $P/secrets/db-pass '[{"op":"test","path":"/data/pw","value":"x"}]' \
  application/json-patch+json
code_is 403 "tap: a JSON patch test on a secret (an oracle) is refused before it runs"
api GET "$P/secrets?watch=1&timeoutSeconds=1"
code_is 200 "admin watches secrets"
grep -q '"ADDED".*aHVudGVyMi1zM2NyM3Q=' "$T/body" || fail "admin's watch: $(cat "$T/body")"
pass "Secrets: tap gets 403 on get, list, watch (Kubernetes' texts), no leak elsewhere; admin reads"

# ---- update
api GET $P/configmaps/early1
code_is 200 "get early1"
OLD=$(cat "$T/body")
BODY=$(python3 -c "import json; d=json.loads('''$OLD'''); d['data']={'k':'v2'}; print(json.dumps(d))")
api PUT $P/configmaps/early1 "$BODY"
code_is 200 "update early1 with its resourceVersion"
py_is 'd["data"]["k"]' v2 "updated data"
api PUT $P/configmaps/early1 "$BODY"
code_is 409 "update with a stale resourceVersion"
py_is 'd["reason"]' Conflict "stale PUT"
py_is 'd["message"].startswith("Operation cannot be fulfilled on configmaps \"early1\"")' True \
  "Conflict's text"
pass "PUT: 200, then 409 Conflict when stale"

# ---- patch
api PATCH $P/pods/web '{"metadata":{"labels":{"tier":"fe"}}}' application/merge-patch+json
code_is 200 "merge patch"
py_is 'd["metadata"]["labels"]' "{'app': 'web', 'tier': 'fe'}" "merge patch labels"
api PATCH $P/configmaps/early2 '{"data":{"x":"y"}}' application/strategic-merge-patch+json
code_is 200 "strategic merge patch"
py_is 'sorted(d["data"].items())' "[('k', 'v'), ('x', 'y')]" "SMP data"
api PATCH $P/configmaps/early2 '[{"op":"replace","path":"/data/x","value":"z"}]' \
  application/json-patch+json
code_is 200 "JSON patch"
py_is 'd["data"]["x"]' z "JSON patch"
api PATCH $P/configmaps/early2 '{"data":{"x":"q"}}' text/plain
code_is 415 "patch with an unknown content type"
api PATCH $P/configmaps/missing '{"data":{"x":"q"}}' application/merge-patch+json
code_is 404 "patch a missing object"
api PATCH "$P/configmaps/ssa?fieldManager=kubectl" \
  $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n' \
  application/apply-patch+yaml
code_is 201 "server-side apply of a missing object creates it"
hdr_has 'Warning: 299 - "server-side apply' "SSA's Warning"
api PATCH "$P/configmaps/ssa?fieldManager=kubectl" \
  $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  b: "2"\n' \
  application/apply-patch+yaml
code_is 200 "server-side apply of an existing object merges"
py_is 'sorted(d["data"].items())' "[('a', '1'), ('b', '2')]" "SSA merge"
api PATCH "$P/configmaps/early3?dryRun=All" '{"data":{"k":"dry"}}' application/merge-patch+json
code_is 200 "dry-run patch"
py_is 'd["data"]["k"]' dry "dry-run patch answer"
api GET $P/configmaps/early3
py_is 'd["data"]["k"]' v "dry-run patch wrote nothing"
pass "PATCH: merge, strategic, JSON patch, 415, 404, server-side apply, dry run"

# ---- watch
api GET $P/configmaps
LIST_RV=$(py 'd["metadata"]["resourceVersion"]')
api DELETE $P/configmaps/early3
code_is 200 "delete early3"
py_is 'd["metadata"]["name"]' early3 "delete answers with the object"
api GET "$P/configmaps?watch=1&resourceVersion=$LIST_RV&timeoutSeconds=2"
code_is 200 "watch from the list's resourceVersion"
WATCH=$(cat "$T/body")
python3 - "$T/body" <<'PY' || fail "replay from the list's resourceVersion: $WATCH"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [(e["type"], e["object"]["metadata"]["name"]) for e in ev] == [("DELETED", "early3")], ev
PY
api GET "$P/configmaps?watch=true&resourceVersion=1"
code_is 200 "watch from a too-old resourceVersion"
python3 - "$T/body" <<'PY' || fail "410 Expired event: $(cat "$T/body")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(ev) == 1 and ev[0]["type"] == "ERROR", ev
st = ev[0]["object"]
assert st["code"] == 410 and st["reason"] == "Expired", st
assert st["message"].startswith("too old resource version: 1 ("), st
PY
api GET "$P/pods?watch=True&timeoutSeconds=1&labelSelector=app%3Dweb" "" "" \
  'application/json;as=Table;v=v1;g=meta.k8s.io'
code_is 200 "watch from now as Tables"
python3 - "$T/body" <<'PY' || fail "ADDED for the current state: $(cat "$T/body")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [e["type"] for e in ev] == ["ADDED"], ev
assert ev[0]["object"]["kind"] == "Table" and len(ev[0]["object"]["rows"]) == 1, ev
PY
# A live watch sees a change, and a selector watch an object that stops
# matching as DELETED.
curl -sS -N --max-time 20 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$API_URL$P/pods?watch=1&labelSelector=app%3Dweb&timeoutSeconds=10" >"$T/live" 2>&1 &
LIVE=$!
HS_PIDS+=("$LIVE")
wait_for 10 "the live watch's ADDED" grep -q '"ADDED"' "$T/live"
api PATCH $P/pods/web '{"metadata":{"labels":{"app":"other"}}}' application/merge-patch+json
code_is 200 "relabel web"
wait_for 10 "the live watch's DELETED" grep -q '"DELETED"' "$T/live"
{ kill "$LIVE" && wait "$LIVE"; } 2>/dev/null || true
pass "watch: replay sees a later delete, 410 Expired, Tables, selector leaves as DELETED"

# ---- delete
api DELETE $P/pods/db '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}'
code_is 200 "foreground delete"
hdr_has 'Warning: 299 - "Foreground cascading deletion' "Foreground's Warning"
api GET $P/pods/db
code_is 404 "db is gone"
api DELETE "$P/configmaps/early2?dryRun=All"
code_is 200 "dry-run delete"
api GET $P/configmaps/early2
code_is 200 "dry-run delete deleted nothing"
api DELETE $P/configmaps/early2 '{"preconditions":{"uid":"not-its-uid"}}'
[ "$CODE" = 409 ] || [ "$CODE" = 422 ] || fail "delete with a wrong uid precondition: $CODE"
api DELETE $P/configmaps/missing
code_is 404 "delete a missing object"
api GET $P/configmaps
N_BEFORE=$(py 'len(d["items"])')
[ "$N_BEFORE" -ge 3 ] || fail "expected configmaps to delete, have $N_BEFORE"
api DELETE "$P/configmaps?fieldSelector=metadata.name%21%3Dssa"
code_is 200 "deletecollection"
py_is 'd["status"]' Success "deletecollection's Status"
api GET $P/configmaps
py_is '[i["metadata"]["name"] for i in d["items"]]' "['ssa']" "what deletecollection left"
pass "DELETE: Foreground warning, dry run, precondition, 404, deletecollection"

# ---- a resync empties the ring: the store restarts (a new epoch), the
# gateway's watch resyncs, and a watch from before it gets 410, while the
# gateway goes on serving reads and writes.
api GET $P/configmaps
RV_A=$(py 'd["metadata"]["resourceVersion"]')
api POST $P/configmaps '{"metadata":{"name":"before-restart"}}'
code_is 201 "create before the store restarts"
api GET "$P/configmaps?watch=1&resourceVersion=$RV_A&timeoutSeconds=1"
code_is 200 "watch from RV_A before the restart"
grep -q '"ADDED".*before-restart' "$T/body" || fail "replay before the restart: $(cat "$T/body")"
kill -TERM "$STORE_PID"
wait_for 20 "hs-store to stop" exited "$STORE_PID"
start_store
expired() {
  api GET "$P/configmaps?watch=1&resourceVersion=$RV_A&timeoutSeconds=1" &&
    grep -q '"reason":"Expired"' "$T/body"
}
wait_for 30 "a watch from before the resync to get 410" expired
api POST $P/configmaps '{"metadata":{"name":"after-restart"}}'
code_is 201 "create after the resync"
api GET $P/configmaps/after-restart
code_is 200 "read after the resync"
pass "a store restart (resync) expires older watches; the gateway goes on"

kill -0 "$API_PID" 2>/dev/null || fail "hs-apiserver died"
# A clean stop, so a sanitizer build reports leaks and errors in its log,
# with a watch still open (its on_close frees it as the server goes).
curl -sS -N --max-time 30 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$API_URL$P/configmaps?watch=1" >"$T/open" 2>&1 &
OPEN=$!
HS_PIDS+=("$OPEN")
wait_for 10 "the open watch's first event" grep -q '"ADDED"' "$T/open"
kill -TERM "$API_PID"
wait_for 20 "hs-apiserver to stop" exited "$API_PID"
API_RC=0
wait "$API_PID" 2>/dev/null || API_RC=$?
[ "$API_RC" = 0 ] || fail "hs-apiserver exited $API_RC on SIGTERM"
! grep -q "Sanitizer\|runtime error" "$T/apiserver.log" || fail "sanitizer report in apiserver.log"
wait_for 10 "the open watch to end with the server" exited "$OPEN"
pass "hs-apiserver CRUD"
