#!/usr/bin/env bash
# Resource usage on usage.<node>/: a real hs-agent on a secured bus (node:n1
# may publish usage.n1/) reads its pods' cgroups every --usage-interval and
# publishes a NodeUsage. A busy pod (a shell loop, limited to 500m) shows
# far more CPU than an idle one; both have a memory working set; the host's
# figures are there; a container restart shows the new restartCount with
# its cumulative CPU starting again. hs-tap reads the topic as JSON.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --usage-interval 500ms
start_tap usage -o json usage.

# pod NAME 'SHELL COMMAND': requests and limits set, bound to n1
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
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", $script]
    resources:
      requests: {cpu: 100m, memory: 16Mi}
      limits: {cpu: 500m, memory: 64Mi}
EOF
  hsctl apply -f "$T/$1.yaml" >/dev/null || fail "apply $1"
}

# The busy loop ends (and the container restarts) when $T/stop appears.
pod busy "while [ ! -e $T/stop ]; do :; done; rm -f $T/stop; exit 1"
pod idle "trap 'exit 0' TERM; sleep 3600 & wait"

# last: the newest NodeUsage of n1 as one line of figures per container:
# "pod restarts nanocores core_ns working_set started_at", then "node
# window_ms nanocores working_set". Empty until one names both pods.
last() {
  python3 - "$T/usage.out" <<'PY'
import json, sys
last = None
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("topic") == "usage.n1/" and "usage" in m.get("envelope", {}):
        last = m["envelope"]["usage"]
if last is None:
    sys.exit(0)
pods = {p["name"]: p for p in last.get("pods", [])}
if "busy" not in pods or "idle" not in pods:
    sys.exit(0)
for name in ("busy", "idle"):
    c = pods[name]["containers"][0]
    print(name, c.get("restartCount", 0), c.get("cpuUsageNanocores", 0),
          c.get("cpuUsageCoreNs", 0), c.get("memoryWorkingSetBytes", 0), c.get("startedAt", 0))
print("node", last.get("windowMs", 0), last.get("cpuUsageNanocores", 0),
      last.get("memoryWorkingSetBytes", 0), last.get("intervalMs", 0))
PY
}
fig() { # fig NAME FIELD(1-based after the name)
  awk -v n="$1" -v f="$2" '$1 == n { print $(f + 1) }' <<<"$FIGS"
}
# busy_hot: the busy pod uses well above the idle one: at least 50m and ten
# times the idle pod's (a loaded machine gives the loop less than its 500m)
busy_hot() {
  FIGS=$(last)
  [ -n "$FIGS" ] || return 1
  local b i
  b=$(fig busy 2) i=$(fig idle 2)
  [ "$b" -ge 50000000 ] && [ "$b" -gt $((i * 10)) ]
}
wait_for 40 "the busy pod's CPU rate well above the idle pod's" busy_hot
lap "busy $(fig busy 2) nanocores, idle $(fig idle 2)"
[ "$(fig busy 4)" -gt 0 ] || fail "busy pod without a memory working set: $FIGS"
[ "$(fig idle 4)" -gt 0 ] || fail "idle pod without a memory working set: $FIGS"
[ "$(fig busy 3)" -gt 0 ] || fail "busy pod without cumulative CPU: $FIGS"
[ "$(fig node 1)" -gt 0 ] && [ "$(fig node 2)" -gt 0 ] && [ "$(fig node 3)" -gt 0 ] ||
  fail "the node's own figures missing: $FIGS"
[ "$(fig node 4)" = 500 ] || fail "intervalMs is not 500: $FIGS"
pass "busy pod $(fig busy 2) nanocores vs idle $(fig idle 2); working sets $(fig busy 4) and $(fig idle 4) bytes"

# ---- a restart: the new run's restartCount, its CPU time starting again
cpu_high() { FIGS=$(last); [ "$(fig busy 1)" = 0 ] && [ "$(fig busy 3)" -ge 800000000 ]; }
wait_for 40 "the first run to use 0.8 s of CPU (the new run's first samples stay below it)" cpu_high
before_core=$(fig busy 3) before_started=$(fig busy 5)
touch "$T/stop"
restarted() { FIGS=$(last); [ -n "$FIGS" ] && [ "$(fig busy 1)" = 1 ]; }
wait_for 30 "a NodeUsage with the busy pod's restartCount 1" restarted
after_core=$(fig busy 3) after_started=$(fig busy 5)
[ "$after_core" -lt "$before_core" ] ||
  fail "the new run's CPU time $after_core did not start again (the last run had $before_core)"
# startedAt is RFC 3339 in JSON (seconds): never earlier than the last run's
[[ ! "$after_started" < "$before_started" ]] ||
  fail "startedAt went back: $before_started -> $after_started"
# and it grows again, with a rate, in the new run
regrowing() { FIGS=$(last); [ "$(fig busy 1)" = 1 ] && [ "$(fig busy 3)" -gt "$after_core" ] &&
  [ "$(fig busy 2)" -gt 0 ]; }
wait_for 30 "the new run's CPU time to grow" regrowing
pass "restart: restartCount 1, CPU time $before_core -> $after_core ns, then $(fig busy 3)"

# ---- --usage-interval: below 100ms or not a duration is a usage error
expect_rc 2 "$HS_BIN/hs-agent" --usage-interval 10ms --node-name x
expect_out "not a duration" "$HS_BIN/hs-agent" --usage-interval 1m --node-name x
pass "usage collection"
