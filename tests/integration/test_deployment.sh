#!/usr/bin/env bash
# A Deployment of 10 replicas (maxSurge 3, maxUnavailable 2) on two real
# nodes: it rolls out; a template change rolls to a new ReplicaSet while a
# sampler checks, at every sample, that the pods never exceed 13 and the
# ready ones never drop below 8; rollout status and history; a bad template
# (a command that exits 1) stalls the rollout with the old pods still
# available until the progress deadline; rollout undo brings the previous
# template back; Events say what was scaled. minReadySeconds is 2: without
# readiness probes a pod is Ready while its container runs, and a container
# that exits at once is Running for an instant (Kubernetes' semantics too).
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent a
start_agent b
start_ctrl scheduler
start_ctrl replicas

# deploy_yaml VERSION COMMAND CAUSE
deploy_yaml() {
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {kubernetes.io/change-cause: "$3"}
spec:
  replicas: 10
  progressDeadlineSeconds: 12
  minReadySeconds: 2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 3, maxUnavailable: 2}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        command: [sh, -c, "$2"]
        env:
        - {name: VERSION, value: "$1"}
EOF
}

# q PYTHON-EXPRESSION over `pods` (not deleting, not finished).
q() {
  hsctl get pods -o json | python3 -c "
import json, sys
d = json.load(sys.stdin)
items = d.get('items', [d]) if isinstance(d, dict) else d
pods = [p for p in items if not p['metadata'].get('deletionTimestamp')
        and p['status'].get('phase') not in ('Succeeded', 'Failed')]
def ready(p):
    return any(c['type'] == 'Ready' and c['status'] == 'True' for c in p['status'].get('conditions', []))
def env(p):
    return p['spec']['containers'][0]['env'][0]['value']
print($1)"
}
q_is() { [ "$(q "$1" 2>/dev/null)" = "$2" ]; }

# The sampler: every pod list, until $T/stop exists: "total ready" per line.
sampler() {
  python3 - "$T" <<'PY'
import json, os, subprocess, sys
t = sys.argv[1]
with open(os.path.join(t, "samples"), "w") as out:
    while not os.path.exists(os.path.join(t, "stop")):
        r = subprocess.run(["hsctl", "get", "pods", "-o", "json"], capture_output=True, text=True)
        if r.returncode != 0:
            continue
        d = json.loads(r.stdout)
        items = d.get("items", [d]) if isinstance(d, dict) else d
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")
                and p["status"].get("phase") not in ("Succeeded", "Failed")]
        ready = [p for p in live if any(c["type"] == "Ready" and c["status"] == "True"
                                         for c in p["status"].get("conditions", []))]
        out.write(f"{len(live)} {len(ready)}\n")
        out.flush()
PY
}

GOOD='sleep 3600 & wait'

# ---- the first rollout
deploy_yaml v1 "$GOOD" "first" >"$T/v1.yaml"
expect_out "deployment.apps/web created" hsctl apply -f "$T/v1.yaml"
hsctl rollout status deployment/web --timeout=60s >"$T/status1" 2>&1 ||
  fail "first rollout did not finish: $(cat "$T/status1"; hsctl get deploy,rs,pods)"
grep -q 'deployment "web" successfully rolled out' "$T/status1" || fail "$(cat "$T/status1")"
q_is "(len(pods), sum(map(ready, pods)))" "(10, 10)" || fail "not 10 ready pods: $(hsctl get pods)"
hsctl get deploy web --no-headers | grep -Eq '^web +10/10 +10 +10 ' || fail "$(hsctl get deploy web)"
hsctl get rs --no-headers | grep -Eq '^web-[bcdfghjklmnpqrstvwxz2456789]{10} +10 +10 +10 ' ||
  fail "no ReplicaSet web-<hash> of 10: $(hsctl get rs)"
q_is "all(p['metadata']['labels'].get('pod-template-hash') for p in pods)" True ||
  fail "pods lack pod-template-hash"
pass "10 replicas rolled out through ReplicaSet $(hsctl get rs --no-headers | awk '{print $1}')"

# ---- a template change rolls within maxSurge / maxUnavailable
sampler &
SAMPLER=$!
HS_PIDS+=("$SAMPLER")
wait_for 10 "the sampler's first sample" test -s "$T/samples"
deploy_yaml v2 "$GOOD" "second" >"$T/v2.yaml"
expect_out "deployment.apps/web configured" hsctl apply -f "$T/v2.yaml"
hsctl rollout status deployment/web --timeout=90s >"$T/status2" 2>&1 ||
  fail "rollout to v2 did not finish: $(cat "$T/status2"; hsctl get deploy,rs,pods)"
touch "$T/stop"
wait_for 20 "the sampler to stop" exited "$SAMPLER"
grep -q 'Waiting for deployment "web" rollout to finish: .*' "$T/status2" ||
  fail "rollout status printed no progress: $(cat "$T/status2")"
tail -n 1 "$T/status2" | grep -q 'deployment "web" successfully rolled out' || fail "$(cat "$T/status2")"
n=$(wc -l <"$T/samples")
max_total=$(awk 'BEGIN {m = 0} {if ($1 > m) m = $1} END {print m}' "$T/samples")
min_ready=$(awk 'BEGIN {m = 99} {if ($2 < m) m = $2} END {print m}' "$T/samples")
[ "$n" -ge 5 ] || fail "only $n samples during the rollout"
[ "$max_total" -le 13 ] || fail "$max_total pods at one sample (replicas 10 + maxSurge 3)"
[ "$min_ready" -ge 8 ] || fail "$min_ready ready pods at one sample (replicas 10 - maxUnavailable 2)"
wait_for 20 "10 v2 pods, no v1 left" q_is "(len(pods), sorted(set(map(env, pods))), sum(map(ready, pods)))" "(10, ['v2'], 10)"
[ "$(hsctl get rs --no-headers | awk '$2 == 0' | wc -l)" -eq 1 ] || fail "old ReplicaSet not at 0: $(hsctl get rs)"
pass "rolled to v2: $n samples, at most $max_total pods, at least $min_ready ready"

hsctl rollout history deployment/web >"$T/history"
grep -Eq '^REVISION +CHANGE-CAUSE' "$T/history" || fail "$(cat "$T/history")"
grep -Eq '^1 +first$' "$T/history" && grep -Eq '^2 +second$' "$T/history" ||
  fail "history lacks revisions 1 and 2: $(cat "$T/history")"
[ "$(grep -cE '^[0-9]+ ' "$T/history")" -eq 2 ] || fail "not 2 revisions: $(cat "$T/history")"
hsctl describe deploy web >"$T/describe"
grep -q "ScalingReplicaSet.*Scaled up replica set web-" "$T/describe" &&
  grep -q "ScalingReplicaSet.*Scaled down replica set web-" "$T/describe" ||
  fail "no ScalingReplicaSet Events: $(cat "$T/describe")"
pass "rollout history shows 2 revisions with their change-cause; ScalingReplicaSet Events"

# ---- a bad template stalls; the old pods stay available
deploy_yaml v3 "exit 1" "bad" >"$T/v3.yaml"
hsctl apply -f "$T/v3.yaml" >/dev/null
rc=0
hsctl rollout status deployment/web --timeout=60s >"$T/status3" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "rollout status of a stalled rollout exited $rc: $(cat "$T/status3")"
grep -q 'error: deployment "web" exceeded its progress deadline' "$T/status3" ||
  fail "$(cat "$T/status3")"
q_is "sum(1 for p in pods if env(p) == 'v2' and ready(p)) >= 8" True ||
  fail "old pods not available during the stall: $(hsctl get pods)"
q_is "sum(1 for p in pods if env(p) == 'v3') > 0 and all(p['status']['containerStatuses'][0].get('restartCount', 0) >= 1 for p in pods if env(p) == 'v3')" True ||
  fail "no crashing v3 pods: $(hsctl get pods)"
hsctl get rs -o json | python3 -c "
import json, sys
d = json.load(sys.stdin)
bad = [r for r in d['items'] if r['spec']['template']['spec']['containers'][0]['env'][0]['value'] == 'v3']
assert len(bad) == 1 and bad[0]['status'].get('availableReplicas', 0) == 0, bad
assert 0 < bad[0]['spec']['replicas'] <= 5, bad[0]['spec']
" || fail "the v3 ReplicaSet: $(hsctl get rs)"
hsctl get deploy web -o json | python3 -c "
import json, sys
d = json.load(sys.stdin)
c = {x['type']: x for x in d['status']['conditions']}
assert c['Progressing']['status'] == 'False' and c['Progressing']['reason'] == 'ProgressDeadlineExceeded', c
assert c['Available']['status'] == 'True', c
" || fail "conditions: $(hsctl get deploy web -o yaml)"
pass "a crashing template stalls: ProgressDeadlineExceeded, old pods still available"

# ---- undo goes back to v2
expect_out "deployment.apps/web rolled back" hsctl rollout undo deployment/web
hsctl rollout status deployment/web --timeout=60s >"$T/status4" 2>&1 ||
  fail "rollout after undo did not finish: $(cat "$T/status4"; hsctl get deploy,rs,pods)"
wait_for 20 "10 ready v2 pods only" q_is "(len(pods), sorted(set(map(env, pods))), sum(map(ready, pods)))" "(10, ['v2'], 10)"
hsctl rollout history deployment/web >"$T/history"
grep -Eq '^4 +second$' "$T/history" && grep -Eq '^3 +bad$' "$T/history" ||
  fail "after undo, v2 should be revision 4: $(cat "$T/history")"
expect_out "skipped rollback (current template already matches revision 4)" \
  hsctl rollout undo deployment/web --to-revision=4
pass "rollout undo: back to v2 (now revision 4), all ready"

# ---- pause, restart refused while paused, resume, restart rolls new pods
expect_out "deployment.apps/web paused" hsctl rollout pause deployment/web
expect_out 'error: deployments.apps "web" is already paused' hsctl rollout pause deployment/web
expect_rc 1 hsctl rollout restart deployment/web
expect_rc 1 hsctl rollout undo deployment/web
expect_out "deployment.apps/web resumed" hsctl rollout resume deployment/web
expect_out 'error: deployments.apps "web" is not paused' hsctl rollout resume deployment/web
old_pods=$(hsctl get pods -o name | sort)
expect_out "deployment.apps/web restarted" hsctl rollout restart deployment/web
hsctl rollout status deployment/web --timeout=90s >"$T/status5" 2>&1 ||
  fail "rollout after restart did not finish: $(cat "$T/status5"; hsctl get deploy,rs,pods)"
wait_for 60 "10 ready pods, none of the old ones" bash -c \
  "[ \"\$(hsctl get pods -o name | sort | comm -12 - <(echo '$old_pods') | wc -l)\" -eq 0 ] &&
   [ \"\$(hsctl get pods --no-headers | grep -c ' 1/1 *Running')\" -eq 10 ]"
hsctl get deploy web -o yaml | grep -q 'kubectl.kubernetes.io/restartedAt' ||
  fail "no restartedAt annotation in the template"
pass "rollout pause/resume; restart replaces every pod"

# ---- scale, then delete: the ReplicaSets and pods go
expect_out "deployment.apps/web scaled" hsctl scale deployment web --replicas=4
wait_for 30 "4 pods" q_is "len(pods)" 4
expect_out 'deployment.apps "web" deleted' hsctl delete deployment web
wait_for 40 "every ReplicaSet and pod gone" sh -c "[ -z \"\$(hsctl get rs,pods --no-headers 2>/dev/null)\" ]"
pass "scaled to 4; deleting the Deployment deletes its ReplicaSets and pods"
