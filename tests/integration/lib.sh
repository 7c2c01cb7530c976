# lib.sh: helpers for integration tests. Source it first thing.
#
# Every test gets its own temp dir ($T) and bus port pair; everything it
# starts is killed and $T removed on exit, whatever happens. Waits are for
# conditions with deadlines (wait_for), never fixed sleeps.
set -euo pipefail

HS_BIN=${HS_BIN:?HS_BIN must point at the build bin directory}
HS_SRC=${HS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/hs-it-XXXXXX")
HS_PIDS=()
export PATH="$HS_BIN:$PATH"

hs_cleanup() {
  local rc=$?
  for p in "${HS_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  for p in "${HS_PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    echo "---- test failed (rc=$rc); logs from $T:" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 40 "$f" >&2; }; done
  fi
  rm -rf "$T"
  exit $rc
}
trap hs_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A free TCP port p with p+1 also free, on loopback.
free_port_pair() {
  python3 - <<'PY'
import socket
for _ in range(200):
    s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]; s.close()
    if p>=65534: continue
    t=socket.socket()
    try:
        t.bind(("127.0.0.1",p+1)); t.close(); print(p); break
    except OSError:
        t.close()
PY
}

HS_PORT=$(free_port_pair)
export HS_BUS="127.0.0.1:$HS_PORT"

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(date +%s%N) + secs * 1000000000 ))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(date +%s%N)" -gt "$deadline" ]; then
      fail "timed out after ${secs}s waiting for: $what"
    fi
    sleep 0.02   # polling interval of a deadline wait, not a fixed wait
  done
}

# start NAME CMD...: runs a process in the background, logging to $T/NAME.log.
# Sets LAST_PID.
start() {
  local name=$1; shift
  "$@" >>"$T/$name.log" 2>&1 &
  LAST_PID=$!
  HS_PIDS+=("$LAST_PID")
}

start_bus() {
  start bus "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$HS_PORT"
  BUS_PID=$LAST_PID
}

start_store() {
  mkdir -p "$T/store"
  start store "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store" "$@"
  STORE_PID=$LAST_PID
  wait_for 20 "hs-store to answer" "$HS_BIN/hsctl" get nodes
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
