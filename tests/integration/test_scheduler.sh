#!/usr/bin/env bash
# hs-scheduler against a real hs-bus and hs-store, with nodes registered by
# hand (apply, then replace --subresource=status: capacity and Ready):
# binding and spreading, an unschedulable pod with Kubernetes' message and a
# FailedScheduling event, cordon/uncordon, a new node letting the pending pod
# schedule, and two schedulers racing for one node that never overcommit.
source "$(dirname "$0")/lib.sh"

# node NAME CPU MEMORY [LABEL=VALUE]: the Node and its status, Ready.
node() {
  local name=$1 cpu=$2 mem=$3 label=${4:-}
  {
    echo "apiVersion: v1"
    echo "kind: Node"
    echo "metadata:"
    echo "  name: $name"
    [ -n "$label" ] && echo "  labels: {${label%%=*}: ${label#*=}}"
    echo "spec: {}"
  } >"$T/node-$name.yaml"
  cat >"$T/node-$name-status.yaml" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $name
status:
  capacity: {cpu: "$cpu", memory: $mem, pods: "110"}
  allocatable: {cpu: "$cpu", memory: $mem, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady}
EOF
  expect_out "node/$name created" hsctl apply -f "$T/node-$name.yaml"
  expect_out "node/$name replaced" hsctl replace --subresource=status -f "$T/node-$name-status.yaml"
}

# pods FILE PREFIX COUNT CPU MEMORY [OWNER_UID] [EXTRA_SPEC_LINE]: COUNT pods in one file.
pods() {
  local file=$1 prefix=$2 n=$3 cpu=$4 mem=$5 owner=${6:-} extra=${7:-}
  : >"$file"
  for i in $(seq -w 1 "$n"); do
    {
      echo "---"
      echo "apiVersion: v1"
      echo "kind: Pod"
      echo "metadata:"
      echo "  name: $prefix-$i"
      echo "  labels: {app: $prefix}"
      if [ -n "$owner" ]; then
        echo "  ownerReferences:"
        echo "  - {apiVersion: apps/v1, kind: ReplicaSet, name: $prefix, uid: $owner, controller: true}"
      fi
      echo "spec:"
      [ -n "$extra" ] && echo "  $extra"
      echo "  containers:"
      echo "  - name: c"
      echo "    command: [sleep, \"1000\"]"
      echo "    resources:"
      echo "      requests: {cpu: $cpu, memory: $mem}"
    } >>"$file"
  done
}

# node_of POD: the NODE column of `get pods -o wide`.
node_of() { hsctl get pod "$1" -o wide --no-headers | awk '{print $NF}'; }
# count_on NODE [SELECTOR]: pods bound to NODE.
count_on() {
  hsctl get pods -o wide --no-headers ${2:+-l "$2"} | awk -v n="$1" '$NF == n' | wc -l
}
# unbound [SELECTOR]: pods with no node.
unbound() { hsctl get pods -o wide --no-headers ${1:+-l "$1"} | awk '$NF == "<none>"' | wc -l; }
all_bound() { [ "$(unbound "$1")" -eq 0 ]; }
# sched_ready LOG: the scheduler loaded its snapshot and is scheduling.
sched_ready() { grep -q "scheduling pods of schedulerName" "$T/$1.log"; }

start_bus
start_store

node n1 2 2Gi disk=ssd
node n2 2 2Gi
node n3 2 2Gi
run_out=$(hsctl get nodes --no-headers)
[ "$(echo "$run_out" | grep -c ' Ready ')" -eq 3 ] || fail "3 Ready nodes expected:
$run_out"
expect_rc 1 hsctl replace --subresource=status -f "$T/node-nosuch.yaml"
sed 's/name: n1/name: nosuch/' "$T/node-n1-status.yaml" >"$T/nosuch.yaml"
expect_rc 1 hsctl replace --subresource=status -f "$T/nosuch.yaml"
expect_out "Error from server (NotFound): error when replacing \"$T/nosuch.yaml\": nodes \"nosuch\" not found" \
  hsctl replace --subresource=status -f "$T/nosuch.yaml"
expect_out 'error: invalid subresource value: "scale". Must be one of [status]' \
  hsctl replace --subresource=scale -f "$T/nosuch.yaml"
pass "nodes registered and Ready through replace --subresource=status"

start sched1 "$HS_BIN/hs-scheduler" --bus "$HS_BUS" --instance s1
SCHED1=$LAST_PID
wait_for 20 "hs-scheduler s1 to be ready" sched_ready sched1

# ---- bound and spread: 6 replicas of one owner over 3 equal nodes, 2 each
pods "$T/web.yaml" web 6 100m 64Mi uid-web
expect_out "pod/web-1 created" hsctl apply -f "$T/web.yaml"
wait_for 10 "every web pod to be bound" all_bound app=web
for n in n1 n2 n3; do
  c=$(count_on $n app=web)
  [ "$c" -eq 2 ] || fail "expected 2 web pods on $n, got $c:
$(hsctl get pods -o wide)"
done
expect_out "Successfully assigned default/web-1 to $(node_of web-1)" hsctl describe pod web-1
expect_out "Scheduled" hsctl describe pod web-1
pass "6 pods of one owner bound, 2 per node, with Scheduled events"

# ---- nodeSelector: only n1 has disk=ssd
pods "$T/ssd.yaml" ssd 2 100m 64Mi "" "nodeSelector: {disk: ssd}"
hsctl apply -f "$T/ssd.yaml" >/dev/null
wait_for 10 "the ssd pods to be bound" all_bound app=ssd
[ "$(count_on n1 app=ssd)" -eq 2 ] || fail "ssd pods not on n1:
$(hsctl get pods -o wide)"
pass "nodeSelector honoured"

# ---- a pod too big for any node stays Pending, and says why
pods "$T/big.yaml" big 1 100m 3Gi
hsctl apply -f "$T/big.yaml" >/dev/null
msg="0/3 nodes are available: 3 Insufficient memory."
wait_for 10 "big-1 to be marked unschedulable" sh -c "hsctl describe pod big-1 | grep -qF '$msg'"
hsctl describe pod big-1 >"$T/out"
grep -Eq '^ +Warning +FailedScheduling +.* +default-scheduler +0/3 nodes are available: 3 Insufficient memory\.$' "$T/out" ||
  fail "no FailedScheduling event line in:
$(cat "$T/out")"
grep -Eq '^ +PodScheduled +False' "$T/out" || fail "PodScheduled is not False:
$(cat "$T/out")"
[ "$(node_of big-1)" = "<none>" ] || fail "big-1 was bound"
expect_out "reason: Unschedulable" hsctl get pod big-1 -o yaml
expect_out "$msg" hsctl get pod big-1 -o yaml
pass "unschedulable: PodScheduled=False with kube's message, and a FailedScheduling event"

# ---- cordon
expect_out "node/n1 cordoned" hsctl cordon n1
expect_out "node/n1 already cordoned" hsctl cordon n1
expect_out "SchedulingDisabled" hsctl get node n1
expect_rc 1 hsctl cordon nosuch
expect_out 'Error from server (NotFound): nodes "nosuch" not found' hsctl cordon nosuch
pods "$T/after.yaml" after 4 100m 64Mi
hsctl apply -f "$T/after.yaml" >/dev/null
wait_for 10 "the pods applied after the cordon to be bound" all_bound app=after
[ "$(count_on n1 app=after)" -eq 0 ] || fail "a pod went to the cordoned n1:
$(hsctl get pods -o wide)"
# the pending pod's message now counts n1 once, as unschedulable
msg2="0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory."
wait_for 15 "big-1's message to follow the cordon" sh -c "hsctl get pod big-1 -o yaml | grep -qF '$msg2'"
expect_out "node/n1 uncordoned" hsctl uncordon n1
expect_out "node/n1 already uncordoned" hsctl uncordon n1
wait_for 15 "big-1's message to follow the uncordon" sh -c "hsctl get pod big-1 -o yaml | grep -qF '$msg'"
# one log line per unschedulable transition (3 so far), not per attempt
c=$(grep -c "default/big-1 is unschedulable" "$T/sched1.log")
[ "$c" -eq 3 ] || fail "expected 3 unschedulable log lines for big-1, got $c:
$(cat "$T/sched1.log")"
pass "cordon: no new pod on n1, the message follows; uncordon"

# ---- a node big enough arrives: the pending pod schedules on it (retry on change)
node n4 4 8Gi
wait_for 5 "big-1 to be bound to the new node n4" sh -c '[ "$(hsctl get pod big-1 -o wide --no-headers | awk "{print \$NF}")" = n4 ]'
expect_out "Successfully assigned default/big-1 to n4" hsctl describe pod big-1
pass "a new node makes the pending pod schedule"

# ---- a clean stop on SIGTERM
kill -TERM "$SCHED1"
wait_for 10 "hs-scheduler to exit on SIGTERM" exited "$SCHED1"
rc=0
wait "$SCHED1" || rc=$?
[ "$rc" -eq 0 ] || fail "hs-scheduler exited $rc on SIGTERM"
pass "SIGTERM: clean exit"

# fresh_store: stop hs-store, start an empty one
fresh_store() {
  kill -TERM "$STORE_PID"
  wait_for 20 "hs-store to exit" exited "$STORE_PID"
  rm -rf "$T/store"
  start_store
}

# ---- the race: a fresh store, one node with room for exactly 10 pods of
# 100m, two schedulers, 40 pods at once
fresh_store
node tiny 1 8Gi
start race1 "$HS_BIN/hs-scheduler" --bus "$HS_BUS" --instance r1
R1=$LAST_PID
start race2 "$HS_BIN/hs-scheduler" --bus "$HS_BUS" --instance r2
R2=$LAST_PID
wait_for 20 "scheduler r1 to be ready" sched_ready race1
wait_for 20 "scheduler r2 to be ready" sched_ready race2
pods "$T/race.yaml" race 40 100m 16Mi
expect_out "pod/race-40 created" hsctl apply -f "$T/race.yaml"

race_msg="0/1 nodes are available: 1 Insufficient cpu."
# settled: 10 bound, 30 saying why; at every look, never more than 10 bound
settled() {
  local bound
  bound=$(count_on tiny)
  if [ "$bound" -gt 10 ]; then
    echo "OVERCOMMIT: $bound pods bound to tiny" >"$T/overcommit"
  fi
  [ "$bound" -eq 10 ] && [ "$(hsctl get pods -o yaml | grep -cF "$race_msg")" -eq 30 ]
}
wait_for 30 "10 race pods bound and 30 unschedulable" settled
[ ! -e "$T/overcommit" ] || fail "$(cat "$T/overcommit")"
# the requests of the bound pods (100m each) fit the node's allocatable (1 cpu)
sum=$(( $(count_on tiny) * 100 ))
[ "$sum" -le 1000 ] || fail "bound requests ${sum}m exceed the node's 1000m"
[ "$(unbound)" -eq 30 ] || fail "expected 30 pending pods"
# each pending pod got exactly one FailedScheduling event, not one per scheduler
p=$(hsctl get pods -o wide --no-headers | awk '$NF == "<none>" {print $1; exit}')
hsctl describe pod "$p" >"$T/out"
[ "$(grep -c 'FailedScheduling' "$T/out")" -eq 1 ] || fail "expected one FailedScheduling event:
$(cat "$T/out")"
grep -qF "$race_msg" "$T/out" || fail "no explanation on $p"
# both schedulers are live on the bus
hsctl get components >"$T/out"
grep -Eq '^hs-scheduler +r1 ' "$T/out" && grep -Eq '^hs-scheduler +r2 ' "$T/out" ||
  fail "both schedulers should heartbeat:
$(cat "$T/out")"
pass "two schedulers, 40 pods, room for 10: exactly 10 bound, 30 Pending with the reason"

# they share the pods by rendezvous hashing: each saw the other and owns a part
for r in race1 race2; do
  grep -q "2 scheduler instance(s)" "$T/$r.log" || fail "$r never saw its peer:
$(tail -n 20 "$T/$r.log")"
done
hsctl get components >"$T/out"
grep -E '^hs-scheduler +r[12] ' "$T/out" | grep -Eq ' [0-9]+/[0-9]+ \(' ||
  fail "get components shows no share:
$(cat "$T/out")"
# kill -9 one: its share moves to the survivor, which schedules every pod
# once a node with room arrives
kill -9 "$R1"
wait_for 10 "scheduler r1 to die" exited "$R1"
wait "$R1" 2>/dev/null || true
wait_for 10 "r2 to take r1's share" grep -q "1 scheduler instance(s)" "$T/race2.log"
node roomy 8 8Gi
all_bound() { [ "$(unbound)" -eq 0 ]; }
wait_for 30 "every race pod bound after r1's death" all_bound
pass "a killed scheduler's share moved to the survivor"

kill -TERM "$R2"
wait_for 10 "scheduler r2 to exit" exited "$R2"
rc=0
wait "$R2" || rc=$?
[ "$rc" -eq 0 ] || fail "hs-scheduler r2 exited $rc on SIGTERM"
pass "the surviving scheduler stopped cleanly"

# ---- the store's atomic bind is what keeps them honest: two schedulers
# serving different schedulerNames both believe the node has room for 10 of
# their own 20 pods; the store refuses the binds past its room
fresh_store
node tiny 1 8Gi
start alpha "$HS_BIN/hs-scheduler" --bus "$HS_BUS" --instance a1 --name alpha
A1=$LAST_PID
start beta "$HS_BIN/hs-scheduler" --bus "$HS_BUS" --instance b1 --name beta
B1=$LAST_PID
wait_for 20 "scheduler alpha to be ready" sched_ready alpha
wait_for 20 "scheduler beta to be ready" sched_ready beta
pods "$T/alpha.yaml" alpha 20 100m 16Mi "" "schedulerName: alpha"
pods "$T/beta.yaml" beta 20 100m 16Mi "" "schedulerName: beta"
# one command: both sets appear at once
hsctl apply -f "$T/alpha.yaml" -f "$T/beta.yaml" >/dev/null
rm -f "$T/overcommit"
wait_for 30 "10 of the 40 bound, 30 unschedulable" settled
[ ! -e "$T/overcommit" ] || fail "$(cat "$T/overcommit")"
[ "$(count_on tiny)" -eq 10 ] || fail "expected 10 pods on tiny"
pass "two schedulers of different names, one node: never more than its room bound"

# ---- a deleted pod frees room: one pending pod takes it (retry on change)
victim=$(hsctl get pods -o wide --no-headers | awk '$NF == "tiny" {print $1; exit}')
expect_rc 0 hsctl delete pod "$victim" --grace-period=0 --force
rebound() { [ "$(unbound)" -eq 29 ] && [ "$(count_on tiny)" -eq 10 ]; }
wait_for 5 "a pending pod to take the freed room" rebound
[ ! -e "$T/overcommit" ] || fail "$(cat "$T/overcommit")"
pass "a deleted pod's room goes to a pending pod"

kill -TERM "$A1" "$B1"
for p in "$A1" "$B1"; do
  wait_for 10 "hs-scheduler $p to exit" exited "$p"
  rc=0
  wait "$p" || rc=$?
  [ "$rc" -eq 0 ] || fail "hs-scheduler $p exited $rc on SIGTERM"
done
# under ASan/UBSan a report in any log is a failure, even when the exit was clean
! grep -l -E "runtime error|Sanitizer" "$T"/*.log || fail "sanitizer reports in the logs"
pass "no sanitizer reports"
