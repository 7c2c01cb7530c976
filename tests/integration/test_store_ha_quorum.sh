#!/usr/bin/env bash
# Losing 2 of 3 members (loopback, one broker): writes stop (hsctl apply
# fails at its deadline; nothing is acked, nothing is applied), what was
# acked before stays; one member back makes a majority again: writes resume
# and the earlier ones are all there.
source "$(dirname "$0")/lib.sh"

start_bus
Q=$(free_port_pair) R=$(free_port_pair)
PEERS="s1=127.0.0.1:$Q,s2=127.0.0.1:$((Q + 1)),s3=127.0.0.1:$R"
member() {
  mkdir -p "$T/m$1"
  start "m$1" "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/m$1" --member "s$1" --peers "$PEERS"
}
member_pid() {
  local p
  for p in $(procs_naming "--data $T/m$1 "); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = hs-store ] && { echo "$p"; return 0; }
  done
}
for i in 1 2 3; do member "$i"; done
wait_for 20 "the store to answer" hsctl get nodes
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: v\n' "$1"; }
for i in 1 2 3 4 5; do cm "before-$i" | hsctl apply -f - >/dev/null || fail "apply before-$i"; done
LEADER=$(grep -l "leader for term" "$T"/m?.log | head -n1 | sed 's/.*m\([0-9]\)\.log/\1/')
lap "5 ConfigMaps acked; leader s$LEADER"

# kill -9 two members: the leader and one other
OTHER=$(( LEADER % 3 + 1 ))
LAST=$(( OTHER % 3 + 1 ))
for i in "$LEADER" "$OTHER"; do kill -9 "$(member_pid "$i")"; done
lap "killed s$LEADER and s$OTHER; s$LAST alone"
rc=0
cm during | hsctl --request-timeout 3 apply -f - >"$T/during.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "an apply was acked with 2 of 3 members down: $(cat "$T/during.out")"
pass "with 1 of 3 members, apply fails at its deadline: $(tail -n1 "$T/during.out")"

member "$OTHER"
wait_for 20 "a majority again" sh -c "cat '$T/m$OTHER.log' '$T/m$LAST.log' | grep -q 'leader for term [3-9]'"
cm after | hsctl apply -f - >/dev/null || fail "apply after the member came back"
for n in before-1 before-2 before-3 before-4 before-5 after; do
  hsctl get configmap "$n" >/dev/null 2>&1 || fail "ConfigMap $n missing"
done
# "during" was never acked: present or absent, but if present, whole
if hsctl get configmap during -o json >"$T/during.json" 2>/dev/null; then
  grep -q '"k": "v"' "$T/during.json" || fail "ConfigMap during is there but not whole"
  echo "  (the unacked 'during' committed once a majority was back: allowed)"
fi
pass "2 members again: writes resume, the 5 acked before are all there"
