#!/usr/bin/env bash
# host-gw routes between nodes: three network namespaces as hosts on a bridge
# in a fourth (the fabric), 172.30.0.1N/24; bus and store on ipc:// (the
# filesystem is shared); an agent per host, in its namespace, with
# --node-ip. Checks: each host gets `<podCIDR> via <InternalIP> proto 77` to
# the others' podCIDRs and the Service CIDR route (no default route here),
# ip_forward=1, the route carries traffic, a deleted Node's route goes
# everywhere, kill -9 and restart adopts the routes without touching them,
# a stale proto-77 route planted by hand goes while one of another proto
# stays, and the root namespace is untouched.
#
# The agents run under `nsenter --net`, not `ip netns exec`: the latter
# also remounts /sys, which hides /sys/fs/cgroup from the agent.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
command -v ip >/dev/null && command -v nsenter >/dev/null ||
  { echo "SKIP: needs ip (iproute2) and nsenter"; exit 77; }
need_root_cgroups

P="hs-t$$"
FAB="$P-fab"
HOSTS=(h1 h2 h3)
declare -A AGENT

# The root namespace as it was: compared at the end.
root_state() {
  { ip -br link | awk '{print $1}' | sort
    ip route show table all | grep -v ' proto 77' | sort
    ip route show table all proto 77
    cat /proc/sys/net/ipv4/ip_forward; } 2>&1
}
ROOT_BEFORE=$(root_state)

teardown() {
  local h pid
  for h in "${HOSTS[@]}"; do
    pid=${AGENT[$h]:-}
    [ -n "$pid" ] && kill -9 -- "-$pid" 2>/dev/null || true
  done
  for h in "${HOSTS[@]}"; do
    pid=${AGENT[$h]:-}
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  for ns in "${HOSTS[@]/#/$P-}" "$FAB"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}
hs_on_exit teardown

# ---- the fabric and the hosts
ip netns add "$FAB"
ip -n "$FAB" link add fab0 type bridge
ip -n "$FAB" link set fab0 up
i=0
for h in "${HOSTS[@]}"; do
  i=$((i + 1))
  ns="$P-$h"
  ip netns add "$ns"
  # Made inside the host, its peer straight into the fabric: no link is
  # ever in the root namespace.
  ip -n "$ns" link add eth0 type veth peer name "v-$h" netns "$FAB"
  ip -n "$FAB" link set "v-$h" master fab0 up
  ip -n "$ns" addr add "172.30.0.1$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
ip netns exec "$P-h1" ping -c1 -W2 172.30.0.12 >/dev/null || fail "the fabric does not carry h1 -> h2"

# ---- the control plane on ipc://, the agents in their namespaces
mkdir -p "$T/ipc"
start bus "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$HS_PORT" --ipc "$T/ipc"
wait_for 10 "hs-bus to listen" grep -q "listening on ipc://" "$T/bus.log"
export HS_BUS="ipc://$T/ipc"
start_store

# start_host H: hs-agent for node H inside its namespace (log agent-H.log).
# h3 goes without --node-ip: on an ipc:// bus its default is the first
# address of an interface that is up, its eth0's.
start_host() {
  local h=$1 n=${1#h} ip=()
  [ "$h" = h3 ] || ip=(--node-ip "172.30.0.1$n")
  start "agent-$h" nsenter --net="/run/netns/$P-$h" "$HS_BIN/hs-agent" --bus "$HS_BUS" \
    --node-name "$h" "${ip[@]}" --state-dir "$T/agent-$h" --cgroup-parent "$HS_CG_PARENT/$h"
  AGENT[$h]=$LAST_PID
}
for h in "${HOSTS[@]}"; do start_host "$h"; done
for h in "${HOSTS[@]}"; do
  wait_for 20 "node $h to register" sh -c "hsctl get node $h | grep -q ' Ready'"
done

# Each Node's podCIDR: the store's when it assigns one, else written here.
node_json() { hsctl get node "$1" -o json; }
addr_of() { node_json "$1" | python3 -c "import json,sys; n=json.load(sys.stdin); print([a['address'] for a in n['status']['addresses'] if a['type']=='InternalIP'][0])"; }
cidr_of() { node_json "$1" | python3 -c "import json,sys; n=json.load(sys.stdin); print(n.get('spec',{}).get('podCIDR',''))"; }
declare -A CIDR
i=0
for h in "${HOSTS[@]}"; do
  i=$((i + 1))
  [ "$(addr_of "$h")" = "172.30.0.1$i" ] || fail "node $h's InternalIP: $(addr_of "$h")"
  c=$(cidr_of "$h")
  if [ -z "$c" ]; then
    c="10.244.$i.0/24"
    node_json "$h" | python3 -c "
import json,sys
n=json.load(sys.stdin); n.setdefault('spec',{})['podCIDR']='$c'
for k in ('resourceVersion','uid','creationTimestamp','generation'): n['metadata'].pop(k,None)
n.pop('status',None); print(json.dumps(n))" >"$T/node-$h.json"
    hsctl apply -f "$T/node-$h.json" >/dev/null || fail "cannot set node $h's podCIDR"
  fi
  CIDR[$h]=$c
done
pass "nodes registered with their --node-ip (h3: its default) as InternalIP; podCIDRs ${CIDR[*]}"

# routes_of H: H's proto-77 routes, one per line
# (Read whole, then grepped: with pipefail, `ip ... | grep -q` fails when
# grep's early exit leaves ip a SIGPIPE.)
routes_of() { ip -n "$P-$1" route show proto 77 | sed "s/ *$//"; }
has_route() { local r; r=$(routes_of "$1") && grep -qx "$2" <<<"$r"; }
no_route() { local r; r=$(routes_of "$1") && ! grep -q "^$2 " <<<"$r"; }

i=0
for h in "${HOSTS[@]}"; do
  i=$((i + 1)); j=0
  for o in "${HOSTS[@]}"; do
    j=$((j + 1))
    [ "$o" = "$h" ] && continue
    wait_for 10 "$h's route to $o's pods" has_route "$h" "${CIDR[$o]} via 172.30.0.1$j dev eth0"
  done
  wait_for 10 "$h's Service CIDR route" has_route "$h" "10.96.0.0/16 dev eth0 scope link"
  [ "$(ip netns exec "$P-$h" cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "$h: ip_forward is not 1"
  no_route "$h" "${CIDR[$h]}" || fail "$h routes its own podCIDR away: $(routes_of "$h")"
done
pass "each host routes the others' podCIDRs via their InternalIP, and the Service CIDR; ip_forward=1"

# The route carries traffic: an address of h2's podCIDR on h2, pinged from h1.
gw2=$(python3 -c "import ipaddress; print(next(ipaddress.ip_network('${CIDR[h2]}').hosts()))")
ip -n "$P-h2" addr add "$gw2/32" dev lo
ip netns exec "$P-h1" ping -c1 -W2 "$gw2" >/dev/null || fail "h1 cannot reach $gw2 in h2's podCIDR"
pass "h1 reaches $gw2 in h2's podCIDR through the route"

# ---- a stale proto-77 route planted by hand goes; one of another proto stays
t0=$(ms)
ip -n "$P-h1" route add 10.250.77.0/24 via 172.30.0.12 proto 77
ip -n "$P-h1" route add 10.250.88.0/24 via 172.30.0.12
wait_for 5 "the stale proto-77 route to go" no_route h1 10.250.77.0/24
stale_ms=$(( $(ms) - t0 ))
all=$(ip -n "$P-h1" route show)
grep -q '^10.250.88.0/24 via 172.30.0.12' <<<"$all" ||
  fail "the route of another proto was touched: $(ip -n "$P-h1" route show)"
ip -n "$P-h1" route del 10.250.88.0/24
pass "a proto-77 route no Node explains is removed at once (${stale_ms} ms); others are left alone"

# ---- kill -9 and restart: the routes stay, are adopted, not redone
BEFORE=$(routes_of h1)
kill -9 -- "-${AGENT[h1]}"
wait "${AGENT[h1]}" 2>/dev/null || true
[ "$(routes_of h1)" = "$BEFORE" ] || fail "h1's routes changed with its agent dead: $(routes_of h1)"
LINES=$(wc -l <"$T/agent-h1.log")
start_host h1
wait_for 20 "h1's agent to come back" sh -c "tail -n +$((LINES + 1)) '$T/agent-h1.log' | grep -q 'registered node h1'"
# Its first syncs are done once a planted route is answered.
ip -n "$P-h1" route add 10.250.66.0/24 via 172.30.0.12 proto 77
wait_for 10 "the restarted agent to sync" no_route h1 10.250.66.0/24
[ "$(routes_of h1)" = "$BEFORE" ] || fail "h1's routes after the restart:
$(routes_of h1)
-- before:
$BEFORE"
! tail -n +$((LINES + 1)) "$T/agent-h1.log" | grep >/dev/null 'route add' ||
  fail "the restarted agent re-added routes it had: $(tail -n +$((LINES + 1)) "$T/agent-h1.log" | grep route)"
pass "kill -9 leaves the routes; the restarted agent adopts them as they are"

# ---- a deleted Node's route disappears everywhere
kill -9 -- "-${AGENT[h3]}"
wait "${AGENT[h3]}" 2>/dev/null || true
AGENT[h3]=""
t0=$(ms)
hsctl delete node h3 >/dev/null || fail "delete node h3"
for h in h1 h2; do
  wait_for 10 "$h to drop the route to h3's pods" no_route "$h" "${CIDR[h3]}"
done
gone_ms=$(( $(ms) - t0 ))
has_route h1 "${CIDR[h2]} via 172.30.0.12 dev eth0" || fail "h1 lost its route to h2: $(routes_of h1)"
pass "deleting Node h3 removes its route on h1 and h2, and only that one (${gone_ms} ms from hsctl delete)"

# ---- a clean stop (SIGTERM) leaves the routes, and exits 0 (under ASan: no leak)
BEFORE=$(routes_of h2)
kill -TERM "${AGENT[h2]}"
wait_for 20 "h2's agent to stop" exited "${AGENT[h2]}"
RC=0
wait "${AGENT[h2]}" || RC=$?
AGENT[h2]=""
[ "$RC" -eq 0 ] || fail "h2's agent exited $RC after SIGTERM: $(tail -n 20 "$T/agent-h2.log")"
! grep -E 'Sanitizer|runtime error' "$T/agent-h2.log" || fail "h2's agent log shows a sanitizer report"
[ "$(routes_of h2)" = "$BEFORE" ] || fail "h2's routes changed with its stop: $(routes_of h2)"
pass "a stopped agent leaves its routes in place and exits cleanly"

# ---- the root namespace is untouched
ROOT_AFTER=$(root_state)
[ "$ROOT_AFTER" = "$ROOT_BEFORE" ] || fail "the root namespace changed:
$(diff <(echo "$ROOT_BEFORE") <(echo "$ROOT_AFTER"))"
pass "the root namespace's links, routes and ip_forward are as they were"
