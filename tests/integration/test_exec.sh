#!/usr/bin/env bash
# hsctl exec, through the bus to the node agent and hs-shim --exec --stream:
# stdout and stderr apart, the exit code (0, 3, a signal: 128+9), -c and
# kubectl's defaulted container, kubectl's errors (unknown pod or container,
# a completed pod, an unscheduled pod, a node without agent, -i/-t, no
# command), output that streams before the command ends, a large output
# with nothing lost, Ctrl-C that kills the remote command, and the
# container's hostname, pid namespace, cgroup and environment (Service
# variables included) as the command sees them.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): hs-send puts malformed frames on exec.<node>, which a secured
# hs-bus drops before the agent sees them (tests/security counts those).
hs_insecure

start_bus
start_store
start_agent n1

run() { RC=0; "$@" >"$T/out" 2>"$T/err" || RC=$?; }
out_is() {
  [ "$(cat "$T/out")" = "$1" ] || fail "stdout of the last command:
$(cat "$T/out")
-- expected:
$1
-- stderr: $(cat "$T/err")"
}
err_is() {
  [ "$(cat "$T/err")" = "$1" ] || fail "stderr of the last command:
$(cat "$T/err")
-- expected:
$1"
}
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1':
$(cat "$T/err")"; }
rc_is() { [ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1; stderr: $(cat "$T/err")"; }
field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
phase_is() { [ "$(field "$1" "p['status']['phase']" 2>/dev/null)" = "$2" ]; }
bg() {
  local name=$1; shift
  "$@" >"$T/$name.out" 2>"$T/$name.err" &
  BG=$!
  HS_PIDS+=("$BG")
}
bg_rc() {
  wait_for 30 "pid $1 to end" exited "$1"
  RC=0
  wait "$1" || RC=$?
}
no_proc() { [ -z "$(procs_naming "$1")" ]; }
# no_cmd CMDLINE: no process runs exactly CMDLINE (hsctl's own command line
# holds it too, but not as the whole of it).
no_cmd() { ! pgrep -fx "$1" >/dev/null; }

# Services in the pod's namespace before it starts: their variables are in
# the container's environment (and so in an exec's). `other` is in another
# namespace, `headless` has no clusterIP: neither gives variables.
cat >"$T/svc.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: catalog-api
spec:
  clusterIP: 10.96.7.7
  selector: {app: catalog}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: dns-udp, port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata:
  name: headless
spec:
  clusterIP: None
  selector: {app: x}
  ports:
  - {port: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: other
  namespace: elsewhere
spec:
  clusterIP: 10.96.7.8
  selector: {app: x}
  ports:
  - {port: 81}
EOF
hsctl apply -f "$T/svc.yaml" >/dev/null || fail "apply the services"

cat >"$T/pods.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100000"]
    env:
    - {name: FOO, value: bar}
    - {name: CATALOG_API_SERVICE_PORT, value: mine}
---
apiVersion: v1
kind: Pod
metadata:
  name: two
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    command: ["/bin/sh", "-c", "exec sleep 100001"]
    env: [{name: WHO, value: a}]
  - name: b
    command: ["/bin/sh", "-c", "exec sleep 100002"]
    env: [{name: WHO, value: b}]
---
apiVersion: v1
kind: Pod
metadata:
  name: anno
  annotations: {kubectl.kubernetes.io/default-container: b}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    command: ["/bin/sh", "-c", "exec sleep 100004"]
  - name: b
    command: ["/bin/sh", "-c", "exec sleep 100005"]
    env: [{name: WHO, value: b}]
---
apiVersion: v1
kind: Pod
metadata:
  name: nolinks
spec:
  nodeName: n1
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100003"]
---
apiVersion: v1
kind: Pod
metadata:
  name: done
spec:
  nodeName: n1
  restartPolicy: Never
  containers:
  - name: main
    command: ["/bin/true"]
EOF
hsctl apply -f "$T/pods.yaml" >/dev/null || fail "apply the pods"
for p in web two anno nolinks; do wait_for 20 "$p Running" phase_is $p Running; done
wait_for 20 "done Succeeded" phase_is done Succeeded

# ---- stdout and stderr apart; exit codes
run hsctl exec web -- sh -c 'echo out-1; echo err-1 >&2; echo out-2'
rc_is 0
out_is "out-1
out-2"
err_is "err-1"
run hsctl exec web -- sh -c 'echo bye; exit 3'
rc_is 3
out_is "bye"
err_is "command terminated with exit code 3"
run hsctl exec web -- sh -c 'kill -9 $$'
rc_is 137
err_is "command terminated with exit code 137"
run hsctl exec pod/web -- true
rc_is 0
out_is ""
err_is ""
run hsctl exec web -- /no/such/program
rc_is 127
err_has 'no such file or directory'
err_has 'command terminated with exit code 127'
pass "stdout and stderr apart; exit codes 0, 3, 137 (SIGKILL), 127 (not found)"

# ---- the container's namespaces, cgroup and environment
run hsctl exec web -- hostname
rc_is 0
out_is "web"
run hsctl exec web -- cat /proc/1/cmdline
[ "$(tr '\0' ' ' <"$T/out")" = "sleep 100000 " ] || fail "pid 1 in the exec's pid namespace: $(tr '\0' ' ' <"$T/out")"
state=$(ls "$T"/agent-n1/pods/default_web_*/main/0/state)
cpid=$(sed -n 's/^pid=//p' "$state")
[ -n "$cpid" ] || fail "no container pid in $state"
run hsctl exec web -- cat /proc/self/cgroup
rc_is 0
[ "$(cat "$T/out")" = "$(cat "/proc/$cpid/cgroup")" ] || fail "the exec's cgroups:
$(cat "$T/out")
-- the container's:
$(cat "/proc/$cpid/cgroup")"
grep -qF "$HS_CG_PARENT/n1/" "$T/out" || fail "the exec is not in the node's cgroups: $(cat "$T/out")"
[ "$(readlink "/proc/$cpid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] ||
  fail "the container shares our pid namespace"
run hsctl exec web -- sh -c 'echo $FOO'
out_is "bar"
pass "the command sees the container's hostname, pid namespace (pid 1), cgroup and env"

# ---- Service environment variables (kubelet's envvars.go)
run hsctl exec web -- env
rc_is 0
sort "$T/out" | grep -E '^(CATALOG_API|HEADLESS|OTHER)_' >"$T/svcenv"
cat >"$T/svcenv.want" <<EOF
CATALOG_API_PORT=tcp://10.96.7.7:80
CATALOG_API_PORT_53_UDP=udp://10.96.7.7:53
CATALOG_API_PORT_53_UDP_ADDR=10.96.7.7
CATALOG_API_PORT_53_UDP_PORT=53
CATALOG_API_PORT_53_UDP_PROTO=udp
CATALOG_API_PORT_80_TCP=tcp://10.96.7.7:80
CATALOG_API_PORT_80_TCP_ADDR=10.96.7.7
CATALOG_API_PORT_80_TCP_PORT=80
CATALOG_API_PORT_80_TCP_PROTO=tcp
CATALOG_API_SERVICE_HOST=10.96.7.7
CATALOG_API_SERVICE_PORT=mine
CATALOG_API_SERVICE_PORT_DNS_UDP=53
CATALOG_API_SERVICE_PORT_HTTP=80
EOF
diff -u "$T/svcenv.want" "$T/svcenv" || fail "the Service variables in web's environment (above)"
run hsctl exec nolinks -- env
rc_is 0
! grep -q '^CATALOG_API_' "$T/out" || fail "enableServiceLinks: false still has the variables"
pass "Service variables: the namespace's Services with a clusterIP; the container's env wins; enableServiceLinks false"

# ---- -c and the defaulted container
run hsctl exec two -c b -- sh -c 'echo $WHO; cat /proc/1/cmdline | tr "\0" " "'
rc_is 0
out_is "b
sleep 100002 "
run hsctl exec two -- sh -c 'echo $WHO'
rc_is 0
out_is "a"
err_is 'Defaulted container "a" out of: a, b'
run hsctl exec two -q -- sh -c 'echo $WHO'
err_is ""
run hsctl exec anno -- sh -c 'echo $WHO'
out_is "b"
err_is ""
pass "-c picks the container; without it the annotated default or the first, as kubectl says"

# ---- a reader that goes away (| head): hsctl cancels, the command is killed
RC=0
hsctl exec web -- sh -c 'i=0; while :; do i=$((i+1)); echo "line $i"; done; exec sleep 31340' |
  head -n 3 >"$T/head.out" || RC=$?
[ "$(cat "$T/head.out")" = "line 1
line 2
line 3" ] || fail "| head -n 3 printed: $(cat "$T/head.out")"
wait_for 2 "the command whose reader went away to be killed (at once)" no_proc 'while :; do i='
pass "a closed stdout (| head) cancels the session: the command is killed"

# ---- kubectl's errors
run hsctl exec two -c nope -- true
rc_is 1
err_is 'Error from server (BadRequest): container nope is not valid for pod two'
run hsctl exec nosuch -- true
rc_is 1
err_is 'Error from server (NotFound): pods "nosuch" not found'
run hsctl exec done -- true
rc_is 1
err_is 'error: cannot exec into a container in a completed pod; current phase is Succeeded'
run hsctl exec -it web -- sh
rc_is 1
err_has 'not supported yet'
run hsctl exec web
rc_is 1
err_has 'you must specify at least one command for the container'
run hsctl exec web ls
rc_is 1
err_has 'exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead'
cat >"$T/ghost.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: ghost}
spec:
  nodeName: ghost
  containers: [{name: main, command: [sleep, "1"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: pending}
spec:
  containers: [{name: main, command: [sleep, "1"]}]
EOF
hsctl apply -f "$T/ghost.yaml" >/dev/null
run hsctl exec ghost -- true
rc_is 1
err_is 'Error from server: error dialing backend: the node agent on "ghost" did not answer within 5s'
run hsctl exec pending -- true
rc_is 1
err_is 'Error from server (BadRequest): pod pending does not have a host assigned'
# A container that is not running (waiting out its crash-loop backoff).
cat >"$T/crashy.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: crashy}
spec:
  nodeName: n1
  containers: [{name: main, command: [sh, -c, "exit 1"]}]
EOF
hsctl apply -f "$T/crashy.yaml" >/dev/null
wait_for 20 "crashy in CrashLoopBackOff" sh -c "hsctl get pod crashy | grep -q CrashLoopBackOff"
run hsctl exec crashy -- true
rc_is 1
err_is 'error: unable to upgrade connection: container not found ("main")'
pass "unknown container and pod, a completed, unscheduled or crash-looping pod, no agent, -it, no command: kubectl's errors"

# ---- output streams before the command ends; Ctrl-C kills it
bg long hsctl exec web -- sh -c 'echo first; echo first-err >&2; exec sleep 31337'
LPID=$BG
wait_for 10 "the first line before the command ends" grep -qx first "$T/long.out"
wait_for 10 "the first stderr line" grep -qx first-err "$T/long.err"
kill -0 "$LPID" || fail "hsctl exec ended early"
no_cmd 'sleep 31337' && fail "the remote command is not running"
kill -INT "$LPID"
bg_rc "$LPID"
[ "$RC" -eq 130 ] || fail "hsctl exec after SIGINT exited $RC, expected 130"
wait_for 2 "the remote command to be killed (at once, not by the 5 s idle end)" no_cmd 'sleep 31337'
pass "output streams as it comes; Ctrl-C kills the remote command"

# ---- the client goes away without a word (kill -9): the agent ends it
bg gone hsctl exec web -- sh -c 'echo up; exec sleep 31338'
GPID=$BG
wait_for 10 "the command to start" grep -qx up "$T/gone.out"
kill -9 "$GPID"
bg_rc "$GPID"
wait_for 15 "the orphaned command to be killed (5 s without keepalive)" no_cmd 'sleep 31338'
pass "a client that vanished: its command is killed once the keepalives stop"

# ---- a large output: nothing lost, in order (the window and the rate limit hold it back)
run hsctl exec web -- sh -c 'seq 1 400000; seq 1 1000 >&2'
rc_is 0
seq 1 400000 | cmp -s - "$T/out" || fail "seq 1 400000 through exec differs: $(wc -c <"$T/out") bytes"
seq 1 1000 | cmp -s - "$T/err" || fail "stderr of the large exec differs"
pass "$(wc -c <"$T/out") bytes of stdout and the stderr with it, whole and in order"

# ---- a reader that stalls: hsctl stops acknowledging, the agent stops
# reading, the command waits on its pipe; nothing is lost. 6.9 MB is more
# than the window (64 chunks of at most 64 KiB) and the pipes hold, so the
# command can only end after the reader resumes; at the rate limit alone it
# would end in under a second. (The stall is the reader's behaviour under
# test, not a wait for a condition.)
RC=0
t0=$(date +%s%N)
hsctl exec web -- sh -c "seq 1 1000000; date +%s%N >$T/slow.end" |
  { sleep 3; cat; } >"$T/slow.out" 2>"$T/slow.err" || RC=$?
rc_is 0
seq 1 1000000 | cmp -s - "$T/slow.out" || fail "a stalled reader lost output: $(wc -c <"$T/slow.out") bytes"
held=$(( ($(cat "$T/slow.end") - t0) / 1000000 ))
[ "$held" -ge 2500 ] || fail "the command ended ${held} ms after the start, while its reader stalled 3 s: no backpressure"
pass "a reader stalled for 3 s: the command was held back (ended after ${held} ms), $(wc -c <"$T/slow.out") bytes whole"

# ---- garbage on exec.n1 does not hurt the agent
for kind in frames decode body; do
  hs-send exec.n1/ --garbage "$kind" --count 2 || fail "hs-send --garbage $kind"
done
for env in \
  '{"execRequest": {}}' \
  '{"execRequest": {"clientID": "bad id!", "requestID": "r", "pod": "web", "command": ["true"]}}' \
  '{"execRequest": {"clientID": "c1", "requestID": "r1", "pod": "web"}}' \
  '{"execRequest": {"clientID": "c1", "requestID": "r2", "pod": "../..", "command": ["true"]}}' \
  '{"execRequest": {"clientID": "c1", "requestID": "r3", "pod": "web", "ackedSeq": 99, "command": ["true"]}}' \
  '{"execRequest": {"clientID": "c1", "requestID": "r4", "pod": "web", "cancel": true}}' \
  '{"ping": {"nonce": "not-an-exec-request"}}'; do
  hs-send exec.n1/ --envelope "$env" || fail "hs-send --envelope $env"
done
run hsctl exec web -- echo still-here
rc_is 0
out_is "still-here"
kill -0 "$AGENT_PID" || fail "the agent died"
pass "garbage exec requests: the agent goes on"

# ---- the agent stops (SIGTERM): its sessions' commands are killed, and
# it exits cleanly (under ASan: no leak, no error in its log)
bg stop hsctl exec web -- sh -c 'echo up; exec sleep 31339'
SPID=$BG
wait_for 10 "the command to start" grep -qx up "$T/stop.out"
kill -TERM "$AGENT_PID"
wait_for 20 "the agent to stop" exited "$AGENT_PID"
RC=0
wait "$AGENT_PID" || RC=$?
[ "$RC" -eq 0 ] || fail "the agent exited $RC after SIGTERM: $(tail -n 20 "$T/agent-n1.log")"
# hsctl's own command line names the command too: it goes first (its
# cancel reaches no agent now).
kill -9 "$SPID" 2>/dev/null || true
bg_rc "$SPID"
wait_for 5 "the session's command to be killed with the agent" no_cmd 'sleep 31339'
! grep -E 'Sanitizer|runtime error' "$T/agent-n1.log" || fail "the agent's log shows a sanitizer report"
pass "the agent's stop kills its sessions' commands; a clean exit"
