# lib.sh: helpers for integration tests. Source it first thing.
#
# Every test gets its own temp dir ($T) and bus port pair; everything it
# starts is killed and $T removed on exit, whatever happens. Waits are for
# conditions with deadlines (wait_for), never fixed sleeps.
set -euo pipefail
# Job control: every background job gets its own process group, so cleanup
# can kill a job with everything it started (a client loop and its hsctl).
set -m

HS_BIN=${HS_BIN:?HS_BIN must point at the build bin directory}
HS_SRC=${HS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/hs-it-XXXXXX")
HS_PIDS=()
export PATH="$HS_BIN:$PATH"

hs_cleanup() {
  local rc=$? h
  # A test's own hooks first (a container to stop, a half-built tree):
  # best effort, each whatever the others did.
  for h in "${HS_EXIT_HOOKS[@]:-}"; do
    [ -n "$h" ] && { "$h" || echo "exit hook $h failed" >&2; }
  done
  # A hook that found the test left something behind fails a passing test.
  [ "${HS_EXIT_FAIL:-0}" = 1 ] && [ $rc -eq 0 ] && rc=1
  # What outlives lib.sh's process groups: shims (they setsid) and the
  # workloads in our cgroups.
  hs_kill_workloads
  # Kill whole process groups; a job already reaped has no group left, so a
  # recycled pid of someone else's is not hit (it would not lead a group).
  for p in "${HS_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 -- "-$p" 2>/dev/null || true
  done
  for p in "${HS_PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "---- test failed (rc=$rc); logs from $T:" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 40 "$f" >&2; }; done
  fi
  rm -rf "$T"
  exit $rc
}
# hs_on_exit FUNC: FUNC runs first at exit, before lib.sh kills what the
# test started and removes $T: for what a test sets up beyond lib.sh's own.
# (A trap of the test's own would replace hs_cleanup, and must not fail
# under set -e before calling it.) A hook sets HS_EXIT_FAIL=1 to fail a
# test that passed (it found something left behind).
HS_EXIT_HOOKS=()
hs_on_exit() { HS_EXIT_HOOKS+=("$1"); }

# Cgroups of this test's agents live under this parent, in every hierarchy.
HS_CG_PARENT="hs-it-$$-$RANDOM"

# Kills every process of this test that left lib.sh's process groups: any
# whose command line names $T (shims run with --state $T/...) and any in a
# cgroup under $HS_CG_PARENT; then removes those cgroups, deepest first.
hs_kill_workloads() {
  local pass pid dirs
  for pass in 1 2 3; do
    for pid in $(grep -lsF -- "$T" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
      [ "$pid" != "$$" ] && kill -9 "$pid" 2>/dev/null || true
    done
    for f in $(find /sys/fs/cgroup -path "*/$HS_CG_PARENT*" -name cgroup.procs 2>/dev/null); do
      for pid in $(cat "$f" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
  done
  dirs=$(find /sys/fs/cgroup -depth -type d -path "*/$HS_CG_PARENT*" 2>/dev/null || true)
  for d in $dirs; do
    poll_until 5 sh -c "rmdir '$d' 2>/dev/null || [ ! -d '$d' ]" ||
      echo "cannot remove cgroup $d" >&2
  done
}

trap hs_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ms: milliseconds since the epoch. lap MESSAGE: prints it after the time
# since this test started, for tests that report their timings.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
HS_T0=$(ms)
lap() { echo "  [$(( $(ms) - HS_T0 )) ms] $*"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A TCP port p with p+1, both free on loopback right now, picked below the
# kernel's ephemeral range so no outgoing connection takes them meanwhile.
free_port_pair() {
  python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
lo = max(lo, 12000)
for _ in range(500):
    p = random.randrange(10000, lo - 2)
    socks = []
    try:
        for port in (p, p + 1):
            s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", port))
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

HS_PORT=$(free_port_pair)
export HS_BUS="127.0.0.1:$HS_PORT"

# ---- security. Every test runs on a secured bus, as a user's cluster does
# (CurveZMQ, an identity per component; docs/architecture.md "Bootstrap"),
# unless it calls hs_insecure before it starts anything. The cluster's keys
# are made here, by `hsctl init`, in $HS_PKI: `start` gives hs-bus --pki
# and each process the credential of its identity (hs_cred_of); hsctl and
# hs-tap act as the test's admin (HS_CREDENTIAL; $HSCONFIG, hsctl's config,
# names the same credential). Nothing outside $T is read or written.
export HS_PKI="$T/pki"
export HSCONFIG="$T/hsconfig"
HS_SECURE=1
unset HS_INSECURE
"$HS_BIN/hsctl" init --pki "$HS_PKI" --user test >"$T/init.log" 2>&1 ||
  fail "hsctl init --pki $HS_PKI failed: $(cat "$T/init.log")"
export HS_CREDENTIAL="$HS_PKI/creds/admin-test.cred"

# hs_insecure: this test runs on a plaintext bus (HS_INSECURE=1, hs-bus
# --insecure): for what needs no keys, such as a raw ZeroMQ peer sending
# garbage. Call it before starting anything.
hs_insecure() {
  HS_SECURE=0
  export HS_INSECURE=1
  unset HS_CREDENTIAL
}

# hs_node_cred NODE: the path of node NODE's credential (identity
# node:NODE), made with `hsctl keys create node` the first time.
hs_node_cred() {
  local f="$HS_PKI/creds/node-$1.cred"
  [ -f "$f" ] || "$HS_BIN/hsctl" keys create node "$1" --pki "$HS_PKI" >>"$T/init.log" 2>&1 ||
    fail "hsctl keys create node $1 failed: $(tail -n 3 "$T/init.log")"
  echo "$f"
}

# hs_cred_of CMD ARGS...: the credential the process CMD ARGS runs with on
# a secured bus, by the first hs-* program in the words (so `on_host 2
# hs-agent ...` counts): each component its identity's, an agent or proxy
# its node's (--node-name, else the host name); nothing for the others
# (they inherit the admin's) or for an agent given --credential, --join
# or --insecure, or whose --state-dir holds the credential a join saved.
# hs_prog_of WORD: the Homeostat program WORD runs (its base name), or
# nothing (a namespace named hs-..., a wrapper).
hs_prog_of() {
  case "${1##*/}" in
    hs-bus | hs-store | hs-scheduler | hs-replicas | hs-jobs | hs-prober | hs-endpoints | \
      hs-dns | hs-agent | hs-proxy | hs-tap | hs-hollow | hs-apiserver | hs-metrics | \
      hs-autoscaler | hsctl) echo "${1##*/}" ;;
  esac
}

hs_cred_of() {
  [ "$HS_SECURE" = 1 ] || return 0
  local w exe="" node="" prev="" own=0
  for w in "$@"; do
    if [ -z "$exe" ]; then
      exe=$(hs_prog_of "$w")
    else
      [ "$prev" = --node-name ] && node=$w
      [ "$prev" = --state-dir ] && [ -f "$w/node.cred" ] && own=1
      case "$w" in
        --node-name=*) node=${w#--node-name=} ;;
        --credential | --credential=* | --join | --join=* | --insecure) own=1 ;;
      esac
    fi
    prev=$w
  done
  case "$exe" in
    hs-store) echo "$HS_PKI/creds/store.cred" ;;
    hs-scheduler | hs-replicas | hs-jobs | hs-prober | hs-endpoints | hs-dns | hs-apiserver | \
      hs-metrics)
      [ "$own" = 1 ] || echo "$HS_PKI/creds/${exe#hs-}.cred" ;;
    hs-agent | hs-proxy) [ "$own" = 1 ] || hs_node_cred "${node:-$(hostname)}" ;;
  esac
}

# poll_until SECONDS COMMAND...: retries COMMAND until it succeeds (0) or
# SECONDS pass (1). The one polling loop of the tests: everything that waits
# goes through it.
# procs_naming TEXT: the pids of the processes whose command line holds
# TEXT, one per line. Read with bash alone: a `grep TEXT /proc/*/cmdline`
# finds itself (its own argv holds TEXT, and its pid is in the glob).
procs_naming() {
  local f args
  for f in /proc/[0-9]*/cmdline; do
    mapfile -d '' args <"$f" 2>/dev/null || continue
    [[ "${args[*]}" == *"$1"* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
  done
  return 0
}

poll_until() {
  local secs=$1; shift
  local deadline=$(( $(date +%s%N) + secs * 1000000000 ))
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -gt "$deadline" ] && return 1
    sleep 0.02   # polling interval of a deadline wait, not a fixed wait
  done
}

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  poll_until "$secs" "$@" || fail "timed out after ${secs}s waiting for: $what"
}

# start NAME CMD...: runs a process in the background, logging to $T/NAME.log.
# Sets LAST_PID.
# On a secured bus the process gets its credential (hs_cred_of), and hs-bus
# --pki $HS_PKI; on a plaintext one (hs_insecure) hs-bus gets --insecure;
# unless the command gives hs-bus --pki or --insecure itself.
start() {
  local name=$1; shift
  local cred extra=() w
  cred=$(hs_cred_of "$@")
  for w in "$@"; do
    case "$(hs_prog_of "$w")" in
      hs-bus) [ "$HS_SECURE" = 1 ] && extra=(--pki "$HS_PKI") || extra=(--insecure); break ;;
      ?*) break ;;
    esac
  done
  # A test that chose the bus's mode itself keeps it.
  for w in "$@"; do
    case "$w" in --pki | --pki=* | --insecure) extra=() ;; esac
  done
  if [ -n "$cred" ]; then
    HS_CREDENTIAL=$cred "$@" "${extra[@]}" >>"$T/$name.log" 2>&1 &
  else
    "$@" "${extra[@]}" >>"$T/$name.log" 2>&1 &
  fi
  LAST_PID=$!
  HS_PIDS+=("$LAST_PID")
}

# start_bus: hs-bus on $HS_PORT; returns once it listens. If the port was
# taken meanwhile, it picks another pair (and moves HS_BUS with it).
start_bus() {
  local attempt
  for attempt in 1 2 3; do
    start bus "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$HS_PORT"
    BUS_PID=$LAST_PID
    # listening, or exited (the port was taken)
    poll_until 10 sh -c "grep -q 'listening on tcp://127.0.0.1:$((HS_PORT + 1))' '$T/bus.log' ||
                         ! kill -0 $BUS_PID" || fail "hs-bus did not listen within 10s"
    kill -0 "$BUS_PID" 2>/dev/null && return 0
    grep -q "Address already in use" "$T/bus.log" || fail "hs-bus exited at start"
    HS_PORT=$(free_port_pair)
    export HS_BUS="127.0.0.1:$HS_PORT"
  done
  fail "hs-bus found no free port in 3 tries"
}

start_store() {
  mkdir -p "$T/store"
  start store "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store" "$@"
  STORE_PID=$LAST_PID
  wait_for 20 "hs-store to answer" "$HS_BIN/hsctl" get nodes
}

# start_ctrl NAME [ARGS...]: a controller (scheduler, replicas, jobs, prober)
# as hs-NAME on the bus, logging to $T/NAME[-INSTANCE].log; returns once it
# has synced and waited out its member timeout (it logs "synced" first).
# Pass --instance X to run several of one kind. Sets CTRL_PID.
start_ctrl() {
  local name=$1; shift
  local inst="" a prev=""
  for a in "$@"; do
    [ "$prev" = "--instance" ] && inst=$a
    case "$a" in --instance=*) inst=${a#--instance=} ;; esac
    prev=$a
  done
  local log="$name${inst:+-$inst}"
  start "$log" "$HS_BIN/hs-$name" --bus "$HS_BUS" "$@"
  CTRL_PID=$LAST_PID
  wait_for 30 "hs-$name to sync" grep -q "synced\|scheduling pods" "$T/$log.log"
}

# expect_out "expected substring" CMD...: runs CMD, checks its output contains it.
expect_out() {
  local want=$1; shift
  local out
  out=$("$@" 2>&1) || true
  case "$out" in
    *"$want"*) ;;
    *) fail "'$*' printed:
$out
-- expected it to contain: $want" ;;
  esac
}

# expect_rc RC CMD...: runs CMD and checks its exit code.
expect_rc() {
  local want=$1; shift
  local rc=0
  "$@" >"$T/last.out" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want; it printed:
$(cat "$T/last.out")"
}

# start_tap NAME ARGS...: hs-tap in the background, stdout to $T/NAME.out,
# stderr to $T/NAME.err; returns once it is subscribed. Sets TAP_PID.
start_tap() {
  local name=$1; shift
  hs-tap "$@" >"$T/$name.out" 2>"$T/$name.err" &
  TAP_PID=$!
  HS_PIDS+=("$TAP_PID")
  wait_for 10 "hs-tap $name to subscribe" grep -q "listening on" "$T/$name.err"
}

# exited PID: true once PID is gone. A child that exited but was not reaped
# yet still answers kill -0, so look at its state.
exited() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status"; }

# need_root_cgroups: the agent's tests make cgroups and namespaces; without
# root (or a writable cgroup filesystem) they are skipped (exit 77: ctest
# counts it as skipped, not passed), saying why.
need_root_cgroups() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (cgroups and namespaces)"; exit 77
  fi
  local probe="/sys/fs/cgroup/pids/$HS_CG_PARENT-probe"
  [ -d /sys/fs/cgroup/pids ] || probe="/sys/fs/cgroup/$HS_CG_PARENT-probe"
  if ! mkdir "$probe" 2>/dev/null; then
    echo "SKIP: cannot create a cgroup under /sys/fs/cgroup"; exit 77
  fi
  rmdir "$probe"
}

# start_agent NODE ARGS...: hs-agent for node NODE, state in $T/agent-NODE,
# cgroups under $HS_CG_PARENT/NODE; returns once the Node is registered.
start_agent() {
  local node=$1; shift
  need_root_cgroups
  start "agent-$node" "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name "$node" \
    --state-dir "$T/agent-$node" --cgroup-parent "$HS_CG_PARENT/$node" "$@"
  AGENT_PID=$LAST_PID
  wait_for 20 "node $node to register" sh -c "hsctl get node '$node' | grep -Eq ' Ready(,SchedulingDisabled)?( |\$)'"
}
