#!/usr/bin/env bash
# The real kubectl against hs-apiserver (issue 17), part 3: watches, deletes
# and nodes. get -w (--output-watch-events) while a pod is deleted; delete
# that returns only after the DELETED event of a graceful pod; delete -l;
# cordon, drain (refused without --force, then evicting everything but the
# mirror pod static-demo2), uncordon; describe node with its pods and, once
# the node's agent is gone, its NodeNotReady Event; events --for node.
# Each step compares the lines kubectl prints.
source "$(dirname "$0")/klib.sh"
start_kube_set

# pod NAME NODE GRACE: a pod bound to NODE that takes 1 s to stop on SIGTERM
pod() {
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels:
    app: $1
    group: solo
spec:
  nodeName: $2
  terminationGracePeriodSeconds: $3
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'sleep 1; exit 0' TERM; sleep 3600 & wait; sleep 1"]
EOF
  k apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
pod w1 demo 10
pod w2 demo 10
pod lone demo2 10
wait_for 30 "w1, w2, lone Running" sh -c "[ \"\$('$KUBECTL' --kubeconfig '$HS_PKI/kubeconfig' --server '$API_URL' --cache-dir '$KCACHE' get pods -l group=solo --field-selector status.phase=Running -o name | wc -l)\" -eq 3 ]"

# ---- get -w while a pod is deleted; delete waits for DELETED
bg watch k get pods -w --output-watch-events
WATCH=$BG
wait_for 20 "get -w to list" grep -qE '^ADDED +w1 ' "$T/watch.out"
t0=$(ms)
ok k delete pod w1
out_is 'pod "w1" deleted'
took=$(( $(ms) - t0 ))
[ "$took" -ge 900 ] || fail "delete returned after $took ms, before the pod's 1 s shutdown"
run k get pod w1
rc_is 1
err_is 'Error from server (NotFound): pods "w1" not found'
wait_for 20 "get -w to show DELETED w1" grep -qE '^DELETED +w1 ' "$T/watch.out"
grep -qE '^MODIFIED +w1 ' "$T/watch.out" || fail "no MODIFIED w1 (Terminating) before DELETED: $(cat "$T/watch.out")"
exited "$WATCH" && fail "get -w ended: $(cat "$T/watch.err")"
head -1 "$T/watch.out" | grep -qE '^EVENT +NAME +READY +STATUS +RESTARTS +AGE$' ||
  fail "get -w header: $(head -3 "$T/watch.out")"
[ "$(grep -c '^EVENT ' "$T/watch.out")" -eq 1 ] || fail "get -w printed the header again: $(cat "$T/watch.out")"
pass "get -w shows the deletion (MODIFIED then DELETED); delete returns after the DELETED event (${took} ms)"

ok k delete pod w2 --grace-period=0 --force
err_has 'Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated.'
out_is 'pod "w2" force deleted'
wait_for 20 "get -w to show DELETED w2" grep -qE '^DELETED +w2 ' "$T/watch.out"
kill -9 -- "-$WATCH" 2>/dev/null || true
pass "delete --grace-period=0 --force"

# ---- cordon, drain, uncordon
cat >"$T/spread.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: spread
spec:
  replicas: 4
  selector:
    matchLabels: {app: spread}
  template:
    metadata:
      labels: {app: spread}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        command: ["/bin/sh", "-c", "sleep 3600 & wait"]
EOF
ok k apply -f "$T/spread.yaml"
ok k rollout status deploy/spread --timeout=60s
ok k cordon demo2
out_is "node/demo2 cordoned"
ok k get nodes demo2 --no-headers
cell_is '^demo2 ' 2 Ready,SchedulingDisabled
run k drain demo2 --ignore-daemonsets --timeout=60s
rc_is 1
err_has 'cannot delete Pods that declare no controller (use --force to override): default/lone'
jp_is Running '{.status.phase}' pod lone || fail "a refused drain touched lone"
ok k drain demo2 --ignore-daemonsets --force --timeout=60s
out_has '^node/demo2 already cordoned$'
out_has '^evicting pod default/lone$'
out_has '^pod/lone evicted$'
out_has '^node/demo2 drained$'
grep -q static "$T/out" "$T/err" && fail "drain touched the mirror pod
$(show)"
ok k get pods --field-selector spec.nodeName=demo2 -o name
out_is "pod/static-demo2"
ok k get pods static-demo2 --no-headers
cell_is '^static-demo2 ' 3 Running
ok k rollout status deploy/spread --timeout=60s
ok k get pods -l app=spread -o wide --no-headers
[ "$(awk '$3 == "Running" && $7 == "demo"' "$T/out" | wc -l)" -eq 4 ] || fail "4 spread pods on demo
$(show)"
ok k uncordon demo2
out_is "node/demo2 uncordoned"
ok k get nodes demo2 --no-headers
cell_is '^demo2 ' 2 Ready
pass "cordon, drain (refused without --force, mirror pod untouched), uncordon"

ok k delete pods -l app=spread
[ "$(grep -cE '^pod "spread-[a-z0-9-]+" deleted$' "$T/out")" -eq 4 ] || fail "delete -l
$(show)"
pass "delete -l"

# ---- describe node, its Events once its agent is gone
ok k rollout status deploy/spread --timeout=60s
sn=$(jp '{.items[0].spec.nodeName}' pods -l app=spread)
wait_for 30 "describe node $sn to list the new spread pods" \
  k_out_has '^  default +spread-' describe node "$sn"
ok k describe node "$sn"
out_has "^Name: +$sn\$"
out_has '^Unschedulable: +false$'
out_has '^Non-terminated Pods: +\([0-9]+ in total\)$'
out_has '^  default +spread-'
out_has '^Events:'
pids=$(procs_naming "--node-name demo2")
[ -n "$pids" ] || fail "no agent for demo2"
for p in $pids; do
  grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
done
wait_for 30 "demo2 NotReady" k_out_has '^demo2 +(NotReady|Unknown)' get nodes demo2 --no-headers
wait_for 30 "demo2's NodeNotReady event" k_out_has 'NodeNotReady' describe node demo2
ok k describe node demo2
out_has '^Name: +demo2$'
out_has '^Events:$'
out_has '^  Normal +NodeNotReady +[0-9smhd]+ +hs-prober(, [^ ]+)? +Node demo2 status is now: NodeNotReady$'
ok k events --for node/demo2
out_has 'Normal +NodeNotReady +Node/demo2 +Node demo2 status is now: NodeNotReady$'
ok k get events -A --field-selector involvedObject.kind=Node
out_has 'Normal +NodeNotReady +node/demo2 +Node demo2 status is now: NodeNotReady$'
pass "describe node (pods, Events) and events --for node/demo2"

kill -0 "$API_PID" || fail "hs-apiserver died"
