#!/usr/bin/env bash
# test_join.sh: a node joins a secured cluster with a join token, as with
# `kubeadm token create` / `kubeadm join`, across two netns hosts
# (hosts.sh). h1 runs hs-bus (--pki, the keys lib.sh made with hsctl init)
# and hs-store (sharing the PKI directory); h2 has no key at all, only the
# token and the broker's public key that `hsctl token create` prints:
#   - the agent makes its own key, registers it with the token, and its
#     Node appears Ready; the store recorded the key as node n2's, the used
#     token is gone, the agent saved its credential (0600) and restarts
#     with no token;
#   - a wrong token, an expired one, and a token for another node each end
#     the agent with one clear line;
#   - a join with another identity's public key is refused;
#   - a revoked node key is refused on its next connection, and the join
#     token that registered it (deleted with it) registers no new key.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hosts.sh"
need_root_cgroups

hosts_up 2
export HS_BUS=172.30.0.11:7400
hsctl() { on_host 1 "$HS_BIN/hsctl" "$@"; }

# ---- the control plane on h1
mkdir -p "$T/store"
start bus on_host 1 "$HS_BIN/hs-bus" --bind 172.30.0.11 --port 7400
wait_for 10 "hs-bus to listen on the fabric" grep -q "listening on tcp://172.30.0.11:7401" "$T/bus.log"
start store on_host 1 "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
wait_for 20 "hs-store to answer" hsctl get nodes
pass "a secured control plane on h1 (hs-bus --pki, hs-store with HS_PKI)"

# new_agent NAME NODE ARGS...: hs-agent on h2 for node NODE, with nothing
# of the control plane's: no credential, no PKI directory (only ARGS).
new_agent() {
  local name=$1 node=$2; shift 2
  start "$name" on_host 2 env -u HS_CREDENTIAL -u HS_PKI -u HSCONFIG "$HS_BIN/hs-agent" \
    --bus "$HS_BUS" --node-name "$node" --state-dir "$T/agent-$node" \
    --cgroup-parent "$HS_CG_PARENT/$node" "$@"
  AGENT_PID=$LAST_PID
}
# refused NAME: the agent NAME exited 1, saying why in one "cannot join" line.
refused() {
  local name=$1 pid=$2 want=$3 rc=0
  wait_for 30 "agent $name to give up" exited "$pid"
  wait "$pid" || rc=$?
  [ "$rc" = 1 ] || fail "agent $name exited $rc, expected 1: $(tail -n 5 "$T/$name.log")"
  local lines
  lines=$(grep -c "cannot join" "$T/$name.log" || true)
  [ "$lines" = 1 ] || fail "agent $name: $lines 'cannot join' lines, expected 1:
$(cat "$T/$name.log")"
  expect_out "$want" cat "$T/$name.log"
}

# ---- hsctl token create: the token, and the line to run on the new host
hsctl token create --node n2 --ttl 10m >"$T/token.out" 2>"$T/token.err" ||
  fail "token create: $(cat "$T/token.err")"
TOKEN=$(cat "$T/token.out")
[[ "$TOKEN" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "not a token: $TOKEN"
ID=${TOKEN%%.*}
line=$(grep -- "--join $TOKEN" "$T/token.err") || fail "no join line: $(cat "$T/token.err")"
BK=$(sed -n "s/.*--broker-key '\([^']*\)'.*/\1/p" <<<"$line")
[ ${#BK} = 40 ] || fail "no broker key in the join line: $line"
expect_out "hs-agent --bus 172.30.0.11:7400 --node-name n2 --join $TOKEN" echo "$line"
[ -f "$HS_PKI/keys/bootstrap-$ID.key" ] || fail "no key file for token $ID"
out=$(hsctl token list)
grep -Eq "^$ID +n2 " <<<"$out" || fail "token list: $out"
pass "token create prints $ID.<secret> and the hs-agent --join line; token list shows it"

# ---- the join
new_agent agent-n2 n2 --join "$TOKEN" --broker-key "$BK"
wait_for 30 "node n2 Ready" sh -c "nsenter --net=/run/netns/$(host_ns 1) '$HS_BIN/hsctl' get node n2 | grep -q ' Ready '"
cred="$T/agent-n2/node.cred"
[ "$(stat -c %a "$cred")" = 600 ] || fail "$cred: mode $(stat -c %a "$cred")"
grep -q 'identity = "node:n2"' "$cred" || fail "$cred is not node:n2's: $(grep identity "$cred")"
pub=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$cred")
grep -qF "public-key = \"$pub\"" "$HS_PKI/keys/node-n2.key" ||
  fail "the store did not record n2's key $pub: $(cat "$HS_PKI/keys/node-n2.key" 2>&1)"
grep -q 'identity = "node:n2"' "$HS_PKI/keys/node-n2.key" || fail "node-n2.key: not node:n2"
[ ! -e "$T/agent-n2/bootstrap.cred" ] || fail "the token's credential was left in the state dir"
grep -q "registered with join token $ID" "$T/store.log" || fail "the store did not log the join"
out=$(hsctl token list)
grep -Eq "^$ID +n2 .*<used>" <<<"$out" || fail "token list does not show $ID used: $out"
pass "n2 joined: its own key (saved 0600 in its state dir) recorded as node:n2's; the token is spent"

# stop_agent: SIGTERM to the agent (its job's process group: on_host's
# nsenter and env in front of it).
stop_agent() {
  kill -TERM -- "-$AGENT_PID" 2>/dev/null || true
  wait_for 10 "the agent to stop" exited "$AGENT_PID"
}

# ---- a restart needs no token
stop_agent
new_agent agent-n2b n2
wait_for 30 "agent n2 back on the bus" grep -q "registered node n2" "$T/agent-n2b.log"
grep -q "join token" "$T/agent-n2b.log" && fail "the restarted agent used a token"
pass "restarted with no token: the saved credential"
stop_agent

# ---- refusals, each one line
# the spent token, for a fresh state dir (another key for n2): refused
new_agent agent-again n2 --join "$TOKEN" --broker-key "$BK" --state-dir "$T/agent-n2-again"
refused agent-again "$AGENT_PID" "node n2 already has a key"

new_agent agent-wrong n3 --join abcdef.0123456789abcdef --broker-key "$BK"
refused agent-wrong "$AGENT_PID" "the bus refused join token abcdef"
[ ! -e "$HS_PKI/keys/node-n3.key" ] || fail "a wrong token registered a key"

hsctl token create --node n3 --ttl 1s >"$T/t3.out" 2>/dev/null || fail "token create --ttl 1s"
T3=$(cat "$T/t3.out")
wait_for 10 "token ${T3%%.*} to expire" sh -c "nsenter --net=/run/netns/$(host_ns 1) '$HS_BIN/hsctl' token list | grep -q '^${T3%%.*} .*<expired>'"
new_agent agent-expired n3 --join "$T3" --broker-key "$BK"
refused agent-expired "$AGENT_PID" "join token ${T3%%.*}"
[ ! -e "$HS_PKI/keys/node-n3.key" ] || fail "an expired token registered a key"

hsctl token create --node n4 >"$T/t4.out" 2>/dev/null || fail "token create --node n4"
T4=$(cat "$T/t4.out")
rm -rf "$T/agent-n3"
new_agent agent-other n3 --join "$T4" --broker-key "$BK"
refused agent-other "$AGENT_PID" "may only register the key of node \"n4\""
[ ! -e "$HS_PKI/keys/node-n3.key" ] || fail "a token for n4 registered n3's key"
hsctl token delete "${T4%%.*}" >/dev/null || fail "token delete ${T4%%.*}"
[ ! -e "$HS_PKI/keys/bootstrap-${T4%%.*}.key" ] || fail "token delete left ${T4%%.*}"
pass "a wrong, an expired and another node's token: refused, one line each, no key recorded"

# ---- another identity's public key (key files are world-readable): an
# admin's, expired so that hs-bus refuses it and the agent falls back to its
# token, saved as the agent's own credential. The store refuses it.
hsctl keys create admin evil >/dev/null || fail "keys create admin evil"
sed -i '/^metadata/a\    expires = "1"' "$HS_PKI/keys/admin-evil.key"
mkdir -p "$T/agent-n5"
sed -e 's/"admin:evil"/"node:n5"/' -e 's/role = "admin"/role = "node"/' \
  "$HS_PKI/creds/admin-evil.cred" >"$T/agent-n5/node.cred"
chmod 600 "$T/agent-n5/node.cred"
hsctl token create --node n5 >"$T/t5.out" 2>/dev/null || fail "token create --node n5"
new_agent agent-stolen n5 --join "$(cat "$T/t5.out")" --broker-key "$BK"
refused agent-stolen "$AGENT_PID" "it is already the key of admin-evil.key"
[ ! -e "$HS_PKI/keys/node-n5.key" ] || fail "a join registered admin:evil's key as node n5's"
pass "a join with another identity's public key: refused, one line, no key recorded"

# ---- revocation: the key is refused on its next connection
out=$(hsctl keys revoke node-n2)
expect_out 'key "node-n2" revoked (identity node:n2)' echo "$out"
expect_out "join token $ID for node n2 deleted" echo "$out"
[ ! -e "$HS_PKI/keys/bootstrap-$ID.key" ] || fail "keys revoke node-n2 left n2's join token $ID"
new_agent agent-revoked n2
wait_for 30 "the revoked agent to give up" exited "$AGENT_PID"
expect_out "refused" cat "$T/agent-revoked.log"
pass "hsctl keys revoke node-n2: the agent's next connection is refused"

# the token that registered the revoked key does not join n2 again
new_agent agent-rejoin n2 --join "$TOKEN" --broker-key "$BK" --state-dir "$T/agent-n2-rejoin"
refused agent-rejoin "$AGENT_PID" "the bus refused join token $ID"
[ ! -e "$HS_PKI/keys/node-n2.key" ] || fail "the revoked node's token registered a new key"
pass "after the revocation, n2's join token (deleted with the key) joins no more"
