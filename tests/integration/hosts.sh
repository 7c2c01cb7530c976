# hosts.sh: a cluster of "hosts" on one machine, for the network tests.
# Source it after lib.sh.
#
#   hosts_up N       makes network namespaces hs<pid>f (the fabric: bridge fab0,
#                    the "physical" L2 segment) and hs<pid>h1..hN (the hosts),
#                    each host with eth0 = 172.30.0.1<i>/24 on the fabric and lo
#                    up. Nothing routes anywhere else: the hosts have no default
#                    route, so no packet can leave for the machine's network.
#   on_host I CMD    runs CMD in host I's network namespace (nsenter --net:
#                    `ip netns exec` would also remount /sys, hiding the
#                    cgroups the agent needs).
#   host_ip I        172.30.0.1<I>.
#   hosts_control_plane
#                    hs-bus on host 1's fabric address (HS_BUS=172.30.0.11:7400,
#                    exported) and hs-store on host 1; returns once the store
#                    answers. hsctl runs in host 1 (hsctl, $HSCTL for sh -c).
#
# The fixture records the root network namespace (links, addresses, routes,
# nftables tables, forwarding) before it starts. At exit (an hs_on_exit
# hook) it kills what runs in its hosts, deletes its namespaces and checks
# that the root namespace is exactly as it was; if not, the test fails
# (HS_EXIT_FAIL). /run/netns is mounted by `ip netns add` when no namespace
# existed yet: the fixture unmounts it again if it made it and no namespace
# is left (under a lock, as tests run two at a time).

HOSTS_NS=hs$$
HOSTS_N=0
HOSTS_LOCK=/run/lock/homeostat-netns.lock

host_ns() { echo "${HOSTS_NS}h$1"; }
host_ip() { echo "172.30.0.1$1"; }
on_host() { local i=$1; shift; nsenter --net="/run/netns/$(host_ns "$i")" "$@"; }

hosts_control_plane() {
  export HS_BUS=172.30.0.11:7400
  HSCTL="nsenter --net=/run/netns/$(host_ns 1) $HS_BIN/hsctl"
  mkdir -p "$T/store"
  start bus on_host 1 "$HS_BIN/hs-bus" --bind 172.30.0.11 --port 7400
  wait_for 10 "hs-bus to listen on the fabric" grep -q "listening on tcp://172.30.0.11:7401" "$T/bus.log"
  start store on_host 1 "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
  # hsctl from h1 (the root namespace cannot reach the fabric); defined
  # only here, for the tests that call this
  hsctl() { on_host 1 "$HS_BIN/hsctl" "$@"; }
  wait_for 20 "hs-store to answer" hsctl get nodes
}

# The root namespace's network state: what the fixture must leave unchanged.
hosts_root_state() {
  ip -br link | awk '{print $1}' | sort
  ip -br addr | sort
  ip route show table all | grep -v '^local\|^broadcast\|^multicast' | sort
  nft list tables 2>/dev/null | sort
  sysctl -n net.ipv4.ip_forward
}

hosts_up() {
  local n=$1 i ns
  [ "$(id -u)" = 0 ] || { echo "SKIP: the multi-host fixture needs root"; exit 77; }
  command -v ip >/dev/null || { echo "SKIP: no iproute2"; exit 77; }
  command -v nsenter >/dev/null || { echo "SKIP: no nsenter"; exit 77; }
  hosts_root_state >"$T/root-net.before"
  exec {HOSTS_LOCK_FD}>"$HOSTS_LOCK"
  flock "$HOSTS_LOCK_FD"
  HOSTS_MADE_RUN_NETNS=0
  mountpoint -q /run/netns 2>/dev/null || HOSTS_MADE_RUN_NETNS=1
  hs_on_exit hosts_down
  ip netns add "${HOSTS_NS}f"
  flock -u "$HOSTS_LOCK_FD"
  ip -n "${HOSTS_NS}f" link set lo up
  ip -n "${HOSTS_NS}f" link add fab0 type bridge
  ip -n "${HOSTS_NS}f" link set fab0 up
  for i in $(seq 1 "$n"); do
    ns=$(host_ns "$i")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # The veth is made inside the fabric namespace, so no link ever appears
    # in the root namespace, even for an instant.
    ip -n "${HOSTS_NS}f" link add "h$i" type veth peer name eth0 netns "$ns"
    ip -n "${HOSTS_NS}f" link set "h$i" master fab0 up
    ip -n "$ns" addr add "$(host_ip "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  HOSTS_N=$n
  # The fabric is up when every host reaches every other.
  for i in $(seq 2 "$n"); do
    wait_for 10 "host 1 to reach host $i" on_host 1 ping -c1 -W1 "$(host_ip "$i")"
  done
}

# The namespaces go; then the root namespace must be as it was. Processes
# still running in a namespace keep it alive but invisible; lib.sh kills
# them right after this hook, so the check runs again at the very end
# (hosts_check_root, from a second hook registered last).
hosts_down() {
  local i ns
  for i in $(seq 1 "$HOSTS_N"); do
    ns=$(host_ns "$i")
    # Processes in the namespace (agents, proxies, pods) first: a namespace
    # with processes in it cannot really go.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for ns in $(ip netns list 2>/dev/null | awk -v p="$HOSTS_NS" 'index($1, p) == 1 {print $1}'); do
    ip netns del "$ns" 2>/dev/null || true
  done
  exec {HOSTS_LOCK_FD}>"$HOSTS_LOCK"
  flock "$HOSTS_LOCK_FD"
  if [ "${HOSTS_MADE_RUN_NETNS:-0}" = 1 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null || true
    umount /run/netns 2>/dev/null || true
    rmdir /run/netns 2>/dev/null || true
  fi
  flock -u "$HOSTS_LOCK_FD"
  hosts_root_state >"$T/root-net.after"
  if ! cmp -s "$T/root-net.before" "$T/root-net.after"; then
    echo "FAIL: the root network namespace changed:" >&2
    diff "$T/root-net.before" "$T/root-net.after" >&2 || true
    HS_EXIT_FAIL=1
  fi
}
