#!/usr/bin/env bash
# hs-agent runs pods as real, isolated processes: Node registration, a
# running pod in its own namespaces and cgroup, crash restarts with backoff
# (visible in status and Events), OOMKilled from the cgroup's counter,
# Completed/Succeeded, a command that does not exist, and a graceful delete
# that the workload observes. Pods are bound by nodeName (no scheduler).
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --backoff-max 2

run() { RC=0; "$@" >"$T/out" 2>&1 || RC=$?; }
has_line() { grep -Eq -- "$1" "$T/out" || fail "no line matching /$1/ in:
$(cat "$T/out")"; }

# pod NAME POLICY 'SHELL COMMAND' [EXTRA YAML under the container]
pod() {
  local script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$3")
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  nodeName: n1
  restartPolicy: $2
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
${4:-}
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}

# field POD JSONPATH-ish python expression on the pod's JSON
field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }

# ---- the Node
run hsctl get nodes
has_line '^n1 +Ready'
run hsctl get node n1 -o yaml
has_line 'kubernetes.io/hostname: n1'
has_line 'cpu:'
pass "node registered and Ready"

# ---- a running pod, isolated
pod web Always "trap 'echo term > $T/web.term; exit 0' TERM; echo pid=\$\$; hostname; sleep 3600 & wait" '    resources:
      limits:
        memory: 64Mi
        cpu: 500m'
wait_for 20 "web Running" field_is web "p['status']['phase']" Running
run hsctl get pods
has_line '^web +1/1 +Running +0 '
cid=$(field web "p['status']['containerStatuses'][0]['containerID']")
pid=${cid##*/}
[ -d "/proc/$pid" ] || fail "container pid $pid not alive"
[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || fail "no PID namespace"
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "no mount namespace"
grep -q "$HS_CG_PARENT/n1/" "/proc/$pid/cgroup" || fail "not in its cgroup: $(cat /proc/$pid/cgroup)"
# The limits, in the files of the cgroup version the host runs: 64Mi, and
# 500m as a 50 ms quota per 100 ms period.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  memcg=$(find /sys/fs/cgroup -type d -path "*$HS_CG_PARENT/n1/*_main" | head -1)
  [ "$(cat "$memcg/memory.max")" = $((64 * 1024 * 1024)) ] || fail "memory.max not set"
  [ "$(cat "$memcg/cpu.max")" = "50000 100000" ] || fail "cpu.max: $(cat "$memcg/cpu.max")"
else
  memcg=$(find /sys/fs/cgroup/memory -type d -path "*$HS_CG_PARENT/n1/*_main" | head -1)
  [ "$(cat "$memcg/memory.limit_in_bytes")" = $((64 * 1024 * 1024)) ] || fail "memory limit not set"
  cpucg=$(find /sys/fs/cgroup/cpu -type d -path "*$HS_CG_PARENT/n1/*_main" | head -1)
  [ "$(cat "$cpucg/cpu.cfs_quota_us")" = 50000 ] || fail "cpu quota: $(cat "$cpucg/cpu.cfs_quota_us")"
fi
log=$(find "$T/agent-n1" -name container.log -path "*web*" | head -1)
wait_for 10 "web's log" grep -q 'stdout F pid=1' "$log"
grep -q 'stdout F web' "$log" || fail "hostname is not the pod's name: $(cat "$log")"
pass "pod runs as pid 1 of its own namespaces, in its cgroup, with its limits"

# ---- crash, restart, backoff
pod crash Always 'echo crashing; exit 3'
wait_for 20 "crash restarted twice" sh -c "[ \$(hsctl get pod crash -o json | python3 -c \"import json,sys; print(json.load(sys.stdin)['status']['containerStatuses'][0].get('restartCount', 0))\") -ge 2 ]"
wait_for 10 "CrashLoopBackOff" sh -c "hsctl get pods | grep -E '^crash .*CrashLoopBackOff'"
field_is crash "p['status']['containerStatuses'][0]['lastState']['terminated']['exitCode']" 3 ||
  fail "lastState exit code: $(hsctl get pod crash -o yaml)"
field_is crash "p['status']['containerStatuses'][0]['lastState']['terminated']['reason']" Error ||
  fail "lastState reason"
run hsctl describe pod crash
has_line 'BackOff.*Back-off restarting failed container main'
has_line 'Started.*Started container main'
# every start says the same: one Event, counted (kubectl's "x3 over 5s")
has_line 'Started .*\(x[0-9]+ over [0-9a-z]+\).*Started container main'
pass "a crash is restarted with backoff, visible in status and Events (merged)"

# ---- OOMKilled, read from the cgroup
pod oom Never 'python3 -c "b = bytearray(256 * 1024 * 1024)"' '    resources:
      limits:
        memory: 32Mi'
wait_for 20 "oom Failed" field_is oom "p['status']['phase']" Failed
field_is oom "p['status']['containerStatuses'][0]['state']['terminated']['reason']" OOMKilled ||
  fail "not OOMKilled: $(hsctl get pod oom -o yaml)"
field_is oom "p['status']['containerStatuses'][0]['state']['terminated']['exitCode']" 137 ||
  fail "exit code is not 137"
pass "OOMKilled reported"

# ---- Completed, Succeeded
pod done Never 'exit 0'
wait_for 20 "done Succeeded" field_is done "p['status']['phase']" Succeeded
field_is done "p['status']['containerStatuses'][0]['state']['terminated']['reason']" Completed ||
  fail "not Completed"
pass "Completed / Succeeded"

# ---- a command that does not exist
cat >"$T/nocmd.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: nocmd
spec:
  nodeName: n1
  containers:
  - name: main
    command: ["/nonexistent/foo"]
EOF
hsctl apply -f "$T/nocmd.yaml" >/dev/null
wait_for 20 "ContainerCannotRun" field_is nocmd "p['status']['containerStatuses'][0]['state'].get('waiting', {}).get('reason')" ContainerCannotRun
field_is nocmd "p['status']['containerStatuses'][0]['state']['waiting']['message']" 'exec "/nonexistent/foo": no such file or directory' ||
  fail "message: $(hsctl get pod nocmd -o yaml)"
pass "ContainerCannotRun with the exec error"

# ---- graceful delete, observed by the workload
run hsctl delete pod web
has_line 'pod "web" deleted'
wait_for 20 "the workload's TERM trap" test -s "$T/web.term"
wait_for 20 "web gone from the store" sh -c "! hsctl get pod web >/dev/null 2>&1"
exited "$pid" || fail "container pid $pid still alive"
wait_for 10 "web's cgroup removed" sh -c "! find /sys/fs/cgroup -type d -path '*$HS_CG_PARENT/n1/*' | grep -q \"\$(basename $memcg)\""
pass "graceful delete: SIGTERM seen by the workload, pod and cgroup gone"

# ---- a pod force-deleted and created again under the same name
pod again Always "echo one > $T/again.1; sleep 3600 & wait"
wait_for 20 "again Running" field_is again "p['status']['phase']" Running
old=$(field again "p['status']['containerStatuses'][0]['containerID'].split('/')[-1]")
hsctl delete pod again --grace-period=0 --force >/dev/null 2>&1
pod again Always "echo two > $T/again.2; sleep 3600 & wait"
wait_for 20 "the new pod's process" test -s "$T/again.2"
wait_for 20 "the old pod's process stopped" exited "$old"
wait_for 20 "the new pod Running" sh -c "hsctl get pod again -o json | grep -q running && [ \"\$(hsctl get pod again -o json | python3 -c \"import json,sys; print(json.load(sys.stdin)['status']['containerStatuses'][0]['containerID'].split('/')[-1])\")\" != '$old' ]"
# its shim may take a moment more to exit after its container
wait_for 10 "no process of the old pod left" sh -c "! pgrep -f 'again[.]1'"  # [.]: not this sh
[ "$(pgrep -f "^/bin/sh -c echo two" | wc -l)" = 1 ] || fail "not exactly one process for the new pod: $(pgrep -af "echo two")"
pass "a pod re-created under the same name replaces the old one"

# ---- everything deleted: no container left
for p in crash oom done nocmd again; do hsctl delete pod "$p" >/dev/null; done
wait_for 30 "all pods gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
wait_for 10 "no container cgroup left" sh -c "[ -z \"\$(find /sys/fs/cgroup -mindepth 1 -type d -path '*$HS_CG_PARENT/n1/*')\" ]"
pass "every pod deleted and cleaned up"

# ---- a clean stop: SIGTERM, exit 0, no sanitizer report (ASan builds)
kill -TERM "$AGENT_PID"
wait_for 10 "the agent to stop" exited "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM"
! grep -Eq 'Sanitizer|runtime error' "$T/agent-n1.log" || fail "sanitizer report: $(grep -E -A20 'Sanitizer|runtime error' "$T/agent-n1.log")"
pass "SIGTERM: clean exit"
