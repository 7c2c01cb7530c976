#!/usr/bin/env bash
# Pod networking on one node (agents/node/agent_net.c): hs-agent runs inside
# a network namespace this test makes (the "node", joined with nsenter
# --net: `ip netns exec` would also remount /sys and hide the cgroups), and
# wires each pod with Debian's CNI plugins (loopback, bridge hs0,
# host-local) in podCIDR 10.244.7.0/24. It reaches hs-bus through an ipc://
# endpoint. Checks: pods get IPs in the podCIDR and status says so; two
# containers of a pod talk over localhost; pod to pod works; resolv.conf and
# hosts in a pod are the generated ones; kill -9 + restart of the agent keeps
# pods running with the same IPs after a CNI CHECK and the lease files match
# the pods; a planted stale lease is collected; a pod whose CHECK fails
# after a restart gets a new sandbox under a restarted container; deleting a
# pod frees its lease, veth and namespace; a missing plugin dir gives an
# Event and a ContainerCreating pod, no crash, and a retry once the plugins
# are back; an agent killed during an ADD is followed by a DEL and a new ADD;
# a hostNetwork pod sees the node's interfaces; ptp on a full /30 gives
# FailedCreatePodSandBox. The root netns is compared before and after;
# everything is removed at exit.
source "$(dirname "$0")/lib.sh"
need_root_cgroups
for b in bridge host-local loopback; do
  [ -x /usr/lib/cni/$b ] || { echo "SKIP: /usr/lib/cni/$b missing (containernetworking-plugins)"; exit 77; }
done
command -v nsenter >/dev/null || { echo "SKIP: no nsenter"; exit 77; }

NS="hs-t$$-n1"
CIDR_NET=10.244.7
NODE_IP=172.31.250.1
root_links_before=$(ip -br link | awk '{print $1}' | sort)
root_routes_before=$(ip route)

net_cleanup() {
  # The agent first (it would re-create what we remove), then the pods'
  # processes, then the pinned namespaces and the node.
  [ -n "${AGENT_PID:-}" ] && kill -9 -- "-$AGENT_PID" 2>/dev/null
  hs_kill_workloads
  local f
  for f in "$T"/netns/* "$T"/netns/.pool-*; do
    [ -e "$f" ] || continue
    umount -l "$f" 2>/dev/null
    rm -f "$f"
  done
  ip netns del "$NS" 2>/dev/null
  return 0
}
hs_on_exit net_cleanup

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add eth0 type veth peer name eth0p
ip -n "$NS" addr add "$NODE_IP/24" dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set eth0p up

# ---- the control plane in the root netns; the bus also on ipc:// for the node
mkdir -p "$T/bus" "$T/www" "$T/netns" "$T/nobin"
echo "hello from $NS" >"$T/www/hello.txt"
ln -s /usr/lib/cni "$T/cnibin" # swapped for an empty dir to play a missing plugin dir
start bus "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$HS_PORT" --ipc "$T/bus"
wait_for 10 "hs-bus to listen" grep -q "listening on tcp://127.0.0.1:$((HS_PORT + 1))" "$T/bus.log"
start_store

agent() {
  start agent-n1 nsenter --net="/run/netns/$NS" "$HS_BIN/hs-agent" --bus "ipc://$T/bus" \
    --node-name n1 --state-dir "$T/agent-n1" --cgroup-parent "$HS_CG_PARENT/n1" \
    --pod-network "${POD_NET:-bridge}" --pod-cidr "${POD_CIDR:-$CIDR_NET.0/24}" --node-ip "$NODE_IP" \
    --cni-bin-dir "$T/cnibin" --cni-data-dir "$T/cni" --netns-dir "$T/netns" \
    --backoff-initial 1 --backoff-max 2
  AGENT_PID=$LAST_PID
}
agent
wait_for 20 "node n1 to register" sh -c "hsctl get node n1 | grep -q ' Ready'"

field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }
running() { field_is "$1" "p['status']['phase']" Running; }
pod_ip() { field "$1" "p['status'].get('podIP', '')"; }
uid() { field "$1" "p['metadata']['uid']"; }
cpid() { field "$1" "[c for c in p['status']['containerStatuses'] if c['name'] == '$2'][0]['containerID'].split('/')[-1]"; }
leases() { ls "$T/cni/hs-podnet" 2>/dev/null | grep -E '^[0-9.]+$' | sort; }
bridge_ports() { ip -n "$NS" -o link show master hs0 2>/dev/null | wc -l; }

# web-a: a server and a client that reaches it over localhost, and tells
# what /etc/resolv.conf and /etc/hosts it sees. web-b: a server.
cat >"$T/pods.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: web-a
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: srv
    command: ["python3", "-m", "http.server", "8080", "--directory", "$T/www"]
  - name: cli
    command: ["/bin/sh", "-c", "cat /etc/resolv.conf >$T/a.resolv; cat /etc/hosts >$T/a.hosts; until curl -sf -m1 -o $T/a.local http://127.0.0.1:8080/hello.txt; do sleep 0.1; done; exec sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-b
  namespace: default
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: srv
    command: ["python3", "-m", "http.server", "8080", "--directory", "$T/www"]
EOF
# the agent prepares namespaces (.pool-N) in the background after it
# registers: wait for one, so that the check below does not race it
wait_for 20 "a prepared namespace" sh -c "ls -A '$T/netns' 2>/dev/null | grep -q '^\.pool-'"
hsctl apply -f "$T/pods.yaml" >/dev/null || fail "apply"
wait_for 30 "web-a Running" running web-a
wait_for 30 "web-b Running" running web-b
ip_a=$(pod_ip web-a); ip_b=$(pod_ip web-b)
uid_a=$(uid web-a); uid_b=$(uid web-b)
case "$ip_a" in $CIDR_NET.*) ;; *) fail "web-a's podIP $ip_a is not in $CIDR_NET.0/24" ;; esac
case "$ip_b" in $CIDR_NET.*) ;; *) fail "web-b's podIP $ip_b is not in $CIDR_NET.0/24" ;; esac
[ "$ip_a" != "$ip_b" ] || fail "both pods got $ip_a"
# podIPs (Kubernetes' name; hs_pbjson spells it podIps until "ips" joins its acronyms)
field_is web-a "(p['status'].get('podIPs') or p['status'].get('podIps'))[0]['ip']" "$ip_a" || fail "web-a's podIPs: $(hsctl get pod web-a -o yaml)"
field_is web-a "p['status']['hostIP']" "$NODE_IP" || fail "web-a's hostIP is not $NODE_IP"
nsenter --net="$T/netns/$uid_a" ip -4 -o addr show eth0 | grep >/dev/null "inet $ip_a/24" ||
  fail "web-a's namespace has no $ip_a on eth0: $(nsenter --net="$T/netns/$uid_a" ip -o addr)"
pass "two pods, IPs $ip_a and $ip_b in $CIDR_NET.0/24, shown in status.podIP(s); hostIP $NODE_IP"

wait_for 20 "web-a's client to reach its server over localhost" grep -q "hello from" "$T/a.local"
grep -q "network ready.*a prepared namespace" "$T/agent-n1.log" || fail "no pod got a prepared namespace"
pass "two containers of one pod talk over localhost; prepared namespaces (loopback up) are used"

out=$(nsenter --net="$T/netns/$uid_a" curl -sf -m2 "http://$ip_b:8080/hello.txt") || fail "web-a cannot reach web-b at $ip_b:8080"
[ "$out" = "hello from $NS" ] || fail "web-b answered: $out"
out=$(nsenter --net="/run/netns/$NS" curl -sf -m2 "http://$ip_a:8080/hello.txt") || fail "the node cannot reach web-a"
pass "pod to pod, and node to pod, on the node's bridge"

# hs-shim --exec (exec probes, hsctl exec) runs in the pod's network too
out=$(nsenter --net="/run/netns/$NS" "$HS_BIN/hs-shim" --exec "$(cpid web-a srv)" -- ip -4 -o addr show eth0)
case "$out" in "exit 0"*"inet $ip_a/24"*) ;; *) fail "hs-shim --exec in web-a saw: $out" ;; esac
pass "hs-shim --exec joins the pod's network namespace"

want_resolv="nameserver 10.96.0.10
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5"
[ "$(cat "$T/a.resolv")" = "$want_resolv" ] || fail "web-a's resolv.conf:
$(cat "$T/a.resolv")"
grep -Eq "^127\.0\.0\.1\s+localhost" "$T/a.hosts" && grep -Eq "^::1\s+localhost" "$T/a.hosts" &&
  grep -Eq "^$ip_a\s+web-a$" "$T/a.hosts" || fail "web-a's hosts file:
$(cat "$T/a.hosts")"
pass "resolv.conf (cluster DNS, search path, ndots:5) and hosts are the generated ones"

[ "$(leases | tr '\n' ' ')" = "$(printf '%s\n' "$ip_a" "$ip_b" | sort | tr '\n' ' ')" ] ||
  fail "lease files: $(leases | tr '\n' ' '), pods: $ip_a $ip_b"
[ "$(bridge_ports)" = 2 ] || fail "hs0 has $(bridge_ports) ports, not 2"

# ---- kill -9 of the agent, a stale lease planted meanwhile, restart
pid_a=$(cpid web-a srv); pid_b=$(cpid web-b srv)
kill -9 -- "-$AGENT_PID"
wait_for 10 "the agent to die" exited "$AGENT_PID"
# host-local's lease file: "<container id>\r\n<ifname>"
printf 'stale-container-id\r\neth0' >"$T/cni/hs-podnet/$CIDR_NET.250"
agent
wait_for 20 "adoption" grep -q "adopted 2 pods from the agent's record" "$T/agent-n1.log"
wait_for 20 "CHECK of web-a" grep -q "pod $uid_a: network CHECK passed ($ip_a)" "$T/agent-n1.log"
wait_for 20 "CHECK of web-b" grep -q "pod $uid_b: network CHECK passed ($ip_b)" "$T/agent-n1.log"
wait_for 20 "the stale lease collected" sh -c "[ ! -e '$T/cni/hs-podnet/$CIDR_NET.250' ]"
grep -q "network GC: releasing the lease of stale-container-id" "$T/agent-n1.log" || fail "no GC logged"
[ "$(pod_ip web-a)" = "$ip_a" ] && [ "$(pod_ip web-b)" = "$ip_b" ] || fail "IPs changed: $(pod_ip web-a) $(pod_ip web-b)"
[ "$(cpid web-a srv)" = "$pid_a" ] && [ "$(cpid web-b srv)" = "$pid_b" ] || fail "pods were restarted"
[ -d "/proc/$pid_a" ] && [ -d "/proc/$pid_b" ] || fail "a pod's process died"
[ "$(leases | tr '\n' ' ')" = "$(printf '%s\n' "$ip_a" "$ip_b" | sort | tr '\n' ' ')" ] ||
  fail "after the restart, lease files: $(leases | tr '\n' ' ')"
nsenter --net="$T/netns/$uid_a" curl -sf -m2 "http://$ip_b:8080/hello.txt" >/dev/null || fail "pod to pod after the restart"
pass "agent kill -9 + restart: pods adopted with the same IPs after CHECK; leases = pods; a stale lease collected"

# ---- a sandbox broken while the agent is away: CHECK fails, the sandbox is
# re-created under a restarted container (never a new IP under a running one)
restarts() { field "$1" "p['status']['containerStatuses'][0].get('restartCount', 0)"; }
kill -9 -- "-$AGENT_PID"
wait_for 10 "the agent to die" exited "$AGENT_PID"
nsenter --net="$T/netns/$uid_b" ip addr flush dev eth0
agent
wait_for 20 "web-b's SandboxChanged event" sh -c "hsctl describe pod web-b | grep -q SandboxChanged"
hsctl describe pod web-b | grep SandboxChanged | grep >/dev/null "network CHECK failed" || fail "SandboxChanged without the CHECK's failure: $(hsctl describe pod web-b)"
wait_for 30 "web-b restarted in a new sandbox" sh -c "[ \"\$(hsctl get pod web-b -o json | python3 -c \"import json,sys; p=json.load(sys.stdin); print(p['status']['containerStatuses'][0].get('restartCount', 0), p['status']['phase'])\")\" = '1 Running' ]"
ip_b=$(pod_ip web-b); pid_b=$(cpid web-b srv)
case "$ip_b" in $CIDR_NET.*) ;; *) fail "web-b's new podIP: $ip_b" ;; esac
nsenter --net="$T/netns/$uid_b" ip -4 -o addr show eth0 | grep >/dev/null "inet $ip_b/24" || fail "web-b's new namespace lacks $ip_b"
[ "$(leases | tr '\n' ' ')" = "$(printf '%s\n' "$ip_a" "$ip_b" | sort | tr '\n' ' ')" ] ||
  fail "after the re-creation, lease files: $(leases | tr '\n' ' '), pods: $ip_a $ip_b"
[ "$(restarts web-a)" = 0 ] && [ "$(pod_ip web-a)" = "$ip_a" ] || fail "web-a was touched"
wait_for 10 "pod to pod into the new sandbox" sh -c "nsenter --net='$T/netns/$uid_a' curl -sf -m2 http://$ip_b:8080/hello.txt >/dev/null"
pass "a failed CHECK after a restart: Event SandboxChanged, container killed, sandbox re-created, leases = pods"

# ---- delete a pod: lease, veth and namespace freed
hsctl delete pod web-b >/dev/null
wait_for 20 "web-b gone" sh -c "! hsctl get pod web-b >/dev/null 2>&1"
[ "$(leases | tr '\n' ' ')" = "$ip_a " ] || fail "after deleting web-b, lease files: $(leases | tr '\n' ' ')"
[ "$(bridge_ports)" = 1 ] || fail "hs0 has $(bridge_ports) ports after the delete, not 1"
[ ! -e "$T/netns/$uid_b" ] || fail "web-b's namespace file is still there"
exited "$pid_b" || fail "web-b's process survived"
pass "deleting a pod frees its lease file, its veth and its namespace"

# ---- the plugins go missing: an Event, ContainerCreating, no crash; back: it runs
rm "$T/cnibin" && ln -s "$T/nobin" "$T/cnibin"
cat >"$T/late.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: late
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["sleep", "3600"]
EOF
hsctl apply -f "$T/late.yaml" >/dev/null || fail "apply late"
wait_for 20 "late's FailedCreatePodSandBox event" sh -c "hsctl describe pod late | grep -q FailedCreatePodSandBox"
hsctl describe pod late | grep FailedCreatePodSandBox | grep >/dev/null "no such file or directory" ||
  fail "the event does not say why: $(hsctl describe pod late)"
field_is late "p['status']['containerStatuses'][0]['state']['waiting']['reason']" ContainerCreating ||
  fail "late is not ContainerCreating: $(hsctl get pod late -o yaml)"
kill -0 "$AGENT_PID" || fail "the agent died"
running web-a || fail "web-a stopped running"
rm "$T/cnibin" && ln -s /usr/lib/cni "$T/cnibin"
wait_for 30 "late Running once the plugins are back (a retry with backoff)" running late
case "$(pod_ip late)" in $CIDR_NET.*) ;; *) fail "late's podIP: $(pod_ip late)" ;; esac
pass "a missing plugin: Event FailedCreatePodSandBox, ContainerCreating, no crash; retried"

# ---- the agent dies during an ADD (a bridge plugin held in flight by a
# wrapper): the restarted agent DELs, then ADDs again; one lease, Running
mkdir "$T/slowbin"
for b in /usr/lib/cni/*; do ln -s "$b" "$T/slowbin/"; done
rm "$T/slowbin/bridge"
cat >"$T/slowbin/bridge" <<'EOF'
#!/bin/sh
# The real bridge plugin, an ADD held for 30 s first (the agent dies meanwhile).
[ "$CNI_COMMAND" = ADD ] && sleep 30
exec /usr/lib/cni/bridge
EOF
chmod +x "$T/slowbin/bridge"
rm "$T/cnibin" && ln -s "$T/slowbin" "$T/cnibin"
sed "s/name: late/name: crash/" "$T/late.yaml" | hsctl apply -f - >/dev/null || fail "apply crash"
wait_for 20 "crash's uid" uid crash
uid_c=$(uid crash)
wait_for 20 "crash's ADD in flight" sh -c "[ -e '$T/netns/$uid_c' ] && [ -n \"\$(pgrep -f '$T/slowbin/bridge')\" ]"
kill -9 -- "-$AGENT_PID" # the agent's process group: the plugin dies with it
wait_for 10 "the agent to die" exited "$AGENT_PID"
rm "$T/cnibin" && ln -s /usr/lib/cni "$T/cnibin"
agent
wait_for 20 "the DEL of the interrupted ADD" grep -q "pod $uid_c: the agent stopped during its network ADD" "$T/agent-n1.log"
wait_for 30 "crash Running" running crash
ip_c=$(pod_ip crash)
case "$ip_c" in $CIDR_NET.*) ;; *) fail "crash's podIP: $ip_c" ;; esac
[ "$(head -1 "$T/cni/hs-podnet/$ip_c" | tr -d '\r')" = "$uid_c" ] || fail "crash's lease"
[ "$(grep -l "$uid_c" "$T"/cni/hs-podnet/[0-9]* | wc -l)" = 1 ] || fail "crash holds $(grep -l "$uid_c" "$T"/cni/hs-podnet/[0-9]* | wc -l) leases"
hsctl delete pod crash >/dev/null
pass "the agent killed during an ADD: the restarted agent DELs, then ADDs again; one lease"

# ---- hostNetwork: the node's interfaces and address
cat >"$T/hn.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: hn
spec:
  nodeName: n1
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "ip -o link >$T/hn.links; exec sleep 3600"]
EOF
hsctl apply -f "$T/hn.yaml" >/dev/null || fail "apply hn"
wait_for 20 "hn Running" running hn
wait_for 10 "hn's links" grep -q "hs0" "$T/hn.links"
grep -q " eth0@" "$T/hn.links" || fail "hn does not see the node's eth0: $(cat "$T/hn.links")"
[ "$(pod_ip hn)" = "$NODE_IP" ] || fail "hn's podIP is $(pod_ip hn), not the node's $NODE_IP"
[ ! -e "$T/netns/$(uid hn)" ] || fail "hn got a namespace of its own"
pass "a hostNetwork pod runs in the node's network namespace, podIP = the node's"

# ---- everything deleted: no lease, no namespace, no veth left
hsctl delete pod web-a late hn >/dev/null
wait_for 30 "all pods gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
[ -z "$(leases)" ] || fail "leases left: $(leases | tr '\n' ' ')"
[ -z "$(ls "$T/netns")" ] || fail "namespaces left: $(ls "$T/netns")"
# the prepared namespaces (.pool-N) go with a clean stop of the agent
poll_until 10 sh -c "ls -A '$T/netns' | grep -q '^\.pool-'" ||
  fail "no prepared namespaces (a failed refill waits 5 s): $(ls -A "$T/netns"); $(grep -i 'prepare' "$T/agent-n1.log")"
kill -TERM "$AGENT_PID"
wait_for 10 "the agent to stop" exited "$AGENT_PID"
[ -z "$(ls -A "$T/netns")" ] || fail "left after the agent's stop: $(ls -A "$T/netns")"
! grep -q "$T/netns" /proc/self/mountinfo || fail "mounts left under $T/netns"
[ "$(bridge_ports)" = 0 ] || fail "hs0 still has ports"
pass "all pods deleted: no lease, namespace or veth left; a clean stop removes the prepared namespaces"

# ---- ptp, and a full podCIDR: a /30 has one address for pods (host-local:
# .2). (ptp: hs0 keeps 10.244.7.1/24, and the bridge plugin refuses a
# second gateway address on it, as with cni0 when a node's podCIDR changes.)
POD_NET=ptp POD_CIDR=10.244.9.0/30 agent
wait_for 20 "the agent on a /30" grep -q "podCIDR 10.244.9.0/30" "$T/agent-n1.log"
for p in full1 full2; do
  sed "s/name: late/name: $p/" "$T/late.yaml" | hsctl apply -f - >/dev/null || fail "apply $p"
  wait_for 20 "$p in the agent" grep -q "pod default/$p " "$T/agent-n1.log"
done
wait_for 20 "one of the two Running" sh -c "hsctl get pods | grep -c Running | grep -qx 1"
wait_for 20 "the other's FailedCreatePodSandBox" sh -c "{ hsctl describe pod full1; hsctl describe pod full2; } | grep FailedCreatePodSandBox | grep -q 'no IP addresses available'"
kill -0 "$AGENT_PID" || fail "the agent died of a full podCIDR"
[ "$(leases | wc -l)" = 1 ] || fail "leases on the /30: $(leases | tr '\n' ' ')"
hsctl delete pod full1 full2 >/dev/null
wait_for 30 "the /30 pods gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
[ -z "$(leases)" ] || fail "leases left on the /30: $(leases | tr '\n' ' ')"
pass "ptp, and a full podCIDR: Event FailedCreatePodSandBox (no IP addresses available), no crash, no leak"
kill -TERM "$AGENT_PID"
wait_for 10 "the agent to stop" exited "$AGENT_PID"
[ -z "$(ls -A "$T/netns")" ] || fail "left after the agent's stop: $(ls -A "$T/netns")"

# ---- a pod started by an agent with --pod-network none, adopted by one with
# a pod network: its process runs in the node's namespace, so it keeps the
# node's network and IP (a sandbox now would give it a podIP it has not)
POD_NET=none agent
sed "s/name: late/name: legacy/" "$T/late.yaml" | hsctl apply -f - >/dev/null || fail "apply legacy"
wait_for 20 "legacy Running" running legacy
[ "$(pod_ip legacy)" = "$NODE_IP" ] || fail "legacy's podIP without a pod network: $(pod_ip legacy)"
pid_l=$(cpid legacy main); uid_l=$(uid legacy)
kill -9 -- "-$AGENT_PID"
wait_for 10 "the agent to die" exited "$AGENT_PID"
agent
wait_for 20 "legacy adopted" grep -q "pod default/legacy ($uid_l): adopted 1 running" "$T/agent-n1.log"
# a wrong sandbox would be made within the agent's first turns: give it its
# chance (the CNI ADD takes about 100 ms), then look
poll_until 3 sh -c "[ -e '$T/netns/$uid_l' ]" && fail "legacy got a network namespace under its running process"
[ "$(pod_ip legacy)" = "$NODE_IP" ] || fail "legacy's podIP after the adoption: $(pod_ip legacy)"
[ "$(cpid legacy main)" = "$pid_l" ] && [ -d "/proc/$pid_l" ] || fail "legacy's process was restarted"
[ -z "$(leases)" ] || fail "a lease for legacy: $(leases | tr '\n' ' ')"
grep -q "pod default/legacy ($uid_l): its containers run in the node's network" "$T/agent-n1.log" ||
  fail "the kept network was not logged"
hsctl delete pod legacy >/dev/null
wait_for 30 "legacy gone" sh -c "hsctl get pods 2>&1 | grep -q 'No resources found'"
kill -TERM "$AGENT_PID"
wait_for 10 "the agent to stop" exited "$AGENT_PID"
[ -z "$(ls -A "$T/netns")" ] || fail "left after the agent's stop: $(ls -A "$T/netns")"
pass "a pod adopted from an agent without a pod network keeps the node's network and IP"

[ "$(ip -br link | awk '{print $1}' | sort)" = "$root_links_before" ] || fail "the root netns' links changed"
[ "$(ip route)" = "$root_routes_before" ] || fail "the root netns' routes changed"
pass "the root netns untouched"
