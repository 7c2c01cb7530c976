#!/usr/bin/env bash
# Rejoin under churn (issue 4, "Rejoin" and "Scaling"): on 8 hollow nodes, a
# Deployment of 20 (maxSurge 2) rolls to a new template and scales while a
# Job of 40 completions at parallelism 5 runs; meanwhile every controller
# (hs-replicas, hs-jobs, hs-scheduler, hs-prober) is kill -9'd and started
# again, one after the other, and hs-replicas runs as two instances for part
# of it. A sampler reads the store all along: never more than replicas +
# maxSurge active pods of the Deployment, never more than parallelism active
# pods of the Job. At the end everything converged: the Deployment fully
# rolled and available, the Job Complete with exactly 40 successes.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start sim "$HS_BIN/hs-hollow" 8 --bus "$HS_BUS" --status-interval-ms 2000
wait_for 30 "8 Ready hollow nodes" sh -c "[ \$(hsctl get nodes --no-headers | grep -c ' Ready ') -eq 8 ]"
start_ctrl scheduler --instance s1
start_ctrl replicas --instance r1
start_ctrl jobs --instance j1 --backoff-base-ms 200
start_ctrl prober --instance p1

deploy() { # deploy VERSION REPLICAS
  cat >"$T/deploy.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $2
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 2, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        command: ["sh", "-c", "sleep 3600 & wait"]
        env: [{name: VERSION, value: "$1"}]
EOF
  hsctl apply -f "$T/deploy.yaml" >/dev/null
}
cat >"$T/job.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: batch}
spec:
  completions: 40
  parallelism: 5
  template:
    metadata:
      annotations: {homeostat.io/simulate-run-seconds: "1"}
    spec:
      restartPolicy: Never
      containers:
      - name: work
        command: ["sh", "-c", "exit 0"]
EOF

# The sampler: every read of the store, the active pods of each owner.
cat >"$T/sampler.py" <<'PY'
import json, os, subprocess, sys, time
t, limit_job = sys.argv[1], int(sys.argv[2])
worst = {"web": 0, "batch": 0}
samples = 0
while not os.path.exists(t + "/stop"):
    r = subprocess.run(["hsctl", "get", "pods", "-o", "json"], capture_output=True, text=True)
    if r.returncode != 0:
        continue
    items = json.loads(r.stdout).get("items", [])
    n = {"web": 0, "batch": 0}
    for p in items:
        m, st = p["metadata"], p.get("status", {})
        if m.get("deletionTimestamp") or st.get("phase") in ("Succeeded", "Failed"):
            continue
        lab = m.get("labels", {})
        if lab.get("app") == "web":
            n["web"] += 1
        elif lab.get("job-name") == "batch":
            n["batch"] += 1
    with open(t + "/limit") as f:
        limit_web = int(f.read())
    samples += 1
    for k in n:
        worst[k] = max(worst[k], n[k])
    if n["web"] > limit_web or n["batch"] > limit_job:
        with open(t + "/violation", "a") as f:
            f.write(f"sample {samples}: {n['web']} web pods (max {limit_web}), "
                    f"{n['batch']} job pods (max {limit_job})\n")
with open(t + "/sampler.out", "w") as f:
    f.write(f"{samples} samples, at most {worst['web']} web and {worst['batch']} job pods\n")
PY
# $T/limit: replicas + maxSurge for the Deployment, written before each change
# (while scaling down, the larger until the smaller is reached). Replaced with
# a rename, never rewritten in place: the sampler must not read it half-written.
set_limit() {
  echo "$1" >"$T/limit.new"
  mv -f "$T/limit.new" "$T/limit"
}
set_limit 22
start sampler python3 "$T/sampler.py" "$T" 5
SAMPLER=$LAST_PID

deploy v1 20
hsctl apply -f "$T/job.yaml" >/dev/null
avail() { # avail N VERSION: N updated, available replicas and no old ones left
  hsctl get deploy web -o json | python3 -c "
import json,sys
d=json.load(sys.stdin); s=d.get('status',{}); n=int(sys.argv[1])
ok = d['metadata'].get('generation') == s.get('observedGeneration') and \
  s.get('updatedReplicas',0)==n and s.get('availableReplicas',0)==n and s.get('replicas',0)==n
sys.exit(0 if ok else 1)" "$1"
}
wait_for 60 "web at 20 available" avail 20

restart() { # restart NAME INSTANCE [ARGS]: kill -9, then start again
  local name=$1 inst=$2; shift 2
  local pid
  pid=$(pgrep -f "hs-$name --bus $HS_BUS --instance $inst" | head -1) ||
    fail "no hs-$name $inst running"
  kill -9 "$pid"
  wait_for 10 "hs-$name $inst to die" exited "$pid"
  start_ctrl "$name" --instance "$inst" "$@"
}

# churn: a rollout, each controller killed and restarted during it
deploy v2 20
restart replicas r1
restart jobs j1 --backoff-base-ms 200
restart scheduler s1
set_limit 26
deploy v3 24
restart prober p1
# two hs-replicas instances, then one of them killed in the middle of a rollout
start_ctrl replicas --instance r2
deploy v4 24
restart replicas r2
wait_for 90 "web rolled to v4 at 24 available" avail 24
kill -9 "$(pgrep -f "hs-replicas --bus $HS_BUS --instance r2" | head -1)"
deploy v5 20
wait_for 90 "web rolled to v5 at 20 available (r1 alone)" avail 20
set_limit 22

jobdone() {
  hsctl get job batch -o json | python3 -c "
import json,sys
s=json.load(sys.stdin).get('status',{})
ok=any(c['type']=='Complete' and c['status']=='True' for c in s.get('conditions',[]))
sys.exit(0 if ok and s.get('succeeded')==40 else 1)"
}
wait_for 120 "job batch Complete with 40 successes" jobdone
# the pods of the finished rollout carry v5 only
hsctl get pods -l app=web -o json | python3 -c "
import json,sys
pods=[p for p in json.load(sys.stdin)['items'] if not p['metadata'].get('deletionTimestamp')]
v={e['value'] for p in pods for c in p['spec']['containers'] for e in c.get('env',[])}
sys.exit(0 if len(pods)==20 and v=={'v5'} else 1)" || fail "web pods are not exactly 20 at v5:
$(hsctl get pods -l app=web)"
[ "$(hsctl get pods -l job-name=batch --no-headers | grep -c Completed)" -eq 40 ] ||
  fail "expected exactly 40 completed job pods:
$(hsctl get pods -l job-name=batch)"

touch "$T/stop"
wait_for 30 "the sampler to finish" exited "$SAMPLER"
cat "$T/sampler.out"
[ ! -e "$T/violation" ] || fail "limits broken during the churn:
$(head -20 "$T/violation")"
pass "every controller killed and restarted during churn; converged with no duplicates"
