#!/usr/bin/env bash
# hs-proxy serves ClusterIPs in a node's network namespace: a "node" netns
# with a bridge (hs0, 10.244.1.1/24) and three "pod" netns (a, b, c) on
# veths, each pod running a small HTTP server (answers "<pod> saw <client>")
# and a UDP echo (answers "<pod>"). hs-bus and hs-store run in the root
# netns; hs-proxy runs inside the node netns and reaches the bus over
# ipc://. Services are selector-less, with hand-written Endpoints (the
# endpoints controller is not part of this test), and carry their clusterIP.
#
# Checks: spread over 2 ready endpoints within 20 requests with the client
# IP kept; hairpin; a Service without endpoints refused fast; an unknown
# port rejected and an unused ClusterIP dropped; an endpoint taken out of
# Endpoints stops getting traffic (measured); removing a UDP endpoint
# deletes its conntrack entries; kill -9 and restart keeps serving and
# converges; --cleanup; nothing changes in the root netns.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces, nftables)"; exit 77; }
for tool in ip nft curl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps)"; exit 77; }
done
[ -x "$HS_BIN/hs-proxy" ] || { echo "SKIP: hs-proxy was not built (libnftables missing)"; exit 77; }

P="hs-t$$-"
NODE="${P}node"
NETNS=()
ROOT_TABLES=$(nft list tables 2>&1)

cleanup_netns() {
  local ns
  for ns in "${NETNS[@]:-}"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  done
  # the root netns is left as it was: checked on the way out as well
  [ "$(nft list tables 2>&1)" = "$ROOT_TABLES" ] || echo "root netns nft tables changed!" >&2
}
hs_on_exit cleanup_netns

in_node() { ip netns exec "$NODE" "$@"; }
in_pod() { local p=$1; shift; ip netns exec "$P$p" "$@"; }

# ---- the node and its pods
ip netns add "$NODE"; NETNS+=("$NODE")
in_node ip link set lo up
in_node ip link add hs0 type bridge
in_node ip addr add 10.244.1.1/24 dev hs0
in_node ip link set hs0 up
in_node sysctl -qw net.ipv4.ip_forward=1
# pitfall 1: a pod reaching an endpoint on its own bridge needs br_netfilter
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1
# pitfall 3: the node routes the Service CIDR (a cluster uses its default route)
in_node ip route add 10.96.0.0/16 dev hs0
# That route leads out the bridge the pods' packets came in by, so the node
# would answer with ICMP redirects, which share the per-peer ICMP rate limit
# with the rejects' port-unreachable (a real node routes it out its uplink).
in_node sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.hs0.send_redirects=0

cat >"$T/pod.py" <<'PY'
import http.server, socket, sys, threading
name = sys.argv[1]
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 5353))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(name.encode(), peer)
threading.Thread(target=udp, daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s saw %s\n" % (name, self.client_address[0])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
PY

declare -A IP=([a]=10.244.1.2 [b]=10.244.1.3 [c]=10.244.1.4)
for p in a b c; do
  ip netns add "$P$p"; NETNS+=("$P$p")
  in_node ip link add "veth$p" type veth peer name eth0 netns "$P$p"
  in_node ip link set "veth$p" master hs0
  in_node ip link set "veth$p" type bridge_slave hairpin on   # pitfall 2
  in_node ip link set "veth$p" up
  in_pod "$p" ip link set lo up
  in_pod "$p" ip addr add "${IP[$p]}/24" dev eth0
  in_pod "$p" ip link set eth0 up
  in_pod "$p" ip route add default via 10.244.1.1
  start "pod-$p" ip netns exec "$P$p" python3 "$T/pod.py" "$p"
done
for p in a b c; do
  wait_for 10 "pod $p's server" in_node curl -sf -m1 "http://${IP[$p]}:8080/"
done
lap "node netns with 3 pods"

# ---- the control plane (root netns) and hs-proxy (node netns)
mkdir -p "$T/ipc"
start bus "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$HS_PORT" --ipc "$T/ipc"
wait_for 10 "hs-bus to listen" grep -q "listening on tcp://127.0.0.1:$((HS_PORT + 1))" "$T/bus.log"
start_store

# Services with their clusterIP written out; Endpoints by hand.
service() { # NAME IP PROTO PORT
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\nspec:\n  clusterIP: %s\n  ports: [{port: %s, protocol: %s, targetPort: %s}]\n---\n' \
    "$1" "$2" "$4" "$3" "$4"
}
endpoints() { # NAME PROTO PORT POD...
  local name=$1 proto=$2 port=$3; shift 3
  local addrs="" p
  for p in "$@"; do addrs+="${addrs:+, }{ip: ${IP[$p]}}"; done
  printf 'apiVersion: v1\nkind: Endpoints\nmetadata: {name: %s, namespace: default}\nsubsets:\n- addresses: [%s]\n  ports: [{port: %s, protocol: %s}]\n---\n' \
    "$name" "$addrs" "$port" "$proto"
}
apply() { hsctl apply -f - >/dev/null || fail "hsctl apply"; }
# The store on this branch keeps an object's "spec" on apply and update, and
# Endpoints has none (its content is subsets): a changed Endpoints is
# written as delete + create until the store treats it like Event.
reendpoint() { # NAME PROTO PORT POD...
  hsctl delete endpoints "$1" >/dev/null || fail "hsctl delete endpoints $1"
  endpoints "$@" | apply
}
{
  service web 10.96.0.10 TCP 8080; endpoints web TCP 8080 a b
  service self 10.96.0.11 TCP 8080; endpoints self TCP 8080 a
  service empty 10.96.0.12 TCP 8080
  service echo 10.96.0.13 UDP 5353; endpoints echo UDP 5353 a
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: sticky}\nspec:\n  clusterIP: 10.96.0.14\n  sessionAffinity: ClientIP\n  ports: [{port: 8080}]\n---\n'
  endpoints sticky TCP 8080 a b
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: headless}\nspec:\n  clusterIP: None\n  ports: [{port: 80}]\n'
} | apply

start proxy ip netns exec "$NODE" "$HS_BIN/hs-proxy" --bus "ipc://$T/ipc" --node-name n1 \
  --sync-period 30
PROXY_PID=$LAST_PID
wait_for 20 "hs-proxy's first full sync" grep -q "full sync" "$T/proxy.log"
lap "hs-proxy synced"
[ "$(nft list tables 2>&1)" = "$ROOT_TABLES" ] || fail "hs-proxy touched the root netns's tables"
in_node nft list tables | grep -x >/dev/null "table ip homeostat" || fail "no table ip homeostat in the node"
# the last sync's duration goes down as well as up: a gauge (protocol.md §8)
start_tap proxyhb -o json -c 1 hb.proxy.n1
wait_for 10 "an hs-proxy heartbeat" grep -q '"heartbeat"' "$T/proxyhb.out"
python3 - "$T/proxyhb.out" <<'PY' || fail "last_sync_us is not a gauge: $(cat "$T/proxyhb.out")"
import json, sys
hb = json.loads(open(sys.argv[1]).readline())["envelope"]["heartbeat"]
g = {x["name"]: x.get("value", 0) for x in hb.get("gauges", [])}
assert g.get("last_sync_us", 0) > 0, g
assert "last_sync_us" not in {x["name"] for x in hb.get("counters", [])}, hb
PY

# curl from pod c to URL: "<pod> saw <client>" or the failure.
get() { in_pod "$1" curl -s -m2 "$2" 2>&1 || true; }

# ---- spread over two ready endpoints, client IP kept
seen_a=0 seen_b=0
for i in $(seq 20); do
  out=$(get c http://10.96.0.10:8080/)
  case "$out" in
    "a saw 10.244.1.4") seen_a=$((seen_a + 1)) ;;
    "b saw 10.244.1.4") seen_b=$((seen_b + 1)) ;;
    *) fail "request $i to web: $out" ;;
  esac
  [ $seen_a -gt 0 ] && [ $seen_b -gt 0 ] && break
done
[ $seen_a -gt 0 ] && [ $seen_b -gt 0 ] || fail "web: a $seen_a, b $seen_b in 20 requests"
pass "web spreads over a and b within $((seen_a + seen_b)) requests, client IP 10.244.1.4 kept"

# ---- hairpin: a reaches its own Service (masqueraded to the bridge's address)
out=$(get a http://10.96.0.11:8080/)
[ "$out" = "a saw 10.244.1.1" ] || fail "hairpin: a -> self answered: $out"
out=$(in_node curl -s -m2 http://10.96.0.11:8080/ || true)
case "$out" in "a saw "*) ;; *) fail "the node itself -> self: $out" ;; esac
pass "hairpin: a -> its own Service answers 'a saw 10.244.1.1'; the node reaches it too"

# ---- ClientIP affinity: one client keeps its endpoint; hairpin works there too
first=$(get c http://10.96.0.14:8080/)
case "$first" in "a saw 10.244.1.4" | "b saw 10.244.1.4") ;; *) fail "sticky answered: $first" ;; esac
for i in $(seq 10); do
  out=$(get c http://10.96.0.14:8080/)
  [ "$out" = "$first" ] || fail "sticky: request $i went to '$out' after '$first'"
done
out=$(get b http://10.96.0.14:8080/)
case "$out" in "a saw 10.244.1.3" | "b saw 10.244.1.1") ;; *) fail "sticky from b: $out" ;; esac
pass "sessionAffinity ClientIP: 11 requests from c all reached '${first%% *}'; b reaches it too"

# ---- refused fast: no endpoints, unknown port; dropped: an unused ClusterIP
refused() { # URL: curl's exit code and time
  local rc=0 t
  t=$(in_pod c curl -s -o /dev/null -m2 -w '%{time_total}' "$1") || rc=$?
  echo "$rc $t"
}
read -r rc t < <(refused http://10.96.0.12:8080/)
[ "$rc" = 7 ] || fail "empty: curl exited $rc (7: refused expected) after ${t}s"
awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' || fail "empty: refused after ${t}s, not < 0.5 s"
pass "Service without endpoints: refused in ${t}s"
read -r rc t < <(refused http://10.96.0.10:81/)
[ "$rc" = 7 ] || fail "unknown port: curl exited $rc (7: refused expected) after ${t}s"
awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' || fail "unknown port: refused after ${t}s"
pass "unknown port of a ClusterIP: rejected in ${t}s"
rc=0; in_pod c curl -s -o /dev/null -m1 http://10.96.0.99:80/ || rc=$?
[ "$rc" = 28 ] || fail "an unused ClusterIP: curl exited $rc (28: dropped, timeout expected)"
pass "an unused address of the Service CIDR is dropped"
in_node nft list map ip homeostat service-ips | grep >/dev/null "10.96.0.12\|headless" &&
  fail "empty/headless must not be in service-ips"

# ---- an endpoint leaves: its rule goes, and it gets no more traffic
t0=$(date +%s%N)
reendpoint web TCP 8080 b
t1=$(date +%s%N)
chain_has_a() { in_node nft list chain ip homeostat 'service-default/web/tcp/8080' | grep >/dev/null 10.244.1.2; }
poll_until 5 sh -c "! ip netns exec $NODE nft list chain ip homeostat service-default/web/tcp/8080 | grep -q 10.244.1.2" ||
  fail "a still in web's rules 5 s after the Endpoints write"
t2=$(date +%s%N)
for i in $(seq 10); do
  out=$(get c http://10.96.0.10:8080/)
  [ "$out" = "b saw 10.244.1.4" ] || fail "after removing a, request $i: $out"
done
pass "a removed from web: out of the kernel $(( (t2 - t1) / 1000000 )) ms after hsctl returned ($(( (t2 - t0) / 1000000 )) ms after it started); 10/10 requests to b"

# ---- UDP: removing an endpoint deletes its conntrack entries
udp() { # from pod c, source port 40053 each time: the same conntrack entry
  in_pod c python3 - <<'PY' 2>&1 || true
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40053))
s.settimeout(1.5)
s.sendto(b"x", ("10.96.0.13", 5353))
try:
    print(s.recvfrom(100)[0].decode())
except socket.timeout:
    print("timeout")
PY
}
out=$(udp); [ "$out" = a ] || fail "udp echo via 10.96.0.13 answered: $out"
out=$(udp); [ "$out" = a ] || fail "udp echo (again) answered: $out"
reendpoint echo UDP 5353 b
poll_until 5 sh -c "ip netns exec $NODE nft list chain ip homeostat service-default/echo/udp/5353 | grep -q 10.244.1.3" ||
  fail "echo's rules did not move to b"
# a is still alive: only a deleted conntrack entry sends this flow to b
out=$(udp); [ "$out" = b ] || fail "udp flow still answered by '$out' after a left echo: conntrack not flushed"
pass "UDP: the flow's conntrack entry to a was deleted; the same 5-tuple now reaches b"

# ---- kill -9: the table keeps serving; a restart converges
kill -9 "$PROXY_PID"
wait_for 5 "hs-proxy to die" exited "$PROXY_PID"
out=$(get c http://10.96.0.10:8080/)
[ "$out" = "b saw 10.244.1.4" ] || fail "with hs-proxy dead, web answered: $out"
reendpoint web TCP 8080 a   # changed while no proxy runs
start proxy ip netns exec "$NODE" "$HS_BIN/hs-proxy" --bus "ipc://$T/ipc" --node-name n1 \
  --sync-period 3
PROXY_PID=$LAST_PID
poll_until 10 sh -c "ip netns exec $NODE nft list chain ip homeostat service-default/web/tcp/8080 | grep -q 10.244.1.2" ||
  fail "restarted hs-proxy did not converge web to a"
for i in $(seq 5); do
  out=$(get c http://10.96.0.10:8080/)
  [ "$out" = "a saw 10.244.1.4" ] || fail "after restart, request $i: $out"
done
pass "kill -9: served by the table meanwhile; the restart converged web to a"

# ---- tampering is repaired by the next periodic resync (--sync-period 3):
# hs-proxy is stopped (SIGSTOP) while the chain is flushed and the refusal
# checked, so the repair cannot come first.
k=$(grep -c "full sync" "$T/proxy.log" || true)
kill -STOP "$PROXY_PID"
in_node nft flush chain ip homeostat services
rc=0; in_pod c curl -s -o /dev/null -m2 http://10.96.0.10:8080/ || rc=$?
kill -CONT "$PROXY_PID"
[ "$rc" = 7 ] || fail "with the services chain flushed, curl exited $rc (7: refused expected)"
wait_for 10 "the periodic resync to repair the table" sh -c \
  "ip netns exec ${P}c curl -sf -m1 http://10.96.0.10:8080/ | grep -q 'a saw'"
grep -q "nftables changed since our last transaction" "$T/proxy.log" ||
  fail "the repair was not the periodic resync's"
[ "$(grep -c "full sync" "$T/proxy.log")" -gt "$k" ] || fail "no full sync repaired the table"
pass "a flushed chain is seen (ruleset generation) and repaired by the periodic resync"

# ---- a clean stop leaves the table serving; --cleanup removes it
kill -TERM "$PROXY_PID"
wait_for 10 "hs-proxy to stop" exited "$PROXY_PID"
out=$(get c http://10.96.0.10:8080/)
[ "$out" = "a saw 10.244.1.4" ] || fail "after a clean stop, web answered: $out"
in_node "$HS_BIN/hs-proxy" --cleanup || fail "hs-proxy --cleanup failed"
in_node nft list tables | grep -q homeostat && fail "--cleanup left the table"
in_node "$HS_BIN/hs-proxy" --cleanup || fail "a second --cleanup failed"
pass "a clean stop leaves the rules serving; --cleanup deletes the table (twice is fine)"

[ "$(nft list tables 2>&1)" = "$ROOT_TABLES" ] || fail "the root netns's nft tables changed"
pass "root netns tables untouched"
