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

ha_load_mid 16 16 "$L"

T_CUT=$(ms)
ha_partition "$L"
lap "cut s$L off"
NEW=$(ha_wait_leader 10 "s$L") || fail "the majority elected no leader within 10 s"
T_NEW=$(ha_elected_ms "${NEW#s}" "$T_CUT") || fail "$NEW logged no election"
lap "majority leader $NEW elected ${T_NEW} ms after the cut"
# writes go on through the new leader while s$L is cut off
wait_for 10 "the new leader to commit writes" \
  ha_commits_past "${NEW#s}" $(( $(ha_field "${NEW#s}" commit) + 20 ))
pass "the majority elected $NEW and commits without s$L"

ha_heal "$L"
lap "healed s$L"
follows() { [ "$(ha_role "$L")" = follower ] && [ "$(ha_field "$L" term)" -gt "$TERM0" ]; }
wait_for 15 "s$L to follow at a higher term" follows
pass "the old leader s$L is a follower at term $(ha_field "$L" term)"

ha_load_finish

LEAD=$(ha_leader)
TARGET=$(ha_field "${LEAD#s}" applied)
caught_up() {
  local i a
  for i in 1 2 3; do a=$(ha_field "$i" applied); [ -n "$a" ] && [ "$a" -ge "$TARGET" ] || return 1; done
}
poll_until 20 caught_up || { ha_view; fail "not every member applied up to $TARGET"; }
ha_digests_equal
pass "the old leader's uncommitted work is gone: the three digests are equal ($HA_DIGEST)"
