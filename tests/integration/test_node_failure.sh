#!/usr/bin/env bash
# hs-prober's node monitoring with two real agents, the scheduler and the
# prober on its default flags (grace 1 s, eviction 1 s after):
# - kill -9 agent a and its workloads: node a goes Ready=Unknown
#   (NodeStatusUnknown, "Kubelet stopped posting node status.") within a few
#   seconds, gets the unreachable NoExecute/NoSchedule taints and a
#   NodeNotReady Event; its pods are Failed (reason NodeLost, Evicted
#   Event), except one tolerating unreachable for 4 s (evicted later) and
#   one tolerating it for ever; node b and its pods are untouched. With
#   hs-replicas built, a ReplicaSet of 4 gets its replacements Running on b.
# - restart agent a: Ready again, no unreachable taint left.
# - SIGSTOP agent b (its workloads keep running): NotReady and tainted;
#   SIGCONT: the agent re-posts Ready and the prober removes the taints.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent a --backoff-initial 1 --backoff-max 2
A_PID=$AGENT_PID
start_agent b --backoff-initial 1 --backoff-max 2
B_PID=$AGENT_PID
start_ctrl scheduler
start_ctrl prober
REPLICAS=0
if [ -x "$HS_BIN/hs-replicas" ]; then
  REPLICAS=1
  start_ctrl replicas
fi

# pod NAME NODE [TOLERATIONS YAML]
pod() {
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
${3:-}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
status_of() { hsctl get pod "$1" --no-headers | awk '{print $3}'; }
status_is() { [ "$(status_of "$1")" = "$2" ]; }
node_status() { hsctl get node "$1" --no-headers | awk '{print $2}'; }
node_not_ready() { case "$(node_status "$1")" in Unknown | NotReady) return 0 ;; esac; return 1; }
node_ready() { [ "$(node_status "$1")" = Ready ]; }
tainted() { hsctl get node "$1" -o yaml | grep -q 'node.kubernetes.io/unreachable'; }
untainted() { ! tainted "$1"; }
event() { hsctl get events --no-headers 2>/dev/null | grep -F "$1" | grep -F "$2" | grep -qF -- "$3"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
# kills node NODE's workloads: its shims (their command line names its state
# dir) and whatever is in its cgroups
kill_node_workloads() {
  local pid f
  for pid in $(grep -lsF -- "$T/agent-$1/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    kill -9 "$pid" 2>/dev/null || true
  done
  for f in $(find /sys/fs/cgroup -path "*/$HS_CG_PARENT/$1/*" -name cgroup.procs 2>/dev/null); do
    for pid in $(cat "$f" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
}

pod a-1 a
pod a-2 a
pod b-1 b
pod tol a "  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 4}"
pod stay a "  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}"
if [ $REPLICAS = 1 ]; then
  cat >"$T/rs.yaml" <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
EOF
  hsctl apply -f "$T/rs.yaml" >/dev/null || fail "apply rs"
fi
running_count() { hsctl get pods --no-headers ${1:+-l "$1"} | grep -c ' Running ' || true; }
want=5
[ $REPLICAS = 1 ] && want=9
wait_for 60 "$want pods Running" sh -c "[ \$(hsctl get pods --no-headers | grep -c ' Running ') -eq $want ]"
pass "pods running on a and b"

# ---- node a dies with its workloads
t0=$(ms)
kill -9 "$A_PID"
kill_node_workloads a
wait_for 20 "node a not Ready" node_not_ready a
took=$(($(ms) - t0))
echo "node a NotReady after ${took} ms"
[ "$took" -lt 8000 ] || fail "node a took ${took} ms to be NotReady (grace 1 s)"
hsctl get node a -o yaml >"$T/a.yaml"
grep -q 'reason: NodeStatusUnknown' "$T/a.yaml" || fail "reason: $(cat "$T/a.yaml")"
grep -q 'Kubelet stopped posting node status.' "$T/a.yaml" || fail "message: $(cat "$T/a.yaml")"
node_ready b || fail "node b is $(node_status b)"
wait_for 10 "NodeNotReady event" event node/a NodeNotReady "Node a status is now: NodeNotReady"
wait_for 10 "node a tainted" tainted a
hsctl get node a -o yaml | grep -A1 'node.kubernetes.io/unreachable' | grep -q NoExecute ||
  fail "no NoExecute taint: $(hsctl get node a -o yaml)"
pass "node a: Ready=Unknown, NodeNotReady, unreachable taints"

wait_for 15 "a-1 NodeLost" status_is a-1 NodeLost
wait_for 5 "a-2 NodeLost" status_is a-2 NodeLost
took=$(($(ms) - t0))
echo "pods of a Failed after ${took} ms"
status_is tol NodeLost && fail "tol evicted before its tolerationSeconds"
hsctl get pod a-1 -o json >"$T/a-1.json"
python3 - "$T/a-1.json" <<'PY' || fail "a-1: $(cat "$T/a-1.json")"
import json, sys
p = json.load(open(sys.argv[1]))
st = p["status"]
assert st["phase"] == "Failed", st
assert st["reason"] == "NodeLost", st
assert st["message"] == "Node a which was running pod a-1 is unresponsive", st
ready = [c for c in st["conditions"] if c["type"] == "Ready"][0]
assert ready["status"] == "False", ready
PY
event pod/a-1 Evicted "Node a is unresponsive" || fail "no Evicted event: $(hsctl get events)"
status_is b-1 Running || fail "b-1 is $(status_of b-1)"
pass "pods of a: Failed, NodeLost, Evicted; b untouched"

wait_for 15 "tol NodeLost after its 4 s" status_is tol NodeLost
status_is stay NodeLost && fail "stay (tolerating for ever) was evicted"
pass "tolerationSeconds delays eviction; a toleration without it keeps the pod"

if [ $REPLICAS = 1 ]; then
  wait_for 60 "4 web pods Running on b" sh -c \
    "[ \$(hsctl get pods -l app=web -o wide --no-headers | awk '\$3 == \"Running\" && \$NF == \"b\"' | wc -l) -eq 4 ]"
  pass "the ReplicaSet's replacements run on b"
else
  echo "hs-replicas not built: no replacement pods checked"
fi

# ---- node a comes back
start_agent a --backoff-initial 1 --backoff-max 2
wait_for 20 "node a Ready" node_ready a
wait_for 20 "node a untainted" untainted a
pass "node a back: Ready, taints gone"

# ---- agent b pauses (its workloads keep running), then resumes
kill -STOP "$B_PID"
wait_for 20 "node b not Ready" node_not_ready b
wait_for 10 "node b tainted" tainted b
kill -CONT "$B_PID"
wait_for 30 "node b Ready again" node_ready b
wait_for 20 "node b untainted by the prober" untainted b
node_ready a || fail "node a is $(node_status a)"
pass "node b paused and resumed: NotReady, tainted, then Ready and untainted"

start_tap hb hs-tap hb.prober. -o json -c 1
wait_for 10 "a prober heartbeat" grep -q '"nodes_notready"' "$T/hb.out"
grep -q '"evictions"' "$T/hb.out" || fail "heartbeat: $(cat "$T/hb.out")"
pass "prober heartbeat counts nodes_notready and evictions"
