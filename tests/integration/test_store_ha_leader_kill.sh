#!/usr/bin/env bash
# The replicated store loses its leader under load (docs/architecture.md
# "The replicated store"): three control-plane hosts in network namespaces
# (ha_lib.sh: a broker and a store member each), 256 concurrent writers on a
# fourth host (hs-ha-load: unique-key creates, register writes, compare-and-
# set, every send/answer/event recorded). kill -9 the leader mid-load.
# Checks: a new leader within 2 s of the kill; the writers finish; the
# history (tests/tools/hs_history_check.py) has every acked write present
# exactly once, unacked ones wholly present or absent, and one linearizable
# order per register; the killed member restarts, catches up, and the three
# members' LMDB digests are equal.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

ha_up
L=${HA_LEADER#s}
lap "3 members up, leader s$L"

start load on_client "$HS_BIN/hs-ha-load" --clients 256 --keys 32 --ms 40000 \
  --stop-file "$T/stop" --out "$T/history.jsonl"
LOAD_PID=$LAST_PID
wait_for 20 "the writers to start" grep -q "started 256 clients" "$T/load.log"
# mid-load: once the leader has committed 100 more raft entries (batches)
C0=$(ha_field "$L" commit)
commits_past() { local c; c=$(ha_field "$L" commit); [ -n "$c" ] && [ "$c" -ge "$1" ]; }
wait_for 20 "100 commits under load" commits_past $((C0 + 100))

T_KILL=$(ms)
ha_kill "$L"
lap "killed the leader s$L"
NEW=$(ha_wait_leader 5 "s$L") || fail "no new leader within 5 s of killing s$L"
T_SEEN=$(( $(ms) - T_KILL ))
T_NEW=$(ha_elected_ms "${NEW#s}" "$T_KILL") || fail "$NEW logged no election"
lap "new leader $NEW elected ${T_NEW} ms after the kill (its log; hsctl saw it at ${T_SEEN} ms)"
[ "$T_NEW" -le 1000 ] || fail "new leader only ${T_NEW} ms after the kill (election timeout ${HA_ET} ms)"

touch "$T/stop"
poll_until 40 sh -c "! kill -0 $LOAD_PID" || fail "the writers did not finish"
wait "$LOAD_PID" || fail "hs-ha-load failed: $(tail -n 5 "$T/load.log")"
grep "hs-ha-load: sent" "$T/load.log"
on_client "$HS_BIN/hsctl" get pods -o json >"$T/final.json" 2>"$T/final.err" ||
  fail "hsctl get pods: $(cat "$T/final.err")"
python3 "$HS_SRC/tests/tools/hs_history_check.py" "$T/history.jsonl" "$T/final.json" |
  tee "$T/check.out"
grep -q "0 violations" "$T/check.out" || fail "the history is not linearizable"
pass "every acked write present exactly once, history linearizable"

# The killed member comes back and catches up from the others.
ha_start "$L"
TARGET=$(ha_field "${NEW#s}" applied)
catch_up() { local a; a=$(ha_field "$L" applied); [ -n "$a" ] && [ "$a" -ge "$TARGET" ]; }
poll_until 30 catch_up || { ha_view; fail "s$L did not apply up to $TARGET"; }
[ "$(ha_role "$L")" = follower ] || fail "s$L came back as $(ha_role "$L"), not follower"
for i in 1 2 3; do ha_stop "$i"; done
D1=$(ha_digest 1) D2=$(ha_digest 2) D3=$(ha_digest 3)
[ "$D1" = "$D2" ] && [ "$D2" = "$D3" ] || fail "LMDB digests differ: s1 $D1 s2 $D2 s3 $D3"
pass "the three members' LMDB digests are equal ($D1)"
