#!/usr/bin/env bash
# The metrics heartbeats carry (docs/protocol.md §8), seen as a user sees
# them with hs-tap -o json after a few applies: hs-store's latency
# histograms (ack, fsync, write-ahead log), queue depth and acks by code;
# hs-scheduler's pods_bound, unschedulable_pods and pass histogram; hs_ctrl's
# reconcile_passes, work_queue_length and members (gauges for what goes
# down) in hs-replicas. Histograms must be
# well formed (cumulative, ascending bounds, +Inf = count).
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_ctrl scheduler
start_ctrl replicas

# One node with room for two pods of 1 CPU; a third pod of 8 CPUs fits nowhere.
cat >"$T/node.yaml" <<EOF
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {}
EOF
cat >"$T/node-status.yaml" <<EOF
apiVersion: v1
kind: Node
metadata: {name: n1}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady}
EOF
expect_out "node/n1 created" hsctl apply -f "$T/node.yaml"
expect_out "node/n1 replaced" hsctl replace --subresource=status -f "$T/node-status.yaml"
: >"$T/pods.yaml"
for p in a:1 b:1 big:8; do
  cat >>"$T/pods.yaml" <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: p-${p%%:*}}
spec:
  containers:
  - name: c
    command: [sleep, "1000"]
    resources: {requests: {cpu: "${p#*:}"}}
EOF
done
expect_out "pod/p-big created" hsctl apply -f "$T/pods.yaml"
for i in 1 2 3 4 5; do
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s}\ndata: {k: v}\n' "$i" >"$T/cm-$i.yaml"
  expect_out "configmap/cm-$i created" hsctl apply -f "$T/cm-$i.yaml"
done
# AlreadyExists: create what exists
expect_rc 1 hsctl create -f "$T/cm-1.yaml"
# on_n1: how many pods the NODE column puts on n1
on_n1() { hsctl get pods -o wide --no-headers | awk '$NF == "n1"' | wc -l; }
two_on_n1() { [ "$(on_n1)" -eq 2 ]; }
wait_for 20 "p-a and p-b bound" two_on_n1
pass "applies done: two pods bound, one unschedulable, six configmap commands"

# hb PREFIX FILE: the next heartbeat on PREFIX, as hs-tap's JSON line.
hb() { timeout 10 hs-tap -o json -c 1 "$1" >"$2" 2>>"$T/tap.err"; }

# check FILE PYTHON-CONDITIONS: the heartbeat in FILE satisfies them. The
# helpers: c(name) a counter, g(name) a gauge, h(name) a histogram (dict),
# every histogram checked for form first.
check() {
  python3 - "$1" "$2" 2>>"$T/hbcheck.log" <<'PY'
import json, sys
line = open(sys.argv[1]).read().strip()
env = json.loads(line)["envelope"]
hb = env.get("storeHeartbeat") or env.get("heartbeat")
assert hb, env
def num(v): return float(v) if isinstance(v, (int, float, str)) else v
cs = {c["name"]: int(c.get("value", 0)) for c in hb.get("counters", [])}
gs = {x["name"]: num(x.get("value", 0)) for x in hb.get("gauges", [])}
hs = {x["name"]: x for x in hb.get("histograms", [])}
for name, x in hs.items():
    b = [float(v) for v in x.get("bounds", [])]
    k = [int(v) for v in x.get("counts", [])]
    n = int(x.get("count", 0))
    assert len(b) == len(k) and len(b) > 0, (name, x)
    assert all(b[i] < b[i + 1] for i in range(len(b) - 1)), (name, b)
    assert all(k[i] <= k[i + 1] for i in range(len(k) - 1)), (name, k)
    assert k[-1] <= n, (name, k, n)
    assert float(x.get("sum", 0)) >= 0, (name, x)
    x["n"] = n
def c(n): return cs[n]
def g(n): return gs[n]
def h(n): return hs[n]
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("not yet:", json.dumps(hb)[:3000], file=sys.stderr)
    sys.exit(1)
PY
}

# hb_check PREFIX NAME CONDITIONS: the next heartbeat on PREFIX satisfies
# CONDITIONS; hb_until waits for one that does (the store's fsync counts
# come with its idle checkpoint, the scheduler's with its passes).
hb_check() { hb "$1" "$T/$2.json" && check "$T/$2.json" "$3"; }
hb_until() { wait_for 20 "a $2 heartbeat with $3" hb_check "$@"; }

hb_until hb.store store \
  'h("ack_duration_seconds")["n"] >= 9 and h("fsync_duration_seconds")["n"] > 0
   and h("wal_fsync_duration_seconds")["n"] > 0 and c("acks_ok") >= 8
   and c("acks_already_exists") >= 1 and c("checkpoints") > 0 and c("batches") > 0
   and "queue_depth" in gs and float(h("ack_duration_seconds")["sum"]) > 0'
pass "hb.store: ack, fsync and WAL histograms counted, acks by code, queue_depth"

hb_until hb.scheduler. scheduler \
  'c("pods_bound") == 2 and g("unschedulable_pods") == 1 and g("work_queue_length") == 1
   and h("pass_duration_seconds")["n"] > 0 and c("reconcile_passes") > 0'
pass "hb.scheduler: pods_bound 2, unschedulable_pods 1, work_queue_length 1, pass histogram"

hb_until hb.replicas. replicas \
  'c("reconcile_passes") > 0 and g("work_queue_length") == 0 and g("members") == 1
   and g("first_pass_done") == 1 and "inflight" in gs and "members" not in cs
   and h("pass_duration_seconds")["n"] > 0'
pass "hb.replicas: reconcile_passes, work_queue_length, members and inflight as gauges, pass histogram"

# The unschedulable pod goes: the gauge follows.
expect_out 'pod "p-big" deleted' hsctl delete pod p-big
hb_until hb.scheduler. scheduler2 'g("unschedulable_pods") == 0 and g("work_queue_length") == 0'
pass "unschedulable_pods back to 0 once the pod is deleted"
