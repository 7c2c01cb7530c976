#!/usr/bin/env bash
# hsctl apply / get / describe / delete against a real hs-bus and hs-store:
# the created -> unchanged -> configured cycle, every output format, kind
# aliases, label selectors, namespaces, describe, and the delete variants.
source "$(dirname "$0")/lib.sh"

start_bus
start_store

# run CMD...: stdout+stderr into $T/out, exit code into $RC (never fails the test)
run() { RC=0; "$@" >"$T/out" 2>&1 || RC=$?; }
# same_out "EXPECTED": $T/out is exactly that text
same_out() {
  [ "$(cat "$T/out")" = "$1" ] || fail "expected output:
$1
-- got:
$(cat "$T/out")"
}
# has_line REGEX: some line of $T/out matches the (extended) regex
has_line() { grep -Eq -- "$1" "$T/out" || fail "no line matching /$1/ in:
$(cat "$T/out")"; }
no_line() { ! grep -Eq -- "$1" "$T/out" || fail "unexpected line matching /$1/ in:
$(cat "$T/out")"; }

# ---- an empty namespace
run hsctl get pods
[ $RC -eq 0 ] || fail "get pods on an empty store exited $RC"
same_out "No resources found in default namespace."
run hsctl get nodes
same_out "No resources found"
run hsctl get pods -A
same_out "No resources found"
pass "empty listings"

# ---- created, unchanged, configured
run hsctl apply -f "$HS_SRC/examples/pod-web.yaml"
[ $RC -eq 0 ] || fail "apply exited $RC: $(cat "$T/out")"
same_out "pod/web created"
run hsctl apply -f "$HS_SRC/examples/pod-web.yaml"
same_out "pod/web unchanged"
sed 's/app: web/app: web2/' "$HS_SRC/examples/pod-web.yaml" >"$T/web2.yaml"
run hsctl apply -f "$T/web2.yaml"
same_out "pod/web configured"
run hsctl apply -f "$T/web2.yaml" --dry-run=server
same_out "pod/web unchanged (server dry run)"
cat "$HS_SRC/examples/pod-web.yaml" | hsctl apply -f - >"$T/out" 2>&1
same_out "pod/web configured"
pass "apply: created, unchanged, configured (also from stdin)"

# ---- tables
run hsctl get pods
has_line '^NAME   READY   STATUS    RESTARTS   AGE$'
has_line '^web    0/1     Pending   0          [0-9]+s$'
run hsctl get pods -o wide
has_line '^NAME   READY   STATUS    RESTARTS   AGE   IP       NODE$'
has_line '^web    0/1     Pending   0          [0-9]+s +<none>   <none>$'
run hsctl get pods --show-labels
has_line '^web .* app=web$'
for alias in po pod pods Pod PODS; do
  run hsctl get "$alias" web
  [ $RC -eq 0 ] || fail "get $alias web exited $RC"
  has_line '^web +0/1 +Pending'
done
pass "pod tables and kind aliases"

# ---- the whole examples directory, one command
run hsctl apply -f "$HS_SRC/examples/"
[ $RC -eq 0 ] || fail "apply examples/ exited $RC: $(cat "$T/out")"
has_line '^deployment\.apps/api created$'
has_line '^job\.batch/hello created$'
has_line '^pod/web unchanged$'
has_line '^replicaset\.apps/echo created$'
run hsctl get deploy
has_line '^NAME   READY   UP-TO-DATE   AVAILABLE   AGE$'
has_line '^api    0/3     0            0           [0-9]+s$'
run hsctl get deployments.apps api
has_line '^api +0/3'
run hsctl get rs
has_line '^NAME   DESIRED   CURRENT   READY   AGE$'
has_line '^echo   2         0         0       [0-9]+s$'
run hsctl get job
has_line '^NAME    STATUS    COMPLETIONS   DURATION   AGE$'
has_line '^hello   Running   0/3 +[0-9]+s$'
run hsctl get all
has_line '^pod/web +0/1'
has_line '^replicaset\.apps/echo +2'
has_line '^deployment\.apps/api +0/3'
has_line '^job\.batch/hello +Running +0/3'
run hsctl get pod/web deploy/api
has_line '^pod/web +0/1'
has_line '^deployment\.apps/api +0/3'
pass "workload tables"

# ---- -o yaml / json / name
hsctl get pod web -o yaml >"$T/web.yaml"
head -2 "$T/web.yaml" | grep -qx 'apiVersion: v1' || fail "-o yaml does not start with apiVersion"
grep -qx 'kind: Pod' "$T/web.yaml" || fail "-o yaml has no kind: Pod"
run hsctl apply -f "$T/web.yaml"
same_out "pod/web unchanged"
hsctl get pods -o json >"$T/pods.json"
python3 -m json.tool "$T/pods.json" >/dev/null || fail "-o json is not JSON: $(cat "$T/pods.json")"
python3 - "$T/pods.json" <<'PY' || fail "-o json list is not a kind: List with pod web"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "List" and d["apiVersion"] == "v1", d
assert [i["metadata"]["name"] for i in d["items"]] == ["web"], d
assert d["items"][0]["kind"] == "Pod"
PY
hsctl get deploy api -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["kind"]=="Deployment" and d["metadata"]["name"]=="api", d' \
  || fail "-o json of one deployment"
run hsctl get pods -o name
same_out "pod/web"
run hsctl get deploy,job -o name
same_out "deployment.apps/api
job.batch/hello"
pass "-o yaml re-applies unchanged, -o json parses, -o name"

# ---- label selectors
cat >"$T/labelled.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: p1
  labels: {app: a, tier: front}
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p2
  labels: {app: b}
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: p3
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
YAML
run hsctl apply -f "$T/labelled.yaml"
same_out "pod/p1 created
pod/p2 created
pod/p3 created"
sel() { hsctl get pods -o name -l "$1" 2>&1 | tr '\n' ' '; }
[ "$(sel app=a)" = "pod/p1 " ] || fail "-l app=a gave: $(sel app=a)"
[ "$(sel app==a)" = "pod/p1 " ] || fail "-l app==a gave: $(sel app==a)"
[ "$(sel 'app!=a')" = "pod/p2 pod/p3 pod/web " ] || fail "-l app!=a gave: $(sel 'app!=a')"
[ "$(sel app)" = "pod/p1 pod/p2 pod/web " ] || fail "-l app gave: $(sel app)"
[ "$(sel '!app')" = "pod/p3 " ] || fail "-l !app gave: $(sel '!app')"
[ "$(sel 'app in (a,b)')" = "pod/p1 pod/p2 " ] || fail "-l 'app in (a,b)' gave: $(sel 'app in (a,b)')"
[ "$(sel 'app notin (a,web)')" = "pod/p2 pod/p3 " ] || fail "-l notin gave: $(sel 'app notin (a,web)')"
[ "$(sel 'app=a,tier=front')" = "pod/p1 " ] || fail "-l app=a,tier=front gave: $(sel 'app=a,tier=front')"
[ "$(sel 'app=a,tier=back')" = "No resources found in default namespace. " ] || fail "-l app=a,tier=back gave: $(sel 'app=a,tier=back')"
pass "label selectors"

# ---- namespaces
run hsctl apply -n other -f "$T/labelled.yaml"
has_line '^pod/p1 created$'
run hsctl get pods -n other -o name
same_out "pod/p1
pod/p2
pod/p3"
run hsctl get pods -A
has_line '^NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE$'
has_line '^default     web    0/1     Pending   0 +[0-9]+s$'
has_line '^other       p1     0/1     Pending'
run hsctl get pods -n nowhere
same_out "No resources found in nowhere namespace."
sed 's/^  name: web$/  name: web\n  namespace: other/' "$HS_SRC/examples/pod-web.yaml" >"$T/web-other.yaml"
run hsctl apply -n default -f "$T/web-other.yaml"
[ $RC -eq 1 ] || fail "namespace mismatch exited $RC"
same_out "error: the namespace from the provided object \"other\" does not match the namespace \"default\". You must pass '--namespace=other' to perform this operation."
pass "-n and -A"

# ---- describe
run hsctl describe pod web
[ $RC -eq 0 ] || fail "describe pod web exited $RC: $(cat "$T/out")"
has_line '^Name: +web$'
has_line '^Namespace: +default$'
has_line '^Labels: +app=web$'
has_line '^Status: +Pending$'
has_line '^Containers:$'
has_line '^  web:$'
has_line '^      python3$'
has_line '^    Readiness: +http-get http://:8080/ delay=1s timeout=1s period=2s #success=1 #failure=3$'
has_line '^      cpu: +500m$'
has_line '^QoS Class: +Burstable$'
has_line '^Events: +<none>$'
run hsctl describe deploy api
has_line '^Replicas: +3 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$'
has_line '^StrategyType: +RollingUpdate$'
has_line '^Pod Template:$'
has_line '^NewReplicaSet: +<none>$'
run hsctl describe rs echo
has_line '^Replicas: +0 current / 2 desired$'
has_line '^Pods Status: +0 Running / 0 Waiting / 0 Succeeded / 0 Failed$'
run hsctl describe job hello
has_line '^Completions: +3$'
has_line '^Pods Statuses: +0 Active \(0 Ready\) / 0 Succeeded / 0 Failed$'
run hsctl describe pods -l app=a
has_line '^Name: +p1$'
no_line '^Name: +p2$'
pass "describe"

# ---- delete
run hsctl delete pod p1
[ $RC -eq 0 ] || fail "delete pod p1 exited $RC: $(cat "$T/out")"
same_out 'pod "p1" deleted'
wait_for 10 "p1 to be gone" sh -c '! hsctl get pod p1'
run hsctl get pod p1
same_out 'Error from server (NotFound): pods "p1" not found'
run hsctl delete pods -l app=b
same_out 'pod "p2" deleted'
run hsctl delete pods -l app=nothing
same_out 'No resources found'
run hsctl delete -f "$HS_SRC/examples/deployment.yaml"
same_out 'deployment.apps "api" deleted'
run hsctl delete deploy api --ignore-not-found
[ $RC -eq 0 ] || fail "--ignore-not-found exited $RC"
same_out ''
run hsctl delete pods --all -n other --now
same_out 'pod "p1" deleted
pod "p2" deleted
pod "p3" deleted'
run hsctl delete pod/p3 --force
has_line '^Warning: Immediate deletion does not wait'
has_line '^pod "p3" force deleted$'
wait_for 10 "namespace other to be empty" sh -c 'hsctl get pods -n other 2>&1 | grep -qx "No resources found in other namespace."'
run hsctl get pods -o name
same_out "pod/web"
pass "delete by name, selector, file, --all, --force, --ignore-not-found"

# ---- live components, from their heartbeats
run hsctl get components
[ $RC -eq 0 ] || fail "get components exited $RC: $(cat "$T/out")"
has_line '^NAME +INSTANCE +HOST +AGE +REVISION +LAG +OWNED$'
has_line '^hs-store +[a-z0-9]+ .* 0 +[0-9]+ objects$'
pass "get components"
