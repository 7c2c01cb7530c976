#!/usr/bin/env bash
# Two hs-replicas instances (r1, r2) share 6 ReplicaSets and 3 Deployments
# on 5 hollow nodes (hs-hollow): both own a share and everything
# converges; killed with SIGKILL while a Deployment it owns scales up, r1's
# share moves to r2 and converges; r1 comes back, takes its share back, and
# another round of scaling converges. A sampler checks every pod list from
# the start: no ReplicaSet or Deployment ever has more pods than replicas.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start sim "$HS_BIN/hs-hollow" 5 --bus "$HS_BUS"
wait_for 20 "5 hollow nodes Ready" sh -c "[ \$(hsctl get nodes --no-headers | grep -c ' Ready') -eq 5 ]"
start_ctrl scheduler
start_ctrl replicas --instance r1 --member-timeout-ms 1000
R1=$CTRL_PID
start_ctrl replicas --instance r2 --member-timeout-ms 1000

# The owner of a key among live instances (hs_rendezvous_score, bus/hs_ctrl.c).
owner() { # KEY INSTANCE...
  python3 - "$@" <<'PY'
import sys
M = (1 << 64) - 1
def score(inst, key):
    h = 14695981039346656037
    for b in inst.encode() + b"\0" + key.encode():
        h = ((h ^ b) * 1099511628211) & M
    h ^= h >> 33; h = (h * 0xff51afd7ed558ccd) & M
    h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) & M
    h ^= h >> 33
    return h
key, insts = sys.argv[1], sys.argv[2:]
print(max(insts, key=lambda i: score(i, key)))
PY
}

manifests() { # the 6 ReplicaSets (rs-N: 8 replicas) and 3 Deployments (d-N: 10)
  for i in 0 1 2 3 4 5; do
    cat <<EOF
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs-$i}
spec:
  replicas: 8
  selector: {matchLabels: {app: rs-$i}}
  template:
    metadata: {labels: {app: rs-$i}}
    spec:
      containers: [{name: main, command: [sh, -c, "sleep 3600 & wait"]}]
EOF
  done
  for i in 0 1 2; do
    cat <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d-$i}
spec:
  replicas: 10
  selector: {matchLabels: {app: d-$i}}
  template:
    metadata: {labels: {app: d-$i}}
    spec:
      containers: [{name: main, command: [sh, -c, "sleep 3600 & wait"]}]
EOF
  done
}

# The sampler: every snapshot of ReplicaSets, Deployments and pods until
# $T/stop; a line in $T/over for each owner with more active pods than its
# replicas, and "N" (the sample count) in $T/count.
sampler() {
  python3 - "$T" <<'PY'
import json, os, subprocess, sys
t = sys.argv[1]
n = 0
over = open(os.path.join(t, "over"), "w")
while not os.path.exists(os.path.join(t, "stop")):
    r = subprocess.run(["hsctl", "get", "rs,deployments,pods", "-o", "json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        continue
    items = json.loads(r.stdout).get("items", [])
    pods = [p for p in items if p["kind"] == "Pod" and not p["metadata"].get("deletionTimestamp")
            and p["status"].get("phase") not in ("Succeeded", "Failed")]
    for o in items:
        if o["kind"] not in ("ReplicaSet", "Deployment"):
            continue
        app = o["spec"]["selector"]["matchLabels"]["app"]
        have = sum(1 for p in pods if p["metadata"].get("labels", {}).get("app") == app)
        want = o["spec"].get("replicas", 1)
        if o["kind"] == "ReplicaSet" and app.startswith("d-"):
            continue  # a Deployment's: counted with the Deployment
        if have > want:
            over.write(f"sample {n}: {o['kind']} {o['metadata']['name']}: {have} pods > {want}\n")
            over.flush()
    n += 1
    with open(os.path.join(t, "count"), "w") as f:
        f.write(f"{n}\n")
PY
}
sampler &
SAMPLER=$!
HS_PIDS+=("$SAMPLER")
wait_for 10 "the sampler's first sample" test -s "$T/count"
no_overshoot() {
  [ ! -s "$T/over" ] || fail "more pods than replicas: $(head -5 "$T/over")"
}

# converged R0 R1 R2 R3 R4 R5 D0 D1 D2: every owner's pods Running, exactly.
converged() {
  hsctl get pods -o json | python3 -c "
import json, sys
want = dict(zip(['rs-0','rs-1','rs-2','rs-3','rs-4','rs-5','d-0','d-1','d-2'], map(int, sys.argv[1:])))
items = json.load(sys.stdin).get('items', [])
have = {}
for p in items:
    if p['metadata'].get('deletionTimestamp') or p['status'].get('phase') != 'Running':
        continue
    a = p['metadata'].get('labels', {}).get('app')
    have[a] = have.get(a, 0) + 1
live = sum(1 for p in items if not p['metadata'].get('deletionTimestamp'))
sys.exit(0 if all(have.get(k, 0) == v for k, v in want.items()) and live == sum(want.values()) else 1)
" "$@"
}

# ---- two instances share the work
manifests >"$T/all.yaml"
hsctl apply -f "$T/all.yaml" >/dev/null
wait_for 60 "78 pods Running" converged 8 8 8 8 8 8 10 10 10
no_overshoot
wait_for 10 "both instances heard" sh -c "[ \$(hsctl get components --no-headers | grep -c '^hs-replicas') -eq 2 ]"
keys="default/rs-0 default/rs-1 default/rs-2 default/rs-3 default/rs-4 default/rs-5 default/d-0 default/d-1 default/d-2"
n1=0
for k in $keys; do [ "$(owner "$k" r1 r2)" = r1 ] && n1=$((n1 + 1)); done
[ "$n1" -gt 0 ] && [ "$n1" -lt 9 ] || fail "rendezvous gave r1 $n1 of 9 owners"
pass "two instances: 78 pods converged, never more than replicas (r1 owns $n1 of 9)"

# ---- kill r1 while a Deployment it owns scales up
victim=""
for i in 0 1 2; do [ "$(owner "default/d-$i" r1 r2)" = r1 ] && victim=d-$i && break; done
[ -n "$victim" ] || victim=d-0
want=(8 8 8 8 8 8 10 10 10)
want[$((6 + ${victim#d-}))]=40
hsctl scale deployment "$victim" --replicas=40 >/dev/null
kill -9 "$R1"
wait_for 10 "r1 gone" exited "$R1"
wait_for 60 "$victim at 40 with r2 alone" converged "${want[@]}"
no_overshoot
wait_for 10 "r2 noticed" grep -q "peer r1 left" "$T/replicas-r2.log"
pass "r1 killed while scaling $victim: r2 took over and converged"

# ---- r1 comes back; more scaling converges with no duplicates
start_ctrl replicas --instance r1 --member-timeout-ms 1000
wait_for 10 "r2 heard r1 again" sh -c "[ \$(grep -c 'peer r1 joined' '$T/replicas-r2.log') -ge 2 ]"
for i in 0 1 2 3 4 5; do hsctl scale rs "rs-$i" --replicas=12 >/dev/null; done
for i in 0 1 2; do hsctl scale deployment "d-$i" --replicas=40 >/dev/null; done
wait_for 60 "everything at its new size" converged 12 12 12 12 12 12 40 40 40
touch "$T/stop"
wait_for 20 "the sampler to stop" exited "$SAMPLER"
no_overshoot
samples=$(cat "$T/count")
[ "$samples" -ge 10 ] || fail "only $samples samples"
# r1 acted again after its restart (it owns part of the keys)
[ "$(grep -c "first pass done" "$T/replicas-r1.log")" -eq 2 ] || fail "the new r1 did not start acting"
pass "r1 back: 192 pods converged; $samples samples, never more pods than replicas"
