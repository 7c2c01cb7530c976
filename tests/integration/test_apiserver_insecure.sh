#!/usr/bin/env bash
# hs-apiserver on an insecure bus (HS_INSECURE, hs-bus --insecure): the users'
# connections carry no CURVE, but bearer tokens are still required, checked
# against their key files and mapped to identities (a tap: token still may
# not write); a token whose key file is gone is refused.
source "$(dirname "$0")/lib.sh"
hs_insecure

start_bus
start_store

HTTP_PORT=$(free_port_pair)
HTTP="http://127.0.0.1:$HTTP_PORT"
start apiserver "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --insecure --pki "$HS_PKI" \
  --listen "127.0.0.1:$((HTTP_PORT + 1))" --insecure-http "127.0.0.1:$HTTP_PORT"
API_PID=$LAST_PID
TOKEN=$(sed -n 's/^ *token: *//p' "$HS_PKI/kubeconfig" | head -1)
TAP=$("$HS_BIN/hsctl" token create --user tap:bob --pki "$HS_PKI" 2>/dev/null | head -1)
[ -n "$TOKEN" ] && [ -n "$TAP" ] || fail "no tokens"

req() {
  CODE=$(curl -sS --max-time 20 -o "$T/body" -w '%{http_code}' "$@" 2>"$T/curl.err") || true
  [ -n "$CODE" ] || CODE=000
}
code_is() { [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $(head -c 600 "$T/body")"; }
ready() { req "$HTTP/readyz" && [ "$CODE" = 200 ]; }
wait_for 20 "hs-apiserver to be ready" ready
grep -q "INSECURE BUS" "$T/apiserver.log" || fail "no INSECURE BUS warning in the log"

req "$HTTP/api/v1/namespaces/default/configmaps"
code_is 401 "no token on an insecure bus"
req -H "Authorization: Bearer ${TOKEN%%.*}.aaaaaaaaaaaaaaaa" "$HTTP/api"
code_is 401 "a wrong secret on an insecure bus"
cm='{"metadata":{"name":"c1"},"data":{"k":"v"}}'
req -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -X POST \
  --data-binary "$cm" "$HTTP/api/v1/namespaces/default/configmaps"
code_is 201 "the admin creates"
req -H "Authorization: Bearer $TAP" "$HTTP/api/v1/namespaces/default/configmaps/c1"
code_is 200 "the tap reads"
req -H "Authorization: Bearer $TAP" -H "Content-Type: application/json" -X DELETE \
  "$HTTP/api/v1/namespaces/default/configmaps/c1"
code_is 403 "the tap deletes"
"$HS_BIN/hsctl" token delete "${TAP%%.*}" --pki "$HS_PKI" >/dev/null 2>&1 || fail "token delete"
gone() { req -H "Authorization: Bearer $TAP" "$HTTP/api" && [ "$CODE" = 401 ]; }
wait_for 10 "the deleted tap token to get 401" gone
pass "insecure bus: tokens still required, mapped to identities, revocable"

kill -TERM "$API_PID"
wait_for 10 "hs-apiserver to stop" exited "$API_PID"
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$T/apiserver.log" &&
  fail "hs-apiserver: $(grep "Sanitizer\|runtime error" "$T/apiserver.log" | head -3)"
pass "hs-apiserver stops cleanly"
