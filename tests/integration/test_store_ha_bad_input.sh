#!/usr/bin/env bash
# hs-store's HA flags refuse what cannot work, with a message that says why:
# a bad member name, --peers without --member, a member not in --peers, a
# name twice; a data dir of another cluster (foreign --cluster-id, or
# --peers of another cluster); a corrupted raft log segment. Loopback only;
# each refusal must be an exit, not a hang (10 s each at most).
source "$(dirname "$0")/lib.sh"

start_bus
P1=$(free_port_pair)
PEERS="s1=127.0.0.1:$P1,s2=127.0.0.1:$((P1 + 1)),s3=127.0.0.1:9"

# refuses RC_WANTED_TEXT ARGS...: hs-store ARGS exits non-zero (not by
# timeout) within 10 s and says TEXT.
refuses() {
  local want=$1 rc=0; shift
  HS_CREDENTIAL=$HS_PKI/creds/store.cred timeout 10 "$HS_BIN/hs-store" --bus "$HS_BUS" "$@" \
    >"$T/refuse.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
    fail "hs-store $* did not refuse (rc $rc): $(tail -n 3 "$T/refuse.out")"
  grep -q -- "$want" "$T/refuse.out" ||
    fail "hs-store $* refused without saying \"$want\": $(tail -n 3 "$T/refuse.out")"
  echo "  refused ($*): $(grep -- "$want" "$T/refuse.out" | head -n1 | sed 's/.*hs-store [a-z]*: //')"
}

refuses "member" --data "$T/a" --member S_1 --peers "$PEERS"
refuses "member" --data "$T/a" --peers "$PEERS"
refuses "not in --peers" --data "$T/a" --member s4 --peers "$PEERS"
refuses "twice" --data "$T/a" --member s1 --peers "s1=127.0.0.1:$P1,s1=127.0.0.1:$((P1 + 1))"
pass "bad --member/--peers refused"

# A member that bootstrapped its cluster, then restarted for another one.
mkdir -p "$T/s1"
start store1 "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/s1" --member s1 --peers "$PEERS"
S1=$LAST_PID
wait_for 10 "s1 to bootstrap" grep -q "bootstrapped cluster" "$T/store1.log"
kill "$S1"
poll_until 10 sh -c "! kill -0 $S1" || fail "s1 did not stop"
ID=$(cat "$T/s1/cluster-id")
refuses "$ID" --data "$T/s1" --member s1 --peers "$PEERS" --cluster-id other-cluster
grep -q "other-cluster" "$T/refuse.out" || fail "the refusal does not name the id asked for"
refuses "$ID" --data "$T/s1" --member s1 --peers "s1=127.0.0.1:$P1,s2=127.0.0.1:$((P1 + 1))"
pass "a data dir of cluster $ID refuses another cluster id, and names both"

# A corrupted log segment: detected, refused (never served from).
SEG=$(find "$T/s1/raft" -name '0000*-0000*' -type f | head -n1)
[ -n "$SEG" ] || fail "no closed raft segment in $T/s1/raft: $(ls "$T/s1/raft")"
# bytes 24..31: the first entry's header (term), under the batch's header checksum
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$SEG" bs=1 seek=24 conv=notrunc status=none
refuses "corrupt" --data "$T/s1" --member s1 --peers "$PEERS"
pass "a corrupted raft segment is refused: $(grep -i corrupt "$T/refuse.out" | tail -n1 | sed 's/.*hs-store [a-z]*: //')"
