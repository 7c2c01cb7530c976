#!/usr/bin/env bash
# test_init.sh: `hsctl init` and `hsctl keys`, as a user meets them:
#   - the files init makes (broker key, a credential per component and the
#     admin's, their public keys), with their modes (dirs 0700, secrets
#     0600), and hsctl's config naming the admin credential;
#   - idempotence: a second init changes nothing; --force makes new keys;
#     a config naming another cluster's credential is kept;
#   - hsctl, with nothing but its config, talks to a secured hs-bus and
#     hs-store; a credential of another cluster is refused in one line;
#   - keys create tap / list / revoke: hs-tap with a tap key reads the bus,
#     and once revoked is refused;
#   - bad input: no PKI, a malformed config, a credential others can read.
source "$(dirname "$0")/lib.sh"

P=$T/p1
export HSCONFIG=$T/cfg/config
mode() { stat -c %a "$1"; }

# ---- files and modes
out=$(hsctl init --pki "$P" --user alice --node n1) || fail "hsctl init: $out"
for d in "$P" "$P/keys" "$P/creds" "$T/cfg"; do
  [ "$(mode "$d")" = 700 ] || fail "$d: mode $(mode "$d"), expected 700"
done
[ "$(mode "$P/broker.key_secret")" = 600 ] || fail "broker.key_secret: mode $(mode "$P/broker.key_secret")"
names=(store scheduler replicas jobs prober endpoints dns apiserver autoscaler admin-alice node-n1)
for n in "${names[@]}"; do
  [ "$(mode "$P/creds/$n.cred")" = 600 ] || fail "creds/$n.cred: mode $(mode "$P/creds/$n.cred" 2>&1)"
  [ -f "$P/keys/$n.key" ] || fail "no keys/$n.key"
  grep -q secret-key "$P/keys/$n.key" && fail "keys/$n.key holds a secret key"
done
[ "$(ls "$P/creds" | wc -l)" = ${#names[@]} ] || fail "creds: $(ls "$P/creds")"
[ "$(mode "$HSCONFIG")" = 600 ] || fail "config: mode $(mode "$HSCONFIG")"
grep -qx "credential: $P/creds/admin-alice.cred" "$HSCONFIG" || fail "config: $(cat "$HSCONFIG")"
grep -qx "bus: $HS_BUS" "$HSCONFIG" || fail "config: $(cat "$HSCONFIG")"
out=$(hsctl keys list --pki "$P")
for id in store sa:scheduler sa:replicas sa:jobs sa:prober sa:endpoints sa:dns sa:apiserver sa:autoscaler admin:alice node:n1; do
  grep -Eq "^[^ ]+ +$id +" <<<"$out" || fail "keys list does not show $id:
$out"
done
pass "init: broker key, ${#names[@]} credentials (0600) and public keys, dirs 0700, config 0600"

# ---- idempotence
sums() { (cd "$P" && find . -type f | sort | xargs sha256sum; sha256sum "$HSCONFIG"); }
before=$(sums)
out=$(hsctl init --pki "$P" --user alice --node n1) || fail "second init: $out"
[ "$(sums)" = "$before" ] || fail "a second init changed files"
grep -q "broker key: kept" <<<"$out" || fail "second init does not say kept: $out"
grep -q "created" <<<"$out" && fail "second init created something: $out"
# a config naming another cluster's credential is kept
out=$(hsctl init --pki "$T/p2" --user bob) || fail "init p2: $out"
grep -q "kept $HSCONFIG" <<<"$out" || fail "init p2 replaced the config: $out"
grep -qx "credential: $P/creds/admin-alice.cred" "$HSCONFIG" || fail "config changed: $(cat "$HSCONFIG")"
# --force: new keys (the broker's, so every credential's pin too)
old_broker=$(sha256sum <"$P/broker.key_secret")
old_store=$(sha256sum <"$P/creds/store.cred")
hsctl init --pki "$P" --user alice --force >/dev/null || fail "init --force"
[ "$(sha256sum <"$P/broker.key_secret")" != "$old_broker" ] || fail "--force kept the broker key"
[ "$(sha256sum <"$P/creds/store.cred")" != "$old_store" ] || fail "--force kept store.cred"
pass "init is idempotent; keeps a config naming another cluster; --force makes new keys"

# ---- hsctl talks to a secured set with nothing but its config (lib.sh's
# PKI, $HS_PKI, runs the bus and the store)
start_bus
start_store
HSCONFIG=$T/lib-config hsctl init --pki "$HS_PKI" --user carol >/dev/null || fail "init carol"
out=$(env -u HS_CREDENTIAL HSCONFIG="$T/lib-config" hsctl get nodes 2>&1) ||
  fail "hsctl with its config only: $out"
out=$(env -u HS_CREDENTIAL HSCONFIG="$T/lib-config" hsctl apply -f "$HS_SRC/examples/pod-web.yaml" 2>&1) ||
  fail "apply as admin:carol: $out"
grep -q "pod/web created" <<<"$out" || fail "apply: $out"
# another cluster's admin (p1's, pinning p1's broker key): no handshake,
# one line, no hang
t0=$(ms)
out=$(HS_CREDENTIAL="$P/creds/admin-alice.cred" hsctl get pods 2>&1) && fail "another cluster's key was let in: $out"
[ $(( $(ms) - t0 )) -lt 8000 ] || fail "the refusal took $(( $(ms) - t0 )) ms"
expect_out "is broker-key in $P/creds/admin-alice.cred its public key?" echo "$out"
[ "$(grep -c . <<<"$out")" -le 2 ] || fail "more than a clear line: $out"
# a key this cluster's broker does not know (made, then its public file
# removed by hand): refused by the bus
hsctl keys create admin mallory >/dev/null || fail "keys create admin mallory"
rm "$HS_PKI/keys/admin-mallory.key"
out=$(HS_CREDENTIAL="$HS_PKI/creds/admin-mallory.cred" hsctl get pods 2>&1) && fail "an unknown key was let in: $out"
expect_out "the bus refused this client's key" echo "$out"
[ "$(grep -c . <<<"$out")" -le 2 ] || fail "more than a clear line: $out"
pass "hsctl reaches a secured set with its config alone; another cluster's and an unknown key are refused in one line"

# ---- keys create tap / revoke
out=$(hsctl keys create tap viewer) || fail "keys create tap: $out"
TAPC="$HS_PKI/creds/tap-viewer.cred"
[ "$(mode "$TAPC")" = 600 ] || fail "$TAPC: mode"
out=$(HS_CREDENTIAL="$TAPC" timeout 10 hs-tap -c 1 hb.store 2>&1) || fail "hs-tap as tap:viewer: $out"
grep -q "hb.store" <<<"$out" || fail "hs-tap as tap:viewer saw: $out"
expect_rc 1 hsctl keys create tap viewer
expect_out "already has a credential" cat "$T/last.out"
out=$(hsctl keys revoke tap:viewer) || fail "revoke: $out"
expect_out 'key "tap-viewer" revoked (identity tap:viewer)' echo "$out"
[ ! -e "$HS_PKI/keys/tap-viewer.key" ] || fail "revoke left the key file"
hsctl keys create tap viewer2 >/dev/null || fail "keys create tap viewer2"
cp "$HS_PKI/creds/tap-viewer2.cred" "$T/v2.cred"
hsctl keys revoke tap-viewer2 >/dev/null
out=$(HS_CREDENTIAL="$T/v2.cred" timeout 15 hs-tap -c 1 hb.store 2>&1) && fail "a revoked key read the bus: $out"
expect_out "the bus refused this client's key" echo "$out"
expect_rc 1 hsctl keys revoke tap-viewer2
expect_out 'no key "tap-viewer2"' cat "$T/last.out"
pass "keys create tap: hs-tap reads with it; revoked, it is refused"

# ---- bad input
expect_rc 1 hsctl keys create node x --pki "$T/none"
expect_out "run \`hsctl init --pki $T/none\` first" cat "$T/last.out"
expect_rc 1 hsctl token create --node x --pki "$T/none"
expect_rc 1 hsctl token create --pki "$HS_PKI"
expect_out "--node NAME is required" cat "$T/last.out"
expect_rc 1 hsctl token create --node x --ttl 9d
expect_out "at most 7d" cat "$T/last.out"
expect_rc 1 hsctl init --pki "$T/p3" --user 'bad user'
printf 'bus: %s\ncolour: blue\n' "$HS_BUS" >"$T/bad-config"
HSCONFIG=$T/bad-config expect_rc 1 hsctl get pods
expect_out "$T/bad-config:2: unknown key \"colour\"" cat "$T/last.out"
cp "$HS_PKI/creds/admin-carol.cred" "$T/loose.cred"
chmod 644 "$T/loose.cred"
out=$(HS_CREDENTIAL="$T/loose.cred" hsctl get pods 2>&1) && fail "a world-readable credential was used"
expect_out "chmod 600 $T/loose.cred" echo "$out"
pass "bad input: no PKI, a missing flag, a bad TTL or name, a malformed config, a loose credential: one line each"
