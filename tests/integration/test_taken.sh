#!/usr/bin/env bash
# One owner per address and per directory: a component started on what
# another already holds refuses in one line that names it and says what to
# do, exits non-zero at once, and leaves the holder untouched:
#   - hs-bus on a taken port; hs-bus on an --ipc dir another bus holds;
#   - hs-store on a data dir another store holds;
#   - hs-agent for a node whose state dir another agent holds.
source "$(dirname "$0")/lib.sh"

# refused NAME PATTERN CMD...: runs CMD as NAME; it must exit non-zero within
# 10 s, having printed exactly one line, which matches PATTERN (grep -E).
refused() {
  local name=$1 pattern=$2
  shift 2
  start "$name" "$@"
  local pid=$LAST_PID rc=0
  poll_until 10 exited "$pid" || fail "$name still runs after 10s: $(cat "$T/$name.log")"
  wait "$pid" || rc=$?
  [ "$rc" -ne 0 ] || fail "$name exited 0: $(cat "$T/$name.log")"
  # One line besides hs-bus's info lines about its keys (a secured bus
  # loads them before it binds).
  [ "$(grep -vc ' info: ' "$T/$name.log")" -eq 1 ] || fail "$name printed more than one line: $(cat "$T/$name.log")"
  grep -Eq -- "$pattern" "$T/$name.log" || fail "$name printed: $(cat "$T/$name.log")
-- expected: $pattern"
  echo "   $name (exit $rc): $(grep -v ' info: ' "$T/$name.log" | sed 's/^[^ ]* //')"
}

mkdir -p "$T/ipc"
start_bus
start_store
refused bus2 "hs-bus error: cannot listen on tcp://127\.0\.0\.1:$HS_PORT: Address already in use: another hs-bus .*another --port" \
  hs-bus --bind 127.0.0.1 --port "$HS_PORT"
kill -0 "$BUS_PID" || fail "the first hs-bus died"
hsctl get nodes >/dev/null || fail "the first bus no longer carries the store's answers"
pass "hs-bus on a taken port exits non-zero at once, naming the address; the first bus serves on"

# --ipc: ZeroMQ would replace the first bus's socket files without a word.
ipc_port=$(free_port_pair)
start bus-ipc hs-bus --bind 127.0.0.1 --port "$ipc_port" --ipc "$T/ipc"
ipc_pid=$LAST_PID
wait_for 10 "the ipc bus to listen" grep -q "listening on ipc://$T/ipc/sub" "$T/bus-ipc.log"
other_port=$(free_port_pair)
refused bus-ipc2 "the ipc dir $T/ipc is held by another hs-bus \(pid $ipc_pid\); stop it first, or run this one with another --ipc" \
  hs-bus --bind 127.0.0.1 --port "$other_port" --ipc "$T/ipc"
kill -0 "$ipc_pid" || fail "the first ipc bus died"
pass "hs-bus on an ipc dir another bus holds exits non-zero, naming its pid"

refused store2 "the data dir $T/store is held by another hs-store \(pid $STORE_PID\); stop it first, or run this one with another --data" \
  hs-store --bus "$HS_BUS" --data "$T/store"
kill -0 "$STORE_PID" || fail "the first store died"
hsctl get nodes >/dev/null || fail "the first store no longer answers"
pass "a second hs-store on the same data dir is refused, naming the first's pid"

need_root_cgroups
start_agent n1
refused agent2 "node n1: the state dir $T/agent-n1 is held by another hs-agent \(pid $AGENT_PID\); stop it first, or run this one with another --node-name and --state-dir" \
  hs-agent --bus "$HS_BUS" --node-name n1 --state-dir "$T/agent-n1" --cgroup-parent "$HS_CG_PARENT/n1"
kill -0 "$AGENT_PID" || fail "the first agent died"
wait_for 10 "node n1 Ready" sh -c "hsctl get node n1 | grep -Eq ' Ready( |\$)'"
pass "a second hs-agent for the same node and state dir is refused, naming the first's pid"

# The lock dies with its holder: a killed agent's successor starts.
kill -9 "$AGENT_PID"
poll_until 10 exited "$AGENT_PID" || fail "the agent did not die"
start agent-n1b hs-agent --bus "$HS_BUS" --node-name n1 --state-dir "$T/agent-n1" \
  --cgroup-parent "$HS_CG_PARENT/n1"
wait_for 20 "the restarted agent to run" grep -q "registered node n1" "$T/agent-n1b.log"
pass "after a kill -9 the next agent of the node takes the state dir"
