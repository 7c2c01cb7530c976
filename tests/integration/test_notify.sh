#!/usr/bin/env bash
# The systemd readiness and watchdog contract, without systemd: each
# component runs with NOTIFY_SOCKET pointing at a listener of our own
# (notify_listen: one line per datagram, with its CLOCK_MONOTONIC time and
# the sender's pid) and WATCHDOG_USEC set. For hs-bus, hs-store, the four
# controllers, hs-agent and hs-hollow:
#   - READY=1 comes from the component's own pid (systemd's NotifyAccess=main)
#     and only once it is really ready: the bus listens, the store answers,
#     the agent's Node is registered; a controller is not READY while the
#     store is down and becomes READY after the store;
#   - WATCHDOG=1 comes periodically (at least 4, median gap below
#     WATCHDOG_USEC, none closer than a quarter of it);
#   - after kill -STOP no WATCHDOG=1 for over twice WATCHDOG_USEC (the loop
#     itself pings: a stalled loop goes silent, and systemd would restart
#     it); after kill -CONT the pings resume.
source "$(dirname "$0")/lib.sh"

WD_USEC=400000
LISTEN=$HS_BIN/notify_listen
[ -x "$LISTEN" ] || fail "$LISTEN is not built"

# listen NAME: a listener on $T/NAME.sock; its lines go to $T/notify-NAME.log.
listen() {
  start "notify-$1" "$LISTEN" "$T/$1.sock"
  wait_for 10 "the $1 listener to bind" test -S "$T/$1.sock"
}
# notify_env NAME: NE=(env ...) to run a command with NAME's notify socket
# and the watchdog on (env execs it: the pid stays the component's).
notify_env() { NE=(env "NOTIFY_SOCKET=$T/$1.sock" "WATCHDOG_USEC=$WD_USEC"); }
out() { echo "$T/notify-$1.log"; }
has_ready() { grep -q ' READY=1' "$(out "$1")"; }
# ready_line NAME: "<time> pid=<pid> READY=1 ..." (the first)
ready_line() { grep -m1 ' READY=1' "$(out "$1")"; }
# wait_ready NAME PID: waits for READY=1 and checks it came from PID.
wait_ready() {
  local name=$1 pid=$2
  wait_for 60 "$name to send READY=1" has_ready "$name"
  local line; line=$(ready_line "$name")
  case "$line" in
    *" pid=$pid "*) ;;
    *) fail "$name: READY=1 not from its pid $pid: $line" ;;
  esac
}
count_pings() { grep -c ' WATCHDOG=1' "$(out "$1")" || true; }
mark() {
  "$LISTEN" --send "$T/$1.sock" "MARK=$2" || fail "cannot send a mark to $1's listener"
  wait_for 10 "$1's listener to log MARK=$2" grep -q " MARK=$2\$" "$(out "$1")"
}
mark_time() { grep -m1 " MARK=$2\$" "$(out "$1")" | cut -d' ' -f1; }

# watchdog NAME PID: periodic pings; none while stopped; pings again after.
watchdog() {
  local name=$1 pid=$2 f; f=$(out "$1")
  local base; base=$(count_pings "$name")
  wait_for 30 "$name: 4 more WATCHDOG=1" sh -c "[ \$(grep -c ' WATCHDOG=1' '$f') -ge $((base + 4)) ]"
  # gaps between the pings after READY, in ms
  local gaps
  gaps=$(sed -n '/ READY=1/,$p' "$f" | awk '/ WATCHDOG=1$/ {
           if (prev) printf "%d\n", ($1 - prev) * 1000; prev = $1 }' | sort -n)
  local n median min
  n=$(echo "$gaps" | wc -l)
  median=$(echo "$gaps" | sed -n "$(( (n + 1) / 2 ))p")
  min=$(echo "$gaps" | head -1)
  [ "$median" -lt $((WD_USEC / 1000)) ] ||
    fail "$name: median gap between pings ${median} ms, WATCHDOG_USEC is $((WD_USEC / 1000)) ms"
  # sd-event sends at most every WATCHDOG_USEC/4 by the sender's clock; the
  # gaps here are receive times, truncated to ms, so allow 10% for jitter.
  # An unlimited loop would ping every turn, a few ms apart.
  [ "$min" -ge $((WD_USEC * 9 / 40000)) ] || fail "$name: pings only ${min} ms apart (not rate-limited)"

  kill -STOP "$pid"
  wait_for 10 "$name to be stopped" grep -q '^State:.*T' "/proc/$pid/status"
  mark "$name" stopped # after every ping it sent before it stopped
  # Deadline-bounded wait for what must not come: a ping within 1 s.
  if poll_until 1 sh -c "sed -n '/ MARK=stopped\$/,\$p' '$f' | grep -q ' WATCHDOG=1'"; then
    kill -CONT "$pid"
    fail "$name sent WATCHDOG=1 while stopped"
  fi
  mark "$name" resumed # while still stopped: nothing of it can come between
  kill -CONT "$pid"
  local t0 t1 silent
  t0=$(mark_time "$name" stopped)
  t1=$(mark_time "$name" resumed)
  silent=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
  [ "$silent" -ge $((2 * WD_USEC / 1000)) ] || fail "$name: silent only ${silent} ms"
  [ "$(sed -n '/ MARK=stopped$/,/ MARK=resumed$/p' "$f" | grep -c ' WATCHDOG=1')" -eq 0 ] ||
    fail "$name: WATCHDOG=1 between the marks"
  wait_for 30 "$name: pings again after SIGCONT" sh -c \
    "[ \$(sed -n '/ MARK=resumed\$/,\$p' '$f' | grep -c ' WATCHDOG=1') -ge 2 ]"
  pass "$name: READY=1; WATCHDOG=1 every ${median} ms (median of $n gaps); silent ${silent} ms while stopped; pings again"
}

# ---- hs-bus: READY=1 once it listens
listen bus
NOTIFY_SOCKET=$T/bus.sock WATCHDOG_USEC=$WD_USEC start_bus
wait_ready bus "$BUS_PID"
(exec 3<>"/dev/tcp/127.0.0.1/$((HS_PORT + 1))") 2>/dev/null || fail "bus READY=1 but not listening"
watchdog bus "$BUS_PID"

# ---- a controller before the store: not READY; READY after the store
listen scheduler
notify_env scheduler
start scheduler "${NE[@]}" "$HS_BIN/hs-scheduler" --bus "$HS_BUS" --instance s1
SCHED_PID=$LAST_PID
wait_for 30 "hs-scheduler to join the bus" grep -q ' WATCHDOG=1' "$(out scheduler)"
if poll_until 3 has_ready scheduler; then fail "hs-scheduler READY=1 with no store: $(ready_line scheduler)"; fi
pass "hs-scheduler: no READY=1 within 3 s while the store is down (it pings meanwhile)"

# ---- hs-store: READY=1 once it has opened its data and joined the bus
listen store
notify_env store
mkdir -p "$T/store"
start store "${NE[@]}" "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
STORE_PID=$LAST_PID
wait_ready store "$STORE_PID"
hsctl get nodes >"$T/out" 2>&1 || fail "store READY=1 but hsctl get nodes failed: $(cat "$T/out")"
wait_ready scheduler "$SCHED_PID"
st=$(ready_line store | cut -d' ' -f1)
sc=$(ready_line scheduler | cut -d' ' -f1)
awk -v a="$st" -v b="$sc" 'BEGIN { exit !(b > a) }' ||
  fail "hs-scheduler READY=1 at $sc, before the store's at $st"
pass "hs-scheduler: READY=1 $(awk -v a="$st" -v b="$sc" 'BEGIN { printf "%d", (b - a) * 1000 }') ms after the store's"
watchdog store "$STORE_PID"
watchdog scheduler "$SCHED_PID"

# ---- the other controllers, with the store up
for c in replicas jobs prober; do
  listen "$c"
  notify_env "$c"
  start "$c" "${NE[@]}" "$HS_BIN/hs-$c" --bus "$HS_BUS" --instance "${c}1"
  pid=$LAST_PID
  wait_ready "$c" "$pid"
  wait_for 10 "hs-$c to log it synced" grep -q "synced at revision" "$T/$c.log"
  watchdog "$c" "$pid"
done

# ---- hs-hollow: READY=1 once every hollow node is registered
listen sim
notify_env sim
start sim "${NE[@]}" "$HS_BIN/hs-hollow" 3 --bus "$HS_BUS" --node-prefix sim-
SIM_PID=$LAST_PID
wait_ready sim "$SIM_PID"
hsctl get nodes >"$T/out" 2>&1 || fail "hsctl get nodes: $(cat "$T/out")"
[ "$(grep -c '^sim-[0-2] ' "$T/out")" -eq 3 ] || fail "sim READY=1 before its 3 nodes: $(cat "$T/out")"
watchdog sim "$SIM_PID"

# ---- hs-agent: READY=1 once its Node is registered and its pods are in
if (need_root_cgroups) >"$T/skip" 2>&1; then
  listen agent
  notify_env agent
  start agent-n1 "${NE[@]}" "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name n1 \
    --state-dir "$T/agent-n1" --cgroup-parent "$HS_CG_PARENT/n1"
  AGENT_PID=$LAST_PID
  wait_ready agent "$AGENT_PID"
  hsctl get node n1 >"$T/out" 2>&1 || fail "agent READY=1 but no node n1: $(cat "$T/out")"
  grep -Eq '^n1 +Ready' "$T/out" || fail "agent READY=1 but n1 is not Ready: $(cat "$T/out")"
  watchdog agent "$AGENT_PID"
else
  echo "skipped: hs-agent ($(cat "$T/skip"))"
fi
