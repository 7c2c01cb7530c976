#!/usr/bin/env bash
# hs-autoscaler on a real set (secured bus, a real hs-agent running real
# pods): a Deployment of a pod that burns CPU while $T/load exists (requests
# cpu 100m, limit 200m), an HPA min 1 max 5 at 50% cpu. A loader pod makes
# $T/load while it runs: the Deployment scales 1 -> >= 3 (kube's rule without
# behavior: at most max(2 x current, 4) per step), with the SuccessfulRescale
# Event in kube's words; sampled every 200 ms for 15 s from the load's start,
# the replica count only ever grows (no flapping). The loader is deleted: the
# count goes back to 1 once the scale-down window (--downscale-stabilization
# 10s) has passed. min > max is refused with kube's message. A ReplicaSet
# target below minReplicas is scaled up to it; its memory target on pods
# without a memory request shows ScalingActive False FailedGetResourceMetric
# with kube's message, and its Event.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --usage-interval 500ms
start_ctrl scheduler
start_ctrl replicas
HS_CREDENTIAL=$HS_PKI/creds/autoscaler.cred \
  start_ctrl autoscaler --downscale-stabilization 10s --sync-period 1s
AS_PID=$CTRL_PID

cat >"$T/burn.yaml" <<EOF2
apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do if [ -e $T/load ]; then i=0; while [ \$i -lt 3000 ]; do i=\$((i+1)); done; else sleep 0.2; fi; done"]
        resources:
          requests: {cpu: 100m, memory: 8Mi}
          limits: {cpu: 200m, memory: 64Mi}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burn}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
EOF2
hsctl apply -f "$T/burn.yaml" >/dev/null || fail "apply burn"

# hpa NAME EXPR: a Python expression over the HPA's JSON (h) and its
# conditions by type (c), printed
hpa() {
  local j
  j=$(hsctl get hpa "$1" -o json 2>/dev/null) || return 1
  python3 -c '
import json, sys
h = json.loads(sys.argv[1]); st = h.get("status", {})
c = {x["type"]: x for x in st.get("conditions", [])}
print(eval(sys.argv[2]))' "$j" "$2"
}
replicas() { # the Deployment's spec.replicas: READY's "ready/replicas"
  local l
  l=$(hsctl get deploy "${1:-burn}" --no-headers 2>/dev/null) || return 1
  l=$(awk '{ split($2, a, "/"); print a[2] }' <<<"$l")
  [ -n "$l" ] && echo "$l"
}
is_true() { [ "$("$@")" = True ]; }

wait_for 40 "the HPA to read its pods' cpu" is_true hpa burn \
  'c.get("ScalingActive", {}).get("reason") == "ValidMetricFound"'
[ "$(replicas)" = 1 ] || fail "idle burn scaled to $(replicas)"
expect_out "cpu resource utilization (percentage of request)" hpa burn \
  'c["ScalingActive"]["message"]'
pass "idle: 1 replica, ScalingActive ValidMetricFound"

# the load: a pod that makes $T/load while it runs
cat >"$T/loader.yaml" <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: loader}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'rm -f $T/load; exit 0' TERM; touch $T/load; sleep 3600 & wait"]
EOF2
# sampler: the replica count every 200 ms for 15 s from the load's start
( end=$(( $(date +%s) + 15 )); while [ "$(date +%s)" -lt "$end" ]; do
    replicas || true; sleep 0.2; done >"$T/samples" 2>/dev/null ) &
SAMPLER=$!
HS_PIDS+=("$SAMPLER")
t0=$(ms)
hsctl apply -f "$T/loader.yaml" >/dev/null || fail "apply loader"
at_least() { local r; r=$(replicas); [ -n "$r" ] && [ "$r" -ge "$1" ]; }
wait_for 60 "burn to scale to >= 3 under load" at_least 3
lap_up=$(( $(ms) - t0 ))
ev=$(hsctl get events -o json 2>/dev/null)
[[ "$ev" =~ \"New\ size:\ [2-5]\;\ reason:\ cpu\ resource\ utilization\ \(percentage\ of\ request\)\ above\ target\" ]] &&
  [[ "$ev" == *'"reason": "SuccessfulRescale"'* ]] ||
  fail "no SuccessfulRescale Event in kube's words; events: $ev"
pass "under load: >= 3 replicas after ${lap_up} ms"

wait "$SAMPLER" || true
python3 - "$T/samples" <<'PY' || fail "the replica count flapped under steady load: $(tr '\n' ' ' <"$T/samples")"
import sys
v = [int(x) for x in open(sys.argv[1]).read().split() if x.isdigit()]
assert len(v) >= 30, v
assert all(b >= a for a, b in zip(v, v[1:])), v
assert v[-1] >= 3, v
PY
pass "steady load: $(grep -c . "$T/samples") samples, only growing ($(sort -un "$T/samples" | tr '\n' ' '))"
wait_for 20 "the HPA's status to show the load" is_true hpa burn \
  'st.get("currentMetrics", [{}])[0].get("resource", {}).get("current", {}).get("averageUtilization", 0) > 50 and st.get("lastScaleTime", 0) != 0'

# the load stops: back to 1 after the 10 s window
hsctl delete pod loader >/dev/null || fail "delete loader"
t1=$(ms)
is_one() { [ "$(replicas)" = 1 ]; }
wait_for 60 "burn back to 1 replica" is_one
lap_down=$(( $(ms) - t1 ))
# (the last high recommendation may precede the delete by up to one sync period)
[ "$lap_down" -ge 8500 ] || fail "scaled down after ${lap_down} ms, before the 10 s window"
expect_out "New size: 1; reason: All metrics below target" hsctl get events -o json
pass "load gone: back to 1 after ${lap_down} ms (window 10 s)"

# min > max: kube's message
cat >"$T/bad.yaml" <<EOF2
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 3
  maxReplicas: 2
EOF2
expect_rc 1 hsctl apply -f "$T/bad.yaml"
expect_out 'spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`' \
  cat "$T/last.out"
pass "min > max refused"

# a ReplicaSet target below minReplicas is brought up to it (kube's /scale
# on a ReplicaSet); then its memory target on pods without a memory request
# shows the condition
cat >"$T/nomem.yaml" <<EOF2
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: nomem}
spec:
  replicas: 1
  selector: {matchLabels: {app: nomem}}
  template:
    metadata: {labels: {app: nomem}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
        resources: {requests: {cpu: 50m}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: nomem}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: ReplicaSet, name: nomem}
  minReplicas: 2
  maxReplicas: 3
  metrics:
  - type: Resource
    resource:
      name: memory
      target: {type: Utilization, averageUtilization: 60}
EOF2
hsctl apply -f "$T/nomem.yaml" >/dev/null || fail "apply nomem"
rs_two() { local l; l=$(hsctl get rs nomem --no-headers 2>/dev/null) && [ "$(awk '{print $2}' <<<"$l")" = 2 ]; }
wait_for 30 "ReplicaSet nomem scaled to minReplicas 2" rs_two
expect_out "New size: 2; reason: Current number of replicas below Spec.MinReplicas" \
  hsctl get events -o json
# (before the pods' first samples the message is about missing metrics)
wait_for 40 "nomem's ScalingActive False for the missing request" is_true hpa nomem \
  'c.get("ScalingActive", {}).get("reason") == "FailedGetResourceMetric" and "missing request" in c["ScalingActive"]["message"]'
expect_out "the HPA was unable to compute the replica count: failed to get memory utilization: missing request for memory in container main of Pod nomem-" \
  hpa nomem 'c["ScalingActive"]["message"]'
expect_out '"reason": "FailedGetResourceMetric"' hsctl get events -o json
pass "a ReplicaSet below minReplicas scaled to 2; its target on a resource without requests: ScalingActive False FailedGetResourceMetric"

kill -TERM "$AS_PID"
wait_for 10 "hs-autoscaler to stop on SIGTERM" exited "$AS_PID"
# (build-asan: a use-after-free or a leak shows here)
grep -q "ERROR\|AddressSanitizer\|LeakSanitizer\|runtime error" "$T/autoscaler.log" &&
  fail "hs-autoscaler logged: $(grep "ERROR\|AddressSanitizer\|LeakSanitizer\|runtime error" "$T/autoscaler.log" | head -5)"
pass "hs-autoscaler stops cleanly (no sanitizer report)"
