#!/usr/bin/env bash
# hs-endpoints with a real hs-bus and hs-store: pods are created with hsctl
# and their status (phase, podIP, the Ready condition) written the way the
# agent writes it (hsctl replace --subresource=status), so no process runs.
# Checks, through hsctl: a Service's Endpoints appear with its ready pods;
# flipping a pod's Ready condition moves its address to notReadyAddresses
# (and back) quickly; a named targetPort a pod lacks keeps it out of rotation
# with a Warning Event on the Service; a selector-less Service's own
# Endpoints are never touched, not even when it is deleted; deleting a
# Service deletes its Endpoints; two instances share the Services, and
# after kill -9 of one the survivor keeps every Endpoints current; a Service
# deleted while no instance runs loses its Endpoints to the next instance.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_ctrl endpoints --instance e1 --heartbeat-ms 100 --member-timeout-ms 500
CTRL_PID_E1=$CTRL_PID

# svc NAME [SELECTOR_APP]: a Service with port http 80 -> targetPort http
svc() {
  cat >"$T/svc-$1.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: $1
spec:
  selector: {app: ${2:-web}}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9100, targetPort: 9100}
EOF
  hsctl apply -f "$T/svc-$1.yaml" >/dev/null || fail "cannot apply service $1"
}

# pod NAME IP [PORTNAME]: a pod of app=web whose container port 8080 is
# named PORTNAME (default http), Running with that IP and Ready.
pod() {
  cat >"$T/pod-$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: web}
spec:
  containers:
  - name: c
    image: x
    command: [sleep, "3600"]
    ports:
    - {name: ${3:-http}, containerPort: 8080}
EOF
  hsctl apply -f "$T/pod-$1.yaml" >/dev/null || fail "cannot apply pod $1"
  status "$1" "$2" True
}

# status NAME IP READY: writes the pod's status
status() {
  cat >"$T/st-$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
status:
  phase: Running
  podIP: $2
  conditions:
  - {type: Ready, status: "$3"}
EOF
  hsctl replace --subresource=status -f "$T/st-$1.yaml" >/dev/null || fail "cannot write the status of $1"
}

# addrs NAME: "<ready ips> | <not ready ips>" of Endpoints NAME (sorted as
# stored), or "none"
addrs() {
  hsctl get endpoints "$1" -o json 2>/dev/null | python3 -c '
import json, sys
try:
    e = json.load(sys.stdin)
except ValueError:
    print("none"); sys.exit()
r = [a["ip"] for s in e.get("subsets", []) for a in s.get("addresses", [])]
n = [a["ip"] for s in e.get("subsets", []) for a in s.get("notReadyAddresses", [])]
print(",".join(r) + " | " + ",".join(n))'
}
addrs_is() { [ "$(addrs "$1")" = "$2" ]; }
ep_gone() { local out; out=$(hsctl get endpoints "$1" 2>&1) || true; [[ $out == *NotFound* ]]; }

# ---- Endpoints appear, with the ready pods, sorted by IP
svc web
pod web-a 10.244.1.10
pod web-b 10.244.1.9
pod web-c 10.244.2.3
wait_for 5 "Endpoints web with 3 ready addresses" addrs_is web "10.244.1.9,10.244.1.10,10.244.2.3 | "
out=$(hsctl get endpoints web -o json)
python3 - "$out" <<'PY' || fail "Endpoints web has the wrong shape: $out"
import json, sys
e = json.loads(sys.argv[1])
assert e["metadata"]["annotations"]["endpoints.homeostat.io/managed-by"] == "hs-endpoints"
(s,) = e["subsets"]
assert [(p["name"], p["port"], p["protocol"]) for p in s["ports"]] == [("http", 8080, "TCP"), ("metrics", 9100, "TCP")], s["ports"]
a = s["addresses"][0]
assert a["targetRef"]["kind"] == "Pod" and a["targetRef"]["name"] == "web-b" and a["targetRef"]["uid"], a
PY
pass "Endpoints web: 3 ready addresses by IP, targetPort http resolved to 8080, targetRef set"

# ---- Ready flips move the address, quickly
flip_ms=()
for i in 1 2 3 4 5; do
  t0=$(ms)
  status web-b 10.244.1.9 False
  wait_for 3 "web-b in notReadyAddresses" addrs_is web "10.244.1.10,10.244.2.3 | 10.244.1.9"
  flip_ms+=($(( $(ms) - t0 )))
  t0=$(ms)
  status web-b 10.244.1.9 True
  wait_for 3 "web-b back in addresses" addrs_is web "10.244.1.9,10.244.1.10,10.244.2.3 | "
  flip_ms+=($(( $(ms) - t0 )))
done
pass "Ready flips move web-b between addresses and notReadyAddresses; hsctl status write -> seen by hsctl get: ${flip_ms[*]} ms (each includes two hsctl runs and the 20 ms poll)"

# ---- a pod whose container has no port named http: out of rotation, an Event
pod web-d 10.244.3.4 web
wait_for 5 "web-d in notReadyAddresses" addrs_is web "10.244.1.9,10.244.1.10,10.244.2.3 | 10.244.3.4"
has_event() {
  hsctl get events -o json 2>/dev/null | python3 -c '
import json, sys
ok = any(e["involvedObject"]["kind"] == "Service" and e["involvedObject"]["name"] == "web"
         and e.get("type") == "Warning" and e.get("reason") == "MissingTargetPort"
         and "pod web-d has no container port named \"http\"" in e.get("message", "")
         for e in json.load(sys.stdin)["items"])
sys.exit(0 if ok else 1)'
}
wait_for 5 "a MissingTargetPort Event on service web" has_event
pass "web-d lacks port name http: in notReadyAddresses, Warning MissingTargetPort on the Service"

# ---- a selector-less Service: its Endpoints are the user's
cat >"$T/manual.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: manual
spec:
  ports:
  - {port: 80}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: manual
subsets:
- addresses:
  - {ip: 192.0.2.7}
  ports:
  - {port: 80}
EOF
hsctl apply -f "$T/manual.yaml" >/dev/null || fail "cannot apply the manual Service"
rv0=$(hsctl get endpoints manual -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
hsctl delete service manual >/dev/null || fail "cannot delete service manual"
# web's deletion comes after manual's: once web's Endpoints are gone, the
# controller has seen manual's deletion too
hsctl delete service web >/dev/null || fail "cannot delete service web"
wait_for 5 "Endpoints web deleted with its Service" ep_gone web
rv1=$(hsctl get endpoints manual -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
[ "$rv0" = "$rv1" ] || fail "the user's Endpoints manual changed: resourceVersion $rv0 -> $rv1"
addrs_is manual "192.0.2.7 | " || fail "the user's Endpoints manual lost its address: $(addrs manual)"
pass "deleting service web deleted its Endpoints; the selector-less Service manual's own Endpoints were never touched"

# ---- two instances share the Services; kill -9 of one is survived
start_ctrl endpoints --instance e2 --heartbeat-ms 100 --member-timeout-ms 500
E2_PID=$CTRL_PID
N=16
for i in $(seq 1 $N); do svc "s$i"; done
# all_ready "READY | NOTREADY": every Endpoints s1..sN says so (one hsctl run)
all_ready() {
  hsctl get endpoints -o json 2>/dev/null | python3 -c '
import json, sys
n, want = int(sys.argv[1]), sys.argv[2]
got = {}
for e in json.load(sys.stdin)["items"]:
    r = [a["ip"] for s in e.get("subsets", []) for a in s.get("addresses", [])]
    nr = [a["ip"] for s in e.get("subsets", []) for a in s.get("notReadyAddresses", [])]
    got[e["metadata"]["name"]] = ",".join(r) + " | " + ",".join(nr)
sys.exit(0 if all(got.get("s%d" % i) == want for i in range(1, n + 1)) else 1)' "$N" "$1"
}
wait_for 10 "$N Endpoints with 3 ready addresses" all_ready "10.244.1.9,10.244.1.10,10.244.2.3 | 10.244.3.4"
c1=$(grep -c 'endpoints default/s[0-9]* created' "$T/endpoints-e1.log" || true)
c2=$(grep -c 'endpoints default/s[0-9]* created' "$T/endpoints-e2.log" || true)
[ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] || fail "the instances did not share the work: e1 created $c1, e2 $c2"
[ $((c1 + c2)) -ge $N ] || fail "only $((c1 + c2)) of $N Endpoints created"
pass "two instances: e1 created $c1 and e2 created $c2 of $N Endpoints"

kill -9 "$E2_PID"
t0=$(ms)
status web-a 10.244.1.10 False
wait_for 10 "every Endpoints current after kill -9 of e2" all_ready "10.244.1.9,10.244.2.3 | 10.244.1.10,10.244.3.4"
pass "after kill -9 of e2, e1 took its share: web-a left rotation in all $N Endpoints within $(( $(ms) - t0 )) ms (member timeout 500 ms)"
kill -0 "$E2_PID" 2>/dev/null && ! exited "$E2_PID" && fail "e2 still runs"

# ---- a pod deleted leaves; a Service deleted takes its Endpoints (survivor)
hsctl delete pod web-c --grace-period=0 >/dev/null 2>&1 || hsctl delete pod web-c >/dev/null || fail "cannot delete pod web-c"
wait_for 5 "web-c gone from every Endpoints" all_ready "10.244.1.9 | 10.244.1.10,10.244.3.4"
for i in $(seq 1 $N); do hsctl delete service "s$i" >/dev/null; done
# no Endpoints s1..sN left (and the list works: manual's is in it)
all_gone() {
  local out
  out=$(hsctl get endpoints -o name 2>/dev/null) || return 1
  [[ $out == *manual* ]] && ! grep -q '/s[0-9]' <<<"$out"
}
wait_for 10 "every Endpoints deleted with its Service" all_gone
pass "pod web-c deleted: gone from every Endpoints; $N Services deleted: their Endpoints too"

# ---- a Service deleted while no instance runs: the next one deletes its
# Endpoints (they carry our annotation), and still not the user's
svc late
wait_for 5 "Endpoints late" addrs_is late "10.244.1.9 | 10.244.1.10,10.244.3.4"
kill -9 "$CTRL_PID_E1"
hsctl delete service late >/dev/null || fail "cannot delete service late"
ep_gone late && fail "Endpoints late went with no hs-endpoints running"
start_ctrl endpoints --instance e3 --heartbeat-ms 100 --member-timeout-ms 500
wait_for 5 "Endpoints late deleted by the new instance" ep_gone late
addrs_is manual "192.0.2.7 | " || fail "the user's Endpoints manual changed: $(addrs manual)"
pass "service late deleted while no hs-endpoints ran: the next instance deleted its Endpoints, not the user's"
