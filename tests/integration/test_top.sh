#!/usr/bin/env bash
# hsctl top and describe node's usage (issue 18): a real hs-agent publishes
# usage.n1/ every 500 ms on a secured bus; hsctl reads the topic itself (no
# apiserver). A busy pod (a shell loop) shows over 100m in `top pods`, an
# idle one a few millicores; --containers, -A, -l, --sort-by, --no-headers
# shape the table as kubectl 1.32's; `top nodes` has n1's percentages;
# kubectl's errors for a missing pod, a young pod without metrics, and bad
# flags; `describe node` ends with the agent's "Resource usage" block. A
# stopped agent's node has no metrics in `top`, and gets them back.
# The staleness rule (no metrics 3 intervals, at least 3 s, after the last
# sample) needs a reader that outlives the silence: each hsctl here is a new
# process that hears no sample at all from a stopped agent, so it is checked
# in tests/unit/test_usage.c and, through the long-lived hs-apiserver, in
# tests/kubectl/test_kubectl_top.sh.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --usage-interval 500ms

pod() { # pod NAME LABEL 'SHELL COMMAND'
  local script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$3")
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: $2}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
    resources:
      requests: {cpu: 100m, memory: 16Mi}
      limits: {cpu: 500m}
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
pod busy busy "while :; do :; done"
pod idle idle "trap 'exit 0' TERM; sleep 3600 & wait"
wait_for 30 "busy and idle Running" sh -c \
  "[ \"\$(hsctl get pods --no-headers | grep -c ' Running ')\" -eq 2 ]"

# millicores of NAME in `hsctl top pods` output $OUT (column 2, "123m")
milli() { awk -v n="$1" '$1 == n { sub(/m$/, "", $2); print $2 }' <<<"$OUT"; }
busy_hot() {
  OUT=$(hsctl top pods 2>&1) || return 1
  local b
  b=$(milli busy)
  [ -n "$b" ] && [ "$b" -gt 100 ]
}
wait_for 30 "top pods to show busy above 100m" busy_hot
lap "top pods: busy $(milli busy)m, idle $(milli idle)m"
[ "$(head -1 <<<"$OUT")" = "NAME   CPU(cores)   MEMORY(bytes)   " ] ||
  fail "top pods header: $(head -1 <<<"$OUT" | cat -A)"
[ "$(milli idle)" -lt 50 ] || fail "idle pod uses $(milli idle)m:
$OUT"
grep -Eq '^idle +[0-9]+m +[0-9]+Mi +$' <<<"$OUT" || fail "idle row: $OUT"

OUT=$(hsctl top pods --sort-by cpu --no-headers) || fail "top --sort-by cpu"
[ "$(awk 'NR == 1 { print $1 }' <<<"$OUT")" = busy ] || fail "sorted by cpu: $OUT"
OUT=$(hsctl top pods -A) || fail "top pods -A"
grep -Eq '^NAMESPACE +NAME +CPU\(cores\) +MEMORY\(bytes\) +$' <<<"$OUT" || fail "-A header: $OUT"
grep -Eq '^default +busy +[0-9]+m ' <<<"$OUT" || fail "-A row: $OUT"
OUT=$(hsctl top pod busy --containers) || fail "top pod busy --containers"
grep -Eq '^POD +NAME +CPU\(cores\) +MEMORY\(bytes\) +$' <<<"$OUT" || fail "containers header: $OUT"
grep -Eq '^busy +main +[0-9]+m +[0-9]+Mi +$' <<<"$OUT" || fail "containers row: $OUT"
OUT=$(hsctl top pods -l app=idle --no-headers) || fail "top -l"
[ "$(wc -l <<<"$OUT")" -eq 1 ] && [ "$(awk '{ print $1 }' <<<"$OUT")" = idle ] || fail "-l: $OUT"

# ---- nodes: n1 with percentages of its allocatable
OUT=$(hsctl top nodes) || fail "top nodes"
grep -Eq '^NAME +CPU\(cores\) +CPU\(%\) +MEMORY\(bytes\) +MEMORY\(%\) +$' <<<"$OUT" ||
  fail "nodes header: $OUT"
grep -Eq '^n1 +[0-9]+m +[0-9]+% +[0-9]+Mi +[0-9]+% +$' <<<"$OUT" || fail "nodes row: $OUT"
node_m=$(awk '$1 == "n1" { sub(/m$/, "", $2); print $2 }' <<<"$OUT")
[ "$node_m" -gt 100 ] || fail "n1 uses ${node_m}m while busy runs: $OUT"

# ---- kubectl's errors
expect_rc 1 hsctl top pod nosuch
expect_out 'Error from server (NotFound): pods "nosuch" not found' hsctl top pod nosuch
expect_out 'error: --sort-by accepts only cpu or memory' hsctl top pods --sort-by name
expect_out 'error: only one of NAME or selector can be provided' hsctl top pod busy -l app=x
expect_out 'Error from server (NotFound): node "ghost" not found' hsctl top node ghost
# a pod not running yet (unbound): no metrics, younger than kubectl's 2 minutes
cat >"$T/pending.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: pending, namespace: other}
spec:
  containers: [{name: main, command: ["/bin/true"]}]
EOF
hsctl apply -f "$T/pending.yaml" >/dev/null || fail "apply pending"
expect_rc 1 hsctl top pods -n other
expect_out 'error: metrics not available yet' hsctl top pods -n other
expect_out 'Error from server (NotFound): podmetrics.metrics.k8s.io "other/pending" not found' \
  hsctl top pod pending -n other
expect_out 'No resources found in empty namespace.' hsctl top pods -n empty

# ---- describe node: kubectl's Allocated resources, then the agent's usage
OUT=$(hsctl describe node n1) || fail "describe node"
grep -Eq '^  cpu +200m \([0-9]+%\) +1 \([0-9]+%\)$' <<<"$OUT" || fail "allocated cpu: $OUT"
grep -Eq '^Resource usage \(from the agent on usage\.n1/, [0-9.]+m?s window, [0-9.]+m?s ago\):$' <<<"$OUT" ||
  fail "no usage block: $OUT"
grep -Eq '^  cpu +[0-9]+m \([0-9]+%\)$' <<<"$OUT" || fail "usage cpu: $OUT"
grep -Eq '^  pods +2 with running containers$' <<<"$OUT" || fail "usage pods: $OUT"
pass "hsctl top pods/nodes and describe node show the busy pod's CPU"

# ---- a silent agent: hsctl, which hears no sample within its wait, has no
# metrics for n1 (not the staleness rule: see the header); back after SIGCONT
kill -STOP "$AGENT_PID"
hs_on_exit "kill -CONT $AGENT_PID 2>/dev/null"
no_metrics() { ! hsctl top nodes >/dev/null 2>&1; }
wait_for 15 "top nodes to have no metrics from the stopped agent" no_metrics
expect_out 'error: metrics not available yet' hsctl top nodes
kill -CONT "$AGENT_PID"
wait_for 15 "top pods to show busy again" busy_hot
pass "a silent agent's node has no metrics in hsctl top, and gets them back"
