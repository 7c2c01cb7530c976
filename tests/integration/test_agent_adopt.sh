#!/usr/bin/env bash
# kill -9 of hs-agent while pods run, then a restart: no workload is
# restarted (same pid, same startedAt, restartCount unchanged); a container
# that died meanwhile is reported with its real exit and restarted; a pod
# deleted meanwhile is stopped and its cgroup removed. The record is the
# agent's own LMDB file.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --backoff-max 2

pod() {
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "sleep 3600 & wait"]
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }
cpid() { field "$1" "p['status']['containerStatuses'][0]['containerID'].split('/')[-1]"; }
started() { field "$1" "p['status']['containerStatuses'][0]['state']['running']['startedAt']"; }
restarts() { field "$1" "p['status']['containerStatuses'][0].get('restartCount', 0)"; }

for p in keep dies gone; do pod $p; done
for p in keep dies gone; do
  wait_for 20 "$p Running" field_is $p "p['status']['phase']" Running
done
keep_pid=$(cpid keep); keep_started=$(started keep)
dies_pid=$(cpid dies); gone_pid=$(cpid gone)
gone_cg=$(grep -o "$HS_CG_PARENT/n1/[^/]*" "/proc/$gone_pid/cgroup" | head -1)
[ -n "$gone_cg" ] || fail "no cgroup for gone's container"
pass "three pods running"

# ---- the agent dies; meanwhile a container dies and a pod is deleted
kill -9 "$AGENT_PID"
wait_for 10 "the agent to die" exited "$AGENT_PID"
[ -d "/proc/$keep_pid" ] || fail "the agent's death took the workload with it"
kill -9 "$dies_pid"
hsctl delete pod gone --grace-period=0 --force >/dev/null 2>&1 || fail "force delete"
wait_for 10 "gone removed from the store" sh -c "! hsctl get pod gone >/dev/null 2>&1"
[ -d "/proc/$gone_pid" ] || fail "gone's container died without the agent"
pass "agent killed; the workloads outlive it"

# ---- the agent comes back
start_agent n1 --backoff-initial 1 --backoff-max 2
wait_for 10 "adoption logged" grep -q "adopted 3 pods from the agent's record" "$T/agent-n1.log"
[ "$(cpid keep)" = "$keep_pid" ] || fail "keep was restarted: pid $(cpid keep), was $keep_pid"
[ "$(started keep)" = "$keep_started" ] || fail "keep's startedAt changed"
[ "$(restarts keep)" = 0 ] || fail "keep's restartCount is $(restarts keep)"
[ -d "/proc/$keep_pid" ] || fail "keep's process is gone"
pass "adopted without a restart: same pid, same startedAt"

wait_for 20 "dies restarted ($(hsctl get pod dies -o yaml 2>&1))" sh -c "[ \"\$(hsctl get pod dies -o json | python3 -c \"import json,sys; print(json.load(sys.stdin)['status']['containerStatuses'][0].get('restartCount', 0))\")\" = 1 ]"
field_is dies "p['status']['containerStatuses'][0]['lastState']['terminated']['exitCode']" 137 ||
  fail "dies' lastState: $(hsctl get pod dies -o yaml)"
field_is dies "p['status']['containerStatuses'][0]['lastState']['terminated']['signal']" 9 ||
  fail "dies' signal"
wait_for 20 "dies Running again" field_is dies "p['status']['phase']" Running
[ "$(cpid dies)" != "$dies_pid" ] || fail "dies still reports its dead pid"
pass "a container that died meanwhile: real exit code reported, restarted per policy"

wait_for 20 "gone's container stopped" exited "$gone_pid"
wait_for 10 "gone's cgroup removed" sh -c "[ -z \"\$(find /sys/fs/cgroup -type d -path '*$gone_cg')\" ]"
pass "a pod deleted meanwhile: stopped and cleaned up"

# ---- a second restart adopts the restarted container too, and keeps the
# Node's spec: a cordon (and taints) set while it ran survive its restart
hsctl cordon n1 >/dev/null
kill -9 "$AGENT_PID"
wait_for 10 "the agent to die" exited "$AGENT_PID"
dies_pid2=$(cpid dies)
start_agent n1 --backoff-initial 1 --backoff-max 2
wait_for 10 "second adoption" grep -q 'adopted 2 pods from the agent' "$T/agent-n1.log"
[ "$(cpid dies)" = "$dies_pid2" ] && [ "$(restarts dies)" = 1 ] || fail "dies restarted again"
[ "$(cpid keep)" = "$keep_pid" ] || fail "keep restarted at the second adoption"
wait_for 10 "the third registration" sh -c "[ \$(grep -c 'registered node n1' '$T/agent-n1.log') -ge 3 ]"
hsctl get node n1 | grep -q 'Ready,SchedulingDisabled' || fail "the restart undid the cordon:
$(hsctl get node n1)"
hsctl uncordon n1 >/dev/null
pass "a second agent restart adopts everything again and keeps the cordon"

hsctl delete pod keep dies >/dev/null
wait_for 20 "pods gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
exited "$keep_pid" || fail "keep's process survived its delete"
pass "deleted after adoption: stopped"

# ---- a clean stop with no pods left leaves no cgroup behind: the agent
# removes its --cgroup-parent ($HS_CG_PARENT/n1; the first component only
# when this very process made it, and an earlier start did here)
kill -TERM "$AGENT_PID"
wait_for 10 "the agent to stop" exited "$AGENT_PID"
left=$(find /sys/fs/cgroup -type d -path "*/$HS_CG_PARENT/n1*" 2>/dev/null || true)
[ -z "$left" ] || fail "the agent's clean stop left cgroups:
$left"
pass "a clean stop removes the agent's cgroups"
