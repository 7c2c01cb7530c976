#!/usr/bin/env bash
# The node agent's side of probes and node failure, without hs-prober: the
# test publishes what the prober would (ProbeResult, ExecRequest on
# probe.<node>) with hs-send, and plays its node-failure writes with
# `hsctl replace --subresource=status`. Checks: readiness drives READY and
# the Ready condition (only for the current run); a liveness failure
# restarts the container once per run (restartCount, lastState); an exec
# probe runs in the container's namespaces and answers on probres.<client>
# (exit code, output, timeout, not running); garbage on the topic is
# survived; the heartbeat names the node; a Node set Unknown is re-posted
# Ready at once; a pod set Failed/NodeLost is stopped and deleted, and its
# status never rewritten. Then the same node-failure rules for hollow nodes.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): hs-send injects probe results on probe.<node>, which only hs-prober
# may publish on a secured bus.
hs_insecure

start_bus
start_store
start_agent n1 --backoff-initial 1 --backoff-max 2

# pod NAME 'SHELL COMMAND' [EXTRA YAML under the container]
pod() {
  local script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$2")
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
${3:-}
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}

# field KIND NAME PYTHON-EXPRESSION on the object's JSON as o
field() {
  hsctl get "$1" "$2" -o json | python3 -c "import json,sys; o=json.load(sys.stdin); print($3)"
}
field_is() { [ "$(field "$1" "$2" "$3" 2>/dev/null)" = "$4" ]; }
ready_col() { hsctl get pods | awk -v p="$1" '$1 == p { print $2 }'; }
ready_is() { [ "$(ready_col "$1")" = "$2" ]; }

# probe POD PROBE SUCCESS RESTARTCOUNT [GRACE]: a ProbeResult as hs-prober sends it
probe() {
  local uid
  uid=$(field pod "$1" "o['metadata']['uid']")
  hs-send probe.n1/ --envelope "{\"probeResult\": {\"namespace\": \"default\", \"pod\": \"$1\",
    \"uid\": \"$uid\", \"container\": \"main\", \"probe\": \"$2\", \"success\": $3,
    \"restartCount\": $4, \"terminationGracePeriodSeconds\": ${5:--1},
    \"message\": \"test\"}}" >/dev/null || fail "hs-send probe $*"
}

probe_spec='    readinessProbe:
      exec:
        command: ["true"]
    livenessProbe:
      exec:
        command: ["true"]'

# ---- readiness
pod web 'sleep 3600 & wait' "$probe_spec"
wait_for 20 "web Running" field_is pod web "o['status']['phase']" Running
ready_is web 0/1 || fail "a container with a readinessProbe must start not ready: $(hsctl get pods)"
field_is pod web "[c['status'] for c in o['status']['conditions'] if c['type']=='Ready'][0]" False ||
  fail "Ready condition: $(hsctl get pod web -o yaml)"
probe web readiness true 0
wait_for 10 "web 1/1 after a readiness success" ready_is web 1/1
field_is pod web "[c['status'] for c in o['status']['conditions'] if c['type']=='ContainersReady'][0]" True ||
  fail "ContainersReady condition: $(hsctl get pod web -o yaml)"
field_is pod web "o['status']['containerStatuses'][0]['ready']" True || fail "containerStatuses ready"
probe web readiness false 0
wait_for 10 "web 0/1 after a readiness failure" ready_is web 0/1
field_is pod web "[c.get('message','') for c in o['status']['conditions'] if c['type']=='Ready'][0]" \
  "containers with unready status: [main]" || fail "Ready message: $(hsctl get pod web -o yaml)"
pass "readiness drives READY, containerStatuses[].ready and the Ready/ContainersReady conditions"

# ---- startup
pod slow 'sleep 3600 & wait' '    startupProbe:
      exec:
        command: ["true"]'
wait_for 20 "slow Running" field_is pod slow "o['status']['phase']" Running
field_is pod slow "o['status']['containerStatuses'][0].get('started', False)" False ||
  fail "a container with a startupProbe must start with started=false: $(hsctl get pod slow -o yaml)"
ready_is slow 0/1 || fail "not started means not ready: $(hsctl get pods)"
probe slow startup true 0
wait_for 10 "slow started and 1/1" ready_is slow 1/1
field_is pod slow "o['status']['containerStatuses'][0]['started']" True || fail "started flag"
hsctl delete pod slow --grace-period=0 --force >/dev/null 2>&1
pass "startup drives containerStatuses[].started, and readiness waits for it"

# ---- garbage and strangers on the topic
hs-send probe.n1/ --garbage decode >/dev/null
hs-send probe.n1/ --garbage body >/dev/null
hs-send probe.n1/ --ping >/dev/null
hs-send probe.n1/ --envelope '{"probeResult": {"pod": "", "container": ""}}' >/dev/null
hs-send probe.n1/ --envelope '{"execRequest": {"clientID": "bad id!", "requestID": "x"}}' >/dev/null
# a result about another uid, and one about a run that is not the current one: ignored
hs-send probe.n1/ --envelope '{"probeResult": {"namespace": "default", "pod": "web",
  "uid": "not-its-uid", "container": "main", "probe": "readiness", "success": true}}' >/dev/null
probe web readiness true 7
# ... and a real one after them, which must still work
probe web readiness true 0
wait_for 10 "web 1/1 after garbage" ready_is web 1/1
kill -0 "$AGENT_PID" || fail "the agent died of garbage"
grep -q "refused a message from .* on probe.n1" "$T/agent-n1.log" ||
  fail "wrong-body messages not logged: $(tail "$T/agent-n1.log")"
pass "garbage, wrong bodies, other uids and other runs on probe.n1 are ignored"

# ---- liveness
pid0=$(field pod web "o['status']['containerStatuses'][0]['containerID'].rsplit('/',1)[1]")
probe web liveness false 0 1
wait_for 20 "web restarted after a liveness failure" \
  field_is pod web "o['status']['containerStatuses'][0].get('restartCount', 0)" 1
wait_for 20 "web running again" \
  field_is pod web "'running' in o['status']['containerStatuses'][0]['state']" True
field_is pod web "o['status']['containerStatuses'][0]['lastState']['terminated']['reason']" Error ||
  fail "lastState reason: $(hsctl get pod web -o yaml)"
# sh as pid 1 of its namespace ignores SIGTERM: the grace (1 s, from the result) ran out
field_is pod web "o['status']['containerStatuses'][0]['lastState']['terminated']['exitCode']" 137 ||
  fail "lastState exit code: $(hsctl get pod web -o yaml)"
exited "$pid0" || fail "the old run's process $pid0 is still alive"
ready_is web 0/1 || fail "a restarted container must be not ready until its readiness succeeds"
# The verdict about run 0 again, then readiness for run 1: once both are
# handled, the container must still be in run 1.
probe web liveness false 0 1
probe web readiness true 1
wait_for 10 "web 1/1 in its second run" ready_is web 1/1
field_is pod web "o['status']['containerStatuses'][0].get('restartCount', 0)" 1 ||
  fail "a liveness failure about an old run restarted the container again"
hsctl get pods | grep -Eq '^web +1/1 +Running +1 ' || fail "get pods: $(hsctl get pods)"
pass "liveness failure: restarted once per run, restartCount 1, lastState Error/137"

# ---- exec probes
start_tap probres hs-tap probres. -o json
uid=$(field pod web "o['metadata']['uid']")
exec_req() { # REQUEST-ID POD TIMEOUT-MS COMMAND-JSON-ARRAY
  hs-send probe.n1/ --envelope "{\"execRequest\": {\"clientID\": \"tester\", \"requestID\": \"$1\",
    \"namespace\": \"default\", \"pod\": \"$2\", \"uid\": \"$uid\", \"container\": \"main\",
    \"command\": $4, \"timeoutMs\": $3}}" >/dev/null || fail "hs-send exec $1"
}
# result REQUEST-ID: its ExecResult as "code|output|error"
result() {
  python3 - "$T/probres.out" "$1" <<'PY'
import base64, json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    r = m.get("envelope", {}).get("execResult")
    if m["topic"] == "probres.tester/" and r and r.get("requestID") == sys.argv[2]:
        out = base64.b64decode(r.get("output", "")).decode(errors="replace")
        print("%s|%s|%s" % (r.get("exitCode", 0), out, r.get("error", "")))
        sys.exit(0)
sys.exit(1)
PY
}
exec_req r1 web 5000 '["cat", "/proc/sys/kernel/hostname"]'
exec_req r2 web 5000 '["sh", "-c", "echo out; echo err >&2; echo pid=$$; exit 3"]'
exec_req r3 web 300 '["sleep", "30"]'
exec_req r4 nosuch 1000 '["true"]'
exec_req r5 web 1000 '["/no/such/program"]'
exec_req r6 web 1000 '[]'
wait_for 20 "exec answers" sh -c "$(declare -f result); T='$T'; for r in r1 r2 r3 r4 r5 r6; do result \$r || exit 1; done"
[ "$(result r1)" = "0|web
|" ] || fail "exec r1 (the pod's UTS hostname): $(result r1)"
case "$(result r2)" in
  3"|out"*"err"*"pid="*"|") ;;
  *) fail "exec r2 (exit code and both streams, in the pod's pid namespace): $(result r2)" ;;
esac
# in the container's pid namespace: the shell is not pid 1, but a small pid
pid_in=$(result r2 | sed -n 's/^pid=\([0-9]*\).*/\1/p')
[ -n "$pid_in" ] && [ "$pid_in" -lt 100 ] || fail "exec did not run in the pod's pid namespace: $(result r2)"
[ "$(result r3)" = "-1||timed out" ] || fail "exec r3 (timeout): $(result r3)"
[ "$(result r4)" = "-1||container not running" ] || fail "exec r4 (no such pod): $(result r4)"
case "$(result r5)" in
  "-1||exec \"/no/such/program\": no such file or directory") ;;
  *) fail "exec r5 (no such program): $(result r5)" ;;
esac
[ "$(result r6)" = "-1||no command given" ] || fail "exec r6 (no command): $(result r6)"
# killed at its timeout; the kill lands asynchronously, so a deadline
wait_for 10 "the timed-out exec's command gone" sh -c "! ps -eo args | grep -q '^sleep 30\$'"
pass "exec probes: hostname and pid namespace of the pod, exit code, output, timeout, errors"

# ---- the heartbeat names the node
start_tap hb hs-tap hb.agent.n1 -o json -c 1
wait_for 10 "a heartbeat" grep -q '"nodes"' "$T/hb.out"
python3 -c "import json,sys; m=json.loads(open('$T/hb.out').readline()); sys.exit(m['envelope']['heartbeat']['nodes'] != ['n1'])" ||
  fail "heartbeat nodes: $(cat "$T/hb.out")"
pass "hb.agent.n1 names its node"

# ---- the Node set Unknown while the agent lives: Ready again at once
set_node_unknown() { # NODE
  hsctl get node "$1" -o json | python3 -c "
import json, sys
o = json.load(sys.stdin)
o['metadata'].pop('resourceVersion', None)
for c in o['status']['conditions']:
    if c['type'] == 'Ready':
        c['status'] = 'Unknown'; c['reason'] = 'NodeStatusUnknown'
        c['message'] = 'Kubelet stopped posting node status.'
        c['lastTransitionTime'] = '$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)'
json.dump(o, sys.stdout)" >"$T/node-$1.json"
  hsctl replace --subresource=status -f "$T/node-$1.json" >/dev/null || fail "replace node $1 status"
}
node_ready() { field_is node "$1" "[c['status'] for c in o['status']['conditions'] if c['type']=='Ready'][0]" True; }
before=$(date +%s)
set_node_unknown n1
wait_for 3 "n1 Ready again within ~1 s" node_ready n1
ltt=$(field node n1 "[c['lastTransitionTime'] for c in o['status']['conditions'] if c['type']=='Ready'][0]")
[ "$(date -d "$ltt" +%s)" -ge "$before" ] || fail "Ready's lastTransitionTime not renewed: $ltt"
grep -q "node n1: the store shows it not Ready; re-posting Ready=True" "$T/agent-n1.log" ||
  fail "no re-post logged"
pass "a Node set Unknown is re-posted Ready=True at once, with a new lastTransitionTime"

# ---- a pod set Failed/NodeLost: stopped, deleted, its status left alone
pod lost 'sleep 3600 & wait'
wait_for 20 "lost Running" field_is pod lost "o['status']['phase']" Running
lpid=$(field pod lost "o['status']['containerStatuses'][0]['containerID'].rsplit('/',1)[1]")
luid=$(field pod lost "o['metadata']['uid']")
start_tap lostev hs-tap ev.pod.n1/default/lost -o json
hsctl get pod lost -o json | python3 -c "
import json, sys
o = json.load(sys.stdin)
o['metadata'].pop('resourceVersion', None)
o['status']['phase'] = 'Failed'; o['status']['reason'] = 'NodeLost'
o['status']['message'] = 'Node n1 which was running pod lost is unresponsive'
json.dump(o, sys.stdout)" >"$T/lost.json"
hsctl replace --subresource=status -f "$T/lost.json" >/dev/null || fail "replace lost status"
wait_for 20 "lost deleted from the store" sh -c "! hsctl get pod lost >/dev/null 2>&1"
exited "$lpid" || fail "the lost pod's process $lpid still runs"
wait_for 10 "the DELETED event" grep -q '"DELETED"' "$T/lostev.out"
python3 - "$T/lostev.out" "$luid" <<'PY' || fail "the agent rewrote the Failed status: $(cat "$T/lostev.out")"
import json, sys
seen_failed = False
for line in open(sys.argv[1]):
    ev = json.loads(line)["envelope"]["event"]
    pod = ev["object"]["pod"]
    if pod["metadata"]["uid"] != sys.argv[2]:
        continue
    phase = pod.get("status", {}).get("phase")
    if phase == "Failed":
        seen_failed = True
    elif seen_failed:
        print("after Failed/NodeLost:", ev.get("type"), phase)
        sys.exit(1)
sys.exit(0 if seen_failed else 1)
PY
grep -q "lost: stopping (marked Failed/NodeLost" "$T/agent-n1.log" || fail "no stop logged"
pass "a Failed/NodeLost pod is stopped and deleted (grace 0), its status not overwritten"

# ---- hollow nodes: heartbeat names, Ready re-post, NodeLost pods
start sim "$HS_BIN/hs-hollow" 3 --bus "$HS_BUS" --node-prefix hp- --status-interval-ms 60000
wait_for 20 "hollow nodes Ready" node_ready hp-2
start_tap simhb hs-tap hb.agent-sim.hp -o json -c 1
wait_for 10 "a hollow heartbeat" grep -q '"nodes"' "$T/simhb.out"
python3 -c "import json,sys; m=json.loads(open('$T/simhb.out').readline()); sys.exit(m['envelope']['heartbeat']['nodes'] != ['hp-0','hp-1','hp-2'])" ||
  fail "hollow heartbeat nodes: $(cat "$T/simhb.out")"
set_node_unknown hp-1
wait_for 3 "hp-1 Ready again within ~1 s" node_ready hp-1
node_ready hp-0 || fail "hp-0 lost its Ready"
cat >"$T/hollow.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: hollow
spec:
  nodeName: hp-1
  containers:
  - name: main
    command: ["true"]
EOF
hsctl apply -f "$T/hollow.yaml" >/dev/null
wait_for 20 "hollow Running" field_is pod hollow "o['status']['phase']" Running
hsctl get pod hollow -o json | python3 -c "
import json, sys
o = json.load(sys.stdin)
o['metadata'].pop('resourceVersion', None)
o['status']['phase'] = 'Failed'; o['status']['reason'] = 'NodeLost'
json.dump(o, sys.stdout)" >"$T/hollow.json"
hsctl replace --subresource=status -f "$T/hollow.json" >/dev/null || fail "replace hollow status"
wait_for 20 "hollow deleted" sh -c "! hsctl get pod hollow >/dev/null 2>&1"
pass "hollow nodes: heartbeat names every node, Unknown re-posted Ready, NodeLost pods deleted"
