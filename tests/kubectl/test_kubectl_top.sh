#!/usr/bin/env bash
# The real kubectl's `top` against hs-apiserver's metrics.k8s.io (issue 18).
# The agents of demo and demo2 publish usage.<node>/ every 500 ms; the
# gateway follows the topic and answers as metrics-server does. A busy pod
# (a shell loop) shows over 100m in `kubectl top pods`, first with
# --sort-by cpu; -A, NAME --containers, -l, `top nodes` and `top node NAME`
# print kubectl's columns; the NotFound texts are metrics-server's; a tap:
# user reads metrics too; the raw API answers NodeMetrics/PodMetrics lists;
# hsctl top's tables have kubectl's shape, --sum included; a node whose
# agent stops is <unknown> in both.
source "$(dirname "$0")/klib.sh"
start_kube_set --usage-interval 500ms

pod() { # pod NAME NODE 'SHELL COMMAND'
  local script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$3")
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: $1}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
    resources:
      limits: {cpu: 500m}
EOF
  k apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
pod busy demo "while :; do :; done"
pod idle demo2 "trap 'exit 0' TERM; sleep 3600 & wait"

# busy's millicores in `kubectl top pods` above 100, and idle there too
busy_hot() {
  local o m
  o=$(k top pods 2>/dev/null) || return 1
  m=$(awk '$1 == "busy" { sub(/m$/, "", $2); print $2 }' <<<"$o")
  [ -n "$m" ] && [ "$m" -gt 100 ] && grep -q '^idle ' <<<"$o"
}
wait_for 40 "kubectl top pods to show busy above 100m and idle" busy_hot

ok k top pods
header_is "NAME CPU(cores) MEMORY(bytes)"
out_has '^busy +[0-9]+m +[0-9]+Mi +$'
out_has '^idle +[0-9]+m +[0-9]+Mi +$'
lap "kubectl top pods: busy $(cell '^busy ' 2), idle $(cell '^idle ' 2)"
ok k top pods --sort-by cpu --no-headers
[ "$(cell . 1)" = busy ] || fail "sorted by cpu: $(show)"
ok k top pods -A
header_is "NAMESPACE NAME CPU(cores) MEMORY(bytes)"
out_has '^default +busy +[0-9]+m '
out_has '^default +static-demo2 +[0-9]+m '
ok k top pod busy --containers
header_is "POD NAME CPU(cores) MEMORY(bytes)"
out_has '^busy +main +[0-9]+m +[0-9]+Mi +$'
ok k top pods -l app=idle --no-headers
[ "$(wc -l <"$T/out")" -eq 1 ] && [ "$(cell . 1)" = idle ] || fail "-l app=idle: $(show)"

ok k top nodes
header_is "NAME CPU(cores) CPU(%) MEMORY(bytes) MEMORY(%)"
out_has '^demo +[0-9]+m +[0-9]+% +[0-9]+Mi +[0-9]+% +$'
out_has '^demo2 +[0-9]+m +[0-9]+% +[0-9]+Mi +[0-9]+% +$'
ok k top node demo2 --no-headers
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "top node demo2: $(show)"

# ---- hsctl top prints what kubectl top prints (figures aside: other samples)
shape() { sed -E 's/[0-9]+/N/g; s/ +/ /g'; }
for args in "pods" "pods -A" "pods --sum" "pods -A --containers --sum" \
  "pod busy --containers" "nodes" "nodes --no-headers" "nodes --show-capacity"; do
  # shellcheck disable=SC2086
  want=$(k top $args | shape) || fail "kubectl top $args"
  # shellcheck disable=SC2086
  got=$(hsctl top $args | shape) || fail "hsctl top $args"
  [ "$got" = "$want" ] || fail "hsctl top $args differs from kubectl's:
$got
-- kubectl:
$want"
done
pass "hsctl top and kubectl top print the same tables"

# ---- errors as metrics-server's
run k top pod nosuch
rc_is 1
err_has 'Error from server (NotFound): pods "nosuch" not found'
cat >"$T/pending.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: pending, namespace: other}
spec:
  nodeSelector: {nowhere: "true"}
  containers: [{name: main, command: ["/bin/true"]}]
EOF
k apply -f "$T/pending.yaml" >/dev/null || fail "apply pending"
run k top pod pending -n other
rc_is 1
err_has 'Error from server (NotFound): podmetrics.metrics.k8s.io "other/pending" not found'
run k top pods -n other
rc_is 1
err_has 'error: metrics not available yet'
run k top node ghost
rc_is 1
err_has 'Error from server (NotFound): node "ghost" not found'

# ---- the raw API: lists with selectors, and a tap: user may read it
TAP=$("$HS_BIN/hsctl" token create --user tap:viewer --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$TAP" ] || fail "no tap token"
raw() { curl -s --cacert "$HS_PKI/api/ca.crt" -H "Authorization: Bearer $TAP" "$API_URL$1"; }
J=$(raw "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dbusy")
python3 - "$J" <<'PY' || fail "PodMetricsList: $J"
import json, re, sys
l = json.loads(sys.argv[1])
assert l["kind"] == "PodMetricsList" and l["apiVersion"] == "metrics.k8s.io/v1beta1"
assert [i["metadata"]["name"] for i in l["items"]] == ["busy"], l
p = l["items"][0]
assert p["metadata"]["labels"] == {"app": "busy"}, p
assert re.fullmatch(r"\d+(\.\d+)?m?s", p["window"]), p  # the agent's measured ~500ms
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["timestamp"]), p
assert p["containers"][0]["name"] == "main"
assert re.fullmatch(r"\d+[num]?", p["containers"][0]["usage"]["cpu"]), p
assert re.fullmatch(r"\d+(Ki|Mi|Gi|k)?", p["containers"][0]["usage"]["memory"]), p
PY
J=$(raw "/apis/metrics.k8s.io/v1beta1/nodes/demo")
python3 - "$J" <<'PY' || fail "NodeMetrics: $J"
import json, sys
n = json.loads(sys.argv[1])
assert n["kind"] == "NodeMetrics" and n["metadata"]["name"] == "demo", n
assert set(n["usage"]) == {"cpu", "memory"}, n
PY
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$HS_PKI/api/ca.crt" -X DELETE \
  -H "Authorization: Bearer $TAP" "$API_URL/apis/metrics.k8s.io/v1beta1/nodes/demo")
[ "$code" = 405 ] || fail "DELETE on NodeMetrics: $code, expected 405"
pass "kubectl top pods/nodes show the busy pod's CPU from metrics.k8s.io"

# ---- a silent node (demo2's agent stopped): <unknown> after 3 s, in both
kill -STOP "$AGENT_PID"
hs_on_exit "kill -CONT $AGENT_PID 2>/dev/null"
unknown() { k_out_has '^demo2 +<unknown> +<unknown> +<unknown> +<unknown> +$' top nodes; }
wait_for 20 "kubectl top nodes to show demo2 <unknown>" unknown
ok k top nodes
out_has '^demo +[0-9]+m +[0-9]+% '
run hsctl top nodes
rc_is 0
out_has '^demo2 +<unknown> +<unknown> +<unknown> +<unknown> +$'
pass "a node whose agent is silent is <unknown> in kubectl top nodes and hsctl top nodes"
