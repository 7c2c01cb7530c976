#!/usr/bin/env bash
# The leader cut off from the others (ha_lib.sh: its host's veth down in the
# fabric, both directions) under load from a fourth host. Checks: the
# majority elects a new leader and writes go on through it; after healing,
# the old leader is a follower of the higher term, what it had not
# committed is gone (history check: every acked write present exactly once,
# linearizable), and the three members' LMDB digests are equal.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

ha_up
L=${HA_LEADER#s}
TERM0=$(ha_field "$L" term)
lap "3 members up, leader s$L (term $TERM0)"

start load on_client "$HS_BIN/hs-ha-load" --clients 64 --keys 16 --ms 40000 \
  --stop-file "$T/stop" --out "$T/history.jsonl"
LOAD_PID=$LAST_PID
wait_for 20 "the writers to start" grep -q "started 64 clients" "$T/load.log"
C0=$(ha_field "$L" commit)
commits_past() { local c; c=$(ha_field "$L" commit); [ -n "$c" ] && [ "$c" -ge "$1" ]; }
wait_for 20 "100 commits under load" commits_past $((C0 + 100))

T_CUT=$(ms)
ha_partition "$L"
lap "cut s$L off"
NEW=$(ha_wait_leader 10 "s$L") || fail "the majority elected no leader within 10 s"
T_NEW=$(ha_elected_ms "${NEW#s}" "$T_CUT") || fail "$NEW logged no election"
lap "majority leader $NEW elected ${T_NEW} ms after the cut"
# writes go on through the new leader while s$L is cut off
CN=$(ha_field "${NEW#s}" commit)
new_commits() { local c; c=$(ha_field "${NEW#s}" commit); [ -n "$c" ] && [ "$c" -ge "$1" ]; }
wait_for 10 "the new leader to commit writes" new_commits $((CN + 20))
pass "the majority elected $NEW and commits without s$L"

ha_heal "$L"
lap "healed s$L"
follows() { [ "$(ha_role "$L")" = follower ] && [ "$(ha_field "$L" term)" -gt "$TERM0" ]; }
wait_for 15 "s$L to follow at a higher term" follows
pass "the old leader s$L is a follower at term $(ha_field "$L" term)"

touch "$T/stop"
poll_until 40 sh -c "! kill -0 $LOAD_PID" || fail "the writers did not finish"
wait "$LOAD_PID" || fail "hs-ha-load failed: $(tail -n 5 "$T/load.log")"
grep "hs-ha-load: sent" "$T/load.log"
on_client "$HS_BIN/hsctl" get pods -o json >"$T/final.json" 2>"$T/final.err" ||
  fail "hsctl get pods: $(cat "$T/final.err")"
python3 "$HS_SRC/tests/tools/hs_history_check.py" "$T/history.jsonl" "$T/final.json" |
  tee "$T/check.out"
grep -q "0 violations" "$T/check.out" || fail "the history is not linearizable"

LEAD=$(ha_leader)
TARGET=$(ha_field "${LEAD#s}" applied)
caught_up() {
  local i a
  for i in 1 2 3; do a=$(ha_field "$i" applied); [ -n "$a" ] && [ "$a" -ge "$TARGET" ] || return 1; done
}
poll_until 20 caught_up || { ha_view; fail "not every member applied up to $TARGET"; }
for i in 1 2 3; do ha_stop "$i"; done
D1=$(ha_digest 1) D2=$(ha_digest 2) D3=$(ha_digest 3)
[ "$D1" = "$D2" ] && [ "$D2" = "$D3" ] || fail "LMDB digests differ: s1 $D1 s2 $D2 s3 $D3"
pass "the old leader's uncommitted work is gone: the three digests are equal ($D1)"
