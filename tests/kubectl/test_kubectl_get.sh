#!/usr/bin/env bash
# The real kubectl against hs-apiserver (issue 17), part 1: what a user reads.
# version and api-resources; apply -f examples/ twice ("unchanged" the
# second time for every object); get with -o wide, -A, --show-labels, -l,
# --field-selector, -o yaml, -o jsonpath, -o name and --sort-by; get ns;
# describe pod and deploy with their Events; get events and events --for;
# label and annotate; diff (no diff, nothing written; then a diff that is
# not applied); create of an existing object (AlreadyExists); the 404 and
# 422 wordings; a tap: user's kubeconfig that can get but is Forbidden to
# create; `create deployment` (protobuf body) answered 415 with the JSON
# route. Each step compares the lines kubectl prints.
source "$(dirname "$0")/klib.sh"
start_kube_set

# row_is 'WORDS': a stdout line, its runs of blanks squeezed, is exactly WORDS.
row_is() {
  tr -s ' ' <"$T/out" | sed 's/ $//' | grep -qxF -- "$1" || fail "no line '$1'
$(show)"
}

# ---- version, api-resources
ok k version
out_has "^Client Version: v1\\.$KMINOR\\.[0-9]+(-dispatcher)?\$"
out_is "$(grep '^Client Version' "$T/out")
$(grep '^Kustomize Version' "$T/out")
Server Version: v1.32.0-homeostat"
pass "version: Client v1.$KMINOR (for minor 32 the dispatcher runs its built-in 1.32.4), Server Version v1.32.0-homeostat"

ok k api-resources
header_is "NAME SHORTNAMES APIVERSION NAMESPACED KIND"
for r in "configmaps cm v1 true ConfigMap" "endpoints ep v1 true Endpoints" \
  "events ev v1 true Event" "namespaces ns v1 false Namespace" "nodes no v1 false Node" \
  "pods po v1 true Pod" "secrets v1 true Secret" "services svc v1 true Service" \
  "deployments deploy apps/v1 true Deployment" "replicasets rs apps/v1 true ReplicaSet" \
  "jobs batch/v1 true Job"; do
  row_is "$r"
done
pass "api-resources: every kind with its short names"

ok k get nodes -o wide
header_is "NAME STATUS ROLES AGE VERSION INTERNAL-IP OS-IMAGE KERNEL-VERSION"
cell_is '^demo ' 2 Ready
cell_is '^demo2 ' 2 Ready
[ "$(wc -l <"$T/out")" -eq 3 ] || fail "two nodes expected
$(show)"
ok k get nodes
header_is "NAME STATUS ROLES AGE VERSION"
ok k get ns
header_is "NAME STATUS AGE"
cell_is '^default ' 2 Active
cell_is '^kube-system ' 2 Active
pass "get nodes (-o wide) and get ns: hsctl's columns, not NAME AGE"

# ---- apply twice
ok k apply -f "$EXAMPLES/"
out_is "deployment.apps/api created
job.batch/hello created
pod/web created
replicaset.apps/echo created
service/web created"
[ ! -s "$T/err" ] || fail "apply wrote to stderr
$(show)"
ok k apply -f "$EXAMPLES/"
out_is "deployment.apps/api unchanged
job.batch/hello unchanged
pod/web unchanged
replicaset.apps/echo unchanged
service/web unchanged"
pass "apply -f examples/ twice: created, then unchanged for every object"

wait_for 60 "pod web Running and ready" jp_is "Running True" \
  '{.status.phase} {.status.conditions[?(@.type=="Ready")].status}' pod web
wait_for 60 "deployment api 3/3 available" jp_is 3 '{.status.availableReplicas}' deploy api
wait_for 60 "replicaset echo 2 ready" jp_is 2 '{.status.readyReplicas}' rs echo

# ---- get
ok k get pods
header_is "NAME READY STATUS RESTARTS AGE"
cell_is '^web ' 2 1/1
cell_is '^web ' 3 Running
# RESTARTS is the pod's restartCount (web binds the host's port 8080: a test
# of someone else's holding it for a moment costs it a restart, not this check)
cell_is '^web ' 4 "$(jp '{.status.containerStatuses[0].restartCount}' pod web)"
cell_is '^static-demo2 ' 3 Running
[ "$(grep -cE '^api-[a-z0-9]+-[a-z0-9]+ +1/1 +Running ' "$T/out")" -eq 3 ] || fail "3 api pods
$(show)"
ok k get pods -o wide
case "$(head -1 "$T/out" | tr -s ' ')" in
  "NAME READY STATUS RESTARTS AGE IP NODE"*) ;;
  *) fail "get pods -o wide header
$(show)" ;;
esac
node=$(jp '{.spec.nodeName}' pod web)
# NODE counted from the right: RESTARTS may read "1 (5s ago)"
got=$(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "NODE") back = NF - i }
           /^web / { print $(NF - back); exit }' "$T/out")
[ "$got" = "$node" ] || fail "NODE cell of web is '$got', not $node
$(show)"
pass "get pods (-o wide): READY, STATUS, RESTARTS, NODE cells"

ok k get pods,rs,deploy,jobs -A --show-labels
out_has '^NAMESPACE +NAME +READY +STATUS +RESTARTS +AGE +LABELS$'
out_has '^default +pod/web +1/1 +Running +[0-9]+( \([0-9smhd]+ ago\))? +[0-9]+[smhd][0-9smhd]* +app=web$'
out_has '^default +replicaset\.apps/echo +2 +2 +2 +[0-9smhd]+ +app=echo$'
out_has '^NAMESPACE +NAME +READY +UP-TO-DATE +AVAILABLE +AGE +LABELS$'
out_has '^default +deployment\.apps/api +3/3 +3 +3 +[0-9smhd]+ +app=api$'
out_has '^default +job\.batch/hello '
pass "get pods,rs,deploy,jobs -A --show-labels: NAMESPACE, kind/ prefixes, LABELS"

ok k get pods -l 'app in (web,api)' --field-selector status.phase=Running -o name
[ "$(grep -c . "$T/out")" -eq 4 ] || fail "4 pods expected
$(show)"
out_has '^pod/web$'
[ "$(grep -cE '^pod/api-' "$T/out")" -eq 3 ] || fail "3 api pods expected
$(show)"
ok k get pods -l 'app!=api,app' -o name
echo_pods=$(jp '{range .items[*]}pod/{.metadata.name}{"\n"}{end}' pods -l app=echo)
[ "$(grep -c . <<<"$echo_pods")" -eq 2 ] || fail "2 echo pods: $echo_pods"
out_is "$echo_pods
pod/static-demo2
pod/web"
ok k get pods --field-selector spec.nodeName=demo2 -o wide
[ "$(awk 'NR > 1 && $7 != "demo2"' "$T/out" | wc -l)" -eq 0 ] || fail "a pod not on demo2
$(show)"
out_has '^static-demo2 '
ok k get pods --field-selector metadata.name=nope
err_is "No resources found in default namespace."
pass "get -l (in, !=, exists) and --field-selector (status.phase, spec.nodeName, metadata.name)"

ok k get deploy api -o yaml
out_has '^kind: Deployment$'
out_has '^apiVersion: apps/v1$'
out_has '^    kubectl.kubernetes.io/last-applied-configuration: \|$'
out_has '^  replicas: 3$'
out_has '^  resourceVersion: "[0-9]+"$'
ok k get pod web -o jsonpath='{.status.phase} {.spec.containers[0].readinessProbe.httpGet.port} {.spec.nodeName}'
out_is "Running 8080 $node"
ok k get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
out_is "$(k get pods -o name | sed 's|^pod/||')"
pass "get -o yaml (last-applied, resourceVersion) and -o jsonpath (an int-or-string is a number)"

ok k get pods --sort-by=.metadata.name -o custom-columns=N:.metadata.name --no-headers
out_is "$(k get pods -o name | sed 's|^pod/||' | LC_ALL=C sort)"
ok k get pods --sort-by=.metadata.creationTimestamp
header_is "NAME READY STATUS RESTARTS AGE"
[ "$(awk 'NR == 2 { print $1 }' "$T/out")" = static-demo2 ] ||
  fail "the mirror pod (made before apply) is not first by creationTimestamp
$(show)"
ok k get pods --sort-by='{.metadata.name}' -l app=api
header_is "NAME READY STATUS RESTARTS AGE"
pass "get --sort-by (name, creationTimestamp)"

run k get pod nope
rc_is 1
err_is 'Error from server (NotFound): pods "nope" not found'
run k get deploy nope
rc_is 1
err_is 'Error from server (NotFound): deployments.apps "nope" not found'
pass "get of a missing object: kubectl's NotFound wording"

# ---- describe, events
ok k describe pod web
out_has '^Name: +web$'
out_has '^Namespace: +default$'
out_has "^Node: +$node/"
out_has '^Labels: +app=web$'
out_has '^Status: +Running$'
out_has '^    Ready: +True$'
out_has '^Events:$'
out_has '^  Type +Reason +Age +From +Message$'
out_has "^  Normal +Scheduled +[0-9smhd]+ +default-scheduler(, [^ ]+)? +Successfully assigned default/web to $node$"
ok k describe deploy api
out_has '^Name: +api$'
out_has '^Replicas: +3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$'
out_has '^StrategyType: +RollingUpdate$'
out_has '^NewReplicaSet: +api-[a-z0-9]+ \(3/3 replicas created\)$'
out_has '^  Normal +ScalingReplicaSet +[0-9smhd]+ +hs-replicas(, [^ ]+)? +Scaled up replica set api-[a-z0-9]+ to 3$'
pass "describe pod and deploy: fields and Events"

ok k get events
header_is "LAST SEEN TYPE REASON OBJECT MESSAGE"
out_has "Normal +Scheduled +pod/web +Successfully assigned default/web to $node$"
out_has 'Normal +ScalingReplicaSet +deployment/api +Scaled up replica set api-'
ok k get events --field-selector reason=ScalingReplicaSet
[ "$(awk 'NR > 1 && $3 != "ScalingReplicaSet"' "$T/out" | wc -l)" -eq 0 ] || fail "another reason
$(show)"
out_has 'deployment/api'
ok k events --for pod/web
header_is "LAST SEEN TYPE REASON OBJECT MESSAGE"
out_has "Normal +Scheduled +Pod/web +Successfully assigned default/web to $node$"
out_lacks 'deployment/api|Deployment/api'
ok k events --for deploy/api
out_has 'Normal +ScalingReplicaSet +Deployment/api +Scaled up replica set api-'
out_lacks 'Pod/web'
pass "get events (--field-selector) and events --for"

# ---- label, annotate
ok k label pod web tier=fe
out_is "pod/web labeled"
ok k get pods -l tier=fe -o name
out_is "pod/web"
run k label pod web tier=be
rc_is 1
err_is "error: 'tier' already has a value (fe), and --overwrite is false"
ok k label pod web tier=be --overwrite
out_is "pod/web labeled"
ok k label pod web tier-
out_is "pod/web unlabeled"
ok k get pod web --show-labels --no-headers
out_has ' app=web$'
ok k annotate deploy api note=x
out_is "deployment.apps/api annotated"
ok k get deploy api -o jsonpath='{.metadata.annotations.note}'
out_is x
pass "label (add, --overwrite, remove) and annotate"

# ---- diff: none for what is applied; a change shown but not written
gen=$(jp '{.metadata.generation}' deploy api)
ok k diff -f "$EXAMPLES/deployment.yaml"
out_is ""
sed 's/replicas: 3/replicas: 5/' "$EXAMPLES/deployment.yaml" >"$T/deploy5.yaml"
run k diff -f "$T/deploy5.yaml"
rc_is 1
out_has '^-  replicas: 3$'
out_has '^\+  replicas: 5$'
# the generation, not the resourceVersion: hs-replicas may write the
# deployment's status meanwhile, but a spec write bumps the generation
[ "$(jp '{.metadata.generation} {.spec.replicas}' deploy api)" = "$gen 3" ] ||
  fail "diff wrote to the deployment"
pass "diff: exit 0 and nothing for the applied manifest; a change shown, nothing written (dryRun)"

# ---- errors a user meets
run k create -f "$EXAMPLES/pod-web.yaml"
rc_is 1
err_is "Error from server (AlreadyExists): error when creating \"$EXAMPLES/pod-web.yaml\": pods \"web\" already exists"
cat >"$T/bad.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
spec:
  replicas: -1
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: bad}
    spec:
      containers:
      - name: main
        command: ["true"]
EOF
run k apply -f "$T/bad.yaml"
rc_is 1
err_has 'The Deployment "bad" is invalid: spec.replicas: Invalid value: -1: '
sed 's/replicas: -1/replicas: 1\n  bogus: 1/' "$T/bad.yaml" >"$T/bogus.yaml"
run k apply -f "$T/bogus.yaml"
rc_is 1
err_has 'unknown field "spec.bogus"'
run k get deploy bad
rc_is 1
pass "create of an existing object: AlreadyExists; 422 Invalid; a strict unknown field"

# ---- protobuf bodies (kubectl >= 1.32): 415 with the JSON route; 1.31 sends JSON
if [ "$KMINOR" -ge 32 ]; then
  run k create deployment d2 --image=busybox -- sleep 1d
  rc_is 1
  err_is "error: failed to create deployment: protobuf bodies are not supported by Homeostat; use: kubectl create deployment NAME --image=IMG --dry-run=client -o yaml | kubectl apply -f -"
  ok k create deployment d2 --image=busybox --dry-run=client -o yaml -- sleep 1d
  k apply -f "$T/out" >"$T/d2.out" 2>&1 || fail "the JSON route: $(cat "$T/d2.out")"
  [ "$(cat "$T/d2.out")" = "deployment.apps/d2 created" ] || fail "the JSON route: $(cat "$T/d2.out")"
  pass "create deployment: 415 naming the JSON route, and that route works"
else
  ok k create deployment d2 --image=busybox -- sleep 1d
  out_is "deployment.apps/d2 created"
  pass "create deployment (kubectl 1.$KMINOR: a JSON body) works"
fi
ok k delete deploy d2
out_is 'deployment.apps "d2" deleted'

# ---- a tap: user (read-only)
"$HS_BIN/hsctl" config view --kubeconfig --user tap:viewer --server "$API_URL" \
  >"$T/viewer.kubeconfig" 2>"$T/viewer.err" || fail "config view --user tap:viewer: $(cat "$T/viewer.err")"
kv() { "$KUBECTL" --kubeconfig "$T/viewer.kubeconfig" --cache-dir "$T/kcache-viewer" "$@"; }
wait_for 20 "the viewer's token to be admitted" sh -c "'$KUBECTL' --kubeconfig '$T/viewer.kubeconfig' --cache-dir '$T/kcache-viewer' get pod web >/dev/null 2>&1"
ok kv get pods web
header_is "NAME READY STATUS RESTARTS AGE"
cell_is '^web ' 3 Running
run kv create -f "$T/deploy5.yaml"
rc_is 1
err_has "Error from server (Forbidden): error when creating \"$T/deploy5.yaml\": "
run kv delete pod web --wait=false
rc_is 1
err_has 'Error from server (Forbidden): '
run kv scale deploy api --replicas=1
rc_is 1
err_has 'Error from server (Forbidden): '
[ "$(jp '{.spec.replicas}' deploy api)" = 3 ] || fail "the viewer scaled"
pass "a tap: user's kubeconfig: get works, create/delete/scale are Forbidden"

# A token nobody issued
sed 's/^\( *token: *\).*/\1abcdef.0123456789abcdef/' "$HS_PKI/kubeconfig" >"$T/forged.kubeconfig"
run "$KUBECTL" --kubeconfig "$T/forged.kubeconfig" --server "$API_URL" --cache-dir "$T/kcache-forged" get pods
rc_is 1
err_has 'error: You must be logged in to the server (the server has asked for the client to provide credentials)'
pass "an unknown token: Unauthorized"

# A namespace nobody uses: after the object's 404, kubectl asks for the
# namespace and names it, as against Kubernetes (kubernetes/kubernetes#106145:
# "get query with resource name would report namespace NotFound error").
run k get deploy nope -n other
rc_is 1
err_is 'Error from server (NotFound): namespaces "other" not found'
pass "get in an unused namespace: the namespace's NotFound, as kubectl says it"

kill -0 "$API_PID" || fail "hs-apiserver died"
