#!/usr/bin/env bash
# Addresses in the store, seen through hsctl (bus + store + hs-hollow on
# loopback; no root, no network namespace): Services get a clusterIP from
# --service-cidr (the upper band), keep a requested free one, are refused a
# taken one or one outside the range, and bad Services/Endpoints/pods are
# refused naming the field with nothing written (examples/bad/services/);
# get svc / get ep / describe svc / get all as kubectl prints them; an apply
# without clusterIP keeps it and -o yaml applies back unchanged; kill -9 of
# hs-store and a restart keeps every allocation and never hands a held
# address out again; Nodes get distinct podCIDRs (also across the restart);
# hollow pods get IPs inside their node's podCIDR.
source "$(dirname "$0")/lib.sh"

run() { RC=0; "$@" >"$T/out" 2>&1 || RC=$?; }
has_line() { grep -Eq -- "$1" "$T/out" || fail "no line matching /$1/ in:
$(cat "$T/out")"; }
same_out() {
  [ "$(cat "$T/out")" = "$1" ] || fail "expected output:
$1
-- got:
$(cat "$T/out")"
}
# refused FILE MESSAGE: apply FILE exits 1 and says MESSAGE
refused() {
  run hsctl apply -f "$1"
  [ $RC -eq 1 ] || fail "apply $1 exited $RC: $(cat "$T/out")"
  grep -qF -- "$2" "$T/out" || fail "apply $1 printed:
$(cat "$T/out")
-- expected it to contain: $2"
}
not_found() {
  run hsctl get "$1" "$2"
  [ $RC -eq 1 ] && grep -q "NotFound" "$T/out" || fail "$1 $2 exists after a refusal: $(cat "$T/out")"
}
svc_ip() { hsctl get svc "$1" -o json | python3 -c 'import json,sys; s=json.load(sys.stdin)["spec"]; assert s["clusterIPs"] == [s["clusterIP"]], s; print(s["clusterIP"])'; }
# in_upper_band IP: inside 10.96.0.0/16, past its lower band (the first 256 usable)
in_upper_band() {
  python3 - "$1" <<'PY'
import ipaddress, sys
ip = ipaddress.ip_address(sys.argv[1]); net = ipaddress.ip_network("10.96.0.0/16")
off = int(ip) - int(net.network_address)
sys.exit(0 if ip in net and 256 < off < net.num_addresses - 1 else 1)
PY
}
svc_yaml() { # NAME CLUSTER-IP (or "") PORT
  printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n' "$1"
  [ -n "$2" ] && printf '  clusterIP: %s\n' "$2"
  printf '  selector:\n    app: %s\n  ports:\n  - port: %s\n    targetPort: 8080\n' "$1" "$3"
}

# ---- the flags: a bad one is a usage error naming it
expect_rc 2 "$HS_BIN/hs-store" --data "$T/x" --service-cidr 10.96.0.1/16
grep -q -- "--service-cidr 10.96.0.1/16: not an IPv4 CIDR" "$T/last.out" || fail "$(cat "$T/last.out")"
expect_rc 2 "$HS_BIN/hs-store" --data "$T/x" --cluster-cidr 10.96.0.0/12
grep -q -- "--cluster-cidr and --service-cidr overlap" "$T/last.out" || fail "$(cat "$T/last.out")"
expect_rc 2 "$HS_BIN/hs-store" --data "$T/x" --node-cidr-mask-size 31
grep -q -- "--node-cidr-mask-size 31" "$T/last.out" || fail "$(cat "$T/last.out")"
[ ! -e "$T/x" ] || fail "a usage error created the data directory"
pass "hs-store's address flags: usage errors name the flag"

start_bus
start_store

# ---- bad input: refused, the field named, nothing written
for f in "$HS_SRC"/examples/bad/services/*.yaml; do
  want=$(sed -n '2s/^# Error from server ([A-Za-z]*): \.\.\. //p' "$f")
  [ -n "$want" ] || fail "$f has no expected error on its second line"
  refused "$f" "$want"
  grep -q "^error: nothing was applied" "$T/out" || fail "no all-or-nothing line: $(cat "$T/out")"
  kind=$(sed -n 's/^kind: //p' "$f")
  name=$(sed -n '/^metadata:/,/^[a-z]/s/^  name: //p' "$f")
  not_found "$kind" "$name"
done
run hsctl get svc,ep,pods -A
same_out "No resources found"
pass "examples/bad/services: each refused with its field named, nothing written"

# ---- clusterIPs: dynamic (upper band), requested, headless
svc_yaml web "" 80 >"$T/web.yaml"
svc_yaml dns 10.96.0.10 53 >"$T/dns.yaml"
cat >"$T/more.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata:
  name: multi
spec:
  selector: {app: multi}
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 10053}
  - {name: dns-tcp, port: 53, targetPort: dns-tcp}
YAML
run hsctl apply -f "$T/web.yaml" -f "$T/dns.yaml" -f "$T/more.yaml"
[ $RC -eq 0 ] || fail "apply services exited $RC: $(cat "$T/out")"
same_out "service/web created
service/dns created
service/db created
service/multi created"
WEB_IP=$(svc_ip web)
MULTI_IP=$(svc_ip multi)
in_upper_band "$WEB_IP" || fail "web's clusterIP $WEB_IP is not in 10.96.0.0/16's upper band"
in_upper_band "$MULTI_IP" || fail "multi's clusterIP $MULTI_IP is not in the upper band"
[ "$WEB_IP" != "$MULTI_IP" ] || fail "two Services got $WEB_IP"
[ "$(svc_ip dns)" = 10.96.0.10 ] || fail "dns did not keep 10.96.0.10"
[ "$(svc_ip db)" = None ] || fail "headless db: $(svc_ip db)"
run hsctl get svc
has_line '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$'
has_line "^web +ClusterIP +${WEB_IP//./\\.} +<none> +80/TCP +[0-9]+s$"
has_line '^dns +ClusterIP +10\.96\.0\.10 +<none> +53/TCP +[0-9]+s$'
has_line '^db +ClusterIP +None +<none> +5432/TCP +[0-9]+s$'
has_line "^multi +ClusterIP +${MULTI_IP//./\\.} +<none> +53/UDP,53/TCP +[0-9]+s$"
run hsctl get svc web -o wide
has_line '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE +SELECTOR$'
has_line '^web +ClusterIP .* +app=web$'
run hsctl get services dns
has_line '^dns +ClusterIP'
pass "clusterIPs: dynamic ones in the upper band, a requested one kept, headless None"

# taken, outside, network/broadcast: refused, nothing written
svc_yaml taken 10.96.0.10 80 >"$T/taken.yaml"
refused "$T/taken.yaml" 'Error from server (Invalid): error when applying "'"$T"'/taken.yaml" (document 1): Service "taken" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated'
not_found svc taken
svc_yaml taken "$WEB_IP" 80 >"$T/taken.yaml"
refused "$T/taken.yaml" "failed to allocate IP $WEB_IP: provided IP is already allocated"
svc_yaml outside 10.97.0.1 80 >"$T/outside.yaml"
refused "$T/outside.yaml" 'Service "outside" is invalid: spec.clusterIPs: Invalid value: []string{"10.97.0.1"}: failed to allocate IP 10.97.0.1: the provided IP (10.97.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16'
svc_yaml outside 10.96.255.255 80 >"$T/outside.yaml"
refused "$T/outside.yaml" "the provided IP (10.96.255.255) is not in the valid range"
not_found svc outside
# all-or-nothing: a good Service in the same apply is not written either
cat "$T/web.yaml" >"$T/pair.yaml"
sed -i 's/name: web/name: good/; s/app: web/app: good/' "$T/pair.yaml"
printf -- '---\n' >>"$T/pair.yaml"
svc_yaml bad 10.96.0.10 80 >>"$T/pair.yaml"
refused "$T/pair.yaml" "failed to allocate IP 10.96.0.10: provided IP is already allocated"
not_found svc good
pass "taken, outside and broadcast clusterIPs refused; nothing written"

# ---- apply without clusterIP keeps it; a change is refused; -o yaml round trip
run hsctl apply -f "$T/web.yaml"
same_out "service/web unchanged"
sed 's/port: 80/port: 81/' "$T/web.yaml" >"$T/web81.yaml"
run hsctl apply -f "$T/web81.yaml"
same_out "service/web configured"
[ "$(svc_ip web)" = "$WEB_IP" ] || fail "web's clusterIP changed on apply"
svc_yaml web 10.96.0.99 81 >"$T/web-move.yaml"
refused "$T/web-move.yaml" 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.99"}: may not change once set'
hsctl get svc web -o yaml >"$T/web-out.yaml"
run hsctl apply -f "$T/web-out.yaml"
same_out "service/web unchanged"
hsctl get svc multi -o json >"$T/multi-out.json"
run hsctl apply -f "$T/multi-out.json"
same_out "service/multi unchanged"
pass "apply keeps the clusterIP, refuses a change; -o yaml and -o json apply back unchanged"

# ---- a Service without selector and the Endpoints its user writes
cat >"$T/ext.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: external-db
spec:
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata:
  name: external-db
subsets:
- addresses: [{ip: 10.0.0.5}, {ip: 10.0.0.6}, {ip: 10.0.0.7}, {ip: 10.0.0.8}]
  notReadyAddresses: [{ip: 10.0.0.9}]
  ports: [{name: pg, port: 5432}]
YAML
run hsctl apply -f "$T/ext.yaml"
same_out "service/external-db created
endpoints/external-db created"
EXT_IP=$(svc_ip external-db)
run hsctl get endpoints
has_line '^NAME +ENDPOINTS +AGE$'
has_line '^external-db +10\.0\.0\.5:5432,10\.0\.0\.6:5432,10\.0\.0\.7:5432 \+ 1 more\.\.\. +[0-9]+s$'
run hsctl get ep external-db -o yaml
has_line '^kind: Endpoints$'
has_line '^    protocol: TCP$'
run hsctl describe svc external-db
has_line '^Name: +external-db$'
has_line '^Selector: +<none>$'
has_line '^Type: +ClusterIP$'
has_line '^IP Family Policy: +SingleStack$'
has_line "^IP: +${EXT_IP//./\\.}$"
has_line "^IPs: +${EXT_IP//./\\.}$"
has_line '^Port: +pg +5432/TCP$'
has_line '^TargetPort: +5432/TCP$'
has_line '^Endpoints: +10\.0\.0\.5:5432,10\.0\.0\.6:5432,10\.0\.0\.7:5432 \+ 1 more\.\.\.$'
has_line '^Session Affinity: +None$'
has_line '^Events: +<none>$'
run hsctl describe endpoints external-db
has_line '^  Addresses: +10\.0\.0\.5,10\.0\.0\.6,10\.0\.0\.7,10\.0\.0\.8$'
has_line '^  NotReadyAddresses: +10\.0\.0\.9$'
run hsctl describe svc web
has_line '^Endpoints: +<none>$'
run hsctl get all
has_line "^service/web +ClusterIP +${WEB_IP//./\\.} "
has_line '^service/external-db +ClusterIP '
pass "selector-less Service with its own Endpoints; get ep, describe svc/ep, get all"

# ---- kill -9 of the store: every allocation kept, none handed out again
hsctl get svc -o name | sort >"$T/names.before"
for s in web dns db multi external-db; do echo "$s $(svc_ip $s)"; done >"$T/ips.before"
kill -9 "$STORE_PID"
wait "$STORE_PID" 2>/dev/null || true
start_store
for s in web dns db multi external-db; do echo "$s $(svc_ip $s)"; done >"$T/ips.after"
diff -u "$T/ips.before" "$T/ips.after" || fail "clusterIPs changed across kill -9 of hs-store"
svc_yaml again 10.96.0.10 80 >"$T/again.yaml"
refused "$T/again.yaml" "provided IP is already allocated"
svc_yaml again "$WEB_IP" 80 >"$T/again.yaml"
refused "$T/again.yaml" "provided IP is already allocated"
for i in $(seq 1 20); do svc_yaml "n$i" "" 80; echo ---; done >"$T/many.yaml"
run hsctl apply -f "$T/many.yaml"
[ $RC -eq 0 ] || fail "apply 20 services after the restart: $(cat "$T/out")"
{ cut -d' ' -f2 "$T/ips.before"; for i in $(seq 1 20); do svc_ip "n$i"; done; } | grep -v None >"$T/all.ips"
[ "$(sort "$T/all.ips" | uniq -d)" = "" ] || fail "an address was handed out twice: $(sort "$T/all.ips" | uniq -d)"
[ "$(wc -l <"$T/all.ips")" -eq 24 ] || fail "expected 24 addresses: $(cat "$T/all.ips")"
# delete frees: a deleted Service's address may be asked for again
run hsctl delete svc dns
svc_yaml dns2 10.96.0.10 53 >"$T/dns2.yaml"
run hsctl apply -f "$T/dns2.yaml"
same_out "service/dns2 created"
pass "kill -9 of hs-store: allocations kept, none handed out twice; delete frees"

# ---- nodes: distinct podCIDRs; hollow pods inside their node's
start sim "$HS_BIN/hs-hollow" 3 --bus "$HS_BUS" --node-prefix h-
wait_for 20 "3 Ready hollow nodes" sh -c "[ \$(hsctl get nodes --no-headers | grep -cE '^h-[0-9]+ +Ready ') -eq 3 ]"
node_cidrs() {
  hsctl get nodes -o json | python3 -c '
import ipaddress, json, sys
items = json.load(sys.stdin)["items"]
cidrs = {}
for n in items:
    s = n["spec"]
    assert s["podCIDRs"] == [s["podCIDR"]], s
    c = ipaddress.ip_network(s["podCIDR"])
    assert c.prefixlen == 24 and c.subnet_of(ipaddress.ip_network("10.244.0.0/16")), c
    cidrs[n["metadata"]["name"]] = c
names = sorted(cidrs)
for i, a in enumerate(names):
    for b in names[i + 1:]:
        assert not cidrs[a].overlaps(cidrs[b]), (a, b)
for a in names:
    print(a, cidrs[a])'
}
node_cidrs >"$T/cidrs" || fail "podCIDRs: $(hsctl get nodes -o yaml)"
[ "$(wc -l <"$T/cidrs")" -eq 3 ] || fail "podCIDRs: $(cat "$T/cidrs")"
run hsctl describe node h-0
has_line "^PodCIDR: +$(awk '$1 == "h-0" {print $2}' "$T/cidrs" | sed 's/\./\\./g')$"
has_line '^PodCIDRs: +10\.244\.'
pass "3 nodes, 3 distinct podCIDRs: $(cut -d' ' -f2 "$T/cidrs" | tr '\n' ' ')"

for i in 0 1 2 3 4 5; do
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: p$i, labels: {app: web}}
spec:
  nodeName: h-$((i % 3))
  containers: [{name: main, command: [sleep, infinity]}]
---
YAML
done >"$T/pods.yaml"
cat >>"$T/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  nodeName: h-0
  hostNetwork: true
  containers: [{name: main, command: [sleep, infinity], ports: [{containerPort: 9100}]}]
YAML
run hsctl apply -f "$T/pods.yaml"
[ $RC -eq 0 ] || fail "apply pods: $(cat "$T/out")"
wait_for 20 "7 hollow pods Running" sh -c "[ \$(hsctl get pods --no-headers | grep -c ' Running ') -eq 7 ]"
hsctl get pods -o json | python3 -c '
import ipaddress, json, sys
cidrs = {l.split()[0]: ipaddress.ip_network(l.split()[1]) for l in open(sys.argv[1])}
seen = set()
for p in json.load(sys.stdin)["items"]:
    st, sp, name = p["status"], p["spec"], p["metadata"]["name"]
    assert st["hostIP"] == "127.0.0.1", (name, st)
    assert st["podIPs"] == [{"ip": st["podIP"]}], (name, st)
    if sp.get("hostNetwork"):
        assert st["podIP"] == st["hostIP"], (name, st)
        continue
    ip, c = ipaddress.ip_address(st["podIP"]), cidrs[sp["nodeName"]]
    assert ip in c and int(ip) - int(c.network_address) >= 2, (name, ip, c)
    assert ip != c.broadcast_address and ip not in seen, (name, ip)
    seen.add(ip)
assert len(seen) == 6, seen
' "$T/cidrs" || fail "hollow pod IPs: $(hsctl get pods -o wide)"
run hsctl get pods -o wide
has_line '^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE$'
has_line "^p0 +1/1 +Running +0 +[0-9]+s +10\\.244\\.[0-9]+\\.[0-9]+ +h-0$"
has_line '^hostnet +1/1 +Running +0 +[0-9]+s +127\.0\.0\.1 +h-0$'
# a freed address is handed out again, inside the same node's podCIDR
P0_IP=$(hsctl get pod p0 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["podIP"])')
run hsctl delete pod p0
wait_for 20 "p0 to go" sh -c "! hsctl get pod p0 >/dev/null 2>&1"
sed -n '1,/^---$/p' "$T/pods.yaml" | sed 's/name: p0/name: q0/' >"$T/q0.yaml"
run hsctl apply -f "$T/q0.yaml"
wait_for 20 "q0 Running" sh -c "hsctl get pod q0 --no-headers | grep -q ' Running '"
[ "$(hsctl get pod q0 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["podIP"])')" = "$P0_IP" ] \
  || fail "q0 did not get p0's freed address $P0_IP: $(hsctl get pods -o wide)"
pass "hollow pods: IPs inside their node's podCIDR, distinct, freed ones reused; hostNetwork = hostIP"

# podCIDRs survive kill -9 of the store; a new node gets a free one
kill -9 "$STORE_PID"
wait "$STORE_PID" 2>/dev/null || true
start_store
node_cidrs >"$T/cidrs.after" || fail "podCIDRs after the restart"
diff -u "$T/cidrs" "$T/cidrs.after" || fail "podCIDRs changed across kill -9 of hs-store"
start sim2 "$HS_BIN/hs-hollow" 2 --bus "$HS_BUS" --node-prefix x-
wait_for 20 "2 more hollow nodes" sh -c "[ \$(hsctl get nodes --no-headers | grep -cE '^x-[0-9]+ +Ready ') -eq 2 ]"
node_cidrs >"$T/cidrs5" || fail "podCIDRs of 5 nodes overlap: $(hsctl get nodes -o yaml)"
[ "$(wc -l <"$T/cidrs5")" -eq 5 ] || fail "$(cat "$T/cidrs5")"
pass "podCIDRs kept across kill -9 of hs-store; new nodes get free ones"
