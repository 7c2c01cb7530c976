#!/usr/bin/env bash
# hs-hollow: one process registers 50 hollow nodes (Ready, with
# capacity, one heartbeat for the process); with hs-scheduler, 200 pods go
# Running spread over them with a kubelet-shaped status; run-to-completion
# pods succeed after their simulate-run-seconds annotation; a restart adopts
# what runs and honours --start-delay-ms; deleted pods go away.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): hs-hollow speaks for many nodes, and no identity may yet publish
# its hb.agent-sim.* heartbeats on a secured bus (docs/architecture.md,
# "Bootstrap", Limits).
hs_insecure

# field POD PYTHON-EXPRESSION on the pod's JSON (p)
field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }
phase_count() { hsctl get pods --no-headers | awk -v s="$1" '$3 == s' | wc -l; }
count_is() { [ "$("$1" "$2")" -eq "$3" ]; }
sched_ready() { grep -q "scheduling pods of schedulerName" "$T/sched.log"; }

# ---- usage: N is required and positive; hs-agent no longer simulates
expect_rc 2 hs-hollow
expect_rc 2 hs-hollow 0
expect_rc 2 hs-hollow 3 4
expect_rc 2 hs-hollow 3 --node-prefix UPPER
expect_rc 0 hs-hollow --help
expect_rc 2 hs-agent --simulate 3
pass "hs-hollow N: usage errors exit 2; hs-agent has no --simulate"

start_bus
start_store

# ---- 50 hollow nodes from one process
start sim "$HS_BIN/hs-hollow" 50 --bus "$HS_BUS" --status-interval-ms 2000 \
  --labels zone=sim,tier=hollow
SIM_PID=$LAST_PID
wait_for 20 "50 Ready hollow nodes" sh -c "[ \$(hsctl get nodes --no-headers | grep -cE '^hollow-[0-9]+ +Ready ') -eq 50 ]"
[ "$(hsctl get nodes --no-headers | wc -l)" -eq 50 ] || fail "expected exactly 50 nodes:
$(hsctl get nodes)"
hsctl get node hollow-49 -o yaml >"$T/out"
for want in 'zone: sim' 'tier: hollow' 'kubernetes.io/hostname: hollow-49' 'cpu: "4"' \
  'memory: 16Gi' 'pods: "110"' 'type: Ready'; do
  grep -qF -- "$want" "$T/out" || fail "hollow-49 lacks '$want':
$(cat "$T/out")"
done
expect_rc 1 hsctl get node hollow-50
grep -q "registered 50 hollow nodes hollow-0 .. hollow-49" "$T/sim.log" || fail "no registration line"
pass "50 hollow nodes registered and Ready, with labels and capacity"

# One heartbeat for the process, not one per node.
hsctl get components >"$T/out"
grep -Eq '^hs-hollow +hollow .* 50' "$T/out" || fail "no hs-hollow heartbeat with 50 nodes:
$(cat "$T/out")"
[ "$(grep -cE '^hs-(agent|hollow)' "$T/out")" -eq 1 ] || fail "expected one agent heartbeat:
$(cat "$T/out")"
# The Ready condition is re-posted (every 2 s here, spread over the nodes).
hb0=$(hsctl get node hollow-0 -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['status']['conditions'][0]['lastHeartbeatTime'])")
wait_for 10 "hollow-0's Ready heartbeat to be re-posted" sh -c "hsctl get node hollow-0 -o json | python3 -c \"import json,sys; sys.exit(json.load(sys.stdin)['status']['conditions'][0]['lastHeartbeatTime'] == '$hb0')\""
pass "one heartbeat for the process; Ready re-posted"

# ---- 200 pods through the scheduler, all Running, spread
start sched "$HS_BIN/hs-scheduler" --bus "$HS_BUS"
wait_for 20 "hs-scheduler to be ready" sched_ready
python3 - "$T/pods.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(200):
        f.write(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: web-{i}
  labels: {{app: web}}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    resources:
      requests: {{cpu: 10m, memory: 16Mi}}
  - name: side
    image: busybox:1.36
    command: [sleep, "3600"]
""")
PY
expect_out "pod/web-199 created" hsctl apply -f "$T/pods.yaml"
wait_for 30 "200 pods Running" count_is phase_count Running 200
nodes_used=$(hsctl get pods -o wide --no-headers | awk '{print $NF}' | sort -u | grep -c '^hollow-')
[ "$nodes_used" -ge 40 ] || fail "200 pods on only $nodes_used of 50 nodes:
$(hsctl get pods -o wide | head -20)"
most=$(hsctl get pods -o wide --no-headers | awk '{print $NF}' | sort | uniq -c | sort -rn | awk 'NR == 1 {print $1}')
[ "$most" -le 20 ] || fail "$most pods on one node"
hsctl get pods --no-headers | grep -Eq '^web-7 +2/2 +Running +0 ' || fail "web-7 not 2/2 Running:
$(hsctl get pods | head -20)"
hsctl get pod web-7 -o json >"$T/web7.json"
python3 - "$T/web7.json" <<'PY' || fail "web-7's status is not kubelet-shaped: $(cat "$T/web7.json")"
import json, sys
p = json.load(open(sys.argv[1]))
st = p["status"]
assert st["phase"] == "Running", st
conds = {c["type"]: c["status"] for c in st["conditions"]}
assert conds == {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True",
                 "Ready": "True"}, conds
assert st.get("startTime"), st
cs = st["containerStatuses"]
assert [c["name"] for c in cs] == ["app", "side"], cs
for c in cs:
    assert c["ready"] is True and c["started"] is True, c
    assert c.get("restartCount", 0) == 0, c
    assert c["state"]["running"]["startedAt"], c
    assert c["containerID"].startswith("sim://" + p["spec"]["nodeName"] + "/"), c
PY
pass "200 pods Running on $nodes_used nodes (at most $most on one), status as a kubelet writes it"

# Current counts go down as well as up: gauges, not counters (protocol.md §8).
start_tap simhb -o json hb.agent-sim.
hb_gauges() {
  python3 - "$T/simhb.out" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
if not lines:
    sys.exit(1)
hb = json.loads(lines[-1])["envelope"]["heartbeat"]
g = {x["name"]: x.get("value", 0) for x in hb.get("gauges", [])}
c = {x["name"] for x in hb.get("counters", [])}
assert not c & {"nodes_ready", "pods_running"}, c
sys.exit(0 if g.get("nodes_ready") == 50 and g.get("pods_running") == 200 else 1)
PY
}
wait_for 10 "hs-hollow's gauges nodes_ready 50, pods_running 200" hb_gauges
kill "$TAP_PID" 2>/dev/null || true
pass "nodes_ready and pods_running are heartbeat gauges"

# ---- usage.<node>/: every hollow node publishes a synthetic NodeUsage
# (hollow_usage.h) of its running pods, once a second, spread over the second
start_tap usage -o json usage.
usage_check() {
  python3 - "$T/usage.out" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    u = m.get("envelope", {}).get("usage")
    if u and m["topic"] == "usage." + u["node"] + "/":
        last[u["node"]] = u
pods = {p["name"]: p for u in last.values() for p in u.get("pods", [])}
if len(last) < 50 or len(pods) < 200:
    sys.exit(1)
c = {x["name"]: x for x in pods["web-7"]["containers"]}
# app requests 10m: 10% to 60% of it; side requests nothing: 1m to 20m
assert 1000000 <= int(c["app"]["cpuUsageNanocores"]) < 6000000, c
assert 1000000 <= int(c["side"]["cpuUsageNanocores"]) < 20000000, c
assert int(c["app"]["memoryWorkingSetBytes"]) >= 16 * 2**20 * 3 // 10, c
n = last[next(iter(last))]
assert n["intervalMs"] == 1000 and int(n["cpuUsageNanocores"]) >= 100000000, n
PY
}
wait_for 20 "a NodeUsage from each of the 50 nodes naming the 200 pods" usage_check
# a running pod's load is set by its annotations, read again every round
hsctl get pod web-7 -o json | python3 -c '
import json, sys
p = json.load(sys.stdin)
p["metadata"].setdefault("annotations", {}).update(
    {"homeostat.io/simulate-cpu": "750m", "homeostat.io/simulate-memory": "100Mi"})
for k in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
    p["metadata"].pop(k, None)
json.dump(p, open(sys.argv[1], "w"))' "$T/web7-load.json"
hsctl apply -f "$T/web7-load.json" >/dev/null || fail "cannot annotate web-7"
web7_loaded() {
  python3 - "$T/usage.out" <<'PY'
import json, sys
c = None
for line in open(sys.argv[1]):
    try:
        u = json.loads(line).get("envelope", {}).get("usage") or {}
    except ValueError:
        continue
    for p in u.get("pods", []):
        if p["name"] == "web-7":
            c = {x["name"]: x for x in p["containers"]}
sys.exit(not (c and all(int(x["cpuUsageNanocores"]) == 750000000 and
                        int(x["memoryWorkingSetBytes"]) == 100 * 2**20 for x in c.values())))
PY
}
wait_for 10 "web-7's NodeUsage to show its annotations' 750m and 100Mi" web7_loaded
pass "every hollow node publishes its pods' synthetic usage; annotations set a pod's load"
kill "$TAP_PID" 2>/dev/null || true

# ---- run to completion: Never with 0.5 s, OnFailure without the annotation,
# Never with 3 s (seen Running first)
cat >"$T/jobs.yaml" <<'EOF'
---
apiVersion: v1
kind: Pod
metadata:
  name: job-half
  annotations: {homeostat.io/simulate-run-seconds: "0.5"}
spec:
  restartPolicy: Never
  containers:
  - {name: main, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: job-now
spec:
  restartPolicy: OnFailure
  containers:
  - {name: main, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: job-three
  annotations: {homeostat.io/simulate-run-seconds: "3"}
spec:
  restartPolicy: Never
  containers:
  - {name: main, command: ["true"]}
EOF
hsctl apply -f "$T/jobs.yaml" >/dev/null
wait_for 20 "job-three Running" field_is job-three "p['status']['phase']" Running
wait_for 20 "job-half Succeeded" field_is job-half "p['status']['phase']" Succeeded
wait_for 20 "job-now Succeeded" field_is job-now "p['status']['phase']" Succeeded
field_is job-three "p['status']['phase']" Running || fail "job-three finished with job-half"
wait_for 20 "job-three Succeeded" field_is job-three "p['status']['phase']" Succeeded
for j in job-half job-now job-three; do
  field_is $j "p['status']['containerStatuses'][0]['state']['terminated'].get('exitCode', 0)" 0 ||
    fail "$j: exit code"
  field_is $j "p['status']['containerStatuses'][0]['state']['terminated']['reason']" Completed ||
    fail "$j: reason"
  field_is $j "[c['status'] for c in p['status']['conditions'] if c['type'] == 'Ready'][0]" False ||
    fail "$j: Ready should be False"
done
# timestamps are printed in whole seconds: 3 s of run show as 2 to 4
ran=$(field job-three "__import__('datetime').datetime.fromisoformat(p['status']['containerStatuses'][0]['state']['terminated']['finishedAt'].rstrip('Z')).timestamp() - __import__('datetime').datetime.fromisoformat(p['status']['containerStatuses'][0]['state']['terminated']['startedAt'].rstrip('Z')).timestamp()")
python3 -c "import sys; sys.exit(not 2 <= float('$ran') <= 4)" || fail "job-three ran ${ran}s, expected 3"
pass "run-to-completion pods Succeeded (exit 0, Completed) after their annotation's seconds"

# ---- a restart adopts what runs; --start-delay-ms holds a new pod Pending
rv=$(field web-7 "p['metadata']['resourceVersion']")
kill -TERM "$SIM_PID"
wait_for 10 "hs-hollow to exit on SIGTERM" exited "$SIM_PID"
rc=0
wait "$SIM_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "hs-hollow exited $rc on SIGTERM"
start sim2 "$HS_BIN/hs-hollow" 50 --bus "$HS_BUS" --start-delay-ms 2000 \
  --labels zone=sim,tier=hollow
wait_for 20 "the restarted simulator to register" grep -q "registered 50 hollow nodes" "$T/sim2.log"
cat >"$T/late.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: late
spec:
  containers:
  - {name: main, command: [sleep, "3600"]}
EOF
hsctl apply -f "$T/late.yaml" >/dev/null
wait_for 20 "late to be bound" sh -c "hsctl get pod late -o wide --no-headers | grep -q ' hollow-'"
field_is late "p['status']['phase']" Pending || fail "late is not Pending during the start delay"
wait_for 20 "late Running after the delay" field_is late "p['status']['phase']" Running
[ "$(field web-7 "p['metadata']['resourceVersion']")" = "$rv" ] ||
  fail "web-7 was rewritten by the restarted simulator"
[ "$(phase_count Running)" -eq 201 ] || fail "not every pod still Running"
pass "restart: running pods adopted untouched; a new pod waits --start-delay-ms"

# ---- delete: graceful deletes finish (the simulator deletes with grace 0)
hsctl delete pods --all >/dev/null
wait_for 30 "every pod gone" sh -c "[ -z \"\$(hsctl get pods --no-headers 2>/dev/null)\" ]"
pass "deleted pods are gone"
