#!/usr/bin/env bash
# hs-apiserver's server side (api_http.c, api_auth.c, api_main.c): HTTPS
# with the CA of `hsctl init`, /version and discovery, bearer tokens (none,
# malformed, wrong secret, unknown, a tap's, revoked), client certificates
# (--client-ca, --user-creds), --insecure-http only on loopback, and
# garbage (huge headers, bad JSON, a 4 MiB body, protobuf, unknown paths, a
# watch whose client leaves) answered with the server still healthy.
source "$(dirname "$0")/lib.sh"

start_bus
start_store

API_PORT=$(free_port_pair)
HTTP_PORT=$((API_PORT + 1))
API="https://127.0.0.1:$API_PORT"
HTTP="http://127.0.0.1:$HTTP_PORT"
CA="$HS_PKI/api/ca.crt"
start apiserver "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --pki "$HS_PKI" \
  --listen "127.0.0.1:$API_PORT" --insecure-http "127.0.0.1:$HTTP_PORT" \
  --user-creds "$HS_PKI/creds"
API_PID=$LAST_PID
TOKEN=$(sed -n 's/^ *token: *//p' "$HS_PKI/kubeconfig" | head -1)
[ -n "$TOKEN" ] || fail "no token in $HS_PKI/kubeconfig"

# req [CURL ARGS...] URL: the body in $T/body, headers in $T/hdr, the
# status code in $CODE (000: no HTTP answer), curl's exit status in $RC.
req() {
  RC=0
  CODE=$(curl -sS --max-time 20 --cacert "$CA" -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" \
    2>"$T/curl.err") || RC=$?
  [ -n "$CODE" ] || CODE=000
}
auth() { req -H "Authorization: Bearer $TOKEN" "$@"; }
code_is() { [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $(head -c 600 "$T/body")"; }
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); print(($1))"; }
py_is() {
  local got
  got=$(py "$1") || fail "$3: the body is not JSON: $(head -c 300 "$T/body")"
  [ "$got" = "$2" ] || fail "$3: $1 is '$got', expected '$2'; body: $(head -c 600 "$T/body")"
}
ready() { req "$API/readyz" && [ "$CODE" = 200 ]; }
wait_for 20 "hs-apiserver to be ready" ready
healthy() {
  req "$API/healthz"
  code_is 200 "healthz after $1"
  auth "$API/api/v1/namespaces/default/configmaps"
  code_is 200 "a list after $1"
}

# ---- no authentication needed: health, version
req "$API/livez"
code_is 200 livez
[ "$(cat "$T/body")" = ok ] || fail "livez body: $(cat "$T/body")"
req "$API/version"
code_is 200 version
py_is 'd["major"], d["minor"], d["gitVersion"]' "('1', '32', 'v1.32.0-homeostat')" "version"
pass "health and /version without a token"

# ---- bearer tokens
req "$API/api"
code_is 401 "/api without a token"
py_is 'd["kind"], d["reason"], d["message"], d["code"]' \
  "('Status', 'Unauthorized', 'Unauthorized', 401)" "401 Status"
id=${TOKEN%%.*}
for bad in "$id.aaaaaaaaaaaaaaaa" "zzzzzz.aaaaaaaaaaaaaaaa" "not-a-token" "$TOKEN$TOKEN" ""; do
  req -H "Authorization: Bearer $bad" "$API/api"
  code_is 401 "/api with token '$bad'"
done
req -H "Authorization: Basic YWRtaW46YWRtaW4=" "$API/api"
code_is 401 "basic auth"
auth "$API/api"
code_is 200 "/api as the admin"
py_is 'd["versions"]' "['v1']" "APIVersions"
auth -H "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" "$API/apis"
code_is 200 "aggregated /apis"
grep -qi '^content-type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' \
  "$T/hdr" || fail "aggregated discovery's Content-Type: $(cat "$T/hdr")"
auth "$API/api/v1/namespaces/default/nosuch"
code_is 404 "an unknown resource"
py_is 'd["reason"], d["message"]' \
  "('NotFound', 'the server could not find the requested resource')" "404 Status"
auth "$API/openapi/v2"
code_is 404 "/openapi/v2"
pass "tokens: 401 without, with malformed, wrong or unknown ones; 200 with the admin's"

# ---- TLS: the server's certificate verifies against the cluster CA only
"$HS_BIN/hsctl" init --pki "$T/other" --user other >"$T/other.log" 2>&1 ||
  fail "a second hsctl init: $(cat "$T/other.log")"
RC=0
curl -sS --max-time 10 --cacert "$T/other/api/ca.crt" -o /dev/null "$API/livez" 2>"$T/curl.err" ||
  RC=$?
[ "$RC" = 60 ] || fail "another CA: curl exit $RC, expected 60 (certificate): $(cat "$T/curl.err")"
req --resolve "localhost:$API_PORT:127.0.0.1" "https://localhost:$API_PORT/livez"
code_is 200 "TLS by the name localhost"
pass "TLS: verified by the cluster CA, refused by another"

# ---- client certificates: CN = identity, keypair from --user-creds
cert() { # NAME CN CAKEY CACRT
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null || fail "openssl req $1"
  openssl x509 -req -in "$T/$1.csr" -CA "$4" -CAkey "$3" -CAcreateserial -days 1 \
    -out "$T/$1.crt" 2>/dev/null || fail "openssl x509 $1"
}
cert admin "admin:test" "$HS_PKI/api/ca.key" "$CA"
cert stranger "admin:nokey" "$HS_PKI/api/ca.key" "$CA"
cert forged "admin:test" "$T/other/api/ca.key" "$T/other/api/ca.crt"
cert component "store" "$HS_PKI/api/ca.key" "$CA"
req --cert "$T/admin.crt" --key "$T/admin.key" "$API/api/v1/namespaces/default/configmaps"
code_is 200 "a client certificate of admin:test"
req --cert "$T/stranger.crt" --key "$T/stranger.key" "$API/api"
code_is 401 "a certificate whose identity has no credential in --user-creds"
req --cert "$T/forged.crt" --key "$T/forged.key" "$API/api"
code_is 401 "a certificate from another CA"
req --cert "$T/component.crt" --key "$T/component.key" "$API/api"
code_is 401 "a certificate naming a component (store), whose credential is in --user-creds"
pass "client certificates: CN -> identity, another CA refused"

# ---- a certificate user revoked at the bus (its key file) is locked out here too.
# As `hsctl config view --kubeconfig --client-cert` makes one: the credential
# in --user-creds, its public key as keys/apiuser-<name>.key; `hsctl keys
# revoke apiuser-<name>` removes only the key file (the credential stays).
"$HS_BIN/hsctl" keys create admin carol --pki "$HS_PKI" >"$T/carol.log" 2>&1 ||
  fail "hsctl keys create admin carol: $(cat "$T/carol.log")"
mv "$HS_PKI/keys/admin-carol.key" "$HS_PKI/keys/apiuser-admin-carol.key"
cert carol "admin:carol" "$HS_PKI/api/ca.key" "$CA"
carol() { req --cert "$T/carol.crt" --key "$T/carol.key" "$API/api/v1/namespaces/default/configmaps"; }
carol_in() { carol && [ "$CODE" = 200 ]; }
wait_for 20 "the certificate user admin:carol to read" carol_in
"$HS_BIN/hsctl" keys revoke apiuser-admin-carol --pki "$HS_PKI" >"$T/revoke.log" 2>&1 ||
  fail "hsctl keys revoke apiuser-admin-carol: $(cat "$T/revoke.log")"
[ -e "$HS_PKI/creds/admin-carol.cred" ] || fail "the revocation removed carol's credential too"
carol_out() { carol && [ "$CODE" = 401 ]; }
wait_for 10 "the revoked certificate user to get 401" carol_out
pass "a certificate user whose key is revoked (hsctl keys revoke apiuser-...): 401"

# ---- writes act as the user: admin creates, tap is forbidden
cm() { printf '{"metadata":{"name":"%s"},"data":{"k":"v"}}' "$1"; }
auth -X POST -H "Content-Type: application/json" --data-binary "$(cm by-admin)" \
  "$API/api/v1/namespaces/default/configmaps"
code_is 201 "admin creates a configmap"
TAP=$("$HS_BIN/hsctl" token create --user tap:bob --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$TAP" ] || fail "no tap token"
tap() { req -H "Authorization: Bearer $TAP" "$@"; }
tapped() { tap "$API/api/v1/namespaces/default/configmaps/by-admin" && [ "$CODE" = 200 ]; }
wait_for 20 "the tap token to read (the bus loads its key)" tapped
tap -X POST -H "Content-Type: application/json" --data-binary "$(cm by-tap)" \
  "$API/api/v1/namespaces/default/configmaps"
code_is 403 "tap creates"
py_is 'd["reason"]' Forbidden "tap's 403"
tap -X DELETE "$API/api/v1/namespaces/default/configmaps/by-admin"
code_is 403 "tap deletes"
auth "$API/api/v1/namespaces/default/configmaps/by-tap"
code_is 404 "nothing written for the tap"
pass "the admin writes (201), a tap: token reads but may not write (403)"

# ---- revocation: deleting the token's key locks it out within seconds
"$HS_BIN/hsctl" token delete "${TAP%%.*}" --pki "$HS_PKI" >/dev/null 2>&1 ||
  fail "hsctl token delete"
locked_out() { tap "$API/api/v1/namespaces/default/configmaps" && [ "$CODE" = 401 ]; }
wait_for 10 "the revoked tap token to get 401" locked_out
pass "a revoked token: 401"

# ---- a revoked user's open watch ends within seconds and sees nothing after
W=$("$HS_BIN/hsctl" token create --user admin:watcher --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$W" ] || fail "no watcher token"
w_reads() { req -H "Authorization: Bearer $W" "$API/api/v1/namespaces/default/configmaps" &&
  [ "$CODE" = 200 ]; }
wait_for 20 "the watcher token to read" w_reads
curl -sS -N --max-time 60 --cacert "$CA" -H "Authorization: Bearer $W" \
  "$API/api/v1/namespaces/default/configmaps?watch=true" >"$T/rwatch.out" 2>/dev/null &
WPID=$!
HS_PIDS+=("$WPID")
w_started() { grep -q '"type":"ADDED"' "$T/rwatch.out"; }
wait_for 10 "the watcher's watch to start" w_started
"$HS_BIN/hsctl" token delete "${W%%.*}" --pki "$HS_PKI" >/dev/null 2>&1 ||
  fail "hsctl token delete (watcher)"
wait_for 10 "the revoked user's watch to end (no new request needed)" exited "$WPID"
auth -X POST -H "Content-Type: application/json" --data-binary \
  '{"metadata":{"name":"after-revoke"},"data":{"k":"v"}}' "$API/api/v1/namespaces/default/configmaps"
code_is 201 "a configmap made after the watcher's revocation"
grep -q after-revoke "$T/rwatch.out" && fail "the revoked watcher saw a later event"
pass "a revoked user's open watch ends within seconds, with no later event"

# ---- a slow broker stalls no one: a new user's bus connection joins on the loop
J1=$("$HS_BIN/hsctl" token create --user admin:joiner --pki "$HS_PKI" 2>/dev/null | head -1)
J2=$("$HS_BIN/hsctl" token create --user tap:reader --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$J1" ] && [ -n "$J2" ] || fail "no joiner tokens"
kill -STOP "$BUS_PID"
hs_on_exit "kill -CONT $BUS_PID 2>/dev/null"
t0=$(date +%s%N)
curl -sS --max-time 20 --cacert "$CA" -o "$T/join.body" -w '%{http_code}' \
  -H "Authorization: Bearer $J1" -X POST -H "Content-Type: application/json" \
  --data-binary '{"metadata":{"name":"by-joiner"}}' \
  "$API/api/v1/namespaces/default/configmaps" >"$T/join.code" 2>/dev/null &
JPID=$!
HS_PIDS+=("$JPID")
for i in 1 2 3 4 5 6; do
  RC=0
  CODE=$(curl -sS --max-time 1 --cacert "$CA" -o /dev/null -w '%{http_code}' "$API/healthz" \
    2>/dev/null) || RC=$?
  [ "$CODE" = 200 ] || fail "healthz $i while a new user joins a stopped bus: HTTP $CODE (rc $RC)"
done
req -H "Authorization: Bearer $J2" --max-time 2 "$API/api/v1/namespaces/default/configmaps"
code_is 200 "a new user's read from the cache while the bus is stopped"
wait_for 10 "the joiner's POST to end" exited "$JPID"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(cat "$T/join.code")" = 503 ] ||
  fail "a write while the bus does not answer: HTTP $(cat "$T/join.code"), expected 503"
[ "$ms" -ge 2500 ] || fail "the 503 came after $ms ms, before the join's 3 s were over"
kill -CONT "$BUS_PID"
joined() { req -H "Authorization: Bearer $J1" -X POST -H "Content-Type: application/json" \
  --data-binary '{"metadata":{"name":"by-joiner"}}' \
  "$API/api/v1/namespaces/default/configmaps" && [ "$CODE" = 201 ]; }
wait_for 20 "the joiner to write once the bus is back" joined
pass "a stopped bus: /healthz and cache reads go on, a new user's write is 503 after 3 s, then 201"

# ---- expiry: a token with --ttl works, then gets 401 once it has expired
EXP=$("$HS_BIN/hsctl" token create --user admin:brief --ttl 8s --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$EXP" ] || fail "no expiring token"
exp_works() { req -H "Authorization: Bearer $EXP" "$API/api" && [ "$CODE" = 200 ]; }
wait_for 7 "the expiring token to work before it expires" exp_works
exp_over() { req -H "Authorization: Bearer $EXP" "$API/api" && [ "$CODE" = 401 ]; }
wait_for 20 "the expired token to get 401" exp_over
pass "an expired token: 401"

# ---- plain HTTP: loopback only; tokens still required
req "$HTTP/api"
code_is 401 "plain HTTP without a token"
auth "$HTTP/api/v1/namespaces/default/configmaps/by-admin"
code_is 200 "plain HTTP with the token"
for addr in "0.0.0.0:$((API_PORT + 2))" "10.11.12.13:80" "[::]:80"; do
  rc=0
  out=$(timeout 20 "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --credential \
    "$HS_PKI/creds/apiserver.cred" --insecure-http "$addr" 2>&1) || rc=$?
  [ "$rc" = 1 ] || fail "--insecure-http $addr: exit $rc, expected 1: $out"
  [[ "$out" == *"loopback address only"* ]] || fail "--insecure-http $addr said: $out"
done
pass "--insecure-http: refused off loopback, served on 127.0.0.1"

# ---- garbage
req -H "Authorization: Bearer $TOKEN" -H "X-Big: $(head -c 300000 /dev/zero | tr '\0' a)" \
  "$API/api"
# microhttpd answers 431 and closes, often before curl has sent it all (a reset)
case "$CODE" in 4?? | 000) ;; *) fail "a 300 kB header: HTTP $CODE, expected a 4xx or a close" ;; esac
healthy "a huge header"
auth -X POST -H "Content-Type: application/json" --data-binary '{"metadata":{"name":' \
  "$API/api/v1/namespaces/default/configmaps"
code_is 400 "bad JSON"
head -c $((4 << 20)) /dev/zero | tr '\0' ' ' >"$T/big.json"
auth -X POST -H "Content-Type: application/json" --data-binary "@$T/big.json" \
  "$API/api/v1/namespaces/default/configmaps"
code_is 413 "a 4 MiB body"
auth -X POST -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" \
  --data-binary "@$T/big.json" "$API/api/v1/namespaces/default/configmaps"
code_is 413 "a 4 MiB chunked body"
auth -X POST -H "Content-Type: application/vnd.kubernetes.protobuf" --data-binary $'k8s\0\n' \
  "$API/apis/apps/v1/namespaces/default/deployments"
code_is 415 "a protobuf body"
py_is 'd["message"]' "protobuf bodies are not supported by Homeostat; use: kubectl create \
deployment NAME --image=IMG --dry-run=client -o yaml | kubectl apply -f -" "415's message"
auth -X POST -H "Content-Type: application/vnd.kubernetes.protobuf" --data-binary $'k8s\0\n' \
  "$API/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
code_is 404 "a protobuf body to a resource not served (kubectl auth can-i)"
auth -X BREW "$API/api/v1/namespaces/default/configmaps"
code_is 405 "an unknown method"
auth "$API/api/v1/namespaces/default/configmaps?labelSelector=%zz&watch=%"
case "$CODE" in 200 | 400) ;; *) fail "a bad query: HTTP $CODE" ;; esac
# raw bytes that are no HTTP at all, and a request cut off halfway
exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
printf '\x00\xff\x16garbage\r\n\r\n' >&3
exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
printf 'POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"' >&3
exec 3>&-
healthy "garbage"
pass "garbage answered (4xx, 413, 415, 405) and the server still healthy"

# ---- a watch whose client leaves: the server notices and goes on
RC=0
curl -sS --max-time 2 --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
  "$API/api/v1/namespaces/default/configmaps?watch=true" >"$T/watch.out" 2>/dev/null || RC=$?
[ "$RC" = 28 ] || fail "a watch ended before its client left (curl exit $RC)"
grep -q '"type":"ADDED"' "$T/watch.out" || fail "the watch sent nothing: $(head -c 300 "$T/watch.out")"
healthy "a watch's client left"
kill -0 "$API_PID" || fail "hs-apiserver died"
pass "watch streams, and a client leaving ends it"

# ---- a stranger's body is never read; connections per address and bodies are capped
out=$(python3 "$HS_SRC/tests/integration/api_conns.py" "$HTTP_PORT" early)
[ "$out" = 401 ] || fail "a stranger's POST: '$out' before its body, expected 401 at once"
out=$(python3 "$HS_SRC/tests/integration/api_conns.py" "$HTTP_PORT" perip 1400)
[[ "$out" =~ ^answered\ ([0-9]+)\ refused\ ([0-9]+)$ ]] || fail "per-address limit: $out"
[ "${BASH_REMATCH[1]}" -le 1280 ] && [ "${BASH_REMATCH[2]}" -ge 120 ] ||
  fail "1400 connections from one address: $out (at most 1280 served)"
healthy "1400 connections from one address"
out=$(python3 "$HS_SRC/tests/integration/api_conns.py" "$HTTP_PORT" bodies 70 "$TOKEN")
[[ "$out" =~ ^400:([0-9]+)\ 429:([0-9]+)$ ]] ||
  fail "70 bodies of 2.9 MB at once: $out, expected 400s (bad JSON) and 429s (over 96 MiB)"
healthy "70 big bodies at once"
pass "a stranger's body: 401 before it is read; per-address and body-bytes caps"

# ---- one user holds at most 1024 requests (streams) at once (bench-apiserver: 1,000 watches)
out=$(python3 "$HS_SRC/tests/integration/api_conns.py" "$HTTP_PORT" watches 1024 "$TOKEN")
[ "$out" = "200:1024 429:1" ] || fail "1025 watches of one user: $out, expected 200:1024 429:1"
healthy "1025 watches"
pass "per-user cap: the 1025th open request of one user is 429"

# ---- kubectl, when installed
if command -v kubectl >/dev/null; then
  cfg="$T/kubeconfig"
  sed "s#https://127.0.0.1:6443#$API#" "$HS_PKI/kubeconfig" >"$cfg"
  out=$(kubectl --kubeconfig "$cfg" --cache-dir "$T/kcache" get configmaps 2>&1) ||
    fail "kubectl get configmaps: $out"
  [[ "$out" == *by-admin* ]] || fail "kubectl get configmaps: $out"
  out=$(kubectl --kubeconfig "$cfg" --cache-dir "$T/kcache2" --token "$id.aaaaaaaaaaaaaaaa" \
    get pods 2>&1) && fail "kubectl with a wrong token succeeded: $out"
  # kubectl 1.32 fails in discovery, whose Raw() answer skips the Status:
  # "(the server has asked for the client to provide credentials)", as
  # against Kubernetes' own apiserver
  [[ "$out" == *"You must be logged in to the server"* ]] ||
    fail "kubectl with a wrong token said: $out"
  pass "kubectl: get as the admin; a wrong token is 'You must be logged in'"
fi

kill -TERM "$API_PID"
wait_for 10 "hs-apiserver to stop on SIGTERM" exited "$API_PID"
grep -q "ERROR\|AddressSanitizer\|runtime error" "$T/apiserver.log" &&
  fail "hs-apiserver logged: $(grep "ERROR\|AddressSanitizer\|runtime error" "$T/apiserver.log" | head -5)"
pass "hs-apiserver stops cleanly"
