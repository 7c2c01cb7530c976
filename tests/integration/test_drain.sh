#!/usr/bin/env bash
# hsctl drain: refuses pods no controller would recreate (without --force),
# then cordons the node and evicts its pods gracefully (the workload sees
# SIGTERM), skips mirror pods, and leaves the node cordoned.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
mkdir -p "$T/manifests"
cat >"$T/manifests/static.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: static
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "sleep 3600 & wait"]
EOF
start_agent n1 --manifests "$T/manifests"
wait_for 20 "the mirror pod" sh -c "hsctl get pods | grep -Eq '^static-n1 +1/1 +Running'"

for p in a b; do
  cat >"$T/$p.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $p
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'echo bye > $T/$p.term; exit 0' TERM; sleep 3600 & wait"]
EOF
  hsctl apply -f "$T/$p.yaml" >/dev/null
done
wait_for 20 "pods Running" sh -c "[ \$(hsctl get pods | grep -cE '^(a|b) +1/1 +Running') = 2 ]"

expect_rc 1 hsctl drain n1
expect_out 'cannot delete Pods that declare no controller (use --force to override): default/a default/b' hsctl drain n1
hsctl get node n1 | grep -q SchedulingDisabled && fail "a refused drain cordoned the node"
pass "drain refuses pods without a controller"

hsctl drain n1 --force >"$T/drain.out" 2>&1 || fail "drain --force: $(cat "$T/drain.out")"
grep -q 'node/n1 cordoned' "$T/drain.out" || fail "not cordoned: $(cat "$T/drain.out")"
grep -q 'node/n1 drained' "$T/drain.out" || fail "not drained: $(cat "$T/drain.out")"
grep -q 'static' "$T/drain.out" && fail "drain touched the mirror pod: $(cat "$T/drain.out")"
[ -s "$T/a.term" ] && [ -s "$T/b.term" ] || fail "the workloads did not see SIGTERM"
hsctl get pods >"$T/pods.out" 2>&1
grep -Eq '^(a|b) ' "$T/pods.out" && fail "pods left: $(cat "$T/pods.out")"
grep -q '^static-n1' "$T/pods.out" || fail "the mirror pod went"
hsctl get node n1 | grep -q SchedulingDisabled || fail "node not cordoned after drain"
pass "drain --force cordons, evicts gracefully, skips mirror pods"

expect_out 'Error from server (NotFound): nodes "nope" not found' hsctl drain nope
rm "$T/manifests/static.yaml"
wait_for 20 "static pod gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
