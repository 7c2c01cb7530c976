#!/usr/bin/env bash
# test_init_api.sh: what `hsctl init` makes for hs-apiserver, checked with
# the tools a user has, not with our own code:
#   - $PKI/api: the CA and the serving certificate, modes, `openssl verify
#     -CAfile`, `openssl x509 -text` (CA:TRUE, key usages, every SAN:
#     127.0.0.1, ::1, localhost, the host name, --api-san), a real TLS
#     server (openssl s_server) that curl trusts through ca.crt alone, by
#     each name, and that another cluster's CA does not;
#   - $PKI/kubeconfig (0600): `kubectl config view --raw` parses it; its
#     token's key file names the admin;
#   - idempotence: kept when valid; a new --api-san remakes the serving
#     certificate only; --force remakes all and drops the old token;
#   - hsctl token create --user / list / delete; config view --kubeconfig
#     for another user, another server, a client certificate (verified,
#     CN = identity) whose bus credential hs-bus admits;
#   - hs-bus reads the API token key files like any key; bad input.
source "$(dirname "$0")/lib.sh"

P=$T/p
export HSCONFIG=$T/cfg
mode() { stat -c %a "$1"; }
command -v openssl >/dev/null || fail "openssl is needed (Debian: openssl)"

# ---- files, modes, what openssl says of them
out=$(hsctl init --pki "$P" --user alice --api-san api.example.com --api-san 10.9.8.7 \
  --api-san fd00::7) || fail "hsctl init: $out"
for f in ca.key apiserver.key; do
  [ "$(mode "$P/api/$f")" = 600 ] || fail "api/$f: mode $(mode "$P/api/$f")"
done
for f in ca.crt apiserver.crt; do
  [ "$(mode "$P/api/$f")" = 644 ] || fail "api/$f: mode $(mode "$P/api/$f")"
done
[ "$(mode "$P/api")" = 700 ] || fail "api: mode $(mode "$P/api")"
[ "$(mode "$P/kubeconfig")" = 600 ] || fail "kubeconfig: mode $(mode "$P/kubeconfig")"
[ "$(mode "$P/creds/apiserver.cred")" = 600 ] || fail "no creds/apiserver.cred"
keys=$(hsctl keys list --pki "$P")
grep -Eq "^[^ ]+ +sa:apiserver +apiserver" <<<"$keys" || fail "keys list: no sa:apiserver:
$keys"
out=$(openssl verify -CAfile "$P/api/ca.crt" "$P/api/apiserver.crt" 2>&1) || fail "openssl verify: $out"
text=$(openssl x509 -in "$P/api/apiserver.crt" -noout -text)
host=$(hostname)
for want in "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1" "DNS:localhost" "DNS:$host" \
  "DNS:api.example.com" "IP Address:10.9.8.7" "IP Address:FD00:0:0:0:0:0:0:7" \
  "TLS Web Server Authentication" "CA:FALSE" "Subject: CN = hs-apiserver"; do
  grep -qiF "$want" <<<"$text" || fail "apiserver.crt lacks $want:
$text"
done
not_after=$(openssl x509 -in "$P/api/apiserver.crt" -noout -enddate | cut -d= -f2)
days=$(( ($(date -d "$not_after" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 364 ] && [ "$days" -le 366 ] || fail "apiserver.crt valid $days days, not a year"
ca_text=$(openssl x509 -in "$P/api/ca.crt" -noout -text)
for want in "CA:TRUE" "Certificate Sign"; do
  grep -qF "$want" <<<"$ca_text" || fail "ca.crt lacks $want"
done
not_after=$(openssl x509 -in "$P/api/ca.crt" -noout -enddate | cut -d= -f2)
days=$(( ($(date -d "$not_after" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 3640 ] || fail "ca.crt valid $days days, not 10 years"
out=$(openssl pkey -in "$P/api/apiserver.key" -noout 2>&1) || fail "apiserver.key: $out"
pass "init: CA (10y) and serving certificate (1y, every SAN) that openssl verifies; keys 0600"

# ---- a real TLS server with these files: curl trusts it through ca.crt, by every name
PORT=$(free_port_pair)
start s_server openssl s_server -quiet -accept "$PORT" -cert "$P/api/apiserver.crt" \
  -key "$P/api/apiserver.key" -www
wait_for 10 "openssl s_server to listen" curl -sk "https://127.0.0.1:$PORT/"
for url in "https://127.0.0.1:$PORT/" "https://localhost:$PORT/" "https://[::1]:$PORT/"; do
  out=$(curl -sS --cacert "$P/api/ca.crt" "$url" 2>&1) || fail "curl $url: $out"
done
out=$(curl -sS --cacert "$P/api/ca.crt" --resolve "api.example.com:$PORT:127.0.0.1" \
  "https://api.example.com:$PORT/" 2>&1) || fail "curl api.example.com: $out"
out=$(curl -sS --cacert "$P/api/ca.crt" --resolve "other.example.com:$PORT:127.0.0.1" \
  "https://other.example.com:$PORT/" 2>&1) && fail "a name not in the SANs was trusted"
hsctl init --pki "$T/q" --user zed --no-config >/dev/null || fail "init q"
out=$(curl -sS --cacert "$T/q/api/ca.crt" "https://127.0.0.1:$PORT/" 2>&1) &&
  fail "another cluster's CA trusted this server"
pass "a TLS server with apiserver.crt is trusted through ca.crt by each SAN, not by another CA"

# ---- the kubeconfig: kubectl parses it; its token is the admin's
if command -v kubectl >/dev/null; then
  out=$(kubectl config view --kubeconfig "$P/kubeconfig" --raw \
    -o jsonpath='{.current-context} {.clusters[0].cluster.server} {.users[0].user.token}' 2>&1) ||
    fail "kubectl config view: $out"
  read -r ctx server token <<<"$out"
  [ "$ctx" = "admin:alice@homeostat" ] || fail "current-context: $ctx"
  [ "$server" = "https://127.0.0.1:6443" ] || fail "server: $server"
  kubectl config view --kubeconfig "$P/kubeconfig" --raw \
    -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$T/kc-ca.crt"
  cmp -s "$T/kc-ca.crt" "$P/api/ca.crt" || fail "the kubeconfig's CA is not api/ca.crt"
else
  token=$(sed -n 's/^ *token: *//p' "$P/kubeconfig")
fi
[[ "$token" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "kubeconfig token: $token"
id=${token%%.*}
grep -q 'identity = "admin:alice"' "$P/keys/token-$id.key" || fail "token-$id.key: $(cat "$P/keys/token-$id.key")"
grep -q secret "$P/keys/token-$id.key" && fail "token-$id.key holds a secret"
grep -qF "$token" "$P/keys/token-$id.key" && fail "token-$id.key holds the token"
out=$(hsctl token list --pki "$P")
grep -Eq "^$id +admin:alice +<never>" <<<"$out" || fail "token list: $out"
pass "kubeconfig (0600) parses with kubectl; CA data is api/ca.crt; its token's key names admin:alice"

# ---- idempotence
sums() { (cd "$P" && find . -type f | sort | xargs sha256sum); }
before=$(sums)
out=$(hsctl init --pki "$P" --user alice --api-san api.example.com --api-san 10.9.8.7 \
  --api-san fd00::7) || fail "second init: $out"
[ "$(sums)" = "$before" ] || fail "a second init changed files: $out"
for w in "CA: kept" "serving certificate: kept" "kubeconfig: kept"; do
  grep -q "$w" <<<"$out" || fail "second init does not say $w: $out"
done
ca_sum=$(sha256sum <"$P/api/ca.crt") srv_sum=$(sha256sum <"$P/api/apiserver.crt")
kc_sum=$(sha256sum <"$P/kubeconfig")
out=$(hsctl init --pki "$P" --user alice --api-san new.example.com) || fail "init new SAN: $out"
[ "$(sha256sum <"$P/api/ca.crt")" = "$ca_sum" ] || fail "a new SAN remade the CA"
[ "$(sha256sum <"$P/api/apiserver.crt")" != "$srv_sum" ] || fail "a new SAN kept the certificate"
[ "$(sha256sum <"$P/kubeconfig")" = "$kc_sum" ] || fail "a new SAN remade the kubeconfig"
openssl x509 -in "$P/api/apiserver.crt" -noout -text | grep -q "DNS:new.example.com" ||
  fail "new SAN missing"
# a kubeconfig naming another server is rewritten (a new token, the old one dropped)
out=$(hsctl init --pki "$P" --user alice --api-server https://10.9.8.7:6443) || fail "init --api-server: $out"
grep -q "another server; writing a new one" <<<"$out" || fail "init --api-server: $out"
grep -q "server: https://10.9.8.7:6443" "$P/kubeconfig" || fail "kubeconfig server: $(cat "$P/kubeconfig")"
[ ! -e "$P/keys/token-$id.key" ] || fail "the replaced kubeconfig's token stayed"
# --force: everything anew
hsctl init --pki "$P" --user alice --force >/dev/null || fail "init --force"
[ "$(sha256sum <"$P/api/ca.crt")" != "$ca_sum" ] || fail "--force kept the CA"
out=$(openssl verify -CAfile "$P/api/ca.crt" "$P/api/apiserver.crt" 2>&1) || fail "after --force: $out"
# a serving certificate of another CA is remade
cp "$T/q/api/apiserver.crt" "$T/q/api/apiserver.key" "$P/api/"
out=$(hsctl init --pki "$P" --user alice) || fail "init over a foreign certificate: $out"
grep -q "not signed by the CA; making a new one" <<<"$out" || fail "foreign certificate: $out"
out=$(openssl verify -CAfile "$P/api/ca.crt" "$P/api/apiserver.crt" 2>&1) || fail "remade: $out"
pass "init keeps valid files; a new SAN remakes the certificate only; --api-server and --force renew"

# ---- API tokens for other users, kubeconfigs, client certificates
tok=$(hsctl token create --pki "$P" --user tap:bob --ttl 2d 2>/dev/null) || fail "token create --user"
[[ "$tok" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "token create printed: $tok"
out=$(hsctl token list --pki "$P")
grep -Eq "^${tok%%.*} +tap:bob +20[0-9-]+T" <<<"$out" || fail "token list: $out"
out=$(hsctl token delete --pki "$P" "${tok%%.*}") || fail "token delete: $out"
expect_out "API token \"${tok%%.*}\" deleted" echo "$out"
[ ! -e "$P/keys/token-${tok%%.*}.key" ] || fail "token delete left the key"
expect_rc 1 hsctl token create --pki "$P" --user node:n1
expect_out "use admin:NAME or tap:NAME" cat "$T/last.out"
expect_rc 1 hsctl token create --pki "$P" --user sa:apiserver
expect_rc 1 hsctl token create --pki "$P" --user tap:bob --node n1
expect_rc 1 hsctl token create --pki "$P" --user tap:bob --ttl 4000d
hsctl config view --kubeconfig --pki "$P" --user tap:bob --server https://api.example.com:6443 \
  >"$T/bob.kc" 2>"$T/bob.err" || fail "config view --user tap:bob: $(cat "$T/bob.err")"
grep -q "server: https://api.example.com:6443" "$T/bob.kc" || fail "bob.kc: $(cat "$T/bob.kc")"
grep -q "user: tap:bob" "$T/bob.kc" || fail "bob.kc: $(cat "$T/bob.kc")"
btok=$(sed -n 's/^ *token: *//p' "$T/bob.kc")
grep -q 'identity = "tap:bob"' "$P/keys/token-${btok%%.*}.key" || fail "bob's token has no key file"
hsctl config view --kubeconfig --pki "$P" >"$T/admin.kc" || fail "config view --kubeconfig"
cmp -s "$T/admin.kc" "$P/kubeconfig" || fail "config view --kubeconfig is not \$PKI/kubeconfig"
out=$(hsctl config view) || fail "config view: $out"
grep -q "^credential: " <<<"$out" || fail "config view: $out"
hsctl config view --kubeconfig --pki "$P" --client-cert --user tap:carol >"$T/carol.kc" \
  2>"$T/carol.err" || fail "config view --client-cert: $(cat "$T/carol.err")"
grep -q "token:" "$T/carol.kc" && fail "a client-certificate kubeconfig holds a token"
sed -n 's/^ *client-certificate-data: *//p' "$T/carol.kc" | base64 -d >"$T/carol.crt"
sed -n 's/^ *client-key-data: *//p' "$T/carol.kc" | base64 -d >"$T/carol.key"
out=$(openssl verify -CAfile "$P/api/ca.crt" -purpose sslclient "$T/carol.crt" 2>&1) ||
  fail "client certificate: $out"
openssl x509 -in "$T/carol.crt" -noout -subject | grep -q "CN = tap:carol" ||
  fail "client CN: $(openssl x509 -in "$T/carol.crt" -noout -subject)"
[ "$(openssl pkey -in "$T/carol.key" -pubout)" = "$(openssl x509 -in "$T/carol.crt" -noout -pubkey)" ] ||
  fail "the client key is not the certificate's"
[ "$(mode "$P/api/users/tap-carol.cred")" = 600 ] || fail "no api/users/tap-carol.cred"
grep -q 'identity = "tap:carol"' "$P/keys/apiuser-tap-carol.key" || fail "no apiuser-tap-carol.key"
pass "token create/list/delete --user; kubeconfigs for tap:bob and the admin; a verified client certificate"

# ---- hs-bus reads the API keys like any other, and admits the cert user's credential
start bus "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$HS_PORT" --pki "$P"
wait_for 10 "hs-bus to listen" grep -q "listening" "$T/bus.log"
if grep -qiE "token-|apiuser-" "$T/bus.log"; then fail "hs-bus complained: $(cat "$T/bus.log")"; fi
out=$(HS_CREDENTIAL="$P/api/users/tap-carol.cred" timeout 15 hs-tap --bus "$HS_BUS" -c 1 hb.bus. 2>&1) ||
  fail "hs-tap as tap:carol: $out"
pass "hs-bus loads the API token keys quietly and admits the client-certificate user's credential"

# ---- kubectl against hs-apiserver with these files (when it is built): the
# admin's token, a read-only user's, a client certificate, a deleted token
if [ -x "$HS_BIN/hs-apiserver" ] && command -v kubectl >/dev/null; then
  mkdir -p "$T/store"
  start store env HS_CREDENTIAL="$P/creds/store.cred" "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
  APORT=$(free_port_pair)
  start api "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --credential "$P/creds/apiserver.cred" \
    --pki "$P" --listen "127.0.0.1:$APORT" --user-creds "$P/api/users"
  wait_for 30 "hs-apiserver ready" grep -q "ready" "$T/api.log"
  kc() { local f=$1; shift; kubectl --kubeconfig "$f" --cache-dir "$T/kc" --request-timeout 20s "$@"; }
  srv="https://127.0.0.1:$APORT"
  hsctl config view --kubeconfig --pki "$P" --server "$srv" >"$T/a.kc" || fail "admin kubeconfig"
  hsctl config view --kubeconfig --pki "$P" --server "$srv" --user tap:bob >"$T/b.kc" 2>/dev/null ||
    fail "tap:bob kubeconfig"
  hsctl config view --kubeconfig --pki "$P" --server "$srv" --client-cert --user tap:carol \
    >"$T/c.kc" 2>/dev/null || fail "tap:carol kubeconfig"
  out=$(kc "$T/a.kc" get --raw /version 2>&1) || fail "kubectl get --raw /version: $out"
  grep -q '"gitVersion":"v1.32.0-homeostat"' <<<"$out" || fail "/version: $out"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kc}\ndata: {a: b}\n' >"$T/cm.yaml"
  out=$(kc "$T/a.kc" apply -f "$T/cm.yaml" 2>&1) || fail "admin apply: $out"
  expect_out "configmap/kc created" echo "$out"
  wait_for 10 "tap:bob to list the ConfigMap" bash -c "kubectl --kubeconfig '$T/b.kc' --cache-dir '$T/kc' get cm kc --no-headers"
  out=$(kc "$T/b.kc" delete cm kc 2>&1) && fail "tap:bob deleted: $out"
  expect_out 'User "tap:bob" cannot delete resource "configmaps"' echo "$out"
  out=$(kc "$T/c.kc" get cm kc --no-headers 2>&1) || fail "tap:carol (client certificate): $out"
  btok=$(sed -n 's/^ *token: *//p' "$T/b.kc")
  hsctl token delete --pki "$P" "${btok%%.*}" >/dev/null || fail "token delete bob"
  wait_for 30 "tap:bob's deleted token to be refused" \
    bash -c "! kubectl --kubeconfig '$T/b.kc' --cache-dir '$T/kc' get cm kc >/dev/null 2>&1"
  out=$(kc "$T/b.kc" get cm kc 2>&1) && fail "a deleted token still reads: $out"
  expect_out "Unauthorized" echo "$out"
  pass "kubectl with init's files: admin writes, tap:bob reads but may not delete, a client certificate reads, a deleted token is refused"
else
  echo "SKIP: hs-apiserver or kubectl missing: kubectl against hs-apiserver not checked"
fi

# ---- bad input
expect_rc 1 hsctl init --pki "$T/p4" --api-san 'bad name'
expect_out "not a DNS name or an IP address" cat "$T/last.out"
expect_rc 1 hsctl init --pki "$T/p4" --api-san '-x.example.com'
expect_rc 1 hsctl init --pki "$T/p4" --api-server 'ftp://x'
expect_rc 1 hsctl init --pki "$T/p4" --api-server 'https://"x"'
[ ! -e "$T/p4" ] || fail "a refused init left $T/p4"
expect_rc 1 hsctl config view --kubeconfig --pki "$T/none"
expect_rc 1 hsctl config view --kubeconfig --pki "$P" --user tap:bob --server 'not a url'
expect_rc 1 hsctl config view --kubeconfig --pki "$P" --client-cert --user node:n1
expect_rc 1 hsctl config view --user tap:bob
expect_rc 1 hsctl token delete --pki "$P" zzzzzz
printf 'garbage: [\n' >"$P/kubeconfig"
out=$(hsctl init --pki "$P" --user alice) || fail "init over a garbage kubeconfig: $out"
grep -q "not a kubeconfig; writing a new one" <<<"$out" || fail "garbage kubeconfig: $out"
pass "bad input: SANs, URLs, users, a missing PKI, a garbage kubeconfig: refused or remade"
