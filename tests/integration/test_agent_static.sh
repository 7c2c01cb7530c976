#!/usr/bin/env bash
# Static pods: `hs-agent --manifests DIR` runs DIR's pods with no bus and no
# store at all; once they come, each static pod shows as a mirror pod
# (<name>-<node>, Running) that `hsctl delete` refuses; removing the
# manifest stops the pod and removes its mirror; a new manifest starts one.
source "$(dirname "$0")/lib.sh"
need_root_cgroups

mkdir -p "$T/manifests"
cat >"$T/manifests/ticker.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "while :; do date +%s%N > $T/ticker.out; sleep 0.05; done"]
EOF

# ---- no bus, no store
start agent-n1 "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name n1 --state-dir "$T/agent-n1" \
  --cgroup-parent "$HS_CG_PARENT/n1" --manifests "$T/manifests"
AGENT_PID=$LAST_PID
wait_for 20 "the static pod to run without a control plane" test -s "$T/ticker.out"
first=$(cat "$T/ticker.out")
wait_for 5 "it keeps running" sh -c "[ \"\$(cat $T/ticker.out)\" != '$first' ]"
pass "a static pod runs with no bus and no store"

# ---- the control plane comes: a mirror pod
start_bus
start_store
wait_for 30 "the node registered" sh -c "hsctl get node n1 | grep -Eq ' Ready( |\$)'"
wait_for 20 "the mirror pod Running" sh -c "hsctl get pods | grep -Eq '^ticker-n1 +1/1 +Running +0 '"
hsctl get pod ticker-n1 -o yaml >"$T/mirror.yaml"
grep -q 'kubernetes.io/config.mirror' "$T/mirror.yaml" || fail "no mirror annotation: $(cat "$T/mirror.yaml")"
grep -q 'nodeName: n1' "$T/mirror.yaml" || fail "mirror not bound to n1"
pass "the static pod is visible as a mirror pod"

# The agent's status writes come back to it as the mirror's events: they
# must not start more writes. Two seconds of the bus carry a handful of
# status writes at most (the periodic re-post is every 10 s), not hundreds.
n=$( (timeout 2 hs-tap cmd.pod -o json 2>/dev/null || true) | grep -c '"ticker-n1"' || true)
[ "$n" -le 3 ] || fail "$n status writes of the mirror in 2 s: a write loop"
pass "the mirror's status is written once, not in a loop ($n writes in 2 s)"

expect_rc 1 hsctl delete pod ticker-n1
expect_out 'Error from server (Forbidden): pods "ticker-n1" is forbidden' hsctl delete pod ticker-n1
hsctl get pod ticker-n1 >/dev/null || fail "the mirror was deleted"
pass "a mirror pod cannot be deleted with hsctl"

# ---- the agent restarts: the static pod is adopted, not restarted
pid=$(hsctl get pod ticker-n1 -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['status']['containerStatuses'][0]['containerID'].split('/')[-1])")
kill -9 "$AGENT_PID"
wait_for 10 "the agent to die" exited "$AGENT_PID"
start agent-n1 "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name n1 --state-dir "$T/agent-n1" \
  --cgroup-parent "$HS_CG_PARENT/n1" --manifests "$T/manifests"
AGENT_PID=$LAST_PID
wait_for 20 "the agent back" grep -q "adopted 1 pods" "$T/agent-n1.log"
[ -d "/proc/$pid" ] || fail "the static pod's process died with the agent"
wait_for 10 "still one Running mirror" sh -c "hsctl get pods | grep -Eq '^ticker-n1 +1/1 +Running +0 '"
pass "an agent restart adopts the static pod"

# ---- manifests come and go
rm "$T/manifests/ticker.yaml"
wait_for 20 "the removed static pod stops" exited "$pid"
wait_for 20 "its mirror is removed" sh -c "! hsctl get pod ticker-n1 >/dev/null 2>&1"
pass "removing the manifest stops the pod and removes its mirror"

cat >"$T/manifests/second.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: second
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "sleep 3600 & wait"]
EOF
kill -HUP "$AGENT_PID"
wait_for 10 "the agent re-reading on SIGHUP" grep -q "SIGHUP: re-reading" "$T/agent-n1.log"
wait_for 20 "a new manifest's mirror Running" sh -c "hsctl get pods | grep -Eq '^second-n1 +1/1 +Running'"
pass "a new manifest starts a static pod"

rm "$T/manifests/second.yaml"
wait_for 20 "all static pods gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
wait_for 10 "no container cgroup left" sh -c "[ -z \"\$(find /sys/fs/cgroup -mindepth 1 -type d -path '*$HS_CG_PARENT/n1/*')\" ]"
pass "cleaned up"
