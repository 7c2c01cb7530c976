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

ha_load_mid 256 32 "$L"

T_KILL=$(ms)
ha_kill "$L"
lap "killed the leader s$L"
NEW=$(ha_wait_leader 5 "s$L") || fail "no new leader within 5 s of killing s$L"
T_SEEN=$(( $(ms) - T_KILL ))
T_NEW=$(ha_elected_ms "${NEW#s}" "$T_KILL") || fail "$NEW logged no election"
lap "new leader $NEW elected ${T_NEW} ms after the kill (its log; hsctl saw it at ${T_SEEN} ms)"
[ "$T_NEW" -le 1000 ] || fail "new leader only ${T_NEW} ms after the kill (election timeout ${HA_ET} ms)"

ha_load_finish
pass "every acked write present exactly once, history linearizable"

# The killed member comes back and catches up from the others.
ha_start "$L"
TARGET=$(ha_field "${NEW#s}" applied)
catch_up() { local a; a=$(ha_field "$L" applied); [ -n "$a" ] && [ "$a" -ge "$TARGET" ]; }
poll_until 30 catch_up || { ha_view; fail "s$L did not apply up to $TARGET"; }
[ "$(ha_role "$L")" = follower ] || fail "s$L came back as $(ha_role "$L"), not follower"
ha_digests_equal
pass "the three members' LMDB digests are equal ($HA_DIGEST)"
