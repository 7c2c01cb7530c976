#!/usr/bin/env bash
# `make demo` with the pod network (scripts/demo, scripts/homeostat with
# HS_DEMO_NETWORK=ptp), run INSIDE a network namespace this test makes: the
# "host" hs<pid>d, with lo and a veth eth0 (172.31.252.2/24) whose peer is
# in a second namespace hs<pid>p (172.31.252.1), and a default route via
# that peer, as a real machine has one (the peer forwards nothing: no packet
# leaves). Everything runs there through `nsenter --net` (`ip netns exec`
# would remount /sys and hide the cgroups), with the set's own data
# directory under $T, its own port and cgroup parent. Checks:
#   - the demo passes (web Running and in its Endpoints, http://web/ from an
#     api pod: hs-dns and hs-proxy), and every pod's IP is in its node's
#     podCIDR, demo's and demo2's differ;
#   - a second set with ptp in the same namespace is refused, nothing made;
#   - `hsctl exec` into a pod: "web" resolves to its ClusterIP, http://web/
#     answers;
#   - examples/bookstore: front answers through http://catalog/ from
#     another pod, over both catalog pods, and keeps answering while a
#     catalog pod is deleted (100 requests 50 ms apart, at most 2 failures;
#     the count is printed);
#   - `down` leaves nothing: no process, pinned netns, mount, lease, nft
#     table, pod route or cgroup; ip_forward back to what `up` found (0);
# then the namespaces go and the root namespace must be unchanged (the
# hosts.sh check).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hosts.sh"
need_root_cgroups
for b in ptp host-local loopback; do
  [ -x /usr/lib/cni/$b ] || { echo "SKIP: /usr/lib/cni/$b missing (containernetworking-plugins)"; exit 77; }
done
for c in nsenter nft ip; do command -v $c >/dev/null || { echo "SKIP: no $c"; exit 77; }; done

NS="hs$$d"
PEER="hs$$p"
DATA="$T/data"
on_ns() { nsenter --net="/run/netns/$NS" "$@"; }
launcher() {
  on_ns env BIN="$HS_BIN" HS_DEMO_DIR="$DATA" HS_BUS="$HS_BUS" HS_DEMO_CGROUP="$HS_CG_PARENT" \
    HS_DEMO_NETWORK=ptp "$@"
}
h() { on_ns "$HS_BIN/hsctl" "$@"; }

hosts_root_state >"$T/root-net.before"
demo_net_cleanup() {
  # The launcher's own down first (it knows its pods, table and sysctl),
  # bounded; then whatever is left in the namespaces, and the namespaces.
  if [ -d "$DATA" ] && [ -e "/run/netns/$NS" ]; then
    timeout 90 nsenter --net="/run/netns/$NS" env BIN="$HS_BIN" HS_DEMO_DIR="$DATA" HS_BUS="$HS_BUS" \
      HS_DEMO_CGROUP="$HS_CG_PARENT" "$HS_SRC/scripts/homeostat" down >>"$T/down-at-exit.log" 2>&1 || true
  fi
  local pid f
  for pid in $(ip netns pids "$NS" 2>/dev/null) $(ip netns pids "$PEER" 2>/dev/null); do
    kill -9 "$pid" 2>/dev/null || true
  done
  hs_kill_workloads
  for f in $(awk -v t="$T/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo); do
    umount -l "$f" 2>/dev/null || true
  done
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
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
  return 0
}
hs_on_exit demo_net_cleanup

# ---- the "host": lo, eth0 with a default route via the peer namespace
exec {HOSTS_LOCK_FD}>"$HOSTS_LOCK"
flock "$HOSTS_LOCK_FD"
HOSTS_MADE_RUN_NETNS=0
mountpoint -q /run/netns 2>/dev/null || HOSTS_MADE_RUN_NETNS=1
ip netns add "$NS"
ip netns add "$PEER"
flock -u "$HOSTS_LOCK_FD"
ip -n "$NS" link set lo up
ip -n "$PEER" link set lo up
# made inside the peer namespace: no link appears in the root one
ip -n "$PEER" link add eth0 type veth peer name eth0 netns "$NS"
ip -n "$NS" addr add 172.31.252.2/24 dev eth0
ip -n "$PEER" addr add 172.31.252.1/24 dev eth0
ip -n "$NS" link set eth0 up
ip -n "$PEER" link set eth0 up
ip -n "$NS" route add default via 172.31.252.1
# up must record forwarding as it finds it; down must put it back
on_ns sysctl -qw net.ipv4.ip_forward=0
routes_before=$(ip -n "$NS" route)

# ---- make demo, in the namespace
lap "scripts/demo (HS_DEMO_NETWORK=ptp)"
launcher "$HS_SRC/scripts/demo" >"$T/demo.log" 2>&1 || fail "scripts/demo failed: $(tail -30 "$T/demo.log")"
lap "demo done"
grep -q "^b'<!DOCTYPE HTML>" "$T/demo.log" || fail "the demo did not show http://web/ from a pod: $(cat "$T/demo.log")"
pass "make demo: web reached as http://web/ from an api pod"
if [ -x "$HS_BIN/hs-apiserver" ] && command -v kubectl >/dev/null; then
  # the demo ends with kubectl through hs-apiserver (a static pod), beside hsctl
  grep -q '^\$ kubectl --kubeconfig .*/kubeconfig get nodes,pods' "$T/demo.log" &&
    grep -Eq '^node/demo +Ready' "$T/demo.log" && grep -Eq '^pod/web +1/1 +Running' "$T/demo.log" ||
    fail "the demo did not show kubectl get nodes,pods: $(cat "$T/demo.log")"
  pass "make demo: kubectl get nodes,pods through hs-apiserver"
fi

# every pod (not hostNetwork) has an IP in its node's podCIDR; the nodes differ
h get nodes -o json >"$T/nodes.json"
h get pods -A -o json >"$T/pods.json"
python3 - "$T/nodes.json" "$T/pods.json" >"$T/cidrs.out" 2>&1 <<'PY' || fail "pod IPs: $(cat "$T/cidrs.out")"
import ipaddress, json, sys
nodes = {n["metadata"]["name"]: n["spec"].get("podCIDR", "") for n in json.load(open(sys.argv[1]))["items"]}
assert set(nodes) == {"demo", "demo2"}, nodes
assert all(nodes.values()) and nodes["demo"] != nodes["demo2"], "podCIDRs %s" % nodes
seen = {}
n = 0
for p in json.load(open(sys.argv[2]))["items"]:
    if p["spec"].get("hostNetwork"):
        continue
    ip, node = p["status"].get("podIP", ""), p["spec"].get("nodeName", "")
    if p["status"].get("phase") not in ("Running",):
        continue
    name = p["metadata"]["name"]
    assert ip and ipaddress.ip_address(ip) in ipaddress.ip_network(nodes[node]), \
        "%s on %s has IP %r, not in %s" % (name, node, ip, nodes[node])
    assert ip not in seen, "%s and %s share %s" % (name, seen[ip], ip)
    seen[ip] = name
    n += 1
assert n >= 5, "only %d running pods with a pod IP" % n
print("%d pods; podCIDRs %s" % (n, nodes))
PY
pass "pod IPs from their nodes' podCIDRs: $(cat "$T/cidrs.out")"

# ---- a second set with a pod network in this namespace is refused
rc=0
on_ns env BIN="$HS_BIN" HS_DEMO_DIR="$T/data2" HS_BUS="127.0.0.1:$((HS_PORT + 2))" \
  HS_DEMO_CGROUP="$HS_CG_PARENT-2" HS_DEMO_NETWORK=ptp "$HS_SRC/scripts/homeostat" up >"$T/second.out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a second ptp set: exit $rc: $(cat "$T/second.out")"
grep -q "refusing to start with HS_DEMO_NETWORK=ptp: another set with a pod network" "$T/second.out" ||
  fail "a second ptp set: $(cat "$T/second.out")"
[ ! -e "$T/data2" ] || fail "the refused set made $T/data2"
pass "a second set with a pod network in the same namespace is refused"

# ---- hsctl exec: the name and the ClusterIP
api=$(h get pods -l app=api -o name | head -1)
api=${api#pod/}
web_cip=$(h get svc web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
got=$(h exec "$api" -- python3 -c "import socket; print(socket.gethostbyname('web'))") ||
  fail "resolving web in $api: $got"
[ "$got" = "$web_cip" ] || fail "web resolved to $got in $api, the Service's clusterIP is $web_cip"
expect_out "<!DOCTYPE HTML>" h exec "$api" -- python3 -c \
  "import urllib.request; print(urllib.request.urlopen('http://web/', timeout=2).read()[:80].decode())"
pass "hsctl exec $api: web is $web_cip, http://web/ answers"

# ---- the bookstore
h apply -f "$HS_SRC/examples/bookstore/" >/dev/null || fail "apply examples/bookstore/"
ready_eps() { # ready_eps SVC N: Endpoints SVC lists exactly N ready addresses
  [ "$(h get ep "$1" -o json | python3 -c 'import json,sys; print(sum(len(s.get("addresses", [])) for s in json.load(sys.stdin).get("subsets", [])))')" = "$2" ]
}
wait_for 60 "2 ready catalog endpoints" ready_eps catalog 2
wait_for 60 "1 ready front endpoint" ready_eps front 1
front_ok() { h exec "$api" -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://front/', timeout=2).read().decode())"; }
wait_for 10 "front answering" front_ok
expect_out "books: Dune, Neuromancer, The Dispossessed (catalog pod catalog-" front_ok
# both catalog pods serve (the ClusterIP spreads): at most 30 requests
spread=$(h exec "$api" -- python3 -c "
import urllib.request
seen = set()
for i in range(30):
    b = urllib.request.urlopen('http://front/', timeout=2).read().decode()
    seen.add(b.split('catalog pod ')[1].rstrip(')\n'))
    if len(seen) == 2: break
print(len(seen), i + 1)") || fail "front from $api: $spread"
[ "${spread%% *}" = 2 ] || fail "one catalog pod served 30 requests: $spread"
pass "the bookstore: front answers through http://catalog/, both catalog pods served (within ${spread##* } requests)"

# ---- front keeps answering while a catalog pod is deleted
cat >"$T/loop.py" <<'PY'
import sys, time, urllib.request
ok = bad = 0
errs = []
t0 = time.time()
for i in range(int(sys.argv[1])):
    try:
        b = urllib.request.urlopen("http://front/", timeout=2).read().decode()
        if b.startswith("books:"):
            ok += 1
            if ok == 10:
                print("10 answered", file=sys.stderr, flush=True)
        else:
            bad += 1
            errs.append(b.strip())
    except Exception as e:
        bad += 1
        errs.append(str(e))
    time.sleep(0.05)
print("ok %d failed %d in %.1fs" % (ok, bad, time.time() - t0))
for e in errs[:5]:
    print("error:", e)
PY
victim=$(h get pods -l app=catalog --no-headers | awk '$3 == "Running" {print $1; exit}')
[ -n "$victim" ] || fail "no Running catalog pod"
h exec "$api" -- python3 -c "$(cat "$T/loop.py")" 100 >"$T/loop.out" 2>&1 &
loop=$!
HS_PIDS+=("$loop")
# the delete comes once front has answered the loop 10 times
wait_for 20 "the request loop to get 10 answers" grep -q "^10 answered" "$T/loop.out"
h delete pod "$victim" --grace-period=1 >/dev/null || fail "delete $victim"
wait "$loop" || fail "the request loop failed: $(cat "$T/loop.out")"
result=$(grep '^ok ' "$T/loop.out") || fail "request loop: $(cat "$T/loop.out")"
read -r _ ok _ failed _ <<<"$result"
lap "while $victim was deleted: $result"
[ "$((ok + failed))" = 100 ] || fail "request loop: $(cat "$T/loop.out")"
[ "$failed" -le 2 ] || fail "front failed $failed of 100 requests while a catalog pod went: $(cat "$T/loop.out")"
wait_for 60 "the catalog Deployment back to 2 ready endpoints" ready_eps catalog 2
h get ep catalog -o json | grep -q "$victim" && fail "Endpoints catalog still names $victim"
pass "front kept answering while $victim was deleted ($result)"

# no control-plane process crashed meanwhile (the agent would have
# restarted it: RESTARTS > 0)
restarted=$(h get pods -n homeostat-system --no-headers | awk '$4 != "0"')
[ -z "$restarted" ] || fail "control-plane pods restarted: $restarted"
pass "no control-plane pod restarted"

# ---- down leaves nothing
lap "down"
launcher "$HS_SRC/scripts/homeostat" down >"$T/down.log" 2>&1 || fail "down: $(cat "$T/down.log")"
lap "down done"
[ ! -e "$DATA" ] || fail "down left $DATA"
[ -z "$(procs_naming "$T/")" ] || fail "processes left: $(procs_naming "$T/" | xargs -r ps -o pid,args -p)"
[ -z "$(ip netns pids "$NS")" ] || fail "processes left in the namespace: $(ip netns pids "$NS" | xargs -r ps -o pid,args -p)"
! grep -qF " $T/" /proc/self/mountinfo || fail "mounts left: $(grep -F " $T/" /proc/self/mountinfo)"
[ -z "$(on_ns nft list tables)" ] || fail "nft tables left: $(on_ns nft list tables)"
[ "$(ip -n "$NS" route)" = "$routes_before" ] || fail "routes left: $(ip -n "$NS" route)"
[ "$(ip -n "$NS" -br link | wc -l)" = 2 ] || fail "links left: $(ip -n "$NS" -br link)"
[ "$(on_ns sysctl -n net.ipv4.ip_forward)" = 0 ] || fail "ip_forward left at $(on_ns sysctl -n net.ipv4.ip_forward)"
[ -z "$(find /sys/fs/cgroup -path "*/$HS_CG_PARENT*" 2>/dev/null | head -1)" ] ||
  fail "cgroups left: $(find /sys/fs/cgroup -path "*/$HS_CG_PARENT*" | head)"
pass "down: no process, netns, mount, lease, nft table, route, link or cgroup left; ip_forward back to 0"
