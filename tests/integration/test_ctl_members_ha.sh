#!/usr/bin/env bash
# hsctl against three real members of a replicated store on loopback
# (issue 19): get components and member list show each member's role and
# indexes, member transfer moves leadership through
# the leader (an admin's MemberChange on cmd.members/), a follower's data
# directory gives a backup that restores, and hs-metrics follows a
# failover; member add (s4 --join) under the first leader after bootstrap,
# remove and replace under a leader that took over by transfer, an add at a
# dead address given up (Unavailable); a corrupt raft snapshot refused,
# naming the file; a full disk under raft's log (root: tmpfs) stops the
# member saying so. Label `system` (multi-process HA). About 25 s.
source "$(dirname "$0")/lib.sh"

start_bus
declare -A RP PID
for m in s1 s2 s3; do RP[$m]=$(free_port_pair); done
PEERS="s1=127.0.0.1:${RP[s1]},s2=127.0.0.1:${RP[s2]},s3=127.0.0.1:${RP[s3]}"
for m in s1 s2 s3; do
  start "$m" "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/$m" --member "$m" --peers "$PEERS" --no-sync \
    --snapshot-threshold 8 --snapshot-trailing 4
  PID[$m]=$LAST_PID
done
mport=$(free_port_pair)
start metrics "$HS_BIN/hs-metrics" --listen "127.0.0.1:$mport"

three() {
  hsctl member list --no-headers >"$T/ml" 2>&1 &&
    [ "$(grep -cE ' (leader|follower) ' "$T/ml")" = 3 ] && grep -q ' leader ' "$T/ml"
}
wait_for 20 "three members, one leader, in member list" three
for i in 1 2 3; do
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web%s}\nspec: {ports: [{port: 80}]}\n' "$i" |
    hsctl apply -f - >/dev/null || fail "apply web$i"
done
hsctl get components >"$T/cs"
[ "$(grep -cE '^hs-store +s[123] .* (leader|follower) +[0-9]+ +[0-9]+ +[0-9]+ +s[123] +3/3$' "$T/cs")" = 3 ] ||
  fail "get components: $(cat "$T/cs")"
pass "get components and member list: three members, each with its role, term and indexes"

# member add with the first leader after bootstrap (libraft 0.15 refused
# every change there while the bootstrap configuration was not known
# committed): s4 started --join follows; a second add is AlreadyExists
CID="$(cat "$T/s1/cluster-id")"
start_join() { # NAME
  RP[$1]=$(free_port_pair)
  start "$1" "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/$1" --member "$1" --join \
    --raft-address "127.0.0.1:${RP[$1]}" --cluster-id "$CID" --no-sync
  PID[$1]=$LAST_PID
}
members() { # N: N members, each leader or follower
  hsctl member list --no-headers >"$T/ml" 2>&1 &&
    [ "$(grep -cE ' (leader|follower) ' "$T/ml")" = "$1" ]
}
start_join s4
hsctl member add s4 "127.0.0.1:${RP[s4]}" >"$T/out" 2>&1 || fail "member add s4: $(cat "$T/out")"
wait_for 20 "s4 to follow (four members)" members 4
grep -qE '^s4 .* follower ' "$T/ml" || fail "s4 not a follower: $(cat "$T/ml")"
expect_rc 1 hsctl member add s4 "127.0.0.1:${RP[s4]}"
grep -q "Error from server (AlreadyExists): .*s4" "$T/last.out" || fail "add s4 twice: $(cat "$T/last.out")"
pass "member add s4 under the first leader: s4 follows; adding it again: AlreadyExists"

leader() { awk '$5 == "leader" { print $1 }' "$T/ml"; }
L=$(leader)
F=$(awk '$5 == "follower" { print $1; exit }' "$T/ml")
# a backup from a follower's directory, beside the running member
synced() {
  hsctl snapshot save "$T/f.snap" --data-dir "$T/$F" >"$T/save.out" 2>&1 &&
    grep -q "(3 objects" "$T/save.out"
}
wait_for 20 "a follower's LMDB to hold the three services" synced
hsctl snapshot restore "$T/f.snap" --data-dir "$T/restored" >"$T/out" 2>&1 ||
  fail "restore: $(cat "$T/out")"
pass "snapshot save --data-dir of follower $F: 3 objects, restores"

hsctl member transfer "$F" >"$T/out" 2>&1 || fail "member transfer $F: $(cat "$T/out")"
grep -qx "leadership transferred to member/$F" "$T/out" || fail "member transfer: $(cat "$T/out")"
leads() { hsctl member list --no-headers >"$T/ml" 2>&1 && [ "$(leader)" = "$1" ]; }
wait_for 10 "$F to lead" leads "$F"
expect_rc 1 hsctl member remove nosuch
grep -q "Error from server (NotFound)" "$T/last.out" || fail "remove nosuch: $(cat "$T/last.out")"
pass "member transfer $F: $F leads; member remove nosuch: NotFound"

# under a leader that took over by transfer: remove a follower, replace another
G=$(awk '$5 == "follower" && $1 != "s4" { print $1; exit }' "$T/ml")
hsctl member remove "$G" >"$T/out" 2>&1 || fail "member remove $G: $(cat "$T/out")"
wait_for 20 "three members after removing $G" members 3
grep -qE "^$G .* (leader|follower) " "$T/ml" && fail "$G still a member: $(cat "$T/ml")"
kill "${PID[$G]}"
start_join s5
hsctl member replace s4 s5 "127.0.0.1:${RP[s5]}" >"$T/out" 2>&1 || fail "member replace s4 s5: $(cat "$T/out")"
wait_for 20 "s5 to follow in place of s4" sh -c "hsctl member list --no-headers >'$T/ml' 2>&1 &&
  grep -qE '^s5 .* follower ' '$T/ml' && ! grep -qE '^s4 .* (leader|follower) ' '$T/ml'"
kill "${PID[s4]}"
pass "under the transferred leader $F: member remove $G, member replace s4 s5"

# a member added where nothing runs: the promotion is given up after 10
# election timeouts (Unavailable, naming it), not left to block every later
# change; it stays a spare that a remove takes out
DEAD=$(free_port_pair)
t0=$(ms)
expect_rc 1 hsctl --request-timeout 5 member add s9 "127.0.0.1:$DEAD"
grep -q "Error from server (ServiceUnavailable): member s9 (at 127.0.0.1:$DEAD) did not catch up" \
  "$T/last.out" || fail "add s9 (nothing there): $(cat "$T/last.out")"
hsctl member remove s9 >"$T/out" 2>&1 || fail "member remove s9 after: $(cat "$T/out")"
pass "member add s9 with nothing at its address: Unavailable after $(( $(ms) - t0 )) ms, then remove s9 works"

# failover: kill the leader; hs-metrics shows it unavailable and another leading
last_snapshot() { # the one libraft loads: highest term, index, timestamp
  ls "$T/$F/raft" | grep -E '^snapshot-[0-9]+-[0-9]+-[0-9]+$' | sort -t- -k2,2n -k3,3n -k4,4n | tail -1
}
wait_for 10 "a raft snapshot in $F's raft dir" sh -c "ls '$T/$F/raft' | grep -qE '^snapshot-[0-9]+-[0-9]+-[0-9]+$'"
kill -9 "${PID[$F]}"
failed_over() {
  curl -sf "http://127.0.0.1:$mport/metrics" >"$T/page" &&
    grep -q "^homeostat_store_member_role{member=\"$F\",role=\"unavailable\"} 1$" "$T/page" &&
    grep -qE '^homeostat_store_member_role\{member="s[1-5]",role="leader"\} 1$' "$T/page"
}
wait_for 20 "hs-metrics to show $F unavailable and a new leader" failed_over
if [ -x /usr/bin/promtool ]; then
  /usr/bin/promtool check metrics <"$T/page" >"$T/promtool.out" 2>&1 ||
    fail "promtool: $(cat "$T/promtool.out")"
fi
pass "hs-metrics: $F unavailable after kill -9, $(grep -E 'role="leader"\} 1$' "$T/page" | sed 's/.*member="\([^"]*\)".*/\1/') leads"

# a corrupt raft snapshot: the member refuses to start, naming the file and
# what to do
SNAP=$(last_snapshot)
size=$(stat -c %s "$T/$F/raft/$SNAP")
printf 'garbage!' | dd of="$T/$F/raft/$SNAP" bs=1 seek=$((size / 2)) conv=notrunc status=none
: >"$T/$F.log"
start "$F" "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/$F" --member "$F" --peers "$PEERS" --no-sync
wait_for 10 "$F to exit on its corrupt snapshot" exited "$LAST_PID"
rc=0; wait "$LAST_PID" || rc=$?
[ "$rc" != 0 ] || fail "$F started on a corrupt snapshot"
grep -q "cannot start raft: its snapshot $T/$F/raft/$SNAP (and $SNAP.meta) is corrupt .*remove this member" "$T/$F.log" ||
  fail "corrupt snapshot message: $(grep -i raft "$T/$F.log")"
grep -o "cannot start raft: .*" "$T/$F.log"
pass "a corrupt raft snapshot: $F exits $rc, naming $SNAP and what to do"

# a full disk under the leader's raft log (root: a 9 MB tmpfs): libraft 0.15
# cannot go on after a failed write (the entry stays in its memory log, a
# barrier never calls back: a leader that stays is a store that never
# answers), so the member answers the batch Unavailable and exits 1 saying
# the disk is full. The three-member cluster is stopped first (one store on
# the bus).
for m in "${!PID[@]}"; do kill "${PID[$m]}" 2>/dev/null || true; done
MNT="$T/full"
mkdir -p "$MNT"
if mount -t tmpfs -o size=9m tmpfs "$MNT" 2>/dev/null; then
  unmount_full() { umount -l "$MNT"; }
  hs_on_exit unmount_full
  FP=$(free_port_pair)
  start full "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/fulldata" --member f1 \
    --peers "f1=127.0.0.1:$FP" --no-sync --raft-dir "$MNT/raft"
  FPID=$LAST_PID
  wait_for 20 "f1 to serve" grep -q "serving, epoch" "$T/full.log"
  big=$(head -c 60000 /dev/zero | tr '\0' x)
  for i in $(seq 1 400); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big%s}\ndata: {k: "%s"}\n' "$i" "$big" |
      hsctl --request-timeout 3 apply -f - >"$T/out" 2>&1 || break
  done
  grep -q "Error from server (ServiceUnavailable)" "$T/out" || fail "write on a full disk: $(cat "$T/out")"
  wait_for 10 "f1 to exit on its full disk" exited "$FPID"
  rc=0; wait "$FPID" || rc=$?
  [ "$rc" = 1 ] || fail "f1 exited $rc on a full disk"
  grep -q "cannot write raft's log: no space left on the disk .*: the disk is full; stopping" "$T/full.log" ||
    fail "full disk message: $(grep -E 'error' "$T/full.log")"
  pass "a full disk under raft's log after $i writes: Unavailable, then exit 1 (disk full)"
else
  echo "skip: a full disk (mount tmpfs needs root)"
fi
