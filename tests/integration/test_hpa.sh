#!/usr/bin/env bash
# hs-autoscaler on a real set (secured bus, a real hs-agent running real
# pods). A steady load whose TOTAL cpu does not depend on the replica
# count: a loader pod drops work tokens (files) into $T/q at a fixed rate
# (40/s); the Deployment's worker pods (requests cpu 100m) each claim a
# token atomically (rename) and burn a fixed 3 ms of cpu time on it. About
# 130m in all, shared by the workers: an HPA min 1 max 5 at 50% cpu settles
# at 3 (43% each, inside the tolerance; 2 would be 65%, 4 only 33%), not at
# max. Sampled every 200 ms from the load's start until 22 s after it
# settled, the replica count never reverses (no flapping), and the status
# is not rewritten on every pass. The loader is deleted: the count goes
# back to 1 once the scale-down window (--downscale-stabilization 10s) has
# passed. min > max is refused with kube's message. A ReplicaSet target
# below minReplicas is scaled up to it; its memory target on pods without a
# memory request shows ScalingActive False FailedGetResourceMetric with
# kube's message, and its Event is not repeated every pass.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1
start_ctrl scheduler
start_ctrl replicas
HS_CREDENTIAL=$HS_PKI/creds/autoscaler.cred \
  start_ctrl autoscaler --downscale-stabilization 10s --sync-period 1s
AS_PID=$CTRL_PID

mkdir -p "$T/q" "$T/claimed"
cat >"$T/worker.py" <<'PY'
# a worker: claim a token (rename: one worker wins), burn 3 ms of cpu time
import os, random, signal, sys, time
q, claimed = sys.argv[1], sys.argv[2]
me = os.urandom(4).hex()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    names = os.listdir(q)
    random.shuffle(names)
    for n in names:
        mine = os.path.join(claimed, n + "." + me)
        try:
            os.rename(os.path.join(q, n), mine)
        except OSError:
            continue
        t = time.process_time()
        while time.process_time() - t < 0.003:
            pass
        os.unlink(mine)
        break
    else:
        time.sleep(0.05)  # a worker's idle poll for tokens: its pace, not a wait for a condition
PY
cat >"$T/loader.py" <<'PY'
# the loader: 40 tokens a second by the clock (at most 2 s of backlog)
import os, signal, sys, time
q, rate = sys.argv[1], 40
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
t0, k = time.monotonic(), 0
while True:
    due = int((time.monotonic() - t0) * rate)
    backlog = len(os.listdir(q))
    while k < due:
        if backlog < 2 * rate:
            open(os.path.join(q, "t%09d" % k), "w").close()
            backlog += 1
        k += 1
    time.sleep(0.025)  # the loader's clock tick (40 tokens/s): the load, not a wait
PY

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
        command: ["python3", "$T/worker.py", "$T/q", "$T/claimed"]
        resources:
          requests: {cpu: 100m, memory: 8Mi}
          limits: {cpu: 500m, memory: 64Mi}
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
# counter NAME: hs-autoscaler's heartbeat counter NAME
counter() {
  local j
  j=$(timeout 10 hs-tap -o json -c 1 hb.autoscaler. 2>>"$T/tap.err") || return 1
  python3 -c '
import json, sys
hb = json.loads(sys.argv[1])["envelope"]["heartbeat"]
print({c["name"]: int(c.get("value", 0)) for c in hb.get("counters", [])}.get(sys.argv[2], 0))' \
    "$j" "$1"
}

wait_for 40 "the HPA to read its pods' cpu" is_true hpa burn \
  'c.get("ScalingActive", {}).get("reason") == "ValidMetricFound"'
[ "$(replicas)" = 1 ] || fail "idle burn scaled to $(replicas)"
expect_out "cpu resource utilization (percentage of request)" hpa burn \
  'c["ScalingActive"]["message"]'
pass "idle: 1 replica, ScalingActive ValidMetricFound"

cat >"$T/loader.yaml" <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: loader}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    command: ["python3", "$T/loader.py", "$T/q"]
EOF2
# sampler: "ms replicas" every 200 ms from the load's start until $T/stop (the
# sampling period the flapping check reads, not a wait for a condition)
( while [ ! -e "$T/stop" ]; do
    r=$(replicas) && echo "$(ms) $r"; sleep 0.2; done >"$T/samples" 2>/dev/null ) &
SAMPLER=$!
HS_PIDS+=("$SAMPLER")
t0=$(ms)
hsctl apply -f "$T/loader.yaml" >/dev/null || fail "apply loader"
at_least() { local r; r=$(replicas); [ -n "$r" ] && [ "$r" -ge "$1" ]; }
wait_for 60 "burn to scale to >= 3 under load" at_least 3
t_settled=$(ms)
lap_up=$(( t_settled - t0 ))
ev=$(hsctl get events -o json 2>/dev/null)
[[ "$ev" =~ \"New\ size:\ [2-5]\;\ reason:\ cpu\ resource\ utilization\ \(percentage\ of\ request\)\ above\ target\" ]] &&
  [[ "$ev" == *'"reason": "SuccessfulRescale"'* ]] ||
  fail "no SuccessfulRescale Event in kube's words; events: $ev"
pass "under load: >= 3 replicas after ${lap_up} ms"

# 22 s of steady load after it settled (two 10 s windows), sampled
writes0=$(counter status_writes) || fail "no hb.autoscaler heartbeat"
steady() { [ $(( $(ms) - t_settled )) -ge 22000 ]; }
wait_for 40 "22 s of steady load" steady
writes1=$(counter status_writes) || fail "no hb.autoscaler heartbeat"
touch "$T/stop"
wait "$SAMPLER" || true
python3 - "$T/samples" "$t_settled" <<'PY' || fail "the replica count flapped under steady load: $(awk '{print $2}' "$T/samples" | uniq -c | tr '\n' ' ')"
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 2]
v = [int(r) for _, r in rows]
after = [int(r) for t, r in rows if int(t) >= int(sys.argv[2])]
assert len(after) >= 40, ("too few samples after settling", len(after))
# a reversal: up after down, or down after up
steps = [b - a for a, b in zip(v, v[1:]) if b != a]
assert all(s > 0 for s in steps) or all(s < 0 for s in steps), v
# the load is shared: it settles between 2 and 4, not at maxReplicas
assert 2 <= v[-1] <= 4 and max(v) < 5, v
PY
pass "steady load: $(grep -c . "$T/samples") samples, no reversal ($(awk '{print $2}' "$T/samples" | uniq -c | tr '\n' ' '))"
# the status is not rewritten every second (figures alone: every 15 s)
[ $(( writes1 - writes0 )) -le 6 ] ||
  fail "$(( writes1 - writes0 )) status writes in 22 s of steady load"
pass "steady load: $(( writes1 - writes0 )) status writes in 22 s"
wait_for 20 "the HPA's status to show the load" is_true hpa burn \
  'st.get("currentMetrics", [{}])[0].get("resource", {}).get("current", {}).get("averageUtilization", 0) > 25 and st.get("lastScaleTime", 0) != 0'

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
# kube sets AbleToScale True SucceededGetScale on every pass that read the scale
expect_out "SucceededGetScale" hpa nomem 'c["AbleToScale"]["reason"]'
# the same Warnings every pass are held back (sent again after 60 s)
suppressed() { local n; n=$(counter events_suppressed) && [ "$n" -ge 4 ]; }
wait_for 20 "repeated Warnings to be held back" suppressed
pass "a ReplicaSet below minReplicas scaled to 2; its target on a resource without requests: ScalingActive False FailedGetResourceMetric, its Warnings not repeated every pass"

kill -TERM "$AS_PID"
wait_for 10 "hs-autoscaler to stop on SIGTERM" exited "$AS_PID"
# (build-asan: a use-after-free or a leak shows here)
grep -q "ERROR\|AddressSanitizer\|LeakSanitizer\|runtime error" "$T/autoscaler.log" &&
  fail "hs-autoscaler logged: $(grep "ERROR\|AddressSanitizer\|LeakSanitizer\|runtime error" "$T/autoscaler.log" | head -5)"
pass "hs-autoscaler stops cleanly (no sanitizer report)"
