#!/usr/bin/env bash
# hs-prober runs pods' probes against real workloads on a real agent:
# (a) readiness gating: a tcpSocket readiness probe on a port the workload
#     opens only after a while: READY 0/1 (with Unhealthy Events in the
#     kubelet's words) until it listens, then 1/1; ProbeResults on the bus;
# (b) a liveness restart: an httpGet liveness probe on a port nothing
#     listens on: "connection refused" Unhealthy Events, a Killing Event,
#     the restart count grows, `hsctl describe pod` tells why;
# (c) exec probes through the agent: a readiness `cat FILE` fails while the
#     file is missing, succeeds once it is there, fails again when removed;
#     an exec liveness probe that outlives its timeout: "timed out";
# (d) a startup probe that never succeeds: readiness waits for it, and its
#     failure asks the agent for a restart (Killing Event, ProbeResults).
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --backoff-max 2
start_ctrl prober
start_tap results hs-tap probe.n1 -o json

P=$(free_port_pair)   # P: the slow server; P+1: nothing ever listens there

# pod NAME 'SHELL COMMAND' 'EXTRA YAML under the container'
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
$3
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}

# ready POD: its READY column; restarts POD: its RESTARTS column
ready() { hsctl get pod "$1" --no-headers | awk '{print $2}'; }
ready_is() { [ "$(ready "$1")" = "$2" ]; }
restarts() { hsctl get pod "$1" --no-headers | awk '{print $4}'; }
restarts_at_least() { [ "$(restarts "$1")" -ge "$2" ] 2>/dev/null; }
running() { hsctl get pod "$1" --no-headers | grep -q ' Running '; }
# event POD REASON TEXT: an Event about POD with that reason, its message containing TEXT
event() {
  hsctl get events --no-headers 2>/dev/null | grep -F "pod/$1" | grep -F "$2" | grep -qF -- "$3"
}

# ---- (a) readiness gating
pod slow "sleep 2; exec python3 -m http.server $P --bind 127.0.0.1" "    readinessProbe:
      tcpSocket: {port: \"$P\"}
      periodSeconds: 1"
wait_for 30 "slow Running" running slow
ready_is slow 0/1 || fail "slow is ready before its port listens: $(hsctl get pod slow)"
wait_for 30 "slow READY 1/1" ready_is slow 1/1
pass "readiness: 0/1 until the port listens, then 1/1"
# the probes that ran before it listened failed, in the kubelet's words (the
# first runs at once, 2 s before the server even starts)
event slow Unhealthy "Readiness probe failed: dial tcp 127.0.0.1:$P: connect: connection refused" ||
  fail "no Unhealthy event: $(hsctl get events)"
wait_for 10 "a readiness ProbeResult on the bus" grep -q '"probe":"readiness".*"success":true' "$T/results.out"
grep '"probe":"readiness"' "$T/results.out" | grep -q '"pod":"slow"' || fail "ProbeResult: $(head -3 "$T/results.out")"
hsctl describe pod slow | grep -q "Readiness probe failed" || fail "describe: $(hsctl describe pod slow)"
pass "readiness: Unhealthy events, ProbeResults on probe.n1"

# ---- (b) liveness restart
pod live "trap 'exit 0' TERM; sleep 3600 & wait" "    livenessProbe:
      httpGet: {port: \"$((P + 1))\", path: /healthz}
      periodSeconds: 1
      failureThreshold: 2"
wait_for 30 "live Running" running live
msg="Liveness probe failed: Get \"http://127.0.0.1:$((P + 1))/healthz\": dial tcp 127.0.0.1:$((P + 1)): connect: connection refused"
wait_for 20 "an Unhealthy event" event live Unhealthy "$msg"
wait_for 20 "a Killing event" event live Killing "Container main failed liveness probe, will be restarted"
wait_for 40 "live restarted twice" restarts_at_least live 2
hsctl describe pod live >"$T/describe" 2>&1
grep -qF "$msg" "$T/describe" || fail "describe shows no liveness failure: $(cat "$T/describe")"
grep -q "failed liveness probe, will be restarted" "$T/describe" || fail "describe: no Killing"
grep -Eq "Restart Count: +[2-9]" "$T/describe" || fail "describe: restart count: $(cat "$T/describe")"
# repeats merge into one Event (count > 1), not one Event per failure
n=$(hsctl get events --no-headers | grep -F "pod/live" | grep -cF "connection refused")
[ "$n" -eq 1 ] || fail "$n Unhealthy events for live, expected 1 merged: $(hsctl get events)"
pass "liveness: connection refused, Killing, restarted (count grows), describe tells why"

# ---- (c) exec probes
F="$T/healthy"
pod ex "sleep 3600 & wait" "    readinessProbe:
      exec: {command: [cat, \"$F\"]}
      periodSeconds: 1
      failureThreshold: 1"
wait_for 30 "ex Running" running ex
wait_for 20 "an exec readiness failure" event ex Unhealthy "Readiness probe failed: cat: $F: No such file or directory"
ready_is ex 0/1 || fail "ex ready without the file"
echo ok >"$F"
wait_for 20 "ex READY 1/1 once the file exists" ready_is ex 1/1
rm -f "$F"
wait_for 20 "ex READY 0/1 once it is gone" ready_is ex 0/1
pass "exec readiness: fails, succeeds, fails again with cat's own words"

pod slowexec "trap 'exit 0' TERM; sleep 3600 & wait" "    livenessProbe:
      exec: {command: [sleep, \"5\"]}
      timeoutSeconds: 1
      periodSeconds: 1
      failureThreshold: 1"
wait_for 30 "slowexec Running" running slowexec
wait_for 30 "an exec timeout" event slowexec Unhealthy 'Liveness probe failed: command "sleep 5" timed out'
wait_for 30 "slowexec restarted" restarts_at_least slowexec 1
pass "exec liveness: a command past its timeout fails and the container restarts"

# ---- (d) a startup probe that never succeeds: liveness and readiness wait
# for it; after failureThreshold failures the container is to be restarted
# (ProbeResults startup=false and liveness=false: the agent's restart word)
pod boot "trap 'exit 0' TERM; sleep 3600 & wait" "    startupProbe:
      tcpSocket: {port: \"$((P + 1))\"}
      periodSeconds: 1
      failureThreshold: 2
    readinessProbe:
      tcpSocket: {port: \"$((P + 1))\"}
      periodSeconds: 1"
wait_for 30 "boot Running" running boot
wait_for 20 "a startup failure" event boot Unhealthy "Startup probe failed: dial tcp 127.0.0.1:$((P + 1)): connect: connection refused"
wait_for 20 "a Killing event" event boot Killing "Container main failed startup probe, will be restarted"
wait_for 10 "startup=false on the bus" sh -c "grep '\"pod\":\"boot\"' '$T/results.out' | grep -q '\"probe\":\"startup\"'"
grep '"pod":"boot"' "$T/results.out" | grep -q '"probe":"liveness"' || fail "no liveness word for boot"
grep '"pod":"boot"' "$T/results.out" | grep -q '"success":true' && fail "boot: a success said"
event boot Unhealthy "Readiness probe failed" && fail "readiness ran before startup succeeded"
pass "startup: gates readiness, its failure asks for a restart"

# the prober's counters
start_tap hb hs-tap hb.prober. -o json -c 1
wait_for 10 "a prober heartbeat" grep -q '"probes"' "$T/hb.out"
grep -q '"failures"' "$T/hb.out" || fail "heartbeat counters: $(cat "$T/hb.out")"
# every probe so far ended (a failure, a timeout or a success): timed
python3 - "$T/hb.out" <<'PY' || fail "probe_duration_seconds: $(cat "$T/hb.out")"
import json, sys
hb = json.loads(open(sys.argv[1]).readline())["envelope"]["heartbeat"]
h = {x["name"]: x for x in hb.get("histograms", [])}["probe_duration_seconds"]
assert int(h["count"]) > 0 and float(h["sum"]) > 0, h
assert len(h["bounds"]) == len(h["counts"]) and int(h["counts"][-1]) <= int(h["count"]), h
PY
pass "prober heartbeat counts probes and failures, times them"
