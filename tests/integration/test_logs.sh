#!/usr/bin/env bash
# hsctl logs, through the bus from the node agent: stdout and stderr, -c with
# two containers (and kubectl's error without it), --tail, --timestamps,
# --previous after a crash-restart, -f that ends with the container, -f
# across log rotations without losing a line, Ctrl-C on -f (a cancel on the
# bus), the errors (unknown pod, unscheduled pod, a node without agent) and
# garbage log requests that the agent survives. Pods are bound by nodeName.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): hs-send injects on logs.<client>, which only an agent may publish on a
# secured bus.
hs_insecure

start_bus
start_store
# 32768 is the smallest rotation size hs-shim accepts (SHIM_LOG_MIN_BYTES).
start_agent n1 --backoff-initial 1 --backoff-max 2 --log-max-bytes 32768 --log-max-files 3

run() { RC=0; "$@" >"$T/out" 2>"$T/err" || RC=$?; }
out_is() {
  [ "$(cat "$T/out")" = "$1" ] || fail "stdout of the last command:
$(cat "$T/out")
-- expected:
$1
-- stderr: $(cat "$T/err")"
}
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1':
$(cat "$T/err")"; }
rc_is() { [ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1; stderr: $(cat "$T/err")"; }

# pod NAME POLICY 'SHELL COMMAND' [NODE]: one container "main"
pod() {
  local script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$3")
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  nodeName: ${4-n1}
  restartPolicy: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
EOF
  [ -n "${4-n1}" ] || sed -i '/nodeName/d' "$T/$1.yaml"
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}
field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }
phase_is() { field_is "$1" "p['status']['phase']" "$2"; }
# lines_in FILE N: FILE has at least N lines
lines_in() { [ "$(wc -l <"$1")" -ge "$2" ]; }
# bg NAME CMD...: CMD in the background, stdout $T/NAME.out, stderr $T/NAME.err; sets BG
bg() {
  local name=$1; shift
  "$@" >"$T/$name.out" 2>"$T/$name.err" &
  BG=$!
  HS_PIDS+=("$BG")
}
# bg_rc PID: waits (with a deadline) for a background command, sets RC
bg_rc() {
  wait_for 30 "pid $1 to end" exited "$1"
  RC=0
  wait "$1" || RC=$?
}

start_tap tap logreq. logs.

# ---- stdout and stderr, in order
pod hello Never 'echo out-one; echo err-one >&2; sleep 0.2; echo out-two; sleep 0.2; echo err-two >&2'
wait_for 20 "hello Succeeded" phase_is hello Succeeded
run hsctl logs hello
rc_is 0
out_is "out-one
err-one
out-two
err-two"
run hsctl logs pod/hello
rc_is 0
out_is "out-one
err-one
out-two
err-two"
wait_for 10 "the tap to show the request" grep -q "logs default/hello -c main req=" "$T/tap.out"
wait_for 10 "the tap to show the chunk" grep -Eq "log req=[a-z0-9]+ #1 32 bytes eof" "$T/tap.out"
pass "logs shows stdout and stderr; hs-tap decodes LogRequest and LogChunk"

# ---- two containers: -c, the inline CONTAINER, and kubectl's error without
cat >"$T/two.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: two
spec:
  nodeName: n1
  restartPolicy: Never
  containers:
  - name: a
    command: ["/bin/sh", "-c", "echo from-a"]
  - name: b
    command: ["/bin/sh", "-c", "echo from-b; echo more-b"]
EOF
hsctl apply -f "$T/two.yaml" >/dev/null
wait_for 20 "two Succeeded" phase_is two Succeeded
run hsctl logs two
rc_is 1
err_has 'Error from server (BadRequest): a container name must be specified for pod two, choose one of: [a b]'
run hsctl logs two -c b
rc_is 0
out_is "from-b
more-b"
run hsctl logs two a
rc_is 0
out_is "from-a"
run hsctl logs two -c nope
rc_is 1
err_has 'Error from server (BadRequest): container nope is not valid for pod two'
pass "-c picks a container; without it, kubectl's error lists them"

# ---- --tail and --timestamps
pod count Never 'i=1; while [ $i -le 10 ]; do echo "n-$i"; i=$((i+1)); done'
wait_for 20 "count Succeeded" phase_is count Succeeded
run hsctl logs count --tail 3
rc_is 0
out_is "n-8
n-9
n-10"
run hsctl logs count --tail=0
rc_is 0
out_is ""
run hsctl logs count --tail 100
rc_is 0
[ "$(wc -l <"$T/out")" -eq 10 ] || fail "--tail 100 of 10 lines: $(cat "$T/out")"
run hsctl logs count --timestamps --tail 2
rc_is 0
grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z n-9' "$T/out" ||
  fail "no RFC 3339 timestamp before n-9: $(cat "$T/out")"
grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z n-10' "$T/out" ||
  fail "no RFC 3339 timestamp before n-10: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "--timestamps --tail 2: $(cat "$T/out")"
run hsctl logs count --limit-bytes 6
rc_is 0
[ "$(cat "$T/out")" = "n-1
n-" ] || fail "--limit-bytes 6: $(cat "$T/out")"
pass "--tail N, --timestamps, --limit-bytes"

# ---- --previous after a crash and restart
pod crash Always "n=\$(cat $T/crash.n 2>/dev/null || echo 0); n=\$((n+1)); echo \$n >$T/crash.n; echo run-\$n; [ \$n -ge 2 ] && exec sleep 1000; exit 1"
wait_for 20 "crash restarted and running" sh -c "hsctl get pod crash -o json | python3 -c \"import json,sys; s=json.load(sys.stdin)['status']['containerStatuses'][0]; sys.exit(0 if s.get('restartCount', 0) >= 1 and 'running' in s['state'] else 1)\""
wait_for 10 "run-2 in the log" sh -c "hsctl logs crash | grep -qx run-2"
run hsctl logs crash
out_is "run-2"
run hsctl logs crash --previous
rc_is 0
out_is "run-1"
run hsctl logs crash -p
out_is "run-1"
run hsctl logs hello --previous
rc_is 1
err_has 'Error from server (BadRequest): previous terminated container "main" in pod "hello" not found'
pass "--previous shows the run before the restart; kubectl's error when there is none"

# ---- -f shows what comes later and ends with the container
pod follow Never "echo early; while [ ! -e $T/go1 ]; do sleep 0.02; done; echo later-1; echo later-1b >&2; while [ ! -e $T/go2 ]; do sleep 0.02; done; echo later-2"
wait_for 20 "follow Running" phase_is follow Running
bg follow hsctl logs -f follow
FPID=$BG
wait_for 20 "-f to print early" grep -qx early "$T/follow.out"
exited "$FPID" && fail "-f ended early: $(cat "$T/follow.err")"
touch "$T/go1"
wait_for 20 "-f to print later-1b" grep -qx later-1b "$T/follow.out"
exited "$FPID" && fail "-f ended before the container: $(cat "$T/follow.err")"
touch "$T/go2"
bg_rc "$FPID"
[ "$RC" -eq 0 ] || fail "-f exited $RC: $(cat "$T/follow.err")"
[ "$(cat "$T/follow.out")" = "early
later-1
later-1b
later-2" ] || fail "-f printed: $(cat "$T/follow.out")"
[ ! -s "$T/follow.err" ] || fail "-f printed errors: $(cat "$T/follow.err")"
pass "-f prints lines as they come and ends when the container exits"

# ---- -f and Ctrl-C: hsctl sends a cancel
pod chatty Always 'i=0; while :; do i=$((i+1)); echo "tick-$i"; sleep 0.05; done'
wait_for 20 "chatty Running" phase_is chatty Running
bg chatty hsctl logs -f chatty --tail 1
CPID=$BG
wait_for 20 "-f chatty to print 3 lines" lines_in "$T/chatty.out" 3
kill -INT "$CPID"
bg_rc "$CPID"
[ "$RC" -eq 130 ] || fail "-f after SIGINT exited $RC, expected 130"
wait_for 10 "the cancel on the bus" grep -q "logs cancel default/chatty" "$T/tap.out"
python3 - "$T/chatty.out" <<'PY' || fail "-f chatty lines are not consecutive: $(head -5 "$T/chatty.out")"
import sys
n = [int(l.split("-")[1]) for l in open(sys.argv[1]) if l.strip()]
assert n and n == list(range(n[0], n[0] + len(n))), n
PY
pass "-f stops on Ctrl-C (exit 130) and cancels the stream"

# ---- -f across rotations: numbered lines, none lost
pod rot Never "while [ ! -e $T/rot.go ]; do sleep 0.02; done; i=1; while [ \$i -le 2000 ]; do echo \"line-\$i abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"; [ \$((i % 50)) -eq 0 ] && sleep 0.05; i=\$((i+1)); done"
wait_for 20 "rot Running" phase_is rot Running
bg rot hsctl logs -f rot
RPID=$BG
wait_for 10 "the -f request on the bus" grep -q "logs default/rot -c main -f" "$T/tap.out"
touch "$T/rot.go"
bg_rc "$RPID"
[ "$RC" -eq 0 ] || fail "-f rot exited $RC: $(cat "$T/rot.err")"
[ ! -s "$T/rot.err" ] || fail "-f rot printed errors: $(cat "$T/rot.err")"
rundir=$(dirname "$(find "$T/agent-n1" -path '*_rot_*' -name container.log | head -1)")
[ -f "$rundir/container.log.1" ] && [ -f "$rundir/container.log.2" ] ||
  fail "the log did not rotate: $(ls -l "$rundir")"
run hsctl logs rot
rc_is 0
python3 - "$T/rot.out" "$T/out" <<'PY' || fail "lines lost or repeated across rotations"
import sys
def nums(path):
    n = []
    for l in open(path):
        w = l.split()
        assert len(w) == 2 and w[0].startswith("line-") and len(w[1]) == 62, repr(l)
        n.append(int(w[0][5:]))
    return n
f, disk = nums(sys.argv[1]), nums(sys.argv[2])
# -f followed from the first line: every line, once, in order
assert f == list(range(1, 2001)), (len(f), f[:3], f[-3:])
# what is still on disk: consecutive, up to the last, and rotated (not all there)
assert disk == list(range(disk[0], 2001)) and disk[0] > 1, (disk[:3], len(disk))
PY
pass "-f across $(ls "$rundir" | grep -c container.log) rotated files printed all 2000 lines, in order"

# ---- errors
run hsctl logs nope
rc_is 1
err_has 'Error from server (NotFound): pods "nope" not found'
run hsctl logs -n other hello
rc_is 1
err_has 'Error from server (NotFound): pods "hello" not found'
pod pending Never 'echo hi' ''
run hsctl logs pending
rc_is 1
err_has 'Error from server (BadRequest): container "main" in pod "pending" is waiting to start'
pod ghost Never 'echo hi' ghost
run hsctl logs ghost
rc_is 1
err_has 'Error from server: the node agent on "ghost" did not answer'
run hsctl logs
rc_is 1
err_has 'POD or TYPE/NAME is a required argument for the logs command'
pass "unknown pod, unscheduled pod, node without agent: kubectl's errors, exit 1"

# ---- garbage log requests do not hurt the agent
for kind in frames decode oversized body topic; do
  hs-send logreq.n1/ --garbage "$kind" --count 2 || fail "hs-send --garbage $kind"
done
for env in \
  '{"logRequest": {}}' \
  '{"logRequest": {"clientID": "bad id!", "requestID": "r", "pod": "hello"}}' \
  '{"logRequest": {"clientID": "c1", "requestID": "r1", "pod": "hello", "tailLines": -5, "limitBytes": -1}}' \
  '{"logRequest": {"clientID": "c1", "requestID": "r2", "pod": "", "container": "x"}}' \
  '{"logRequest": {"clientID": "c1", "requestID": "r3", "pod": "../../etc", "namespace": "../.."}}' \
  '{"logRequest": {"clientID": "c1", "requestID": "r4", "pod": "chatty", "follow": true, "tailLines": 9223372036854775807}}' \
  '{"logRequest": {"clientID": "c1", "requestID": "r5", "pod": "hello", "cancel": true}}' \
  '{"ping": {"nonce": "not-a-log-request"}}'; do
  hs-send logreq.n1/ --envelope "$env" || fail "hs-send --envelope $env"
done
hs-send logs.c1 --ping --nonce after-garbage
wait_for 10 "the tap to see the ping sent after the garbage" grep -q "ping nonce=after-garbage" "$T/tap.out"
exited "$AGENT_PID" && fail "hs-agent died: $(tail -n 20 "$T/agent-n1.log")"
grep -q 'refused a log request from .*: not a LogRequest' "$T/agent-n1.log" ||
  fail "the agent did not log the refused request: $(tail -n 20 "$T/agent-n1.log")"
run hsctl logs hello --tail 1
rc_is 0
out_is "err-two"
pass "garbage log requests: the agent refuses them, stays up and serves logs"

# ---- a clean stop with a follow open: SIGTERM, exit 0, hsctl notices, no
# sanitizer report (ASan builds: leaks of open streams show here)
bg last hsctl logs -f chatty --tail 1
LPID=$BG
wait_for 20 "-f chatty to print" lines_in "$T/last.out" 2
kill -TERM "$AGENT_PID"
wait_for 10 "the agent to stop" exited "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM"
! grep -Eq 'Sanitizer|runtime error' "$T/agent-n1.log" ||
  fail "sanitizer report: $(grep -E -A20 'Sanitizer|runtime error' "$T/agent-n1.log")"
bg_rc "$LPID"
[ "$RC" -eq 1 ] || fail "-f after the agent stopped exited $RC, expected 1"
grep -qF 'error: lost the log stream from the node agent on "n1"' "$T/last.err" ||
  fail "-f after the agent stopped: $(cat "$T/last.err")"
pass "SIGTERM with a follow open: clean exit; hsctl -f reports the lost stream"
