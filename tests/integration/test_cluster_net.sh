#!/usr/bin/env bash
# The cluster network across three hosts (issue 15's "done when"): network
# namespaces h1..h3 on a fabric bridge (tests/integration/hosts.sh) stand
# for three machines. h1 runs the control plane (hs-bus on its fabric
# address 172.30.0.11, hs-store, the scheduler, hs-replicas, hs-prober,
# hs-endpoints, hs-dns); every host runs hs-agent (--node-ip its fabric
# address; h1 and h2 with the CNI bridge, h3 with ptp; h2 with strict
# rp_filter) and hs-proxy. Everything speaks over the fabric.
#
# Checks, each bounded: pod IPs come from their node's podCIDR; pod to pod
# across hosts keeps the source address; a ClusterIP spreads over its 2
# ready endpoints and stops sending to the one that fails readiness (how
# long is printed); hairpin (a pod reaching itself through its Service); a
# Service with no endpoints is refused fast; catalog, catalog.default and
# the full name resolve in a pod and nosuch is NXDOMAIN at once; the
# Service environment variables are set; kill -9 and restart of an agent
# keeps its pods' IPs and an open connection to one of them; deleting a
# Node removes its routes on every other host; deleting the pods frees
# every lease and namespace; the root netns is unchanged at the end.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hosts.sh"
need_root_cgroups
for b in bridge ptp host-local loopback; do
  [ -x /usr/lib/cni/$b ] || { echo "SKIP: /usr/lib/cni/$b missing (containernetworking-plugins)"; exit 77; }
done
command -v nft >/dev/null || { echo "SKIP: no nft"; exit 77; }

hosts_up 3
# Inside h1 every port is free: the bus takes the default pair.
export HS_BUS=172.30.0.11:7400
# hsctl from h1 (the root netns cannot reach the fabric); $HSCTL for sh -c.
HSCTL="nsenter --net=/run/netns/$(host_ns 1) $HS_BIN/hsctl"
hsctl() { on_host 1 "$HS_BIN/hsctl" "$@"; }
# field KIND NAME EXPR: EXPR (Python, on the object's JSON `o`) of one object.
field() {
  hsctl get "$1" "$2" -o json | python3 -c "import json,sys; o=json.load(sys.stdin); print($3)"
}
# Pods and the agents' network state are the test's: under $T.
net_cleanup() {
  local f
  hs_kill_workloads
  for f in "$T"/netns-*/* "$T"/netns-*/.pool-*; do
    [ -e "$f" ] || continue
    umount -l "$f" 2>/dev/null || true
    rm -f "$f"
  done
  return 0
}
hs_on_exit net_cleanup

# ---- the control plane on h1
on_host 2 sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
mkdir -p "$T/store"
start bus on_host 1 "$HS_BIN/hs-bus" --bind 172.30.0.11 --port 7400
wait_for 10 "hs-bus to listen on the fabric" grep -q "listening on tcp://172.30.0.11:7401" "$T/bus.log"
start store on_host 1 "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
wait_for 20 "hs-store to answer" hsctl get nodes
for c in scheduler replicas prober endpoints; do
  start "$c" on_host 1 "$HS_BIN/hs-$c" --bus "$HS_BUS"
done
# h1's own resolver, which hs-dns forwards names outside the cluster to:
# dnsmasq, knowing example.test and answering NXDOMAIN for the rest (no
# query leaves the fabric).
command -v dnsmasq >/dev/null || { echo "SKIP: no dnsmasq (dnsmasq-base)"; exit 77; }
start upstream on_host 1 dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
  --listen-address 127.0.0.1 --bind-interfaces --port 53 --local=/#/ \
  --address=/example.test/203.0.113.7 --log-facility=-
start dns on_host 1 "$HS_BIN/hs-dns" --bus "$HS_BUS" --listen 0.0.0.0:10053 \
  --advertise-address 172.30.0.11 --upstream 127.0.0.1:53
for c in scheduler replicas prober endpoints dns; do
  wait_for 30 "hs-$c to sync" grep -q "synced\|scheduling pods" "$T/$c.log"
done

# ---- an agent and a proxy per host
agent() { # agent I: starts host I's hs-agent (again)
  local i=$1 mode=bridge
  [ "$i" = 3 ] && mode=ptp
  start "agent-n$i" on_host "$i" "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name "n$i" \
    --node-ip "$(host_ip "$i")" --pod-network "$mode" --state-dir "$T/agent-n$i" \
    --cgroup-parent "$HS_CG_PARENT/n$i" --netns-dir "$T/netns-n$i" --cni-data-dir "$T/cni-n$i"
}
for i in 1 2 3; do
  agent "$i"
  start "proxy-n$i" on_host "$i" "$HS_BIN/hs-proxy" --bus "$HS_BUS" --node-name "n$i"
done
for i in 1 2 3; do
  wait_for 30 "node n$i Ready" sh -c "$HSCTL get node n$i 2>/dev/null | grep -q ' Ready '"
done
cidr() { field node "$1" "o['spec'].get('podCIDR', '')"; }
for i in 1 2 3; do
  c=$(cidr "n$i")
  [ -n "$c" ] || fail "node n$i has no podCIDR: $(hsctl get node "n$i" -o yaml)"
  eval "CIDR_n$i=$c"
done
[ "$CIDR_n1" != "$CIDR_n2" ] && [ "$CIDR_n2" != "$CIDR_n3" ] || fail "podCIDRs not distinct"
pass "3 hosts, control plane on h1 over the fabric; podCIDRs n1 $CIDR_n1, n2 $CIDR_n2, n3 $CIDR_n3"
# The routes each agent keeps to the others' pods.
for i in 1 2 3; do
  for j in 1 2 3; do
    [ "$i" = "$j" ] && continue
    c=CIDR_n$j
    wait_for 10 "h$i's route to n$j's pods" sh -c "nsenter --net=/run/netns/$(host_ns "$i") ip route show proto 77 | grep -q '^${!c} via $(host_ip "$j")'"
  done
done
pass "every host routes every other node's podCIDR via its address (proto 77)"

# ---- workloads: a server that says who it is and who called
cat >"$T/srv.py" <<'EOF'
import http.server, sys
NAME = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("%s saw %s\n" % (NAME, self.client_address[0])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
EOF
pod() { # pod NAME NODE APP: a server pod on NODE; ready unless $T/unready-NAME exists
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: $3}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: srv
    command: ["python3", "$T/srv.py", "$1"]
    ports:
    - {name: http, containerPort: 8080}
    readinessProbe:
      exec: {command: ["sh", "-c", "test ! -e $T/unready-$1"]}
      periodSeconds: 1
      failureThreshold: 1
---
EOF
}
# The Services first: the pods' Service variables name those that exist
# when they start.
cat >"$T/svc.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: catalog}
spec:
  selector: {app: catalog}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nobody}
  ports:
  - {port: 80, targetPort: 8080}
---
apiVersion: v1
kind: Service
metadata: {name: self}
spec:
  selector: {app: self}
  ports:
  - {port: 80, targetPort: 8080}
EOF
hsctl apply -f "$T/svc.yaml" >/dev/null
{ pod front n1 front; pod cat2 n2 catalog; pod cat3 n3 catalog; pod me n2 self; } >"$T/pods.yaml"
hsctl apply -f "$T/pods.yaml" >/dev/null
for p in front cat2 cat3 me; do
  wait_for 60 "pod $p Running and ready" sh -c "$HSCTL get pod $p --no-headers 2>/dev/null | grep -q ' 1/1 *Running '"
done
ip_of() { field pod "$1" "o.get('status', {}).get('podIP', '')"; }
in_cidr() { python3 -c "import ipaddress,sys; sys.exit(ipaddress.ip_address('$1') not in ipaddress.ip_network('$2'))"; }
for p in front:n1 cat2:n2 cat3:n3 me:n2; do
  c=CIDR_${p#*:}
  ip=$(ip_of "${p%:*}")
  in_cidr "$ip" "${!c}" || fail "pod ${p%:*} on ${p#*:} has IP '$ip', not in ${!c}"
done
pass "pod IPs come from their node's podCIDR (front $(ip_of front), cat2 $(ip_of cat2), cat3 $(ip_of cat3))"

# in_pod POD CMD...: CMD inside the pod (hsctl exec, over the bus).
in_pod() { local p=$1; shift; hsctl exec "$p" -- "$@"; }
get() { # get POD URL: one HTTP GET from inside POD, 2 s at most
  in_pod "$1" python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip())" "$2"
}

# ---- pod to pod across hosts, source kept
out=$(get front "http://$(ip_of cat2):8080/")
[ "$out" = "cat2 saw $(ip_of front)" ] || fail "front -> cat2 across hosts: '$out'"
out=$(get cat2 "http://$(ip_of cat3):8080/")
[ "$out" = "cat3 saw $(ip_of cat2)" ] || fail "cat2 (bridge) -> cat3 (ptp): '$out'"
pass "pod to pod across hosts (bridge to bridge, bridge to ptp, strict rp_filter on h2) keeps the source"

# ---- DNS and the Service environment
cip=$(field svc catalog "o['spec']['clusterIP']")
for n in catalog catalog.default catalog.default.svc.cluster.local; do
  got=$(in_pod front getent hosts "$n" | awk '{print $1}')
  [ "$got" = "$cip" ] || fail "getent hosts $n in a pod: '$got', expected $cip"
done
t0=$(ms)
rc=0
in_pod front getent hosts nosuch >/dev/null 2>&1 || rc=$?
t=$(( $(ms) - t0 ))
[ "$rc" -ne 0 ] || fail "nosuch resolved"
[ "$t" -lt 1500 ] || fail "nosuch took ${t} ms to fail (NXDOMAIN should be at once)"
pass "catalog, catalog.default and the full name resolve to $cip in a pod; nosuch fails in ${t} ms (with hsctl exec's own cost)"
got=$(in_pod front getent hosts example.test | awk '{print $1}')
[ "$got" = 203.0.113.7 ] || fail "example.test (forwarded to h1's resolver) in a pod: '$got'"
pass "names outside the cluster go to the node's resolver (example.test: $got)"
env_out=$(in_pod front env)
for want in "CATALOG_SERVICE_HOST=$cip" "CATALOG_SERVICE_PORT=80" "CATALOG_SERVICE_PORT_HTTP=80" \
            "CATALOG_PORT=tcp://$cip:80" "CATALOG_PORT_80_TCP_ADDR=$cip"; do
  grep -qx -- "$want" <<<"$env_out" || fail "no $want in front's environment"
done
pass "the Service environment variables are set (CATALOG_SERVICE_HOST=$cip, ...)"

# ---- the ClusterIP spreads over the ready endpoints
# (hsctl exec passes no stdin: the pods' scripts are files; a pod sees the
# host's filesystem.)
cat >"$T/spread.py" <<'EOF'
import sys, urllib.request
seen = {}
for _ in range(int(sys.argv[1])):
    try:
        who = urllib.request.urlopen("http://catalog/", timeout=2).read().decode().split()[0]
    except Exception as e:
        who = "error"
    seen[who] = seen.get(who, 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
EOF
spread() { in_pod "$1" python3 "$T/spread.py" "$2"; } # spread POD N: who answered N requests
wait_for 10 "catalog's Endpoints to list cat2 and cat3" sh -c "$HSCTL get ep catalog --no-headers | grep -q ':8080,.*:8080'"
out=$(spread front 20)
[[ "$out" == *cat2=* && "$out" == *cat3=* && "$out" != *error* ]] || fail "20 requests to catalog: $out"
pass "http://catalog/ from front spreads over both ready endpoints: $out"

# cat3 fails its readiness probe: it leaves the rules on every node.
touch "$T/unready-cat3"
t0=$(ms)
wait_for 10 "cat3 not ready" sh -c "$HSCTL get pod cat3 --no-headers | grep -q ' 0/1 '"
t_probe=$(( $(ms) - t0 ))
ip3=$(ip_of cat3)
for i in 1 2 3; do
  wait_for 5 "cat3 out of h$i's rules" sh -c "! nsenter --net=/run/netns/$(host_ns "$i") nft list table ip homeostat | grep -q 'dnat to $ip3'"
done
t_rules=$(( $(ms) - t0 ))
out=$(spread front 20)
[ "$out" = "cat2=20" ] || fail "after cat3 went unready, 20 requests: $out"
pass "cat3 failed readiness: seen not ready after ${t_probe} ms, out of all 3 hosts' rules after ${t_rules} ms; 20/20 to cat2"
rm -f "$T/unready-cat3"
wait_for 10 "cat3 ready again" sh -c "$HSCTL get pod cat3 --no-headers | grep -q ' 1/1 '"

# ---- hairpin: a pod reaching itself through its Service
out=$(get me "http://self/")
[[ "$out" == "me saw "* ]] || fail "hairpin: me -> self: '$out'"
pass "hairpin: pod me reaches itself through Service self ($out)"

# ---- a Service without endpoints is refused, fast
eip=$(field svc empty "o['spec']['clusterIP']")
cat >"$T/connect.py" <<'EOF'
import socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], 80), timeout=3)
    print("connected")
except ConnectionRefusedError:
    print("refused %.1f ms" % ((time.monotonic() - t) * 1000))
except Exception as e:
    print("%s after %.1f ms" % (type(e).__name__, (time.monotonic() - t) * 1000))
EOF
out=$(in_pod front python3 "$T/connect.py" "$eip")
[[ "$out" == "refused "* ]] || fail "connecting to Service empty ($eip:80): $out"
ms_refused=${out#refused }
ms_refused=${ms_refused%% *}
python3 -c "import sys; sys.exit(float('$ms_refused') >= 100)" || fail "Service empty refused only after $ms_refused ms"
pass "Service empty (no endpoints) refused in $ms_refused ms"

# ---- an agent's kill -9 and restart: same pod IPs, an open connection lives
# A client on h1 keeps one HTTP/1.1 connection to cat2 (on h2) and sends a
# request every 50 ms; it writes "ok N" or the error.
cat >"$T/keep.py" <<'EOF'
import http.client, sys, time
c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=2)
n = 0
while True:
    try:
        c.request("GET", "/")
        r = c.getresponse(); r.read()
        n += 1
        print("ok", n, flush=True)
    except Exception as e:
        print("error", repr(e), flush=True)
        sys.exit(1)
    time.sleep(0.05)  # the client's pace, not a wait for a condition
EOF
ip2=$(ip_of cat2)
start keep on_host 1 python3 "$T/keep.py" "$ip2"
wait_for 10 "the kept connection to serve" grep -q "^ok 5$" "$T/keep.log"
apid=""
for p in $(procs_naming "--node-name n2"); do
  [ "$(cat /proc/$p/comm 2>/dev/null)" = hs-agent ] && apid=$p
done
[ -n "$apid" ] || fail "no hs-agent of n2"
kill -9 "$apid"
agent 2
wait_for 30 "n2's agent back (Ready)" sh -c "grep -q 'adopted' '$T/agent-n2.log'"
n_before=$(grep -c '^ok' "$T/keep.log")
wait_for 10 "the connection to keep serving" sh -c "[ \$(grep -c '^ok' '$T/keep.log') -gt $((n_before + 10)) ]"
grep -q '^error' "$T/keep.log" && fail "the kept connection broke: $(grep '^error' "$T/keep.log")"
[ "$(ip_of cat2)" = "$ip2" ] || fail "cat2's IP changed over the agent's restart: $(ip_of cat2)"
[ "$(ip_of me)" != "" ] || fail "me lost its IP"
out=$(get front "http://$ip2:8080/")
[ "$out" = "cat2 saw $(ip_of front)" ] || fail "front -> cat2 after n2's agent restart: '$out'"
pass "kill -9 of n2's agent and a restart: cat2 keeps $ip2, a connection held open through it served $(grep -c '^ok' "$T/keep.log") requests without an error"

# ---- deleting a Node removes its routes everywhere
apid=""
for p in $(procs_naming "--node-name n3"); do
  [ "$(cat /proc/$p/comm 2>/dev/null)" = hs-agent ] && apid=$p
done
kill -9 "$apid"
hsctl delete pod cat3 --grace-period=0 --force >/dev/null 2>&1 || true
hsctl delete node n3 >/dev/null
for i in 1 2; do
  wait_for 10 "h$i's route to n3's pods to go" sh -c "! nsenter --net=/run/netns/$(host_ns "$i") ip route show proto 77 | grep -q '^$CIDR_n3 '"
done
pass "deleting Node n3 removed its route on h1 and h2"

# ---- deleting pods frees their leases and namespaces
hsctl delete pod front cat2 me >/dev/null
for i in 1 2; do
  wait_for 30 "n$i's pods gone" sh -c "! $HSCTL get pods -o wide --no-headers 2>/dev/null | grep -q ' n$i '"
  wait_for 10 "n$i's leases freed" sh -c "[ -z \"\$(find '$T/cni-n$i' -type f -name '10.*' 2>/dev/null)\" ]"
  wait_for 10 "n$i's pod namespaces removed" sh -c "[ -z \"\$(ls '$T/netns-n$i' 2>/dev/null)\" ]"
done
pass "deleting the pods freed every lease and pinned namespace on n1 and n2"
