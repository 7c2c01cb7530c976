#!/usr/bin/env bash
# The native launcher and the failure tour, as a user runs them
# (issue 5): `scripts/homeostat up` starts one agent, which runs the control
# plane as static pods; `scale` runs N instances of a controller; the
# failure tour kill -9s every component and a workload and must find every
# running workload untouched (it exits 1 otherwise); `down` leaves no
# process, cgroup or state behind. On the secured set hs-apiserver runs as a
# static pod too, and kubectl with the kubeconfig `up` wrote lists the nodes;
# hs-metrics serves /metrics.
source "$(dirname "$0")/lib.sh"
need_root_cgroups

export BIN=$HS_BIN HS_DEMO_DIR=$T/demo HS_DEMO_CGROUP=$HS_CG_PARENT HS_DEMO_NODES="tn1 tn2"
HS_TOUR_PORT=$(( $(free_port_pair) + 1 ))
export HS_TOUR_PORT
HS_API_PORT=$(free_port_pair)
export HS_API_PORT
HS_METRICS_PORT=$(free_port_pair)
export HS_METRICS_PORT
L=$HS_SRC/scripts/homeostat
down() { "$L" down >>"$T/down.log" 2>&1 || true; }
hs_on_exit down # before hs_cleanup, which keeps the test's exit status

"$L" up >"$T/up.log" 2>&1 || fail "homeostat up: $(tail -5 "$T/up.log")"
hsctl get pods -n homeostat-system >"$T/cp.txt"
for c in hs-bus hs-store hs-scheduler-1 hs-replicas-1 hs-jobs-1 hs-prober-1 hs-autoscaler-1 hs-apiserver hs-metrics; do
  grep -Eq "^$c-tn1 +1/1 +Running" "$T/cp.txt" || fail "no Running static pod $c-tn1: $(cat "$T/cp.txt")"
done
pass "one agent runs the whole control plane as static pods"
page=$(curl -sf "http://127.0.0.1:$HS_METRICS_PORT/metrics") || fail "hs-metrics: no /metrics on port $HS_METRICS_PORT"
[[ "$page" == *'kube_node_status_condition{node="tn2",condition="Ready",status="true"} 1'* ]] ||
  fail "hs-metrics does not show tn2 Ready: $(grep kube_node_status_condition <<<"$page")"
pass "hs-metrics (a static pod) serves /metrics on port $HS_METRICS_PORT"

if command -v kubectl >/dev/null; then
  grep -q "server: https://127.0.0.1:$HS_API_PORT" "$HS_PKI/kubeconfig" ||
    fail "the kubeconfig does not name port $HS_API_PORT: $(grep server: "$HS_PKI/kubeconfig")"
  out=$(kubectl --kubeconfig "$HS_PKI/kubeconfig" --cache-dir "$T/kc" get nodes 2>&1) ||
    fail "kubectl get nodes: $out"
  grep -Eq "^tn1 +Ready" <<<"$out" && grep -Eq "^tn2 +Ready" <<<"$out" || fail "kubectl get nodes: $out"
  pass "kubectl with the launcher's kubeconfig: hs-apiserver lists both nodes"
fi

"$L" scale replicas 3 >"$T/scale.log" 2>&1 || fail "scale: $(tail -5 "$T/scale.log")"
n=$(hsctl get components --no-headers | awk '$1 == "hs-replicas"' | wc -l)
[ "$n" -eq 3 ] || fail "$n hs-replicas instances after scale 3"
pass "scale replicas 3: three hs-replicas instances on the bus"

"$HS_SRC/scripts/failure-tour" --native >"$T/tour.log" 2>&1 || {
  cat "$T/tour.log" >&2
  fail "the failure tour found a disturbed workload or did not finish"
}
grep -A12 '^killed (kill -9)' "$T/tour.log"
for what in "the scheduler" "one hs-replicas instance of two" "the store" "the bus" \
            "the prober" "an agent" "a workload process"; do
  grep -q "^$what" "$T/tour.log" || fail "no row for $what in the tour's table"
done
pass "the failure tour: every kill stayed isolated"

"$L" down >"$T/down.log" 2>&1 || fail "down: $(tail -5 "$T/down.log")"
[ ! -d "$HS_DEMO_DIR" ] || fail "down left $HS_DEMO_DIR"
left=$(procs_naming "$HS_DEMO_DIR")
[ -z "$left" ] || fail "down left processes: $(ps -o pid,ppid,stat,etime,args -p "$(paste -sd, <<<"$left")")"
[ -z "$(find /sys/fs/cgroup -path "*/$HS_CG_PARENT*" 2>/dev/null)" ] || fail "down left cgroups"
pass "down: no process, cgroup or state left"
