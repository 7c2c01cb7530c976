#!/usr/bin/env bash
# test_dns.sh: hs-dns with a real hs-bus and hs-store on loopback, asked by
# a small DNS client in Python over UDP and TCP, forwarding to a real
# upstream (dnsmasq on loopback):
#   - A of a Service's full name, SRV of its named port, over UDP and TCP;
#   - NXDOMAIN at once for a name of the zone no Service has, NODATA for AAAA;
#   - a headless Service answers its ready endpoint IPs and hostnames;
#     too many for 512 bytes: TC over UDP, all of them over TCP;
#   - a deleted Service stops resolving within a second;
#   - kube-system/kube-dns exists with 10.96.0.10 and our Endpoints;
#   - names outside the zone are forwarded (UDP and TCP), past a dead
#     upstream; with every upstream dead, SERVFAIL (never REFUSED);
#   - garbage packets are survived and counted;
#   - two instances share kube-dns' Endpoints; the one left prunes the
#     address of the one killed;
#   - as root: glibc (getent, inside a network namespace this test makes,
#     with resolv.conf bind-mounted as hs-shim does) resolves a Service by
#     its short name through the search path, gets "not found" at once for
#     an unknown one, and resolves a forwarded name.
source "$(dirname "$0")/lib.sh"

command -v dnsmasq >/dev/null || { echo "SKIP: dnsmasq not installed (scripts/install-deps)"; exit 77; }

# The DNS client: dnsq.py SERVER PORT NAME [TYPE] [--tcp] [--edns=SIZE]
# prints "RCODE flags SECTION:TYPE:DATA..." (see query()).
cat >"$T/dnsq.py" <<'PY'
import socket, struct, sys, random
RC = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TY = {"A": 1, "NS": 2, "SOA": 6, "AAAA": 28, "SRV": 33, "ANY": 255, "TXT": 16, "MX": 15}
def qname(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".") if l) + b"\0"
def name_at(m, o):
    labels, jumped, end = [], False, None
    while True:
        l = m[o]
        if l & 0xC0 == 0xC0:
            if not jumped: end = o + 2
            jumped, o = True, ((l & 0x3F) << 8) | m[o + 1]; continue
        if l == 0: o += 1; break
        labels.append(m[o + 1:o + 1 + l].decode()); o += 1 + l
    return ".".join(labels), (end if jumped else o)
def query(server, port, name, qtype, tcp=False, edns=None, timeout=4.0):
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0) + qname(name) \
        + struct.pack(">HH", TY[qtype], 1)
    if edns: pkt += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    if tcp:
        s = socket.create_connection((server, port), timeout=timeout)
        s.sendall(struct.pack(">H", len(pkt)) + pkt)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            c = s.recv(65536)
            if not c: raise RuntimeError("connection closed")
            buf += c
        m = buf[2:]; s.close()
    else:
        # connected, as glibc's: an answer from another address than asked is not taken
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout)
        s.connect((server, port)); s.send(pkt); m = s.recv(65535); s.close()
    rid, fl, qd, an, ns, ar = struct.unpack(">HHHHHH", m[:12])
    assert rid == qid, "id mismatch"
    o = 12
    for _ in range(qd): _, o = name_at(m, o); o += 4
    out = []
    for sec, cnt in (("AN", an), ("NS", ns), ("AR", ar)):
        for _ in range(cnt):
            n, o = name_at(m, o)
            t, c, ttl, rl = struct.unpack(">HHIH", m[o:o + 10]); o += 10
            rd = m[o:o + rl]; o += rl
            if t == 1: out.append(f"{sec}:A:{socket.inet_ntoa(rd)}")
            elif t == 6: out.append(f"{sec}:SOA:{n}")
            elif t == 33:
                pr, w, p = struct.unpack(">HHH", rd[:6]); tn, _ = name_at(m, o - rl + 6)
                out.append(f"{sec}:SRV:{p}:{tn}")
            elif t == 41: out.append(f"{sec}:OPT:{c}")
            else: out.append(f"{sec}:T{t}")
    flags = ("aa " if fl & 0x400 else "") + ("tc " if fl & 0x200 else "")
    return f"{RC.get(fl & 15, fl & 15)} {flags}" + " ".join(out) + f" (answers {an})"
if __name__ == "__main__":
    a = sys.argv[1:]
    tcp = "--tcp" in a; a = [x for x in a if x != "--tcp"]
    edns = None
    if a and a[-1].startswith("--edns="): edns = int(a.pop()[7:])
    print(query(a[0], int(a[1]), a[2], a[3] if len(a) > 3 else "A", tcp, edns))
PY

# A port free on 127.0.0.1 for both UDP and TCP.
free_dns_port() {
  python3 - <<'PY'
import random, socket
for _ in range(500):
    p = random.randrange(20000, 30000)
    socks = []
    try:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind); socks.append(s); s.bind(("127.0.0.1", p))
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

q() { python3 "$T/dnsq.py" 127.0.0.1 "$DNS_PORT" "$@"; }
# expect_q "substring" ARGS...: the answer to q ARGS contains it.
expect_q() { local want=$1; shift; expect_out "$want" q "$@"; }

start_bus
start_store

UP_PORT=$(free_dns_port)
DEAD_PORT=$(free_dns_port)
start dnsmasq dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --listen-address=127.0.0.1 \
  --bind-interfaces --port="$UP_PORT" --address=/example.test/203.0.113.7 --address='/#/' --pid-file
DNSMASQ_PID=$LAST_PID
wait_for 5 "dnsmasq to answer" python3 "$T/dnsq.py" 127.0.0.1 "$UP_PORT" www.example.test

DNS_PORT=$(free_dns_port)
# the dead upstream first: about half the forwarded queries meet it first
start dns-a "$HS_BIN/hs-dns" --bus "$HS_BUS" --instance dns-a --listen "127.0.0.1:$DNS_PORT" \
  --upstream "127.0.0.1:$DEAD_PORT" --upstream "127.0.0.1:$UP_PORT"
DNS_A_PID=$LAST_PID
wait_for 20 "hs-dns to sync" grep -q "synced" "$T/dns-a.log"
lap "hs-dns synced"

# ---- kube-dns
wait_for 10 "kube-dns Service" sh -c "hsctl get svc kube-dns -n kube-system -o yaml | grep -q 'clusterIP: 10.96.0.10'"
expect_out "k8s-app: kube-dns" hsctl get svc kube-dns -n kube-system -o yaml
expect_out "targetPort: \"$DNS_PORT\"" hsctl get svc kube-dns -n kube-system -o yaml
wait_for 10 "kube-dns Endpoints" sh -c "hsctl get endpoints kube-dns -n kube-system -o yaml | grep -q 'ip: 127.0.0.1'"
expect_out "port: $DNS_PORT" hsctl get endpoints kube-dns -n kube-system -o yaml
expect_q "NOERROR aa AN:A:10.96.0.10" kube-dns.kube-system.svc.cluster.local
pass "kube-system/kube-dns: clusterIP 10.96.0.10, targetPort $DNS_PORT, Endpoints 127.0.0.1:$DNS_PORT"

# drift: someone changes the Service and deletes the Endpoints; hs-dns puts
# both back
cat >"$T/drift.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
spec:
  clusterIP: 10.96.0.10
  selector:
    app: someone-else
  ports:
  - name: dns
    protocol: UDP
    port: 54
EOF
hsctl apply -f "$T/drift.yaml" >/dev/null
hsctl delete endpoints kube-dns -n kube-system >/dev/null
wait_for 5 "kube-dns' Service put back" sh -c "hsctl get svc kube-dns -n kube-system -o yaml | grep -q 'name: dns-tcp' &&
  ! hsctl get svc kube-dns -n kube-system -o yaml | grep -q 'someone-else'"
expect_out "port: 53" hsctl get svc kube-dns -n kube-system -o yaml
wait_for 5 "kube-dns' Endpoints put back" sh -c "hsctl get endpoints kube-dns -n kube-system -o yaml | grep -q 'ip: 127.0.0.1'"
pass "kube-dns' Service and Endpoints put back after they drifted"

# ---- Services
cat >"$T/svc.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 10.96.0.50
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  ports:
  - name: sql
    port: 5432
---
apiVersion: v1
kind: Endpoints
metadata:
  name: db
subsets:
- addresses:
  - ip: 10.244.1.5
    hostname: db-0
  - ip: 10.244.2.6
  notReadyAddresses:
  - ip: 10.244.3.7
  ports:
  - name: sql
    port: 5432
EOF
hsctl apply -f "$T/svc.yaml" >/dev/null
wait_for 2 "web to resolve" sh -c "python3 '$T/dnsq.py' 127.0.0.1 $DNS_PORT web.default.svc.cluster.local | grep -q 'AN:A:10.96.0.50'"
expect_q "NOERROR aa AN:A:10.96.0.50 (answers 1)" web.default.svc.cluster.local A --tcp
expect_q "NOERROR aa AN:A:10.96.0.50" WEB.Default.SVC.cluster.local
expect_q "NOERROR aa AN:SRV:80:web.default.svc.cluster.local" _http._tcp.web.default.svc.cluster.local SRV
pass "A of the full name over UDP and TCP (any case), SRV of the named port"

expect_q "NOERROR aa NS:SOA:cluster.local (answers 0)" web.default.svc.cluster.local AAAA
expect_q "NOERROR aa NS:SOA:cluster.local (answers 0)" default.svc.cluster.local A
expect_q "NOERROR aa NS:SOA:cluster.local (answers 0)" svc.cluster.local A
expect_q "NXDOMAIN aa NS:SOA:cluster.local (answers 0)" nosuch.default.svc.cluster.local
expect_q "NXDOMAIN aa NS:SOA:cluster.local" nosuch.default.svc.cluster.local A --tcp
expect_q "NXDOMAIN aa" web.nosuchns.svc.cluster.local
# "at once": each answer timed inside one client (no interpreter start-up)
NX_MS=$(python3 - "$T" "$DNS_PORT" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1]); import dnsq
worst = 0
for n in ("nosuch.default.svc.cluster.local", "nosuch.svc.cluster.local", "a.b.nosuch.cluster.local"):
    t = time.monotonic(); r = dnsq.query("127.0.0.1", int(sys.argv[2]), n, "A")
    assert r.startswith("NXDOMAIN"), r
    worst = max(worst, (time.monotonic() - t) * 1000)
print(int(worst))
PY
) || fail "NXDOMAIN timing"
[ "$NX_MS" -lt 500 ] || fail "an NXDOMAIN answer took $NX_MS ms"
pass "AAAA and the namespace are NODATA with the SOA; unknown names NXDOMAIN at once (slowest of 3: $NX_MS ms)"

expect_q "NOERROR aa AN:A:10.244.1.5 AN:A:10.244.2.6 (answers 2)" db.default.svc.cluster.local
expect_q "AN:A:10.244.1.5 (answers 1)" db-0.db.default.svc.cluster.local
expect_q "AN:A:10.244.2.6 (answers 1)" 10-244-2-6.db.default.svc.cluster.local
expect_q "NXDOMAIN" 10-244-3-7.db.default.svc.cluster.local
pass "headless: the ready endpoint IPs, hostnames and dashed IPs; not-ready ones left out"

# 40 endpoints: 40 x 16 bytes do not fit in 512
python3 - "$T/big.yaml" <<'PY'
import sys
addrs = "".join(f"  - ip: 10.244.9.{i}\n" for i in range(1, 41))
open(sys.argv[1], "w").write(f"""apiVersion: v1
kind: Service
metadata:
  name: big
spec:
  clusterIP: None
---
apiVersion: v1
kind: Endpoints
metadata:
  name: big
subsets:
- addresses:
{addrs}  ports:
  - port: 80
""")
PY
hsctl apply -f "$T/big.yaml" >/dev/null
wait_for 2 "big to resolve" sh -c "python3 '$T/dnsq.py' 127.0.0.1 $DNS_PORT big.default.svc.cluster.local A --tcp | grep -q '(answers 40)'"
expect_q "NOERROR aa tc" big.default.svc.cluster.local
expect_q "(answers 29)" big.default.svc.cluster.local
expect_q "NOERROR aa AN:" big.default.svc.cluster.local A --edns=1232
expect_q "(answers 40)" big.default.svc.cluster.local A --edns=1232
pass "an answer over 512 bytes: TC and the 29 records that fit over UDP, 40 over TCP and with EDNS 1232"

t0=$(ms)
hsctl delete svc web >/dev/null
poll_until 1 sh -c "python3 '$T/dnsq.py' 127.0.0.1 $DNS_PORT web.default.svc.cluster.local | grep -q NXDOMAIN" ||
  fail "web still resolves a second after its delete: $(q web.default.svc.cluster.local)"
pass "a deleted Service is NXDOMAIN within a second ($(($(ms) - t0)) ms, hsctl included)"

# ---- forwarding
for i in 1 2 3 4 5 6; do
  expect_q "AN:A:203.0.113.7" "w$i.example.test"
done
for i in 1 2 3 4; do
  expect_q "AN:A:203.0.113.7" "t$i.example.test" A --tcp
done
pass "outside names forwarded over UDP and TCP, past a dead upstream"

# ---- garbage
python3 - 127.0.0.1 "$DNS_PORT" <<'PY'
import socket, sys, random, struct
addr = (sys.argv[1], int(sys.argv[2]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
random.seed(7)
pkts = [b"", b"\x00", b"\x12\x34\x01", bytes(11),
        # a response (QR set): never answered
        struct.pack(">HHHHHH", 1, 0x8180, 1, 0, 0, 0) + b"\x01a\x00\x00\x01\x00\x01",
        # a pointer loop in the question
        struct.pack(">HHHHHH", 2, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",
        # a forward pointer, a pointer out of bounds, a label of 64
        struct.pack(">HHHHHH", 3, 0x0100, 1, 0, 0, 0) + b"\xc0\x40\x00\x01\x00\x01",
        struct.pack(">HHHHHH", 4, 0x0100, 1, 0, 0, 0) + b"\xff\xff\x00\x01\x00\x01",
        struct.pack(">HHHHHH", 5, 0x0100, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
        # a question cut short, three questions, an announced OPT missing
        struct.pack(">HHHHHH", 6, 0x0100, 1, 0, 0, 0) + b"\x03web\x07def",
        struct.pack(">HHHHHH", 7, 0x0100, 3, 0, 0, 0) + b"\x00\x00\x01\x00\x01",
        struct.pack(">HHHHHH", 8, 0x0100, 1, 0, 0, 1) + b"\x00\x00\x01\x00\x01"]
pkts += [bytes(random.randrange(256) for _ in range(random.randrange(1, 600))) for _ in range(300)]
for p in pkts: s.sendto(p, addr)
# TCP: a length prefix promising more than comes, then a close; garbage framing
t = socket.create_connection(addr); t.sendall(b"\x01\x00garbage"); t.close()
t = socket.create_connection(addr); t.sendall(bytes(random.randrange(256) for _ in range(3000))); t.close()
PY
kill -0 "$DNS_A_PID" || fail "hs-dns died of garbage"
expect_q "NOERROR aa AN:A:10.96.0.10" kube-dns.kube-system.svc.cluster.local
expect_q "NOERROR aa AN:A:10.96.0.10" kube-dns.kube-system.svc.cluster.local A --tcp
grep -q "dropped a malformed message" "$T/dns-a.log" || fail "the garbage was not logged"
[ "$(grep -c "dropped a malformed message" "$T/dns-a.log")" -eq 1 ] || fail "garbage logged more than once"
# the heartbeat counts it
hs-tap --bus "$HS_BUS" hb.dns.dns-a -o json -c 1 >"$T/hb.json" 2>/dev/null &
TAP=$!; HS_PIDS+=("$TAP")
wait_for 5 "a heartbeat of hs-dns" exited "$TAP"
python3 - "$T/hb.json" <<'PY' || fail "counters: $(cat "$T/hb.json")"
import json, sys
hb = json.loads(open(sys.argv[1]).readline())["envelope"]["heartbeat"]
c = {x["name"]: int(x.get("value", 0)) for x in hb["counters"]}
print("  counters:", {k: c[k] for k in ("queries", "noerror", "nxdomain", "formerr", "garbage", "forwarded", "forwarded_tcp", "truncated")})
assert c["garbage"] >= 10 and c["formerr"] >= 5 and c["nxdomain"] >= 4 and c["forwarded"] >= 6
assert c["forwarded_tcp"] >= 4 and c["truncated"] >= 2
# answers relayed from upstreams are timed (forward_duration_seconds); the
# zone's sizes are gauges
h = {x["name"]: x for x in hb.get("histograms", [])}
f = h["forward_duration_seconds"]
assert int(f["count"]) >= 6 and float(f["sum"]) > 0, f
assert int(f["counts"][-1]) <= int(f["count"]), f
g = {x["name"]: float(x.get("value", 0)) for x in hb.get("gauges", [])}
assert g["zone_names"] > 0 and "inflight" in g and "zone_names" not in c, g
PY
pass "garbage over UDP and TCP survived, logged once, counted; forwards timed"

# ---- all upstreams dead: SERVFAIL, not REFUSED
kill "$DNSMASQ_PID"; wait "$DNSMASQ_PID" 2>/dev/null || true
t0=$(ms)
expect_q "SERVFAIL" gone.example.test
expect_q "SERVFAIL" gone2.example.test A --tcp
pass "every upstream dead: SERVFAIL in $(($(ms) - t0)) ms for UDP + TCP"

# ---- a second instance
# Merging and pruning update kube-dns' Endpoints, so the store must replace
# an Endpoints' subsets on update (checked first, to say so plainly).
probe_eps() {
  printf 'apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: probe\nsubsets:\n- addresses:\n  - ip: %s\n  ports:\n  - port: 1\n' "$1" >"$T/probe.yaml"
  hsctl apply -f "$T/probe.yaml" >/dev/null
}
probe_eps 10.9.9.1
probe_eps 10.9.9.2
hsctl get endpoints probe -o yaml >"$T/probe.out"
grep -q 'ip: 10.9.9.2' "$T/probe.out" ||
  fail "hs-store kept an Endpoints' old subsets on update: $(cat "$T/probe.out")"
{
  start dns-b "$HS_BIN/hs-dns" --bus "$HS_BUS" --instance dns-b --listen "127.0.0.2:$DNS_PORT" \
    --upstream "127.0.0.1:$UP_PORT"
  DNS_B_PID=$LAST_PID
  wait_for 10 "both addresses in kube-dns' Endpoints" sh -c \
    "hsctl get endpoints kube-dns -n kube-system -o yaml | grep -q 'ip: 127.0.0.2' &&
     hsctl get endpoints kube-dns -n kube-system -o yaml | grep -q 'ip: 127.0.0.1'"
  expect_out "NOERROR aa AN:A:10.244.1.5" python3 "$T/dnsq.py" 127.0.0.2 "$DNS_PORT" db-0.db.default.svc.cluster.local
  # the leader (dns-a, first by name) is killed: dns-b takes over and prunes it
  kill -9 "$DNS_A_PID"
  t0=$(ms)
  wait_for 5 "dns-a's address to leave kube-dns' Endpoints" sh -c \
    "! hsctl get endpoints kube-dns -n kube-system -o yaml | grep -q 'ip: 127.0.0.1\$'"
  expect_out "ip: 127.0.0.2" hsctl get endpoints kube-dns -n kube-system -o yaml
  # no fight: each instance wrote kube-dns' Endpoints a few times at most
  for f in "$T/dns-a.log" "$T/dns-b.log"; do
    n=$(grep -c "wrote Endpoints" "$f" || true)
    [ "$n" -le 3 ] || fail "$f: kube-dns' Endpoints written $n times"
  done
  pass "two instances share kube-dns' Endpoints; a killed one's address pruned in $(($(ms) - t0)) ms"
}

# ---- glibc, in a network namespace of our own (root only)
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "SKIP (part): glibc through a network namespace needs root, ip and unshare"
  exit 0
fi
NS="hs-t$$-dns"
netns_cleanup() { ip netns del "$NS" 2>/dev/null || true; }
hs_on_exit netns_cleanup
ip netns add "$NS"
ip -n "$NS" link set lo up
# glibc's AI_ADDRCONFIG wants a non-loopback IPv4 address: a veth pair with
# both ends inside, holding the cluster DNS address as a pod would reach it
ip -n "$NS" link add hsdns0 type veth peer name hsdns1
ip -n "$NS" addr add 10.96.0.10/32 dev hsdns0
ip -n "$NS" link set hsdns0 up
ip -n "$NS" link set hsdns1 up
# A control plane of its own inside: the namespace has only its loopback.
NSBUS=7400
start ns-bus ip netns exec "$NS" "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$NSBUS"
wait_for 10 "hs-bus in $NS" grep -q "listening on tcp://127.0.0.1:$((NSBUS + 1))" "$T/ns-bus.log"
mkdir -p "$T/ns-store"
start ns-store ip netns exec "$NS" "$HS_BIN/hs-store" --bus "127.0.0.1:$NSBUS" --data "$T/ns-store"
start ns-dnsmasq ip netns exec "$NS" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
  --listen-address=127.0.0.1 --bind-interfaces --port=5353 --address=/example.test/203.0.113.7 \
  --address='/#/' --pid-file
# on every address (pods reach it through the Service's DNAT): answers must
# leave from the address each query came to
start ns-dns ip netns exec "$NS" "$HS_BIN/hs-dns" --bus "127.0.0.1:$NSBUS" --listen 0.0.0.0:53 \
  --upstream 127.0.0.1:5353
wait_for 20 "hs-dns in $NS to sync" grep -q "synced" "$T/ns-dns.log"
nsctl() { ip netns exec "$NS" "$HS_BIN/hsctl" --bus "127.0.0.1:$NSBUS" "$@"; }
sed -n '1,12p' "$T/svc.yaml" >"$T/web.yaml"
nsctl apply -f "$T/web.yaml" >/dev/null
printf 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n' \
  >"$T/resolv.conf"
# getent inside the namespace, with the pod's resolv.conf (as hs-shim does)
pod_getent() {
  ip netns exec "$NS" unshare -m sh -c "mount --bind '$T/resolv.conf' /etc/resolv.conf && getent $*"
}
wait_for 5 "web to resolve in $NS" pod_getent ahostsv4 web.default.svc.cluster.local
# 127.0.0.2 while the route back to the client prefers 127.0.0.1 as source
expect_out "NOERROR aa AN:A:10.96.0.50" ip netns exec "$NS" python3 "$T/dnsq.py" 127.0.0.2 53 web.default.svc.cluster.local
expect_out "AN:A:203.0.113.7" ip netns exec "$NS" python3 "$T/dnsq.py" 127.0.0.2 53 www.example.test
for n in web web.default web.default.svc.cluster.local; do
  out=$(pod_getent ahostsv4 "$n") || fail "getent ahostsv4 $n failed"
  case "$out" in *10.96.0.50*) ;; *) fail "getent ahostsv4 $n: $out" ;; esac
done
t0=$(ms)
out=$(pod_getent ahosts web) || fail "getent ahosts web (A and AAAA) failed"
t1=$(ms)
case "$out" in *10.96.0.50*) ;; *) fail "getent ahosts web: $out" ;; esac
rc=0; pod_getent ahostsv4 nosuch >/dev/null || rc=$?
t2=$(ms)
[ "$rc" -eq 2 ] || fail "getent ahostsv4 nosuch exited $rc (2 is not found; 3 would be EAI_AGAIN)"
[ $((t1 - t0)) -lt 1000 ] || fail "getent ahosts web (A + AAAA) took $((t1 - t0)) ms"
[ $((t2 - t1)) -lt 1000 ] || fail "getent ahostsv4 nosuch took $((t2 - t1)) ms"
out=$(pod_getent ahostsv4 www.example.test) || fail "getent ahostsv4 www.example.test (forwarded) failed"
case "$out" in *203.0.113.7*) ;; *) fail "getent ahostsv4 www.example.test: $out" ;; esac
pass "hs-dns on 0.0.0.0:53 answers from the address asked (127.0.0.2, forwarded too)"
pass "glibc in $NS: web, web.default and the full name resolve; A+AAAA in $((t1 - t0)) ms; nosuch not found in $((t2 - t1)) ms; forwarding works"

# ---- no open resolver: a client outside loopback, the cluster CIDR, the
# host's networks and --allow is REFUSED, over UDP and TCP, and counted. The
# client is a namespace of its own, 198.51.100.2/32, routed to $NS's
# 192.0.2.1/32 (so it is in none of $NS's interface subnets).
CLI="hs-t$$-dnscli"
cli_cleanup() { ip netns del "$CLI" 2>/dev/null || true; }
hs_on_exit cli_cleanup
ip netns add "$CLI"
ip -n "$CLI" link set lo up
ip -n "$NS" link add hsdnsc0 type veth peer name eth0 netns "$CLI"
ip -n "$NS" addr add 192.0.2.1/32 dev hsdnsc0
ip -n "$NS" link set hsdnsc0 up
ip -n "$NS" route add 198.51.100.0/24 dev hsdnsc0
ip -n "$CLI" addr add 198.51.100.2/32 dev eth0
ip -n "$CLI" link set eth0 up
ip -n "$CLI" route add 192.0.2.1/32 dev eth0
ip -n "$CLI" route add default via 192.0.2.1 dev eth0 onlink
# a second instance that also allows 198.51.100.0/25
start ns-dns2 ip netns exec "$NS" "$HS_BIN/hs-dns" --bus "127.0.0.1:$NSBUS" --listen 0.0.0.0:5354 \
  --upstream 127.0.0.1:5353 --allow 198.51.100.0/25 --instance ns-dns2
wait_for 20 "the second hs-dns in $NS to sync" grep -q "synced" "$T/ns-dns2.log"
cliq() { ip netns exec "$CLI" python3 "$T/dnsq.py" "$@"; }
expect_out "REFUSED" cliq 192.0.2.1 53 web.default.svc.cluster.local
expect_out "REFUSED" cliq 192.0.2.1 53 www.example.test
expect_out "REFUSED" cliq 192.0.2.1 53 web.default.svc.cluster.local A --tcp
grep -q "refused a query from 198.51.100.2" "$T/ns-dns.log" || fail "the refusal was not logged"
# the same client where --allow covers it; loopback still answered by the first
expect_out "NOERROR aa AN:A:10.96.0.50" cliq 192.0.2.1 5354 web.default.svc.cluster.local
expect_out "AN:A:203.0.113.7" cliq 192.0.2.1 5354 www.example.test --tcp
expect_out "NOERROR aa AN:A:10.96.0.50" ip netns exec "$NS" python3 "$T/dnsq.py" 127.0.0.1 53 web.default.svc.cluster.local
pass "a client outside the allowed networks is REFUSED (UDP, TCP, logged); --allow lets it ask"
