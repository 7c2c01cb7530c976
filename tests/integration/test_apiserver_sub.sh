#!/usr/bin/env bash
# hs-apiserver's subresources and synthesized Namespaces (api_sub.c), over
# HTTPS with curl as the admin of `hsctl init`: /scale GET, PUT (no
# Content-Type, 409 on a stale resourceVersion), PATCH (merge, strategic,
# JSON patch, 422); /status GET and PATCH; pods/log on real pods of a real
# agent (tailLines, timestamps, sinceSeconds, limitBytes, follow until the
# container ends, a follow the client drops, the errors); pods/eviction
# (201, then the pod is gone; 404; a static pod's mirror 403); pods/exec's
# refusal; namespaces (list, Table, get, 404, watch, create with a Warning,
# 409, delete 405); then, when kubectl is installed, what kubectl prints
# for scale, logs, exec and drain. Pods run as root (label system).
source "$(dirname "$0")/lib.sh"

start_bus
start_store
# A static pod: its mirror in the store may not be evicted (403).
mkdir -p "$T/manifests"
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: stat\nspec:\n  containers:\n  - name: main\n    command: ["/bin/sleep", "3600"]\n' \
  >"$T/manifests/stat.yaml"
start_agent n1 --manifests "$T/manifests"

API_PORT=$(free_port_pair)
API_URL="https://127.0.0.1:$API_PORT"
start apiserver "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --pki "$HS_PKI" \
  --listen "127.0.0.1:$API_PORT"
API_PID=$LAST_PID
TOKEN=$(sed -n 's/^ *token: *//p' "$HS_PKI/kubeconfig" | head -1)
[ -n "$TOKEN" ] || fail "no token in $HS_PKI/kubeconfig"

# api METHOD PATH [BODY [CONTENT-TYPE [ACCEPT]]]: the answer's body in
# $T/body, headers in $T/hdr, status code in $CODE. CONTENT-TYPE "none":
# no Content-Type header at all (kubectl's PUT …/scale).
api() {
  local m=$1 p=$2 body=${3-} ct=${4:-application/json} acc=${5:-application/json}
  local args=(-sS --max-time 20 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN"
    -H "Accept: $acc" -X "$m" -o "$T/body" -D "$T/hdr" -w '%{http_code}')
  if [ -n "$body" ]; then
    [ "$ct" = none ] && args+=(-H "Content-Type:") || args+=(-H "Content-Type: $ct")
    args+=(--data-binary "$body")
  fi
  CODE=$(curl "${args[@]}" "$API_URL$p") || CODE=000
}
code_is() {
  [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $(head -c 600 "$T/body")"
}
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); print(($1))"; }
py_is() {
  local got
  got=$(py "$1") || fail "$3: the body is not JSON: $(head -c 300 "$T/body")"
  [ "$got" = "$2" ] || fail "$3: $1 is '$got', expected '$2'; body: $(head -c 600 "$T/body")"
}
body_is() {
  [ "$(cat "$T/body")" = "$1" ] || fail "$2: body:
$(head -c 600 "$T/body")
-- expected:
$1"
}
hdr_has() { grep -qiF -- "$1" "$T/hdr" || fail "$2: no header '$1' in: $(cat "$T/hdr")"; }
listed() { api GET /api/v1/namespaces/default/pods && [ "$CODE" = 200 ]; }
wait_for 20 "hs-apiserver to list pods" listed
P=/api/v1/namespaces/default
D=/apis/apps/v1/namespaces/default

# pod NAME POLICY 'SHELL COMMAND' [NODE [NS]]: one container "main"
pod() {
  local script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$3")
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: ${5-default}
spec:
  nodeName: ${4-n1}
  restartPolicy: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
EOF
  [ -n "${4-n1}" ] || sed -i '/nodeName/d' "$T/$1.yaml"
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
phase_is() {
  local got
  got=$(hsctl get pod "$1" -o json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin)['status']['phase'])" 2>/dev/null)
  [ "$got" = "$2" ]
}

# ---------------------------------------------------------------- scale
cat >"$T/web.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: wd
  template:
    metadata:
      labels:
        app: wd
    spec:
      containers:
      - name: main
        command: ["/bin/sleep", "3600"]
EOF
hsctl apply -f "$T/web.yaml" >/dev/null || fail "apply deployment web"
has_web() { api GET $D/deployments/web && [ "$CODE" = 200 ]; }
wait_for 10 "the gateway to see deployment web" has_web

api GET $D/deployments/web/scale
code_is 200 "GET scale"
py_is 'd["kind"], d["apiVersion"], d["metadata"]["name"], d["spec"]["replicas"]' \
  "('Scale', 'autoscaling/v1', 'web', 1)" "the Scale"
py_is 'd["status"]["selector"], type(d["metadata"]["resourceVersion"]).__name__' \
  "('app=wd', 'str')" "Scale's selector and resourceVersion"
SCALE=$(cat "$T/body")
RV=$(py 'd["metadata"]["resourceVersion"]')

BODY=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); d['spec']['replicas']=2; print(json.dumps(d))" "$SCALE")
api PUT $D/deployments/web/scale "$BODY" none
code_is 200 "PUT scale without a Content-Type, with the current resourceVersion"
py_is 'd["spec"]["replicas"], d["metadata"]["resourceVersion"] != "'"$RV"'"' "(2, True)" "PUT scale"
api GET $D/deployments/web
py_is 'd["spec"]["replicas"]' 2 "the deployment after PUT scale"
api PUT $D/deployments/web/scale '{"spec":{"replicas":5}}' none
code_is 400 "PUT scale without a name"
BODY=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); d['spec']['replicas']=5; print(json.dumps(d))" "$SCALE")
api PUT $D/deployments/web/scale "$BODY" none
code_is 409 "PUT scale with a stale resourceVersion"
py_is 'd["reason"], d["message"].startswith("Operation cannot be fulfilled on deployments.apps \"web\"")' \
  "('Conflict', True)" "stale PUT"
pass "scale: GET, PUT without Content-Type, 409 on a stale resourceVersion"

api PATCH $D/deployments/web/scale '{"spec":{"replicas":3}}' application/merge-patch+json
code_is 200 "merge PATCH scale"
py_is 'd["spec"]["replicas"]' 3 "merge PATCH scale"
api PATCH $D/deployments/web/scale '{"spec":{"replicas":4}}' application/strategic-merge-patch+json
code_is 200 "strategic PATCH scale"
py_is 'd["spec"]["replicas"]' 4 "strategic PATCH scale"
api PATCH $D/deployments/web/scale '[{"op":"replace","path":"/spec/replicas","value":0}]' \
  application/json-patch+json
code_is 200 "JSON PATCH scale"
py_is 'd["spec"]["replicas"]' 0 "JSON PATCH scale to 0"
out=$(hsctl get deployment web -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['spec']['replicas'])")
[ "$out" = 0 ] || fail "hsctl sees replicas $out after the JSON patch, expected 0"
api PATCH $D/deployments/web/scale '{"spec":{"replicas":-1}}' application/merge-patch+json
code_is 422 "negative replicas"
py_is 'd["reason"]' Invalid "negative replicas"
api PATCH $D/deployments/web/scale '{"spec":{"replicas":1}}' text/plain
code_is 415 "PATCH with an unknown Content-Type"
api GET $D/deployments/nope/scale
code_is 404 "scale of a missing deployment"
py_is 'd["message"]' 'deployments.apps "nope" not found' "NotFound text"
api GET $P/pods/nope/scale
code_is 404 "pods have no scale"
pass "scale: merge, strategic and JSON patches, 422, 415, 404"

# ---------------------------------------------------------------- status
api GET $D/deployments/web/status
code_is 200 "GET status"
py_is 'd["kind"], d["metadata"]["name"]' "('Deployment', 'web')" "GET status is the object"
api PATCH $D/deployments/web/status '{"status":{"observedGeneration":42}}' \
  application/merge-patch+json
code_is 200 "merge PATCH status"
py_is 'd["status"]["observedGeneration"]' 42 "PATCH status"
api GET /api/v1/namespaces/default/configmaps/x/status
code_is 404 "configmaps have no status"
pass "status: GET, PATCH -> OP_UPDATE_STATUS"

# ---------------------------------------------------------------- logs
pod hello Never 'echo out-one; sleep 0.2; echo err-one >&2; sleep 0.2; echo out-two'
pod talker Always 'i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done'
pod pending Never 'true' ""
wait_for 30 "hello Succeeded" phase_is hello Succeeded
# The agent may say Succeeded a moment before the shim has written the
# last record: wait for the whole log, then check it.
whole() { api GET $P/pods/hello/log && [ "$CODE" = 200 ] && [ "$(wc -l <"$T/body")" -ge 3 ]; }
wait_for 10 "hello's whole log" whole
body_is "out-one
err-one
out-two" "the whole log"
hdr_has 'Content-Type: text/plain' "log Content-Type"
api GET "$P/pods/hello/log?container=main&tailLines=1"
code_is 200 "tailLines=1"
body_is "out-two" "tailLines=1"
api GET "$P/pods/hello/log?timestamps=true"
code_is 200 "timestamps"
ok=$(python3 -c '
import re,sys
lines=open(sys.argv[1]).read().splitlines()
rx=re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (.*)$")
print(len(lines)==3 and all(rx.match(l) for l in lines) and [rx.match(l).group(3) for l in lines]==["out-one","err-one","out-two"])' "$T/body")
[ "$ok" = True ] || fail "timestamps=true: $(cat "$T/body")"
api GET "$P/pods/hello/log?limitBytes=5"
code_is 200 "limitBytes"
body_is "out-o" "limitBytes=5"
# further back than the epoch: everything (was a signed overflow)
api GET "$P/pods/hello/log?sinceSeconds=99999999999999&limitBytes=12"
code_is 200 "a huge sinceSeconds"
body_is "out-one
err-" "a huge sinceSeconds with limitBytes (counted by the gateway)"
api GET "$P/pods/hello/log?sinceTime=2020-01-01T00:00:00Z&tailLines=1"
code_is 200 "sinceTime"
body_is "out-two" "sinceTime with tailLines"
pass "logs: whole, tailLines, timestamps (RFC 3339 + space), limitBytes"

wait_for 30 "talker Running" phase_is talker Running
talked() { api GET "$P/pods/talker/log" && [ "$(wc -l <"$T/body")" -ge 12 ]; }
wait_for 20 "talker to write 12 lines" talked
api GET "$P/pods/talker/log?sinceSeconds=1"
code_is 200 "sinceSeconds"
n=$(wc -l <"$T/body")
{ [ "$n" -ge 1 ] && [ "$n" -le 8 ]; } || fail "sinceSeconds=1 gave $n lines: $(cat "$T/body")"
grep -qv '^line-[0-9]*$' "$T/body" && fail "sinceSeconds left timestamps: $(cat "$T/body")"
api GET "$P/pods/talker/log?sinceSeconds=1&timestamps=true"
code_is 200 "sinceSeconds with timestamps"
grep -q '^[0-9-]*T[0-9:.]*Z line-' "$T/body" || fail "sinceSeconds+timestamps: $(cat "$T/body")"
pass "logs: sinceSeconds ($n lines of the last second)"

# follow until the client drops it: more lines arrive while it is open
curl -sS -N --max-time 3 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$API_URL$P/pods/talker/log?follow=true&tailLines=1" >"$T/follow" 2>"$T/follow.err" || true
n=$(wc -l <"$T/follow")
[ "$n" -ge 8 ] || fail "follow for 3 s gave $n lines: $(cat "$T/follow") $(cat "$T/follow.err")"
# follow until the container ends: curl ends by itself
pod shorty Never 'sleep 2; echo first; sleep 1; echo last'
wait_for 30 "shorty Running" phase_is shorty Running
RC=0
curl -sS -N --max-time 20 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$API_URL$P/pods/shorty/log?follow=True" >"$T/follow2" 2>"$T/follow2.err" || RC=$?
[ "$RC" = 0 ] || fail "follow of shorty: curl rc $RC: $(cat "$T/follow2.err")"
[ "$(cat "$T/follow2")" = "first
last" ] || fail "follow of shorty: $(cat "$T/follow2")"
pass "logs: follow streams while open ($n lines in 3 s) and ends with the container"

# A user's log subscription outlives neither its bus connection nor its
# token (the reviewer's use-after-free): a user joins, the bus stops, the
# user follows a log (its subscription's join pings start) and leaves, its
# token is deleted, its next request frees the connection; the pings must
# not touch it (ASan in build-asan), and logs still work once the bus is back.
LOGGER=$("$HS_BIN/hsctl" token create --user admin:logger --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$LOGGER" ] || fail "no logger token"
as_logger() { local t=$TOKEN; TOKEN=$LOGGER; api "$@"; TOKEN=$t; }
logger_writes() { as_logger POST "$P/configmaps" '{"metadata":{"name":"by-logger"}}' &&
  { [ "$CODE" = 201 ] || [ "$CODE" = 409 ]; }; }
wait_for 20 "the logger to write (its connection joined)" logger_writes
kill -STOP "$BUS_PID"
hs_on_exit "kill -CONT $BUS_PID 2>/dev/null"
t0=$(date +%s)
curl -sS -N --max-time 2 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $LOGGER" \
  "$API_URL$P/pods/talker/log?follow=true" >/dev/null 2>&1 || true
"$HS_BIN/hsctl" token delete "${LOGGER%%.*}" --pki "$HS_PKI" >/dev/null 2>&1 ||
  fail "hsctl token delete (logger)"
logger_out() { as_logger GET "$P/configmaps" && [ "$CODE" = 401 ]; }
wait_for 10 "the deleted logger token to get 401" logger_out
healthz() { CODE=$(curl -sS --max-time 2 --cacert "$HS_PKI/api/ca.crt" -o /dev/null \
  -w '%{http_code}' "$API_URL/healthz") && [ "$CODE" = 200 ]; }
# the subscription's pings went on for 3 s after the follow began: outlast them
outlast() {
  kill -0 "$API_PID" 2>/dev/null || fail "hs-apiserver died after the logger's connection was freed"
  healthz || fail "healthz after the logger's connection was freed: HTTP $CODE"
  [ "$(date +%s)" -ge "$until" ]
}
until=$((t0 + 5))
wait_for 10 "5 s after the follow, hs-apiserver still healthy" outlast
kill -CONT "$BUS_PID"
logs_back() { api GET "$P/pods/talker/log?tailLines=1" && [ "$CODE" = 200 ]; }
wait_for 20 "logs once the bus is back" logs_back
pass "a log subscription dies with its user's connection (follow, bus stopped, token deleted)"

api GET "$P/pods/hello/log?container=nope"
code_is 400 "unknown container"
py_is 'd["reason"], d["message"]' "('BadRequest', 'container nope is not valid for pod hello')" \
  "unknown container"
api GET "$P/pods/ghost/log"
code_is 404 "log of a missing pod"
py_is 'd["message"]' 'pods "ghost" not found' "missing pod"
api GET "$P/pods/pending/log"
code_is 400 "log of an unscheduled pod"
py_is 'd["message"].startswith("container \"main\" in pod \"pending\" is waiting to start")' True \
  "unscheduled pod"
api GET "$P/pods/hello/log?tailLines=x"
code_is 400 "tailLines not a number"
pass "logs: kubectl's errors (container, pod, waiting, bad query)"

# ---------------------------------------------------------------- eviction
EV='{"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"talker","namespace":"default","creationTimestamp":null},"deleteOptions":{"gracePeriodSeconds":0}}'
api POST $P/pods/talker/eviction "$EV"
code_is 201 "evict talker"
py_is 'd["kind"], d["status"]' "('Status', 'Success')" "eviction's Status"
gone() { api GET $P/pods/talker && [ "$CODE" = 404 ]; }
wait_for 20 "talker to be gone" gone
api POST $P/pods/talker/eviction "$EV"
code_is 404 "evict a missing pod"
api POST $P/pods/hello/eviction '{"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"other"}}'
code_is 400 "eviction naming another pod"
api GET $P/pods/hello/eviction
code_is 405 "GET eviction"
mirrored() { api GET $P/pods/stat-n1 && [ "$CODE" = 200 ]; }
wait_for 20 "the static pod's mirror" mirrored
api POST $P/pods/stat-n1/eviction '{"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"stat-n1"}}'
code_is 403 "evict a mirror pod"
py_is 'd["reason"], "static pod" in d["message"]' "('Forbidden', True)" "the store's refusal"
pass "eviction: 201 then gone, 404, 400, 405, mirror pod 403"

api POST "$P/pods/hello/exec?command=echo&command=hi&stdout=true" ""
code_is 405 "exec"
py_is '"hsctl exec hello" in d["message"]' True "exec's message"
pass "exec: a clean refusal"

# ---------------------------------------------------------------- namespaces
pod other Never 'true' n1 team
api GET /api/v1/namespaces
code_is 200 "list namespaces"
py_is 'd["kind"], sorted(i["metadata"]["name"] for i in d["items"])' \
  "('NamespaceList', ['default', 'kube-system', 'team'])" "namespaces in use"
py_is 'd["items"][0]["status"]["phase"]' Active "Active"
api GET /api/v1/namespaces "" "" 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
code_is 200 "namespaces as a Table"
py_is 'd["kind"], len(d["rows"])' "('Table', 3)" "Table of namespaces"
api GET "/api/v1/namespaces?fieldSelector=metadata.name%3Dteam"
py_is '[i["metadata"]["name"] for i in d["items"]]' "['team']" "fieldSelector metadata.name"
api GET "/api/v1/namespaces?labelSelector=kubernetes.io%2Fmetadata.name%21%3Ddefault"
py_is '[i["metadata"]["name"] for i in d["items"]]' "['kube-system', 'team']" "labelSelector"
api GET /api/v1/namespaces/team
code_is 200 "get namespace team"
py_is 'd["kind"], d["metadata"]["name"]' "('Namespace', 'team')" "namespace team"
api GET /api/v1/namespaces/kube-system
code_is 200 "kube-system always exists"
api GET /api/v1/namespaces/nope
code_is 404 "a namespace nothing uses"
py_is 'd["message"]' 'namespaces "nope" not found' "namespace NotFound"
api GET "/api/v1/namespaces?watch=true&timeoutSeconds=1"
code_is 200 "watch namespaces"
n=$(grep -c '"type":"ADDED"' "$T/body")
[ "$n" = 3 ] || fail "watch of namespaces: $n ADDED: $(cat "$T/body")"
# a live watch: a namespace appears with its first object, goes with its last
curl -sS -N --max-time 20 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$API_URL/api/v1/namespaces?watch=true&timeoutSeconds=15&fieldSelector=metadata.name%3Dlate" \
  >"$T/nswatch" 2>&1 &
NSW=$!
HS_PIDS+=("$NSW")
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: late\ndata:\n  k: v\n' \
  >"$T/late.yaml"
# (the watch must be in place first: keep applying until it reports)
added() { grep -q '"type":"ADDED".*"name":"late"' "$T/nswatch"; }
late_once() { hsctl apply -f "$T/late.yaml" >/dev/null && added; }
wait_for 10 "the namespace watch's ADDED for late" late_once
hsctl delete configmap c -n late >/dev/null || fail "delete configmap c -n late"
deleted() { grep -q '"type":"DELETED".*"name":"late"' "$T/nswatch"; }
wait_for 10 "the namespace watch's DELETED for late" deleted
grep -q '"name":"team"' "$T/nswatch" && fail "the watch's fieldSelector let team through: $(cat "$T/nswatch")"
kill "$NSW" 2>/dev/null || true
# The cache counts objects per namespace: a namespace with two objects is
# ADDED once and stays while one is left; a marker namespace's ADDED,
# written after the first delete, proves no DELETED came before it.
curl -sS -N --max-time 30 --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$API_URL/api/v1/namespaces?watch=true&timeoutSeconds=25" >"$T/nswatch2" 2>&1 &
NSW2=$!
HS_PIDS+=("$NSW2")
cm_in() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n' "$1" "$2"; }
{ cm_in a pair; echo ---; cm_in b pair; } >"$T/pair.yaml"
pair_added() { hsctl apply -f "$T/pair.yaml" >/dev/null && grep -q '"type":"ADDED".*"name":"pair"' "$T/nswatch2"; }
wait_for 10 "the namespace watch's ADDED for pair" pair_added
hsctl delete configmap a -n pair >/dev/null || fail "delete configmap a -n pair"
cm_in m marker >"$T/marker.yaml"
hsctl apply -f "$T/marker.yaml" >/dev/null || fail "apply the marker"
marker() { grep -q '"type":"ADDED".*"name":"marker"' "$T/nswatch2"; }
wait_for 10 "the namespace watch's ADDED for marker" marker
hsctl delete configmap b -n pair >/dev/null || fail "delete configmap b -n pair"
pair_deleted() { grep -q '"type":"DELETED".*"name":"pair"' "$T/nswatch2"; }
wait_for 10 "the namespace watch's DELETED for pair" pair_deleted
python3 - "$T/nswatch2" <<'PY' || fail "namespace watch with counts: $(cat "$T/nswatch2")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
seq = [(e["type"], e["object"]["metadata"]["name"]) for e in ev
       if e["object"]["metadata"]["name"] in ("pair", "marker")]
assert seq == [("ADDED", "pair"), ("ADDED", "marker"), ("DELETED", "pair")], seq
PY
kill "$NSW2" 2>/dev/null || true
hsctl delete configmap m -n marker >/dev/null || fail "delete the marker"
api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"fresh"}}'
code_is 201 "create namespace"
hdr_has 'Warning: 299' "create namespace's Warning"
py_is 'd["metadata"]["name"]' fresh "created namespace"
api POST /api/v1/namespaces '{"metadata":{"name":"team"}}'
code_is 409 "create a namespace in use"
py_is 'd["reason"]' AlreadyExists "namespace in use"
api POST /api/v1/namespaces '{"metadata":{"name":"Bad_Name"}}'
code_is 422 "invalid namespace name"
api POST /api/v1/namespaces 'k8s-protobuf-bytes' application/vnd.kubernetes.protobuf
code_is 415 "protobuf namespace"
api DELETE /api/v1/namespaces/team
code_is 405 "delete namespace"
py_is 'd["reason"]' MethodNotAllowed "delete namespace"
pass "namespaces: list, Table, selectors, get, 404, watch (live ADDED/DELETED), create (Warning, 409, 422, 415), delete 405"

# ---------------------------------------------------------------- a read-only user
TAP=$("$HS_BIN/hsctl" token create --user tap:bob --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$TAP" ] || fail "no tap token"
ADMIN_TOKEN=$TOKEN
TOKEN=$TAP
tapped() { api GET $D/deployments/web/scale && [ "$CODE" = 200 ]; }
wait_for 20 "the tap token to read a Scale" tapped
api PATCH $D/deployments/web/scale '{"spec":{"replicas":2}}' application/merge-patch+json
code_is 403 "tap scales"
py_is 'd["message"]' 'deployments "web" is forbidden: User "tap:bob" cannot patch resource "deployments/scale" in API group "apps" in the namespace "default"' "tap's 403"
api GET $P/pods/hello/log
code_is 403 "tap reads a log (hs-bus lets role tap publish no log request)"
api POST $P/pods/hello/eviction '{"kind":"Eviction","apiVersion":"policy/v1"}'
code_is 403 "tap evicts"
api GET /api/v1/namespaces
code_is 200 "tap lists namespaces"
TOKEN=$ADMIN_TOKEN
pass "a tap user reads Scales and namespaces, and gets 403 for writes and logs at once"

# ---------------------------------------------------------------- kubectl
command -v kubectl >/dev/null || { echo "SKIP: no kubectl: its part not run"; exit 0; }
K=(kubectl --kubeconfig "$HS_PKI/kubeconfig" --server "$API_URL" --cache-dir "$T/kcache")
kc() { RC=0; "${K[@]}" "$@" >"$T/out" 2>"$T/err" || RC=$?; }
kc_ok() { kc "$@"; [ "$RC" = 0 ] || fail "kubectl $*: rc $RC: $(cat "$T/err")"; }
kc scale deploy web --replicas=3
[ "$RC" = 0 ] || fail "kubectl scale: $(cat "$T/err")"
kc_ok get deploy web -o jsonpath='{.spec.replicas}'
[ "$(cat "$T/out")" = 3 ] || fail "kubectl scale: replicas $(cat "$T/out")"
kc scale deploy web --replicas=1 --current-replicas=7
[ "$RC" != 0 ] || fail "kubectl scale with a wrong --current-replicas succeeded"
grep -qF 'Expected replicas to be 7, was 3' "$T/err" || fail "kubectl scale --current-replicas: $(cat "$T/err")"
pod chatty Always 'i=0; while true; do echo talk-$i; i=$((i+1)); sleep 0.2; done'
wait_for 30 "chatty Running" phase_is chatty Running
chatted() { kc logs chatty --tail=2 && [ "$(wc -l <"$T/out")" = 2 ]; }
wait_for 10 "kubectl logs --tail=2" chatted
grep -qv '^talk-[0-9]*$' "$T/out" && fail "kubectl logs --tail=2: $(cat "$T/out")"
kc exec chatty -- echo hi
[ "$RC" != 0 ] || fail "kubectl exec succeeded?"
grep -qF 'hsctl exec chatty -- COMMAND' "$T/err" || fail "kubectl exec's error: $(cat "$T/err")"
kc_ok drain n1 --ignore-daemonsets --force --timeout=30s
grep -qF 'pod/chatty evicted' "$T/out" || fail "kubectl drain: $(cat "$T/out") $(cat "$T/err")"
kc_ok get pods -o name
grep -qF 'pod/stat-n1' "$T/out" || fail "drain removed the mirror pod: $(cat "$T/out")"
grep -qF 'pod/chatty' "$T/out" && fail "drain left chatty: $(cat "$T/out")"
pass "kubectl: scale (--current-replicas), logs --tail, exec's error, drain (evictions, mirror kept)"

kill -TERM "$API_PID"
wait_for 10 "hs-apiserver to stop on SIGTERM" exited "$API_PID"
# (build-asan: a use-after-free, as the log subscription's was, or a leak)
grep -q "ERROR\|AddressSanitizer\|runtime error" "$T/apiserver.log" &&
  fail "hs-apiserver logged: $(grep "ERROR\|AddressSanitizer\|runtime error" "$T/apiserver.log" | head -5)"
pass "hs-apiserver stops cleanly (no sanitizer report)"
